//! SQL of the facts: loans, schedule, repayments, followups, and the import log.
//! Every upsert says what happened to the row, so an import can count new / changed / unchanged
//! and a rerun of the same tape writes nothing.
//!
//! The import's statements are named ([`Stmt`]) and prepared once per run, on first use.
//! Each fact kind ([`Fact`]) says how it is written and how a stored row is compared with a
//! parsed one, and one routine ([`Ledger::unchanged`]) compares a loan's rows for every kind.

use chrono::NaiveDate;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use rust_decimal::Decimal;

use crate::money;
use crate::records::{
    EventRecord, FollowupRecord, Kind, LoanRecord, OverrideRecord, RepaymentRecord, ScheduleRecord,
};
use crate::schedule::Installment;

/// What an upsert did to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    New,
    Changed,
    Unchanged,
}

/// An amount bound as integer fen. An amount that does not fit (the parsers refuse any such
/// amount, so this is a bug) fails the statement rather than storing a wrong number.
#[derive(Clone, Copy, Debug)]
struct AsFen(Decimal);

impl ToSql for AsFen {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        money::to_fen(self.0).map(ToSqlOutput::from).ok_or_else(|| {
            rusqlite::Error::ToSqlConversionFailure(
                format!("amount {} does not fit in integer fen", self.0).into(),
            )
        })
    }
}

/// True when the stored fen `v` is the amount `d`.
fn fen_is(v: i64, d: Decimal) -> bool {
    money::to_fen(d) == Some(v)
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

impl ToSql for Day {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(&self.0)))
    }
}

const LOAN_COLUMNS: &[&str] = &[
    "loan_id",
    "borrower_id",
    "borrower_name",
    "borrower_type",
    "region",
    "branch",
    "officer",
    "product",
    "currency",
    "principal",
    "annual_rate",
    "origination_date",
    "term_months",
    "term_days",
    "repayment_method",
    "repayment_frequency",
    "first_due_date",
    "maturity_date",
    "status",
    "collateral",
    "phone",
    "id_number",
];

/// The import's statements, by name. Each is prepared the first time it is used in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stmt {
    InsertLoan,
    UpdateLoan,
    InsertSchedule,
    UpdateSchedule,
    InsertRepayment,
    UpdateRepayment,
    InsertFollowup,
    UpdateFollowup,
    LoanExists,
    NoLoans,
    NoSchedule,
    NoRepayments,
    NoFollowups,
    NoRestructures,
    ScheduleOfLoan,
    RepaymentsOfLoan,
    FollowupsOfLoan,
    DropGeneratedSchedule,
    HasImportedSchedule,
    GeneratedScheduleOfLoan,
    InsertOverride,
    OverrideByKey,
    EventByKey,
    UpdateOverride,
    InsertEvent,
    UpdateEvent,
    NoOverrides,
    NoEvents,
    BorrowerExists,
    InsertGeneratedInstallment,
    LoanByKey,
    ScheduleByKey,
    RepaymentByKey,
    FollowupByKey,
}

impl Stmt {
    const COUNT: usize = Stmt::FollowupByKey as usize + 1;

