//! The `overdue` op: one consumer of the portfolio stream ([`portfolio::scan`]) that lists the
//! overdue loans (or their installments) for one date, builds the aging table of every date,
//! and with `save` stores every open position in the ledger while the workers compute.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{sync_channel, SyncSender};

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::buckets::{term_class, Buckets};
use crate::context::Ctx;
use crate::db::{self, book};
use crate::engine::{self, Installment, InstallmentStatus, Position};
use crate::exit;
use crate::i18n::Lang;
use crate::money;
use crate::ops::portfolio::{self, Aging, Assessment, Consumer, InKeyOrder, LoanAssessment, Setup};
use crate::output::{Cell, Report, RowWriter, Tabular};
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
    /// Also total the listed (filter-admitted) open loans per officer, branch, region or product.
    pub group_by: Option<GroupBy>,
}

/// The loan field of `--group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Officer,
    Branch,
    Region,
    Product,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Officer => "officer",
            GroupBy::Branch => "branch",
            GroupBy::Region => "region",
            GroupBy::Product => "product",
        }
    }

    fn key(self, info: &book::LoanInfo) -> &str {
        match self {
            GroupBy::Officer => &info.officer,
            GroupBy::Branch => &info.branch,
            GroupBy::Region => &info.region,
            GroupBy::Product => &info.product,
        }
    }
}

/// The open loans of one group on one date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupTotals {
    pub active: u64,
    pub overdue: u64,
    pub outstanding_principal: Decimal,
    /// Outstanding principal of the overdue loans (逾期贷款余额).
    pub overdue_balance: Decimal,
    pub overdue_principal: Decimal,
    pub overdue_interest: Decimal,
}

impl GroupTotals {
    fn add(&mut self, p: &Position) {
        self.active += 1;
        self.outstanding_principal += p.outstanding_principal;
        if p.dpd > 0 {
            self.overdue += 1;
            self.overdue_balance += p.outstanding_principal;
            self.overdue_principal += p.overdue_principal;
            self.overdue_interest += p.overdue_interest;
        }
    }

    fn merge(&mut self, o: &GroupTotals) {
        self.active += o.active;
        self.overdue += o.overdue;
        self.outstanding_principal += o.outstanding_principal;
        self.overdue_balance += o.overdue_balance;
        self.overdue_principal += o.overdue_principal;
        self.overdue_interest += o.overdue_interest;
    }
}

/// The `--group-by` table: one row per date and group (groups in key order), with the
/// overdue ratio (逾期率: balance of overdue loans over outstanding principal, empty when the
/// group has none outstanding). The group column is named after the field (`officer`, …).
pub fn group_report(
    by: GroupBy,
    dates: &[NaiveDate],
    groups: &BTreeMap<String, Vec<GroupTotals>>,
) -> Report {
    let mut r = Report::new(&[
        "as_of",
        by.as_str(),
        "loans",
        "overdue_loans",
        "outstanding_principal",
        "overdue_balance",
        "overdue_principal",
        "overdue_interest",
        "overdue_ratio",
    ]);
    let rows = dates.iter().enumerate().flat_map(|(k, d)| {
        groups
            .iter()
            .filter(move |(_, t)| t[k].active > 0)
            .map(move |(g, t)| (*d, g, &t[k]))
    });
    for (as_of, group, t) in rows {
        r.push(vec![
            Cell::Date(as_of),
            Cell::Text(group.clone()),
            Cell::Int(i64::try_from(t.active).unwrap_or(i64::MAX)),
            Cell::Int(i64::try_from(t.overdue).unwrap_or(i64::MAX)),
            Cell::Money(t.outstanding_principal),
            Cell::Money(t.overdue_balance),
            Cell::Money(t.overdue_principal),
            Cell::Money(t.overdue_interest),
            Cell::from(
                (!t.outstanding_principal.is_zero())
                    .then(|| (t.overdue_balance / t.outstanding_principal).round_dp(6)),
            ),
        ]);
    }
    if dates.len() == 1 {
        // One date: the column says nothing a table reader needs; CSV keeps it (the contract).
        let shown: Vec<String> = r.columns.iter().skip(1).cloned().collect();
        let names: Vec<&str> = shown.iter().map(|c| c.as_str()).collect();
        r = r.table_shows(&names);
    }
    r.with_totals(&[
        "loans",
        "overdue_loans",
        "outstanding_principal",
        "overdue_balance",
        "overdue_principal",
        "overdue_interest",
    ])
    .with_total_ratio("overdue_ratio", "overdue_balance", "outstanding_principal")
}

