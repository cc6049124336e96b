//! SQL of `classify`: the facts it reads besides the book (restructures, overrides, events), the
//! work table its rows stream into (`grades` with --save, a TEMP table otherwise), the
//! borrower-level second step, the listing and the saved history.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Statement};
use rust_decimal::Decimal;

use crate::classify::segment::Segment;
use crate::classify::{Event, Grade, Override, Restructure};
use crate::dates::iso;
use crate::db::{date_col, table_exists};
use crate::money;

/// Where the rows of one run go: the saved `grades` table, or a TEMP table for a run that only
/// lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Saved,
    Temp,
}

impl Target {
    fn table(self) -> &'static str {
        match self {
            Target::Saved => "main.grades",
            Target::Temp => "temp.grades_work",
        }
    }
}

/// One graded loan as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeRow {
    pub as_of: NaiveDate,
    pub loan_id: String,
    pub borrower_id: String,
    pub borrower_type: String,
    pub dpd: u32,
    pub outstanding_principal: Decimal,
    pub grade: Grade,
    pub stage: u8,
    pub grade_rule: String,
    pub reasons: String,
    pub override_text: Option<String>,
    /// The override's grade, when one is in force (for the borrower-level step).
    pub override_grade: Option<Grade>,
    pub eligible_for_upgrade_review: bool,
    pub segment: String,
    pub provision_rate: Decimal,
    pub provision: Decimal,
    /// The last day a stage-3 trigger held (remembered by the next run's staging).
    pub stage3_last: Option<NaiveDate>,
}