    fn sql(self) -> &'static str {
        match self {
            Stmt::InsertLoan => &loan_sql().0,
            Stmt::UpdateLoan => &loan_sql().1,
            Stmt::InsertSchedule => {
                "INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due, fee_due, generated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) ON CONFLICT DO NOTHING"
            }
            Stmt::UpdateSchedule => {
                "UPDATE schedule SET due_date = ?3, principal_due = ?4, interest_due = ?5, fee_due = ?6, generated = 0 \
                 WHERE loan_id = ?1 AND installment_no = ?2 AND (due_date IS NOT ?3 OR principal_due IS NOT ?4 \
                 OR interest_due IS NOT ?5 OR fee_due IS NOT ?6 OR generated IS NOT 0)"
            }
            Stmt::InsertRepayment => {
                "INSERT INTO repayments (txn_id, loan_id, paid_on, amount, channel, reverses_txn_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"
            }
            Stmt::UpdateRepayment => {
                "UPDATE repayments SET loan_id = ?2, paid_on = ?3, amount = ?4, channel = ?5, reverses_txn_id = ?6 \
                 WHERE txn_id = ?1 AND (loan_id IS NOT ?2 OR paid_on IS NOT ?3 OR amount IS NOT ?4 \
                 OR channel IS NOT ?5 OR reverses_txn_id IS NOT ?6)"
            }
            Stmt::InsertFollowup => {
                "INSERT INTO followups (followup_id, loan_id, contact_date, channel, officer, outcome, \
                 promise_date, promise_amount, note, contact_time, contact_party, connected, consent_window) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING"
            }
            Stmt::UpdateFollowup => {
                "UPDATE followups SET loan_id = ?2, contact_date = ?3, channel = ?4, officer = ?5, outcome = ?6, \
                 promise_date = ?7, promise_amount = ?8, note = ?9, contact_time = ?10, contact_party = ?11, \
                 connected = ?12, consent_window = ?13 WHERE followup_id = ?1 AND (loan_id IS NOT ?2 \
                 OR contact_date IS NOT ?3 OR channel IS NOT ?4 OR officer IS NOT ?5 OR outcome IS NOT ?6 \
                 OR promise_date IS NOT ?7 OR promise_amount IS NOT ?8 OR note IS NOT ?9 \
                 OR contact_time IS NOT ?10 OR contact_party IS NOT ?11 OR connected IS NOT ?12 \
                 OR consent_window IS NOT ?13)"
            }
            Stmt::LoanExists => "SELECT 1 FROM loans WHERE loan_id = ?1",
            Stmt::NoLoans => "SELECT NOT EXISTS (SELECT 1 FROM loans)",
            Stmt::NoSchedule => "SELECT NOT EXISTS (SELECT 1 FROM schedule)",
            Stmt::NoRepayments => "SELECT NOT EXISTS (SELECT 1 FROM repayments)",
            Stmt::NoFollowups => "SELECT NOT EXISTS (SELECT 1 FROM followups)",
            Stmt::NoRestructures => "SELECT NOT EXISTS (SELECT 1 FROM restructures)",
            Stmt::ScheduleOfLoan => {
                "SELECT installment_no, due_date, principal_due, interest_due, fee_due, generated \
                 FROM schedule WHERE loan_id = ?1"
            }
            Stmt::RepaymentsOfLoan => {
                "SELECT txn_id, paid_on, amount, channel, reverses_txn_id FROM repayments WHERE loan_id = ?1"
            }
            Stmt::FollowupsOfLoan => {
                "SELECT followup_id, contact_date, channel, officer, outcome, promise_date, promise_amount, \
                 note, contact_time, contact_party, connected, consent_window FROM followups WHERE loan_id = ?1"
            }
            Stmt::DropGeneratedSchedule => {
                "DELETE FROM schedule WHERE loan_id = ?1 AND generated = 1"
            }
            Stmt::HasImportedSchedule => {
                "SELECT 1 FROM schedule WHERE loan_id = ?1 AND generated = 0 LIMIT 1"
            }
            Stmt::GeneratedScheduleOfLoan => {
                "SELECT installment_no, due_date, principal_due, interest_due, fee_due FROM schedule \
                 WHERE loan_id = ?1 AND generated = 1 ORDER BY installment_no"
            }
            Stmt::InsertOverride => {
                "INSERT INTO overrides (loan_id, effective_date, grade, reason, analyst, expires_on) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"
            }
            Stmt::UpdateOverride => {
                "UPDATE overrides SET grade = ?3, reason = ?4, analyst = ?5, expires_on = ?6 \
                 WHERE loan_id = ?1 AND effective_date = ?2 AND (grade IS NOT ?3 OR reason IS NOT ?4 \
                 OR analyst IS NOT ?5 OR expires_on IS NOT ?6)"
            }
            Stmt::InsertEvent => {
                "INSERT INTO events (event_id, loan_id, borrower_id, event_date, code, note) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"
            }
            Stmt::UpdateEvent => {
                "UPDATE events SET note = ?6 WHERE event_id = ?1 AND note IS NOT ?6"
            }
            Stmt::NoOverrides => "SELECT NOT EXISTS (SELECT 1 FROM overrides)",
            Stmt::NoEvents => "SELECT NOT EXISTS (SELECT 1 FROM events)",
            Stmt::BorrowerExists => "SELECT 1 FROM loans WHERE borrower_id = ?1 LIMIT 1",
            Stmt::LoanByKey => &loan_sql().2,
            Stmt::ScheduleByKey => {
                "SELECT loan_id, installment_no, due_date, principal_due, interest_due, fee_due FROM schedule \
                 WHERE loan_id = ?1 AND installment_no = ?2"
            }
            Stmt::OverrideByKey => {
                "SELECT loan_id, effective_date, grade, reason, analyst, expires_on FROM overrides \
                 WHERE loan_id = ?1 AND effective_date = ?2"
            }
            Stmt::EventByKey => {
                "SELECT event_id, loan_id, borrower_id, event_date, code, note FROM events WHERE event_id = ?1"
            }
            Stmt::RepaymentByKey => {
                "SELECT txn_id, loan_id, paid_on, amount, channel, reverses_txn_id FROM repayments WHERE txn_id = ?1"
            }
            Stmt::FollowupByKey => {
                "SELECT followup_id, loan_id, contact_date, channel, officer, outcome, promise_date, promise_amount, \
                 note, contact_time, contact_party, connected, consent_window FROM followups WHERE followup_id = ?1"
            }
            Stmt::InsertGeneratedInstallment => {
                "INSERT INTO schedule (loan_id, installment_no, due_date, principal_due, interest_due, fee_due, generated) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, 1)"
            }
        }
    }
}

