//! Streams the book loan by loan: loans, schedule, repayments and followups are each read in
//! `loan_id` order and merged on the key, so memory holds one loan at a time and the whole
//! book costs one ordered scan of each table (DESIGN.md §3). Also stores derived positions.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{params, Connection, Statement};
use rust_decimal::Decimal;

use crate::collection::{Channel, Followup, Outcome, Party};
use crate::dates::{from_ledger, from_ledger_bytes, iso};
use crate::db::ledger::Day;
use crate::engine::{Installment, LoanTerms, Payment};
use crate::money::from_fen as fen;
use crate::restructure::replay::VersionFacts;

/// What a listing shows about a loan besides its position.
#[derive(Clone, Debug, Default)]
pub struct LoanInfo {
    pub loan_id: String,
    pub borrower_id: String,
    pub borrower_name: String,
    pub borrower_type: String,
    pub phone: String,
    pub region: String,
    pub branch: String,
    pub officer: String,
    pub product: String,
    pub currency: String,
    pub origination_date: Option<NaiveDate>,
}

/// One loan with everything the engine needs.
#[derive(Clone, Debug)]
pub struct LoanBook {
    pub info: LoanInfo,
    pub terms: LoanTerms,
    pub installments: Vec<Installment>,
    pub payments: Vec<Payment>,
    pub followups: Vec<Followup>,
    /// The conduct columns of each follow-up (same order as `followups`).
    pub followup_details: Vec<FollowupDetail>,
    /// Schedule versions of restructures in force (cancelled ones left out), by effective date.
    pub versions: Vec<VersionFacts>,
}

/// The conduct columns of a follow-up (schema v6), as logged; all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowupDetail {
    /// `contact_time`, `HH:MM` local time.
    pub time: Option<chrono::NaiveTime>,
    pub party: Option<Party>,
    pub connected: Option<bool>,
    /// `consent_window` as written (e.g. `18:00-21:00`).
    pub consent_window: Option<String>,
}

/// A cursor over one child table, ordered by loan_id, that yields the rows of one loan at a time.
/// Rows are decoded in place: the row waiting in `pending` is swapped into the loan's Vec, whose
/// slots (and the Strings they own) are kept from loan to loan, with the slots a loan did not
/// need put aside in `spare`; the loan key of the waiting row is kept as bytes in a reused
/// buffer. Once the buffers have grown the merge allocates nothing per row.
struct Child<'s, T> {
    rows: rusqlite::Rows<'s>,
    pending_id: Vec<u8>,
    pending: T,
    /// Whether `pending` holds a row not yet taken.
    waiting: bool,
    spare: Vec<T>,
    blank: fn() -> T,
    read: Decoder<T>,
    done: bool,
}

