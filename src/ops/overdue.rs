//! The `overdue` op: one consumer of the portfolio stream ([`portfolio::scan`]) that lists the
//! overdue loans (or their installments) for one date, builds the aging table of every date,
//! and with `save` stores every open position in the ledger while the workers compute.

use std::collections::BTreeSet;
use std::sync::mpsc::{sync_channel, SyncSender};

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::buckets::{term_class, Buckets};
use crate::context::Ctx;
use crate::db::{self, book};
use crate::engine::{Installment, InstallmentStatus, Position};
use crate::exit;
use crate::money;
use crate::ops::portfolio::{self, Aging, Assessment, Consumer, LoanAssessment, Setup};
use crate::output::{Cell, Tabular};
use crate::pii;
use crate::restructure::replay;

/// Which loans a listing shows (besides "overdue only").
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub min_dpd: Option<u32>,
    /// A bucket label of the setup's buckets.
    pub bucket: Option<String>,
    pub officer: Option<String>,
    pub branch: Option<String>,
    pub region: Option<String>,
}

impl Filters {
    fn admit(&self, info: &book::LoanInfo, p: &Position, bucket: &str) -> bool {
        self.min_dpd.is_none_or(|m| p.dpd >= m)
            && self.bucket.as_deref().is_none_or(|x| x == bucket)
            && self.officer.as_deref().is_none_or(|x| x == info.officer)
            && self.branch.as_deref().is_none_or(|x| x == info.branch)
            && self.region.as_deref().is_none_or(|x| x == info.region)
    }
}

/// Values of the book's officer, branch and region, collected only for a field that a filter
/// names (to say "no loan has officer X, did you mean …").
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub officers: BTreeSet<String>,
    pub branches: BTreeSet<String>,
    pub regions: BTreeSet<String>,
}

impl Seen {
    fn note(&mut self, f: &Filters, info: &book::LoanInfo) {
        for (filter, value, seen) in [
            (&f.officer, &info.officer, &mut self.officers),
            (&f.branch, &info.branch, &mut self.branches),
            (&f.region, &info.region, &mut self.regions),
        ] {
            if filter.is_some() && !seen.contains(value) {
                seen.insert(value.clone());
            }
        }
    }

    /// For each officer/branch/region filter that no loan matches: "no loan has officer 'x'
    /// (did you mean: a, b, c?)", the suggestions closest to the value first.
    pub fn unmatched(&self, f: &Filters) -> Vec<String> {
        let mut out = Vec::new();
        for (what, filter, seen) in [
            ("officer", &f.officer, &self.officers),
            ("branch", &f.branch, &self.branches),
            ("region", &f.region, &self.regions),
        ] {
            let Some(want) = filter else { continue };
            if seen.contains(want) {
                continue;
            }
            let mut near: Vec<&String> = seen.iter().filter(|s| !s.is_empty()).collect();
            near.sort_by_cached_key(|s| (edit_distance(want, s), (*s).clone()));
            near.truncate(5);
            let mut line = format!("no loan has {what} '{want}'");
            if !near.is_empty() {
                let names: Vec<&str> = near.iter().map(|s| s.as_str()).collect();
                line.push_str(&format!(" (did you mean: {}?)", names.join(", ")));
            }
            out.push(line);
        }
        out
    }
}

/// Levenshtein distance over characters, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// What the op lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// One row per open loan of the (single) date: the overdue ones, or with `all` every one.
    Loans { all: bool },
    /// One row per installment of the listed loans: open ones, or with `all` closed ones too.
    Installments { all: bool },
    /// No per-loan rows: the aging table of each date.
    Aging,
}

/// Store the positions (a rerun for the same date replaces them).
#[derive(Debug, Clone)]
pub struct Save {
    /// Compute and store, then roll back.
    pub dry_run: bool,
    /// The conventions as JSON, stored with each run.
    pub conventions: String,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub setup: Setup,
    pub filters: Filters,
    pub listing: Listing,
    pub save: Option<Save>,
}

