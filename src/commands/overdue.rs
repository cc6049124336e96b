//! `daihou overdue`: where every loan stands as of one date (or a range of dates in one pass):
//! days past due, arrears, penalty interest, bucket, and the collection action it calls for.
//! The work is `ops::overdue` over the portfolio stream; this file turns the typed flags into a
//! request and the outcome into output.

use std::time::Instant;

use anyhow::Result;

use crate::cli::{Format, OverdueArgs};
use crate::context::Ctx;
use crate::db::{self, book};
use crate::exit;
use crate::ops::overdue::{self, AgingRow, Filters, Listing, Request, Save};
use crate::ops::portfolio::Setup;
use crate::output::{self, Report, RowWriter};
use crate::profile;

pub fn run(ctx: &Ctx, args: &OverdueArgs) -> Result<()> {
    // A range always gives the range output (the aging table per date), even of one date.
    let single = args.range.from.is_none();
    if !single && ctx.as_of_given {
        return Err(exit::usage(
            "--as-of (or DAIHOU_AS_OF) cannot be combined with --from: a range gives its own dates",
        ));
    }
    let setup = setup(ctx, args)?;
    if single && !ctx.as_of_given {
        let today = setup.dates[0];
        ctx.note(&format!(
            "daihou: as of {today} (today; pass --as-of to choose)"
        ));
    }
    let t0 = Instant::now();
    let listing = match (single, args.installments) {
        _ if args.group_by.is_some() => Listing::Aging,
        (false, _) => Listing::Aging,
        (true, true) => Listing::Installments { all: args.all },
        (true, false) => Listing::Loans { all: args.all },
    };
    let save = args.save.then(|| Save {
        dry_run: args.dry_run,
        conventions: setup.conventions_json(),
    });
    if let Some(s) = &save {
        // The saved series should count one way: say so when other saved dates did not.
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        let mut runs = book::saved_runs(&conn)?;
        runs.retain(|(d, _)| !setup.dates.contains(d));
        profile::note_other_conventions(ctx, "overdue", "positions", &runs, &s.conventions);
    }
    let filters = Filters {
        min_dpd: args.min_dpd,
        bucket: args.bucket.clone(),
        officer: args.filters.officer.clone(),
        branch: args.filters.branch.clone(),
        region: args.filters.region.clone(),
    };
    let req = Request {
        setup,
        filters,
        listing,
        save,
        group_by: args.group_by,
    };
    let (dates, buckets) = (&req.setup.dates, &req.setup.buckets);
    let report = |out: &overdue::Outcome| match (args.group_by, listing) {
        (Some(by), _) => overdue::group_report(by, dates, &out.groups),
        (None, Listing::Loans { .. }) => Report::of(&out.loans),
        (None, Listing::Installments { .. }) => out.installments.report(),
        (None, Listing::Aging) => Report::of(&AgingRow::table(&out.aging, buckets)),
    };
    // An unknown --columns name exits 2 now, not after a pass over the book.
    output::check_columns(ctx, &report(&overdue::Outcome::default()))?;
    let streamed = args.group_by.is_none()
        && matches!(listing, Listing::Installments { .. })
        && matches!(ctx.format, Format::Csv | Format::Json);
    let out = if streamed {
        // Every installment of the book: written as the scan makes the rows, not held.
        let mut out = None;
        output::emit_streamed(ctx, |w| {
            let mut rows = RowWriter::new(
                w,
                ctx.format,
                overdue::INSTALLMENT_COLUMNS,
                ctx.columns.as_deref(),
                ctx.csv_bom,
            )?;
            out = Some(overdue::run_listed(ctx, &req, &mut |r| r.write(&mut rows))?);
            rows.finish()
        })?;
        out.unwrap_or_default()
    } else {
        let out = overdue::run(ctx, &req)?;
        output::emit(ctx, &report(&out))?;
        out
    };
    let secs = t0.elapsed().as_secs_f64();
    for line in out.seen.unmatched(&req.filters) {
        ctx.note(&format!("overdue: {line}"));
    }
    if single || ctx.verbose {
        for a in &out.aging {
            ctx.note(&overdue::summary_line(a, buckets, ctx.lang));
        }
    }
    if single {
        if let Some(hint) = out.stale_as_of_hint(dates[0]) {
            ctx.note(&format!("overdue: note: {hint}"));
        }
    }
    if !single {
        let (first, last) = (dates[0], dates[dates.len() - 1]);
        ctx.note(&match ctx.lang {
            crate::i18n::Lang::Zh => format!("逾期：{first} 至 {last} 共 {} 个日期", dates.len()),
            crate::i18n::Lang::En => {
                format!("overdue: {} dates from {first} to {last}", dates.len())
            }
        });
    }
    if out.warnings > 0 {
        ctx.note(&format!(
            "overdue: warning: {} loan positions carry data warnings (see -v)",
            out.warnings
        ));
    }
    if args.save {
        let verb = if args.dry_run {
            "would save (dry run, rolled back)"
        } else {
            "saved"
        };
        let n: u64 = out.book.iter().map(|a| a.active).sum();
        let k = dates.len();
        ctx.note(&format!(
            "overdue: {verb} {n} positions for {k} date(s), {secs:.1} s"
        ));
    } else {
        ctx.debug(&format!("overdue: {secs:.1} s"));
    }
    Ok(())
}

/// The dates and rules, from the flags (each already typed by clap; here only the checks that
/// involve two flags).
fn setup(ctx: &Ctx, args: &OverdueArgs) -> Result<Setup> {
    let dates = args.range.dates()?.unwrap_or_else(|| vec![ctx.as_of]);
    let setup = args.conv.setup(dates)?;
    if let Some(b) = &args.bucket {
        if !setup.buckets.labels().any(|l| l == b) {
            let labels: Vec<&str> = setup.buckets.labels().collect();
            let labels = labels.join(", ");
            return Err(exit::usage(format!(
                "--bucket {b} is not one of the buckets: {labels}"
            )));
        }
    }
    Ok(setup)
}