/// Decodes a row into a slot.
type Decoder<T> = fn(&rusqlite::Row<'_>, &mut T) -> Result<()>;

impl<'s, T> Child<'s, T> {
    fn new(rows: rusqlite::Rows<'s>, blank: fn() -> T, read: Decoder<T>) -> Self {
        Child {
            rows,
            pending_id: Vec::new(),
            pending: blank(),
            waiting: false,
            spare: Vec::new(),
            blank,
            read,
            done: false,
        }
    }

    fn fill(&mut self) -> Result<()> {
        if !self.waiting && !self.done {
            match self.rows.next()? {
                Some(r) => {
                    self.pending_id.clear();
                    self.pending_id.extend_from_slice(r.get_ref(0)?.as_bytes()?);
                    (self.read)(r, &mut self.pending).map_err(|e| {
                        e.context(format!(
                            "loan_id {}",
                            String::from_utf8_lossy(&self.pending_id)
                        ))
                    })?;
                    self.waiting = true;
                }
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// Puts the rows of `loan_id` in `out`, skipping rows of loans that sort before it
    /// (byte order, as SQLite's BINARY collation sorts them).
    fn take(&mut self, loan_id: &str, out: &mut Vec<T>) -> Result<()> {
        let key = loan_id.as_bytes();
        let mut n = 0;
        loop {
            self.fill()?;
            if !self.waiting {
                break;
            }
            match self.pending_id.as_slice().cmp(key) {
                std::cmp::Ordering::Less => self.waiting = false,
                std::cmp::Ordering::Equal => {
                    if n == out.len() {
                        out.push(self.spare.pop().unwrap_or_else(self.blank));
                    }
                    std::mem::swap(&mut self.pending, &mut out[n]);
                    n += 1;
                    self.waiting = false;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        self.spare.extend(out.drain(n..));
        Ok(())
    }
}

fn query_range<'s>(
    stmt: &'s mut Statement<'_>,
    range: &KeyRange,
) -> rusqlite::Result<rusqlite::Rows<'s>> {
    match &range.hi {
        Some(hi) => stmt.query(params![range.lo, hi]),
        None => stmt.query(params![range.lo]),
    }
}

fn date_at(r: &rusqlite::Row<'_>, i: usize, table: &str, col: &str) -> Result<NaiveDate> {
    from_ledger_bytes(r.get_ref(i)?.as_bytes()?).ok_or_else(|| {
        crate::exit::data(format!(
            "ledger table {table}: column {col} does not hold a YYYY-MM-DD date"
        ))
    })
}

fn opt_date_at(
    r: &rusqlite::Row<'_>,
    i: usize,
    table: &str,
    col: &str,
) -> Result<Option<NaiveDate>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => date_at(r, i, table, col).map(Some),
    }
}

/// Sets `s` to the text of column `i`, in the String's own buffer.
fn text_into(s: &mut String, r: &rusqlite::Row<'_>, i: usize) -> Result<()> {
    s.clear();
    s.push_str(r.get_ref(i)?.as_str()?);
    Ok(())
}

/// An installment from the five columns from `at` on: installment_no, due_date, principal_due,
/// interest_due, fee_due (fen) — of `schedule` and of `restructure_schedule` alike.
pub(crate) fn installment_at(r: &rusqlite::Row<'_>, at: usize, table: &str) -> Result<Installment> {
    Ok(Installment {
        installment_no: r.get(at)?,
        due_date: date_at(r, at + 1, table, "due_date")?,
        principal_due: fen(r.get(at + 2)?),
        interest_due: fen(r.get(at + 3)?),
        fee_due: fen(r.get(at + 4)?),
    })
}

/// The earliest origination date in the book, if any loan has one.
pub fn earliest_origination(c: &Connection) -> Result<Option<NaiveDate>> {
    let s: Option<String> = c
        .query_row("SELECT MIN(origination_date) FROM loans", [], |r| r.get(0))
        .context("reading the earliest origination date")?;
    Ok(s.as_deref().and_then(from_ledger))
}

/// The four ordered queries of a book scan. Prepare once, then call [`Scan::for_each`].
pub struct Scan<'c> {
    loans: Statement<'c>,
    schedule: Statement<'c>,
    repayments: Statement<'c>,
    followups: Statement<'c>,
    versions: Statement<'c>,
    range: KeyRange,
}

/// A range of loan ids, `lo <= loan_id < hi` (no upper end when `hi` is None).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRange {
    pub lo: String,
    pub hi: Option<String>,
}

/// The fewest loans a range of [`split`] holds: a smaller book is cut into fewer ranges (one
/// below twice this), since a range costs its own queries and its own consumer.
pub const MIN_RANGE_LOANS: u64 = 1000;

/// Splits the book into `parts` ranges holding about as many loans each (fewer when the book
/// holds fewer than [`MIN_RANGE_LOANS`] a range), in key order, covering every key once. The
/// bounds are found in one pass over the key index, stopped at the last bound (at a million
/// loans and 16 ranges ~0.1 s; an `OFFSET` query per bound walks the index again for each).
pub fn split(c: &Connection, parts: usize) -> Result<Vec<KeyRange>> {
    let n: i64 = c.query_row("SELECT count(*) FROM loans", [], |r| r.get(0))?;
    let cuts = cut_points(n.max(0) as u64, parts as u64);
    let mut bounds: Vec<String> = Vec::with_capacity(cuts.len());
    if !cuts.is_empty() {
        let mut stmt = c.prepare("SELECT loan_id FROM loans ORDER BY loan_id")?;
        let mut rows = stmt.query([])?;
        let mut cuts = cuts.iter().peekable();
        let mut at = 0u64;
        while let Some(&&cut) = cuts.peek() {
            let Some(r) = rows.next()? else { break };
            if at == cut {
                bounds.push(r.get(0)?);
                cuts.next();
            }
            at += 1;
        }
    }
    Ok(ranges_between(bounds))
}

/// Where `n` loans in key order are cut into `parts` ranges of about as many each, at least
/// [`MIN_RANGE_LOANS`] a range: the position of each range's first loan but the first range's,
/// ascending, each in `1..n` (empty: one range).
fn cut_points(n: u64, parts: u64) -> Vec<u64> {
    let parts = parts.min(n / MIN_RANGE_LOANS).max(1);
    (1..parts).map(|k| n * k / parts).collect()
}

/// The ranges between ascending bounds: from the start of the keys to the first bound, from
/// each bound to the next, from the last to the end (a bound that repeats the one before is
/// skipped: no range is empty by construction).
fn ranges_between(bounds: Vec<String>) -> Vec<KeyRange> {
    let mut ranges = Vec::with_capacity(bounds.len() + 1);
    let mut lo = String::new();
    for b in bounds {
        if b <= lo {
            continue;
        }
        ranges.push(KeyRange {
            lo: std::mem::replace(&mut lo, b.clone()),
            hi: Some(b),
        });
    }
    ranges.push(KeyRange { lo, hi: None });
    ranges
}

impl<'c> Scan<'c> {
    /// Prepares the scan of the loans whose `loan_id` lies in `range`. The child tables are
    /// read from the range's first key on, without its upper end: the merge stops stepping
    /// them at the first row past the range's last loan, so an upper bound in their queries
    /// would only cost SQLite a key comparison per row. (Restructured schedules keep it: SQLite
    /// sorts them first.)
    pub fn prepare(c: &'c Connection, range: &KeyRange) -> Result<Scan<'c>> {
        let cond = match range.hi {
            Some(_) => "loan_id >= ?1 AND loan_id < ?2",
            None => "loan_id >= ?1",
        };
        Ok(Scan {
            loans: c.prepare(&format!(
                "SELECT loan_id, principal, annual_rate, origination_date, borrower_name, borrower_type, phone, \
                 region, branch, officer, product, currency, borrower_id FROM loans WHERE {cond} ORDER BY loan_id"
            ))?,
            schedule: c.prepare(
                "SELECT loan_id, installment_no, due_date, principal_due, interest_due, fee_due \
                 FROM schedule WHERE loan_id >= ?1 ORDER BY loan_id, installment_no",
            )?,
            repayments: c.prepare(
                "SELECT loan_id, txn_id, paid_on, amount, reverses_txn_id FROM repayments \
                 WHERE loan_id >= ?1 ORDER BY loan_id",
            )?,
            followups: c.prepare(
                "SELECT loan_id, contact_date, channel, outcome, promise_date, promise_amount, \
                 contact_time, contact_party, connected, consent_window \
                 FROM followups WHERE loan_id >= ?1 ORDER BY loan_id, contact_date",
            )?,
            // Sorted by SQLite (a temporary b-tree): bounded, so the sort holds the range only.
            versions: c.prepare(&format!(
                "SELECT r.loan_id, r.restructure_id, r.effective_date, r.transfer, s.installment_no, s.due_date, \
                 s.principal_due, s.interest_due, s.fee_due FROM restructures r JOIN restructure_schedule s \
                 ON s.loan_id = r.loan_id AND s.restructure_id = r.restructure_id \
                 WHERE r.cancelled = 0 AND {} \
                 ORDER BY r.loan_id, r.effective_date, r.restructure_id, s.installment_no",
                cond.replace("loan_id", "r.loan_id")
            ))?,
            range: range.clone(),
        })
    }

    /// Calls `f` for every loan, in loan_id order, with its schedule, payments and followups.
    /// The LoanBook handed over is one and the same, refilled from loan to loan in its own
    /// buffers.
    pub fn for_each(&mut self, mut f: impl FnMut(&LoanBook) -> Result<()>) -> Result<()> {
        let mut sched = Child::new(
            self.schedule.query(params![self.range.lo])?,
            blank_installment,
            |r, slot| {
                *slot = installment_at(r, 1, "schedule")?;
                Ok(())
            },
        );
        let mut pays = Child::new(
            self.repayments.query(params![self.range.lo])?,
            || Payment {
                txn_id: String::new(),
                paid_on: NaiveDate::MIN,
                amount: Decimal::ZERO,
                reverses_txn_id: None,
            },
            |r, p| {
                text_into(&mut p.txn_id, r, 1)?;
                p.paid_on = date_at(r, 2, "repayments", "paid_on")?;
                p.amount = fen(r.get(3)?);
                match r.get_ref(4)? {
                    rusqlite::types::ValueRef::Null => p.reverses_txn_id = None,
                    _ => text_into(p.reverses_txn_id.get_or_insert_with(String::new), r, 4)?,
                }
                Ok(())
            },
        );
        let mut fups = Child::new(
            self.followups.query(params![self.range.lo])?,
            || {
                (
                    Followup {
                        contact_date: NaiveDate::MIN,
                        channel: Channel::Phone,
                        outcome: Outcome::Other,
                        promise_date: None,
                        promise_amount: None,
                    },
                    FollowupDetail::default(),
                )
            },
            |r, slot| {
                let amount: Option<i64> = r.get(5)?;
                let followup = Followup {
                    contact_date: date_at(r, 1, "followups", "contact_date")?,
                    channel: Channel::parse(r.get_ref(2)?.as_str()?).ok_or_else(|| {
                        crate::exit::data(
                            "ledger table followups: column channel holds an unknown channel",
                        )
                    })?,
                    outcome: Outcome::parse(r.get_ref(3)?.as_str()?).ok_or_else(|| {
                        crate::exit::data(
                            "ledger table followups: column outcome holds an unknown outcome",
                        )
                    })?,
                    promise_date: opt_date_at(r, 4, "followups", "promise_date")?,
                    promise_amount: amount.map(fen),
                };
                let time: Option<String> = r.get(6)?;
                let party: Option<String> = r.get(7)?;
                let detail = FollowupDetail {
                    time: time.and_then(|t| chrono::NaiveTime::parse_from_str(&t, "%H:%M").ok()),
                    party: party.as_deref().and_then(Party::parse),
                    connected: r.get::<_, Option<i64>>(8)?.map(|c| c != 0),
                    consent_window: r.get(9)?,
                };
                *slot = (followup, detail);
                Ok(())
            },
        );
        let mut followup_rows: Vec<(Followup, FollowupDetail)> = Vec::new();
        let mut vers = Child::new(
            query_range(&mut self.versions, &self.range)?,
            || {
                (
                    String::new(),
                    NaiveDate::MIN,
                    Decimal::ZERO,
                    blank_installment(),
                )
            },
            |r, slot| {
                text_into(&mut slot.0, r, 1)?;
                slot.1 = date_at(r, 2, "restructures", "effective_date")?;
                slot.2 = fen(r.get(3)?);
                slot.3 = installment_at(r, 4, "restructure_schedule")?;
                Ok(())
            },
        );
        let mut version_rows: Vec<(String, NaiveDate, Decimal, Installment)> = Vec::new();
        let mut rows = query_range(&mut self.loans, &self.range)?;
        let mut book = LoanBook {
            info: LoanInfo::default(),
            terms: LoanTerms {
                annual_rate_pct: Decimal::ZERO,
                principal: Decimal::ZERO,
            },
            installments: Vec::new(),
            payments: Vec::new(),
            followups: Vec::new(),
            followup_details: Vec::new(),
            versions: Vec::new(),
        };
        while let Some(r) = rows.next()? {
            let info = &mut book.info;
            text_into(&mut info.loan_id, r, 0)?;
            book.terms = LoanTerms {
                principal: fen(r.get(1)?),
                annual_rate_pct: r.get_ref(2)?.as_str()?.parse().map_err(|_| {
                    crate::exit::data(format!(
                        "ledger table loans, loan_id {}: annual_rate is not a decimal",
                        info.loan_id
                    ))
                })?,
            };
            info.origination_date = from_ledger_bytes(r.get_ref(3)?.as_bytes()?);
            text_into(&mut info.borrower_name, r, 4)?;
            text_into(&mut info.borrower_type, r, 5)?;
            text_into(&mut info.phone, r, 6)?;
            text_into(&mut info.region, r, 7)?;
            text_into(&mut info.branch, r, 8)?;
            text_into(&mut info.officer, r, 9)?;
            text_into(&mut info.product, r, 10)?;
            text_into(&mut info.currency, r, 11)?;
            text_into(&mut info.borrower_id, r, 12)?;
            let id = &book.info.loan_id;
            sched.take(id, &mut book.installments)?;
            pays.take(id, &mut book.payments)?;
            fups.take(id, &mut followup_rows)?;
            book.followups.clear();
            book.followup_details.clear();
            for (f, d) in followup_rows.drain(..) {
                book.followups.push(f);
                book.followup_details.push(d);
            }
            vers.take(id, &mut version_rows)?;
            book.versions.clear();
            let mut last_id: Option<&str> = None;
            for (id, eff, transfer, inst) in &version_rows {
                if last_id != Some(id.as_str()) {
                    book.versions.push(VersionFacts {
                        effective: *eff,
                        transfer: *transfer,
                        installments: Vec::new(),
                    });
                    last_id = Some(id.as_str());
                }
                if let Some(v) = book.versions.last_mut() {
                    v.installments.push(*inst);
                }
            }
            f(&book).with_context(|| format!("loan_id {}", book.info.loan_id))?;
        }
        Ok(())
    }
}

/// A placeholder slot for an installment row, overwritten before it is read.
fn blank_installment() -> Installment {
    Installment {
        installment_no: 0,
        due_date: NaiveDate::MIN,
        principal_due: Decimal::ZERO,
        interest_due: Decimal::ZERO,
        fee_due: Decimal::ZERO,
    }
}

/// One saved position row.
#[derive(Clone, Debug)]
pub struct SavedPosition {
    pub as_of: NaiveDate,
    pub loan_id: String,
    pub dpd: u32,
    pub bucket: String,
    pub overdue_since: Option<NaiveDate>,
    pub overdue_principal: i64,
    pub overdue_interest: i64,
    pub overdue_fee: i64,
    pub penalty_interest: i64,
    pub outstanding_principal: i64,
    pub installments_overdue: u32,
    pub last_payment_date: Option<NaiveDate>,
    pub max_dpd: u32,
    pub next_action: Option<String>,
    pub sla_breached: bool,
    pub promises_broken: u32,
}

/// Deletes the saved positions of `as_of` (a rerun replaces its date).
pub fn clear_positions(c: &Connection, as_of: NaiveDate) -> Result<usize> {
    let d = iso(as_of);
    let n = c.execute("DELETE FROM positions WHERE as_of = ?1", [&d])?;
    c.execute("DELETE FROM position_runs WHERE as_of = ?1", [&d])?;
    Ok(n)
}

/// The statement that stores positions; prepare it once, then [`insert_position`] per row.
pub fn position_inserter(c: &Connection) -> Result<Statement<'_>> {
    Ok(c.prepare(
        "INSERT INTO positions (as_of, loan_id, dpd, bucket, overdue_since, overdue_principal, overdue_interest, \
         overdue_fee, penalty_interest, outstanding_principal, installments_overdue, last_payment_date, max_dpd, \
         next_action, sla_breached, promises_broken) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
    )?)
}

/// Stores one position with a statement from [`position_inserter`].
pub fn insert_position(stmt: &mut Statement<'_>, p: &SavedPosition) -> Result<()> {
    crate::hooks::pause_at("save-position");
    stmt.execute(params![
        Day::from(p.as_of),
        p.loan_id,
        p.dpd,
        p.bucket,
        p.overdue_since.map(Day::from),
        p.overdue_principal,
        p.overdue_interest,
        p.overdue_fee,
        p.penalty_interest,
        p.outstanding_principal,
        p.installments_overdue,
        p.last_payment_date.map(Day::from),
        p.max_dpd,
        p.next_action,
        p.sla_breached,
        p.promises_broken,
    ])?;
    Ok(())
}

pub fn record_run(
    c: &Connection,
    as_of: NaiveDate,
    conventions: &str,
    loans: u64,
    overdue: u64,
) -> Result<()> {
    crate::hooks::pause_at("save-run");
    c.execute(
        "INSERT INTO position_runs (as_of, computed_at, conventions, loans, overdue) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            iso(as_of),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            conventions,
            loans as i64,
            overdue as i64
        ],
    )?;
    Ok(())
}