/// What the op found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// By DPD, then the amount in arrears, both descending; then loan_id.
    pub loans: Vec<LoanRow>,
    /// By loan, then schedule order.
    pub installments: Vec<InstallmentRow>,
    /// One per date of the setup, of the loans the filters admit (what is listed).
    pub aging: Vec<Aging>,
    /// One per date of the setup, of the whole book (what `save` stores).
    pub book: Vec<Aging>,
    /// The officers, branches and regions of the book, when a filter on them is given
    /// (for "did you mean").
    pub seen: Seen,
    /// Positions that carry data warnings (listed with `-v`).
    pub warnings: u64,
}

/// Runs the op: scans the book, and with `save` writes the positions in one transaction.
pub fn run(ctx: &Ctx, req: &Request) -> Result<Outcome> {
    let Some(save) = &req.save else {
        let all = portfolio::scan(ctx, &req.setup, || Collect::new(ctx, req, None))?;
        return Ok(all.into_outcome());
    };
    let conn = db::open(&ctx.db, db::Mode::Write, ctx.busy_timeout)?;
    let tx = db::begin_shared(&conn)?;
    for d in &req.setup.dates {
        book::clear_positions(&conn, *d)?;
    }
    // Saved positions stream back over a bounded channel and are written here, in this
    // connection's transaction, while the workers (on their own read connections) compute.
    let (sender, receiver) = sync_channel::<Vec<book::SavedPosition>>(8);
    let all = std::thread::scope(|scope| -> Result<Collect> {
        let worker = scope.spawn(move || {
            portfolio::scan(ctx, &req.setup, || {
                Collect::new(ctx, req, Some(sender.clone()))
            })
        });
        let mut inserter = book::position_inserter(&conn)?;
        let mut write_error = None;
        for batch in receiver {
            if write_error.is_some() {
                continue; // keep draining so the workers can finish
            }
            for p in &batch {
                if let Err(e) = book::insert_position(&mut inserter, p) {
                    write_error = Some(e);
                    break;
                }
            }
        }
        let all = worker
            .join()
            .map_err(|_| anyhow!("the overdue scan panicked"))??;
        match write_error {
            Some(e) => Err(e),
            None => Ok(all),
        }
    })?;
    let out = all.into_outcome();
    for a in &out.book {
        book::record_run(&conn, a.as_of, &save.conventions, a.active, a.overdue)?;
    }
    if save.dry_run {
        tx.rollback()?;
    } else {
        tx.commit().context("committing the saved positions")?;
    }
    Ok(out)
}

/// The per-worker consumer.
struct Collect<'a> {
    ctx: &'a Ctx,
    req: &'a Request,
    aging: Vec<Aging>,
    book: Vec<Aging>,
    seen: Seen,
    loans: Vec<LoanRow>,
    installments: Vec<InstallmentRow>,
    warnings: u64,
    saver: Option<SyncSender<Vec<book::SavedPosition>>>,
    batch: Vec<book::SavedPosition>,
}

impl<'a> Collect<'a> {
    fn new(
        ctx: &'a Ctx,
        req: &'a Request,
        saver: Option<SyncSender<Vec<book::SavedPosition>>>,
    ) -> Self {
        Collect {
            ctx,
            req,
            aging: Aging::for_setup(&req.setup),
            book: Aging::for_setup(&req.setup),
            seen: Seen::default(),
            loans: Vec::new(),
            installments: Vec::new(),
            warnings: 0,
            saver,
            batch: Vec::new(),
        }
    }

    fn into_outcome(mut self) -> Outcome {
        self.loans.sort_by(|a, b| {
            b.dpd
                .cmp(&a.dpd)
                .then(
                    (b.overdue_principal + b.overdue_interest)
                        .cmp(&(a.overdue_principal + a.overdue_interest)),
                )
                .then(a.loan_id.cmp(&b.loan_id))
        });
        Outcome {
            loans: self.loans,
            installments: self.installments,
            aging: self.aging,
            book: self.book,
            seen: self.seen,
            warnings: self.warnings,
        }
    }