/// The loans upsert (insert-or-nothing, then an update only when some column differs) and the
/// select by key.
fn loan_sql() -> &'static (String, String, String) {
    static SQL: std::sync::OnceLock<(String, String, String)> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let cols = LOAN_COLUMNS;
        let list = cols.join(", ");
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
                "INSERT INTO loans ({list}) VALUES ({}) ON CONFLICT (loan_id) DO NOTHING",
                marks.join(",")
            ),
            format!(
                "UPDATE loans SET {} WHERE loan_id = ?1 AND ({})",
                sets.join(", "),
                diffs.join(" OR ")
            ),
            format!("SELECT {list} FROM loans WHERE loan_id = ?1"),
        )
    })
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

/// A fact row as the import writes it.
pub trait Fact {
    /// The columns bound by [`Fact::with_params`], in order; the first `KEY_LEN` are the key.
    const COLUMNS: &'static [&'static str];
    const KEY_LEN: usize;
    /// Insert-or-nothing, update-when-different, and select-by-key of [`Fact::COLUMNS`].
    const INSERT: Stmt;
    const UPDATE: Stmt;
    const BY_KEY: Stmt;

    /// Calls `f` with the row's values for [`Fact::COLUMNS`].
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R;

    /// Inserts the row, or updates it by its natural key when something differs.
    fn upsert(&self, db: &mut Ledger<'_>) -> rusqlite::Result<Outcome> {
        self.with_params(|p| db.upsert(Self::INSERT, Self::UPDATE, p))
    }

    /// [`Fact::upsert`], and for a row that was already there the columns in which it differed
    /// (for `-v`: a read per existing row written, none for a new one).
    fn upsert_noting_changes(
        &self,
        db: &mut Ledger<'_>,
    ) -> rusqlite::Result<(Outcome, Vec<&'static str>)> {
        self.with_params(|p| {
            if db.stmt(Self::INSERT)?.execute(p)? == 1 {
                return Ok((Outcome::New, Vec::new()));
            }
            let cols = db
                .diff(Self::BY_KEY, Self::KEY_LEN, Self::COLUMNS, p)?
                .unwrap_or_default();
            // Stored value for value as given: the update would find nothing to change.
            if cols.is_empty() {
                return Ok((Outcome::Unchanged, cols));
            }
            let o = if db.stmt(Self::UPDATE)?.execute(p)? == 1 {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
            Ok((o, cols))
        })
    }
}

