//! `daihou schedule-visits`: risk-ranked visit and call plans per officer over working days,
//! within capacity and the conduct rules; saved in the ledger (a rerun for the same as-of
//! replaces it), with an iCalendar file and printable day sheets on request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Days, NaiveDate};

use crate::calendar::Calendar;
use crate::cli::ScheduleVisitsArgs;
use crate::collection::{Ladder, LadderFile};
use crate::context::Ctx;
use crate::db;
use crate::exit;
use crate::money;
use crate::ops::visits as ops;
use crate::output::{self, Cell, Report};
use crate::pii;
use crate::rulefile;
use crate::visits::{Item, Kind, Policy, Segment, Status, DEFAULT_POLICY_TOML};

pub fn run(ctx: &Ctx, args: &ScheduleVisitsArgs) -> Result<()> {
    let (policy, policy_text) = match &args.policy {
        None => (Policy::default(), DEFAULT_POLICY_TOML.to_string()),
        Some(p) => {
            let (origin, text) = rulefile::read(p).context("--policy")?;
            let policy = Policy::from_toml(&origin, &text).context("--policy")?;
            (policy, text)
        }
    };
    if args.print_policy {
        return output::write_text(ctx, &policy_text);
    }
    let calendar = match &args.calendar {
        None => Calendar::default(),
        Some(p) => rulefile::load_with(p, Calendar::from_file).context("--calendar")?,
    };
    let ladder = match &args.ladder {
        None => Ladder::default(),
        Some(p) => {
            rulefile::load_with(p, |f: LadderFile| Ok(Ladder::from_file(f)?)).context("--ladder")?
        }
    };
    let as_of = ctx.as_of;
    if !ctx.as_of_given {
        ctx.note(&format!(
            "daihou: as of {as_of} (today; pass --as-of to choose)"
        ));
    }
    let parse = |flag: &str, s: &str| {
        crate::dates::parse_iso(s).map_err(|e| exit::usage(format!("{flag} \"{s}\" {e}")))
    };
    let from = match &args.from {
        Some(s) => parse("--from", s)?,
        None => as_of,
    };
    if from < as_of {
        return Err(exit::usage(
            "--from is before --as-of: a plan starts on or after its date",
        ));
    }
    let days = match &args.to {
        Some(s) => {
            let to = parse("--to", s)?;
            if to < from {
                return Err(exit::usage("--to is before --from"));
            }
            if (to - from).num_days() > 366 {
                return Err(exit::usage(
                    "--from … --to spans more than a year; plan less",
                ));
            }
            calendar.working_days(from, to)
        }
        None => calendar.next_working_days(from, args.days.unwrap_or(10) as usize),
    };
    if days.is_empty() {
        return Err(exit::usage(format!(
            "no working day from {from} in the calendar {}",
            calendar.name
        )));
    }
    let last = days[days.len() - 1];

    let t0 = Instant::now();
    let conn = db::open(&ctx.db, db::Mode::Write, ctx.busy_timeout)?;
    let tx = db::begin_shared(&conn)?;
    let mut book = ops::read_book(&conn, as_of)?;
    let closed = ops::close_and_roll(&conn, as_of, &mut book)?;
    let items = ops::plan(&book, as_of, &days, &policy, &ladder);
    // Unplanned items whose deadline lies after the horizon are deferred to a later plan, not
    // listed; the summary counts them.
    let (listed, deferred): (Vec<&Item>, Vec<&Item>) = items
        .iter()
        .partition(|i| i.date.is_some() || i.deadline <= last);
    ops::save(&conn, as_of, &days, &policy_text, &listed)?;
    if args.dry_run {
        tx.rollback()?;
    } else {
        tx.commit().context("committing the visit plan")?;
    }

    output::emit(ctx, &report(ctx, &listed, &book))?;
    if let Some(path) = &args.ics {
        let text = ics(ctx, as_of, &listed, &book);
        output::write_atomically(path, |w| Ok(w.write_all(text.as_bytes())?))?;
    }
    if let Some(dir) = &args.sheets {
        write_sheets(ctx, dir, &listed, &book, &policy)?;
    }

    if !book.followups {
        ctx.note("schedule-visits: no follow-ups in the ledger: planning from DPD and grade alone");
    }
    let mut per: BTreeMap<&str, [u64; 5]> = BTreeMap::new();
    for i in &listed {
        let e = per.entry(i.officer.as_str()).or_default();
        match (i.status, i.kind) {
            (Status::Unplanned, _) => e[2] += 1,
            (_, Kind::Visit) => e[0] += 1,
            (_, Kind::Call) => e[1] += 1,
        }
        if i.status != Status::Planned {
            e[3] += 1;
        }
    }
    for i in &deferred {
        per.entry(i.officer.as_str()).or_default()[4] += 1;
    }
    for (officer, [v, c, u, missed, def]) in &per {
        let who = if officer.is_empty() {
            "(no officer)"
        } else {
            officer
        };
        ctx.note(&format!(
            "schedule-visits {who}: {v} visits and {c} calls planned, {u} unplanned, {missed} deadlines missed, {def} deferred"
        ));
    }
    let verb = if args.dry_run {
        "would save (dry run, rolled back)"
    } else {
        "saved"
    };
    ctx.note(&format!(
        "schedule-visits as of {as_of}: {} working days {}..{last}, {} items {verb}; earlier plans: {} done, {} late, {} missed; {:.1} s",
        days.len(),
        days[0],
        listed.len(),
        closed.done,
        closed.late,
        closed.missed,
        t0.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn masked(ctx: &Ctx, book: &ops::Book, borrower_id: &str) -> (String, String) {
    let d = book.details.get(borrower_id);
    let name = d.map_or("", |d| d.name.as_str());
    let phone = d.map_or("", |d| d.phone.as_str());
    if ctx.show_pii {
        (name.to_string(), phone.to_string())
    } else {
        (pii::mask_name(name), pii::mask_phone(phone))
    }
}

const COLUMNS: &[&str] = &[
    "date",
    "officer",
    "kind",
    "borrower_id",
    "borrower",
    "region",
    "branch",
    "loans",
    "reason",
    "priority",
    "score_parts",
    "earliest",
    "deadline",
    "status",
    "held_by",
    "window",
    "rollover",
];

fn report(ctx: &Ctx, items: &[&Item], book: &ops::Book) -> Report {
    let mut r = Report::new(COLUMNS).table_shows(&[
        "date", "officer", "kind", "borrower", "region", "loans", "reason", "priority", "deadline",
        "status", "held_by",
    ]);
    for i in items {
        let (name, _) = masked(ctx, book, &i.borrower_id);
        r.push(vec![
            i.date.into(),
            Cell::Text(i.officer.clone()),
            i.kind.as_str().into(),
            Cell::Text(i.borrower_id.clone()),
            Cell::Text(name),
            Cell::Text(i.region.clone()),
            Cell::Text(i.branch.clone()),
            Cell::Text(i.loans.join(",")),
            Cell::Text(i.reason_text()),
            Cell::Int(i.score.total()),
            Cell::Text(i.score.parts()),
            Cell::Date(i.earliest),
            Cell::Date(i.deadline),
            i.status.as_str().into(),
            i.held_by.clone().map_or(Cell::Null, Cell::Text),
            Cell::Text(i.window.clone()),
            Cell::Int(i.rollover.into()),
        ]);
    }
    r
}

/// RFC 5545 text: escapes backslash, semicolon, comma and newlines.
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line folded at 75 octets (never inside a UTF-8 character), CRLF-ended.
fn ics_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// The planned visits as an iCalendar file: one all-day VEVENT per visit, stable UIDs.
pub fn ics(ctx: &Ctx, as_of: NaiveDate, items: &[&Item], book: &ops::Book) -> String {
    let mut out = String::new();
    let stamp = format!("{}T000000Z", as_of.format("%Y%m%d"));
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//daihou//schedule-visits//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        ics_line(&mut out, l);
    }
    for i in items.iter().filter(|i| i.kind == Kind::Visit) {
        let Some(date) = i.date else { continue };
        let (name, _) = masked(ctx, book, &i.borrower_id);
        let end = date.checked_add_days(Days::new(1)).unwrap_or(date);
        ics_line(&mut out, "BEGIN:VEVENT");
        ics_line(
            &mut out,
            &format!(
                "UID:{}-{}-{}@daihou",
                as_of.format("%Y%m%d"),
                ics_text(&i.borrower_id).replace(['\\', ' '], "_"),
                date.format("%Y%m%d")
            ),
        );
        ics_line(&mut out, &format!("DTSTAMP:{stamp}"));
        ics_line(
            &mut out,
            &format!("DTSTART;VALUE=DATE:{}", date.format("%Y%m%d")),
        );
        ics_line(
            &mut out,
            &format!("DTEND;VALUE=DATE:{}", end.format("%Y%m%d")),
        );
        ics_line(
            &mut out,
            &format!(
                "SUMMARY:{}",
                ics_text(&format!(
                    "走访 visit {name} ({}) — {}",
                    i.borrower_id, i.officer
                ))
            ),
        );
        ics_line(
            &mut out,
            &format!(
                "LOCATION:{}",
                ics_text(format!("{} {}", i.region, i.branch).trim())
            ),
        );
        ics_line(
            &mut out,
            &format!(
                "DESCRIPTION:{}",
                ics_text(&format!(
                    "loans: {}\nreason: {}\ndeadline: {}\npriority: {} ({})\nwindow: {}",
                    i.loans.join(", "),
                    i.reason_text(),
                    i.deadline,
                    i.score.total(),
                    i.score.parts(),
                    i.window
                ))
            ),
        );
        ics_line(&mut out, &format!("CATEGORIES:{}", ics_text(&i.officer)));
        ics_line(&mut out, "END:VEVENT");
    }
    ics_line(&mut out, "END:VCALENDAR");
    out
}

/// A file name piece from an officer name: letters, digits, CJK kept; the rest as `_`.
fn file_part(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    if t.is_empty() {
        "no-officer".to_string()
    } else {
        t
    }
}

/// One Markdown day sheet per officer and day: `DIR/<date>-<officer>.md`.
fn write_sheets(
    ctx: &Ctx,
    dir: &Path,
    items: &[&Item],
    book: &ops::Book,
    policy: &Policy,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        exit::fail(
            exit::Code::CantCreate,
            format!("--sheets {}: cannot create the folder: {e}", dir.display()),
        )
    })?;
    let mut by: BTreeMap<(NaiveDate, &str), Vec<&Item>> = BTreeMap::new();
    for i in items {
        if let Some(d) = i.date {
            by.entry((d, i.officer.as_str())).or_default().push(i);
        }
    }
    for ((date, officer), list) in &by {
        let text = sheet(ctx, *date, officer, list, book, policy);
        let path = dir.join(format!("{date}-{}.md", file_part(officer)));
        output::write_atomically(&path, |w| Ok(w.write_all(text.as_bytes())?))?;
    }
    Ok(())
}

