//! The portfolio pipeline: every loan of the book assessed as of one date, or of many dates in
//! one pass. This is the stream `overdue` consumes, and the one `classify`, `schedule-visits` and
//! `report` are meant to consume:
//!
//! 1. the book is cut into key ranges of about as many loans ([`book::split`]), several per
//!    worker thread (one worker per core): each worker, on its own read connection, pulls the
//!    next range in key order and streams its loans ([`book::Scan`]) one at a time — the work
//!    per loan is uneven, and small ranges pulled as the workers free up keep them busy to the
//!    end together;
//! 2. for each loan the engine replays the schedule and payments once for all the dates
//!    ([`engine::positions`], across restructured schedule versions by
//!    [`restructure::replay::positions`]) — DPD, arrears, penalty and, when the consumer asks
//!    ([`Consumer::detail`]), each installment's status;
//! 3. each open position is enriched: its aging bucket, the collection ladder's next action and
//!    SLA ([`collection::next_action`]), and its promises to pay
//!    ([`collection::promises`] over [`engine::payments_in_force`]);
//! 4. a [`Consumer`] per key range (made with the range's index) receives each
//!    [`LoanAssessment`]; when every range is done the ranges' consumers are merged in key order.
//!
//! No SQL here (that is `db::book`) and no rules (those are `engine`, `buckets`, `collection`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{anyhow, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::buckets::Buckets;
use crate::collection::{self, Action, Ladder, PromiseSummary};
use crate::context::Ctx;
use crate::db::{self, book};
use crate::engine::{self, Conventions, Position};
use crate::restructure;

/// What the assessment depends on besides the ledger: the dates and the rules.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Ascending, not empty.
    pub dates: Vec<NaiveDate>,
    pub conv: Conventions,
    pub buckets: Buckets,
    pub ladder: Ladder,
    /// The ladder file the ladder was read from; None for the built-in one.
    pub ladder_file: Option<std::path::PathBuf>,
}

impl Setup {
    /// The conventions as JSON, stored with saved positions so a snapshot says how it was
    /// computed (`ladder`: the ladder file, null for the built-in one).
    pub fn conventions_json(&self) -> String {
        let c = &self.conv;
        let order: Vec<&str> = c.order.iter().map(|x| x.as_str()).collect();
        serde_json::json!({
            "grace_days": c.grace_days,
            "tolerance": crate::money::fmt_amount(c.tolerance),
            "tolerance_pct": c.tolerance_pct.normalize().to_string(),
            "penalty_multiplier": c.penalty_multiplier.to_string(),
            "compound_interest": c.compound_interest,
            "penalty_first": c.penalty_first,
            "order": order.join(","),
            "prepay": c.prepay.as_str(),
            "buckets": self.buckets.to_string(),
            "ladder": self.ladder_file.as_ref().map(|p| p.display().to_string()),
        })
        .to_string()
    }
}

/// One loan as of one date: the engine's position and what the rules make of it.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Index of the date in [`Setup::dates`].
    pub date: usize,
    pub position: Position,
    /// Index of the aging bucket in [`Setup::buckets`].
    pub bucket: usize,
    /// The ladder's next action and SLA status; empty when the loan is not overdue or closed.
    pub action: Action,
    /// Promises to pay logged up to the date; empty when the loan is closed.
    pub promises: PromiseSummary,
}

/// One loan and its assessments, one per date of the setup on or after its origination.
#[derive(Debug)]
pub struct LoanAssessment<'b> {
    pub book: &'b book::LoanBook,
    pub dates: &'b [Assessment],
}