/// A fact of a table the import writes one loan at a time (schedule, repayments, followups):
/// how a stored row of the same loan is matched with a parsed row and compared with it.
pub trait LoanFact: Fact {
    /// The stored key of a row of [`LoanFact::OF_LOAN`], read once per stored row.
    type Key<'r>;
    /// Lists the stored rows of one loan (`?1` = loan_id), key columns first.
    const OF_LOAN: Stmt;
    fn stored_key<'r>(row: &'r rusqlite::Row<'_>) -> rusqlite::Result<Self::Key<'r>>;
    fn has_key(&self, key: &Self::Key<'_>) -> bool;
    /// True when the stored row (with this row's key) holds exactly this row.
    fn same_as_stored(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<bool>;
}

/// The import's writer: the SQL of the facts, with its statements prepared once per run
/// (a statement cache lookup per row costs more than the insert of a small row).
pub struct Ledger<'c> {
    c: &'c Connection,
    stmts: [Option<rusqlite::Statement<'c>>; Stmt::COUNT],
}

impl<'c> Ledger<'c> {
    pub fn new(c: &'c Connection) -> Ledger<'c> {
        Ledger {
            c,
            stmts: std::array::from_fn(|_| None),
        }
    }

    fn stmt(&mut self, s: Stmt) -> rusqlite::Result<&mut rusqlite::Statement<'c>> {
        let slot = &mut self.stmts[s as usize];
        if slot.is_none() {
            *slot = Some(self.c.prepare(s.sql())?);
        }
        Ok(slot.as_mut().expect("prepared above"))
    }

    /// Runs `insert` (insert or nothing), then `update` (only when something differs).
    fn upsert(
        &mut self,
        insert: Stmt,
        update: Stmt,
        p: &[&dyn ToSql],
    ) -> rusqlite::Result<Outcome> {
        if self.stmt(insert)?.execute(p)? == 1 {
            return Ok(Outcome::New);
        }
        Ok(if self.stmt(update)?.execute(p)? == 1 {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        })
    }

    /// The connection (inside the import's transaction), for the SQL of other areas.
    pub fn conn(&self) -> &'c Connection {
        self.c
    }

    /// The columns (after the first `key_len`, the key) in which the row stored under the key
    /// of `p` differs from `p`; `None` when no row has that key.
    fn diff(
        &mut self,
        by_key: Stmt,
        key_len: usize,
        columns: &'static [&'static str],
        p: &[&dyn ToSql],
    ) -> rusqlite::Result<Option<Vec<&'static str>>> {
        let mut q = self.stmt(by_key)?.query(&p[..key_len])?;
        let Some(row) = q.next()? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (i, col) in columns.iter().enumerate().skip(key_len) {
            // Compared as borrowed values: nothing is copied for a row that did not change.
            let stored = row.get_ref(i)?;
            let same = match p[i].to_sql()? {
                ToSqlOutput::Borrowed(v) => stored == v,
                ToSqlOutput::Owned(v) => stored == ValueRef::from(&v),
                _ => continue,
            };
            if !same {
                out.push(*col);
            }
        }
        Ok(Some(out))
    }

    /// True when `loan_id` is in the ledger (or earlier in this import's transaction).
    pub fn loan_exists(&mut self, loan_id: &str) -> rusqlite::Result<bool> {
        self.stmt(Stmt::LoanExists)?
            .query_row([loan_id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
    }

    /// True when some loan of `borrower_id` is in the ledger (or earlier in this import).
    pub fn borrower_exists(&mut self, borrower_id: &str) -> rusqlite::Result<bool> {
        self.stmt(Stmt::BorrowerExists)?
            .query_row([borrower_id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
    }

    /// True when the table of `kind` has no row at all (a first import can skip comparing with
    /// the ledger).
    pub fn is_empty(&mut self, kind: Kind) -> rusqlite::Result<bool> {
        let s = match kind {
            Kind::Loans => Stmt::NoLoans,
            Kind::Schedule => Stmt::NoSchedule,
            Kind::Repayments => Stmt::NoRepayments,
            Kind::Followups => Stmt::NoFollowups,
            Kind::Restructures => Stmt::NoRestructures,
            Kind::Overrides => Stmt::NoOverrides,
            Kind::Events => Stmt::NoEvents,
        };
        self.stmt(s)?.query_row([], |r| r.get(0))
    }

    /// True when every row in `rows` (all of one loan) is in the ledger as it is.
    pub fn unchanged<F: LoanFact>(&mut self, loan_id: &str, rows: &[F]) -> rusqlite::Result<bool> {
        let mut q = self.stmt(F::OF_LOAN)?.query([loan_id])?;
        let mut seen = 0usize;
        while let Some(r) = q.next()? {
            let key = F::stored_key(r)?;
            let Some(rec) = rows.iter().find(|x| x.has_key(&key)) else {
                continue;
            };
            if !rec.same_as_stored(r)? {
                return Ok(false);
            }
            seen += 1;
        }
        Ok(seen >= rows.len())
    }

    /// Removes the generated schedule of a loan (an imported one is about to replace it).
    pub fn drop_generated_schedule(&mut self, loan_id: &str) -> rusqlite::Result<usize> {
        self.stmt(Stmt::DropGeneratedSchedule)?.execute([loan_id])
    }

    /// True when the loan has installments from a schedule tape.
    pub fn has_imported_schedule(&mut self, loan_id: &str) -> rusqlite::Result<bool> {
        self.stmt(Stmt::HasImportedSchedule)?
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
        let stmt = self.stmt(Stmt::GeneratedScheduleOfLoan)?;
        let mut q = stmt.query([loan_id])?;
        let mut k = 0usize;
        while let Some(r) = q.next()? {
            let Some(i) = inst.get(k) else {
                return Ok(false);
            };
            let same = r.get::<_, u32>(0)? == i.installment_no
                && r.get_ref(1)?.as_bytes()? == Day::from(i.due_date).as_bytes()
                && fen_is(r.get(2)?, i.principal_due)
                && fen_is(r.get(3)?, i.interest_due)
                && r.get::<_, i64>(4)? == 0;
            if !same {
                return Ok(false);
            }
            k += 1;
        }
        Ok(k == inst.len())
    }

    /// Replaces the generated schedule of a loan.
    pub fn replace_generated_schedule(
        &mut self,
        loan_id: &str,
        inst: &[Installment],
    ) -> rusqlite::Result<()> {
        self.drop_generated_schedule(loan_id)?;
        let stmt = self.stmt(Stmt::InsertGeneratedInstallment)?;
        for i in inst {
            stmt.execute(params![
                loan_id,
                i.installment_no,
                Day::from(i.due_date),
                AsFen(i.principal_due),
                AsFen(i.interest_due)
            ])?;
        }
        Ok(())
    }

    /// Records a successful import (inside its transaction, so only a committed import is logged).
    pub fn log_import(&mut self, l: &ImportLog<'_>) -> rusqlite::Result<()> {
        crate::hooks::pause_at("import-log");
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

impl Fact for LoanRecord {
    const COLUMNS: &'static [&'static str] = LOAN_COLUMNS;
    const KEY_LEN: usize = 1;
    const INSERT: Stmt = Stmt::InsertLoan;
    const UPDATE: Stmt = Stmt::UpdateLoan;
    const BY_KEY: Stmt = Stmt::LoanByKey;
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let r = self;
        let p: [&dyn ToSql; 22] = [
            &r.loan_id,
            &r.borrower_id,
            &r.borrower_name,
            &r.borrower_type.as_str(),
            &r.region,
            &r.branch,
            &r.officer,
            &r.product,
            &r.currency,
            &AsFen(r.principal),
            &r.annual_rate.normalize().to_string(),
            &Day::from(r.origination_date),
            &r.term_months,
            &r.term_days,
            &r.repayment_method.as_str(),
            &r.repayment_frequency.as_str(),
            &r.first_due_date.map(Day::from),
            &r.maturity_date.map(Day::from),
            &r.status,
            &r.collateral,
            &r.phone,
            &r.id_number,
        ];
        f(&p)
    }
}

impl Fact for ScheduleRecord {
    const COLUMNS: &'static [&'static str] = &[
        "loan_id",
        "installment_no",
        "due_date",
        "principal_due",
        "interest_due",
        "fee_due",
    ];
    const KEY_LEN: usize = 2;
    const INSERT: Stmt = Stmt::InsertSchedule;
    const UPDATE: Stmt = Stmt::UpdateSchedule;
    const BY_KEY: Stmt = Stmt::ScheduleByKey;
    /// An imported installment, by `(loan_id, installment_no)`.
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let r = self;
        let p: [&dyn ToSql; 6] = [
            &r.loan_id,
            &r.installment_no,
            &Day::from(r.due_date),
            &AsFen(r.principal_due),
            &AsFen(r.interest_due),
            &AsFen(r.fee_due),
        ];
        f(&p)
    }
}

impl LoanFact for ScheduleRecord {
    type Key<'r> = u32;
    const OF_LOAN: Stmt = Stmt::ScheduleOfLoan;
    fn stored_key(row: &rusqlite::Row<'_>) -> rusqlite::Result<u32> {
        row.get(0)
    }
    fn has_key(&self, key: &u32) -> bool {
        self.installment_no == *key
    }
    fn same_as_stored(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<bool> {
        Ok(
            r.get_ref(1)?.as_bytes()? == Day::from(self.due_date).as_bytes()
                && fen_is(r.get(2)?, self.principal_due)
                && fen_is(r.get(3)?, self.interest_due)
                && fen_is(r.get(4)?, self.fee_due)
                && r.get::<_, i64>(5)? == 0,
        )
    }
}

impl Fact for RepaymentRecord {
    const COLUMNS: &'static [&'static str] = &[
        "txn_id",
        "loan_id",
        "paid_on",
        "amount",
        "channel",
        "reverses_txn_id",
    ];
    const KEY_LEN: usize = 1;
    const INSERT: Stmt = Stmt::InsertRepayment;
    const UPDATE: Stmt = Stmt::UpdateRepayment;
    const BY_KEY: Stmt = Stmt::RepaymentByKey;
    /// A repayment, by `txn_id`.
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let r = self;
        let p: [&dyn ToSql; 6] = [
            &r.txn_id,
            &r.loan_id,
            &Day::from(r.paid_on),
            &AsFen(r.amount),
            &r.channel,
            &r.reverses_txn_id,
        ];
        f(&p)
    }
}