/// What the op found (`Default`: nothing, the shape of the output before the scan).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// By DPD, then the amount in arrears, both descending; then loan_id.
    pub loans: Vec<LoanRow>,
    /// By loan, then schedule order (none when [`run_listed`] handed them over).
    pub installments: Installments,
    /// One per date of the setup, of the loans the filters admit (what is listed).
    pub aging: Vec<Aging>,
    /// One per date of the setup, of the whole book (what `save` stores).
    pub book: Vec<Aging>,
    /// The officers, branches and regions of the book, when a filter on them is given
    /// (for "did you mean").
    pub seen: Seen,
    /// Positions that carry data warnings (listed with `-v`).
    pub warnings: u64,
    /// With `group_by`: per group value, one per date of the setup.
    pub groups: BTreeMap<String, Vec<GroupTotals>>,
    /// The latest repayment date of the book (reversals included).
    pub latest_payment: Option<NaiveDate>,
    /// The latest follow-up date of the book.
    pub latest_contact: Option<NaiveDate>,
}

impl Outcome {
    /// "as-of D is N days after the latest repayment in the ledger (D')": when the date is more
    /// than a week past every repayment and follow-up, a run on a tape that ended long before
    /// (the default "today" on an old export) reports everything due since as overdue.
    pub fn stale_as_of_hint(&self, as_of: NaiveDate) -> Option<String> {
        let (latest, what) = match (self.latest_payment, self.latest_contact) {
            (Some(p), Some(c)) if c > p => (c, "follow-up"),
            (Some(p), _) => (p, "repayment"),
            (None, Some(c)) => (c, "follow-up"),
            (None, None) => return None,
        };
        let gap = (as_of - latest).num_days();
        (gap > STALE_AFTER_DAYS).then(|| {
            format!(
                "as-of {as_of} is {gap} days after the latest {what} in the ledger ({latest}); \
                 loans look overdue for payments the tape does not hold yet (--as-of latest uses {latest})"
            )
        })
    }
}

/// Days between the latest fact and the as-of date beyond which [`Outcome::stale_as_of_hint`]
/// speaks: a daily T-1 run is within it, a monthly tape run at month end is too.
pub const STALE_AFTER_DAYS: i64 = 7;

/// Runs the op: scans the book, and with `save` writes the positions in one transaction.
pub fn run(ctx: &Ctx, req: &Request) -> Result<Outcome> {
    let Some(save) = &req.save else {
        let all = portfolio::scan(ctx, &req.setup, |_| Collect::new(ctx, req, None))?;
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
            portfolio::scan(ctx, &req.setup, |_| {
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

/// [`run`], handing the `--installments` rows to `each` in key order as the scan makes them
/// (a chunk at a time, a key range's rows once the ranges before it are done), rather than
/// keeping them in the outcome: every installment of the book is not held at once. With
/// `save`, the rows are handed over after the scan.
pub fn run_listed(
    ctx: &Ctx,
    req: &Request,
    each: &mut dyn FnMut(&Installments) -> Result<()>,
) -> Result<Outcome> {
    if req.save.is_some() {
        let mut out = run(ctx, req)?;
        each(&std::mem::take(&mut out.installments))?;
        return Ok(out);
    }
    let (sender, receiver) = sync_channel::<Chunk>(8);
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            portfolio::scan(ctx, &req.setup, |i| Collect {
                lister: Some((i, sender.clone())),
                ..Collect::new(ctx, req, None)
            })
        });
        let mut order = InKeyOrder::default();
        let mut failed = None;
        for c in receiver {
            if failed.is_none() {
                // Keep draining after a failure so the workers can finish.
                failed = order.take(c.part, c.rows, c.last, &mut |r| each(&r)).err();
            }
        }
        let all = worker
            .join()
            .map_err(|_| anyhow!("the overdue scan panicked"))??;
        match failed {
            Some(e) => Err(e),
            None => Ok(all.into_outcome()),
        }
    })
}

