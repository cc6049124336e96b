//! `daihou report NAME`: the post-loan report. Reads the book, computes positions for the dates
//! the report needs (one pass, the engine's multi-date sweep), hands plain per-loan values to the
//! pure aggregation in `crate::report`, and builds a `Document` for the renderers.
//!
//! The book scan here is a stopgap until the shared ops layer lands: it keeps per loan only
//! what the reports read (dimensions, original principal, and per date DPD, balance, max DPD).

use std::time::Instant;

use anyhow::Result;
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::buckets::Buckets;
use crate::cli::{Every, Format, ReportArgs, ReportName};
use crate::context::Ctx;
use crate::db::{self, book};
use crate::engine::{self, Conventions};
use crate::exit;
use crate::output::{self, Cell, Chart, Document, Report};
use crate::report::migration::{self, Edge, StateOf};
use crate::report::ratios::{self, Dimension, Headline, ParOptions};
use crate::report::vintage::{self, VintageLoan};
use crate::report::LoanState;

/// One loan as the reports need it.
struct Loan {
    loan_id: String,
    product: String,
    branch: String,
    region: String,
    officer: String,
    origination: Option<NaiveDate>,
    principal: Decimal,
    /// Per date of the run: None when not yet originated.
    at: Vec<Option<At>>,
}

#[derive(Clone, Copy)]
struct At {
    dpd: u32,
    balance: Decimal,
    max_dpd: u32,
    closed: bool,
}

impl Loan {
    /// The loan as of date `k`, if it is in the book then (originated and not closed).
    fn state(&self, k: usize) -> Option<LoanState> {
        let a = self.at.get(k).copied().flatten()?;
        if a.closed {
            return None;
        }
        Some(LoanState {
            loan_id: self.loan_id.clone(),
            product: self.product.clone(),
            branch: self.branch.clone(),
            region: self.region.clone(),
            officer: self.officer.clone(),
            balance: a.balance,
            dpd: a.dpd,
            restructured: false,
            grade: None,
        })
    }
}

/// Positions of every loan at every date, in loan order.
fn scan(ctx: &Ctx, dates: &[NaiveDate], conv: &Conventions) -> Result<Vec<Loan>> {
    // Key ranges scanned in parallel, each worker on its own read connection (as `overdue`);
    // parts come back in key order, so the result is in loan order.
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let ranges = book::split(&conn, threads)?;
    let parts = std::thread::scope(|scope| -> Result<Vec<Vec<Loan>>> {
        let handles: Vec<_> = ranges
            .iter()
            .map(|range| scope.spawn(move || scan_range(ctx, range, dates, conv)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a report worker thread panicked"))?
            })
            .collect()
    })?;
    Ok(parts.into_iter().flatten().collect())
}

fn scan_range(
    ctx: &Ctx,
    range: &book::KeyRange,
    dates: &[NaiveDate],
    conv: &Conventions,
) -> Result<Vec<Loan>> {
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let mut out = Vec::new();
    let mut scan = book::Scan::prepare(&conn, range)?;
    scan.for_each(|b| {
        let orig = b.info.origination_date;
        // `dates` ascend, so the dates on or after origination are a suffix.
        let active: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|d| orig.is_none_or(|o| o <= *d))
            .collect();
        let mut at = vec![None; dates.len()];
        if !active.is_empty() {
            let ps = engine::positions(&b.terms, &b.installments, &b.payments, &active, conv);
            let skip = dates.len() - active.len();
            for (k, p) in ps.into_iter().enumerate() {
                at[skip + k] = Some(At {
                    dpd: p.dpd,
                    balance: p.outstanding_principal,
                    max_dpd: p.max_dpd,
                    closed: p.closed,
                });
            }
        }
        out.push(Loan {
            loan_id: b.info.loan_id.clone(),
            product: b.info.product.clone(),
            branch: b.info.branch.clone(),
            region: b.info.region.clone(),
            officer: b.info.officer.clone(),
            origination: orig,
            principal: b.terms.principal,
            at,
        });
        Ok(())
    })?;
    Ok(out)
}

