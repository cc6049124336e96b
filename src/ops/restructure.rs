//! Restructures into the ledger: one row at a time, priced on the loan as the ledger holds it.
//!
//! A new restructure is checked (the loan exists, the date is after origination and before the
//! loan closed, after any restructure already in force, the id is new), then its arrears at the
//! effective date are replayed from the ledger and its schedule version generated from its terms
//! ([`crate::restructure::generate`]) — or, when the import holds the bank's own schedule for it
//! (`schedule` rows carrying its `restructure_id`), that schedule is checked and wins. The same
//! row again is unchanged; the same id with other terms is an error; `kind = cancelled` voids it
//! (logged, never deleted). A schedule imported later for a restructure already in the ledger
//! replaces its generated version ([`import_version`]).

use anyhow::Result;
use chrono::NaiveDate;
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::classify::rules::RuleSet;
use crate::db::ledger::Outcome;
use crate::db::restructures::{self, Stored};
use crate::engine::Installment;
use crate::engine::{Conventions, Position};
use crate::money::to_fen;
use crate::output::{Cell, Tabular};
use crate::records::{quote, RestructureRecord};
use crate::restructure::proposal::{self, Flags, Spec};
use crate::restructure::{
    check_cover, generate, replacement, replay, Arrears, Basis, Contract, Kind, RestructureError,
    Version,
};

/// A bad row: the column and what is wrong (the caller adds file and line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: &'static str,
    pub message: String,
    /// `Some(i)`: the error is about row `i` of the imported schedule version, not the
    /// restructures row.
    pub version_row: Option<usize>,
}

fn row_err(column: &'static str, message: String) -> RowError {
    RowError {
        column,
        message,
        version_row: None,
    }
}

fn version_err(i: usize, column: &'static str, message: String) -> RowError {
    RowError {
        column,
        message,
        version_row: Some(i),
    }
}

/// Checks the bank's own schedule version of a restructure: every installment due on or after
/// the effective date, and its principal covering what the kind's arrears rule requires.
fn check_imported(
    basis: &Basis,
    kind: Kind,
    restructure_id: &str,
    rows: &[Installment],
) -> Result<(), RowError> {
    let Some(rule) = kind.arrears_rule() else {
        return Err(version_err(
            0,
            "restructure_id",
            format!(
                "{} is cancelled: a cancelled restructure has no schedule version",
                quote(restructure_id)
            ),
        ));
    };
    if let Some((i, x)) = rows
        .iter()
        .enumerate()
        .find(|(_, x)| x.due_date < basis.effective)
    {
        return Err(version_err(
            i,
            "due_date",
            format!(
                "\"{}\" is before the effective date {} of restructure {}: its schedule version holds only installments due from that date",
                x.due_date, basis.effective, quote(restructure_id)
            ),
        ));
    }
    check_cover(basis, rule, rows).map_err(|e| {
        version_err(
            0,
            "principal_due",
            format!(
                "the schedule version of restructure {} ({} rows): {e}",
                quote(restructure_id),
                rows.len()
            ),
        )
    })
}

/// Everything about one loan at a date that a restructure is priced on.
pub struct Priced {
    pub contract: Contract,
    /// The schedule in force just before E (original or last version).
    pub schedule: Vec<crate::engine::Installment>,
    pub arrears: Arrears,
    /// The position at the end of the day before E (the bank's conventions).
    pub before: Position,
}

/// The loan's state just before `e`: arrears (grace and tolerance 0: every unpaid remainder of
/// an installment due before E), the position the day before, the schedule in force.
pub fn price(
    contract: Contract,
    book: &crate::db::book::LoanBook,
    versions: &[replay::VersionFacts],
    e: NaiveDate,
    conv: &Conventions,
) -> Priced {
    let day_before = e.pred_opt().unwrap_or(e);
    let strict = Conventions {
        grace_days: 0,
        tolerance: Decimal::ZERO,
        ..conv.clone()
    };
    let run = |c: &Conventions| {
        replay::positions(
            &book.terms,
            &book.installments,
            versions,
            &book.payments,
            &[day_before],
            c,
        )
        .remove(0)
    };
    let s = run(&strict);
    let schedule = if versions.is_empty() {
        book.installments.clone()
    } else {
        replay::combined(&book.installments, versions, versions.len())
    };
    Priced {
        contract,
        schedule,
        arrears: Arrears {
            principal: s.overdue_principal,
            interest: s.overdue_interest,
            fee: s.overdue_fee,
        },
        before: run(conv),
    }
}