/// Rows of a listing handed over from about this many at a time.
const CHUNK_ROWS: usize = 16_384;

/// Rows of one key range, from a consumer to [`run_listed`]'s receiver.
struct Chunk {
    part: usize,
    rows: Installments,
    /// The range's last.
    last: bool,
}

/// The consumer of one key range of the scan.
struct Collect<'a> {
    ctx: &'a Ctx,
    req: &'a Request,
    aging: Vec<Aging>,
    book: Vec<Aging>,
    seen: Seen,
    loans: Vec<LoanRow>,
    installments: Installments,
    /// With [`run_listed`]: this consumer's key range and where its rows go, a chunk at a time.
    lister: Option<(usize, SyncSender<Chunk>)>,
    warnings: u64,
    groups: BTreeMap<String, Vec<GroupTotals>>,
    latest_payment: Option<NaiveDate>,
    latest_contact: Option<NaiveDate>,
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
            installments: Installments::default(),
            lister: None,
            warnings: 0,
            groups: BTreeMap::new(),
            latest_payment: None,
            latest_contact: None,
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
            groups: self.groups,
            latest_payment: self.latest_payment,
            latest_contact: self.latest_contact,
        }
    }

    /// With a lister, sends the rows made so far (`last`: and the range is done, the lister let
    /// go of so the receiving loop can end).
    fn hand_over(&mut self, last: bool) {
        let Some((part, tx)) = &self.lister else {
            return;
        };
        let rows = std::mem::take(&mut self.installments);
        // A closed channel means the receiver stopped; it reports why.
        let _ = tx.send(Chunk {
            part: *part,
            rows,
            last,
        });
        if last {
            self.lister = None;
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
    /// Installment statuses only for the `--installments` listing.
    fn detail(&self) -> engine::Detail {
        match self.req.listing {
            Listing::Installments { .. } => engine::Detail::Installments,
            _ => engine::Detail::Figures,
        }
    }

    fn loan(&mut self, loan: &LoanAssessment<'_>) -> Result<()> {
        let b = loan.book;
        let (req, buckets) = (self.req, &self.req.setup.buckets);
        self.seen.note(&req.filters, &b.info);
        let paid = b.payments.iter().map(|p| p.paid_on).max();
        self.latest_payment = self.latest_payment.max(paid);
        let contact = b.followups.iter().map(|f| f.contact_date).max();
        self.latest_contact = self.latest_contact.max(contact);
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
                        self.installments.push_position(b, p);
                        if self.installments.rows.len() >= CHUNK_ROWS {
                            self.hand_over(false);
                        }
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
                if let Some(by) = req.group_by {
                    let key = by.key(&b.info);
                    // Looked up by &str: no allocation per loan once the group exists.
                    if !self.groups.contains_key(key) {
                        let n = req.setup.dates.len();
                        self.groups
                            .insert(key.to_string(), vec![GroupTotals::default(); n]);
                    }
                    if let Some(t) = self.groups.get_mut(key) {
                        t[a.date].add(p);
                    }
                }
            }
            self.book[a.date].add(a);
            self.save(b, a, bucket)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.hand_over(true);
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
        self.installments.append(later.installments);
        self.warnings += later.warnings;
        for (k, t) in later.groups {
            match self.groups.get_mut(&k) {
                Some(mine) => mine.iter_mut().zip(&t).for_each(|(a, b)| a.merge(b)),
                None => {
                    self.groups.insert(k, t);
                }
            }
        }
        self.latest_payment = self.latest_payment.max(later.latest_payment);
        self.latest_contact = self.latest_contact.max(later.latest_contact);
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
    /// Overdue principal plus overdue interest (逾期本息合计).
    pub overdue_total: Decimal,
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
            overdue_total: p.overdue_principal + p.overdue_interest,
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
        "overdue_total",
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
        "overdue_principal",
        "overdue_interest",
        "overdue_total",
        "penalty_interest",
        "outstanding_principal",
        "next_action",
        "last_contact",
        "sla_breached",
        "promises_broken",
    ]);
    const TOTALS: &'static [&'static str] = &[
        "overdue_principal",
        "overdue_interest",
        "overdue_total",
        "penalty_interest",
        "outstanding_principal",
    ];

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
            Cell::Money(self.overdue_total),
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