/// Restructures by loan (empty when the ledger has no `restructures` table yet).
pub fn restructures(c: &Connection) -> Result<HashMap<String, Vec<Restructure>>> {
    let mut out: HashMap<String, Vec<Restructure>> = HashMap::new();
    if !table_exists(c, "restructures")? {
        return Ok(out);
    }
    let mut stmt =
        c.prepare("SELECT loan_id, effective_date, kind FROM restructures WHERE cancelled = 0")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let loan: String = r.get(0)?;
        let on: String = r.get(1)?;
        out.entry(loan).or_default().push(Restructure {
            effective_date: date_col(&on, "restructures", "effective_date")?,
            kind: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Overrides by loan.
pub fn overrides(c: &Connection) -> Result<HashMap<String, Vec<Override>>> {
    let mut out: HashMap<String, Vec<Override>> = HashMap::new();
    let mut stmt = c.prepare(
        "SELECT loan_id, effective_date, grade, reason, analyst, expires_on FROM overrides",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let loan: String = r.get(0)?;
        let on: String = r.get(1)?;
        let g: String = r.get(2)?;
        let exp: Option<String> = r.get(5)?;
        out.entry(loan).or_default().push(Override {
            effective_date: date_col(&on, "overrides", "effective_date")?,
            expires_on: exp
                .map(|e| date_col(&e, "overrides", "expires_on"))
                .transpose()?,
            grade: Grade::parse(&g).ok_or_else(|| {
                crate::exit::data(format!("the ledger's overrides.grade holds {g:?}"))
            })?,
            reason: r.get(3)?,
            analyst: r.get(4)?,
        });
    }
    Ok(out)
}

/// Events by loan and by borrower.
pub struct Events {
    pub by_loan: HashMap<String, Vec<Event>>,
    pub by_borrower: HashMap<String, Vec<Event>>,
}

impl Events {
    /// The events that apply to a loan: its own and its borrower's.
    pub fn of(&self, loan_id: &str, borrower_id: &str) -> Vec<Event> {
        let mut v: Vec<Event> = self.by_loan.get(loan_id).cloned().unwrap_or_default();
        if let Some(b) = self.by_borrower.get(borrower_id) {
            v.extend(b.iter().cloned());
        }
        v
    }
}

pub fn events(c: &Connection) -> Result<Events> {
    let mut ev = Events {
        by_loan: HashMap::new(),
        by_borrower: HashMap::new(),
    };
    let mut stmt = c.prepare("SELECT loan_id, borrower_id, event_date, code FROM events")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let loan: Option<String> = r.get(0)?;
        let borrower: Option<String> = r.get(1)?;
        let on: String = r.get(2)?;
        let e = Event {
            event_date: date_col(&on, "events", "event_date")?,
            code: r.get(3)?,
            borrower_level: loan.is_none(),
        };
        match (loan, borrower) {
            (Some(l), _) => ev.by_loan.entry(l).or_default().push(e),
            (None, Some(b)) => ev.by_borrower.entry(b).or_default().push(e),
            (None, None) => {}
        }
    }
    Ok(ev)
}

/// Borrowers with more than one loan (read from the borrower index alone; a corporate
/// borrower's loans say so themselves).
pub fn multi_loan_borrowers(c: &Connection) -> Result<HashSet<String>> {
    let mut stmt =
        c.prepare("SELECT borrower_id FROM loans GROUP BY borrower_id HAVING count(*) > 1")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The borrowers with a loan of this borrower type (`loans.borrower_type`).
pub fn borrowers_of_type(c: &Connection, borrower_type: &str) -> Result<HashSet<String>> {
    let mut stmt = c.prepare("SELECT DISTINCT borrower_id FROM loans WHERE borrower_type = ?1")?;
    let rows = stmt.query_map([borrower_type], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Creates the TEMP work table (same shape as `grades`), indexed by borrower only: the
/// borrower-level step is the one that looks rows up (one index less to keep while writing).
pub fn create_temp(c: &Connection) -> Result<()> {
    c.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS grades_work AS SELECT * FROM main.grades WHERE 0;
         CREATE INDEX IF NOT EXISTS temp.grades_work_by_loan ON grades_work (as_of, loan_id);
         DELETE FROM temp.grades_work;",
    )?;
    Ok(())
}

/// Deletes the saved rows of one date (a rerun replaces them).
pub fn clear(c: &Connection, as_of: NaiveDate) -> Result<()> {
    c.execute("DELETE FROM grades WHERE as_of = ?1", [iso(as_of)])?;
    c.execute("DELETE FROM grade_runs WHERE as_of = ?1", [iso(as_of)])?;
    Ok(())
}

const COLUMNS: &str = "as_of, loan_id, borrower_id, borrower_type, dpd, outstanding_principal, \
     grade, stage, grade_rule, reasons, override, override_grade, eligible_for_upgrade_review, \
     segment, provision_rate, provision, stage3_last";

/// Rows one execution of [`Inserter`]'s long statement inserts.
const ROWS: usize = 64;
/// Values a row binds.
const ROW_PARAMS: usize = 17;

/// Inserts rows into a work table a batch at a time ([`insert_batch`]): 64 rows a
/// statement, and the batch's last few one a statement. Against a statement a row that is one
/// statement start, cursor and reset for 64 rows, and, as the rows of a run mostly land right
/// after the row before, SQLite's seek finds most of them without a descent from the root.
/// The text of the few dates and provision rates a run has is made once, not once a row.
pub struct Inserter<'c> {
    many: Statement<'c>,
    one: Statement<'c>,
    days: Vec<(NaiveDate, String)>,
    rates: Vec<(Decimal, String)>,
}

/// `INSERT OR FAIL`: a statement of several rows that may abort would otherwise keep a
/// statement journal (a temporary file: every page it changes written there first, 385,000
/// writes for 12 month ends at 100k loans) to undo only itself; FAIL keeps the rows before a
/// failure, and any failure here fails the whole run, whose transaction is rolled back.
pub fn inserter(c: &Connection, t: Target) -> Result<Inserter<'_>> {
    let row = |i: usize| {
        let ps: Vec<String> = (1..=ROW_PARAMS)
            .map(|j| format!("?{}", i * ROW_PARAMS + j))
            .collect();
        format!("({})", ps.join(", "))
    };
    let rows: Vec<String> = (0..ROWS).map(row).collect();
    let sql = |values: &str| {
        format!(
            "INSERT OR FAIL INTO {} ({COLUMNS}) VALUES {values}",
            t.table()
        )
    };
    Ok(Inserter {
        many: c.prepare(&sql(&rows.join(", ")))?,
        one: c.prepare(&sql(&row(0)))?,
        days: Vec::new(),
        rates: Vec::new(),
    })
}

/// The index in `texts` of `key`'s text, made by `text` the first time.
fn text_of<K: PartialEq + Copy>(
    texts: &mut Vec<(K, String)>,
    key: K,
    text: impl Fn(K) -> String,
) -> usize {
    match texts.iter().position(|(x, _)| *x == key) {
        Some(i) => i,
        None => {
            texts.push((key, text(key)));
            texts.len() - 1
        }
    }
}

fn fen(d: Decimal) -> Result<i64> {
    money::to_fen(d).context("an amount out of range")
}

/// The stored text of a provision rate (a fraction, normalized: `0.3`).
fn rate_text(rate: Decimal) -> String {
    rate.normalize().to_string()
}

/// Inserts a batch of rows, date by date (a run of 12 month ends streams each loan's 12 rows
/// together; each date's rows sit together in the table).
pub fn insert_batch<'r>(
    ins: &mut Inserter<'_>,
    rows: impl IntoIterator<Item = &'r GradeRow>,
) -> Result<()> {
    let mut rows: Vec<&GradeRow> = rows.into_iter().collect();
    rows.sort_by_key(|r| r.as_of); // stable: each date's rows stay in key order
    let mut chunks = rows.chunks_exact(ROWS);
    for chunk in chunks.by_ref() {
        for (i, r) in chunk.iter().enumerate() {
            bind(ins, Which::Many, i * ROW_PARAMS, r)?;
        }
        ins.many.raw_execute().with_context(|| {
            format!(
                "saving the grades of loan_ids {} to {}",
                chunk[0].loan_id,
                chunk[ROWS - 1].loan_id
            )
        })?;
    }
    for r in chunks.remainder() {
        bind(ins, Which::One, 0, r)?;
        ins.one
            .raw_execute()
            .with_context(|| format!("saving the grade of loan_id {}", r.loan_id))?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Which {
    Many,
    One,
}

/// Binds `r` as the row whose first parameter is `base + 1`.
fn bind(ins: &mut Inserter<'_>, which: Which, base: usize, r: &GradeRow) -> Result<()> {
    let day = text_of(&mut ins.days, r.as_of, iso);
    let rate = text_of(&mut ins.rates, r.provision_rate, rate_text);
    let fix = |what: &str| format!("saving the grade of loan_id {}: {what}", r.loan_id);
    let principal = fen(r.outstanding_principal).with_context(|| fix("outstanding_principal"))?;
    let provision = fen(r.provision).with_context(|| fix("provision"))?;
    let s = match which {
        Which::Many => &mut ins.many,
        Which::One => &mut ins.one,
    };
    s.raw_bind_parameter(base + 1, ins.days[day].1.as_str())?;
    s.raw_bind_parameter(base + 2, r.loan_id.as_str())?;
    s.raw_bind_parameter(base + 3, r.borrower_id.as_str())?;
    s.raw_bind_parameter(base + 4, r.borrower_type.as_str())?;
    s.raw_bind_parameter(base + 5, r.dpd)?;
    s.raw_bind_parameter(base + 6, principal)?;
    s.raw_bind_parameter(base + 7, r.grade.zh())?;
    s.raw_bind_parameter(base + 8, r.stage)?;
    s.raw_bind_parameter(base + 9, r.grade_rule.as_str())?;
    s.raw_bind_parameter(base + 10, r.reasons.as_str())?;
    s.raw_bind_parameter(base + 11, r.override_text.as_deref())?;
    s.raw_bind_parameter(base + 12, r.override_grade.map(Grade::zh))?;
    s.raw_bind_parameter(base + 13, r.eligible_for_upgrade_review)?;
    s.raw_bind_parameter(base + 14, r.segment.as_str())?;
    s.raw_bind_parameter(base + 15, ins.rates[rate].1.as_str())?;
    s.raw_bind_parameter(base + 16, provision)?;
    s.raw_bind_parameter(base + 17, r.stage3_last.map(iso))?;
    Ok(())
}

fn read_row(r: &rusqlite::Row<'_>) -> Result<GradeRow> {
    let as_of: String = r.get(0)?;
    let g: String = r.get(6)?;
    let og: Option<String> = r.get(11)?;
    let rate: String = r.get(14)?;
    let last3: Option<String> = r.get(16)?;
    let grade = |s: &str| {
        Grade::parse(s)
            .ok_or_else(|| crate::exit::data(format!("the ledger's grades.grade holds {s:?}")))
    };
    Ok(GradeRow {
        as_of: date_col(&as_of, "grades", "as_of")?,
        loan_id: r.get(1)?,
        borrower_id: r.get(2)?,
        borrower_type: r.get(3)?,
        dpd: r.get(4)?,
        outstanding_principal: money::from_fen(r.get(5)?),
        grade: grade(&g)?,
        stage: r.get(7)?,
        grade_rule: r.get(8)?,
        reasons: r.get(9)?,
        override_text: r.get(10)?,
        override_grade: og.as_deref().map(grade).transpose()?,
        eligible_for_upgrade_review: r.get(12)?,
        segment: r.get(13)?,
        provision_rate: rate.parse().unwrap_or_default(),
        provision: money::from_fen(r.get(15)?),
        stage3_last: last3
            .map(|d| date_col(&d, "grades", "stage3_last"))
            .transpose()?,
    })
}

/// The rows of a borrower's loans (`loan_ids`, in loan order) on one date, found by their key:
/// the rows are not indexed by borrower (at a million loans and twelve dates that index cost
/// more to keep up than everything else the run writes).
pub fn borrower_rows(
    c: &Connection,
    t: Target,
    as_of: NaiveDate,
    loan_ids: &[&str],
) -> Result<Vec<GradeRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {} WHERE as_of = ?1 AND loan_id = ?2",
        t.table()
    ))?;
    let day = iso(as_of);
    let mut out = Vec::new();
    for id in loan_ids {
        let mut rows = stmt.query(params![day, id])?;
        while let Some(r) = rows.next()? {
            out.push(read_row(r)?);
        }
    }
    Ok(out)
}

