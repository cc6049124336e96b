//! The `classify` op: the grade (五级分类), IFRS 9 stage, collection segment and reference
//! provision of every active loan as of one date, or of every date of a range in one pass.
//!
//! One consumer of the portfolio stream ([`portfolio::scan`]: the same positions as `overdue`),
//! in the two steps the rules need:
//!
//! 1. **per loan**: each worker grades every open position on its own loan's facts
//!    ([`eval::assess`], [`stage::stage`], the loan's follow-up summary); the rows stream back
//!    over a bounded channel and are written here, in this connection's transaction, to the
//!    work table (`grades` with `save`, a TEMP table otherwise). For each borrower whose loans
//!    must be looked at together (corporate: contagion; more than one loan: one segment) one
//!    small aggregate per date is kept: loans, principal, principal graded NPL, the summed
//!    follow-up summary;
//! 2. **per borrower** (those borrowers only, date by date): the contagion floor
//!    ([`eval::contagion_of_sums`]) and the borrower's one segment, reading and rewriting only
//!    their rows. A stage 3 that contagion sets is remembered on the run's later dates
//!    ([`stage::remembered`]), as a saved one is by the next run (`grades.stage3_last`).
//!
//! Memory holds one loan at a time per worker, the aggregates of the grouped borrowers, the
//! stage-3 days of the previous saved date still in their probation and, for the totals, a
//! byte per loan and date (its grade; `Counts`); never the whole book. The totals are
//! counted as the rows stream past and corrected by step 2's rewrites: the work table is not
//! read back. A single date's listing is the one exception: its rows are the output, so the
//! writer keeps them as they stream past (with the loan's descriptive fields, which the
//! workers take from the book) and step 2 rewrites them beside the table: no read-back, no
//! join, no SQL sort.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{sync_channel, SyncSender};

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::classify::eval::{self, contagion_of_sums};
use crate::classify::rules::RuleSet;
use crate::classify::segment::{self, Segment};
use crate::classify::stage::{self, Staging};
use crate::classify::{
    BorrowerType, Floor, FollowupSummary, Grade, InstallmentRecord, LoanFacts, Override,
    Restructure,
};
use crate::cli::GradeLabels;
use crate::context::Ctx;
use crate::db::grades::{self, GradeRow, Ranks, Target, Totals};
use crate::db::{self, book};
use crate::engine::{self, Position};
use crate::money::{self, round_fen};
use crate::ops::portfolio::{self, Consumer, LoanAssessment, Setup};
use crate::output::{Cell, Report, Tabular};
use crate::pii;
use crate::profile;

/// Filters of the listing.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub officer: Option<String>,
    pub branch: Option<String>,
    pub region: Option<String>,
    pub grade: Option<Grade>,
    pub stage: Option<u8>,
    pub changed: bool,
}

impl Filter {
    /// Whether a loan's officer, branch and region are the ones asked for.
    fn places(&self, about: &About) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.officer, &about.officer)
            && is(&self.branch, &about.branch)
            && is(&self.region, &about.region)
    }
}

/// Store the grades (a rerun for a date replaces it).
#[derive(Debug, Clone)]
pub struct Save {
    /// Compute and store, then roll back.
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub setup: Setup,
    pub rules: RuleSet,
    pub staging: Staging,
    /// List the loans of the first date with these filters; None: the totals of each date only.
    pub listing: Option<Filter>,
    pub labels: GradeLabels,
    pub save: Option<Save>,
}

impl Request {
    /// What a saved run records of how it was computed: the engine's conventions and the rule
    /// sets (`grade_runs.conventions`).
    pub fn conventions_json(&self) -> String {
        let engine: serde_json::Value =
            serde_json::from_str(&self.setup.conventions_json()).unwrap_or_default();
        serde_json::json!({
            "engine": engine,
            "rules": self.rules.name,
            "staging": self.staging.name,
        })
        .to_string()
    }
}

/// What the op found (`Default`: nothing, the shape of the output before the scan).
#[derive(Default)]
pub struct Outcome {
    /// The listing of the first date (empty for a range), worst grade first.
    pub rows: Vec<Row>,
    /// One per date.
    pub totals: Vec<Totals>,
    /// Per date, the date it is compared with (the previous saved one, or the range's previous).
    pub previous: Vec<Option<NaiveDate>>,
    /// Loan grades raised by borrower contagion.
    pub contagious: u64,
}

/// The facts classification reads besides the book (small: loaded once).
struct Facts {
    restructures: HashMap<String, Vec<Restructure>>,
    overrides: HashMap<String, Vec<Override>>,
    events: grades::Events,
    /// The borrowers with more than one loan.
    multi_loan: HashSet<String>,
    /// The stage-3 days the previous saved date remembers, still within their probation.
    stage3: HashMap<String, NaiveDate>,
}

/// Per borrower and date: what the borrower-level step needs.
#[derive(Default)]
struct BorrowerAgg {
    corporate: bool,
    loans: u32,
    total: Decimal,
    /// Of `total`, the principal graded the contagion's `counts_from` or worse.
    bad: Decimal,
    summary: FollowupSummary,
    overdue: bool,
    /// The segments the loans have on their own (a bit per [`Segment`]): when it is the
    /// borrower's one segment alone, its rows need no update.
    segments: u8,
}

/// The bit of a segment in [`BorrowerAgg::segments`] (an unknown name: a bit of its own).
fn segment_bit(name: &str) -> u8 {
    [
        Segment::Unknown,
        Segment::WillingAble,
        Segment::WillingUnable,
        Segment::Unwilling,
    ]
    .iter()
    .position(|s| s.as_str() == name)
    .map_or(0x80, |i| 1 << i)
}

/// A graded loan on the date with this index, and its follow-up summary.
pub type Graded = (usize, GradeRow, FollowupSummary);

/// Step 2's aggregates of the grouped borrowers, by borrower: one a date, and the loans.
///
/// Hashed with foldhash, not std's SipHash: the writer thread looks a borrower up for every
/// grouped row it writes (a few hundred thousand a date at a million loans), serially beside
/// the workers, and the keys are the ledger's own borrower_ids (no untrusted input to defend
/// against collisions from). The aggregates and the loan_ids live in a few shared buffers, not
/// an allocation a loan (the writer makes them, and frees them after the scan).
pub struct Borrowers {
    /// Each grouped borrower's index (its aggregates at `index * dates`, its loans).
    index: foldhash::HashMap<String, usize>,
    dates: usize,
    /// By borrower and date index: None on a date the borrower has no graded loan.
    aggs: Vec<Option<BorrowerAgg>>,
    /// By borrower: its graded loans (indexes into `ids`; in loan order after
    /// [`Borrowers::loans_in_order`]).
    loans: Vec<Vec<u32>>,
    ids: String,
    ends: Vec<usize>,
}

impl Borrowers {
    /// No borrowers yet, for a run of `dates` dates.
    pub fn new(dates: usize) -> Borrowers {
        Borrowers {
            index: foldhash::HashMap::default(),
            dates,
            aggs: Vec::new(),
            loans: Vec::new(),
            ids: String::new(),
            ends: Vec::new(),
        }
    }

