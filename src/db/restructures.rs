//! SQL of restructures: the facts, their schedule versions, their log, and one loan's contract.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

use crate::dates::{from_ledger, iso};
use crate::db::book::{installment_at, KeyRange, LoanBook, Scan};
use crate::engine::Installment;
use crate::exit;
use crate::money::{from_fen as fen, to_fen};
use crate::restructure::{replay::VersionFacts, Contract, Kind};
use crate::schedule::{Frequency, Method};

/// A restructure as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub loan_id: String,
    pub restructure_id: String,
    pub effective_date: NaiveDate,
    /// The kind it was imported with (never `cancelled`; see `cancelled`).
    pub kind: Kind,
    pub reason: String,
    pub new_principal: Option<i64>,
    pub new_annual_rate: Option<String>,
    pub new_term_months: Option<u32>,
    pub new_method: Option<String>,
    pub holiday_months: u32,
    pub interest_only_months: u32,
    /// Arrears taken over at the effective date, fen.
    pub transfer: i64,
    pub cancelled: bool,
}

/// A restructure as the classification reads it: `kind` is `Cancelled` for a voided one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestructureFact {
    pub loan_id: String,
    pub restructure_id: String,
    pub effective_date: NaiveDate,
    pub kind: Kind,
}

const COLS: &str = "loan_id, restructure_id, effective_date, kind, reason, new_principal, \
    new_annual_rate, new_term_months, new_method, holiday_months, interest_only_months, transfer, cancelled";

fn bad(what: &str) -> anyhow::Error {
    exit::data(format!("ledger table restructures: {what}"))
}

fn read(r: &rusqlite::Row<'_>) -> Result<Stored> {
    let eff: String = r.get(2)?;
    let kind: String = r.get(3)?;
    Ok(Stored {
        loan_id: r.get(0)?,
        restructure_id: r.get(1)?,
        effective_date: from_ledger(&eff)
            .ok_or_else(|| bad("effective_date does not hold a YYYY-MM-DD date"))?,
        kind: kind
            .parse()
            .map_err(|_| bad("kind is not a restructure kind"))?,
        reason: r.get(4)?,
        new_principal: r.get(5)?,
        new_annual_rate: r.get(6)?,
        new_term_months: r.get(7)?,
        new_method: r.get(8)?,
        holiday_months: r.get(9)?,
        interest_only_months: r.get(10)?,
        transfer: r.get(11)?,
        cancelled: r.get(12)?,
    })
}

/// The restructure with this id, of any loan.
pub fn find(c: &Connection, restructure_id: &str) -> Result<Option<Stored>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM restructures WHERE restructure_id = ?1"
    ))?;
    let mut rows = st.query([restructure_id])?;
    match rows.next()? {
        Some(r) => read(r).map(Some),
        None => Ok(None),
    }
}

/// Every restructure of a loan (cancelled ones included), by effective date then id.
pub fn of_loan(c: &Connection, loan_id: &str) -> Result<Vec<Stored>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM restructures WHERE loan_id = ?1 ORDER BY effective_date, restructure_id"
    ))?;
    let mut rows = st.query([loan_id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read(r)?);
    }
    Ok(out)
}

/// The schedule version of one restructure.
pub fn version_rows(
    c: &Connection,
    loan_id: &str,
    restructure_id: &str,
) -> Result<Vec<Installment>> {
    Ok(version(c, loan_id, restructure_id)?.0)
}

/// The schedule version of one restructure, and whether it was generated from its terms
/// (false: imported, the bank's own).
pub fn version(
    c: &Connection,
    loan_id: &str,
    restructure_id: &str,
) -> Result<(Vec<Installment>, bool)> {
    let mut st = c.prepare_cached(
        "SELECT installment_no, due_date, principal_due, interest_due, fee_due, generated FROM restructure_schedule \
         WHERE loan_id = ?1 AND restructure_id = ?2 ORDER BY installment_no",
    )?;
    let mut rows = st.query([loan_id, restructure_id])?;
    let mut out = Vec::new();
    let mut generated = false;
    while let Some(r) = rows.next()? {
        generated |= r.get::<_, bool>(5)?;
        out.push(installment_at(r, 0, "restructure_schedule")?);
    }
    Ok((out, generated))
}

/// Where a logged change of a restructure came from: the import file (by the path given), its
/// first and last line, and when (UTC, ISO 8601).
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub file: &'a str,
    pub lines: (u64, u64),
    pub at: &'a str,
}

/// Replaces a restructure's schedule version by the bank's own (imported) rows, and logs it
/// (`schedule_replaced`, with `detail`: what replaced what).
pub fn replace_version(
    c: &Connection,
    loan_id: &str,
    restructure_id: &str,
    rows: &[Installment],
    detail: &str,
    src: Source<'_>,
) -> Result<()> {
    c.prepare_cached(
        "DELETE FROM restructure_schedule WHERE loan_id = ?1 AND restructure_id = ?2",
    )?
    .execute([loan_id, restructure_id])?;
    insert_version(c, loan_id, restructure_id, rows, false)?;
    log(
        c,
        loan_id,
        restructure_id,
        "schedule_replaced",
        "",
        detail,
        src,
    )
}