/// Sets the segment of a borrower's loans on a date (the borrower-level segment, when nothing
/// else changes).
pub fn set_segment(
    c: &Connection,
    t: Target,
    as_of: NaiveDate,
    loan_ids: &[&str],
    segment: &str,
) -> Result<()> {
    let mut stmt = c.prepare_cached(&format!(
        "UPDATE {} SET segment = ?3 WHERE as_of = ?1 AND loan_id = ?2 AND segment <> ?3",
        t.table()
    ))?;
    let day = iso(as_of);
    for id in loan_ids {
        stmt.execute(params![day, id, segment])?;
    }
    Ok(())
}

/// Rewrites what the borrower-level step changes: grade, rule, trace, provision, segment, stage.
pub fn update(c: &Connection, t: Target, r: &GradeRow) -> Result<()> {
    let mut stmt = c.prepare_cached(&format!(
        "UPDATE {} SET grade = ?3, stage = ?4, grade_rule = ?5, reasons = ?6, \
         eligible_for_upgrade_review = ?7, segment = ?8, provision_rate = ?9, provision = ?10, \
         stage3_last = ?11 WHERE as_of = ?1 AND loan_id = ?2",
        t.table()
    ))?;
    stmt.execute(params![
        iso(r.as_of),
        r.loan_id,
        r.grade.zh(),
        r.stage,
        r.grade_rule,
        r.reasons,
        r.eligible_for_upgrade_review,
        r.segment,
        rate_text(r.provision_rate),
        fen(r.provision)?,
        r.stage3_last.map(iso),
    ])?;
    Ok(())
}