    /// One graded loan of a grouped borrower on the date with index `k` (a loan's dates arrive
    /// together).
    pub fn add(&mut self, rules: &RuleSet, k: usize, row: &GradeRow, summary: &FollowupSummary) {
        let b = match self.index.get(row.borrower_id.as_str()) {
            Some(&b) => b,
            None => {
                let b = self.loans.len();
                self.index.insert(row.borrower_id.clone(), b);
                self.loans.push(Vec::new());
                self.aggs.resize_with(self.aggs.len() + self.dates, || None);
                b
            }
        };
        let last = self.loans[b].last().map(|&i| self.id(i as usize));
        if last != Some(row.loan_id.as_str()) {
            self.ids.push_str(&row.loan_id);
            self.ends.push(self.ids.len());
            let i = u32::try_from(self.ends.len() - 1).expect("fewer than 2^32 grouped loans");
            self.loans[b].push(i);
        }
        let a = self.aggs[b * self.dates + k].get_or_insert_with(BorrowerAgg::default);
        a.corporate = row.borrower_type == "corporate";
        a.loans += 1;
        a.total += row.outstanding_principal;
        if rules
            .contagion
            .as_ref()
            .is_some_and(|r| row.grade >= r.counts_from)
        {
            a.bad += row.outstanding_principal;
        }
        a.summary.add(summary);
        a.overdue |= row.dpd > 0;
        a.segments |= segment_bit(&row.segment);
    }

    /// The loan_id of a noted loan.
    fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.ids[start..self.ends[i]]
    }

    /// How many (borrower, date) aggregates there are.
    pub fn borrower_dates(&self) -> usize {
        self.aggs.iter().flatten().count()
    }

    /// Puts each borrower's loans in loan order, once (the key ranges interleave).
    fn loans_in_order(&mut self) {
        let mut loans = std::mem::take(&mut self.loans);
        for l in &mut loans {
            l.sort_unstable_by(|&x, &y| self.id(x as usize).cmp(self.id(y as usize)));
            l.dedup_by(|x, y| self.id(*x as usize) == self.id(*y as usize));
        }
        self.loans = loans;
    }
}

/// Where step 2 reads and rewrites the rows of a borrower on a date (index into the dates).
/// (`loans`: the borrower's graded loans, in loan order.)
pub trait BorrowerRows {
    fn rows(&mut self, k: usize, borrower: &str, loans: &[&str]) -> Result<Vec<GradeRow>>;
    /// Rewrites a row (`before`: as it was read).
    fn update(&mut self, k: usize, before: &GradeRow, row: &GradeRow) -> Result<()>;
    fn set_segment(
        &mut self,
        k: usize,
        borrower: &str,
        loans: &[&str],
        segment: &str,
    ) -> Result<()>;
}

/// The rows in the work table (`grades` or the TEMP one), found by their key (as_of, loan_id):
/// the work table has no index by borrower (at a million loans and twelve dates keeping one up
/// cost more than the rest of the writes), so step 1 notes the loans of each grouped borrower
/// ([`Borrowers`]).
struct SqlRows<'c> {
    c: &'c rusqlite::Connection,
    target: Target,
    dates: &'c [NaiveDate],
    /// The kept rows of the first date (the listing): rewritten with the table.
    kept: &'c mut Parts<Vec<Kept>>,
    /// The run's totals: corrected with the table.
    counts: &'c mut Counts,
}

impl SqlRows<'_> {
    fn kept(&mut self, k: usize, loan_id: &str) -> Option<&mut Kept> {
        if k != 0 {
            return None;
        }
        self.kept.get_mut(loan_id)
    }
}

impl BorrowerRows for SqlRows<'_> {
    fn rows(&mut self, k: usize, _borrower: &str, loans: &[&str]) -> Result<Vec<GradeRow>> {
        grades::borrower_rows(self.c, self.target, self.dates[k], loans)
    }
    fn update(&mut self, k: usize, before: &GradeRow, row: &GradeRow) -> Result<()> {
        self.counts.regrade(k, before, row);
        if let Some(e) = self.kept(k, &row.loan_id) {
            e.row = row.clone();
        }
        grades::update(self.c, self.target, row)
    }
    fn set_segment(
        &mut self,
        k: usize,
        _borrower: &str,
        loans: &[&str],
        segment: &str,
    ) -> Result<()> {
        grades::set_segment(self.c, self.target, self.dates[k], loans, segment)?;
        if k == 0 {
            for id in loans {
                if let Some(e) = self.kept.get_mut(id) {
                    if e.row.segment != segment {
                        e.row.segment = segment.to_string();
                    }
                }
            }
        }
        Ok(())
    }
}

/// The rows of the grouped borrowers held in memory, by (borrower, date index).
#[derive(Default)]
pub struct MemoryRows(pub HashMap<(String, usize), Vec<GradeRow>>);

impl BorrowerRows for MemoryRows {
    fn rows(&mut self, k: usize, borrower: &str, _loans: &[&str]) -> Result<Vec<GradeRow>> {
        Ok(self
            .0
            .get(&(borrower.to_string(), k))
            .cloned()
            .unwrap_or_default())
    }
    fn update(&mut self, k: usize, _before: &GradeRow, row: &GradeRow) -> Result<()> {
        if let Some(rows) = self.0.get_mut(&(row.borrower_id.clone(), k)) {
            for r in rows.iter_mut().filter(|r| r.loan_id == row.loan_id) {
                *r = row.clone();
            }
        }
        Ok(())
    }
    fn set_segment(
        &mut self,
        k: usize,
        borrower: &str,
        _loans: &[&str],
        segment: &str,
    ) -> Result<()> {
        if let Some(rows) = self.0.get_mut(&(borrower.to_string(), k)) {
            for r in rows.iter_mut() {
                r.segment = segment.to_string();
            }
        }
        Ok(())
    }
}

