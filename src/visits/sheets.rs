//! What an officer takes along: the plan as rows, the visits as an iCalendar file (RFC 5545),
//! and one printable day sheet per officer and day (Markdown, and HTML through the report's
//! page writer). Pure text out of plan items; names and phones arrive already masked (or not)
//! in a [`Card`], so nothing here decides about PII.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Days, NaiveDate};

use super::conduct;
use super::policy::Policy;
use super::{Borrower, Detail, Item, Kind, Segment};
use crate::money;
use crate::output::{Cell, Document, Report};

/// What the renderers know about one borrower.
pub struct Card<'a> {
    /// Masked unless the caller chose to show PII.
    pub name: String,
    pub phone: String,
    pub borrower: Option<&'a Borrower>,
    pub detail: Option<&'a Detail>,
}

/// The plan's output columns (the contract of `--format csv|json`).
pub const COLUMNS: &[&str] = &[
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

/// The plan as a report (`table` shows the columns an officer reads first).
pub fn table<'a>(items: &[&Item], card: &dyn Fn(&Item) -> Card<'a>) -> Report {
    let mut r = Report::new(COLUMNS).table_shows(&[
        "date", "officer", "kind", "borrower", "region", "loans", "reason", "priority", "deadline",
        "status", "held_by",
    ]);
    for i in items {
        r.push(vec![
            i.date.into(),
            Cell::Text(i.officer.clone()),
            i.kind.as_str().into(),
            Cell::Text(i.borrower_id.clone()),
            Cell::Text(card(i).name),
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
pub fn ics<'a>(as_of: NaiveDate, items: &[&Item], card: &dyn Fn(&Item) -> Card<'a>) -> String {
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
        let name = card(i).name;
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
pub fn file_part(s: &str) -> String {
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

/// One day sheet: the file stem (`<date>-<officer>`), its Markdown and its HTML page.
pub struct Sheet {
    pub stem: String,
    pub markdown: String,
    pub page: Document,
}

/// The day sheets of the planned items, one per officer and day, by date then officer.
pub fn day_sheets<'a>(
    items: &[&Item],
    card: &dyn Fn(&Item) -> Card<'a>,
    policy: &Policy,
) -> Vec<Sheet> {
    let mut by: BTreeMap<(NaiveDate, &str), Vec<&Item>> = BTreeMap::new();
    for i in items {
        if let Some(d) = i.date {
            by.entry((d, i.officer.as_str())).or_default().push(i);
        }
    }
    by.into_iter()
        .map(|((date, officer), list)| {
            let entries: Vec<Entry> = list.iter().map(|i| entry(i, card, policy, date)).collect();
            Sheet {
                stem: format!("{date}-{}", file_part(officer)),
                markdown: markdown(date, officer, &entries, policy),
                page: page(date, officer, &entries, policy),
            }
        })
        .collect()
}

/// One item as a sheet shows it.
struct Entry<'i> {
    item: &'i Item,
    name: String,
    phone: String,
    overdue_amount: Option<String>,
    outstanding: Option<String>,
    dpd: Option<u32>,
    grade: Option<String>,
    last_contact: String,
    promises: Vec<String>,
    segment: Segment,
    /// What the third-party rule allows today.
    third_party: &'static str,
}

fn entry<'a, 'i>(
    i: &'i Item,
    card: &dyn Fn(&Item) -> Card<'a>,
    policy: &Policy,
    date: NaiveDate,
) -> Entry<'i> {
    let c = card(i);
    let unreachable = c
        .borrower
        .is_some_and(|b| conduct::third_party_allowed(&policy.conduct, &b.contacts, date));
    let d = c.detail;
    Entry {
        item: i,
        name: c.name,
        phone: c.phone,
        overdue_amount: d.map(|d| money::fmt_thousands(d.overdue_amount)),
        outstanding: d.map(|d| money::fmt_thousands(d.outstanding)),
        dpd: d.map(|d| d.max_dpd),
        grade: c.borrower.map(|b| {
            let g = b.grade();
            format!("{} ({})", g.zh(), g.key())
        }),
        last_contact: match d.and_then(|d| d.last_contact.as_ref()) {
            Some((on, ch, out)) => format!("{on} by {ch}, {out}"),
            None => "none logged".to_string(),
        },
        promises: d.map_or(Vec::new(), |d| {
            d.promises
                .iter()
                .map(|(made, due, amt, state)| {
                    let amt =
                        amt.map_or(String::new(), |a| format!(" {}", money::fmt_thousands(a)));
                    format!("made {made}, for {due}{amt}: {state}")
                })
                .collect()
        }),
        segment: c
            .borrower
            .and_then(|b| b.segment)
            .unwrap_or(Segment::Unknown),
        third_party: if unreachable {
            "the borrower did not answer the last attempts: a guarantor or contact person may be asked to reach them; never disclose the debt"
        } else {
            "contact the borrower (a guarantor as the contract allows); no third parties"
        },
    }
}

fn heading(kind: Kind) -> &'static str {
    match kind {
        Kind::Visit => "Visits 走访",
        Kind::Call => "Calls 电话",
    }
}

fn intro(entries: &[Entry], policy: &Policy) -> String {
    let visits = entries
        .iter()
        .filter(|e| e.item.kind == Kind::Visit)
        .count();
    let calls = entries.len() - visits;
    format!(
        "{visits} visits, {calls} calls. Contact only {} unless the borrower agreed otherwise (RULES §5); record every contact.",
        conduct::window(&policy.conduct, None)
    )
}

fn markdown(date: NaiveDate, officer: &str, entries: &[Entry], policy: &Policy) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {date} · {officer}\n");
    let _ = writeln!(s, "{}\n", intro(entries, policy));
    for kind in [Kind::Visit, Kind::Call] {
        let these: Vec<&Entry> = entries.iter().filter(|e| e.item.kind == kind).collect();
        if these.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {}\n", heading(kind));
        for (n, e) in these.iter().enumerate() {
            let i = e.item;
            let _ = writeln!(
                s,
                "### {}. {} ({}) — {} {}\n",
                n + 1,
                e.name,
                i.borrower_id,
                i.region,
                i.branch
            );
            let _ = writeln!(s, "- phone: {}", e.phone);
            let _ = writeln!(s, "- loans: {}", i.loans.join(", "));
            if let (Some(o), Some(p), Some(dpd)) = (&e.overdue_amount, &e.outstanding, e.dpd) {
                let _ = writeln!(
                    s,
                    "- overdue amount: {o}, outstanding principal: {p}, DPD: {dpd}"
                );
                if let Some(g) = &e.grade {
                    let _ = writeln!(s, "- grade: {g}");
                }
                let _ = writeln!(s, "- last contact: {}", e.last_contact);
                if e.promises.is_empty() {
                    let _ = writeln!(s, "- promises: none");
                } else {
                    let _ = writeln!(s, "- promises:");
                    for p in &e.promises {
                        let _ = writeln!(s, "  - {p}");
                    }
                }
            }
            let _ = writeln!(s, "- contact window: {}", i.window);
            let _ = writeln!(s, "- who: {}", e.third_party);
            let _ = writeln!(s, "- why: {} (deadline {})", i.reason_text(), i.deadline);
            let _ = writeln!(s, "- priority: {} ({})", i.score.total(), i.score.parts());
            let _ = writeln!(
                s,
                "- talking points ({}): {}",
                e.segment.key(),
                e.segment.talking_points()
            );
            let _ = writeln!(s, "- outcome: ______________________\n");
        }
    }
    s
}

