//! `daihou classify`: the grade (五级分类), IFRS 9 stage, collection segment and reference provision
//! of every active loan as of a date (or of every date of a range, saved, in one pass). The work
//! is `ops::classify` over the portfolio stream; this file turns the typed flags into a request
//! and the outcome into output.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::classify::rules::{self, RuleSet};
use crate::classify::stage::{self, Staging};
use crate::cli::ClassifyArgs;
use crate::context::Ctx;
use crate::db::grades::Totals;
use crate::exit;
use crate::ops::classify::{self, Filter, Request, Save};
use crate::output::{self, Report};

pub fn run(ctx: &Ctx, args: &ClassifyArgs) -> Result<()> {
    if let Some(name) = &args.print_rules {
        return print_rules(ctx, name);
    }
    let rules = RuleSet::resolve(&args.rules).context("--rules")?;
    let staging = Staging::resolve(&args.staging).context("--staging")?;
    let dates = args.range.dates()?.unwrap_or_else(|| vec![ctx.as_of]);
    let single = args.range.from.is_none();
    if single && !ctx.as_of_given {
        ctx.note(&format!(
            "daihou: as of {} (today; pass --as-of to choose)",
            dates[0]
        ));
    }
    let save = (args.save || !single).then_some(Save {
        dry_run: args.dry_run,
    });
    let listing = single.then(|| Filter {
        officer: args.filters.officer.clone(),
        branch: args.filters.branch.clone(),
        region: args.filters.region.clone(),
        grade: args.grade,
        stage: args.stage,
        changed: args.changed,
    });
    let t0 = Instant::now();
    let setup = args.conv.setup(dates)?;
    let req = Request {
        setup,
        rules,
        staging,
        listing,
        labels: args.grade_labels,
        save,
    };
    let dates = &req.setup.dates;
    // The listing is given up to the report (its text moved, not copied).
    let report = |rows: Vec<classify::Row>, totals: &[Totals]| {
        if single {
            Report::of_owned(rows)
        } else {
            classify::range_report(dates, totals, args.grade_labels)
        }
    };
    // An unknown --columns name exits 2 now, not after a pass over the book.
    output::check_columns(ctx, &report(Vec::new(), &[]))?;
    let mut out = classify::run(ctx, &req)?;
    let listing = report(std::mem::take(&mut out.rows), &out.totals);
    output::emit(ctx, &listing)?;
    for (k, t) in out.totals.iter().enumerate() {
        if single || ctx.verbose {
            let line = classify::summary_line(dates[k], t, out.previous[k], args.grade_labels);
            ctx.note(&line);
        }
    }
    if out.contagious > 0 {
        ctx.debug(&format!(
            "classify: {} loan grades raised by borrower contagion",
            out.contagious
        ));
    }
    let secs = t0.elapsed().as_secs_f64();
    match &req.save {
        Some(s) => {
            let verb = if s.dry_run {
                "would save (dry run, rolled back)"
            } else {
                "saved"
            };
            let n: u64 = out
                .totals
                .iter()
                .flat_map(|t| t.by_grade.iter().map(|g| g.0))
                .sum();
            ctx.note(&format!(
                "classify: {verb} {n} grades for {} date(s) under {} / {}, {secs:.1} s",
                dates.len(),
                req.rules.name,
                req.staging.name
            ));
        }
        None => ctx.debug(&format!("classify: {secs:.1} s")),
    }
    // The listing's cells are left to the process exit: freeing them one allocation at a time
    // takes a good part of a second at a million loans, and the command ends here.
    std::mem::forget(listing);
    Ok(())
}

/// `--print-rules NAME`: the built-in TOML text, as it is compiled in.
fn print_rules(ctx: &Ctx, name: &str) -> Result<()> {
    let text = rules::builtin_text(name)
        .ok()
        .or_else(|| {
            stage::BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
        })
        .ok_or_else(|| {
            let names: Vec<&str> = rules::BUILTIN.iter().map(|(n, _)| *n).collect();
            exit::usage(format!(
                "--print-rules: unknown rule set {name:?} (expected {}, ifrs9)",
                names.join(", ")
            ))
        })?;
    let write = |w: &mut dyn std::io::Write| -> Result<()> {
        w.write_all(text.as_bytes())?;
        w.flush()?;
        Ok(())
    };
    match &ctx.output {
        Some(p) => output::write_atomically(p, write),
        None => write(&mut std::io::stdout().lock()),
    }
}