/// Runs the op: grades the book into the work table, applies the borrower-level rules, reads
/// back the listing and the totals, and with `save` commits (or rolls back a dry run).
pub fn run(ctx: &Ctx, req: &Request) -> Result<Outcome> {
    let dates = &req.setup.dates;
    let save = req.save.is_some();
    let mode = if save {
        db::Mode::Write
    } else {
        db::Mode::Read
    };
    let conn = db::open(&ctx.db, mode, ctx.busy_timeout)?;
    let target = if save { Target::Saved } else { Target::Temp };
    let tx = if save {
        db::begin_shared(&conn)?
    } else {
        grades::create_temp(&conn)?;
        // Only the TEMP table is written; one transaction instead of one per row.
        rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Deferred)?
    };
    let c: &rusqlite::Connection = &conn;
    let t_load = std::time::Instant::now();
    // Which borrowers have more than one loan is the one fact read from the whole book (an
    // index of a million entries at 1M loans, ~0.4 s): read on a connection of its own while
    // this one reads the other facts and clears the dates.
    let (grading, t_clear) = std::thread::scope(|scope| -> Result<_> {
        let multi = scope.spawn(|| -> Result<HashSet<String>> {
            let rc = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
            grades::multi_loan_borrowers(&rc)
        });
        let mut grading = Grading::load_with(c, req, HashSet::new())?;
        let t_clear = std::time::Instant::now();
        if save {
            for d in dates {
                grades::clear(c, *d)?;
            }
        }
        grading.facts.multi_loan = multi
            .join()
            .map_err(|_| anyhow!("reading the borrowers with several loans panicked"))??;
        Ok((grading, t_clear))
    })?;
    let before_first = grading.previous;
    // The first date is compared with the previous saved run (grade moves, stage-3 memory):
    // say so once when that run counted another way.
    if let (Some(d), Some(conventions)) = (before_first, &grading.previous_conventions) {
        let run = [(d, conventions.clone())];
        profile::note_other_conventions(ctx, "classify", "grades", &run, &req.conventions_json());
    }
    ctx.debug(&format!(
        "classify: facts loaded {:.1} s, earlier rows of the dates cleared (beside the borrowers' loan counts) {:.1} s",
        (t_clear - t_load).as_secs_f64(),
        t_clear.elapsed().as_secs_f64()
    ));

    // Step 1: the workers grade, this thread writes.
    let t0 = std::time::Instant::now();
    let (sender, receiver) = sync_channel::<(usize, Vec<Streamed>)>(8);
    let mut aggs = Borrowers::new(dates.len());
    // The first date's rows, kept for the listing: one part per key range.
    let mut kept = Parts::<Vec<Kept>>::default();
    let mut counts = Counts::new(dates.len());
    let mut before_ranks = None;
    std::thread::scope(|scope| -> Result<()> {
        // The grades of the saved date before the first (what the moves and the listing's
        // previous grade compare with), read beside the scan on a connection of its own: this
        // run rewrites only its own dates, all later.
        let reader = before_first.map(|p| {
            scope.spawn(move || -> Result<Ranks> {
                let rc = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
                grades::ranks(&rc, p)
            })
        });
        let grading = &grading;
        let worker = scope.spawn(move || {
            portfolio::scan(ctx, &req.setup, |part| Grader {
                part,
                grading,
                describe: req.listing.as_ref().map(|f| (f, ctx.show_pii)),
                out: Some(sender.clone()),
                graded: Vec::new(),
                batch: Vec::new(),
            })
        });
        let mut ins = grades::inserter(c, target)?;
        let mut write_error = None;
        for (part, batch) in receiver {
            if write_error.is_some() {
                continue; // keep draining so the workers can finish
            }
            if let Err(e) = grades::insert_batch(&mut ins, batch.iter().map(|s| &s.graded.1)) {
                write_error = Some(e);
                continue;
            }
            for Streamed {
                graded: (k, row, summary),
                grouped,
                about,
            } in batch
            {
                if grouped {
                    aggs.add(&req.rules, k, &row, &summary);
                }
                counts.add(part, k, &row);
                if k == 0 && req.listing.is_some() {
                    kept.push(part, Kept { row, about });
                }
            }
        }
        worker
            .join()
            .map_err(|_| anyhow!("the classify scan panicked"))??;
        if let Some(r) = reader {
            let ranks = r
                .join()
                .map_err(|_| anyhow!("reading the previous grades panicked"))??;
            before_ranks = Some(ranks);
        }
        write_error.map_or(Ok(()), Err)
    })?;

    // Step 2: the borrower-level rules, borrower by borrower, date by date.
    let t1 = std::time::Instant::now();
    let grouped = aggs.borrower_dates();
    kept.order();
    counts.loans.order();
    let mut store = SqlRows {
        c,
        target,
        dates,
        kept: &mut kept,
        counts: &mut counts,
    };
    let contagious = borrower_rules(&mut store, req, aggs)?;
    let t2 = std::time::Instant::now();

    let previous: Vec<Option<NaiveDate>> = (0..dates.len())
        .map(|k| {
            if k == 0 {
                before_first
            } else {
                Some(dates[k - 1])
            }
        })
        .collect();
    // Each date's totals, its moves against the date before (the saved one before the first
    // date, then the run's previous date).
    let totals = counts.finish(before_ranks.as_ref());
    let rows = match &req.listing {
        Some(filter) => list(kept, before_ranks.as_ref(), filter, req.labels),
        None => Vec::new(),
    };
    drop(before_ranks);
    if save {
        let conventions = req.conventions_json();
        for (d, t) in dates.iter().zip(&totals) {
            grades::record_run(c, *d, &req.rules.name, &req.staging.name, &conventions, t)?;
        }
    }
    ctx.debug(&format!(
        "classify: graded {:.1} s, {grouped} borrower-dates {:.1} s, totals and listing {:.1} s",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        t2.elapsed().as_secs_f64()
    ));
    let t_end = std::time::Instant::now();
    match &req.save {
        Some(s) if !s.dry_run => tx.commit().context("committing the saved grades")?,
        _ => tx.rollback()?,
    }
    ctx.debug(&format!(
        "classify: committed {:.1} s",
        t_end.elapsed().as_secs_f64()
    ));
    Ok(Outcome {
        rows,
        totals,
        previous,
        contagious,
    })
}

/// The classify work on loans handed in one at a time, with the facts it reads besides the
/// book: step 1 for `classify`'s own pass, and for any other op that wants grades in its pass
/// (`report` for the dates without a saved run), then step 2 over the grouped borrowers
/// ([`Borrowers`], [`borrower_rules`]).
pub struct Grading<'r> {
    req: &'r Request,
    facts: Facts,
    /// The saved date before the first date of the request, if any (its stage-3 days carry).
    pub previous: Option<NaiveDate>,
    /// The conventions that saved run recorded.
    pub previous_conventions: Option<String>,
}

impl<'r> Grading<'r> {
    /// Reads the facts of `req`'s dates from the ledger.
    pub fn load(c: &rusqlite::Connection, req: &'r Request) -> Result<Grading<'r>> {
        Grading::load_with(c, req, grades::multi_loan_borrowers(c)?)
    }

    /// [`Grading::load`] with the borrowers that have more than one loan read already.
    fn load_with(
        c: &rusqlite::Connection,
        req: &'r Request,
        multi_loan: HashSet<String>,
    ) -> Result<Grading<'r>> {
        let dates = &req.setup.dates;
        let (previous, previous_conventions) = match grades::previous_run(c, dates[0])? {
            Some((d, conventions)) => (Some(d), Some(conventions)),
            None => (None, None),
        };
        let probation = req.staging.stage3_to_2_months + req.staging.stage2_to_1_months;
        let since = dates[0]
            .checked_sub_months(chrono::Months::new(probation))
            .unwrap_or(NaiveDate::MIN);
        let facts = Facts {
            restructures: grades::restructures(c)?,
            overrides: grades::overrides(c)?,
            events: grades::events(c)?,
            multi_loan,
            stage3: match previous {
                Some(p) => grades::stage3_days(c, p, since)?,
                None => HashMap::new(),
            },
        };
        Ok(Grading {
            req,
            facts,
            previous,
            previous_conventions,
        })
    }