fn same_terms(s: &Stored, r: &RestructureRecord) -> bool {
    s.loan_id == r.loan_id
        && s.effective_date == r.effective_date
        && s.kind == r.kind
        && s.new_principal == r.new_principal.and_then(to_fen)
        && s.new_annual_rate
            .as_deref()
            .map(|v| v.parse::<Decimal>().ok())
            == r.new_annual_rate.map(Some)
        && s.new_term_months == r.new_term_months
        && s.new_method.as_deref() == r.new_method.map(|m| m.as_str())
        && s.holiday_months == r.holiday_months
        && s.interest_only_months == r.interest_only_months
}

/// The column a generation error is about.
fn column_of(e: &RestructureError) -> &'static str {
    match e {
        RestructureError::NotCovering { .. } => "new_principal",
        RestructureError::TermRequired | RestructureError::TermTooShort { .. } => "new_term_months",
        RestructureError::NotMultipleOfPeriod { what, .. } => what,
        RestructureError::Schedule(_) => "new_annual_rate",
        _ => "effective_date",
    }
}

/// Imports one restructure row inside the caller's transaction. `Ok(Err(_))` is a bad row.
/// `imported`: the bank's own schedule version for it, read from schedule rows carrying its id;
/// used (and counted by the caller) only when the restructure is new.
pub fn import_row(
    c: &Connection,
    r: &RestructureRecord,
    imported: Option<&[Installment]>,
    src: restructures::Source<'_>,
) -> Result<Result<Outcome, RowError>> {
    let existing = restructures::find(c, &r.restructure_id)?;
    if let Some(s) = &existing {
        if s.loan_id != r.loan_id {
            return Ok(Err(row_err(
                "restructure_id",
                format!(
                    "{} is a restructure of another loan ({})",
                    quote(&r.restructure_id),
                    s.loan_id
                ),
            )));
        }
    }
    if r.kind == Kind::Cancelled {
        let Some(s) = existing else {
            return Ok(Err(row_err(
                "restructure_id",
                format!(
                    "{} is not a restructure in the ledger; nothing to cancel",
                    quote(&r.restructure_id)
                ),
            )));
        };
        if s.cancelled {
            return Ok(Ok(Outcome::Unchanged));
        }
        if let Some(later) = restructures::of_loan(c, &r.loan_id)?
            .into_iter()
            .find(|o| !o.cancelled && o.effective_date > s.effective_date)
        {
            return Ok(Err(row_err(
                "restructure_id",
                format!(
                    "{} has a later restructure in force ({}, effective {}); cancel that first",
                    quote(&r.restructure_id),
                    later.restructure_id,
                    later.effective_date
                ),
            )));
        }
        restructures::cancel(c, &r.loan_id, &r.restructure_id, &r.reason, src)?;
        return Ok(Ok(Outcome::Changed));
    }
    if let Some(s) = existing {
        if same_terms(&s, r) {
            return Ok(Ok(Outcome::Unchanged));
        }
        return Ok(Err(row_err(
            "restructure_id",
            format!(
                "{} was imported before with other terms (effective {}, kind {}); a restructure cannot change: cancel it (kind cancelled) and import a new restructure_id",
                quote(&r.restructure_id),
                s.effective_date,
                s.kind
            ),
        )));
    }
    let Some((contract, book)) = restructures::loan(c, &r.loan_id)? else {
        return Ok(Err(row_err(
            "loan_id",
            format!(
                "{} is not a loan in the ledger (import its loans row first)",
                quote(&r.loan_id)
            ),
        )));
    };
    let e = r.effective_date;
    if e <= contract.origination {
        return Ok(Err(row_err(
            "effective_date",
            format!(
                "\"{e}\" is not after the loan's origination date {}",
                contract.origination
            ),
        )));
    }
    let in_force = restructures::versions_in_force(c, &r.loan_id)?;
    if let Some((s, _)) = in_force.iter().rev().find(|(s, _)| s.effective_date >= e) {
        return Ok(Err(row_err(
            "effective_date",
            format!(
                "\"{e}\" is not after restructure {} of this loan (effective {}); import restructures in date order",
                s.restructure_id, s.effective_date
            ),
        )));
    }
    let versions: Vec<replay::VersionFacts> = in_force.into_iter().map(|(_, v)| v).collect();
    let p = price(contract, &book, &versions, e, &Conventions::default());
    if p.before.closed {
        let closed_on = p.before.settled().iter().map(|s| s.settled_on).max();
        return Ok(Err(row_err(
            "effective_date",
            format!(
                "\"{e}\" is after the loan closed{}: nothing is left to restructure",
                closed_on.map(|d| format!(" (on {d})")).unwrap_or_default()
            ),
        )));
    }
    let basis = Basis {
        contract: &p.contract,
        schedule: &p.schedule,
        effective: e,
        arrears: p.arrears,
    };
    // The bank's own schedule wins over one generated from the terms.
    let (installments, transfer) = match imported {
        Some(rows) => {
            if let Err(e) = check_imported(&basis, r.kind, &r.restructure_id, rows) {
                return Ok(Err(e));
            }
            let transfers = r.kind.arrears_rule().is_some_and(|x| x.transfers());
            let t = if transfers {
                p.arrears.total()
            } else {
                Decimal::ZERO
            };
            (rows.to_vec(), t)
        }
        None => {
            let v: Version = match generate(&basis, r.kind, &r.terms()) {
                Ok(v) => v,
                Err(e) => return Ok(Err(row_err(column_of(&e), e.to_string()))),
            };
            (v.installments, v.transfer)
        }
    };
    let stored = Stored {
        loan_id: r.loan_id.clone(),
        restructure_id: r.restructure_id.clone(),
        effective_date: e,
        kind: r.kind,
        reason: r.reason.clone(),
        new_principal: r.new_principal.and_then(to_fen),
        new_annual_rate: r.new_annual_rate.map(|d| d.normalize().to_string()),
        new_term_months: r.new_term_months,
        new_method: r.new_method.map(|m| m.as_str().to_string()),
        holiday_months: r.holiday_months,
        interest_only_months: r.interest_only_months,
        transfer: to_fen(transfer).unwrap_or(0),
        cancelled: false,
    };
    restructures::insert(c, &stored, &installments, imported.is_none(), src)?;
    Ok(Ok(Outcome::New))
}