fn parse_date(flag: &str, s: &str) -> Result<NaiveDate> {
    crate::dates::parse_iso(s.trim()).map_err(|e| exit::usage(format!("{flag} \"{s}\" {e}")))
}

pub fn run(ctx: &Ctx, args: &ReportArgs) -> Result<()> {
    let name = match args.name {
        ReportName::Portfolio => "portfolio",
        ReportName::Migration => "migration",
        ReportName::Vintage => "vintage",
        ReportName::Collections | ReportName::Conduct | ReportName::Management => {
            let n = match args.name {
                ReportName::Collections => "collections",
                ReportName::Conduct => "conduct (needs the follow-up contact columns)",
                _ => "management (needs classify)",
            };
            return Err(exit::usage(format!(
                "`daihou report {n}` is not built yet; built: portfolio, migration, vintage"
            )));
        }
    };
    if ctx.format == Format::Xlsx && ctx.output.is_none() {
        return Err(exit::usage(
            "--format xlsx needs -o FILE (a workbook is not written to standard output)",
        ));
    }
    if args.name != ReportName::Migration && (args.from.is_some() || args.every.is_some()) {
        return Err(exit::usage(format!(
            "--from and --every are for `report migration`, not `report {name}`"
        )));
    }
    let buckets =
        Buckets::resolve(&args.buckets).map_err(|e| exit::usage(format!("--buckets: {e}")))?;
    let par = ParOptions {
        include_restructured: !args.par_exclude_restructured,
    };
    let conv = Conventions::default();
    let t0 = Instant::now();
    let doc = match args.name {
        ReportName::Portfolio => {
            if !ctx.as_of_given {
                ctx.note(&format!(
                    "daihou: as of {} (today; pass --as-of to choose)",
                    ctx.as_of
                ));
            }
            let loans = scan(ctx, &[ctx.as_of], &conv)?;
            let states: Vec<LoanState> = loans.iter().filter_map(|l| l.state(0)).collect();
            portfolio(ctx.as_of, &states, &buckets, par)
        }
        ReportName::Vintage => {
            let earliest = {
                let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
                book::earliest_origination(&conn)?
            };
            let dates = crate::dates::month_ends(earliest.unwrap_or(ctx.as_of), ctx.as_of);
            let loans = scan(ctx, &dates, &conv)?;
            vintage_doc(ctx.as_of, &dates, &loans)
        }
        _ => {
            let from = args
                .from
                .as_deref()
                .ok_or_else(|| {
                    exit::usage("report migration needs --from DATE (and --to, default --as-of)")
                })
                .and_then(|s| parse_date("--from", s))?;
            let to = match &args.to {
                Some(s) => parse_date("--to", s)?,
                None => ctx.as_of,
            };
            if from > to {
                return Err(exit::usage(format!("--from {from} is after --to {to}")));
            }
            let dates = migration_dates(from, to, args.every)?;
            ctx.note(&format!(
                "report migration: computed positions from the ledger for {} date(s): {}",
                dates.len(),
                dates
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let loans = scan(ctx, &dates, &conv)?;
            migration_doc(&dates, &loans, &buckets, par)
        }
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

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn headline_report(dates: &[NaiveDate], heads: &[Headline]) -> Report {
    let mut r = Report::new(&[
        "as_of",
        "loans",
        "balance",
        "overdue_loans",
        "overdue_balance",
        "overdue_ratio",
        "par1_balance",
        "par1",
        "par30_balance",
        "par30",
        "par90_balance",
        "par90",
        "over90_loans",
        "over90_balance",
    ]);
    for (d, h) in dates.iter().zip(heads) {
        let mut row = vec![
            Cell::Date(*d),
            Cell::Int(h.loans as i64),
            Cell::Money(h.balance),
            Cell::Int(h.overdue_loans as i64),
            Cell::Money(h.overdue_balance),
            h.overdue_ratio.into(),
        ];
        for days in ratios::PAR_DAYS {
            let p = h.par(days);
            row.push(Cell::Money(p.map_or(Decimal::ZERO, |p| p.balance)));
            row.push(p.and_then(|p| p.ratio).into());
        }
        row.push(Cell::Int(h.over90_loans as i64));
        row.push(Cell::Money(h.over90_balance));
        r.push(row);
    }
    r
}

fn bucket_report(loans: &[LoanState], buckets: &Buckets) -> Report {
    let mut r = Report::new(&["bucket", "loans", "balance", "share"]);
    for b in ratios::by_bucket(loans, buckets) {
        r.push(vec![
            Cell::Text(b.bucket),
            Cell::Int(b.loans as i64),
            Cell::Money(b.balance),
            b.share.into(),
        ]);
    }
    r
}

/// The `portfolio` report of one date.
fn portfolio(
    as_of: NaiveDate,
    loans: &[LoanState],
    buckets: &Buckets,
    par: ParOptions,
) -> Document {
    let h = ratios::headline(loans, par);
    let mut doc = Document {
        title: format!("Portfolio as of {as_of}"),
        notes: vec![format!(
            "{} loans in the book (originated on or before {as_of}, not closed); PAR_x counts DPD > x{}",
            h.loans,
            if par.include_restructured {
                " plus restructured loans"
            } else {
                ""
            }
        )],
        ..Document::default()
    };
    doc.add(
        "headline",
        "Headline ratios",
        headline_report(&[as_of], std::slice::from_ref(&h)),
    );
    let by_bucket = ratios::by_bucket(loans, buckets);
    doc.add(
        "by_bucket",
        "Balance by bucket",
        bucket_report(loans, buckets),
    );
    let mut by_product = Vec::new();
    for dim in Dimension::ALL {
        let rows = ratios::by_dimension(loans, dim, par);
        let mut r = Report::new(&[
            dim.name(),
            "loans",
            "balance",
            "share",
            "overdue_balance",
            "overdue_ratio",
            "par30_balance",
            "par30",
        ]);
        for g in &rows {
            r.push(vec![
                Cell::Text(g.key.clone()),
                Cell::Int(g.loans as i64),
                Cell::Money(g.balance),
                g.share.into(),
                Cell::Money(g.overdue_balance),
                g.overdue_ratio.into(),
                Cell::Money(g.par30_balance),
                g.par30.into(),
            ]);
        }
        if dim == Dimension::Product {
            by_product = rows;
        }
        doc.add(
            &format!("by_{}", dim.name()),
            &format!("By {}", dim.name()),
            r,
        );
    }
    doc.charts.push(Chart::Bars {
        title: "Balance by bucket".into(),
        labels: by_bucket.iter().map(|b| b.bucket.clone()).collect(),
        values: by_bucket.iter().map(|b| f64_of(b.balance)).collect(),
        percent: false,
    });
    doc.charts.push(Chart::Bars {
        title: "Bucket distribution (share of balance)".into(),
        labels: by_bucket.iter().map(|b| b.bucket.clone()).collect(),
        values: by_bucket
            .iter()
            .map(|b| b.share.map_or(0.0, f64_of))
            .collect(),
        percent: true,
    });
    doc.charts.push(Chart::Bars {
        title: "PAR and overdue ratio".into(),
        labels: vec![
            "PAR1".into(),
            "PAR30".into(),
            "PAR90".into(),
            "逾期贷款率".into(),
        ],
        values: ratios::PAR_DAYS
            .iter()
            .map(|d| h.par(*d).and_then(|p| p.ratio).map_or(0.0, f64_of))
            .chain(std::iter::once(h.overdue_ratio.map_or(0.0, f64_of)))
            .collect(),
        percent: true,
    });
    doc.charts.push(Chart::Bars {
        title: "PAR30 by product".into(),
        labels: by_product.iter().map(|g| g.key.clone()).collect(),
        values: by_product
            .iter()
            .map(|g| g.par30.map_or(0.0, f64_of))
            .collect(),
        percent: true,
    });
    doc
}

/// The `vintage` report: cohorts by origination month, observed at `dates` (month ends).
fn vintage_doc(as_of: NaiveDate, dates: &[NaiveDate], loans: &[Loan]) -> Document {
    let thresholds = vintage::default_thresholds();
    let vl: Vec<VintageLoan> = loans
        .iter()
        .filter_map(|l| {
            let o = l.origination?;
            let obs = vintage::observation_dates(o, as_of);
            let max_dpd = obs
                .iter()
                .filter_map(|d| dates.iter().position(|x| x == d))
                .filter_map(|k| l.at[k].map(|a| a.max_dpd))
                .collect::<Vec<_>>();
            (!max_dpd.is_empty()).then_some(VintageLoan {
                origination: o,
                amount: l.principal,
                max_dpd,
            })
        })
        .collect();
    let rows = vintage::triangle(&vl, &thresholds);
    let mut cols = vec!["cohort", "mob", "loans", "original_amount"];
    let names: Vec<(String, String)> = thresholds
        .iter()
        .map(|t| (format!("{}_amount", t.name), format!("{}_share", t.name)))
        .collect();
    for (a, s) in &names {
        cols.push(a);
        cols.push(s);
    }
    let mut r = Report::new(&cols);
    for v in &rows {
        let mut row = vec![
            Cell::Text(v.cohort.clone()),
            Cell::Int(i64::from(v.mob)),
            Cell::Int(v.loans as i64),
            Cell::Money(v.original_amount),
        ];
        for (amt, share) in &v.ever {
            row.push(Cell::Money(*amt));
            row.push((*share).into());
        }
        r.push(row);
    }
    let mut doc = Document {
        title: format!("Vintage as of {as_of}"),
        notes: vec![format!(
            "share of original amount ever at DPD ≥ 30 (30+), ≥ 31 (M2+), ≥ 90 (90+) by month on book; MOB 0 = the origination month, observed at month ends up to {as_of}"
        )],
        ..Document::default()
    };
    let max_mob = rows.iter().map(|v| v.mob).max().map_or(0, |m| m + 1);
    let mut cohorts: Vec<String> = rows.iter().map(|v| v.cohort.clone()).collect();
    cohorts.dedup();
    // The chart shows the latest 12 cohorts (the table has them all).
    let cohorts = cohorts.split_off(cohorts.len().saturating_sub(12));
    for (ti, title) in [
        (0usize, "Ever 30+ by month on book"),
        (1, "Ever M2+ by month on book"),
    ] {
        doc.charts.push(Chart::Lines {
            title: title.into(),
            x: (0..max_mob).map(|m| m.to_string()).collect(),
            series: cohorts
                .iter()
                .map(|c| {
                    let mut s = vec![None; max_mob as usize];
                    for v in rows.iter().filter(|v| &v.cohort == c) {
                        s[v.mob as usize] = v.ever[ti].1.map(f64_of);
                    }
                    (c.clone(), s)
                })
                .collect(),
            percent: true,
        });
    }
    doc.add("vintage", "Vintage triangle", r);
    doc
}

fn edge_label(e: Edge, labels: &[&str]) -> String {
    match e {
        Edge::New => "new".into(),
        Edge::Closed => "closed".into(),
        Edge::State(i) => labels.get(i).map_or(String::new(), |s| s.to_string()),
    }
}

/// The `migration` report over `dates` (at least two).
fn migration_doc(
    dates: &[NaiveDate],
    loans: &[Loan],
    buckets: &Buckets,
    par: ParOptions,
) -> Document {
    let labels: Vec<&str> = buckets.labels().collect();
    let per_date: Vec<Vec<LoanState>> = (0..dates.len())
        .map(|k| loans.iter().filter_map(|l| l.state(k)).collect())
        .collect();
    let states_at = |k: usize| -> Vec<StateOf<'_>> {
        per_date[k]
            .iter()
            .map(|s| StateOf {
                loan_id: &s.loan_id,
                state: buckets.index(s.dpd),
                balance: s.balance,
            })
            .collect()
    };
    let (first, last) = (0, dates.len() - 1);
    let (cells, _) = migration::matrix(&states_at(first), &states_at(last), labels.len());
    let mut m = Report::new(&[
        "from_date",
        "to_date",
        "from_bucket",
        "to_bucket",
        "loans",
        "balance_from",
        "balance_to",
        "share_loans",
        "share_balance",
    ]);
    for c in &cells {
        m.push(vec![
            Cell::Date(dates[first]),
            Cell::Date(dates[last]),
            Cell::Text(edge_label(c.from, &labels)),
            Cell::Text(edge_label(c.to, &labels)),
            Cell::Int(c.loans as i64),
            Cell::Money(c.balance_from),
            Cell::Money(c.balance_to),
            c.share_loans.into(),
            c.share_balance.into(),
        ]);
    }
    let mut flow = Report::new(&[
        "from_date",
        "to_date",
        "stayed_loans",
        "worse_loans",
        "worse_balance",
        "cured_loans",
        "cured_balance",
        "closed_loans",
        "closed_balance",
        "new_loans",
        "new_balance",
    ]);
    for k in 0..last {
        let (_, f) = migration::matrix(&states_at(k), &states_at(k + 1), labels.len());
        flow.push(vec![
            Cell::Date(dates[k]),
            Cell::Date(dates[k + 1]),
            Cell::Int(f.stayed_loans as i64),
            Cell::Int(f.worse_loans as i64),
            Cell::Money(f.worse_balance),
            Cell::Int(f.cured_loans as i64),
            Cell::Money(f.cured_balance),
            Cell::Int(f.closed_loans as i64),
            Cell::Money(f.closed_balance),
            Cell::Int(f.new_loans as i64),
            Cell::Money(f.new_balance),
        ]);
    }
    let totals: Vec<Vec<Decimal>> = per_date
        .iter()
        .map(|v| {
            ratios::by_bucket(v, buckets)
                .iter()
                .map(|b| b.balance)
                .collect()
        })
        .collect();
    let mut rolls = Report::new(&[
        "from_date",
        "to_date",
        "from_bucket",
        "to_bucket",
        "balance_from",
        "balance_to",
        "roll_rate",
    ]);
    for r in migration::roll_rates(&totals) {
        rolls.push(vec![
            Cell::Date(dates[r.step]),
            Cell::Date(dates[r.step + 1]),
            Cell::Text(labels[r.from_state].to_string()),
            Cell::Text(labels[r.from_state + 1].to_string()),
            Cell::Money(r.balance_from),
            Cell::Money(r.balance_to),
            r.rate.into(),
        ]);
    }
    let heads: Vec<Headline> = per_date.iter().map(|v| ratios::headline(v, par)).collect();
    let mut doc = Document {
        title: format!("Migration {} to {}", dates[first], dates[last]),
        notes: vec![format!(
            "positions computed from the ledger for {} date(s); buckets {buckets}",
            dates.len()
        )],
        ..Document::default()
    };
    doc.charts.push(Chart::Heatmap {
        title: format!(
            "Transition matrix {} → {} (share of balance)",
            dates[first], dates[last]
        ),
        rows: labels.iter().map(|s| s.to_string()).collect(),
        cols: labels
            .iter()
            .map(|s| s.to_string())
            .chain(std::iter::once("closed".to_string()))
            .collect(),
        values: (0..labels.len())
            .map(|i| {
                cells
                    .iter()
                    .filter(|c| c.from == Edge::State(i))
                    .map(|c| c.share_balance.map(f64_of))
                    .collect()
            })
            .collect(),
    });
    doc.charts.push(Chart::Lines {
        title: "PAR30 and overdue ratio over time".into(),
        x: dates.iter().map(|d| d.to_string()).collect(),
        series: vec![
            (
                "PAR30".into(),
                heads
                    .iter()
                    .map(|h| h.par(30).and_then(|p| p.ratio).map(f64_of))
                    .collect(),
            ),
            (
                "Overdue ratio (逾期贷款率)".into(),
                heads.iter().map(|h| h.overdue_ratio.map(f64_of)).collect(),
            ),
        ],
        percent: true,
    });
    doc.charts.push(Chart::Bars {
        title: format!("Balance by bucket at {}", dates[last]),
        labels: labels.iter().map(|s| s.to_string()).collect(),
        values: totals[last].iter().map(|d| f64_of(*d)).collect(),
        percent: false,
    });
    doc.add("matrix", "Transition matrix (first to last date)", m);
    doc.add("flow", "Flow between consecutive dates", flow);
    doc.add("roll_rates", "Roll rates", rolls);
    doc.add(
        "headline",
        "Headline ratios by date",
        headline_report(dates, &heads),
    );
    doc
}