    /// Step 1 for one loan: each open position graded on the loan's own facts, in date order
    /// (the positions must list their installments: `engine::Detail::Installments`).
    pub fn loan(&self, loan: &LoanAssessment<'_>, out: &mut Vec<Graded>) {
        let b = loan.book;
        // The last stage-3 day, carried from the saved history through the run's dates.
        let mut last3 = self.facts.stage3.get(&b.info.loan_id).copied();
        for a in loan.dates.iter().filter(|a| !a.position.closed) {
            let (row, summary) = grade(self.req, &self.facts, b, &a.position, last3);
            last3 = row.stage3_last;
            out.push((a.date, row, summary));
        }
    }

    /// The request graded for.
    pub fn request(&self) -> &'r Request {
        self.req
    }

    /// Whether the row's borrower is looked at with all its loans in step 2 (corporate:
    /// contagion; more than one loan: one segment).
    pub fn grouped(&self, row: &GradeRow) -> bool {
        row.borrower_type == BorrowerType::Corporate.as_str()
            || self.facts.multi_loan.contains(&row.borrower_id)
    }
}

/// A graded loan as it streams to the writer: whether its borrower is grouped (the worker
/// looks that up, not the writer), and the loan's descriptive fields when it is listed (the
/// first date of a listing, in the places the filter asks for).
struct Streamed {
    graded: Graded,
    grouped: bool,
    about: Option<About>,
}

/// What the listing shows of a loan besides its grade (from the book, as the worker has it).
#[derive(Clone)]
pub struct About {
    /// Masked unless `--show-pii`.
    borrower: String,
    officer: String,
    branch: String,
    region: String,
    product: String,
}

impl About {
    fn of(info: &book::LoanInfo, show_pii: bool) -> About {
        About {
            borrower: if show_pii {
                info.borrower_name.clone()
            } else {
                pii::mask_name(&info.borrower_name)
            },
            officer: info.officer.clone(),
            branch: info.branch.clone(),
            region: info.region.clone(),
            product: info.product.clone(),
        }
    }
}

/// A row of the first date kept by the writer for the listing (`about`: None when the filter's
/// places leave it out; it still counts in the totals).
struct Kept {
    row: GradeRow,
    about: Option<About>,
}

/// The loans of one key range of the scan, in the order they came (loan order): a part of
/// [`Parts`].
trait Part: Default {
    fn len(&self) -> usize;
    /// The loan_id of the `i`th loan.
    fn id(&self, i: usize) -> &str;
    /// Puts the loans in loan order (a part out of order: not what the scan makes).
    fn sort(&mut self);
    /// Appends another part's loans.
    fn append(&mut self, other: Self);

    fn is_sorted(&self) -> bool {
        (1..self.len()).all(|i| self.id(i - 1) <= self.id(i))
    }
}

/// The kept rows of one key range.
impl Part for Vec<Kept> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn id(&self, i: usize) -> &str {
        &self[i].row.loan_id
    }
    fn sort(&mut self) {
        self.sort_by(|a, b| a.row.loan_id.cmp(&b.row.loan_id));
    }
    fn append(&mut self, mut other: Self) {
        Vec::append(self, &mut other);
    }
}

/// What the writer keeps per loan, in parts, one per key range of the scan (its index): each
/// range streams in loan order and the ranges do not overlap, so once the parts are put in the
/// order of their first loans everything is in loan order without a sort of the items
/// themselves.
struct Parts<P>(Vec<P>);

impl<P> Default for Parts<P> {
    fn default() -> Self {
        Parts(Vec::new())
    }
}

impl<P: Part> Parts<P> {
    fn part(&mut self, part: usize) -> &mut P {
        if self.0.len() <= part {
            self.0.resize_with(part + 1, P::default);
        }
        &mut self.0[part]
    }

    /// Puts the items in loan order (sorts only what is not: a part out of order, or parts
    /// that overlap, which the scan does not make).
    fn order(&mut self) {
        self.0.retain(|p| p.len() > 0);
        for p in &mut self.0 {
            if !p.is_sorted() {
                p.sort();
            }
        }
        self.0.sort_by(|a, b| a.id(0).cmp(b.id(0)));
        let disjoint = self
            .0
            .windows(2)
            .all(|w| w[0].id(w[0].len() - 1) < w[1].id(0));
        if !disjoint {
            let mut all = P::default();
            for p in std::mem::take(&mut self.0) {
                all.append(p);
            }
            all.sort();
            self.0 = vec![all];
        }
    }

    /// Where the item of a loan is: (part, index) (after [`Parts::order`]).
    fn find(&self, loan_id: &str) -> Option<(usize, usize)> {
        let i = self
            .0
            .partition_point(|p| p.id(0) <= loan_id)
            .checked_sub(1)?;
        let part = &self.0[i];
        let (mut lo, mut hi) = (0, part.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match part.id(mid).cmp(loan_id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some((i, mid)),
            }
        }
        None
    }
}

impl Parts<Vec<Kept>> {
    fn push(&mut self, part: usize, item: Kept) {
        self.part(part).push(item);
    }

    /// The kept row of a loan (after [`Parts::order`]).
    fn get_mut(&mut self, loan_id: &str) -> Option<&mut Kept> {
        let (i, j) = self.find(loan_id)?;
        Some(&mut self.0[i][j])
    }
}

/// The loans of one key range in [`Counts`], each with its grade on every date of the run (a
/// byte a date): the loan_ids share one buffer, not a String each (a million loans would be
/// a million allocations on the writer thread, and as many frees after the scan).
#[derive(Default)]
struct LoanCodes {
    ids: String,
    ends: Vec<usize>,
    /// `dates` bytes a loan: the grade's rank per date, [`NO_ROW`] on a date the loan has no row.
    codes: Vec<u8>,
    dates: usize,
}

impl LoanCodes {
    /// Adds a loan with its codes (their number: `self.dates`).
    fn push(&mut self, loan_id: &str, codes: &[u8]) {
        self.ids.push_str(loan_id);
        self.ends.push(self.ids.len());
        self.codes.extend_from_slice(codes);
    }

    fn codes(&self, i: usize) -> &[u8] {
        &self.codes[i * self.dates..(i + 1) * self.dates]
    }

    fn codes_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.codes[i * self.dates..(i + 1) * self.dates]
    }
}

impl Part for LoanCodes {
    fn len(&self) -> usize {
        self.ends.len()
    }
    fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.ids[start..self.ends[i]]
    }
    fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| self.id(a).cmp(self.id(b)));
        let mut sorted = LoanCodes {
            dates: self.dates,
            ..LoanCodes::default()
        };
        for i in order {
            sorted.push(self.id(i), self.codes(i));
        }
        *self = sorted;
    }
    fn append(&mut self, other: Self) {
        self.dates = other.dates;
        for i in 0..other.len() {
            self.push(other.id(i), other.codes(i));
        }
    }
}