const SHEET_COLUMNS: &[&str] = &[
    "no",
    "borrower",
    "borrower_id",
    "area",
    "phone",
    "loans",
    "overdue_amount",
    "outstanding",
    "dpd",
    "grade",
    "last_contact",
    "promises",
    "window",
    "who",
    "why",
    "deadline",
    "priority",
    "talking_points",
    "outcome",
];

fn page(date: NaiveDate, officer: &str, entries: &[Entry], policy: &Policy) -> Document {
    let mut doc = Document {
        title: format!("{date} · {officer}"),
        notes: vec![intro(entries, policy)],
        ..Document::default()
    };
    for kind in [Kind::Visit, Kind::Call] {
        let mut r = Report::new(SHEET_COLUMNS);
        for (n, e) in entries.iter().filter(|e| e.item.kind == kind).enumerate() {
            let i = e.item;
            let text = |s: &Option<String>| s.clone().map_or(Cell::Null, Cell::Text);
            r.push(vec![
                Cell::Int(n as i64 + 1),
                Cell::Text(e.name.clone()),
                Cell::Text(i.borrower_id.clone()),
                Cell::Text(format!("{} {}", i.region, i.branch).trim().to_string()),
                Cell::Text(e.phone.clone()),
                Cell::Text(i.loans.join(", ")),
                text(&e.overdue_amount),
                text(&e.outstanding),
                e.dpd.map_or(Cell::Null, |d| Cell::Int(d.into())),
                text(&e.grade),
                Cell::Text(e.last_contact.clone()),
                Cell::Text(e.promises.join("; ")),
                Cell::Text(i.window.clone()),
                Cell::Text(e.third_party.to_string()),
                Cell::Text(i.reason_text()),
                Cell::Date(i.deadline),
                Cell::Text(format!("{} ({})", i.score.total(), i.score.parts())),
                Cell::Text(format!(
                    "{}: {}",
                    e.segment.key(),
                    e.segment.talking_points()
                )),
                Cell::Text(String::new()),
            ]);
        }
        if !r.rows.is_empty() {
            let name = kind.as_str();
            doc.add(name, heading(kind), r);
        }
    }
    doc
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