/// Receives the assessed loans of one key range. The ranges' consumers are merged at the end,
/// in key order; there are several per worker (and as many as the book has ranges, a handful to
/// a few dozen), so what a consumer holds besides its loans' results should be small, and what
/// it holds only while it streams (an index, a connection, a buffer) let go in `finish`.
pub trait Consumer: Send + Sized {
    /// One loan, in key order within the range.
    fn loan(&mut self, loan: &LoanAssessment<'_>) -> Result<()>;
    /// The range is done: flush what is buffered, let go of channels.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    /// Takes in the results of the next key range.
    fn merge(&mut self, later: Self);
    /// Whether the positions should list each installment's status
    /// ([`Position::installments`], [`Position::settled`]); a consumer that reads neither
    /// returns [`engine::Detail::Figures`] and the scan skips building them.
    fn detail(&self) -> engine::Detail {
        engine::Detail::Installments
    }
    /// [`Consumer::detail`] for one loan, for a consumer that reads the installments of a few
    /// loans only (by default the consumer's `detail`, the same for every loan).
    fn loan_detail(&self, _loan: &book::LoanBook) -> engine::Detail {
        self.detail()
    }
}

/// Assesses every loan of the ledger for every date of `setup`, feeding one consumer per key
/// range (made by `make` with the range's index, in key order), and returns their merge.
/// Position warnings are listed with `-v`.
pub fn scan<C: Consumer>(ctx: &Ctx, setup: &Setup, make: impl Fn(usize) -> C + Sync) -> Result<C> {
    let threads = workers();
    scan_with(ctx, setup, threads, ranges_for(threads), make)
}

/// How many worker threads scan the book: one per core, at most 4.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// Key ranges a worker scans, on average. The work per loan is uneven (an older loan has more
/// installments and payments, and the keys follow origination), so ranges of as many loans
/// take unequal times: cut finer than the workers and pulled one at a time, the workers end
/// within about one range of each other.
const RANGES_PER_WORKER: usize = 8;

/// How many key ranges the book is cut into for `threads` workers (a small book gets fewer:
/// [`book::MIN_RANGE_LOANS`]).
fn ranges_for(threads: usize) -> usize {
    if threads > 1 {
        threads * RANGES_PER_WORKER
    } else {
        1
    }
}

/// [`scan`] with `threads` workers over the book cut into about `parts` key ranges: each
/// worker, on its own read connection, pulls the next range in key order until none is left.
fn scan_with<C: Consumer>(
    ctx: &Ctx,
    setup: &Setup,
    threads: usize,
    parts: usize,
    make: impl Fn(usize) -> C + Sync,
) -> Result<C> {
    let t0 = std::time::Instant::now();
    let ranges = {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        book::split(&conn, parts)?
    };
    ctx.debug(&format!(
        "portfolio: {} key range(s) over {threads} worker(s), split in {:.3} s",
        ranges.len(),
        t0.elapsed().as_secs_f64()
    ));
    let next = AtomicUsize::new(0);
    let done = std::thread::scope(|scope| -> Result<Vec<(usize, Result<C>)>> {
        let (make, ranges, next) = (&make, &ranges, &next);
        let handles: Vec<_> = (0..threads.clamp(1, ranges.len()))
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    let mut conn = None;
                    while let Some(i) = pull(next, ranges.len()) {
                        let scanned = scan_range(ctx, setup, &mut conn, &ranges[i], make(i));
                        if scanned.is_err() {
                            // No later range is started: the error of the first range in key
                            // order that fails is the one reported (every earlier range was
                            // pulled before this one and runs to its end).
                            next.store(ranges.len(), Ordering::Relaxed);
                        }
                        done.push((i, scanned));
                    }
                    done
                })
            })
            .collect();
        let mut done = Vec::new();
        for h in handles {
            done.extend(
                h.join()
                    .map_err(|_| anyhow!("a portfolio worker thread panicked"))?,
            );
        }
        Ok(done)
    })?;
    let mut parts = in_key_order(done)?.into_iter();
    let mut all = match parts.next() {
        Some(first) => first,
        None => {
            let mut c = make(0);
            c.finish()?;
            c
        }
    };
    for p in parts {
        all.merge(p);
    }
    Ok(all)
}

/// The index of the next range to scan, if one is left.
fn pull(next: &AtomicUsize, ranges: usize) -> Option<usize> {
    let i = next.fetch_add(1, Ordering::Relaxed);
    (i < ranges).then_some(i)
}