/// In [`LoanCodes::codes`]: no row on that date (closed, or not yet originated).
const NO_ROW: u8 = u8::MAX;

/// The run's totals, counted as its rows stream past and corrected by step 2's rewrites: per
/// date, loans, principal and provision per grade; per loan, its grade on each date (a byte a
/// date), from which the moves are counted at the end. The work table is not read back.
struct Counts {
    by_grade: Vec<[(u64, Decimal, Decimal); 5]>,
    loans: Parts<LoanCodes>,
}

impl Counts {
    fn new(dates: usize) -> Counts {
        Counts {
            by_grade: vec![Default::default(); dates],
            loans: Parts::default(),
        }
    }

    fn count(&mut self, k: usize, row: &GradeRow, sign: i8) {
        let e = &mut self.by_grade[k][row.grade.rank() as usize];
        if sign > 0 {
            e.0 += 1;
            e.1 += row.outstanding_principal;
            e.2 += row.provision;
        } else {
            e.0 -= 1;
            e.1 -= row.outstanding_principal;
            e.2 -= row.provision;
        }
    }

    /// A row of date `k` from the key range of `part` (a range's rows come in loan order, a
    /// loan's dates together).
    fn add(&mut self, part: usize, k: usize, row: &GradeRow) {
        self.count(k, row, 1);
        let dates = self.by_grade.len();
        let loans = self.loans.part(part);
        let n = loans.len();
        if n == 0 || loans.id(n - 1) != row.loan_id {
            loans.push(&row.loan_id, &[]);
            loans.codes.resize(loans.codes.len() + dates, NO_ROW);
            loans.dates = dates;
        }
        let last = loans.len() - 1;
        loans.codes_mut(last)[k] = row.grade.rank();
    }

    /// Step 2 rewrote a row of date `k` (after [`Parts::order`] of the loans).
    fn regrade(&mut self, k: usize, before: &GradeRow, after: &GradeRow) {
        self.count(k, before, -1);
        self.count(k, after, 1);
        if let Some((i, j)) = self.loans.find(&after.loan_id) {
            self.loans.0[i].codes_mut(j)[k] = after.grade.rank();
        }
    }

    /// Each date's totals, with its moves against the date before (`previous`: the saved date
    /// before the first).
    fn finish(self, previous: Option<&Ranks>) -> Vec<Totals> {
        let mut totals: Vec<Totals> = self
            .by_grade
            .iter()
            .map(|g| Totals {
                by_grade: *g,
                worse: 0,
                better: 0,
            })
            .collect();
        let mut walk = previous.map(Ranks::walk);
        // A stored name that is not a grade moves as 损失.
        let rank = |c: u8| c.min(Grade::Loss.rank());
        for part in &self.loans.0 {
            for i in 0..part.len() {
                let saved = walk
                    .as_mut()
                    .and_then(|w| w.find(part.id(i)))
                    .map(|(c, _)| c);
                let codes = part.codes(i);
                for (k, &now) in codes.iter().enumerate() {
                    let then = match k {
                        0 => saved,
                        _ => Some(codes[k - 1]).filter(|c| *c != NO_ROW),
                    };
                    if let Some(then) = then.filter(|_| now != NO_ROW) {
                        totals[k].worse += u64::from(rank(now) > rank(then));
                        totals[k].better += u64::from(rank(now) < rank(then));
                    }
                }
            }
        }
        totals
    }
}

/// The listing of the first date from its kept rows (in loan order, [`Parts::order`]): the
/// rows the filter keeps with their
/// grade on the date compared with (`previous`), worst grade first, then DPD, then loan_id.
fn list(
    kept: Parts<Vec<Kept>>,
    previous: Option<&Ranks>,
    filter: &Filter,
    labels: GradeLabels,
) -> Vec<Row> {
    let mut walk = previous.map(Ranks::walk);
    let mut rows = Vec::new();
    for Kept { row, about } in kept.0.into_iter().flatten() {
        let Some(about) = about else {
            continue;
        };
        let before = walk.as_mut().and_then(|w| w.find(&row.loan_id));
        let r = &row;
        let changed = before.is_some_and(|(g, st)| g != r.grade.rank() || st != r.stage);
        if filter.grade.is_some_and(|g| g != r.grade)
            || filter.stage.is_some_and(|st| st != r.stage)
            || (filter.changed && !changed)
        {
            continue;
        }
        rows.push(Row {
            previous_grade: before.and_then(|(g, _)| Grade::from_rank(g)),
            previous_stage: before.map(|(_, st)| st),
            row,
            about,
            labels,
        });
    }
    // In loan order already: a stable sort by grade and DPD keeps it among equals (on the
    // keys, the rows moved once).
    rows.sort_by_cached_key(|r| std::cmp::Reverse((r.row.grade, r.row.dpd)));
    rows
}

/// The consumer of step 1, one per key range.
struct Grader<'a> {
    /// Which part of the kept rows this range's are: the range's index.
    part: usize,
    grading: &'a Grading<'a>,
    /// The listing's filter and whether names are shown, when the first date is listed.
    describe: Option<(&'a Filter, bool)>,
    out: Option<SyncSender<(usize, Vec<Streamed>)>>,
    graded: Vec<Graded>,
    batch: Vec<Streamed>,
}

