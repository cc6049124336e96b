//! Saved visit plans: one `visit_plans` row per as_of and its `visit_plan_items`. A rerun for
//! the same as_of replaces them; later runs record what became of earlier items (outcome).

use anyhow::Result;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

use crate::dates::{from_ledger, iso};
use crate::db::ledger::Day;
use crate::visits::{Kind, Status};

/// One stored plan row (borrowing what the plan item already holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedItem<'a> {
    pub seq: u32,
    pub date: Option<NaiveDate>,
    pub officer: &'a str,
    pub kind: Kind,
    pub borrower_id: &'a str,
    pub loans: String,
    pub reason: String,
    pub priority: i64,
    pub score_parts: String,
    pub earliest: NaiveDate,
    pub deadline: NaiveDate,
    pub status: Status,
    pub held_by: Option<&'a str>,
    pub rollover: u32,
}

/// An item of an earlier plan still marked open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenItem {
    pub plan_as_of: NaiveDate,
    pub seq: u32,
    pub kind: String,
    pub borrower_id: String,
    pub date: Option<NaiveDate>,
    pub deadline: NaiveDate,
    pub rollover: u32,
}

/// The plan's header row.
#[derive(Clone, Debug)]
pub struct PlanRun<'a> {
    pub as_of: NaiveDate,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub policy: &'a str,
    pub planned: u64,
    pub unplanned: u64,
}

/// Deletes the plan of `as_of` (a rerun replaces it). Returns the items removed.
pub fn clear_plan(c: &Connection, as_of: NaiveDate) -> Result<usize> {
    let d = iso(as_of);
    let n = c.execute("DELETE FROM visit_plan_items WHERE as_of = ?1", [&d])?;
    c.execute("DELETE FROM visit_plans WHERE as_of = ?1", [&d])?;
    Ok(n)
}

/// Stores a plan and its items (made one at a time: the plan is not copied whole).
///
/// The items' CHECK constraints (`kind`, `status`, `outcome`) list their values with `IN`,
/// which SQLite checks through a temporary b-tree built for every row inserted: half the cost
/// of the insert at a million loans. The items' kind and status are typed and their outcome is
/// the column's default, so they are inserted with the checks off ([`crate::db::with_checks_off`]),
/// and nothing else.
pub fn save_plan<'a>(
    c: &Connection,
    run: &PlanRun<'_>,
    items: impl IntoIterator<Item = SavedItem<'a>>,
) -> Result<()> {
    c.execute(
        "INSERT INTO visit_plans (as_of, computed_at, first_day, last_day, policy, planned, unplanned) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            Day::from(run.as_of),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Day::from(run.first_day),
            Day::from(run.last_day),
            run.policy,
            run.planned as i64,
            run.unplanned as i64,
        ],
    )?;
    crate::db::with_checks_off(c, || insert_items(c, run.as_of, items))
}