fn insert_version(
    c: &Connection,
    loan_id: &str,
    restructure_id: &str,
    rows: &[Installment],
    generated: bool,
) -> Result<()> {
    let mut ins = c.prepare_cached(
        "INSERT INTO restructure_schedule (loan_id, restructure_id, installment_no, due_date, principal_due, \
         interest_due, fee_due, generated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for i in rows {
        let f = |d| to_fen(d).context("an amount out of range");
        ins.execute(params![
            loan_id,
            restructure_id,
            i.installment_no,
            iso(i.due_date),
            f(i.principal_due)?,
            f(i.interest_due)?,
            f(i.fee_due)?,
            generated,
        ])?;
    }
    Ok(())
}

/// The versions in force for a loan (cancelled ones dropped), ready for the replay.
pub fn versions_in_force(c: &Connection, loan_id: &str) -> Result<Vec<(Stored, VersionFacts)>> {
    let mut out = Vec::new();
    for s in of_loan(c, loan_id)?.into_iter().filter(|s| !s.cancelled) {
        let installments = version_rows(c, loan_id, &s.restructure_id)?;
        let v = VersionFacts {
            effective: s.effective_date,
            transfer: fen(s.transfer),
            installments,
        };
        out.push((s, v));
    }
    Ok(out)
}

/// Stores a new restructure, its schedule version and the log line.
pub fn insert(
    c: &Connection,
    s: &Stored,
    version: &[Installment],
    generated: bool,
    src: Source<'_>,
) -> Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO restructures ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        s.loan_id,
        s.restructure_id,
        iso(s.effective_date),
        s.kind.as_str(),
        s.reason,
        s.new_principal,
        s.new_annual_rate,
        s.new_term_months,
        s.new_method,
        s.holiday_months,
        s.interest_only_months,
        s.transfer,
        s.cancelled,
    ])
    .with_context(|| format!("storing restructure {}", s.restructure_id))?;
    insert_version(c, &s.loan_id, &s.restructure_id, version, generated)?;
    log(
        c,
        &s.loan_id,
        &s.restructure_id,
        "imported",
        &s.reason,
        "",
        src,
    )
}

/// Marks a restructure cancelled (never deleted) and logs it.
pub fn cancel(
    c: &Connection,
    loan_id: &str,
    restructure_id: &str,
    reason: &str,
    src: Source<'_>,
) -> Result<()> {
    c.prepare_cached(
        "UPDATE restructures SET cancelled = 1 WHERE loan_id = ?1 AND restructure_id = ?2",
    )?
    .execute([loan_id, restructure_id])?;
    log(c, loan_id, restructure_id, "cancelled", reason, "", src)
}

fn log(
    c: &Connection,
    loan_id: &str,
    restructure_id: &str,
    event: &str,
    reason: &str,
    detail: &str,
    src: Source<'_>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO restructure_log (loan_id, restructure_id, event, reason, logged_at, file, first_line, last_line, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        loan_id,
        restructure_id,
        event,
        reason,
        src.at,
        src.file,
        src.lines.0,
        src.lines.1,
        detail
    ])?;
    Ok(())
}

/// Every restructure as the classification reads it, in loan then date order.
pub fn all(c: &Connection) -> Result<Vec<RestructureFact>> {
    let mut st = c.prepare(
        "SELECT loan_id, restructure_id, effective_date, kind, cancelled FROM restructures \
         ORDER BY loan_id, effective_date, restructure_id",
    )?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let eff: String = r.get(2)?;
        let kind: String = r.get(3)?;
        let cancelled: bool = r.get(4)?;
        out.push(RestructureFact {
            loan_id: r.get(0)?,
            restructure_id: r.get(1)?,
            effective_date: from_ledger(&eff)
                .ok_or_else(|| bad("effective_date does not hold a YYYY-MM-DD date"))?,
            kind: if cancelled {
                Kind::Cancelled
            } else {
                kind.parse()
                    .map_err(|_| bad("kind is not a restructure kind"))?
            },
        });
    }
    Ok(out)
}

/// One loan: its contract, its book (original schedule, payments) — None when unknown.
pub fn loan(c: &Connection, loan_id: &str) -> Result<Option<(Contract, LoanBook)>> {
    let row = c
        .query_row(
            "SELECT annual_rate, repayment_method, repayment_frequency, origination_date, first_due_date \
             FROM loans WHERE loan_id = ?1",
            [loan_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((rate, method, freq, orig, first)) = row else {
        return Ok(None);
    };
    let bad_loan = |col: &str| {
        exit::data(format!(
            "ledger table loans, loan_id {loan_id}: {col} is not valid"
        ))
    };
    let contract = Contract {
        annual_rate_pct: rate.parse().map_err(|_| bad_loan("annual_rate"))?,
        method: method
            .parse::<Method>()
            .map_err(|_| bad_loan("repayment_method"))?,
        frequency: freq
            .parse::<Frequency>()
            .map_err(|_| bad_loan("repayment_frequency"))?,
        origination: from_ledger(&orig).ok_or_else(|| bad_loan("origination_date"))?,
        first_due_date: match first {
            Some(f) => Some(from_ledger(&f).ok_or_else(|| bad_loan("first_due_date"))?),
            None => None,
        },
    };
    let mut hi = loan_id.to_string();
    hi.push('\0');
    let range = KeyRange {
        lo: loan_id.to_string(),
        hi: Some(hi),
    };
    let mut scan = Scan::prepare(c, &range)?;
    let mut found = None;
    scan.for_each(|b| {
        found = Some(b.clone());
        Ok(())
    })?;
    Ok(found.map(|b| (contract, b)))
}
