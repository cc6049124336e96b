//! SQL of `report`: what the reports read besides the book stream — a saved classify run's grades,
//! the follow-up log with its contact columns (conduct, collections), and the visit plans'
//! outcomes (collections).

use std::collections::{HashMap, VecDeque};

use anyhow::Result;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use crate::classify::Grade;
use crate::dates::iso;
use crate::db::book::KeyRange;
use crate::db::{date_col, table_exists};
use crate::money;

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
        out.insert(r.get::<_, String>(0)?, grade_at(r, 1)?);
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
            contact_date: date_col(&d, "followups", "contact_date")?,
            contact_time: r.get(4)?,
            channel: r.get(5)?,
            outcome: r.get(6)?,
            contact_party: r.get(7)?,
            connected: r.get(8)?,
            consent_window: r.get(9)?,
            promise_date: pd
                .map(|s| date_col(&s, "followups", "promise_date"))
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

/// The saved table a date's positions can be read from instead of replaying the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedTable {
    /// `classify --save`: positions (DPD, outstanding principal) and grades.
    Grades,
    /// `overdue --save`: positions only.
    Positions,
}

impl SavedTable {
    fn runs(self) -> &'static str {
        match self {
            SavedTable::Grades => "grade_runs",
            SavedTable::Positions => "position_runs",
        }
    }
}

/// One saved run of a date, and whether it is current.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedRun {
    pub as_of: NaiveDate,
    pub table: SavedTable,
    /// As recorded (`grade_runs.conventions` nests the engine's under `engine`).
    pub conventions: String,
    /// Computed after the last import and under the engine conventions asked: its positions
    /// are the ledger's, as a replay would compute them.
    pub current: bool,
}