/// Imports the bank's own schedule version for restructure `s`, already in the ledger: the same
/// rows again are unchanged; rows for a version generated from its terms replace it (the
/// imported schedule wins); other rows for a version imported before are an error, as is a
/// version for a cancelled restructure or one with a later restructure in force (the later one
/// was priced on this version). A replacement is logged (`schedule_replaced`: what replaced
/// what, from `src`); nothing is logged when nothing changes.
pub fn import_version(
    c: &Connection,
    s: &Stored,
    rows: &[Installment],
    src: restructures::Source<'_>,
) -> Result<Result<Outcome, RowError>> {
    let id = quote(&s.restructure_id);
    if s.cancelled {
        return Ok(Err(version_err(
            0,
            "restructure_id",
            format!("{id} is cancelled: its schedule version cannot be imported"),
        )));
    }
    let (stored_rows, generated) = restructures::version(c, &s.loan_id, &s.restructure_id)?;
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|i| i.installment_no);
    if sorted == stored_rows {
        if !generated {
            return Ok(Ok(Outcome::Unchanged));
        }
    } else if !generated {
        return Ok(Err(version_err(
            0,
            "restructure_id",
            format!(
                "{id} already has an imported schedule version with other rows; a restructure cannot change: cancel it (kind cancelled) and import a new restructure_id"
            ),
        )));
    }
    let all = restructures::versions_in_force(c, &s.loan_id)?;
    if let Some((later, _)) = all
        .iter()
        .find(|(o, _)| o.effective_date > s.effective_date)
    {
        return Ok(Err(version_err(
            0,
            "restructure_id",
            format!(
                "{id} has a later restructure in force ({}, effective {}) priced on its schedule; cancel that first",
                later.restructure_id, later.effective_date
            ),
        )));
    }
    let Some((contract, book)) = restructures::loan(c, &s.loan_id)? else {
        return Ok(Err(row_err(
            "loan_id",
            format!("{} is not a loan in the ledger", quote(&s.loan_id)),
        )));
    };
    let before: Vec<replay::VersionFacts> = all
        .into_iter()
        .filter(|(o, _)| o.effective_date < s.effective_date)
        .map(|(_, v)| v)
        .collect();
    let e = s.effective_date;
    let p = price(contract, &book, &before, e, &Conventions::default());
    let basis = Basis {
        contract: &p.contract,
        schedule: &p.schedule,
        effective: e,
        arrears: p.arrears,
    };
    if let Err(err) = check_imported(&basis, s.kind, &s.restructure_id, rows) {
        return Ok(Err(err));
    }
    let detail = replacement(&stored_rows, &sorted);
    restructures::replace_version(c, &s.loan_id, &s.restructure_id, &sorted, &detail, src)?;
    Ok(Ok(Outcome::Changed))
}