/// The ranges' results, as the workers returned them (each worker its own ranges, in the order
/// it pulled them), put in key order (by range index): the parts to merge, or the error of the
/// first range in key order that failed.
fn in_key_order<C>(mut done: Vec<(usize, Result<C>)>) -> Result<Vec<C>> {
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Items of the scan's key ranges as the workers send them (each range's in order, the
/// ranges interleaved), handed on in key order: a range's as they come once every range
/// before it is done, a later range's kept until then. Meant for compact items (chunks of
/// rows): when the receiver is slower than the scan, the later ranges' items wait in memory.
pub struct InKeyOrder<T> {
    /// The range handed on as it comes.
    next: usize,
    waiting: BTreeMap<usize, Vec<T>>,
    /// Later ranges that are done.
    done: BTreeSet<usize>,
}

impl<T> Default for InKeyOrder<T> {
    fn default() -> Self {
        InKeyOrder {
            next: 0,
            waiting: BTreeMap::new(),
            done: BTreeSet::new(),
        }
    }
}

impl<T> InKeyOrder<T> {
    /// Takes in an item of range `part` (`last`: the range's last) and hands on to `f` what
    /// is next in key order.
    pub fn take(
        &mut self,
        part: usize,
        item: T,
        last: bool,
        f: &mut dyn FnMut(T) -> Result<()>,
    ) -> Result<()> {
        if part == self.next {
            f(item)?;
        } else {
            self.waiting.entry(part).or_default().push(item);
        }
        if last {
            self.done.insert(part);
        }
        while self.done.remove(&self.next) {
            self.next += 1;
            for item in self.waiting.remove(&self.next).unwrap_or_default() {
                f(item)?;
            }
        }
        Ok(())
    }
}

/// Scans one key range into `consumer`, on the worker's connection (opened at its first range).
fn scan_range<C: Consumer>(
    ctx: &Ctx,
    setup: &Setup,
    conn: &mut Option<rusqlite::Connection>,
    range: &book::KeyRange,
    mut consumer: C,
) -> Result<C> {
    let conn = match conn {
        Some(c) => c,
        None => conn.insert(db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?),
    };
    let mut scan = book::Scan::prepare(conn, range)?;
    let mut assessed: Vec<Assessment> = Vec::with_capacity(setup.dates.len());
    scan.for_each(|b| {
        // Dates on or after origination (a suffix of the ascending dates).
        let first = setup
            .dates
            .iter()
            .position(|d| b.info.origination_date.is_none_or(|o| o <= *d));
        let Some(first) = first else {
            return Ok(());
        };
        let dates = &setup.dates[first..];
        // Across the schedule versions of restructures in force (the engine alone without).
        let positions = restructure::replay::positions_with(
            &b.terms,
            &b.installments,
            &b.versions,
            &b.payments,
            dates,
            &setup.conv,
            consumer.loan_detail(b),
        );
        assessed.clear();
        for (k, p) in positions.into_iter().enumerate() {
            if ctx.verbose {
                for w in &p.warnings {
                    ctx.debug(&format!("loan_id {}: {w}", b.info.loan_id));
                }
            }
            assessed.push(assess(setup, b, first + k, p));
        }
        consumer.loan(&LoanAssessment {
            book: b,
            dates: &assessed,
        })
    })?;
    consumer.finish()?;
    Ok(consumer)
}

/// The enrichment of one position.
fn assess(setup: &Setup, b: &book::LoanBook, date: usize, p: Position) -> Assessment {
    let bucket = setup.buckets.index(p.dpd);
    let (mut action, mut promises) = (Action::default(), PromiseSummary::default());
    if !p.closed {
        if p.dpd > 0 {
            action = collection::next_action(
                &setup.ladder,
                p.dpd,
                p.overdue_since,
                &b.followups,
                p.as_of,
            );
        }
        if !b.followups.is_empty() {
            let paid = engine::payments_in_force(&b.payments, p.as_of);
            promises =
                collection::promise_summary(&collection::promises(&b.followups, &paid, p.as_of));
        }
    }
    Assessment {
        date,
        position: p,
        bucket,
        action,
        promises,
    }
}

/// Open loans of one aging bucket on one date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketTotals {
    pub loans: u64,
    pub outstanding_principal: Decimal,
    pub overdue_principal: Decimal,
    pub overdue_interest: Decimal,
}

/// The book on one date: open (not closed) loans, how many are overdue, and per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Aging {
    pub as_of: NaiveDate,
    pub active: u64,
    pub overdue: u64,
    /// One per bucket of the setup, in order.
    pub buckets: Vec<BucketTotals>,
}

impl Aging {
    /// Empty tables, one per date of the setup.
    pub fn for_setup(setup: &Setup) -> Vec<Aging> {
        setup
            .dates
            .iter()
            .map(|&as_of| Aging {
                as_of,
                active: 0,
                overdue: 0,
                buckets: vec![BucketTotals::default(); setup.buckets.as_slice().len()],
            })
            .collect()
    }

    /// Counts an open loan's assessment (closed ones are not counted).
    pub fn add(&mut self, a: &Assessment) {
        let p = &a.position;
        if p.closed {
            return;
        }
        self.active += 1;
        if p.dpd > 0 {
            self.overdue += 1;
        }
        if let Some(t) = self.buckets.get_mut(a.bucket) {
            t.loans += 1;
            t.outstanding_principal += p.outstanding_principal;
            t.overdue_principal += p.overdue_principal;
            t.overdue_interest += p.overdue_interest;
        }
    }

