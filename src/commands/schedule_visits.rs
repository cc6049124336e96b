//! `daihou schedule-visits`: risk-ranked visit and call plans per officer over working days,
//! within capacity and the conduct rules. The work is `ops::visits` over the portfolio stream;
//! this file turns the flags into a request and the plan into output (rows, an iCalendar file,
//! day sheets, the stderr summary).

use std::time::Instant;

use anyhow::{Context, Result};

use crate::calendar::Calendar;
use crate::classify::rules::RuleSet;
use crate::cli::ScheduleVisitsArgs;
use crate::context::Ctx;
use crate::exit;
use crate::ops::visits::{self as ops, Filters, Grading, Request};
use crate::output::{self, Report};
use crate::pii;
use crate::render::html;
use crate::rulefile;
use crate::visits::sheets::{self, Card};
use crate::visits::{Item, Policy, DEFAULT_POLICY_TOML};

pub fn run(ctx: &Ctx, args: &ScheduleVisitsArgs) -> Result<()> {
    let (policy, policy_text) = match &args.policy {
        None => (Policy::default(), DEFAULT_POLICY_TOML.to_string()),
        Some(p) => {
            let (origin, text) = rulefile::read(p).context("--policy")?;
            (Policy::from_toml(&origin, &text).context("--policy")?, text)
        }
    };
    if args.print_policy {
        return output::write_text(ctx, &policy_text);
    }
    let calendar = match &args.calendar {
        None => Calendar::default(),
        Some(p) => rulefile::load_with(p, Calendar::from_file).context("--calendar")?,
    };
    let rules = RuleSet::resolve(&args.rules).context("--rules")?;
    let as_of = ctx.as_of;
    let setup = args.conv.setup(vec![as_of])?;
    if !ctx.as_of_given {
        ctx.note(&format!(
            "daihou: as of {as_of} (today; pass --as-of to choose)"
        ));
    }
    let from = args.from.unwrap_or(as_of);
    if from < as_of {
        return Err(exit::usage(
            "--from is before --as-of: a plan starts on or after its date",
        ));
    }
    let days = match args.to {
        Some(to) if to < from => return Err(exit::usage("--to is before --from")),
        Some(to) if (to - from).num_days() > 366 => {
            return Err(exit::usage(
                "--from … --to spans more than a year; plan less",
            ))
        }
        Some(to) => calendar.working_days(from, to),
        None => calendar.next_working_days(from, args.days.unwrap_or(10) as usize),
    };
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return Err(exit::usage(format!(
            "no working day from {from} in the calendar {}",
            calendar.name
        )));
    };
    let filters = Filters {
        officer: args.filters.officer.clone(),
        branch: args.filters.branch.clone(),
        region: args.filters.region.clone(),
    };

    // An unknown --columns name exits 2 now, not after a pass over the book.
    output::check_columns(ctx, &Report::new(sheets::COLUMNS))?;
    let t0 = Instant::now();
    let req = Request {
        as_of,
        days,
        policy,
        policy_text,
        setup,
        rules,
        dry_run: args.dry_run,
    };
    let out = ops::run(ctx, &req)?;
    let book = &out.book;
    let card = |i: &Item| {
        let (b, d) = book.at(i.borrower);
        let (name, phone) = (d.name.as_str(), d.phone.as_str());
        let (name, phone) = if ctx.show_pii {
            (name.to_string(), phone.to_string())
        } else {
            (pii::mask_name(name), pii::mask_phone(phone))
        };
        Card {
            name,
            phone,
            borrower: Some(b),
            detail: Some(d),
        }
    };
    let listed: Vec<&Item> = out.listed().iter().filter(|i| filters.admit(i)).collect();
    let rows = sheets::table(&listed, &card);
    output::emit(ctx, &rows)?;
    if let Some(path) = &args.ics {
        let text = sheets::ics(as_of, &listed, &card);
        output::write_atomically(path, |w| Ok(w.write_all(text.as_bytes())?))?;
    }
    if let Some(dir) = &args.sheets {
        std::fs::create_dir_all(dir).map_err(|e| {
            exit::fail(
                exit::Code::CantCreate,
                format!("--sheets {}: cannot create the folder: {e}", dir.display()),
            )
        })?;
        for s in sheets::day_sheets(&listed, &card, &req.policy) {
            let md = dir.join(format!("{}.md", s.stem));
            output::write_atomically(&md, |w| Ok(w.write_all(s.markdown.as_bytes())?))?;
            output::write_atomically(&dir.join(format!("{}.html", s.stem)), |w| {
                html::write(w, &s.page)
            })?;
        }
    }

    for line in filters.unmatched(book) {
        ctx.note(&format!("schedule-visits: {line}"));
    }
    if !book.followups {
        ctx.note("schedule-visits: no follow-ups in the ledger: planning from DPD and grade alone");
    }
    if out.grading == Grading::Computed {
        ctx.note(&format!(
            "schedule-visits: no saved classify run for {as_of}: grades from DPD, segments from the follow-ups (`daihou classify --save` first to plan by its grades)"
        ));
    }
    for line in ops::officer_lines(&out, &filters) {
        ctx.note(&line);
    }
    let verb = if args.dry_run {
        "would save (dry run, rolled back)"
    } else {
        "saved"
    };
    let closed = out.closed;
    ctx.note(&format!(
        "schedule-visits as of {as_of}: {} working days {first}..{last}, {} items {verb}; earlier plans: {} done, {} late, {} missed; {:.1} s",
        req.days.len(),
        out.listed().len(),
        closed.done,
        closed.late,
        closed.missed,
        t0.elapsed().as_secs_f64()
    ));
    // The book, the plan and its rows are left to the process exit: freeing them one
    // allocation at a time takes a second at a million loans, and the command ends here.
    std::mem::forget((rows, out));
    Ok(())
}