/// Records a saved date: when, under which rule set, staging and conventions.
pub fn record_run(
    c: &Connection,
    as_of: NaiveDate,
    rules: &str,
    staging: &str,
    conventions: &str,
    totals: &Totals,
) -> Result<()> {
    let (loans, npl) = totals.loans_and_npl();
    c.execute(
        "INSERT INTO grade_runs (as_of, computed_at, rules, staging, conventions, loans, npl) \
         VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?2, ?3, ?4, ?5, ?6)",
        params![iso(as_of), rules, staging, conventions, loans, npl],
    )?;
    Ok(())
}

/// The loans whose saved grade of `as_of` remembers a stage-3 day on or after `since`
/// (older ones no longer matter to the probation), by loan.
pub fn stage3_days(
    c: &Connection,
    as_of: NaiveDate,
    since: NaiveDate,
) -> Result<HashMap<String, NaiveDate>> {
    let mut stmt = c.prepare(
        "SELECT loan_id, stage3_last FROM grades WHERE as_of = ?1 AND stage3_last >= ?2",
    )?;
    let mut rows = stmt.query(params![iso(as_of), iso(since)])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let d: String = r.get(1)?;
        out.insert(r.get(0)?, date_col(&d, "grades", "stage3_last")?);
    }
    Ok(out)
}

/// The classify run saved for a date, as `schedule-visits` reads it.
pub struct SavedSegments {
    /// The rule set it graded by.
    pub rules: String,
    /// The conventions it recorded (`grade_runs.conventions`).
    pub conventions: String,
    /// Grade and segment of every loan.
    pub by_loan: HashMap<String, (Grade, Segment)>,
}