/// What `daihou restructure` shows.
pub enum Proposal {
    /// Nothing outstanding at the date: why.
    Nothing(String),
    Options(Box<Options>),
}

/// The loan's position at D and the options taking effect at E = D + 1.
pub struct Options {
    pub position: Position,
    pub effective: NaiveDate,
    pub arrears: Arrears,
    pub status_quo: crate::restructure::proposal::StatusQuo,
    /// Each option with its outcome, or why it is not possible.
    pub outcomes: Vec<(Spec, Result<proposal::Outcome, RestructureError>)>,
}

/// Prices the options for `loan_id` at `as_of`: the flags' one option, or the default menu.
/// The position is counted with the bank's conventions `conv`; the grade consequence is read
/// from the classification rule set `rules`. `Ok(None)`: no such loan.
pub fn propose(
    c: &Connection,
    loan_id: &str,
    as_of: NaiveDate,
    flags: &Flags,
    conv: &Conventions,
    rules: &RuleSet,
) -> Result<Option<Proposal>> {
    let Some((contract, book)) = restructures::loan(c, loan_id)? else {
        return Ok(None);
    };
    if as_of < contract.origination {
        return Ok(Some(Proposal::Nothing(format!(
            "loan_id {loan_id} is not drawn yet at {as_of} (origination {})",
            contract.origination
        ))));
    }
    let e = as_of.succ_opt().unwrap_or(as_of);
    // Only what is in force at D: a restructure effective later is the future of this proposal.
    let versions: Vec<replay::VersionFacts> = restructures::versions_in_force(c, loan_id)?
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v.effective < e)
        .collect();
    let p = price(contract, &book, &versions, e, conv);
    let position = p.before.clone();
    if position.closed
        || position.outstanding_principal <= Decimal::ZERO && p.arrears.total() <= Decimal::ZERO
    {
        let on = position.settled().iter().map(|s| s.settled_on).max();
        return Ok(Some(Proposal::Nothing(format!(
            "loan_id {loan_id} has nothing outstanding at {as_of}{}: nothing to restructure",
            on.map(|d| format!(" (repaid in full on {d})"))
                .unwrap_or_default()
        ))));
    }
    let basis = Basis {
        contract: &p.contract,
        schedule: &p.schedule,
        effective: e,
        arrears: p.arrears,
    };
    let specs = match Spec::from_flags(&basis, flags) {
        Some(s) => vec![s],
        None => Spec::default_menu(&basis),
    };
    let outcomes = specs
        .into_iter()
        .map(|s| {
            let o = proposal::evaluate(&basis, position.dpd, &s, rules);
            (s, o)
        })
        .collect();
    Ok(Some(Proposal::Options(Box::new(Options {
        status_quo: proposal::status_quo(&basis),
        position,
        effective: e,
        arrears: p.arrears,
        outcomes,
    }))))
}