    /// Adds another worker's counts for the same date.
    pub fn merge(&mut self, o: &Aging) {
        self.active += o.active;
        self.overdue += o.overdue;
        for (t, x) in self.buckets.iter_mut().zip(&o.buckets) {
            t.loans += x.loans;
            t.outstanding_principal += x.outstanding_principal;
            t.overdue_principal += x.overdue_principal;
            t.overdue_interest += x.overdue_interest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    /// A ledger file: L1 overdue since 02-01 with a broken promise and a reversed payment,
    /// L2 paid off, L3 originated after the first date.
    fn ledger(dir: &std::path::Path) -> Ctx {
        let path = dir.join("t.db");
        let c = db::open(&path, db::Mode::Create, std::time::Duration::from_secs(1)).unwrap();
        c.execute_batch(
            "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, annual_rate,
                origination_date, term_months, repayment_method, officer) VALUES
                ('L1', 'B1', 'individual', 'CNY', 100000, '4.9', '2026-01-01', 1, 'bullet', 'a'),
                ('L2', 'B2', 'individual', 'CNY', 100000, '4.9', '2026-01-01', 1, 'bullet', 'b'),
                ('L3', 'B3', 'individual', 'CNY', 100000, '4.9', '2026-02-15', 1, 'bullet', 'c');
             INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due) VALUES
                ('L1', 1, '2026-02-01', 100000, 0), ('L2', 1, '2026-02-01', 100000, 0),
                ('L3', 1, '2026-03-15', 100000, 0);
             INSERT INTO repayments (loan_id, txn_id, paid_on, amount, reverses_txn_id) VALUES
                ('L1', 'T1', '2026-02-05', 5000, NULL), ('L1', 'R1', '2026-02-06', 5000, 'T1'),
                ('L2', 'T2', '2026-02-01', 100000, NULL);
             INSERT INTO followups (followup_id, loan_id, contact_date, channel, outcome,
                promise_date, promise_amount) VALUES
                ('F1', 'L1', '2026-02-03', 'phone', 'promise_to_pay', '2026-02-05', 5000);",
        )
        .unwrap();
        Ctx {
            db: path,
            as_of: d("2026-03-01"),
            as_of_given: true,
            format: crate::cli::Format::Csv,
            output: None,
            quiet: true,
            verbose: false,
            color_stdout: false,
            color_stderr: false,
            busy_timeout: std::time::Duration::from_secs(1),
            show_pii: false,
            lang: crate::i18n::Lang::En,
            csv_bom: false,
            terminal_width: None,
            columns: None,
        }
    }

    /// The built-in conventions, buckets and ladder over `dates`.
    fn setup(dates: &[&str]) -> Setup {
        Setup {
            dates: dates.iter().map(|x| d(x)).collect(),
            conv: Conventions::default(),
            buckets: Buckets::default_days(),
            ladder: Ladder::default(),
            ladder_file: None,
        }
    }

    /// (loan_id, date index, dpd, bucket, next action, promises broken) of every assessment.
    #[derive(Default)]
    struct Seen(Vec<(String, usize, u32, usize, Option<String>, u32)>);

