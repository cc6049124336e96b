//! SQL of `report`: what the reports read besides the book stream — a saved classify run's grades,
//! the follow-up log with its contact columns (conduct, collections), and the visit plans'
//! outcomes (collections).

use std::collections::HashMap;

use anyhow::Result;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use crate::classify::Grade;
use crate::dates::{from_ledger, iso};
use crate::money;

fn table_exists(c: &Connection, name: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

fn date_of(s: &str, table: &str, col: &str) -> Result<NaiveDate> {
    from_ledger(s).ok_or_else(|| {
        crate::exit::data(format!(
            "the ledger's {table}.{col} holds {s:?}, which is not a YYYY-MM-DD date"
        ))
    })
}

/// One loan's grade in a saved classify run.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedGrade {
    pub grade: Grade,
    pub stage: u8,
    pub provision: Decimal,
    pub eligible_for_upgrade_review: bool,
}

/// The grades of the classify run saved for `as_of`, by loan; `None` when no run was saved for
/// that date (or the ledger predates classify).
pub fn saved_grades(
    c: &Connection,
    as_of: NaiveDate,
) -> Result<Option<HashMap<String, SavedGrade>>> {
    if !table_exists(c, "grade_runs")? {
        return Ok(None);
    }
    let saved: Option<String> = c
        .query_row(
            "SELECT as_of FROM grade_runs WHERE as_of = ?1",
            [iso(as_of)],
            |r| r.get(0),
        )
        .optional()?;
    if saved.is_none() {
        return Ok(None);
    }
    let mut stmt = c.prepare(
        "SELECT loan_id, grade, stage, provision, eligible_for_upgrade_review FROM grades \
         WHERE as_of = ?1",
    )?;
    let mut rows = stmt.query([iso(as_of)])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let g: String = r.get(1)?;
        let grade = Grade::parse(&g)
            .ok_or_else(|| crate::exit::data(format!("the ledger's grades.grade holds {g:?}")))?;
        out.insert(
            r.get::<_, String>(0)?,
            SavedGrade {
                grade,
                stage: r.get(2)?,
                provision: money::from_fen(r.get(3)?),
                eligible_for_upgrade_review: r.get(4)?,
            },
        );
    }
    Ok(Some(out))
}

/// One follow-up as the conduct and collections reports read it.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    pub loan_id: String,
    pub borrower_id: String,
    /// The follow-up's officer, else the loan's.
    pub officer: String,
    /// The loan's officer, branch and region (for the filters).
    pub loan_officer: String,
    pub branch: String,
    pub region: String,
    pub contact_date: NaiveDate,
    /// `HH:MM` as logged.
    pub contact_time: Option<String>,
    pub channel: String,
    pub outcome: String,
    /// debtor | guarantor | contact | third_party; None when not logged (the debtor).
    pub contact_party: Option<String>,
    /// As logged; None when not logged (then: not a `no_answer`).
    pub connected: Option<bool>,
    pub consent_window: Option<String>,
    pub promise_date: Option<NaiveDate>,
    pub promise_amount: Option<Decimal>,
}

/// The follow-ups logged from `from` to `to` (inclusive), by date, time, followup_id.
pub fn followups(c: &Connection, from: NaiveDate, to: NaiveDate) -> Result<Vec<LogRow>> {
    let mut stmt = c.prepare(
        "SELECT f.loan_id, l.borrower_id, CASE WHEN f.officer <> '' THEN f.officer ELSE l.officer END, \
                f.contact_date, f.contact_time, f.channel, f.outcome, f.contact_party, f.connected, \
                f.consent_window, f.promise_date, f.promise_amount, l.officer, l.branch, l.region \
         FROM followups f JOIN loans l ON l.loan_id = f.loan_id \
         WHERE f.contact_date >= ?1 AND f.contact_date <= ?2 \
         ORDER BY f.contact_date, f.contact_time, f.followup_id",
    )?;
    let mut rows = stmt.query(params![iso(from), iso(to)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let d: String = r.get(3)?;
        let pd: Option<String> = r.get(10)?;
        out.push(LogRow {
            loan_id: r.get(0)?,
            borrower_id: r.get(1)?,
            officer: r.get(2)?,
            contact_date: date_of(&d, "followups", "contact_date")?,
            contact_time: r.get(4)?,
            channel: r.get(5)?,
            outcome: r.get(6)?,
            contact_party: r.get(7)?,
            connected: r.get(8)?,
            consent_window: r.get(9)?,
            promise_date: pd
                .map(|s| date_of(&s, "followups", "promise_date"))
                .transpose()?,
            promise_amount: r.get::<_, Option<i64>>(11)?.map(money::from_fen),
            loan_officer: r.get(12)?,
            branch: r.get(13)?,
            region: r.get(14)?,
        });
    }
    Ok(out)
}

/// Visit-plan items due in a period, per officer and kind: (planned, done on time, done late,
/// missed, still open).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanTally {
    pub planned: u64,
    pub done: u64,
    pub late: u64,
    pub missed: u64,
    pub open: u64,
}

