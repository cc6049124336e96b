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

/// --from, the steps of --every strictly between, and --to.
fn migration_dates(from: NaiveDate, to: NaiveDate, every: Option<Every>) -> Result<Vec<NaiveDate>> {
    let mut dates = vec![from];
    match every {
        None => {}
        Some(Every::MonthEnd) => dates.extend(crate::dates::month_ends(from, to)),
        Some(e) => {
            let step = if e == Every::Week { 7 } else { 1 };
            let mut d = from;
            while d <= to {
                dates.push(d);
                d = d + chrono::Days::new(step);
            }
        }
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