/// The columns of the `--installments` listing ([`Installments`]).
pub const INSTALLMENT_COLUMNS: &[&str] = &[
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

/// One installment of a listed loan, with the engine's status and days late; its loan_id is
/// the `loan`-th of its [`Installments`]' ids.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallmentRow {
    pub loan: u32,
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

/// Rows of the `--installments` listing, by loan then schedule order: the loan_ids in one
/// buffer, not a String a row (every installment of the book is millions of rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Installments {
    ids: String,
    /// Where each loan's id ends in `ids`.
    ends: Vec<usize>,
    pub rows: Vec<InstallmentRow>,
}

impl Installments {
    /// Adds the installments of the schedule in force at the position's date (the one the
    /// engine replayed: the original, or combined with the restructures' versions).
    fn push_position(&mut self, b: &book::LoanBook, p: &Position) {
        let k = b.versions.partition_point(|v| v.effective <= p.as_of);
        let combined;
        let in_force: &[Installment] = if k == 0 {
            &b.installments
        } else {
            combined = replay::combined(&b.installments, &b.versions, k);
            &combined
        };
        let loan = self.push_id(&b.info.loan_id);
        self.rows.extend(p.installments.iter().filter_map(|s| {
            let i = in_force.get(s.index)?;
            Some(InstallmentRow {
                loan,
                version: s.version,
                installment_no: s.installment_no,
                due_date: s.due_date,
                principal_due: i.principal_due,
                interest_due: i.interest_due,
                status: s.status,
                settled_on: s.settled_on,
                days_late: (s.status != InstallmentStatus::NotDue).then_some(s.days_late),
            })
        }));
    }

    /// Adds a loan_id; its index for the loan's rows.
    fn push_id(&mut self, loan_id: &str) -> u32 {
        self.ids.push_str(loan_id);
        self.ends.push(self.ids.len());
        u32::try_from(self.ends.len() - 1).unwrap_or(u32::MAX)
    }

    /// The loan_id of the `k`-th loan.
    pub fn id(&self, k: u32) -> &str {
        let k = k as usize;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.ids[start..self.ends[k]]
    }

    /// Appends the rows of `later` (the next key range's) after these.
    fn append(&mut self, later: Installments) {
        let offset = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        let base = self.ids.len();
        self.ids.push_str(&later.ids);
        self.ends.extend(later.ends.iter().map(|e| e + base));
        self.rows
            .extend(later.rows.into_iter().map(|r| InstallmentRow {
                loan: r.loan + offset,
                ..r
            }));
    }

    /// The cells of row `i` ([`INSTALLMENT_COLUMNS`]), written over `row` (reused from row to
    /// row: its text cells keep their Strings).
    pub fn cells(&self, i: usize, row: &mut Vec<Cell>) {
        let r = &self.rows[i];
        row.resize(INSTALLMENT_COLUMNS.len(), Cell::Null);
        row[0].set_text(self.id(r.loan));
        row[1] = Cell::Int(r.version.into());
        row[2] = Cell::Int(r.installment_no.into());
        row[3] = Cell::Date(r.due_date);
        row[4] = Cell::Money(r.principal_due);
        row[5] = Cell::Money(r.interest_due);
        row[6].set_text(r.status.as_str());
        row[7] = r.settled_on.into();
        row[8] = r.days_late.map_or(Cell::Null, |d| Cell::Int(d.into()));
    }

