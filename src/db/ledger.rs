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

fn opt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(iso)
}

/// True when the error is a foreign-key violation (a row naming a loan the ledger lacks).
pub fn is_unknown_loan(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn outcome(
    inserted: usize,
    c: &Connection,
    update_sql: &str,
    p: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Outcome> {
    if inserted == 1 {
        return Ok(Outcome::New);
    }
    let updated = c.prepare_cached(update_sql)?.execute(p)?;
    Ok(if updated == 1 {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    })
}

const LOAN_COLS: &str =
    "loan_id, borrower_id, borrower_name, borrower_type, region, branch, officer, product, \
    currency, principal, annual_rate, origination_date, term_months, term_days, repayment_method, \
    repayment_frequency, first_due_date, maturity_date, status, collateral, phone, id_number";

/// Inserts or updates a loan by `loan_id`.
pub fn upsert_loan(c: &Connection, r: &LoanRecord) -> rusqlite::Result<Outcome> {
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
        &iso(r.origination_date),
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
    let inserted = c.prepare_cached(insert)?.execute(&p[..])?;
    outcome(inserted, c, update, &p)
}

/// Inserts or updates an imported installment by `(loan_id, installment_no)`.
pub fn upsert_schedule(c: &Connection, r: &ScheduleRecord) -> rusqlite::Result<Outcome> {
    let p: [&dyn rusqlite::ToSql; 6] = [
        &r.loan_id,
        &r.installment_no,
        &iso(r.due_date),
        &fen(r.principal_due),
        &fen(r.interest_due),
        &fen(r.fee_due),
    ];
    let inserted = c
        .prepare_cached(
            "INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due, fee_due, source) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'imported') ON CONFLICT DO NOTHING",
        )?
        .execute(&p[..])?;
    outcome(
        inserted,
        c,
        "UPDATE schedule SET due_date = ?3, principal_due = ?4, interest_due = ?5, fee_due = ?6, source = 'imported' \
         WHERE loan_id = ?1 AND installment_no = ?2 AND (due_date IS NOT ?3 OR principal_due IS NOT ?4 \
         OR interest_due IS NOT ?5 OR fee_due IS NOT ?6 OR source IS NOT 'imported')",
        &p,
    )
}

/// Inserts or updates a repayment by `txn_id`.
pub fn upsert_repayment(c: &Connection, r: &RepaymentRecord) -> rusqlite::Result<Outcome> {
    let p: [&dyn rusqlite::ToSql; 6] = [
        &r.txn_id,
        &r.loan_id,
        &iso(r.paid_on),
        &fen(r.amount),
        &r.channel,
        &r.reverses_txn_id,
    ];
    let inserted = c
        .prepare_cached(
            "INSERT INTO repayments (txn_id, loan_id, paid_on, amount, channel, reverses_txn_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?
        .execute(&p[..])?;
    outcome(
        inserted,
        c,
        "UPDATE repayments SET loan_id = ?2, paid_on = ?3, amount = ?4, channel = ?5, reverses_txn_id = ?6 \
         WHERE txn_id = ?1 AND (loan_id IS NOT ?2 OR paid_on IS NOT ?3 OR amount IS NOT ?4 \
         OR channel IS NOT ?5 OR reverses_txn_id IS NOT ?6)",
        &p,
    )
}

/// Inserts a followup keyed by the hash of its content (so it is either new or unchanged).
pub fn insert_followup(c: &Connection, r: &FollowupRecord) -> rusqlite::Result<Outcome> {
    let n = c
        .prepare_cached(
            "INSERT INTO followups (followup_id, loan_id, contact_date, channel, officer, outcome, \
             promise_date, promise_amount, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            r.followup_id(),
            r.loan_id,
            iso(r.contact_date),
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

/// Removes the generated schedule of a loan (an imported one is about to replace it).
pub fn drop_generated_schedule(c: &Connection, loan_id: &str) -> rusqlite::Result<usize> {
    c.prepare_cached("DELETE FROM schedule WHERE loan_id = ?1 AND source = 'generated'")?
        .execute([loan_id])
}

/// True when the loan has installments from a schedule tape.
pub fn has_imported_schedule(c: &Connection, loan_id: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT 1 FROM schedule WHERE loan_id = ?1 AND source = 'imported' LIMIT 1")?
        .query_row([loan_id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// True when the loan's generated schedule is exactly `inst` already.
pub fn generated_schedule_is(
    c: &Connection,
    loan_id: &str,
    inst: &[Installment],
) -> rusqlite::Result<bool> {
    let mut stmt = c.prepare_cached(
        "SELECT installment_no, due_date, principal_due, interest_due, fee_due FROM schedule \
         WHERE loan_id = ?1 AND source = 'generated' ORDER BY installment_no",
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
    c: &Connection,
    loan_id: &str,
    inst: &[Installment],
) -> rusqlite::Result<()> {
    drop_generated_schedule(c, loan_id)?;
    let mut stmt = c.prepare_cached(
        "INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due, fee_due, source) \
         VALUES (?1, ?2, ?3, ?4, ?5, 0, 'generated')",
    )?;
    for i in inst {
        stmt.execute(params![
            loan_id,
            i.installment_no,
            iso(i.due_date),
            fen(i.principal_due),
            fen(i.interest_due)
        ])?;
    }
    Ok(())
}

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

/// Records a successful import (inside its transaction, so only a committed import is logged).
pub fn log_import(c: &Connection, l: &ImportLog<'_>) -> rusqlite::Result<()> {
    c.execute(
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