    fn save(&mut self, b: &book::LoanBook, a: &Assessment, bucket: &str) -> Result<()> {
        let Some(tx) = &self.saver else {
            return Ok(());
        };
        let p = &a.position;
        let fen = |what: &str, v: Decimal| {
            money::to_fen(v).ok_or_else(|| {
                exit::data(format!(
                    "loan_id {}: {what} {v} is too large for the ledger",
                    b.info.loan_id
                ))
            })
        };
        self.batch.push(book::SavedPosition {
            as_of: p.as_of,
            loan_id: b.info.loan_id.clone(),
            dpd: p.dpd,
            bucket: bucket.to_string(),
            overdue_since: p.overdue_since,
            overdue_principal: fen("overdue_principal", p.overdue_principal)?,
            overdue_interest: fen("overdue_interest", p.overdue_interest)?,
            overdue_fee: fen("overdue_fee", p.overdue_fee)?,
            penalty_interest: fen("penalty_interest", p.penalty_interest)?,
            outstanding_principal: fen("outstanding_principal", p.outstanding_principal)?,
            installments_overdue: p.installments_overdue,
            last_payment_date: p.last_payment_date,
            max_dpd: p.max_dpd,
            next_action: a.action.next_action.clone(),
            sla_breached: a.action.sla_breached,
            promises_broken: a.promises.broken,
        });
        if self.batch.len() >= 4096 {
            // A closed channel means the writer failed; it reports the error.
            let _ = tx.send(std::mem::take(&mut self.batch));
        }
        Ok(())
    }
}