// ---------------------------------------------------------------------------------------------
// What `daihou restructure` prints: typed rows (the column names are the contract).

/// One row of the options table: the current terms, an option, or an option not possible.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionRow {
    pub option: String,
    pub kind: Option<Kind>,
    /// `overdue` (current terms), or the option's arrears rule.
    pub arrears: Option<&'static str>,
    pub first_payment: Option<Decimal>,
    pub installment: Option<Decimal>,
    pub term_months: Option<u32>,
    pub last_due: Option<NaiveDate>,
    pub total_interest: Option<Decimal>,
    pub npv_given_up: Option<Decimal>,
    pub observation_start: Option<NaiveDate>,
    pub observation_end: Option<NaiveDate>,
    /// The grade consequence, or why the option is not possible.
    pub grade: Option<String>,
}

/// One installment of an option's schedule, in `schedule.csv`'s format with the
/// `restructure_id` that makes it that restructure's version.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    pub loan_id: String,
    pub restructure_id: String,
    pub installment: Installment,
}

/// An option as the `restructures.csv` row `import` takes.
#[derive(Debug, Clone, PartialEq)]
pub struct RestructureRow {
    pub loan_id: String,
    pub restructure_id: String,
    pub effective_date: NaiveDate,
    pub kind: Kind,
    pub reason: String,
    pub new_annual_rate: Option<Decimal>,
    pub new_term_months: u32,
    pub new_method: Option<crate::schedule::Method>,
    pub holiday_months: u32,
    pub interest_only_months: u32,
}

impl Options {
    /// The options table: the current terms first, then each option.
    pub fn rows(&self) -> Vec<OptionRow> {
        let sq = &self.status_quo;
        let mut out = vec![OptionRow {
            option: "current terms".to_string(),
            kind: None,
            arrears: Some("overdue"),
            first_payment: sq.installment,
            installment: sq.installment,
            term_months: Some(sq.term_months),
            last_due: sq.last_due,
            total_interest: Some(sq.total_interest),
            npv_given_up: Some(Decimal::ZERO),
            observation_start: None,
            observation_end: None,
            grade: None,
        }];
        for (spec, outcome) in &self.outcomes {
            out.push(match outcome {
                Ok(x) => OptionRow {
                    option: spec.label.clone(),
                    kind: Some(spec.kind),
                    arrears: Some(x.version.rule.as_str()),
                    first_payment: Some(x.first_payment),
                    installment: Some(x.installment),
                    term_months: Some(x.version.term_months),
                    last_due: Some(x.last_due),
                    total_interest: Some(x.total_interest),
                    npv_given_up: Some(x.npv_given_up),
                    observation_start: Some(x.observation.start),
                    observation_end: Some(x.observation.end),
                    grade: Some(x.grade.clone()),
                },
                Err(e) => OptionRow {
                    option: spec.label.clone(),
                    kind: Some(spec.kind),
                    arrears: None,
                    first_payment: None,
                    installment: None,
                    term_months: None,
                    last_due: None,
                    total_interest: None,
                    npv_given_up: None,
                    observation_start: None,
                    observation_end: None,
                    grade: Some(format!("not possible: {e}")),
                },
            });
        }
        out
    }

    /// The one option the flags asked for, or why it is not possible (`label: not possible: …`).
    pub fn the_option(&self) -> Result<(&Spec, &proposal::Outcome), String> {
        let (spec, outcome) = self
            .outcomes
            .first()
            .ok_or_else(|| "no option was priced".to_string())?;
        outcome
            .as_ref()
            .map(|o| (spec, o))
            .map_err(|e| format!("{}: not possible: {e}", spec.label))
    }

    /// The restructure_id the rows of an agreed option carry: `id`, else
    /// `LOAN_ID-RYYYYMMDD` of the effective date.
    pub fn restructure_id(&self, loan_id: &str, id: Option<&str>) -> String {
        id.map_or_else(
            || format!("{loan_id}-R{}", self.effective.format("%Y%m%d")),
            str::to_string,
        )
    }
}

