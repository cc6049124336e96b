//! SQL of the facts: loans, schedule, repayments, followups, and the import log.
//! Every upsert says what happened to the row, so an import can count new / changed / unchanged
//! and a rerun of the same tape writes nothing.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use crate::dates::iso;
use crate::money;
use crate::records::{FollowupRecord, LoanRecord, RepaymentRecord, ScheduleRecord};
use crate::schedule::Installment;

/// What an upsert did to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    New,
    Changed,
    Unchanged,
}

fn fen(d: Decimal) -> i64 {
    // Amounts were validated to two decimals and below 10^15, so this cannot overflow.
    money::to_fen(d).unwrap_or(i64::MAX)
}

fn opt_date(d: Option<NaiveDate>) -> Option<Day> {
    d.map(Day::from)
}

/// A date bound as `YYYY-MM-DD` text without allocating (import binds tens of millions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day([u8; 10]);

impl From<NaiveDate> for Day {
    fn from(d: NaiveDate) -> Day {
        use chrono::Datelike;
        let (y, m, dd) = (d.year().clamp(0, 9999) as u32, d.month(), d.day());
        let digit = |v: u32| b'0' + (v % 10) as u8;
        Day([
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(dd / 10),
            digit(dd),
        ])
    }
}

impl Day {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl rusqlite::ToSql for Day {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(
            rusqlite::types::ValueRef::Text(&self.0),
        ))
    }
}

const LOAN_COLS: &str =
    "loan_id, borrower_id, borrower_name, borrower_type, region, branch, officer, product, \
    currency, principal, annual_rate, origination_date, term_months, term_days, repayment_method, \
    repayment_frequency, first_due_date, maturity_date, status, collateral, phone, id_number";

/// One line of the import log.
#[derive(Clone, Debug)]
pub struct ImportLog<'a> {
    pub kind: &'a str,
    pub file: &'a str,
    pub sha256: &'a str,
    pub rows: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub started_at: &'a str,
    pub duration_ms: u64,
}

/// The import's writer: the SQL of the facts, with its statements prepared once per run
/// (a statement cache lookup per row costs more than the insert of a small row).
pub struct Ledger<'c> {
    c: &'c Connection,
    stmts: Vec<Option<rusqlite::Statement<'c>>>,
}

impl<'c> Ledger<'c> {
    pub fn new(c: &'c Connection) -> Ledger<'c> {
        Ledger {
            c,
            stmts: Vec::new(),
        }
    }

    fn stmt(&mut self, idx: usize, sql: &str) -> rusqlite::Result<&mut rusqlite::Statement<'c>> {
        if self.stmts.len() <= idx {
            self.stmts.resize_with(idx + 1, || None);
        }
        if self.stmts[idx].is_none() {
            self.stmts[idx] = Some(self.c.prepare(sql)?);
        }
        Ok(self.stmts[idx].as_mut().expect("prepared above"))
    }

