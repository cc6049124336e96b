//! `daihou report NAME`: flags → `ops::report` → a document for the renderers (table, CSV,
//! JSON, HTML, xlsx).

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use crate::classify::rules::RuleSet;
use crate::classify::stage::Staging;
use crate::cli::{Every, Format, ReportArgs, ReportName};
use crate::context::Ctx;
use crate::ops::report::{self as op, Options};
use crate::output::{self, Document};
use crate::report::conduct::AuditRules;
use crate::report::ratios::ParOptions;
use crate::visits::policy::Policy;
use crate::{exit, rulefile};

fn parse_date(flag: &str, s: &str) -> Result<NaiveDate> {
    crate::dates::parse_iso(s.trim()).map_err(|e| exit::usage(format!("{flag} \"{s}\" {e}")))
}

fn name_of(n: ReportName) -> &'static str {
    match n {
        ReportName::Portfolio => "portfolio",
        ReportName::Migration => "migration",
        ReportName::Vintage => "vintage",
        ReportName::Collections => "collections",
        ReportName::Conduct => "conduct",
        ReportName::Management => "management",
    }
}

pub fn run(ctx: &Ctx, args: &ReportArgs) -> Result<()> {
    let name = name_of(args.name);
    if ctx.format == Format::Xlsx && ctx.output.is_none() {
        return Err(exit::usage(
            "--format xlsx needs -o FILE (a workbook is not written to standard output)",
        ));
    }
    if ctx.columns.is_some() {
        return Err(exit::usage(
            "--columns selects the columns of a listing (overdue, classify, schedule-visits, restructure, import); a report's tables are fixed: take the columns you need from its --format csv or json",
        ));
    }
    let period = matches!(args.name, ReportName::Collections | ReportName::Conduct);
    if (args.from.is_some() || args.to.is_some()) && !period && args.name != ReportName::Migration
        || args.every.is_some() && args.name != ReportName::Migration
    {
        return Err(exit::usage(format!(
            "--from and --every are for `report migration` (--from/--to also for collections and conduct), not `report {name}`"
        )));
    }
    let limits = match &args.policy {
        Some(p) => {
            let (origin, text) = rulefile::read(p).context("--policy")?;
            Policy::from_toml(&origin, &text)
                .context("--policy")?
                .conduct
        }
        None => Policy::default().conduct,
    };
    let o = Options {
        base: args.conv.setup(Vec::new())?,
        rules: RuleSet::resolve(&args.rules).context("--rules")?,
        staging: Staging::resolve(&args.staging).context("--staging")?,
        filters: args.filters.clone(),
        par: ParOptions {
            include_restructured: !args.par_exclude_restructured,
        },
        lang: ctx.lang,
        audit: AuditRules {
            limits,
            ..AuditRules::default()
        },
        first_contact_days: 7,
    };
    let to = match &args.to {
        Some(s) => parse_date("--to", s)?,
        None => ctx.as_of,
    };
    let from = args
        .from
        .as_deref()
        .map(|s| parse_date("--from", s))
        .transpose()?;
    if let Some(f) = from.filter(|f| *f > to) {
        return Err(exit::usage(format!("--from {f} is after --to {to}")));
    }
    if !ctx.as_of_given && args.to.is_none() && args.name != ReportName::Migration {
        ctx.note(&format!(
            "daihou: as of {} (today; pass --as-of to choose)",
            ctx.as_of
        ));
    }
    let t0 = Instant::now();
    let month_start = op::previous_month_end(to).succ_opt().unwrap_or(to);
    let doc = match args.name {
        ReportName::Portfolio => op::portfolio(ctx, ctx.as_of, &o)?,
        ReportName::Vintage => op::vintage(ctx, ctx.as_of, &o)?,
        ReportName::Migration => {
            let from = from.ok_or_else(|| {
                exit::usage("report migration needs --from DATE (and --to, default --as-of)")
            })?;
            op::migration(ctx, &migration_dates(from, to, args.every)?, &o)?
        }
        ReportName::Conduct => op::conduct(ctx, from.unwrap_or(month_start), to, &o)?,
        ReportName::Collections => op::collections(ctx, from.unwrap_or(month_start), to, &o)?,
        ReportName::Management => op::management(ctx, ctx.as_of, &o)?,
    };
    emit(ctx, &doc)?;
    ctx.debug(&format!(
        "report {name}: {:.1} s",
        t0.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// --from, the steps of --every between (as an as-of range's), and --to.
fn migration_dates(from: NaiveDate, to: NaiveDate, every: Option<Every>) -> Result<Vec<NaiveDate>> {
    let mut dates = vec![from];
    if let Some(e) = every {
        dates.extend(e.dates(from, to, 400));
    }
    dates.push(to);
    dates.sort();
    dates.dedup();
    if dates.len() > 400 {
        return Err(exit::usage(
            "the migration range holds more than 400 dates; use a longer --every step",
        ));
    }
    Ok(dates)
}

fn emit(ctx: &Ctx, doc: &Document) -> Result<()> {
    match ctx.format {
        Format::Html => output::emit_with(ctx, |w| crate::render::html::write(w, doc)),
        Format::Xlsx => match &ctx.output {
            Some(path) => crate::render::xlsx::write_file(path, doc),
            None => Err(exit::usage("--format xlsx needs -o FILE")),
        },
        _ => output::emit_document(ctx, doc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    #[test]
    fn migration_dates_are_the_ends_and_the_steps_between() {
        let got = |from, to, every| migration_dates(d(from), d(to), every).unwrap();
        assert_eq!(
            got("2026-01-15", "2026-03-20", None),
            [d("2026-01-15"), d("2026-03-20")]
        );
        // the month ends of the range (as `overdue --every month-end`), and both ends
        assert_eq!(
            got("2026-01-15", "2026-03-20", Some(Every::MonthEnd)),
            [
                d("2026-01-15"),
                d("2026-01-31"),
                d("2026-02-28"),
                d("2026-03-20")
            ]
        );
        // an end on a step counts once
        assert_eq!(
            got("2026-01-31", "2026-03-31", Some(Every::MonthEnd)),
            [d("2026-01-31"), d("2026-02-28"), d("2026-03-31")]
        );
        assert_eq!(
            got("2026-01-01", "2026-01-20", Some(Every::Week)),
            [
                d("2026-01-01"),
                d("2026-01-08"),
                d("2026-01-15"),
                d("2026-01-20")
            ]
        );
        // 400 dates at most: 2026-01-01 + 399 days is 2027-02-04
        assert_eq!(got("2026-01-01", "2027-02-04", Some(Every::Day)).len(), 400);
        assert!(migration_dates(d("2026-01-01"), d("2027-02-05"), Some(Every::Day)).is_err());
    }
}