fn insert_items<'a>(
    c: &Connection,
    as_of: NaiveDate,
    items: impl IntoIterator<Item = SavedItem<'a>>,
) -> Result<()> {
    let mut stmt = c.prepare(
        "INSERT INTO visit_plan_items (as_of, seq, date, officer, kind, borrower_id, loans, reason, \
         priority, score_parts, earliest, deadline, status, held_by, rollover) \
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    )?;
    for i in items {
        stmt.execute(params![
            Day::from(as_of),
            i.seq,
            i.date.map(Day::from),
            i.officer,
            i.kind.as_str(),
            i.borrower_id,
            i.loans,
            i.reason,
            i.priority,
            i.score_parts,
            Day::from(i.earliest),
            Day::from(i.deadline),
            i.status.as_str(),
            i.held_by,
            i.rollover,
        ])?;
    }
    Ok(())
}

/// Items of plans made before `as_of` still marked open, by plan date and seq.
pub fn open_items_before(c: &Connection, as_of: NaiveDate) -> Result<Vec<OpenItem>> {
    let mut stmt = c.prepare(
        "SELECT as_of, seq, kind, borrower_id, date, deadline, rollover FROM visit_plan_items \
         WHERE outcome = 'open' AND as_of < ?1 ORDER BY as_of, seq",
    )?;
    let rows = stmt.query_map([iso(as_of)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, u32>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (plan, seq, kind, borrower_id, date, deadline, rollover) = row?;
        let bad = || crate::exit::data("ledger table visit_plan_items: a date is not YYYY-MM-DD");
        out.push(OpenItem {
            plan_as_of: from_ledger(&plan).ok_or_else(bad)?,
            seq,
            kind,
            borrower_id,
            date: match date {
                Some(s) => Some(from_ledger(&s).ok_or_else(bad)?),
                None => None,
            },
            deadline: from_ledger(&deadline).ok_or_else(bad)?,
            rollover,
        });
    }
    Ok(out)
}

/// Records what became of an item: done, late or missed, and the day it was done.
pub fn set_outcome(
    c: &Connection,
    plan_as_of: NaiveDate,
    seq: u32,
    outcome: &str,
    done_on: Option<NaiveDate>,
) -> Result<()> {
    c.prepare_cached(
        "UPDATE visit_plan_items SET outcome = ?3, done_on = ?4 WHERE as_of = ?1 AND seq = ?2",
    )?
    .execute(params![
        Day::from(plan_as_of),
        seq,
        outcome,
        done_on.map(Day::from)
    ])?;
    Ok(())
}

/// The latest plan made before `as_of`, if any.
pub fn latest_plan_before(c: &Connection, as_of: NaiveDate) -> Result<Option<NaiveDate>> {
    let s: Option<String> = c
        .query_row(
            "SELECT max(as_of) FROM visit_plans WHERE as_of < ?1",
            [iso(as_of)],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(s.as_deref().and_then(from_ledger))
}

/// (borrower_id, kind, rollover) of the items of the plan of `plan_as_of` that were missed.
pub fn missed_items(c: &Connection, plan_as_of: NaiveDate) -> Result<Vec<(String, String, u32)>> {
    let mut stmt = c.prepare(
        "SELECT borrower_id, kind, max(rollover) FROM visit_plan_items \
         WHERE as_of = ?1 AND outcome = 'missed' GROUP BY borrower_id, kind ORDER BY borrower_id, kind",
    )?;
    let rows = stmt.query_map([iso(plan_as_of)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// True when the ledger holds at least one follow-up.
pub fn has_followups(c: &Connection) -> Result<bool> {
    Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM followups)", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    fn item(seq: u32) -> SavedItem<'static> {
        SavedItem {
            seq,
            date: Some(d("2026-03-02")),
            officer: "王芳",
            kind: Kind::Visit,
            borrower_id: "B1",
            loans: "L1,L2".into(),
            reason: "routine".into(),
            priority: 42,
            score_parts: "dpd=0".into(),
            earliest: d("2026-03-01"),
            deadline: d("2026-03-05"),
            status: Status::Late,
            held_by: Some("visits_per_day"),
            rollover: 1,
        }
    }

    /// The items go in as given (the outcome its default), and the CHECK constraints the
    /// insert ran without hold again afterwards, within the same transaction.
    #[test]
    fn a_saved_plan_reads_back_and_the_checks_hold_after_it() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::db::SCHEMA).unwrap();
        let tx = c.transaction().unwrap();
        let run = PlanRun {
            as_of: d("2026-03-01"),
            first_day: d("2026-03-02"),
            last_day: d("2026-03-13"),
            policy: "",
            planned: 2,
            unplanned: 0,
        };
        save_plan(&tx, &run, [item(1), item(2)]).unwrap();
        let row: (String, String, String, String, Option<String>, String) = tx
            .query_row(
                "SELECT kind, status, outcome, loans, held_by, date FROM visit_plan_items \
                 WHERE seq = 2",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "visit".into(),
                "late".into(),
                "open".into(),
                "L1,L2".into(),
                Some("visits_per_day".into()),
                "2026-03-02".into()
            )
        );
        let bad = tx.execute(
            "INSERT INTO visit_plan_items (as_of, seq, officer, kind, borrower_id, loans, reason, \
             priority, score_parts, earliest, deadline, status, rollover) \
             VALUES ('2026-03-01', 3, 'x', 'visit', 'B', '', '', 0, '', '2026-03-01', \
             '2026-03-01', 'bogus', 0)",
            [],
        );
        assert!(bad.is_err(), "a status outside the CHECK list is refused");
    }
}