impl ScheduleRow {
    /// The option's schedule rows.
    pub fn of(loan_id: &str, restructure_id: &str, o: &proposal::Outcome) -> Vec<ScheduleRow> {
        o.version
            .installments
            .iter()
            .map(|i| ScheduleRow {
                loan_id: loan_id.to_string(),
                restructure_id: restructure_id.to_string(),
                installment: *i,
            })
            .collect()
    }
}

impl RestructureRow {
    /// The option agreed as a restructures row (its schedule generated again at import).
    pub fn of(
        loan_id: &str,
        restructure_id: &str,
        effective: NaiveDate,
        reason: &str,
        spec: &Spec,
        o: &proposal::Outcome,
    ) -> RestructureRow {
        RestructureRow {
            loan_id: loan_id.to_string(),
            restructure_id: restructure_id.to_string(),
            effective_date: effective,
            kind: o.version.kind,
            reason: reason.to_string(),
            new_annual_rate: spec.terms.annual_rate_pct,
            new_term_months: o.version.term_months,
            new_method: spec.terms.method,
            holiday_months: spec.terms.holiday_months,
            interest_only_months: spec.terms.interest_only_months,
        }
    }
}

fn money_or_null(v: Option<Decimal>) -> Cell {
    v.map_or(Cell::Null, Cell::Money)
}

impl Tabular for OptionRow {
    const COLUMNS: &'static [&'static str] = &[
        "option",
        "kind",
        "arrears",
        "first_payment",
        "installment",
        "term_months",
        "last_due",
        "total_interest",
        "npv_given_up",
        "observation_start",
        "observation_end",
        "grade",
    ];
    const TABLE_SHOWS: Option<&'static [&'static str]> = Some(&[
        "option",
        "kind",
        "arrears",
        "first_payment",
        "installment",
        "term_months",
        "last_due",
        "total_interest",
        "npv_given_up",
        "grade",
    ]);

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.option.clone()),
            self.kind.map_or(Cell::Null, |k| k.as_str().into()),
            self.arrears.map_or(Cell::Null, Cell::from),
            money_or_null(self.first_payment),
            money_or_null(self.installment),
            self.term_months.map_or(Cell::Null, |m| Cell::Int(m.into())),
            self.last_due.into(),
            money_or_null(self.total_interest),
            money_or_null(self.npv_given_up),
            self.observation_start.into(),
            self.observation_end.into(),
            self.grade.clone().map_or(Cell::Null, Cell::Text),
        ]
    }
}

impl Tabular for ScheduleRow {
    const COLUMNS: &'static [&'static str] = &[
        "loan_id",
        "restructure_id",
        "installment_no",
        "due_date",
        "principal_due",
        "interest_due",
        "fee_due",
    ];

    fn cells(&self) -> Vec<Cell> {
        let i = &self.installment;
        vec![
            Cell::Text(self.loan_id.clone()),
            Cell::Text(self.restructure_id.clone()),
            Cell::Int(i.installment_no.into()),
            Cell::Date(i.due_date),
            Cell::Money(i.principal_due),
            Cell::Money(i.interest_due),
            Cell::Money(i.fee_due),
        ]
    }
}

impl Tabular for RestructureRow {
    const COLUMNS: &'static [&'static str] = &[
        "loan_id",
        "restructure_id",
        "effective_date",
        "kind",
        "reason",
        "new_principal",
        "new_annual_rate",
        "new_term_months",
        "new_method",
        "holiday_months",
        "interest_only_months",
    ];

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.loan_id.clone()),
            Cell::Text(self.restructure_id.clone()),
            Cell::Date(self.effective_date),
            self.kind.as_str().into(),
            Cell::Text(self.reason.clone()),
            // The principal the kind's rule gives, generated again at import.
            Cell::Null,
            self.new_annual_rate
                .map_or(Cell::Null, |d| Cell::Text(d.normalize().to_string())),
            Cell::Int(self.new_term_months.into()),
            self.new_method.map_or(Cell::Null, |m| m.as_str().into()),
            Cell::Int(self.holiday_months.into()),
            Cell::Int(self.interest_only_months.into()),
        ]
    }
}