impl Consumer for Grader<'_> {
    fn loan(&mut self, loan: &LoanAssessment<'_>) -> Result<()> {
        self.grading.loan(loan, &mut self.graded);
        for g in self.graded.drain(..) {
            let about = match self.describe {
                Some((filter, show_pii)) if g.0 == 0 => {
                    Some(About::of(&loan.book.info, show_pii)).filter(|a| filter.places(a))
                }
                _ => None,
            };
            let grouped = self.grading.grouped(&g.1);
            self.batch.push(Streamed {
                graded: g,
                grouped,
                about,
            });
        }
        if self.batch.len() >= 4096 {
            if let Some(tx) = &self.out {
                // A closed channel means the writer failed; it reports the error.
                let _ = tx.send((self.part, std::mem::take(&mut self.batch)));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(tx) = self.out.take() {
            if !self.batch.is_empty() {
                let _ = tx.send((self.part, std::mem::take(&mut self.batch)));
            }
        }
        Ok(())
    }

    fn merge(&mut self, _later: Self) {}
}

/// Grades one loan as of one position (steps 1-3 of the precedence, and its stage): the row to
/// store, and its follow-up summary (for the borrower's segment).
fn grade(
    req: &Request,
    facts: &Facts,
    b: &book::LoanBook,
    p: &Position,
    remembered: Option<NaiveDate>,
) -> (GradeRow, FollowupSummary) {
    let (rules, staging) = (&req.rules, &req.staging);
    // The schedule the engine replayed (combined across restructure versions), in due order.
    let inst: Vec<InstallmentRecord> = p
        .installments
        .iter()
        .map(|s| InstallmentRecord {
            installment_no: s.installment_no,
            due_date: s.due_date,
            settled_on: s.settled_on,
        })
        .collect();
    let loan_id = b.info.loan_id.as_str();
    let borrower_id = b.info.borrower_id.as_str();
    let events = facts.events.of(loan_id, borrower_id);
    let borrower_type =
        BorrowerType::parse(&b.info.borrower_type).unwrap_or(BorrowerType::Individual);
    let f = LoanFacts {
        as_of: p.as_of,
        dpd: p.dpd,
        overdue_since: p.overdue_since,
        outstanding_principal: p.outstanding_principal,
        borrower_type,
        installments: &inst,
        restructures: facts.restructures.get(loan_id).map_or(&[], Vec::as_slice),
        events: &events,
        overrides: facts.overrides.get(loan_id).map_or(&[], Vec::as_slice),
    };
    let a = eval::assess(rules, &f);
    let staged = stage::stage(staging, &f, &a, remembered);
    // Payments count for the segment only next to follow-ups or while overdue (partial ones).
    let pays = if b.followups.is_empty() && p.overdue_since.is_none() {
        Vec::new()
    } else {
        engine::payments_in_force(&b.payments, p.as_of)
    };
    let summary = segment::summarize(
        &rules.segment,
        &b.followups,
        &pays,
        p.overdue_since,
        p.as_of,
    );
    let seg: Segment = segment::segment(&rules.segment, &summary, p.dpd > 0);
    let mut reasons = a.reasons();
    for r in &staged.reasons {
        add_reason(&mut reasons, r);
    }
    let row = GradeRow {
        as_of: p.as_of,
        loan_id: loan_id.to_string(),
        borrower_id: borrower_id.to_string(),
        borrower_type: borrower_type.as_str().to_string(),
        dpd: p.dpd,
        outstanding_principal: p.outstanding_principal,
        grade: a.grade,
        stage: staged.stage,
        grade_rule: a.grade_rule.clone(),
        reasons,
        override_text: a.override_text.clone(),
        override_grade: a.override_grade,
        eligible_for_upgrade_review: a.eligible_for_upgrade_review,
        segment: seg.as_str().to_string(),
        provision_rate: a.provision_rate,
        provision: a.provision,
        stage3_last: staged.stage3_last,
    };
    (row, summary)
}

/// The borrowers whose rows step 2 ([`borrower_rules`]) may regrade — grade, stage, provision,
/// upgrade eligibility — rather than only give one segment: those with a loan of the borrower
/// type the rule set's contagion applies to (none without contagion). Step 2 takes a borrower's
/// type from its loans' and raises grades only by the contagion's floor, which holds for that
/// type alone; so another borrower's loans keep the grades step 1 gave them.
pub fn regraded_borrowers(c: &rusqlite::Connection, rules: &RuleSet) -> Result<HashSet<String>> {
    match &rules.contagion {
        None => Ok(HashSet::new()),
        Some(r) => grades::borrowers_of_type(c, r.borrower_type.as_str()),
    }
}

/// Step 2 over the grouped borrowers, reading and rewriting their rows in `rows`; returns how
/// many grades contagion raised.
pub fn borrower_rules(
    rows: &mut impl BorrowerRows,
    req: &Request,
    mut aggs: Borrowers,
) -> Result<u64> {
    aggs.loans_in_order();
    let mut contagious = 0u64;
    // Per loan of the current borrower: the last day contagion put it in stage 3 in this run.
    let mut carry: HashMap<String, NaiveDate> = HashMap::new();
    let mut loans: Vec<&str> = Vec::new();
    // In no particular order: a borrower's rows are its own (a loan has one borrower), so
    // what one borrower's rules do cannot change another's; its dates go in order.
    for (borrower, &b) in &aggs.index {
        carry.clear();
        loans.clear();
        loans.extend(aggs.loans[b].iter().map(|&i| aggs.id(i as usize)));
        let dates = &aggs.aggs[b * aggs.dates..(b + 1) * aggs.dates];
        for (k, a) in dates.iter().enumerate() {
            let Some(a) = a else {
                continue;
            };
            contagious += borrower_date(rows, req, borrower, &loans, k, a, &mut carry)?;
        }
    }
    Ok(contagious)
}

/// Step 2 for one borrower on the date with index `k`: returns how many grades contagion
/// raised (`carry`: per loan, the last day contagion put it in stage 3 on the borrower's
/// earlier dates).
fn borrower_date(
    rows: &mut impl BorrowerRows,
    req: &Request,
    borrower: &str,
    loans: &[&str],
    k: usize,
    a: &BorrowerAgg,
    carry: &mut HashMap<String, NaiveDate>,
) -> Result<u64> {
    let (rules, staging) = (&req.rules, &req.staging);
    let mut contagious = 0u64;
    let bt = if a.corporate {
        BorrowerType::Corporate
    } else {
        BorrowerType::Individual
    };
    let floor = rules
        .contagion
        .as_ref()
        .and_then(|rule| contagion_of_sums(rule, bt, a.total, a.bad));
    let seg = (a.loans > 1).then(|| segment::segment(&rules.segment, &a.summary, a.overdue));
    if floor.is_none() && carry.is_empty() {
        // Every loan already in the borrower's segment: nothing to rewrite.
        if let Some(s) = seg.filter(|s| a.segments != segment_bit(s.as_str())) {
            rows.set_segment(k, borrower, loans, s.as_str())?;
        }
        return Ok(0);
    }
    for mut row in rows.rows(k, borrower, loans)? {
        let before = row.clone();
        match floor.as_ref().filter(|f| f.grade > row.grade) {
            Some(f) => {
                contagious += 1;
                raise(rules, staging, &mut row, f);
                if row.stage == 3 {
                    carry.insert(row.loan_id.clone(), row.as_of);
                }
            }
            None => {
                if let Some(&last3) = carry.get(&row.loan_id) {
                    remember(staging, &mut row, last3);
                }
            }
        }
        if let Some(s) = seg {
            row.segment = s.as_str().to_string();
        }
        if row != before {
            rows.update(k, &before, &row)?;
        }
    }
    Ok(contagious)
}

/// A stage 3 that contagion set on an earlier date of the run (`last3`), which the row's own
/// staging could not know: its probation, when that is worse than the row's stage.
fn remember(staging: &Staging, row: &mut GradeRow, last3: NaiveDate) {
    if row.stage3_last.is_some_and(|own| own >= last3) {
        return;
    }
    row.stage3_last = Some(last3);
    if let Some((st, why)) = stage::remembered(staging, row.stage, last3, row.as_of) {
        row.stage = st;
        add_reason(&mut row.reasons, &why);
    }
}

/// Puts a stored row at the contagion's floor: grade, rule, trace, provision, stage.
fn raise(rules: &RuleSet, staging: &Staging, row: &mut GradeRow, f: &Floor) {
    if let Some(og) = row.override_grade.filter(|og| *og < f.grade) {
        add_reason(
            &mut row.reasons,
            &format!(
                "override {og} not applied: hard floor {} {} holds",
                f.rule, f.grade
            ),
        );
    }
    add_reason(&mut row.reasons, &format!("{}: {}", f.rule, f.reason));
    row.grade = f.grade;
    row.grade_rule = f.rule.clone();
    row.eligible_for_upgrade_review = false;
    row.provision_rate = rules.provision_rate(row.grade);
    row.provision = round_fen(row.outstanding_principal * row.provision_rate);
    if row.grade >= staging.stage3_grade_from {
        if row.stage < 3 {
            row.stage = 3;
            add_reason(&mut row.reasons, &format!("stage 3: grade {}", row.grade));
        }
        row.stage3_last = Some(row.as_of);
    }
}

/// Appends a reason to a trace (`a; b`).
fn add_reason(trace: &mut String, reason: &str) {
    if !trace.is_empty() {
        trace.push_str("; ");
    }
    trace.push_str(reason);
}

fn label(g: Grade, l: GradeLabels) -> &'static str {
    match l {
        GradeLabels::Zh => g.zh(),
        GradeLabels::En => g.en(),
    }
}