impl LoanFact for RepaymentRecord {
    type Key<'r> = &'r [u8];
    const OF_LOAN: Stmt = Stmt::RepaymentsOfLoan;
    fn stored_key<'r>(row: &'r rusqlite::Row<'_>) -> rusqlite::Result<&'r [u8]> {
        Ok(row.get_ref(0)?.as_bytes()?)
    }
    fn has_key(&self, key: &&[u8]) -> bool {
        self.txn_id.as_bytes() == *key
    }
    fn same_as_stored(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<bool> {
        let reverses: Option<&str> = r.get_ref(4)?.as_str_or_null()?;
        Ok(
            r.get_ref(1)?.as_bytes()? == Day::from(self.paid_on).as_bytes()
                && fen_is(r.get(2)?, self.amount)
                && r.get_ref(3)?.as_bytes()? == self.channel.as_bytes()
                && reverses == self.reverses_txn_id.as_deref(),
        )
    }
}

impl Fact for FollowupRecord {
    const COLUMNS: &'static [&'static str] = &[
        "followup_id",
        "loan_id",
        "contact_date",
        "channel",
        "officer",
        "outcome",
        "promise_date",
        "promise_amount",
        "note",
        "contact_time",
        "contact_party",
        "connected",
        "consent_window",
    ];
    const KEY_LEN: usize = 1;
    const INSERT: Stmt = Stmt::InsertFollowup;
    const UPDATE: Stmt = Stmt::UpdateFollowup;
    const BY_KEY: Stmt = Stmt::FollowupByKey;
    /// A followup, by its `followup_id`.
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let r = self;
        let p: [&dyn ToSql; 13] = [
            &r.followup_id,
            &r.loan_id,
            &Day::from(r.contact_date),
            &r.channel.as_str(),
            &r.officer,
            &r.outcome.as_str(),
            &r.promise_date.map(Day::from),
            &r.promise_amount.map(AsFen),
            &r.note,
            &r.contact_time,
            &r.contact_party.map(|p| p.as_str()),
            &r.connected,
            &r.consent_window,
        ];
        f(&p)
    }
}