/// The classify run saved for `as_of` (grade and segment of every loan, its rule set and
/// conventions); `None` when no run was saved for that date.
pub fn saved_segments(c: &Connection, as_of: NaiveDate) -> Result<Option<SavedSegments>> {
    let day = iso(as_of);
    let run: Option<(String, String)> = c
        .query_row(
            "SELECT rules, conventions FROM grade_runs WHERE as_of = ?1",
            [&day],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("reading the saved classify runs")?;
    let Some((rules, conventions)) = run else {
        return Ok(None);
    };
    let mut stmt = c.prepare("SELECT loan_id, grade, segment FROM grades WHERE as_of = ?1")?;
    let mut rows = stmt.query([&day])?;
    let mut by_loan = HashMap::new();
    while let Some(r) = rows.next()? {
        let loan_id: String = r.get(0)?;
        let g: String = r.get(1)?;
        let s: String = r.get(2)?;
        let grade = Grade::parse(&g).ok_or_else(|| {
            crate::exit::data(format!(
                "ledger table grades, as_of {day}, loan_id {loan_id}: grade {g:?} is not a grade"
            ))
        })?;
        by_loan.insert(
            loan_id,
            (grade, Segment::parse(&s).unwrap_or(Segment::Unknown)),
        );
    }
    Ok(Some(SavedSegments {
        rules,
        conventions,
        by_loan,
    }))
}

/// The latest saved run before `as_of`: its date and the conventions it recorded.
pub fn previous_run(c: &Connection, as_of: NaiveDate) -> Result<Option<(NaiveDate, String)>> {
    let run: Option<(String, String)> = c
        .query_row(
            "SELECT as_of, conventions FROM grade_runs WHERE as_of < ?1 \
             ORDER BY as_of DESC LIMIT 1",
            [iso(as_of)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    run.map(|(d, conv)| Ok((date_col(&d, "grade_runs", "as_of")?, conv)))
        .transpose()
}

/// Per grade: (loans, outstanding principal, provision) on `as_of`; and how many loans moved to
/// a worse / better grade since the date compared with.
pub struct Totals {
    pub by_grade: [(u64, Decimal, Decimal); 5],
    pub worse: u64,
    pub better: u64,
}

impl Totals {
    /// Loans of the date, and of those the non-performing ones (次级 or worse).
    pub fn loans_and_npl(&self) -> (u64, u64) {
        let n = |gs: &[(u64, Decimal, Decimal)]| gs.iter().map(|g| g.0).sum();
        (n(&self.by_grade), n(&self.by_grade[2..]))
    }
}

/// The code of a stored grade name: its rank (0 正常 … 4 损失), or [`NOT_A_GRADE`].
fn code(name: &str) -> u8 {
    Grade::ALL
        .iter()
        .position(|g| g.zh() == name)
        .map_or(NOT_A_GRADE, |k| k as u8)
}

/// The code of a stored name that is not a grade (it moves as 损失 and lists as no grade).
const NOT_A_GRADE: u8 = u8::MAX;

/// The loans of one date in loan order with the code of their grade (`code`) and their
/// stage: what the next date's moves are counted against, and the listing's previous grade.
/// The loan_ids share one buffer (a few bytes a loan, not a String each).
#[derive(Default)]
pub struct Ranks {
    ids: String,
    ends: Vec<usize>,
    codes: Vec<u8>,
    stages: Vec<u8>,
}

impl Ranks {
    /// Adds a loan (in loan order): the code of its grade ([`Grade::rank`], or a name that is
    /// not a grade) and its stage.
    pub fn push(&mut self, loan_id: &str, code: u8, stage: u8) {
        self.ids.push_str(loan_id);
        self.ends.push(self.ids.len());
        self.codes.push(code);
        self.stages.push(stage);
    }

    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.ids[start..end])
    }

    /// A walk through the loans, asked for in loan order.
    pub fn walk(&self) -> Walk<'_> {
        Walk { ranks: self, j: 0 }
    }
}

/// [`Ranks::walk`]: one ordered pass alongside another in loan order, no lookups.
pub struct Walk<'r> {
    ranks: &'r Ranks,
    j: usize,
}

impl Walk<'_> {
    /// The (code, stage) of a loan, if it has one; loans are asked for in loan order. The code
    /// is the grade's rank (0 正常 … 4 损失); a stored name that is not a grade has a code of
    /// its own, which [`Grade::from_rank`] does not know and a move counts as 损失.
    pub fn find(&mut self, loan_id: &str) -> Option<(u8, u8)> {
        while let Some(id) = self.ranks.get(self.j) {
            if id > loan_id {
                return None;
            }
            self.j += 1;
            if id == loan_id {
                let i = self.j - 1;
                return Some((self.ranks.codes[i], self.ranks.stages[i]));
            }
        }
        None
    }
}