/// The saved runs (classify's, then overdue's) of `dates`, each with whether it is current
/// under `conventions` (a `Setup::conventions_json`); an import in the same second as the run
/// counts as later.
pub fn saved_runs(c: &Connection, dates: &[NaiveDate], conventions: &str) -> Result<Vec<SavedRun>> {
    let mut out = Vec::new();
    for table in [SavedTable::Grades, SavedTable::Positions] {
        if !table_exists(c, table.runs())? {
            continue;
        }
        let mut stmt = c.prepare(&format!(
            "SELECT computed_at, conventions, \
                    NOT EXISTS (SELECT 1 FROM imports WHERE started_at >= computed_at) \
             FROM {} WHERE as_of = ?1",
            table.runs()
        ))?;
        for d in dates {
            let run: Option<(String, bool)> = stmt
                .query_row([iso(*d)], |r| Ok((r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some((saved, no_import_since)) = run {
                out.push(SavedRun {
                    as_of: *d,
                    table,
                    current: no_import_since && same_engine(&saved, conventions),
                    conventions: saved,
                });
            }
        }
    }
    Ok(out)
}

/// Whether a saved run's conventions are `expected` (a `Setup::conventions_json`) in
/// everything the positions depend on. A classify run nests them under `engine`.
fn same_engine(saved: &str, expected: &str) -> bool {
    const KEYS: [&str; 8] = [
        "grace_days",
        "tolerance",
        "tolerance_pct",
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
    let engine = match saved.get("engine") {
        Some(e) => e,
        None => &saved,
    };
    KEYS.iter()
        .all(|k| !engine[*k].is_null() && engine[*k] == expected[*k])
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

fn grade_at(r: &rusqlite::Row<'_>, k: usize) -> Result<SavedGrade> {
    let g: String = r.get(k)?;
    let grade = Grade::parse(&g)
        .ok_or_else(|| crate::exit::data(format!("the ledger's grades.grade holds {g:?}")))?;
    Ok(SavedGrade {
        grade,
        stage: r.get(k + 1)?,
        provision: money::from_fen(r.get(k + 2)?),
        eligible_for_upgrade_review: r.get(k + 3)?,
    })
}

/// The classify run saved for `as_of`, read as the book of that date: each loan handed to
/// `each` in loan order, as it is read; returns how many. The caller has checked that the run
/// is current ([`saved_runs`]).
pub fn saved_book(
    c: &Connection,
    as_of: NaiveDate,
    mut each: impl FnMut(SavedLoan),
) -> Result<u64> {
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
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        n += 1;
        each(SavedLoan {
            loan_id: r.get(0)?,
            product: r.get(1)?,
            branch: r.get(2)?,
            region: r.get(3)?,
            officer: r.get(4)?,
            dpd: r.get(5)?,
            outstanding_principal: money::from_fen(r.get(6)?),
            grade: grade_at(r, 7)?,
            restructured: r.get(11)?,
        });
    }
    Ok(n)
}

/// The first day a restructure (not cancelled, with its schedule version) is in force, by loan:
/// from then on the loan is restructured (the versions the book scan hands the engine).
pub fn restructured_since(c: &Connection) -> Result<HashMap<String, NaiveDate>> {
    let mut stmt = c.prepare(
        "SELECT r.loan_id, min(r.effective_date) FROM restructures r \
         WHERE r.cancelled = 0 AND EXISTS (SELECT 1 FROM restructure_schedule s \
               WHERE s.loan_id = r.loan_id AND s.restructure_id = r.restructure_id) \
         GROUP BY r.loan_id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let d: String = r.get(1)?;
        out.insert(r.get(0)?, date_col(&d, "restructures", "effective_date")?);
    }
    Ok(out)
}

/// One loan's row of a saved run: its position, and its grade when read from `grades`.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedRow {
    pub loan_id: String,
    pub dpd: u32,
    pub outstanding_principal: Decimal,
    pub grade: Option<SavedGrade>,
}

/// Only the loans of this officer, branch and region (each None: any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoanFilter {
    pub officer: Option<String>,
    pub branch: Option<String>,
    pub region: Option<String>,
}

/// The rows a saved run holds for one date, in loan order, within a key range: read a chunk
/// at a time (keyset on `loan_id`, the primary key's order), so only one chunk is held.
pub struct SavedCursor {
    table: SavedTable,
    as_of: String,
    range: KeyRange,
    filter: LoanFilter,
    chunk: VecDeque<SavedRow>,
    /// The last loan read; None before the first chunk.
    after: Option<String>,
    done: bool,
    rows_per_chunk: i64,
}

/// Rows per chunk.
const CHUNK: i64 = 4096;

impl SavedCursor {
    pub fn new(table: SavedTable, as_of: NaiveDate, range: KeyRange, filter: LoanFilter) -> Self {
        SavedCursor {
            table,
            as_of: iso(as_of),
            range,
            filter,
            chunk: VecDeque::new(),
            after: None,
            done: false,
            rows_per_chunk: CHUNK,
        }
    }

    fn fill(&mut self, c: &Connection) -> Result<()> {
        let cols = match self.table {
            SavedTable::Grades => {
                "loan_id, dpd, outstanding_principal, grade, stage, provision, \
                 eligible_for_upgrade_review FROM grades t"
            }
            SavedTable::Positions => "loan_id, dpd, outstanding_principal FROM positions t",
        };
        let lower = if self.after.is_some() { ">" } else { ">=" };
        let upper = if self.range.hi.is_some() {
            "AND t.loan_id < ?3"
        } else {
            "AND ?3 IS NULL"
        };
        let f = &self.filter;
        let filter = if f == &LoanFilter::default() {
            ""
        } else {
            "AND EXISTS (SELECT 1 FROM loans l WHERE l.loan_id = t.loan_id \
             AND (?5 IS NULL OR l.officer = ?5) AND (?6 IS NULL OR l.branch = ?6) \
             AND (?7 IS NULL OR l.region = ?7))"
        };
        let sql = format!(
            "SELECT {cols} WHERE t.as_of = ?1 AND t.loan_id {lower} ?2 {upper} {filter} \
             ORDER BY t.loan_id LIMIT ?4"
        );
        let mut stmt = c.prepare_cached(&sql)?;
        let from = self.after.as_deref().unwrap_or(&self.range.lo);
        let mut rows = if filter.is_empty() {
            stmt.query(params![
                self.as_of,
                from,
                self.range.hi,
                self.rows_per_chunk
            ])?
        } else {
            stmt.query(params![
                self.as_of,
                from,
                self.range.hi,
                self.rows_per_chunk,
                f.officer,
                f.branch,
                f.region
            ])?
        };
        let mut n = 0;
        while let Some(r) = rows.next()? {
            n += 1;
            self.chunk.push_back(SavedRow {
                loan_id: r.get(0)?,
                dpd: r.get(1)?,
                outstanding_principal: money::from_fen(r.get(2)?),
                grade: match self.table {
                    SavedTable::Grades => Some(grade_at(r, 3)?),
                    SavedTable::Positions => None,
                },
            });
        }
        self.done = n < self.rows_per_chunk;
        if let Some(last) = self.chunk.back() {
            self.after = Some(last.loan_id.clone());
        }
        Ok(())
    }

    /// The next row's loan, without taking it; None at the end.
    pub fn peek(&mut self, c: &Connection) -> Result<Option<&str>> {
        if self.chunk.is_empty() && !self.done {
            self.fill(c)?;
        }
        Ok(self.chunk.front().map(|r| r.loan_id.as_str()))
    }

    /// The row of `loan_id`, passing over the rows of loans before it; None when the run has
    /// no row for it.
    pub fn take(&mut self, c: &Connection, loan_id: &str) -> Result<Option<SavedRow>> {
        while let Some(id) = self.peek(c)? {
            match id.cmp(loan_id) {
                std::cmp::Ordering::Less => {
                    self.chunk.pop_front();
                }
                std::cmp::Ordering::Equal => return Ok(self.chunk.pop_front()),
                std::cmp::Ordering::Greater => return Ok(None),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    /// Loans L01..L09 (officer A, but L04 and L05 of B), positions saved on 03-31 for all but
    /// L03 (closed), and one on 02-28 for L01 only.
    fn ledger() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::db::SCHEMA).unwrap();
        for k in 1..=9 {
            let id = format!("L0{k}");
            let officer = if k == 4 || k == 5 { "B" } else { "A" };
            c.execute(
                "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, \
                 annual_rate, origination_date, term_months, repayment_method, officer) \
                 VALUES (?1, 'B', 'individual', 'CNY', 100000, '4.9', '2026-01-01', 12, 'bullet', ?2)",
                params![id, officer],
            )
            .unwrap();
            if k != 3 {
                c.execute(
                    "INSERT INTO positions (as_of, loan_id, dpd, bucket, overdue_principal, \
                     overdue_interest, overdue_fee, penalty_interest, outstanding_principal, \
                     installments_overdue, max_dpd, sla_breached, promises_broken) \
                     VALUES ('2026-03-31', ?1, ?2, '', 0, 0, 0, 0, ?3, 0, 0, 0, 0)",
                    params![id, k, 1000 * k],
                )
                .unwrap();
            }
        }
        c.execute_batch(
            "INSERT INTO positions (as_of, loan_id, dpd, bucket, overdue_principal, \
             overdue_interest, overdue_fee, penalty_interest, outstanding_principal, \
             installments_overdue, max_dpd, sla_breached, promises_broken) \
             VALUES ('2026-02-28', 'L01', 0, '', 0, 0, 0, 0, 5, 0, 0, 0, 0)",
        )
        .unwrap();
        c
    }

    fn read_all(c: &Connection, mut cur: SavedCursor) -> Vec<(String, u32, Decimal)> {
        let mut out = Vec::new();
        while let Some(id) = cur.peek(c).unwrap().map(str::to_string) {
            let r = cur.take(c, &id).unwrap().unwrap();
            out.push((r.loan_id, r.dpd, r.outstanding_principal));
        }
        out
    }

    #[test]
    fn a_cursor_reads_its_date_and_range_in_loan_order_across_chunks() {
        let c = ledger();
        let range = KeyRange {
            lo: "L02".into(),
            hi: Some("L08".into()),
        };
        let mut cur = SavedCursor::new(
            SavedTable::Positions,
            d("2026-03-31"),
            range,
            LoanFilter::default(),
        );
        // Chunks of 2: L02 L04 | L05 L06 | L07 (L03 has no row, L08 is the next range's).
        cur.rows_per_chunk = 2;
        let got = read_all(&c, cur);
        let ids: Vec<&str> = got.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(ids, ["L02", "L04", "L05", "L06", "L07"]);
        // L06: dpd 6, 6000 fen
        assert_eq!(got[3].1, 6);
        assert_eq!(got[3].2, money::from_fen(6000));
        // The other date holds L01 only.
        let other = SavedCursor::new(
            SavedTable::Positions,
            d("2026-02-28"),
            KeyRange::default(),
            LoanFilter::default(),
        );
        assert_eq!(read_all(&c, other), [("L01".into(), 0, money::from_fen(5))]);
    }

    #[test]
    fn take_passes_over_earlier_loans_and_stops_before_later_ones() {
        let c = ledger();
        let mut cur = SavedCursor::new(
            SavedTable::Positions,
            d("2026-03-31"),
            KeyRange::default(),
            LoanFilter::default(),
        );
        cur.rows_per_chunk = 3;
        // L03 has no row: None, and L04 is still there.
        assert_eq!(cur.take(&c, "L03").unwrap(), None);
        assert_eq!(cur.take(&c, "L04").unwrap().unwrap().dpd, 4);
        // Past L05 and L06 (another chunk) to L07.
        assert_eq!(cur.take(&c, "L07").unwrap().unwrap().dpd, 7);
        assert_eq!(cur.take(&c, "L99").unwrap(), None);
        assert_eq!(cur.peek(&c).unwrap(), None);
    }

    #[test]
    fn a_filtered_cursor_reads_only_the_loans_of_the_officer() {
        let c = ledger();
        let only_b = LoanFilter {
            officer: Some("B".into()),
            ..LoanFilter::default()
        };
        let cur = SavedCursor::new(
            SavedTable::Positions,
            d("2026-03-31"),
            KeyRange::default(),
            only_b,
        );
        let ids: Vec<String> = read_all(&c, cur).into_iter().map(|x| x.0).collect();
        assert_eq!(ids, ["L04", "L05"]);
    }

    #[test]
    fn a_run_is_current_after_the_last_import_under_the_same_engine() {
        let c = ledger();
        let conv = r#"{"grace_days":0,"tolerance":"0.00","tolerance_pct":"0","penalty_multiplier":"1.5","compound_interest":false,"penalty_first":false,"order":"penalty,interest,principal","prepay":"reduce_term","buckets":"days","ladder":null}"#;
        c.execute(
            "INSERT INTO position_runs (as_of, computed_at, conventions, loans, overdue) \
             VALUES ('2026-03-31', '2026-04-01T10:00:00Z', ?1, 8, 0)",
            [conv],
        )
        .unwrap();
        let grace3 = conv.replace(r#""grace_days":0"#, r#""grace_days":3"#);
        let other_buckets = conv.replace(r#""buckets":"days""#, r#""buckets":"m""#);
        let current = |expected: &str| {
            saved_runs(&c, &[d("2026-02-28"), d("2026-03-31")], expected)
                .unwrap()
                .iter()
                .map(|r| (r.as_of, r.table, r.current))
                .collect::<Vec<_>>()
        };
        let run = |yes| vec![(d("2026-03-31"), SavedTable::Positions, yes)];
        assert_eq!(current(conv), run(true));
        // Buckets do not change a position; grace days do.
        assert_eq!(current(&other_buckets), run(true));
        assert_eq!(current(&grace3), run(false));
        // An import in the run's second counts as later.
        c.execute_batch(
            "INSERT INTO imports (kind, file, sha256, rows, new, changed, unchanged, skipped, \
             started_at, duration_ms, daihou_version) \
             VALUES ('loans', 'x', '', 0, 0, 0, 0, 0, '2026-04-01T10:00:00Z', 1, '0')",
        )
        .unwrap();
        assert_eq!(current(conv), run(false));
    }
}