impl Consumer for Collect<'_> {
    fn loan(&mut self, loan: &LoanAssessment<'_>) -> Result<()> {
        let b = loan.book;
        let (req, buckets) = (self.req, &self.req.setup.buckets);
        self.seen.note(&req.filters, &b.info);
        for a in loan.dates {
            let p = &a.position;
            if !p.warnings.is_empty() {
                self.warnings += 1;
            }
            let bucket = buckets.as_slice()[a.bucket].label.as_str();
            let listed = match req.listing {
                Listing::Installments { all } => all || !p.closed,
                Listing::Loans { all } => !p.closed && (all || p.dpd > 0),
                Listing::Aging => false,
            };
            let admitted = req.filters.admit(&b.info, p, bucket);
            if listed && admitted {
                match req.listing {
                    Listing::Installments { .. } => {
                        self.installments.extend(InstallmentRow::of_position(b, p));
                    }
                    _ => self
                        .loans
                        .push(LoanRow::new(self.ctx.show_pii, b, a, bucket)),
                }
            }
            if p.closed {
                continue;
            }
            if admitted {
                self.aging[a.date].add(a);
            }
            self.book[a.date].add(a);
            self.save(b, a, bucket)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(tx) = self.saver.take() {
            if !self.batch.is_empty() {
                let _ = tx.send(std::mem::take(&mut self.batch));
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        for (a, b) in self.aging.iter_mut().zip(&later.aging) {
            a.merge(b);
        }
        for (a, b) in self.book.iter_mut().zip(&later.book) {
            a.merge(b);
        }
        self.seen.officers.extend(later.seen.officers);
        self.seen.branches.extend(later.seen.branches);
        self.seen.regions.extend(later.seen.regions);
        self.loans.extend(later.loans);
        self.installments.extend(later.installments);
        self.warnings += later.warnings;
    }
}

/// One overdue (or, with `all`, open) loan as of the date.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanRow {
    pub loan_id: String,
    /// Masked unless `--show-pii`.
    pub borrower: String,
    /// Masked unless `--show-pii`.
    pub phone: String,
    pub officer: String,
    pub branch: String,
    pub region: String,
    pub product: String,
    pub dpd: u32,
    pub bucket: String,
    pub term: &'static str,
    pub overdue_since: Option<NaiveDate>,
    pub installments_overdue: u32,
    pub overdue_principal: Decimal,
    pub overdue_interest: Decimal,
    pub penalty_interest: Decimal,
    pub outstanding_principal: Decimal,
    pub last_payment_date: Option<NaiveDate>,
    pub max_dpd: u32,
    pub next_action: Option<String>,
    pub last_contact: Option<NaiveDate>,
    pub last_contact_channel: Option<String>,
    pub sla_breached: bool,
    pub sla_reason: Option<String>,
    pub promises_broken: u32,
    pub last_broken_promise: Option<NaiveDate>,
}

impl LoanRow {
    fn new(show_pii: bool, b: &book::LoanBook, a: &Assessment, bucket: &str) -> LoanRow {
        let (p, i) = (&a.position, &b.info);
        let (borrower, phone) = if show_pii {
            (i.borrower_name.clone(), i.phone.clone())
        } else {
            (
                pii::mask_borrower_name(&i.borrower_name, &i.borrower_type),
                pii::mask_phone(&i.phone),
            )
        };
        LoanRow {
            loan_id: i.loan_id.clone(),
            borrower,
            phone,
            officer: i.officer.clone(),
            branch: i.branch.clone(),
            region: i.region.clone(),
            product: i.product.clone(),
            dpd: p.dpd,
            bucket: bucket.to_string(),
            term: term_class(p.dpd),
            overdue_since: p.overdue_since,
            installments_overdue: p.installments_overdue,
            overdue_principal: p.overdue_principal,
            overdue_interest: p.overdue_interest,
            penalty_interest: p.penalty_interest,
            outstanding_principal: p.outstanding_principal,
            last_payment_date: p.last_payment_date,
            max_dpd: p.max_dpd,
            next_action: a.action.next_action.clone(),
            last_contact: a.action.last_contact,
            last_contact_channel: a.action.last_contact_channel.clone(),
            sla_breached: a.action.sla_breached,
            sla_reason: a.action.sla_reason.clone(),
            promises_broken: a.promises.broken,
            last_broken_promise: a.promises.last_broken,
        }
    }
}

fn text(s: &Option<String>) -> Cell {
    s.clone().map_or(Cell::Null, Cell::Text)
}

impl Tabular for LoanRow {
    const COLUMNS: &'static [&'static str] = &[
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
    ];
    const TABLE_SHOWS: Option<&'static [&'static str]> = Some(&[
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
    ]);

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.loan_id.clone()),
            Cell::Text(self.borrower.clone()),
            Cell::Text(self.phone.clone()),
            Cell::Text(self.officer.clone()),
            Cell::Text(self.branch.clone()),
            Cell::Text(self.region.clone()),
            Cell::Text(self.product.clone()),
            Cell::Int(self.dpd.into()),
            Cell::Text(self.bucket.clone()),
            self.term.into(),
            self.overdue_since.into(),
            Cell::Int(self.installments_overdue.into()),
            Cell::Money(self.overdue_principal),
            Cell::Money(self.overdue_interest),
            Cell::Money(self.penalty_interest),
            Cell::Money(self.outstanding_principal),
            self.last_payment_date.into(),
            Cell::Int(self.max_dpd.into()),
            text(&self.next_action),
            self.last_contact.into(),
            text(&self.last_contact_channel),
            Cell::Bool(self.sla_breached),
            text(&self.sla_reason),
            Cell::Int(self.promises_broken.into()),
            self.last_broken_promise.into(),
        ]
    }
}

/// One installment of a listed loan, with the engine's status and days late.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallmentRow {
    pub loan_id: String,
    /// The schedule version the installment belongs to (0: the original; k: the k-th
    /// restructure in force).
    pub version: u32,
    pub installment_no: u32,
    pub due_date: NaiveDate,
    pub principal_due: Decimal,
    pub interest_due: Decimal,
    pub status: InstallmentStatus,
    pub settled_on: Option<NaiveDate>,
    /// Settled: days late when settled; overdue: days past due; not due: none.
    pub days_late: Option<u32>,
}