    /// Writes the rows, one at a time.
    pub fn write(&self, out: &mut RowWriter<'_>) -> Result<()> {
        let mut row = Vec::new();
        for i in 0..self.rows.len() {
            self.cells(i, &mut row);
            out.row(&row)?;
        }
        Ok(())
    }

    /// The report of all the rows (a human table is made whole).
    pub fn report(&self) -> Report {
        let mut r = Report::new(INSTALLMENT_COLUMNS);
        for i in 0..self.rows.len() {
            let mut row = Vec::new();
            self.cells(i, &mut row);
            r.push(row);
        }
        r
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

/// The stderr summary of one date, of what was listed: overdue of active loans, the balance of
/// the overdue loans (逾期贷款余额, their whole outstanding principal) beside the principal
/// actually overdue, and the overdue buckets.
pub fn summary_line(a: &Aging, buckets: &Buckets, lang: Lang) -> String {
    let overdue: Vec<_> = buckets
        .as_slice()
        .iter()
        .zip(&a.buckets)
        .skip(1)
        .filter(|(_, t)| t.loans > 0)
        .collect();
    let balance: Decimal = overdue.iter().map(|(_, t)| t.outstanding_principal).sum();
    let principal: Decimal = overdue.iter().map(|(_, t)| t.overdue_principal).sum();
    let (balance, principal) = (money::fmt_amount(balance), money::fmt_amount(principal));
    let mut line = match lang {
        Lang::En => format!(
            "overdue as of {}: {} of {} active loans overdue; balance of overdue loans (逾期贷款余额) {balance}, overdue principal {principal}",
            a.as_of, a.overdue, a.active
        ),
        Lang::Zh => format!(
            "截至 {}：在贷 {} 笔，逾期 {} 笔；逾期贷款余额 {balance}，逾期本金 {principal}",
            a.as_of, a.active, a.overdue
        ),
    };
    if !overdue.is_empty() {
        let parts: Vec<String> = overdue
            .iter()
            .map(|(b, t)| {
                let amount = money::fmt_amount(t.outstanding_principal);
                match lang {
                    Lang::En => format!("{} {} / {amount}", b.label, t.loans),
                    Lang::Zh => format!("{} {} 笔 / {amount}", b.label, t.loans),
                }
            })
            .collect();
        match lang {
            Lang::En => line.push_str(&format!(" ({})", parts.join("; "))),
            Lang::Zh => line.push_str(&format!("（{}）", parts.join("；"))),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    fn aging() -> (Aging, Buckets) {
        let buckets = Buckets::default_days();
        let mut a = Aging {
            as_of: d("2026-06-30"),
            active: 36,
            overdue: 2,
            buckets: vec![portfolio::BucketTotals::default(); buckets.as_slice().len()],
        };
        a.buckets[1] = portfolio::BucketTotals {
            loans: 2,
            outstanding_principal: m("200000.00"),
            overdue_principal: m("1500.50"),
            overdue_interest: m("300.00"),
        };
        (a, buckets)
    }

    #[test]
    fn summary_names_the_balance_of_overdue_loans_beside_overdue_principal() {
        let (a, b) = aging();
        assert_eq!(
            summary_line(&a, &b, Lang::En),
            "overdue as of 2026-06-30: 2 of 36 active loans overdue; balance of overdue loans \
             (逾期贷款余额) 200000.00, overdue principal 1500.50 (1-30 2 / 200000.00)"
        );
        assert_eq!(
            summary_line(&a, &b, Lang::Zh),
            "截至 2026-06-30：在贷 36 笔，逾期 2 笔；逾期贷款余额 200000.00，逾期本金 1500.50（1-30 2 笔 / 200000.00）"
        );
    }

    fn outcome(pay: Option<&str>, contact: Option<&str>) -> Outcome {
        Outcome {
            loans: vec![],
            installments: Installments::default(),
            aging: vec![],
            book: vec![],
            seen: Seen::default(),
            warnings: 0,
            groups: BTreeMap::new(),
            latest_payment: pay.map(d),
            latest_contact: contact.map(d),
        }
    }

    #[test]
    fn stale_as_of_hint_speaks_only_a_week_past_the_latest_fact() {
        let o = outcome(Some("2026-06-30"), Some("2026-06-20"));
        assert_eq!(o.stale_as_of_hint(d("2026-07-07")), None);
        let hint = o.stale_as_of_hint(d("2026-07-08")).unwrap();
        assert!(
            hint.starts_with(
                "as-of 2026-07-08 is 8 days after the latest repayment in the ledger (2026-06-30)"
            ),
            "{hint}"
        );
        let later_contact = outcome(Some("2026-06-01"), Some("2026-06-30"));
        assert!(later_contact
            .stale_as_of_hint(d("2026-12-01"))
            .unwrap()
            .contains("154 days after the latest follow-up"));
        assert_eq!(outcome(None, None).stale_as_of_hint(d("2026-12-01")), None);
        // A date before the latest fact (a historic run) says nothing.
        assert_eq!(o.stale_as_of_hint(d("2026-01-31")), None);
    }

    fn row(loan: u32, no: u32) -> InstallmentRow {
        InstallmentRow {
            loan,
            version: 0,
            installment_no: no,
            due_date: d("2026-01-15"),
            principal_due: m("100.00"),
            interest_due: m("1.50"),
            status: InstallmentStatus::Settled,
            settled_on: Some(d("2026-01-20")),
            days_late: Some(5),
        }
    }

    #[test]
    fn installments_appended_keep_each_row_with_its_loan_id() {
        let mut a = Installments::default();
        let k = a.push_id("L1");
        a.rows.extend([row(k, 1), row(k, 2)]);
        let mut b = Installments::default();
        for id in ["L2", "L30"] {
            let k = b.push_id(id);
            b.rows.push(row(k, 1));
        }
        a.append(b);
        let ids: Vec<&str> = a.rows.iter().map(|r| a.id(r.loan)).collect();
        assert_eq!(ids, ["L1", "L1", "L2", "L30"]);
        let mut cells = vec![Cell::Text("something longer".into())];
        a.cells(3, &mut cells);
        assert_eq!(
            cells,
            [
                Cell::Text("L30".into()),
                Cell::Int(0),
                Cell::Int(1),
                Cell::Date(d("2026-01-15")),
                Cell::Money(m("100.00")),
                Cell::Money(m("1.50")),
                Cell::Text("settled".into()),
                Cell::Date(d("2026-01-20")),
                Cell::Int(5),
            ]
        );
        let r = a.report();
        assert_eq!(r.columns, INSTALLMENT_COLUMNS);
        assert_eq!(r.rows.len(), 4);
        assert_eq!(r.rows[3], cells);
    }

    #[test]
    fn group_report_totals_and_ratio_per_group() {
        let mut groups = BTreeMap::new();
        let mut a = vec![GroupTotals::default()];
        a[0].active = 4;
        a[0].overdue = 1;
        a[0].outstanding_principal = m("400.00");
        a[0].overdue_balance = m("100.00");
        groups.insert("王".to_string(), a);
        let empty = vec![GroupTotals::default()];
        groups.insert("李".to_string(), empty);
        let r = group_report(GroupBy::Officer, &[d("2026-06-30")], &groups);
        assert_eq!(r.columns[1], "officer");
        // Groups without an open loan on the date are left out.
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0][8], Cell::Ratio(m("0.25")));
        assert!(r.totals.is_some());
    }
}