fn sheet(
    ctx: &Ctx,
    date: NaiveDate,
    officer: &str,
    list: &[&Item],
    book: &ops::Book,
    policy: &Policy,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {date} · {officer}\n");
    let visits = list.iter().filter(|i| i.kind == Kind::Visit).count();
    let calls = list.len() - visits;
    let _ = writeln!(
        s,
        "{visits} visits, {calls} calls. Contact only {} (RULES §5); record every contact.\n",
        crate::visits::conduct::window(&policy.conduct, None)
    );
    for kind in [Kind::Visit, Kind::Call] {
        let these: Vec<&&Item> = list.iter().filter(|i| i.kind == kind).collect();
        if these.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "## {}\n",
            if kind == Kind::Visit {
                "Visits 走访"
            } else {
                "Calls 电话"
            }
        );
        for (n, i) in these.iter().enumerate() {
            let (name, phone) = masked(ctx, book, &i.borrower_id);
            let d = book.details.get(&i.borrower_id);
            let _ = writeln!(
                s,
                "### {}. {name} ({}) — {} {}\n",
                n + 1,
                i.borrower_id,
                i.region,
                i.branch
            );
            let _ = writeln!(s, "- phone: {phone}");
            let _ = writeln!(s, "- loans: {}", i.loans.join(", "));
            if let Some(d) = d {
                let _ = writeln!(
                    s,
                    "- overdue amount: {}, outstanding principal: {}, DPD: {}",
                    money::fmt_thousands(d.overdue_amount),
                    money::fmt_thousands(d.outstanding),
                    d.max_dpd
                );
                let grade = book
                    .borrowers
                    .iter()
                    .find(|b| b.borrower_id == i.borrower_id)
                    .map(|b| b.grade());
                if let Some(g) = grade {
                    let _ = writeln!(s, "- grade: {} ({})", g.zh(), g.key());
                }
                match &d.last_contact {
                    Some((on, ch, out)) => {
                        let _ = writeln!(s, "- last contact: {on} by {ch}, {out}");
                    }
                    None => {
                        let _ = writeln!(s, "- last contact: none logged");
                    }
                }
                if d.promises.is_empty() {
                    let _ = writeln!(s, "- promises: none");
                } else {
                    let _ = writeln!(s, "- promises:");
                    for (made, due, amt, state) in &d.promises {
                        let amt =
                            amt.map_or(String::new(), |a| format!(" {}", money::fmt_thousands(a)));
                        let _ = writeln!(s, "  - made {made}, for {due}{amt}: {state}");
                    }
                }
            }
            let seg = book
                .borrowers
                .iter()
                .find(|b| b.borrower_id == i.borrower_id)
                .and_then(|b| b.segment)
                .unwrap_or(Segment::Unknown);
            let _ = writeln!(s, "- why: {} (deadline {})", i.reason_text(), i.deadline);
            let _ = writeln!(s, "- priority: {} ({})", i.score.total(), i.score.parts());
            let _ = writeln!(
                s,
                "- talking points ({}): {}",
                seg.key(),
                seg.talking_points()
            );
            let _ = writeln!(s, "- outcome: ______________________\n");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_lines_fold_at_75_octets_and_escape() {
        let mut out = String::new();
        let long = "SUMMARY:".to_string() + &"走".repeat(40);
        ics_line(&mut out, &long);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{long}\r\n"));
        assert_eq!(ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(file_part("王 芳/1"), "王_芳_1");
        assert_eq!(file_part(""), "no-officer");
    }
}