/// One listed loan: its grade, descriptive fields and the previous date's grade.
#[derive(Clone)]
pub struct Row {
    row: GradeRow,
    about: About,
    previous_grade: Option<Grade>,
    previous_stage: Option<u8>,
    labels: GradeLabels,
}

impl Tabular for Row {
    const COLUMNS: &'static [&'static str] = &[
        "loan_id",
        "borrower",
        "borrower_id",
        "borrower_type",
        "officer",
        "branch",
        "region",
        "product",
        "dpd",
        "outstanding_principal",
        "grade",
        "stage",
        "previous_grade",
        "previous_stage",
        "grade_rule",
        "reasons",
        "override",
        "eligible_for_upgrade_review",
        "segment",
        "provision_rate",
        "provision",
    ];
    const TABLE_SHOWS: Option<&'static [&'static str]> = Some(&[
        "loan_id",
        "borrower",
        "officer",
        "dpd",
        "outstanding_principal",
        "grade",
        "stage",
        "previous_grade",
        "grade_rule",
        "segment",
        "provision",
    ]);

    fn cells(&self) -> Vec<Cell> {
        self.clone().into_cells()
    }

    fn into_cells(self) -> Vec<Cell> {
        let Row {
            row: r,
            about: l,
            previous_grade,
            previous_stage,
            labels,
        } = self;
        let grade = |g: Grade| Cell::Text(label(g, labels).to_string());
        vec![
            Cell::Text(r.loan_id),
            Cell::Text(l.borrower),
            Cell::Text(r.borrower_id),
            Cell::Text(r.borrower_type),
            Cell::Text(l.officer),
            Cell::Text(l.branch),
            Cell::Text(l.region),
            Cell::Text(l.product),
            Cell::Int(r.dpd.into()),
            Cell::Money(r.outstanding_principal),
            grade(r.grade),
            Cell::Int(r.stage.into()),
            previous_grade.map_or(Cell::Null, grade),
            previous_stage.map_or(Cell::Null, |s| Cell::Int(s.into())),
            Cell::Text(r.grade_rule),
            Cell::Text(r.reasons),
            r.override_text.map_or(Cell::Null, Cell::Text),
            Cell::Bool(r.eligible_for_upgrade_review),
            Cell::Text(r.segment),
            Cell::Text(r.provision_rate.normalize().to_string()),
            Cell::Money(r.provision),
        ]
    }
}

/// The totals of a range: one row per date (loans per grade, NPL principal, provision, moves).
pub fn range_report(dates: &[NaiveDate], totals: &[Totals], labels: GradeLabels) -> Report {
    let mut cols: Vec<String> = vec!["as_of".into(), "loans".into()];
    for g in Grade::ALL {
        cols.push(label(g, labels).to_string());
    }
    cols.extend(["npl_principal", "provision", "moved_worse", "moved_better"].map(String::from));
    let names: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut r = Report::new(&names);
    let int = |n: u64| Cell::Int(i64::try_from(n).unwrap_or(i64::MAX));
    for (d, t) in dates.iter().zip(totals) {
        let mut row = vec![Cell::Date(*d), int(t.by_grade.iter().map(|g| g.0).sum())];
        row.extend(t.by_grade.iter().map(|g| int(g.0)));
        let npl: Decimal = t.by_grade[2..].iter().map(|g| g.1).sum();
        let prov: Decimal = t.by_grade.iter().map(|g| g.2).sum();
        row.extend([
            Cell::Money(npl),
            Cell::Money(prov),
            int(t.worse),
            int(t.better),
        ]);
        r.push(row);
    }
    r
}

