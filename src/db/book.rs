//! Streams the book loan by loan: loans, schedule, repayments and followups are each read in
//! `loan_id` order and merged on the key, so memory holds one loan at a time and the whole
//! book costs one ordered scan of each table (DESIGN.md §3). Also stores derived positions.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{params, Connection, Statement};
use rust_decimal::Decimal;

use crate::collection::Followup;
use crate::dates::{from_ledger, iso};
use crate::engine::{Installment, LoanTerms, Payment};

/// What a listing shows about a loan besides its position.
#[derive(Clone, Debug, Default)]
pub struct LoanInfo {
    pub loan_id: String,
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
}

fn bad(table: &str, loan_id: &str, col: &str) -> anyhow::Error {
    crate::exit::data(format!(
        "ledger table {table}, loan_id {loan_id}: column {col} does not hold a YYYY-MM-DD date"
    ))
}

fn fen(v: i64) -> Decimal {
    Decimal::new(v, 2)
}

/// A cursor over one child table, ordered by loan_id, that yields the rows of one loan at a time.
struct Child<'s, T> {
    rows: rusqlite::Rows<'s>,
    pending: Option<(String, T)>,
    read: fn(&rusqlite::Row<'_>) -> Result<(String, T)>,
    done: bool,
}

impl<'s, T> Child<'s, T> {
    fn new(
        stmt: &'s mut Statement<'_>,
        read: fn(&rusqlite::Row<'_>) -> Result<(String, T)>,
    ) -> Result<Self> {
        Ok(Child {
            rows: stmt.query([])?,
            pending: None,
            read,
            done: false,
        })
    }

    fn fill(&mut self) -> Result<()> {
        if self.pending.is_none() && !self.done {
            match self.rows.next()? {
                Some(r) => self.pending = Some((self.read)(r)?),
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// Moves the rows of `loan_id` into `out`, skipping rows of loans that sort before it.
    fn take(&mut self, loan_id: &str, out: &mut Vec<T>) -> Result<()> {
        out.clear();
        loop {
            self.fill()?;
            match &self.pending {
                Some((id, _)) if id.as_str() < loan_id => self.pending = None,
                Some((id, _)) if id.as_str() == loan_id => {
                    if let Some((_, t)) = self.pending.take() {
                        out.push(t);
                    }
                }
                _ => return Ok(()),
            }
        }
    }
}

/// The four ordered queries of a book scan. Prepare once, then call [`Scan::for_each`].
pub struct Scan<'c> {
    loans: Statement<'c>,
    schedule: Statement<'c>,
    repayments: Statement<'c>,
    followups: Statement<'c>,
}

impl<'c> Scan<'c> {
    pub fn prepare(c: &'c Connection) -> Result<Scan<'c>> {
        Ok(Scan {
            loans: c.prepare(
                "SELECT loan_id, principal, annual_rate, origination_date, borrower_name, borrower_type, phone, \
                 region, branch, officer, product, currency FROM loans ORDER BY loan_id",
            )?,
            schedule: c.prepare(
                "SELECT loan_id, installment_no, due_date, principal_due, interest_due, fee_due \
                 FROM schedule ORDER BY loan_id, installment_no",
            )?,
            repayments: c.prepare(
                "SELECT loan_id, txn_id, paid_on, amount, reverses_txn_id FROM repayments ORDER BY loan_id",
            )?,
            followups: c.prepare(
                "SELECT loan_id, contact_date, channel, outcome, promise_date, promise_amount \
                 FROM followups ORDER BY loan_id, contact_date",
            )?,
        })
    }

    /// Calls `f` for every loan, in loan_id order, with its schedule, payments and followups.
    pub fn for_each(&mut self, mut f: impl FnMut(&LoanBook) -> Result<()>) -> Result<()> {
        let mut sched = Child::new(&mut self.schedule, |r| {
            let id: String = r.get(0)?;
            let due: String = r.get(2)?;
            let due_date = from_ledger(&due).ok_or_else(|| bad("schedule", &id, "due_date"))?;
            Ok((
                id,
                Installment {
                    installment_no: r.get(1)?,
                    due_date,
                    principal_due: fen(r.get(3)?),
                    interest_due: fen(r.get(4)?),
                    fee_due: fen(r.get(5)?),
                },
            ))
        })?;
        let mut pays = Child::new(&mut self.repayments, |r| {
            let id: String = r.get(0)?;
            let paid: String = r.get(2)?;
            let paid_on = from_ledger(&paid).ok_or_else(|| bad("repayments", &id, "paid_on"))?;
            Ok((
                id,
                Payment {
                    txn_id: r.get(1)?,
                    paid_on,
                    amount: fen(r.get(3)?),
                    reverses_txn_id: r.get(4)?,
                },
            ))
        })?;
        let mut fups = Child::new(&mut self.followups, |r| {
            let id: String = r.get(0)?;
            let cd: String = r.get(1)?;
            let contact_date =
                from_ledger(&cd).ok_or_else(|| bad("followups", &id, "contact_date"))?;
            let pd: Option<String> = r.get(4)?;
            let promise_date = match pd {
                Some(p) => {
                    Some(from_ledger(&p).ok_or_else(|| bad("followups", &id, "promise_date"))?)
                }
                None => None,
            };
            let amount: Option<i64> = r.get(5)?;
            Ok((
                id,
                Followup {
                    contact_date,
                    channel: r.get(2)?,
                    outcome: r.get(3)?,
                    promise_date,
                    promise_amount: amount.map(fen),
                },
            ))
        })?;
        let mut rows = self.loans.query([])?;
        let mut book = LoanBook {
            info: LoanInfo::default(),
            terms: LoanTerms {
                annual_rate_pct: Decimal::ZERO,
                principal: Decimal::ZERO,
            },
            installments: Vec::new(),
            payments: Vec::new(),
            followups: Vec::new(),
        };
        while let Some(r) = rows.next()? {
            let loan_id: String = r.get(0)?;
            let rate: String = r.get(2)?;
            let orig: String = r.get(3)?;
            book.terms = LoanTerms {
                principal: fen(r.get(1)?),
                annual_rate_pct: rate.parse().map_err(|_| {
                    crate::exit::data(format!(
                        "ledger table loans, loan_id {loan_id}: annual_rate is not a decimal"
                    ))
                })?,
            };
            book.info = LoanInfo {
                origination_date: from_ledger(&orig),
                borrower_name: r.get(4)?,
                borrower_type: r.get(5)?,
                phone: r.get(6)?,
                region: r.get(7)?,
                branch: r.get(8)?,
                officer: r.get(9)?,
                product: r.get(10)?,
                currency: r.get(11)?,
                loan_id,
            };
            sched.take(&book.info.loan_id, &mut book.installments)?;
            pays.take(&book.info.loan_id, &mut book.payments)?;
            fups.take(&book.info.loan_id, &mut book.followups)?;
            f(&book).with_context(|| format!("loan_id {}", book.info.loan_id))?;
        }
        Ok(())
    }
}

/// One saved position row.
#[derive(Clone, Debug)]
pub struct SavedPosition<'a> {
    pub as_of: NaiveDate,
    pub loan_id: &'a str,
    pub dpd: u32,
    pub bucket: &'a str,
    pub overdue_since: Option<NaiveDate>,
    pub overdue_principal: i64,
    pub overdue_interest: i64,
    pub overdue_fee: i64,
    pub penalty_interest: i64,
    pub outstanding_principal: i64,
    pub installments_overdue: u32,
    pub last_payment_date: Option<NaiveDate>,
    pub max_dpd: u32,
    pub next_action: Option<&'a str>,
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

pub fn insert_position(c: &Connection, p: &SavedPosition<'_>) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO positions (as_of, loan_id, dpd, bucket, overdue_since, overdue_principal, overdue_interest, \
         overdue_fee, penalty_interest, outstanding_principal, installments_overdue, last_payment_date, max_dpd, \
         next_action, sla_breached, promises_broken) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
    )?
    .execute(params![
        iso(p.as_of),
        p.loan_id,
        p.dpd,
        p.bucket,
        p.overdue_since.map(iso),
        p.overdue_principal,
        p.overdue_interest,
        p.overdue_fee,
        p.penalty_interest,
        p.outstanding_principal,
        p.installments_overdue,
        p.last_payment_date.map(iso),
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