    impl Consumer for Seen {
        fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
            for x in a.dates {
                self.0.push((
                    a.book.info.loan_id.clone(),
                    x.date,
                    x.position.dpd,
                    x.bucket,
                    x.action.next_action.clone(),
                    x.promises.broken,
                ));
            }
            Ok(())
        }
        fn merge(&mut self, later: Self) {
            self.0.extend(later.0);
        }
    }

    #[test]
    fn every_loan_is_assessed_for_each_date_since_origination() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ledger(dir.path());
        let setup = setup(&["2026-02-04", "2026-03-01"]);
        let seen = scan(&ctx, &setup, |_| Seen::default()).unwrap().0;
        let first_step = setup.ladder.step_for(3).map(|s| s.action.clone());
        let later_step = setup.ladder.step_for(28).map(|s| s.action.clone());
        assert_eq!(
            seen,
            [
                // The promise of 02-05 is pending on 02-04; on 03-01 it is broken because the
                // payment that kept it was reversed.
                ("L1".into(), 0, 3, 1, first_step, 0),
                ("L1".into(), 1, 28, 1, later_step, 1),
                // Closed: no action, no promises.
                ("L2".into(), 0, 0, 0, None, 0),
                ("L2".into(), 1, 0, 0, None, 0),
                // Not yet originated on 02-04.
                ("L3".into(), 1, 0, 0, None, 0),
            ]
        );
    }

    #[test]
    fn ranges_interleaved_are_handed_on_in_key_order() {
        // Range 1 sends before range 0 is done, range 3 before 2; range 0 ends last but one.
        let sent = [
            (1, "1a", false),
            (0, "0a", false),
            (3, "3a", true),
            (1, "1b", true),
            (0, "0b", false),
            (2, "2a", false),
            (0, "0c", true),
            (2, "2b", true),
        ];
        let mut order = InKeyOrder::default();
        let mut got = Vec::new();
        for (part, item, last) in sent {
            order
                .take(part, item, last, &mut |x| {
                    got.push(x);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(got, ["0a", "0b", "0c", "1a", "1b", "2a", "2b", "3a"]);
        // A failing receiver says so at once.
        let mut order = InKeyOrder::default();
        let fails = order.take(0, 1, false, &mut |_| Err(anyhow!("full")));
        assert!(fails.is_err());
    }

    #[test]
    fn ranges_finished_in_any_order_are_merged_in_key_order() {
        let done: Vec<(usize, Result<&str>)> =
            vec![(1, Ok("b")), (3, Ok("d")), (0, Ok("a")), (2, Ok("c"))];
        assert_eq!(in_key_order(done).unwrap(), ["a", "b", "c", "d"]);
        // The first range in key order that failed is the error, whichever worker ended first.
        let done: Vec<(usize, Result<&str>)> = vec![
            (3, Err(anyhow!("in 3"))),
            (0, Ok("a")),
            (1, Err(anyhow!("in 1"))),
        ];
        assert_eq!(in_key_order(done).unwrap_err().to_string(), "in 1");
    }

    #[test]
    fn the_next_range_is_pulled_once_each_until_none_is_left() {
        let next = AtomicUsize::new(0);
        let mut got = Vec::new();
        while let Some(i) = pull(&next, 3) {
            got.push(i);
        }
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(pull(&next, 3), None);
    }

    #[test]
    fn many_ranges_over_few_workers_feed_each_loan_once_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ledger(dir.path());
        {
            let c = db::open(&ctx.db, db::Mode::Write, ctx.busy_timeout).unwrap();
            let mut ins = c
                .prepare(
                    "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, \
                     annual_rate, origination_date, term_months, repayment_method) \
                     VALUES (?1, 'B', 'individual', 'CNY', 100, '1', '2026-01-01', 1, 'bullet')",
                )
                .unwrap();
            for i in 0..7000 {
                ins.execute([format!("M{i:05}")]).unwrap();
            }
        }
        let setup = setup(&["2026-03-01"]);
        /// The loan ids seen, and the ranges (by index) this consumer and its merged ones had.
        struct Ids(Vec<String>, Vec<usize>);
        impl Consumer for Ids {
            fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
                self.0.push(a.book.info.loan_id.clone());
                Ok(())
            }
            fn merge(&mut self, later: Self) {
                self.0.extend(later.0);
                self.1.extend(later.1);
            }
        }
        let all = scan_with(&ctx, &setup, 3, 6, |i| Ids(Vec::new(), vec![i])).unwrap();
        assert_eq!(
            all.1,
            [0, 1, 2, 3, 4, 5],
            "one consumer a range, merged in order"
        );
        let mut want: Vec<String> = ["L1", "L2", "L3"].map(String::from).to_vec();
        want.extend((0..7000).map(|i| format!("M{i:05}")));
        assert_eq!(all.0.len(), want.len());
        assert!(all.0 == want, "not each loan once in key order");
    }

    #[test]
    fn aging_counts_open_loans_per_bucket_and_merges() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ledger(dir.path());
        let setup = setup(&["2026-03-01"]);
        #[derive(Default)]
        struct Table(Vec<Aging>);
        impl Consumer for Table {
            fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
                for x in a.dates {
                    self.0[x.date].add(x);
                }
                Ok(())
            }
            fn merge(&mut self, later: Self) {
                for (a, b) in self.0.iter_mut().zip(&later.0) {
                    a.merge(b);
                }
            }
        }
        let mut t = scan(&ctx, &setup, |_| Table(Aging::for_setup(&setup)))
            .unwrap()
            .0;
        assert_eq!((t[0].active, t[0].overdue), (2, 1));
        assert_eq!(t[0].buckets[1].loans, 1);
        assert_eq!(t[0].buckets[1].overdue_principal, m("1000.00"));
        assert_eq!(t[0].buckets[0].outstanding_principal, m("1000.00"));
        let copy = t[0].clone();
        t[0].merge(&copy);
        assert_eq!((t[0].active, t[0].buckets[1].loans), (4, 2));
    }
}