/// The grades of a saved date in loan order (what a run's first date is compared with).
pub fn ranks(c: &Connection, as_of: NaiveDate) -> Result<Ranks> {
    let mut out = Ranks::default();
    let mut stmt = c.prepare(
        "SELECT loan_id, grade, stage FROM main.grades WHERE as_of = ?1 ORDER BY loan_id",
    )?;
    let mut rows = stmt.query([iso(as_of)])?;
    while let Some(r) = rows.next()? {
        let loan_id = r.get_ref(0)?.as_str()?;
        let name = r.get_ref(1)?.as_str()?;
        out.push(loan_id, code(name), r.get(2)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    fn row(as_of: &str, i: usize) -> GradeRow {
        let worse = i % 7 == 0;
        GradeRow {
            as_of: d(as_of),
            loan_id: format!("L{i:04}"),
            borrower_id: format!("B{:03}", i / 3),
            borrower_type: if i % 5 == 0 {
                "corporate"
            } else {
                "individual"
            }
            .into(),
            dpd: if worse { 95 } else { 0 },
            outstanding_principal: m("1000.05") + Decimal::from(i as u64),
            grade: if worse {
                Grade::Substandard
            } else {
                Grade::Pass
            },
            stage: if worse { 3 } else { 1 },
            grade_rule: if worse { "C2" } else { "" }.into(),
            reasons: if worse {
                "C2: dpd 95 > 90 → 次级".into()
            } else {
                String::new()
            },
            override_text: (i % 11 == 0).then(|| "2026-01-05 关注 by A (watch)".to_string()),
            override_grade: (i % 11 == 0).then_some(Grade::SpecialMention),
            eligible_for_upgrade_review: i % 13 == 0,
            segment: "unknown".into(),
            provision_rate: if worse { m("0.30") } else { m("0.015") },
            provision: if worse { m("300.02") } else { m("15.00") },
            stage3_last: worse.then(|| d(as_of)),
        }
    }

    #[test]
    fn a_batch_goes_in_64_rows_a_statement_and_the_rest_one_by_one_and_reads_back_the_same() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::db::SCHEMA).unwrap();
        // Two dates, each loan's two rows together (as a range of month ends streams them):
        // 140 rows = 2 statements of 64 and 12 rows one by one.
        let rows: Vec<GradeRow> = (0..70)
            .flat_map(|i| [row("2026-05-31", i), row("2026-06-30", i)])
            .collect();
        let mut ins = inserter(&c, Target::Saved).unwrap();
        insert_batch(&mut ins, &rows).unwrap();
        // A batch smaller than one statement.
        let more: Vec<GradeRow> = (70..75).map(|i| row("2026-06-30", i)).collect();
        insert_batch(&mut ins, &more).unwrap();
        drop(ins);
        let count: i64 = c
            .query_row("SELECT count(*) FROM grades", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 145);
        for day in ["2026-05-31", "2026-06-30"] {
            let want: Vec<&GradeRow> = rows
                .iter()
                .chain(&more)
                .filter(|r| r.as_of == d(day))
                .collect();
            let ids: Vec<&str> = want.iter().map(|r| r.loan_id.as_str()).collect();
            let got = borrower_rows(&c, Target::Saved, d(day), &ids).unwrap();
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "{day}");
        }
        // The provision rate is stored normalized.
        let rates: Vec<String> = c
            .prepare("SELECT DISTINCT provision_rate FROM grades ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rates, ["0.015", "0.3"]);
    }

    #[test]
    fn a_failed_batch_names_its_loans() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::db::SCHEMA).unwrap();
        let mut ins = inserter(&c, Target::Saved).unwrap();
        let rows: Vec<GradeRow> = (0..64).map(|i| row("2026-06-30", i)).collect();
        insert_batch(&mut ins, &rows).unwrap();
        // The same rows again: the statement of 64 fails on the first, a lone row on itself.
        let e = insert_batch(&mut ins, &rows).unwrap_err();
        assert_eq!(
            e.to_string(),
            "saving the grades of loan_ids L0000 to L0063"
        );
        let e = insert_batch(&mut ins, &rows[5..6]).unwrap_err();
        assert_eq!(e.to_string(), "saving the grade of loan_id L0005");
    }
}