/// Planned items (status planned or late) of saved plans whose date falls in `from..=to`, by
/// (officer, kind), with their outcome as the next `schedule-visits` run recorded it.
pub fn plan_items(
    c: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<(String, String), PlanTally>> {
    let mut out: HashMap<(String, String), PlanTally> = HashMap::new();
    if !table_exists(c, "visit_plan_items")? {
        return Ok(out);
    }
    let mut stmt = c.prepare(
        "SELECT officer, kind, outcome, count(*) FROM visit_plan_items \
         WHERE date >= ?1 AND date <= ?2 AND status <> 'unplanned' \
         GROUP BY officer, kind, outcome",
    )?;
    let mut rows = stmt.query(params![iso(from), iso(to)])?;
    while let Some(r) = rows.next()? {
        let t = out.entry((r.get(0)?, r.get(1)?)).or_default();
        let n = r.get::<_, i64>(3)?.max(0) as u64;
        t.planned += n;
        match r.get::<_, String>(2)?.as_str() {
            "done" => t.done += n,
            "late" => t.late += n,
            "missed" => t.missed += n,
            _ => t.open += n,
        }
    }
    Ok(out)
}

/// One loan of a saved classify run, with what `report portfolio` needs of the book.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedLoan {
    pub loan_id: String,
    pub product: String,
    pub branch: String,
    pub region: String,
    pub officer: String,
    pub dpd: u32,
    pub outstanding_principal: Decimal,
    pub grade: SavedGrade,
    /// A restructure (not cancelled) in force on the date.
    pub restructured: bool,
}

/// The classify run saved for `as_of`, read as the book of that date (loan order), when it is
/// current: computed under the engine conventions `conventions` (`Setup::conventions_json`;
/// the run records its own in `grade_runs.conventions` under `engine`) and after the last
/// import (an import in the same second counts as later). None otherwise, and the caller
/// computes the positions from the ledger.
/// Whether a saved classify run's conventions (`{"engine": {…}, "rules": …}`) are `expected`
/// (a `Setup::conventions_json`) in everything the positions depend on.
fn same_engine(saved: &str, expected: &str) -> bool {
    const KEYS: [&str; 7] = [
        "grace_days",
        "tolerance",
        "penalty_multiplier",
        "compound_interest",
        "penalty_first",
        "order",
        "prepay",
    ];
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let (Some(saved), Some(expected)) = (parse(saved), parse(expected)) else {
        return false;
    };
    let engine = &saved["engine"];
    KEYS.iter()
        .all(|k| !engine[*k].is_null() && engine[*k] == expected[*k])
}

pub fn saved_book(
    c: &Connection,
    as_of: NaiveDate,
    conventions: &str,
) -> Result<Option<Vec<SavedLoan>>> {
    let expected = conventions;
    if !table_exists(c, "grade_runs")? {
        return Ok(None);
    }
    let run: Option<(String, String)> = c
        .query_row(
            "SELECT computed_at, conventions FROM grade_runs WHERE as_of = ?1",
            [iso(as_of)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((computed_at, saved)) = run else {
        return Ok(None);
    };
    let later_import: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM imports WHERE started_at >= ?1)",
        [&computed_at],
        |r| r.get(0),
    )?;
    if later_import || !same_engine(&saved, expected) {
        return Ok(None);
    }
    let mut stmt = c.prepare(
        "SELECT g.loan_id, l.product, l.branch, l.region, l.officer, g.dpd, \
                g.outstanding_principal, g.grade, g.stage, g.provision, \
                g.eligible_for_upgrade_review, \
                EXISTS (SELECT 1 FROM restructures r WHERE r.loan_id = g.loan_id \
                        AND r.cancelled = 0 AND r.effective_date <= ?1) \
         FROM grades g JOIN loans l ON l.loan_id = g.loan_id \
         WHERE g.as_of = ?1 ORDER BY g.loan_id",
    )?;
    let mut rows = stmt.query([iso(as_of)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let g: String = r.get(7)?;
        let grade = Grade::parse(&g)
            .ok_or_else(|| crate::exit::data(format!("the ledger's grades.grade holds {g:?}")))?;
        out.push(SavedLoan {
            loan_id: r.get(0)?,
            product: r.get(1)?,
            branch: r.get(2)?,
            region: r.get(3)?,
            officer: r.get(4)?,
            dpd: r.get(5)?,
            outstanding_principal: money::from_fen(r.get(6)?),
            grade: SavedGrade {
                grade,
                stage: r.get(8)?,
                provision: money::from_fen(r.get(9)?),
                eligible_for_upgrade_review: r.get(10)?,
            },
            restructured: r.get(11)?,
        });
    }
    Ok(Some(out))
}