impl InstallmentRow {
    /// The installments of the schedule in force at the position's date (the one the engine
    /// replayed: the original, or combined with the restructures' versions).
    fn of_position(b: &book::LoanBook, p: &Position) -> Vec<InstallmentRow> {
        let k = b.versions.partition_point(|v| v.effective <= p.as_of);
        let effectives: Vec<NaiveDate> = b.versions[..k].iter().map(|v| v.effective).collect();
        let combined;
        let in_force: &[Installment] = if k == 0 {
            &b.installments
        } else {
            combined = replay::combined(&b.installments, &b.versions, k);
            &combined
        };
        p.installments
            .iter()
            .filter_map(|s| {
                let i = in_force.get(s.index)?;
                Some(InstallmentRow {
                    loan_id: b.info.loan_id.clone(),
                    version: replay::version_of(&effectives, s.due_date),
                    installment_no: s.installment_no,
                    due_date: s.due_date,
                    principal_due: i.principal_due,
                    interest_due: i.interest_due,
                    status: s.status,
                    settled_on: s.settled_on,
                    days_late: (s.status != InstallmentStatus::NotDue).then_some(s.days_late),
                })
            })
            .collect()
    }
}

impl Tabular for InstallmentRow {
    const COLUMNS: &'static [&'static str] = &[
        "loan_id",
        "version",
        "installment_no",
        "due_date",
        "principal_due",
        "interest_due",
        "status",
        "settled_on",
        "days_late",
    ];

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.loan_id.clone()),
            Cell::Int(self.version.into()),
            Cell::Int(self.installment_no.into()),
            Cell::Date(self.due_date),
            Cell::Money(self.principal_due),
            Cell::Money(self.interest_due),
            self.status.as_str().into(),
            self.settled_on.into(),
            self.days_late.map_or(Cell::Null, |d| Cell::Int(d.into())),
        ]
    }
}

/// One date and bucket of the aging table over a range of dates.
#[derive(Debug, Clone, PartialEq)]
pub struct AgingRow {
    pub as_of: NaiveDate,
    pub bucket: String,
    pub loans: u64,
    pub outstanding_principal: Decimal,
    pub overdue_principal: Decimal,
    pub overdue_interest: Decimal,
}

impl AgingRow {
    /// Every bucket of every date, zeros included.
    pub fn table(aging: &[Aging], buckets: &Buckets) -> Vec<AgingRow> {
        aging
            .iter()
            .flat_map(|a| {
                buckets
                    .as_slice()
                    .iter()
                    .zip(&a.buckets)
                    .map(|(b, t)| AgingRow {
                        as_of: a.as_of,
                        bucket: b.label.clone(),
                        loans: t.loans,
                        outstanding_principal: t.outstanding_principal,
                        overdue_principal: t.overdue_principal,
                        overdue_interest: t.overdue_interest,
                    })
            })
            .collect()
    }
}

impl Tabular for AgingRow {
    const COLUMNS: &'static [&'static str] = &[
        "as_of",
        "bucket",
        "loans",
        "outstanding_principal",
        "overdue_principal",
        "overdue_interest",
    ];

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Date(self.as_of),
            Cell::Text(self.bucket.clone()),
            Cell::Int(i64::try_from(self.loans).unwrap_or(i64::MAX)),
            Cell::Money(self.outstanding_principal),
            Cell::Money(self.overdue_principal),
            Cell::Money(self.overdue_interest),
        ]
    }
}

/// The stderr summary of one date: overdue of active loans, and the overdue buckets.
pub fn summary_line(a: &Aging, buckets: &Buckets) -> String {
    let overdue: Vec<_> = buckets
        .as_slice()
        .iter()
        .zip(&a.buckets)
        .skip(1)
        .filter(|(_, t)| t.loans > 0)
        .collect();
    let balance: Decimal = overdue.iter().map(|(_, t)| t.outstanding_principal).sum();
    let mut line = format!(
        "overdue as of {}: {} of {} active loans overdue, outstanding principal in arrears {}",
        a.as_of,
        a.overdue,
        a.active,
        money::fmt_amount(balance)
    );
    if !overdue.is_empty() {
        let parts: Vec<String> = overdue
            .iter()
            .map(|(b, t)| {
                let amount = money::fmt_amount(t.outstanding_principal);
                format!("{} {} / {amount}", b.label, t.loans)
            })
            .collect();
        line.push_str(&format!(" ({})", parts.join("; ")));
    }
    line
}