/// Every saved date of positions with the conventions it was computed under (JSON), by date.
pub fn saved_runs(c: &Connection) -> Result<Vec<(NaiveDate, String)>> {
    let mut st = c.prepare("SELECT as_of, conventions FROM position_runs ORDER BY as_of")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (d, conv) = row?;
        if let Some(d) = from_ledger(&d) {
            out.push((d, conv));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    /// A ledger with loans L1, L2, L3 and child rows out of loan order, some for loans that are
    /// not in `loans` (the merge skips them).
    fn book() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::db::SCHEMA).unwrap();
        // Orphan child rows stand for loans outside the scanned range or missing from loans.
        c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
        c.execute_batch(
            "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, annual_rate, \
                origination_date, term_months, repayment_method, officer) VALUES
                ('L3', 'B3', 'corporate', 'CNY', 300000, '6', '2026-01-03', 12, 'annuity', 'c'),
                ('L1', 'B1', 'individual', 'CNY', 100000, '4.9', '2026-01-01', 12, 'annuity', 'a'),
                ('L2', 'B2', 'individual', 'CNY', 200000, '5', '2026-01-02', 12, 'annuity', 'b');
             INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due) VALUES
                ('L3', 2, '2026-03-03', 2000, 20), ('L1', 1, '2026-02-01', 1000, 10),
                ('L0', 1, '2026-02-01', 1, 1), ('L3', 1, '2026-02-03', 1500, 30),
                ('L15', 1, '2026-02-01', 7, 7), ('L9', 1, '2026-02-01', 9, 9);
             INSERT INTO repayments (loan_id, txn_id, paid_on, amount) VALUES
                ('L2', 'T2', '2026-02-02', 2050), ('L15', 'T15', '2026-02-02', 1);
             INSERT INTO followups (followup_id, loan_id, contact_date, channel, outcome, promise_date, promise_amount) VALUES
                ('f2', 'L3', '2026-03-10', 'visit', 'promise_to_pay', '2026-03-20', 2020),
                ('f1', 'L3', '2026-03-05', 'phone', 'no_answer', NULL, NULL);",
        )
        .unwrap();
        c
    }

    /// (loan_id, officer, principal, installment numbers, txn ids, followup dates) per loan.
    type Seen = (
        String,
        String,
        Decimal,
        Vec<u32>,
        Vec<String>,
        Vec<NaiveDate>,
    );

    fn scan(c: &Connection, range: &KeyRange) -> Vec<Seen> {
        let mut out = Vec::new();
        Scan::prepare(c, range)
            .unwrap()
            .for_each(|b| {
                out.push((
                    b.info.loan_id.clone(),
                    b.info.officer.clone(),
                    b.terms.principal,
                    b.installments.iter().map(|i| i.installment_no).collect(),
                    b.payments.iter().map(|p| p.txn_id.clone()).collect(),
                    b.followups.iter().map(|f| f.contact_date).collect(),
                ));
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn the_merge_gives_each_loan_its_own_rows_in_order() {
        let c = book();
        let all = scan(&c, &KeyRange::default());
        assert_eq!(
            all,
            vec![
                (
                    "L1".into(),
                    "a".into(),
                    m("1000.00"),
                    vec![1],
                    vec![],
                    vec![]
                ),
                (
                    "L2".into(),
                    "b".into(),
                    m("2000.00"),
                    vec![],
                    vec!["T2".into()],
                    vec![]
                ),
                (
                    "L3".into(),
                    "c".into(),
                    m("3000.00"),
                    vec![1, 2],
                    vec![],
                    vec![d("2026-03-05"), d("2026-03-10")]
                ),
            ]
        );
    }

    #[test]
    fn slots_reused_from_loan_to_loan_carry_nothing_over() {
        let c = book();
        // L1: a payment and its reversal (first by txn_id), L2: one plain payment (in the slot of
        // L1's reversal), L3: three (two slots reused, one new), L4: none and no officer.
        c.execute_batch(
            "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, annual_rate, \
                origination_date, term_months, repayment_method, officer, region) VALUES
                ('L4', 'B4', 'individual', 'CNY', 100, '1', '2026-01-04', 1, 'bullet', '', '');
             DELETE FROM repayments;
             INSERT INTO repayments (loan_id, txn_id, paid_on, amount, reverses_txn_id) VALUES
                ('L1', 'T1-long-id', '2026-02-01', 100, NULL), ('L1', 'R1', '2026-02-03', 100, 'T1-long-id'),
                ('L2', 'T2', '2026-02-02', 200, NULL),
                ('L3', 'A', '2026-02-05', 1, NULL), ('L3', 'B', '2026-02-06', 2, NULL),
                ('L3', 'C', '2026-02-07', 3, 'A');",
        )
        .unwrap();
        let mut seen = Vec::new();
        Scan::prepare(&c, &KeyRange::default())
            .unwrap()
            .for_each(|b| {
                let pays: Vec<(String, NaiveDate, Decimal, Option<String>)> = b
                    .payments
                    .iter()
                    .map(|p| {
                        (
                            p.txn_id.clone(),
                            p.paid_on,
                            p.amount,
                            p.reverses_txn_id.clone(),
                        )
                    })
                    .collect();
                seen.push((b.info.loan_id.clone(), b.info.officer.clone(), pays));
                Ok(())
            })
            .unwrap();
        let p = |id: &str, on: &str, fen: i64, rev: Option<&str>| {
            (
                id.to_string(),
                d(on),
                Decimal::new(fen, 2),
                rev.map(str::to_string),
            )
        };
        assert_eq!(
            seen,
            vec![
                (
                    "L1".to_string(),
                    "a".to_string(),
                    vec![
                        p("R1", "2026-02-03", 100, Some("T1-long-id")),
                        p("T1-long-id", "2026-02-01", 100, None)
                    ]
                ),
                (
                    "L2".to_string(),
                    "b".to_string(),
                    vec![p("T2", "2026-02-02", 200, None)]
                ),
                (
                    "L3".to_string(),
                    "c".to_string(),
                    vec![
                        p("A", "2026-02-05", 1, None),
                        p("B", "2026-02-06", 2, None),
                        p("C", "2026-02-07", 3, Some("A"))
                    ]
                ),
                ("L4".to_string(), String::new(), vec![]),
            ]
        );
    }

    #[test]
    fn a_key_range_scans_only_its_loans() {
        let c = book();
        let mid = scan(
            &c,
            &KeyRange {
                lo: "L2".into(),
                hi: Some("L3".into()),
            },
        );
        assert_eq!(mid.len(), 1);
        assert_eq!(mid[0].0, "L2");
        assert_eq!(mid[0].4, vec!["T2".to_string()]);
        let tail = scan(
            &c,
            &KeyRange {
                lo: "L3".into(),
                hi: None,
            },
        );
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].3, vec![1, 2]);
    }

    #[test]
    fn split_covers_the_book_without_gaps() {
        let c = book();
        // Below 1000 loans a part, one range.
        assert_eq!(split(&c, 4).unwrap(), vec![KeyRange::default()]);
        let mut ins = c
            .prepare(
                "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, annual_rate, \
                 origination_date, term_months, repayment_method) \
                 VALUES (?1, 'B', 'individual', 'CNY', 100, '1', '2026-01-01', 1, 'bullet')",
            )
            .unwrap();
        for i in 0..5500 {
            ins.execute([format!("M{i:05}")]).unwrap();
        }
        let all: Vec<String> = scan(&c, &KeyRange::default())
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(all.len(), 5503);
        // 16 asked, 5 made (at least 1000 loans a range); 2 asked, 2 made.
        for (asked, made) in [(16, 5), (2, 2)] {
            let ranges = split(&c, asked).unwrap();
            assert_eq!(ranges.len(), made);
            assert_eq!(ranges[0].lo, "");
            for w in ranges.windows(2) {
                assert_eq!(w[0].hi.as_deref(), Some(w[1].lo.as_str()));
            }
            assert_eq!(ranges[made - 1].hi, None);
            // The ranges' loans, one after the other, are the book's in key order, each once,
            // and as many in each range give or take one.
            let parts: Vec<Vec<String>> = ranges
                .iter()
                .map(|r| scan(&c, r).into_iter().map(|s| s.0).collect())
                .collect();
            let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
            assert!(
                sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
                "{sizes:?}"
            );
            assert_eq!(parts.concat(), all);
        }
    }

    #[test]
    fn cut_points_spread_the_loans_evenly_with_a_floor_per_range() {
        assert_eq!(cut_points(0, 4), Vec::<u64>::new());
        assert_eq!(cut_points(1999, 4), Vec::<u64>::new());
        assert_eq!(cut_points(2000, 4), vec![1000]);
        assert_eq!(cut_points(10_000, 4), vec![2500, 5000, 7500]);
        assert_eq!(cut_points(10_001, 3), vec![3333, 6667]);
        assert_eq!(cut_points(10_000, 0), Vec::<u64>::new());
        let cuts = cut_points(1_000_000, 16);
        assert_eq!(cuts.len(), 15);
        assert!(cuts.windows(2).all(|w| w[1] - w[0] == 62_500));
    }

    #[test]
    fn ranges_between_bounds_chain_from_the_start_to_the_end() {
        let r = |lo: &str, hi: Option<&str>| KeyRange {
            lo: lo.into(),
            hi: hi.map(Into::into),
        };
        assert_eq!(ranges_between(vec![]), vec![r("", None)]);
        assert_eq!(
            ranges_between(vec!["L2".into(), "L2".into(), "L5".into()]),
            vec![r("", Some("L2")), r("L2", Some("L5")), r("L5", None)]
        );
    }

    #[test]
    fn a_bad_date_in_the_ledger_names_table_column_and_loan() {
        let c = book();
        c.execute(
            "UPDATE schedule SET due_date = '2026-13-01' WHERE loan_id = 'L3'",
            [],
        )
        .unwrap();
        let err = Scan::prepare(&c, &KeyRange::default())
            .unwrap()
            .for_each(|_| Ok(()))
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("schedule") && msg.contains("due_date") && msg.contains("L3"),
            "{msg}"
        );
    }
}