    fn outcome(
        &mut self,
        idx: usize,
        inserted: usize,
        update_sql: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> rusqlite::Result<Outcome> {
        if inserted == 1 {
            return Ok(Outcome::New);
        }
        let updated = self.stmt(idx, update_sql)?.execute(p)?;
        Ok(if updated == 1 {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        })
    }

    /// Inserts or updates a loan by `loan_id`.
    pub fn upsert_loan(&mut self, r: &LoanRecord) -> rusqlite::Result<Outcome> {
        let p: [&dyn rusqlite::ToSql; 22] = [
            &r.loan_id,
            &r.borrower_id,
            &r.borrower_name,
            &r.borrower_type.as_str(),
            &r.region,
            &r.branch,
            &r.officer,
            &r.product,
            &r.currency,
            &fen(r.principal),
            &r.annual_rate.normalize().to_string(),
            &Day::from(r.origination_date),
            &r.term_months,
            &r.term_days,
            &r.repayment_method.as_str(),
            &r.repayment_frequency.as_str(),
            &opt_date(r.first_due_date),
            &opt_date(r.maturity_date),
            &r.status,
            &r.collateral,
            &r.phone,
            &r.id_number,
        ];
        static SQL: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
        let (insert, update) = SQL.get_or_init(|| {
            let cols: Vec<&str> = LOAN_COLS.split(", ").collect();
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
            let sets: Vec<String> = cols
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, c)| format!("{c} = ?{}", i + 1))
                .collect();
            let diffs: Vec<String> = cols
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, c)| format!("{c} IS NOT ?{}", i + 1))
                .collect();
            (
                format!(
                    "INSERT INTO loans ({LOAN_COLS}) VALUES ({}) ON CONFLICT (loan_id) DO NOTHING",
                    marks.join(",")
                ),
                format!(
                    "UPDATE loans SET {} WHERE loan_id = ?1 AND ({})",
                    sets.join(", "),
                    diffs.join(" OR ")
                ),
            )
        });
        let inserted = self.stmt(2, insert)?.execute(&p[..])?;
        self.outcome(15, inserted, update, &p)
    }

    /// Inserts or updates an imported installment by `(loan_id, installment_no)`.
    pub fn upsert_schedule(&mut self, r: &ScheduleRecord) -> rusqlite::Result<Outcome> {
        let p: [&dyn rusqlite::ToSql; 6] = [
            &r.loan_id,
            &r.installment_no,
            &Day::from(r.due_date),
            &fen(r.principal_due),
            &fen(r.interest_due),
            &fen(r.fee_due),
        ];
        let inserted = self.stmt(3,
                "INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due, fee_due, generated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) ON CONFLICT DO NOTHING",
            )?
            .execute(&p[..])?;
        self.outcome(16, inserted,
            "UPDATE schedule SET due_date = ?3, principal_due = ?4, interest_due = ?5, fee_due = ?6, generated = 0 \
             WHERE loan_id = ?1 AND installment_no = ?2 AND (due_date IS NOT ?3 OR principal_due IS NOT ?4 \
             OR interest_due IS NOT ?5 OR fee_due IS NOT ?6 OR generated IS NOT 0)",
            &p,
        )
    }

    /// Inserts or updates a repayment by `txn_id`.
    pub fn upsert_repayment(&mut self, r: &RepaymentRecord) -> rusqlite::Result<Outcome> {
        let p: [&dyn rusqlite::ToSql; 6] = [
            &r.txn_id,
            &r.loan_id,
            &Day::from(r.paid_on),
            &fen(r.amount),
            &r.channel,
            &r.reverses_txn_id,
        ];
        let inserted = self.stmt(4,
                "INSERT INTO repayments (txn_id, loan_id, paid_on, amount, channel, reverses_txn_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )?
            .execute(&p[..])?;
        self.outcome(17, inserted,
            "UPDATE repayments SET loan_id = ?2, paid_on = ?3, amount = ?4, channel = ?5, reverses_txn_id = ?6 \
             WHERE txn_id = ?1 AND (loan_id IS NOT ?2 OR paid_on IS NOT ?3 OR amount IS NOT ?4 \
             OR channel IS NOT ?5 OR reverses_txn_id IS NOT ?6)",
            &p,
        )
    }

    /// Inserts a followup keyed by the hash of its content (so it is either new or unchanged).
    pub fn insert_followup(&mut self, r: &FollowupRecord) -> rusqlite::Result<Outcome> {
        let n = self.stmt(5,
                "INSERT INTO followups (followup_id, loan_id, contact_date, channel, officer, outcome, \
                 promise_date, promise_amount, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                r.followup_id(),
                r.loan_id,
                Day::from(r.contact_date),
                r.channel,
                r.officer,
                r.outcome,
                opt_date(r.promise_date),
                r.promise_amount.map(fen),
                r.note,
            ])?;
        Ok(if n == 1 {
            Outcome::New
        } else {
            Outcome::Unchanged
        })
    }

    /// True when `loan_id` is in the ledger (or earlier in this import's transaction).
    pub fn loan_exists(&mut self, loan_id: &str) -> rusqlite::Result<bool> {
        self.stmt(6, "SELECT 1 FROM loans WHERE loan_id = ?1")?
            .query_row([loan_id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
    }

    /// True when the table has no row at all (a first import can skip comparing with the ledger).
    pub fn is_empty(&mut self, table: &str) -> rusqlite::Result<bool> {
        let sql = match table {
            "schedule" => "SELECT NOT EXISTS (SELECT 1 FROM schedule)",
            "repayments" => "SELECT NOT EXISTS (SELECT 1 FROM repayments)",
            "followups" => "SELECT NOT EXISTS (SELECT 1 FROM followups)",
            _ => "SELECT NOT EXISTS (SELECT 1 FROM loans)",
        };
        self.stmt(7, sql)?.query_row([], |r| r.get(0))
    }

    /// True when every imported installment in `rows` (all of one loan) is in the ledger as it is.
    pub fn schedule_unchanged(
        &mut self,
        loan_id: &str,
        rows: &[&ScheduleRecord],
    ) -> rusqlite::Result<bool> {
        let stmt = self.stmt(
            8,
            "SELECT installment_no, due_date, principal_due, interest_due, fee_due, generated \
             FROM schedule WHERE loan_id = ?1",
        )?;
        let mut q = stmt.query([loan_id])?;
        let mut seen = 0usize;
        while let Some(r) = q.next()? {
            let no: u32 = r.get(0)?;
            let Some(rec) = rows.iter().find(|x| x.installment_no == no) else {
                continue;
            };
            let same = r.get_ref(1)?.as_bytes()? == Day::from(rec.due_date).as_bytes()
                && r.get::<_, i64>(2)? == fen(rec.principal_due)
                && r.get::<_, i64>(3)? == fen(rec.interest_due)
                && r.get::<_, i64>(4)? == fen(rec.fee_due)
                && r.get::<_, i64>(5)? == 0;
            if !same {
                return Ok(false);
            }
            seen += 1;
        }
        Ok(seen == rows.len())
    }

    /// True when every repayment in `rows` (all of one loan) is in the ledger as it is.
    pub fn repayments_unchanged(
        &mut self,
        loan_id: &str,
        rows: &[&RepaymentRecord],
    ) -> rusqlite::Result<bool> {
        let stmt = self.stmt(9,
            "SELECT txn_id, paid_on, amount, channel, reverses_txn_id FROM repayments WHERE loan_id = ?1",
        )?;
        let mut q = stmt.query([loan_id])?;
        let mut seen = 0usize;
        while let Some(r) = q.next()? {
            let txn = r.get_ref(0)?.as_bytes()?;
            let Some(rec) = rows.iter().find(|x| x.txn_id.as_bytes() == txn) else {
                continue;
            };
            let reverses: Option<&str> = r.get_ref(4)?.as_str_or_null()?;
            let same = r.get_ref(1)?.as_bytes()? == Day::from(rec.paid_on).as_bytes()
                && r.get::<_, i64>(2)? == fen(rec.amount)
                && r.get_ref(3)?.as_bytes()? == rec.channel.as_bytes()
                && reverses == rec.reverses_txn_id.as_deref();
            if !same {
                return Ok(false);
            }
            seen += 1;
        }
        Ok(seen == rows.len())
    }

    /// True when every followup in `rows` (all of one loan) is in the ledger already.
    pub fn followups_unchanged(&mut self, loan_id: &str, ids: &[String]) -> rusqlite::Result<bool> {
        let stmt = self.stmt(10, "SELECT followup_id FROM followups WHERE loan_id = ?1")?;
        let mut q = stmt.query([loan_id])?;
        let mut seen = 0usize;
        while let Some(r) = q.next()? {
            let id = r.get_ref(0)?.as_bytes()?;
            if ids.iter().any(|x| x.as_bytes() == id) {
                seen += 1;
            }
        }
        Ok(seen >= ids.len())
    }

    /// Removes the generated schedule of a loan (an imported one is about to replace it).
    pub fn drop_generated_schedule(&mut self, loan_id: &str) -> rusqlite::Result<usize> {
        self.stmt(
            11,
            "DELETE FROM schedule WHERE loan_id = ?1 AND generated = 1",
        )?
        .execute([loan_id])
    }

    /// True when the loan has installments from a schedule tape.
    pub fn has_imported_schedule(&mut self, loan_id: &str) -> rusqlite::Result<bool> {
        self.stmt(
            12,
            "SELECT 1 FROM schedule WHERE loan_id = ?1 AND generated = 0 LIMIT 1",
        )?
        .query_row([loan_id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
    }

    /// True when the loan's generated schedule is exactly `inst` already.
    pub fn generated_schedule_is(
        &mut self,
        loan_id: &str,
        inst: &[Installment],
    ) -> rusqlite::Result<bool> {
        let stmt = self.stmt(
            13,
            "SELECT installment_no, due_date, principal_due, interest_due, fee_due FROM schedule \
             WHERE loan_id = ?1 AND generated = 1 ORDER BY installment_no",
        )?;
        let rows: Vec<(u32, String, i64, i64, i64)> = stmt
            .query_map([loan_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows.len() == inst.len()
            && rows.iter().zip(inst).all(|(r, i)| {
                r.0 == i.installment_no
                    && r.1 == iso(i.due_date)
                    && r.2 == fen(i.principal_due)
                    && r.3 == fen(i.interest_due)
                    && r.4 == 0
            }))
    }

    /// Replaces the generated schedule of a loan.
    pub fn replace_generated_schedule(
        &mut self,
        loan_id: &str,
        inst: &[Installment],
    ) -> rusqlite::Result<()> {
        self.drop_generated_schedule(loan_id)?;
        let stmt = self.stmt(14,
            "INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due, fee_due, generated) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, 1)",
        )?;
        for i in inst {
            stmt.execute(params![
                loan_id,
                i.installment_no,
                Day::from(i.due_date),
                fen(i.principal_due),
                fen(i.interest_due)
            ])?;
        }
        Ok(())
    }

    /// Records a successful import (inside its transaction, so only a committed import is logged).
    pub fn log_import(&mut self, l: &ImportLog<'_>) -> rusqlite::Result<()> {
        self.c.execute(
            "INSERT INTO imports (kind, file, sha256, rows, new, changed, unchanged, skipped, started_at, duration_ms, daihou_version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                l.kind,
                l.file,
                l.sha256,
                l.rows as i64,
                l.new as i64,
                l.changed as i64,
                l.unchanged as i64,
                l.skipped as i64,
                l.started_at,
                l.duration_ms as i64,
                env!("CARGO_PKG_VERSION")
            ],
        )?;
        Ok(())
    }
}