impl LoanFact for FollowupRecord {
    type Key<'r> = &'r [u8];
    const OF_LOAN: Stmt = Stmt::FollowupsOfLoan;
    fn stored_key<'r>(row: &'r rusqlite::Row<'_>) -> rusqlite::Result<&'r [u8]> {
        Ok(row.get_ref(0)?.as_bytes()?)
    }
    fn has_key(&self, key: &&[u8]) -> bool {
        self.followup_id.as_bytes() == *key
    }
    fn same_as_stored(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<bool> {
        let text =
            |i: usize| -> rusqlite::Result<Option<&str>> { Ok(r.get_ref(i)?.as_str_or_null()?) };
        let amount: Option<i64> = r.get(6)?;
        Ok(
            r.get_ref(1)?.as_bytes()? == Day::from(self.contact_date).as_bytes()
                && text(2)? == Some(self.channel.as_str())
                && text(3)? == Some(self.officer.as_str())
                && text(4)? == Some(self.outcome.as_str())
                && text(5)?.map(str::as_bytes)
                    == self.promise_date.map(Day::from).as_ref().map(Day::as_bytes)
                && match (amount, self.promise_amount) {
                    (None, None) => true,
                    (Some(v), Some(a)) => fen_is(v, a),
                    _ => false,
                }
                && text(7)? == Some(self.note.as_str())
                && text(8)? == self.contact_time.as_deref()
                && text(9)? == self.contact_party.map(|p| p.as_str())
                && r.get::<_, Option<bool>>(10)? == self.connected
                && text(11)? == self.consent_window.as_deref(),
        )
    }
}

impl Fact for OverrideRecord {
    const COLUMNS: &'static [&'static str] = &[
        "loan_id",
        "effective_date",
        "grade",
        "reason",
        "analyst",
        "expires_on",
    ];
    const KEY_LEN: usize = 2;
    const INSERT: Stmt = Stmt::InsertOverride;
    const UPDATE: Stmt = Stmt::UpdateOverride;
    const BY_KEY: Stmt = Stmt::OverrideByKey;
    /// An analyst's override, by `(loan_id, effective_date)`.
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let r = self;
        let p: [&dyn ToSql; 6] = [
            &r.loan_id,
            &Day::from(r.effective_date),
            &r.grade,
            &r.reason,
            &r.analyst,
            &r.expires_on.map(Day::from),
        ];
        f(&p)
    }
}