/// `classify 2026-06-30: 42 loans; 正常 30 (1,234.00), 关注 8 (…), …; provision …; since
/// 2026-05-31: 3 worse, 1 better`
pub fn summary_line(
    d: NaiveDate,
    t: &Totals,
    previous: Option<NaiveDate>,
    labels: GradeLabels,
) -> String {
    let n: u64 = t.by_grade.iter().map(|g| g.0).sum();
    let parts: Vec<String> = Grade::ALL
        .iter()
        .zip(&t.by_grade)
        .map(|(g, (k, bal, _))| {
            format!("{} {k} ({})", label(*g, labels), money::fmt_thousands(*bal))
        })
        .collect();
    let prov: Decimal = t.by_grade.iter().map(|g| g.2).sum();
    let mut s = format!(
        "classify {d}: {n} loans; {}; provision {}",
        parts.join(", "),
        money::fmt_thousands(prov)
    );
    match previous {
        Some(p) => s.push_str(&format!(
            "; since {p}: {} worse, {} better",
            t.worse, t.better
        )),
        None => s.push_str("; no earlier saved date to compare"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    fn row(loan: &str, grade: Grade, dpd: u32, stage: u8) -> GradeRow {
        GradeRow {
            as_of: d("2026-06-30"),
            loan_id: loan.into(),
            borrower_id: format!("B{loan}"),
            borrower_type: "individual".into(),
            dpd,
            outstanding_principal: m("100.00"),
            grade,
            stage,
            grade_rule: String::new(),
            reasons: String::new(),
            override_text: None,
            override_grade: None,
            eligible_for_upgrade_review: false,
            segment: "unknown".into(),
            provision_rate: m("0.3"),
            provision: m("30.00"),
            stage3_last: None,
        }
    }

    fn about(officer: &str) -> About {
        About {
            borrower: "张*".into(),
            officer: officer.into(),
            branch: "b".into(),
            region: "r".into(),
            product: "p".into(),
        }
    }

    fn kept(loan: &str, grade: Grade, dpd: u32) -> Kept {
        Kept {
            row: row(loan, grade, dpd, 1),
            about: Some(about("o")),
        }
    }

    fn ids(k: &Parts<Vec<Kept>>) -> Vec<&str> {
        k.0.iter()
            .flatten()
            .map(|e| e.row.loan_id.as_str())
            .collect()
    }

    /// Kept rows of 正常 loans pushed to the given parts in this order, then ordered.
    fn parts(pushed: &[(usize, &str)]) -> Parts<Vec<Kept>> {
        let mut k = Parts::default();
        for (part, id) in pushed {
            k.push(*part, kept(id, Grade::Pass, 0));
        }
        k.order();
        k
    }

    #[test]
    fn kept_rows_are_put_in_loan_order_by_their_parts_and_found_by_loan() {
        // The second worker's range arrives first, interleaved with the first's.
        let mut k = parts(&[(1, "L5"), (0, "L1"), (1, "L7"), (0, "L3")]);
        assert_eq!(ids(&k), ["L1", "L3", "L5", "L7"]);
        assert_eq!(k.0.len(), 2, "in order without merging the parts");
        for id in ["L1", "L3", "L5", "L7"] {
            assert_eq!(
                k.get_mut(id).map(|e| e.row.loan_id.clone()),
                Some(id.into())
            );
        }
        for id in ["L0", "L2", "L6", "L9"] {
            assert!(k.get_mut(id).is_none(), "{id}");
        }
        // Overlapping parts (not what the scan makes) are merged and sorted.
        let mut k = parts(&[(0, "L4"), (0, "L2"), (1, "L3"), (1, "L1")]);
        assert_eq!(ids(&k), ["L1", "L2", "L3", "L4"]);
        assert!(k.get_mut("L3").is_some());
    }

    #[test]
    fn the_listing_is_worst_first_then_dpd_then_loan_with_the_previous_grade() {
        // The date before: L1 正常 stage 1, L2 次级 stage 3, L4 关注 stage 2.
        let mut ranks = Ranks::default();
        for (id, g, st) in [
            ("L1", Grade::Pass, 1),
            ("L2", Grade::Substandard, 3),
            ("L4", Grade::SpecialMention, 2),
        ] {
            ranks.push(id, g.rank(), st);
        }
        // Today: L5 正常; L6 left out by the filter's places, still counted.
        let today = || {
            let mut k = Parts::default();
            for (id, g, dpd) in [
                ("L1", Grade::SpecialMention, 5),
                ("L2", Grade::Substandard, 95),
                ("L3", Grade::Substandard, 120),
                ("L4", Grade::SpecialMention, 20),
                ("L5", Grade::Pass, 0),
            ] {
                k.push(0, kept(id, g, dpd));
            }
            let row = row("L6", Grade::Loss, 400, 3);
            k.push(0, Kept { row, about: None });
            k.order();
            k
        };
        let k = today();
        let all = Filter::default();
        let rows = list(k, Some(&ranks), &all, GradeLabels::Zh);
        let order: Vec<&str> = rows.iter().map(|r| r.row.loan_id.as_str()).collect();
        assert_eq!(order, ["L3", "L2", "L4", "L1", "L5"]);
        let l1 = rows.iter().find(|r| r.row.loan_id == "L1").unwrap();
        assert_eq!(
            (l1.previous_grade, l1.previous_stage),
            (Some(Grade::Pass), Some(1))
        );
        assert!(rows
            .iter()
            .find(|r| r.row.loan_id == "L3")
            .unwrap()
            .previous_grade
            .is_none());
        // --changed: a grade or a stage that moved, among the loans graded before.
        let k = today();
        let changed = Filter {
            changed: true,
            ..Filter::default()
        };
        let rows = list(k, Some(&ranks), &changed, GradeLabels::Zh);
        let order: Vec<&str> = rows.iter().map(|r| r.row.loan_id.as_str()).collect();
        assert_eq!(
            order,
            ["L2", "L4", "L1"],
            "L2: stage 3 → 1; L4: stage 2 → 1"
        );
    }

    #[test]
    fn counts_follow_the_rows_and_step_2_and_count_the_moves_at_the_end() {
        // Two dates; the second worker's loan (L3) arrives before the first's (L1, L2).
        let mut c = Counts::new(2);
        c.add(1, 0, &row("L3", Grade::Pass, 0, 1));
        c.add(1, 1, &row("L3", Grade::SpecialMention, 5, 1));
        c.add(0, 0, &row("L1", Grade::Pass, 0, 1));
        c.add(0, 1, &row("L1", Grade::Pass, 0, 1));
        // L2 has no row on the first date.
        c.add(0, 1, &row("L2", Grade::Substandard, 95, 1));
        c.loans.order();
        // Step 2 raises L1 on the second date to 次级.
        let before = row("L1", Grade::Pass, 0, 1);
        let after = GradeRow {
            grade: Grade::Substandard,
            provision: m("30.00"),
            ..before.clone()
        };
        c.regrade(1, &before, &after);
        // The saved date before the first: L1 关注, L3 正常.
        let mut saved = Ranks::default();
        saved.push("L1", Grade::SpecialMention.rank(), 2);
        saved.push("L3", Grade::Pass.rank(), 1);
        let t = c.finish(Some(&saved));
        assert_eq!(t[0].by_grade.map(|g| g.0), [2, 0, 0, 0, 0]);
        // L1 关注 → 正常; L3 unchanged.
        assert_eq!((t[0].worse, t[0].better), (0, 1));
        assert_eq!(t[1].by_grade.map(|g| g.0), [0, 1, 2, 0, 0]);
        assert_eq!(t[1].by_grade[0].1, m("0"));
        assert_eq!(t[1].by_grade[2].1, m("200.00"));
        assert_eq!(t[1].by_grade[2].2, m("60.00"));
        // L1 正常 → 次级 and L3 正常 → 关注; L2 is new, not a move.
        assert_eq!((t[1].worse, t[1].better), (2, 0));
    }

    #[test]
    fn loan_codes_out_of_order_or_overlapping_are_sorted_and_found() {
        let mut c = Counts::new(2);
        // Part 0 out of order; part 1 overlaps it.
        for (part, id, k, g) in [
            (0, "L4", 0, Grade::Pass),
            (0, "L4", 1, Grade::Loss),
            (0, "L2", 1, Grade::Substandard),
            (1, "L3", 0, Grade::SpecialMention),
        ] {
            c.add(part, k, &row(id, g, 0, 1));
        }
        c.loans.order();
        assert_eq!(c.loans.0.len(), 1, "merged");
        let p = &c.loans.0[0];
        let got: Vec<(&str, &[u8])> = (0..p.len()).map(|i| (p.id(i), p.codes(i))).collect();
        assert_eq!(
            got,
            [
                ("L2", &[NO_ROW, 2][..]),
                ("L3", &[1, NO_ROW][..]),
                ("L4", &[0, 4][..])
            ]
        );
        assert_eq!(c.loans.find("L3"), Some((0, 1)));
        assert_eq!(c.loans.find("L1"), None);
        assert_eq!(c.loans.find("L5"), None);
    }

    #[test]
    fn a_place_filter_keeps_what_it_names() {
        let f = Filter {
            officer: Some("o".into()),
            region: Some("r".into()),
            ..Filter::default()
        };
        assert!(f.places(&about("o")));
        assert!(!f.places(&about("x")));
        assert!(Filter::default().places(&about("x")));
    }
}
