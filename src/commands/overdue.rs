//! `daihou overdue`: where every loan stands as of one date (or a range of dates in one pass):
//! days past due, arrears, penalty interest, bucket, and the collection action it calls for.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::buckets::{term_class, Buckets};
use crate::cli::{Every, OverdueArgs};
use crate::collection::{self, Ladder, LadderFile};
use crate::context::Ctx;
use crate::db::{self, book};
use crate::engine::{self, Component, Conventions, Position, Prepay};
use crate::exit;
use crate::money;
use crate::output::{self, Cell, Report};
use crate::pii;
use crate::restructure;
use crate::rulefile;

/// The options that decide the numbers, resolved from the flags.
struct Setup {
    dates: Vec<NaiveDate>,
    conv: Conventions,
    buckets: Buckets,
    ladder: Ladder,
}

fn setup(ctx: &Ctx, args: &OverdueArgs) -> Result<Setup> {
    let dates = match (&args.from, &args.to, args.every) {
        (Some(from), Some(to), Some(every)) => {
            let parse = |flag: &str, s: &str| {
                crate::dates::parse_iso(s).map_err(|e| exit::usage(format!("{flag} \"{s}\" {e}")))
            };
            let (from, to) = (parse("--from", from)?, parse("--to", to)?);
            if to < from {
                return Err(exit::usage("--to is before --from"));
            }
            let dates = match every {
                Every::MonthEnd => crate::dates::month_ends(from, to),
                Every::Week | Every::Day => {
                    let step = if every == Every::Week { 7 } else { 1 };
                    let mut v = Vec::new();
                    let mut d = from;
                    while d <= to {
                        v.push(d);
                        d = d + chrono::Days::new(step);
                    }
                    v
                }
            };
            if dates.is_empty() {
                return Err(exit::usage(
                    "the range --from … --to holds no date of the --every step",
                ));
            }
            if dates.len() > 3660 {
                return Err(exit::usage(
                    "the range holds more than 3660 dates; split it",
                ));
            }
            dates
        }
        _ => vec![ctx.as_of],
    };
    let amount = |flag: &str, s: &str| {
        money::parse_amount(s).map_err(|e| exit::usage(format!("{flag} \"{s}\" {e}")))
    };
    let tolerance = amount("--tolerance", &args.tolerance)?;
    let multiplier: Decimal = args
        .penalty_multiplier
        .trim()
        .parse()
        .ok()
        .filter(|m: &Decimal| *m >= Decimal::ZERO && *m <= Decimal::from(10))
        .ok_or_else(|| {
            exit::usage(format!(
                "--penalty-multiplier \"{}\" is not a number between 0 and 10",
                args.penalty_multiplier
            ))
        })?;
    if tolerance < Decimal::ZERO {
        return Err(exit::usage("--tolerance must not be negative"));
    }
    let order =
        Component::parse_order(&args.order).map_err(|e| exit::usage(format!("--order: {e}")))?;
    let prepay = Prepay::parse(&args.prepay).map_err(|e| exit::usage(format!("--prepay: {e}")))?;
    let buckets =
        Buckets::resolve(&args.buckets).map_err(|e| exit::usage(format!("--buckets: {e}")))?;
    if let Some(b) = &args.bucket {
        if !buckets.labels().any(|l| l == b) {
            return Err(exit::usage(format!(
                "--bucket {b} is not one of the buckets: {}",
                buckets.labels().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let ladder = match &args.ladder {
        None => Ladder::default(),
        Some(p) => {
            rulefile::load_with(p, |f: LadderFile| Ok(Ladder::from_file(f)?)).context("--ladder")?
        }
    };
    Ok(Setup {
        dates,
        conv: Conventions {
            grace_days: args.grace_days,
            tolerance,
            order,
            penalty_first: args.penalty_first,
            penalty_multiplier: multiplier,
            compound_interest: !args.no_compound,
            prepay,
        },
        buckets,
        ladder,
    })
}

/// The conventions as JSON, stored with saved positions so a snapshot says how it was computed.
fn conventions_json(args: &OverdueArgs, s: &Setup) -> String {
    serde_json::json!({
        "grace_days": s.conv.grace_days,
        "tolerance": money::fmt_amount(s.conv.tolerance),
        "penalty_multiplier": s.conv.penalty_multiplier.to_string(),
        "compound_interest": s.conv.compound_interest,
        "penalty_first": s.conv.penalty_first,
        "order": args.order,
        "prepay": args.prepay,
        "buckets": s.buckets.to_string(),
        "ladder": args.ladder.as_ref().map(|p| p.display().to_string()),
    })
    .to_string()
}

/// Payments in force as of a date: reversal rows and the payments they reverse are left out.
fn effective_payments(pays: &[engine::Payment], as_of: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
    let reversed: HashSet<&str> = pays
        .iter()
        .filter(|p| p.paid_on <= as_of)
        .filter_map(|p| p.reverses_txn_id.as_deref())
        .collect();
    pays.iter()
        .filter(|p| {
            p.reverses_txn_id.is_none()
                && p.paid_on <= as_of
                && !reversed.contains(p.txn_id.as_str())
        })
        .map(|p| (p.paid_on, p.amount))
        .collect()
}

/// Per-date totals for the summary line and the range report.
#[derive(Default, Clone)]
struct Totals {
    active: u64,
    overdue: u64,
    /// bucket label → (loans, outstanding principal, overdue principal, overdue interest)
    by_bucket: BTreeMap<usize, (u64, Decimal, Decimal, Decimal)>,
}

fn fen(d: Decimal) -> i64 {
    money::to_fen(d).unwrap_or(0)
}

pub fn run(ctx: &Ctx, args: &OverdueArgs) -> Result<()> {
    let s = setup(ctx, args)?;
    let single = s.dates.len() == 1;
    if single && !ctx.as_of_given {
        ctx.note(&format!(
            "daihou: as of {} (today; pass --as-of to choose)",
            s.dates[0]
        ));
    }
    let t0 = Instant::now();
    let mode = if args.save {
        db::Mode::Write
    } else {
        db::Mode::Read
    };
    let conn = db::open(&ctx.db, mode, ctx.busy_timeout)?;
    let tx = if args.save {
        Some(db::begin_shared(&conn)?)
    } else {
        None
    };
    let c: &rusqlite::Connection = &conn;
    if args.save {
        for d in &s.dates {
            book::clear_positions(c, *d)?;
        }
    }
    // The book is split into key ranges scanned in parallel, each worker on its own read
    // connection (WAL lets them read while this connection holds the write transaction).
    // Saved positions stream back over a bounded channel and are written here, in this
    // connection's transaction; the rest comes back when a worker ends.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let ranges = book::split(c, threads)?;
    let parts: Vec<Part> = std::thread::scope(|scope| -> Result<Vec<Part>> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<book::SavedPosition>>(8);
        let handles: Vec<_> = ranges
            .iter()
            .map(|range| {
                let sender = args.save.then(|| sender.clone());
                let s = &s;
                scope.spawn(move || scan_part(ctx, args, s, range, sender))
            })
            .collect();
        drop(sender);
        let mut write_error = None;
        let mut inserter = if args.save {
            Some(book::position_inserter(c)?)
        } else {
            None
        };
        for batch in receiver {
            if write_error.is_some() {
                continue; // keep draining so the workers can finish
            }
            let Some(stmt) = inserter.as_mut() else {
                continue;
            };
            for p in &batch {
                if let Err(e) = book::insert_position(stmt, p) {
                    write_error = Some(e);
                    break;
                }
            }
        }
        let mut parts = Vec::new();
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("an overdue worker thread panicked"))?;
            parts.push(part?);
        }
        match write_error {
            Some(e) => Err(e),
            None => Ok(parts),
        }
    })?;
    let mut totals: Vec<Totals> = vec![Totals::default(); s.dates.len()];
    let mut report = listing_report();
    let mut inst_report = installments_report();
    let mut keyed: Vec<Listed> = Vec::new();
    let mut warnings = 0u64;
    for part in parts {
        for (t, pt) in totals.iter_mut().zip(&part.totals) {
            t.add(pt);
        }
        keyed.extend(part.rows);
        inst_report.rows.extend(part.inst_rows);
        warnings += part.warnings;
    }
    if args.save {
        let conv = conventions_json(args, &s);
        for (d, t) in s.dates.iter().zip(&totals) {
            book::record_run(c, *d, &conv, t.active, t.overdue)?;
        }
    }
    if let Some(tx) = tx {
        if args.dry_run {
            tx.rollback()?;
        } else {
            tx.commit().context("committing the saved positions")?;
        }
    }
    // By DPD, then the amount in arrears, both descending; then loan_id.
    keyed.sort_by(|a, b| {
        b.dpd
            .cmp(&a.dpd)
            .then(b.arrears.cmp(&a.arrears))
            .then(a.loan_id.cmp(&b.loan_id))
    });
    report.rows = keyed.into_iter().map(|k| k.row).collect();

    if single && args.installments {
        output::emit(ctx, &inst_report)?;
    } else if single {
        output::emit(ctx, &report)?;
    } else {
        output::emit(ctx, &range_report(&s, &totals))?;
    }
    let secs = t0.elapsed().as_secs_f64();
    for (d, t) in s.dates.iter().zip(&totals) {
        if single || ctx.verbose {
            ctx.note(&summary_line(*d, t, &s.buckets));
        }
    }
    if !single {
        ctx.note(&format!(
            "overdue: {} dates from {} to {}",
            s.dates.len(),
            s.dates[0],
            s.dates[s.dates.len() - 1]
        ));
    }
    if warnings > 0 {
        ctx.note(&format!(
            "overdue: warning: {warnings} loan positions carry data warnings (see -v)"
        ));
    }
    if args.save {
        let verb = if args.dry_run {
            "would save (dry run, rolled back)"
        } else {
            "saved"
        };
        let n: u64 = totals.iter().map(|t| t.active).sum();
        ctx.note(&format!(
            "overdue: {verb} {n} positions for {} date(s), {secs:.1} s",
            s.dates.len()
        ));
    } else {
        ctx.debug(&format!("overdue: {secs:.1} s"));
    }
    Ok(())
}

/// A listed loan with its sort key.
struct Listed {
    dpd: u32,
    arrears: Decimal,
    loan_id: String,
    row: Vec<Cell>,
}

/// What one worker found in its key range.
struct Part {
    totals: Vec<Totals>,
    rows: Vec<Listed>,
    inst_rows: Vec<Vec<Cell>>,
    warnings: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.active += o.active;
        self.overdue += o.overdue;
        for (k, v) in &o.by_bucket {
            let e = self.by_bucket.entry(*k).or_default();
            e.0 += v.0;
            e.1 += v.1;
            e.2 += v.2;
            e.3 += v.3;
        }
    }
}

fn listing_report() -> Report {
    Report::new(&[
        "loan_id",
        "borrower",
        "phone",
        "officer",
        "branch",
        "region",
        "product",
        "dpd",
        "bucket",
        "term",
        "overdue_since",
        "installments_overdue",
        "overdue_principal",
        "overdue_interest",
        "penalty_interest",
        "outstanding_principal",
        "last_payment_date",
        "max_dpd",
        "next_action",
        "last_contact",
        "last_contact_channel",
        "sla_breached",
        "sla_reason",
        "promises_broken",
        "last_broken_promise",
    ])
    .table_shows(&[
        "loan_id",
        "borrower",
        "officer",
        "dpd",
        "bucket",
        "overdue_since",
        "overdue_principal",
        "overdue_interest",
        "penalty_interest",
        "outstanding_principal",
        "next_action",
        "last_contact",
        "sla_breached",
        "promises_broken",
    ])
}

fn installments_report() -> Report {
    Report::new(&[
        "loan_id",
        "version",
        "installment_no",
        "due_date",
        "principal_due",
        "interest_due",
        "status",
        "settled_on",
        "days_late",
    ])
}

/// Scans one key range of the book: positions for every date, the listing rows, and (with
/// --save) the positions to store, sent in batches to the writer.
fn scan_part(
    ctx: &Ctx,
    args: &OverdueArgs,
    s: &Setup,
    range: &book::KeyRange,
    saver: Option<std::sync::mpsc::SyncSender<Vec<book::SavedPosition>>>,
) -> Result<Part> {
    let single = s.dates.len() == 1;
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let mut part = Part {
        totals: vec![Totals::default(); s.dates.len()],
        rows: Vec::new(),
        inst_rows: Vec::new(),
        warnings: 0,
    };
    let mut inst_report = installments_report();
    let mut batch: Vec<book::SavedPosition> = Vec::new();
    let mut scan = book::Scan::prepare(&conn, range)?;
    scan.for_each(|b| {
        let active_dates: Vec<NaiveDate> = s
            .dates
            .iter()
            .copied()
            .filter(|d| b.info.origination_date.is_none_or(|o| o <= *d))
            .collect();
        if active_dates.is_empty() {
            return Ok(());
        }
        let positions = restructure::replay::positions(
            &b.terms,
            &b.installments,
            &b.versions,
            &b.payments,
            &active_dates,
            &s.conv,
        );
        for p in positions {
            if !p.warnings.is_empty() {
                part.warnings += 1;
                if ctx.verbose {
                    for w in &p.warnings {
                        ctx.debug(&format!("loan_id {}: {w}", b.info.loan_id));
                    }
                }
            }
            if single && args.installments && (args.all || !p.closed) {
                let bucket = s.buckets.label(p.dpd);
                if wanted_loan(args, b, &p, bucket) {
                    installment_rows(&mut inst_report, b, &p, s.conv.grace_days);
                }
            }
            if p.closed {
                continue;
            }
            let k = s.dates.iter().position(|d| *d == p.as_of).unwrap_or(0);
            let bi = s.buckets.index(p.dpd);
            let bucket = s.buckets.label(p.dpd);
            let t = &mut part.totals[k];
            t.active += 1;
            let e = t.by_bucket.entry(bi).or_default();
            e.0 += 1;
            e.1 += p.outstanding_principal;
            e.2 += p.overdue_principal;
            e.3 += p.overdue_interest;
            let action = if p.dpd > 0 {
                t.overdue += 1;
                collection::next_action(&s.ladder, p.dpd, p.overdue_since, &b.followups, p.as_of)
            } else {
                collection::Action::default()
            };
            let promise = if b.followups.is_empty() {
                collection::PromiseSummary::default()
            } else {
                let pays = effective_payments(&b.payments, p.as_of);
                collection::promise_summary(&collection::promises(&b.followups, &pays, p.as_of))
            };
            if let Some(tx) = &saver {
                batch.push(book::SavedPosition {
                    as_of: p.as_of,
                    loan_id: b.info.loan_id.clone(),
                    dpd: p.dpd,
                    bucket: bucket.to_string(),
                    overdue_since: p.overdue_since,
                    overdue_principal: fen(p.overdue_principal),
                    overdue_interest: fen(p.overdue_interest),
                    overdue_fee: fen(p.overdue_fee),
                    penalty_interest: fen(p.penalty_interest),
                    outstanding_principal: fen(p.outstanding_principal),
                    installments_overdue: p.installments_overdue,
                    last_payment_date: p.last_payment_date,
                    max_dpd: p.max_dpd,
                    next_action: action.next_action.clone(),
                    sla_breached: action.sla_breached,
                    promises_broken: promise.broken,
                });
                if batch.len() >= 4096 {
                    // A closed channel means the writer failed; it reports the error.
                    let _ = tx.send(std::mem::take(&mut batch));
                }
            }
            if single && wanted(args, b, &p, bucket) {
                part.rows.push(Listed {
                    dpd: p.dpd,
                    arrears: p.overdue_principal + p.overdue_interest,
                    loan_id: b.info.loan_id.clone(),
                    row: listing_row(ctx, b, &p, bucket, &action, &promise),
                });
            }
        }
        Ok(())
    })?;
    if let Some(tx) = &saver {
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
    }
    part.inst_rows = inst_report.rows;
    Ok(part)
}

fn wanted(args: &OverdueArgs, b: &book::LoanBook, p: &Position, bucket: &str) -> bool {
    (args.all || p.dpd > 0) && wanted_loan(args, b, p, bucket)
}

/// The filters other than "overdue only".
fn wanted_loan(args: &OverdueArgs, b: &book::LoanBook, p: &Position, bucket: &str) -> bool {
    args.min_dpd.is_none_or(|m| p.dpd >= m)
        && args.bucket.as_deref().is_none_or(|x| x == bucket)
        && args.officer.as_deref().is_none_or(|x| x == b.info.officer)
        && args.branch.as_deref().is_none_or(|x| x == b.info.branch)
        && args.region.as_deref().is_none_or(|x| x == b.info.region)
}

/// One row per installment of the schedule in force at the date (with the version each belongs
/// to, 0 = the original): settled (with its days late), overdue, or not yet due.
fn installment_rows(r: &mut Report, b: &book::LoanBook, p: &Position, grace_days: u32) {
    let k = b.versions.partition_point(|v| v.effective <= p.as_of);
    let effectives: Vec<NaiveDate> = b.versions[..k].iter().map(|v| v.effective).collect();
    let combined;
    let in_force: &[engine::Installment] = if k == 0 {
        &b.installments
    } else {
        combined = restructure::replay::combined(&b.installments, &b.versions, k);
        &combined
    };
    let mut inst: Vec<&engine::Installment> = in_force.iter().collect();
    inst.sort_by_key(|i| (i.due_date, i.installment_no));
    for i in inst {
        let settled = p
            .settled
            .iter()
            .find(|s| s.installment_no == i.installment_no && s.due_date == i.due_date);
        let (status, settled_on, days_late) = match settled {
            Some(s) => (
                "settled",
                Cell::Date(s.settled_on),
                Cell::Int(s.days_late.into()),
            ),
            None if (p.as_of - i.due_date).num_days() > i64::from(grace_days) => (
                "overdue",
                Cell::Null,
                Cell::Int((p.as_of - i.due_date).num_days()),
            ),
            None => ("not_due", Cell::Null, Cell::Null),
        };
        r.push(vec![
            Cell::Text(b.info.loan_id.clone()),
            Cell::Int(restructure::replay::version_of(&effectives, i.due_date).into()),
            Cell::Int(i.installment_no.into()),
            Cell::Date(i.due_date),
            Cell::Money(i.principal_due),
            Cell::Money(i.interest_due),
            status.into(),
            settled_on,
            days_late,
        ]);
    }
}

fn listing_row(
    ctx: &Ctx,
    b: &book::LoanBook,
    p: &Position,
    bucket: &str,
    a: &collection::Action,
    promise: &collection::PromiseSummary,
) -> Vec<Cell> {
    let (name, phone) = if ctx.show_pii {
        (b.info.borrower_name.clone(), b.info.phone.clone())
    } else {
        (
            pii::mask_name(&b.info.borrower_name),
            pii::mask_phone(&b.info.phone),
        )
    };
    let opt = |s: &Option<String>| s.clone().map_or(Cell::Null, Cell::Text);
    vec![
        Cell::Text(b.info.loan_id.clone()),
        Cell::Text(name),
        Cell::Text(phone),
        Cell::Text(b.info.officer.clone()),
        Cell::Text(b.info.branch.clone()),
        Cell::Text(b.info.region.clone()),
        Cell::Text(b.info.product.clone()),
        Cell::Int(p.dpd.into()),
        bucket.into(),
        term_class(p.dpd).into(),
        p.overdue_since.into(),
        Cell::Int(p.installments_overdue.into()),
        Cell::Money(p.overdue_principal),
        Cell::Money(p.overdue_interest),
        Cell::Money(p.penalty_interest),
        Cell::Money(p.outstanding_principal),
        p.last_payment_date.into(),
        Cell::Int(p.max_dpd.into()),
        opt(&a.next_action),
        a.last_contact.into(),
        opt(&a.last_contact_channel),
        Cell::Bool(a.sla_breached),
        opt(&a.sla_reason),
        Cell::Int(promise.broken.into()),
        promise.last_broken.into(),
    ]
}

fn summary_line(d: NaiveDate, t: &Totals, buckets: &Buckets) -> String {
    let overdue_balance: Decimal = t
        .by_bucket
        .iter()
        .filter(|(i, _)| **i > 0)
        .map(|(_, v)| v.1)
        .sum();
    let parts: Vec<String> = t
        .by_bucket
        .iter()
        .filter(|(i, _)| **i > 0)
        .map(|(i, v)| {
            format!(
                "{} {} / {}",
                buckets.as_slice()[*i].label,
                v.0,
                money::fmt_amount(v.1)
            )
        })
        .collect();
    let mut line = format!(
        "overdue as of {d}: {} of {} active loans overdue, outstanding principal in arrears {}",
        t.overdue,
        t.active,
        money::fmt_amount(overdue_balance)
    );
    if !parts.is_empty() {
        line.push_str(&format!(" ({})", parts.join("; ")));
    }
    line
}

/// For a range of dates: one row per date and bucket (an aging table over time).
fn range_report(s: &Setup, totals: &[Totals]) -> Report {
    let mut r = Report::new(&[
        "as_of",
        "bucket",
        "loans",
        "outstanding_principal",
        "overdue_principal",
        "overdue_interest",
    ]);
    for (d, t) in s.dates.iter().zip(totals) {
        for (i, b) in s.buckets.as_slice().iter().enumerate() {
            let v = t.by_bucket.get(&i).cloned().unwrap_or_default();
            r.push(vec![
                Cell::Date(*d),
                Cell::Text(b.label.clone()),
                Cell::Int(v.0 as i64),
                Cell::Money(v.1),
                Cell::Money(v.2),
                Cell::Money(v.3),
            ]);
        }
    }
    r
}