impl Fact for EventRecord {
    const COLUMNS: &'static [&'static str] = &[
        "event_id",
        "loan_id",
        "borrower_id",
        "event_date",
        "code",
        "note",
    ];
    const KEY_LEN: usize = 1;
    const INSERT: Stmt = Stmt::InsertEvent;
    const UPDATE: Stmt = Stmt::UpdateEvent;
    const BY_KEY: Stmt = Stmt::EventByKey;
    /// A risk event, by its `event_id` (subject, date, code); the note may change.
    fn with_params<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let r = self;
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        let p: [&dyn ToSql; 6] = [
            &r.event_id(),
            &opt(&r.loan_id),
            &opt(&r.borrower_id),
            &Day::from(r.event_date),
            &r.code,
            &r.note,
        ];
        f(&p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::BorrowerType;
    use crate::schedule::{Frequency, Method};
    use crate::test_support::{d, m as amt};

    /// An empty ledger in memory, with the whole current schema.
    pub(crate) fn ledger() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::db::SCHEMA).unwrap();
        c
    }

    pub(crate) fn loan(id: &str) -> LoanRecord {
        LoanRecord {
            loan_id: id.into(),
            borrower_id: format!("B{id}"),
            borrower_name: "张三".into(),
            borrower_type: BorrowerType::Individual,
            region: String::new(),
            branch: String::new(),
            officer: "陈立新".into(),
            product: String::new(),
            currency: "CNY".into(),
            principal: amt("12000.00"),
            annual_rate: amt("4.9"),
            origination_date: d("2026-01-15"),
            term_months: Some(12),
            term_days: None,
            repayment_method: Method::EqualPrincipal,
            repayment_frequency: Frequency::Monthly,
            first_due_date: None,
            maturity_date: None,
            status: None,
            collateral: String::new(),
            phone: String::new(),
            id_number: String::new(),
        }
    }

    pub(crate) fn installment(loan: &str, no: u32, due: &str) -> ScheduleRecord {
        ScheduleRecord {
            loan_id: loan.into(),
            installment_no: no,
            due_date: d(due),
            principal_due: amt("1000.00"),
            interest_due: amt("49.00"),
            fee_due: amt("0.00"),
            restructure_id: None,
        }
    }

    pub(crate) fn payment(loan: &str, txn: &str, on: &str, amount: &str) -> RepaymentRecord {
        RepaymentRecord {
            txn_id: txn.into(),
            loan_id: loan.into(),
            paid_on: d(on),
            amount: amt(amount),
            channel: String::new(),
            reverses_txn_id: None,
        }
    }

    /// The bug this replaced: one statement slot served `is_empty` for every table, so the
    /// table asked first answered for all the others.
    #[test]
    fn is_empty_answers_for_the_table_asked() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        assert!(db.is_empty(Kind::Loans).unwrap());
        assert!(db.is_empty(Kind::Schedule).unwrap());
        loan("L1").upsert(&mut db).unwrap();
        installment("L1", 1, "2026-02-15").upsert(&mut db).unwrap();
        // Asked in this order, the old cache answered "not empty" for repayments and followups.
        assert!(!db.is_empty(Kind::Loans).unwrap());
        assert!(!db.is_empty(Kind::Schedule).unwrap());
        assert!(db.is_empty(Kind::Repayments).unwrap());
        assert!(db.is_empty(Kind::Followups).unwrap());
        payment("L1", "T1", "2026-02-15", "1049.00")
            .upsert(&mut db)
            .unwrap();
        assert!(!db.is_empty(Kind::Repayments).unwrap());
        assert!(db.is_empty(Kind::Followups).unwrap());
    }

    #[test]
    fn upserts_say_new_changed_unchanged() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        let mut l = loan("L1");
        assert_eq!(l.upsert(&mut db).unwrap(), Outcome::New);
        assert_eq!(l.upsert(&mut db).unwrap(), Outcome::Unchanged);
        l.officer = "王芳".into();
        assert_eq!(l.upsert(&mut db).unwrap(), Outcome::Changed);
        assert_eq!(l.upsert(&mut db).unwrap(), Outcome::Unchanged);

        let mut p = payment("L1", "T1", "2026-02-15", "1049.00");
        assert_eq!(p.upsert(&mut db).unwrap(), Outcome::New);
        assert_eq!(p.upsert(&mut db).unwrap(), Outcome::Unchanged);
        p.amount = amt("1049.01");
        assert_eq!(p.upsert(&mut db).unwrap(), Outcome::Changed);
        let stored: i64 = c
            .query_row(
                "SELECT amount FROM repayments WHERE txn_id = 'T1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, 104901);

        let mut s = installment("L1", 1, "2026-02-15");
        assert_eq!(s.upsert(&mut db).unwrap(), Outcome::New);
        s.fee_due = amt("5.00");
        assert_eq!(s.upsert(&mut db).unwrap(), Outcome::Changed);
        assert_eq!(s.upsert(&mut db).unwrap(), Outcome::Unchanged);
    }

    /// An amount that does not fit in fen is an error, never a wrong number in the ledger.
    #[test]
    fn an_amount_beyond_fen_fails_the_write() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        loan("L1").upsert(&mut db).unwrap();
        let mut p = payment("L1", "T1", "2026-02-15", "1.00");
        p.amount = rust_decimal::Decimal::MAX;
        assert!(p.upsert(&mut db).is_err());
        assert!(db.is_empty(Kind::Repayments).unwrap());
    }

    #[test]
    fn unchanged_compares_every_row_of_the_loan() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        loan("L1").upsert(&mut db).unwrap();
        loan("L2").upsert(&mut db).unwrap();
        let rows = vec![
            payment("L1", "T1", "2026-02-15", "1049.00"),
            payment("L1", "T2", "2026-03-15", "1045.00"),
        ];
        assert!(!db.unchanged("L1", &rows).unwrap(), "nothing stored yet");
        for r in &rows {
            r.upsert(&mut db).unwrap();
        }
        payment("L2", "T9", "2026-03-15", "5.00")
            .upsert(&mut db)
            .unwrap();
        assert!(db.unchanged("L1", &rows).unwrap());
        assert!(
            db.unchanged("L1", &rows[..1]).unwrap(),
            "a subset is unchanged"
        );
        let mut more = rows.clone();
        more.push(payment("L1", "T3", "2026-04-15", "1041.00"));
        assert!(!db.unchanged("L1", &more).unwrap(), "a new row");
        let mut other = rows.clone();
        other[1].paid_on = d("2026-03-16");
        assert!(!db.unchanged("L1", &other).unwrap(), "a changed date");
        let mut other = rows.clone();
        other[0].reverses_txn_id = Some("T0".into());
        assert!(!db.unchanged("L1", &other).unwrap(), "a changed reversal");

        let inst = vec![
            installment("L1", 1, "2026-02-15"),
            installment("L1", 2, "2026-03-15"),
        ];
        for i in &inst {
            i.upsert(&mut db).unwrap();
        }
        assert!(db.unchanged("L1", &inst).unwrap());
        let mut other = inst.clone();
        other[1].interest_due = amt("49.01");
        assert!(!db.unchanged("L1", &other).unwrap());
        // A generated installment with the same numbers is not the imported one.
        c.execute(
            "UPDATE schedule SET generated = 1 WHERE installment_no = 2",
            [],
        )
        .unwrap();
        assert!(!db.unchanged("L1", &inst).unwrap());
    }

    #[test]
    fn generated_schedules_are_replaced_and_compared() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        let l = loan("L1");
        l.upsert(&mut db).unwrap();
        let inst = crate::schedule::generate(&l.terms()).unwrap();
        assert!(!db.generated_schedule_is("L1", &inst).unwrap());
        db.replace_generated_schedule("L1", &inst).unwrap();
        assert!(db.generated_schedule_is("L1", &inst).unwrap());
        assert!(!db.generated_schedule_is("L1", &inst[1..]).unwrap());
        assert!(!db.has_imported_schedule("L1").unwrap());
        assert!(!db.is_empty(Kind::Schedule).unwrap());
        installment("L1", 1, "2026-02-15").upsert(&mut db).unwrap();
        assert!(db.has_imported_schedule("L1").unwrap());
        assert_eq!(
            db.drop_generated_schedule("L1").unwrap(),
            inst.len() - 1,
            "the imported installment 1 replaced the generated one"
        );
    }

    #[test]
    fn loan_exists_sees_this_transaction() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        assert!(!db.loan_exists("L1").unwrap());
        loan("L1").upsert(&mut db).unwrap();
        assert!(db.loan_exists("L1").unwrap());
        assert!(!db.loan_exists("L10").unwrap());
    }

    /// `-v`'s upsert: a row stored as given is unchanged (without an update), one that
    /// differs names its columns and is updated; NULLs, integers and text compare by value.
    #[test]
    fn noting_changes_names_the_columns_that_differ() {
        let c = ledger();
        let mut db = Ledger::new(&c);
        let mut l = loan("L1");
        l.status = Some("正常".into());
        assert_eq!(
            l.upsert_noting_changes(&mut db).unwrap(),
            (Outcome::New, vec![])
        );
        assert_eq!(
            l.upsert_noting_changes(&mut db).unwrap(),
            (Outcome::Unchanged, vec![])
        );
        l.officer = "王芳".into();
        l.principal = amt("12000.01");
        l.term_months = None;
        l.status = None;
        l.repayment_method = Method::Annuity;
        assert_eq!(
            l.upsert_noting_changes(&mut db).unwrap(),
            (
                Outcome::Changed,
                vec![
                    "officer",
                    "principal",
                    "term_months",
                    "repayment_method",
                    "status"
                ]
            )
        );
        assert_eq!(
            l.upsert_noting_changes(&mut db).unwrap(),
            (Outcome::Unchanged, vec![])
        );
        let stored: (String, i64, Option<i64>, String) = c
            .query_row(
                "SELECT officer, principal, term_months, repayment_method FROM loans",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(stored, ("王芳".into(), 1_200_001, None, "annuity".into()));
    }

    /// The import writes loans and followups with the CHECK constraints off
    /// ([`crate::db::with_checks_off`]): every value their typed columns can take is one the
    /// CHECKs accept, written here with the checks on. A variant added to an enum without its
    /// schema list fails here.
    #[test]
    fn every_typed_value_the_import_writes_passes_the_checks() {
        use crate::collection::{Channel, Outcome as Said, Party};
        let c = ledger();
        let mut db = Ledger::new(&c);
        let mut n = 0;
        for bt in [BorrowerType::Individual, BorrowerType::Corporate] {
            for m in Method::ALL {
                for f in Frequency::ALL {
                    n += 1;
                    let mut l = loan(&format!("L{n}"));
                    (l.borrower_type, l.repayment_method, l.repayment_frequency) = (bt, m, f);
                    l.principal = amt("0.01");
                    assert_eq!(
                        l.upsert(&mut db).unwrap(),
                        Outcome::New,
                        "{bt:?} {m:?} {f:?}"
                    );
                }
            }
        }
        let mut k = 0;
        for ch in Channel::ALL {
            for said in Said::ALL {
                for party in Party::ALL.map(Some).into_iter().chain([None]) {
                    k += 1;
                    let f = FollowupRecord {
                        followup_id: format!("F{k}"),
                        id_given: true,
                        content_id: String::new(),
                        loan_id: "L1".into(),
                        contact_date: d("2026-02-01"),
                        channel: ch,
                        officer: String::new(),
                        outcome: said,
                        promise_date: None,
                        promise_amount: Some(amt("0.01")),
                        note: String::new(),
                        contact_time: None,
                        contact_party: party,
                        connected: Some(k % 2 == 0),
                        consent_window: None,
                    };
                    assert_eq!(
                        f.upsert(&mut db).unwrap(),
                        Outcome::New,
                        "{ch:?} {said:?} {party:?}"
                    );
                }
            }
        }
        let bad = c.execute(
            "UPDATE followups SET channel = 'fax' WHERE followup_id = 'F1'",
            [],
        );
        assert!(bad.is_err(), "the checks were on");
    }
}
