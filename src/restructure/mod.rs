//! Restructuring (贷款重组 / 协商): a loan's schedule changes at a date.
//!
//! A restructure is a fact with an `effective_date` E. From E the loan follows
//! a new schedule **version**; installments due before E stay as they were,
//! with their payments. This module is pure: the kinds and their rules, the
//! generation of a new version from new terms (amounts by the existing
//! generator, [`crate::schedule::generate`]), and the proposal maths used by
//! `daihou restructure` ([`proposal`]). The replay across versions is
//! [`replay`].
//!
//! # Conventions (all deliberate; tests pin each one)
//!
//! * **What was unpaid at E** ("arrears": the unpaid principal, interest and
//!   fee of the installments due before E, after the payments dated before E)
//!   is handled by one rule per [`Kind`] ([`Kind::arrears_rule`]):
//!
//!   | kind | 中文 | arrears rule |
//!   |---|---|---|
//!   | `extension` | 展期 | carried into the first new installment |
//!   | `interest_only` | 只还息 | carried into the first new installment |
//!   | `holiday` | 延期还本付息 | capitalised into the new principal |
//!   | `capitalisation` | 欠款资本化 | capitalised into the new principal |
//!   | `rate_cut` | 降息 | left overdue on the old installments |
//!   | `method_change` | 变更还款方式 | left overdue on the old installments |
//!   | `cancelled` | 撤销 | voids the restructure with the same id: the loan follows the version in force before it, for every date |
//!
//!   *Capitalised*: the new principal is the not-yet-due principal plus the
//!   arrears (principal, interest and fee all become principal). *Carried*:
//!   the first new installment's principal, interest and fee grow by the
//!   arrears' principal, interest and fee. *Left overdue*: the old
//!   installments keep their remainders, DPD keeps counting from their due
//!   dates, and the new version covers the not-yet-due principal only.
//! * **Not-yet-due principal** N = the principal of the installments of the
//!   version in force due on or after E, as scheduled (money paid before E
//!   beyond what was due then is a credit on the new version, applied by the
//!   engine's prepayment rule, so it is not subtracted here).
//! * **Due dates** of a generated version stay on the loan's grid: slot j is
//!   `j × period` months after origination (or `(j − 1) × period` after
//!   `first_due_date`), on that anchor's day of month, clamped. The first new
//!   installment is the first slot on or after E (an old installment due ON E
//!   is replaced). Bullet loans use a monthly grid.
//! * **Term** (`term_months`) is the whole length of the new version counted
//!   from the slot before its first installment, holiday and interest-only
//!   months included; by default the remaining term (installments due on or
//!   after E × period) — plus the holiday and interest-only months when the
//!   terms come from the proposal flags (see [`proposal::Spec`]).
//! * **Payment holiday** of h months: no installment in the first h months;
//!   their interest, round_fen(P × rate × h / 1200) (simple, 30/360), is
//!   capitalised into the principal at the end of the holiday.
//! * **Interest-only** months k: k / period installments of interest
//!   round_fen(P × rate × period / 1200) and no principal, then the
//!   amortisation.
//! * **Amortisation**: the rest of the term by the new method (default the
//!   contract's) at the new rate (default the contract's), amounts from
//!   [`crate::schedule::generate`] (annuity rounding, residue in the last).
//! * **Cover**: a version's principal must cover what the kind requires:
//!   N (left overdue), N + arrears principal (carried: in the first
//!   installment), N + all arrears (capitalised). More is allowed (fees or
//!   holiday interest capitalised); less is an error stating both sums.

pub mod proposal;
pub mod replay;

use crate::dates::add_months_clamped;
use crate::engine::Installment;
use crate::money::{fmt_amount, round_fen};
use crate::schedule::{self, Frequency, Method, ScheduleError};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// What kind of concession a restructure is; it decides what happens to the arrears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 展期: a longer term.
    Extension,
    /// 只还息: interest-only months, then amortisation.
    InterestOnly,
    /// 延期还本付息: a payment holiday.
    Holiday,
    /// 欠款资本化: arrears capitalised into the principal.
    Capitalisation,
    /// 降息: a lower rate.
    RateCut,
    /// 变更还款方式: another repayment method.
    MethodChange,
    /// 撤销: a correction voiding the restructure with the same id.
    Cancelled,
}

impl Kind {
    /// Every kind, in the order they are listed in messages.
    pub const ALL: [Kind; 7] = [
        Kind::Extension,
        Kind::InterestOnly,
        Kind::Holiday,
        Kind::Capitalisation,
        Kind::RateCut,
        Kind::MethodChange,
        Kind::Cancelled,
    ];

    /// The name used in files and on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Extension => "extension",
            Kind::InterestOnly => "interest_only",
            Kind::Holiday => "holiday",
            Kind::Capitalisation => "capitalisation",
            Kind::RateCut => "rate_cut",
            Kind::MethodChange => "method_change",
            Kind::Cancelled => "cancelled",
        }
    }

    /// What happens to the arrears at the effective date; None for `cancelled`.
    pub fn arrears_rule(&self) -> Option<ArrearsRule> {
        match self {
            Kind::Extension | Kind::InterestOnly => Some(ArrearsRule::Carry),
            Kind::Holiday | Kind::Capitalisation => Some(ArrearsRule::Capitalise),
            Kind::RateCut | Kind::MethodChange => Some(ArrearsRule::LeaveOverdue),
            Kind::Cancelled => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the [`Kind`] names; `Display` never includes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownKind;

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "is not one of extension, interest_only, holiday, capitalisation, rate_cut, \
             method_change, cancelled",
        )
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for Kind {
    type Err = UnknownKind;

    /// The [`Kind::as_str`] names, ignoring ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(t))
            .ok_or(UnknownKind)
    }
}

/// What a restructure does with what was unpaid at its effective date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrearsRule {
    /// Added to the new principal; the old installments are closed at E.
    Capitalise,
    /// Added to the first new installment; the old installments are closed at E.
    Carry,
    /// Stays owed on the old installments, still overdue.
    LeaveOverdue,
}

impl ArrearsRule {
    /// Whether the old installments' remainders move to the new version at E.
    pub fn transfers(&self) -> bool {
        !matches!(self, ArrearsRule::LeaveOverdue)
    }

    /// The name shown in outputs: `capitalised`, `carried`, `left_overdue`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ArrearsRule::Capitalise => "capitalised",
            ArrearsRule::Carry => "carried",
            ArrearsRule::LeaveOverdue => "left_overdue",
        }
    }
}

/// Unpaid amounts of the installments due before the effective date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arrears {
    pub principal: Decimal,
    pub interest: Decimal,
    pub fee: Decimal,
}

impl Arrears {
    pub fn total(&self) -> Decimal {
        self.principal + self.interest + self.fee
    }
}

/// The loan's contract terms a version's due-date grid and defaults come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// Percent per year, the rate the bank's NPV is measured at.
    pub annual_rate_pct: Decimal,
    pub method: Method,
    pub frequency: Frequency,
    pub origination: NaiveDate,
    pub first_due_date: Option<NaiveDate>,
}

impl Contract {
    /// Months between grid slots (bullet loans: 1).
    pub fn period(&self) -> u32 {
        if self.method == Method::Bullet {
            1
        } else {
            self.frequency.months()
        }
    }

    /// Due date of grid slot `j` (j >= 1); slot 0 is the origination date.
    pub fn slot(&self, j: u32) -> Option<NaiveDate> {
        if j == 0 {
            return Some(self.origination);
        }
        let p = self.period();
        match self.first_due_date {
            Some(f) => add_months_clamped(f, (j - 1).checked_mul(p)?, f.day()),
            None => add_months_clamped(self.origination, j.checked_mul(p)?, self.origination.day()),
        }
    }

    /// The first slot due on or after `e` (at least 1).
    pub fn first_slot_on_or_after(&self, e: NaiveDate) -> Option<u32> {
        let months = (e.year() - self.origination.year()) * 12 + e.month() as i32
            - self.origination.month() as i32;
        let p = self.period() as i32;
        // Start a little before the estimate; clamping can only move a slot within its month.
        let mut j = ((months / p) - 2).max(1) as u32;
        loop {
            if self.slot(j)? >= e {
                return Some(j);
            }
            j = j.checked_add(1)?;
        }
    }
}

/// New terms of a restructure; every `None` falls back to a default (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NewTerms {
    /// The amortised principal before any holiday interest (default by the arrears rule).
    pub principal: Option<Decimal>,
    pub annual_rate_pct: Option<Decimal>,
    /// Whole length of the version, holiday and interest-only months included.
    pub term_months: Option<u32>,
    pub method: Option<Method>,
    pub holiday_months: u32,
    pub interest_only_months: u32,
}

/// What the new version starts from: the version in force and the state at E.
#[derive(Debug, Clone, Copy)]
pub struct Basis<'a> {
    pub contract: &'a Contract,
    /// The schedule in force just before E (the original or the last version).
    pub schedule: &'a [Installment],
    pub effective: NaiveDate,
    /// Unpaid at E (installments due before E, payments before E).
    pub arrears: Arrears,
}

impl Basis<'_> {
    /// Principal of the installments due on or after E, as scheduled.
    pub fn not_due_principal(&self) -> Decimal {
        self.schedule
            .iter()
            .filter(|i| i.due_date >= self.effective)
            .map(|i| i.principal_due)
            .sum()
    }

    /// Everything of the schedule in force due on or after E (principal, interest, fee).
    pub fn not_due(&self) -> impl Iterator<Item = &Installment> + '_ {
        self.schedule
            .iter()
            .filter(move |i| i.due_date >= self.effective)
    }

    /// The remaining term in months: installments due on or after E × period.
    pub fn remaining_months(&self) -> u32 {
        self.not_due().count() as u32 * self.contract.period()
    }

    /// The principal a version must cover under `rule` (module doc, "Cover").
    pub fn required_principal(&self, rule: ArrearsRule) -> Decimal {
        let n = self.not_due_principal();
        match rule {
            ArrearsRule::LeaveOverdue => n,
            ArrearsRule::Carry => n + self.arrears.principal,
            ArrearsRule::Capitalise => n + self.arrears.total(),
        }
    }
}

/// A new schedule version.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub kind: Kind,
    pub rule: ArrearsRule,
    pub effective: NaiveDate,
    /// Amortised principal before holiday interest.
    pub principal: Decimal,
    /// Interest of the holiday months, capitalised.
    pub holiday_interest: Decimal,
    pub annual_rate_pct: Decimal,
    pub method: Method,
    pub term_months: u32,
    /// What the restructure takes over from the old installments at E
    /// (the arrears total for capitalised and carried kinds, else 0).
    pub transfer: Decimal,
    pub installments: Vec<Installment>,
}

impl Version {
    pub fn principal_total(&self) -> Decimal {
        self.installments.iter().map(|i| i.principal_due).sum()
    }
}

/// Why a version could not be made. `Display` states the rule (and, for
/// cover, both sums: they are amounts of the loan, never PII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestructureError {
    /// `cancelled` has no terms to generate.
    CancelledHasNoTerms,
    /// Nothing is left to reschedule.
    NothingOutstanding,
    /// No installment is due on or after E and no term was given.
    TermRequired,
    /// Holiday or interest-only months are not a multiple of the period.
    NotMultipleOfPeriod { what: &'static str, period: u32 },
    /// Holiday + interest-only months leave no amortising period.
    TermTooShort { term: u32, concession: u32 },
    /// The version's principal is below what the kind requires.
    NotCovering { version: Decimal, required: Decimal },
    /// The generator refused the terms.
    Schedule(ScheduleError),
    /// Dates beyond the calendar.
    DateOutOfRange,
}

impl fmt::Display for RestructureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RestructureError::*;
        match self {
            CancelledHasNoTerms => f.write_str("a cancelled restructure has no new schedule"),
            NothingOutstanding => f.write_str("nothing is outstanding to restructure"),
            TermRequired => f.write_str(
                "no installment is due on or after the effective date: new_term_months is required",
            ),
            NotMultipleOfPeriod { what, period } => {
                write!(f, "{what} must be a multiple of {period} months")
            }
            TermTooShort { term, concession } => write!(
                f,
                "term of {term} months leaves no repayment after {concession} holiday and interest-only months"
            ),
            NotCovering { version, required } => write!(
                f,
                "the new schedule's principal {version} does not cover the remaining principal {required}"
            ),
            Schedule(e) => e.fmt(f),
            DateOutOfRange => f.write_str("due dates fall outside the supported calendar"),
        }
    }
}

impl std::error::Error for RestructureError {}

impl From<ScheduleError> for RestructureError {
    fn from(e: ScheduleError) -> Self {
        RestructureError::Schedule(e)
    }
}

/// Generates the new version for `kind` with `terms` from `basis`.
pub fn generate(basis: &Basis, kind: Kind, terms: &NewTerms) -> Result<Version, RestructureError> {
    let rule = kind
        .arrears_rule()
        .ok_or(RestructureError::CancelledHasNoTerms)?;
    let c = basis.contract;
    let p = c.period();
    let rate = terms.annual_rate_pct.unwrap_or(c.annual_rate_pct);
    let method = terms.method.unwrap_or(c.method);
    let (h, k) = (terms.holiday_months, terms.interest_only_months);
    for (what, v) in [("holiday_months", h), ("interest_only_months", k)] {
        if v % p != 0 {
            return Err(RestructureError::NotMultipleOfPeriod { what, period: p });
        }
    }
    let term = match terms.term_months {
        Some(t) => t,
        None => match basis.remaining_months() {
            0 => return Err(RestructureError::TermRequired),
            m => m + h + k,
        },
    };
    let amort =
        term.checked_sub(h + k)
            .filter(|&m| m > 0)
            .ok_or(RestructureError::TermTooShort {
                term,
                concession: h + k,
            })?;
    let arrears = basis.arrears;
    let principal = match terms.principal {
        Some(v) => v,
        None => match rule {
            ArrearsRule::Capitalise => basis.not_due_principal() + arrears.total(),
            _ => basis.not_due_principal(),
        },
    };
    let carried = match rule {
        ArrearsRule::Carry => arrears.principal,
        _ => Decimal::ZERO,
    };
    let required = basis.required_principal(rule);
    if principal + carried < required {
        return Err(RestructureError::NotCovering {
            version: principal + carried,
            required,
        });
    }
    if principal <= Decimal::ZERO {
        return Err(RestructureError::NothingOutstanding);
    }
    let holiday_interest = round_fen(principal * rate * Decimal::from(h) / Decimal::from(1200));
    let p1 = principal + holiday_interest;

    // Amounts: interest-only rows, then the generator's amortisation.
    let io_interest = round_fen(p1 * rate * Decimal::from(p) / Decimal::from(1200));
    let mut amounts: Vec<(Decimal, Decimal)> =
        (0..k / p).map(|_| (Decimal::ZERO, io_interest)).collect();
    let gen = schedule::generate(&schedule::Terms {
        loan: schedule::LoanTerms {
            principal: p1,
            annual_rate_pct: rate,
        },
        origination: c.origination,
        term_months: Some(amort),
        term_days: None,
        method,
        frequency: c.frequency,
        first_due_date: None,
        maturity_date: None,
    })?;
    amounts.extend(gen.iter().map(|g| (g.principal_due, g.interest_due)));

    // Dates on the grid: the first slot on or after E, after the holiday.
    let j0 = c
        .first_slot_on_or_after(basis.effective)
        .ok_or(RestructureError::DateOutOfRange)?;
    let first = j0 + h / p;
    let bullet = method == Method::Bullet;
    let mut installments = Vec::with_capacity(amounts.len());
    for (r, (pr, int)) in amounts.into_iter().enumerate() {
        let r = r as u32;
        // A bullet's single amortising row falls due at the end of its months.
        let slot = if bullet && r == k / p {
            first + k / p + amort / p - 1
        } else {
            first + r
        };
        let due_date = c.slot(slot).ok_or(RestructureError::DateOutOfRange)?;
        installments.push(Installment {
            installment_no: r + 1,
            due_date,
            principal_due: pr,
            interest_due: int,
            fee_due: Decimal::ZERO,
        });
    }
    if let (ArrearsRule::Carry, Some(first)) = (rule, installments.first_mut()) {
        first.principal_due += arrears.principal;
        first.interest_due += arrears.interest;
        first.fee_due += arrears.fee;
    }
    Ok(Version {
        kind,
        rule,
        effective: basis.effective,
        principal,
        holiday_interest,
        annual_rate_pct: rate,
        method,
        term_months: term,
        transfer: if rule.transfers() {
            arrears.total()
        } else {
            Decimal::ZERO
        },
        installments,
    })
}

/// Checks an imported version (the bank's own schedule) covers what `rule` requires.
pub fn check_cover(
    basis: &Basis,
    rule: ArrearsRule,
    installments: &[Installment],
) -> Result<(), RestructureError> {
    let version: Decimal = installments.iter().map(|i| i.principal_due).sum();
    let required = basis.required_principal(rule);
    if version < required {
        return Err(RestructureError::NotCovering { version, required });
    }
    Ok(())
}

/// A schedule version in one line, for the restructure log: its installments, first and last
/// due dates and sums.
pub fn describe(rows: &[Installment]) -> String {
    let (Some(first), Some(last)) = (
        rows.iter().map(|i| i.due_date).min(),
        rows.iter().map(|i| i.due_date).max(),
    ) else {
        return "no installments".to_string();
    };
    let sum = |f: fn(&Installment) -> Decimal| fmt_amount(rows.iter().map(f).sum());
    format!(
        "{} installment{} due {first}..{last}, principal {}, interest {}, fee {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        sum(|i| i.principal_due),
        sum(|i| i.interest_due),
        sum(|i| i.fee_due),
    )
}

/// What the log says when the bank's own schedule version replaces the generated one.
pub fn replacement(generated: &[Installment], imported: &[Installment]) -> String {
    format!(
        "generated version ({}) replaced by the imported version ({})",
        describe(generated),
        describe(imported)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_support::{d, m};

    /// 120,000 at 6 % over 36 months, annuity, drawn 2025-01-15 (due on the 15th).
    pub(crate) fn contract() -> Contract {
        Contract {
            annual_rate_pct: m("6"),
            method: Method::Annuity,
            frequency: Frequency::Monthly,
            origination: d("2025-01-15"),
            first_due_date: None,
        }
    }

    /// The original schedule of [`contract`] as engine installments.
    pub(crate) fn original() -> Vec<Installment> {
        let c = contract();
        schedule::generate(&schedule::Terms {
            loan: schedule::LoanTerms {
                principal: m("120000"),
                annual_rate_pct: c.annual_rate_pct,
            },
            origination: c.origination,
            term_months: Some(36),
            term_days: None,
            method: c.method,
            frequency: c.frequency,
            first_due_date: None,
            maturity_date: None,
        })
        .unwrap()
    }

    /// Installments 10, 11, 12 (due 2025-11-15, 12-15, 2026-01-15) unpaid.
    pub(crate) fn arrears_at_12() -> Arrears {
        // Annuity A = round_fen(120000 × 0.005 / (1 − 1.005^−36)) = 3650.63.
        // Principal parts of #10–#12: 3190.69 + 3206.64 + 3222.67 = 9620.00;
        // interest parts: 459.94 + 443.99 + 427.96 = 1331.89 (3 × 3650.63 = 10951.89).
        Arrears {
            principal: m("9620.00"),
            interest: m("1331.89"),
            fee: Decimal::ZERO,
        }
    }

    #[test]
    fn the_original_schedule_of_the_worked_example() {
        let s = original();
        // 120000 × 0.005 = 600.00 interest in month 1; 3650.63 − 600.00 = 3050.63 principal.
        assert_eq!(
            (s[0].principal_due, s[0].interest_due),
            (m("3050.63"), m("600.00"))
        );
        // Balance after #9: 120000 − Σ principal #1..#9 = 91988.77; #10 interest 91988.77 × 0.005 = 459.94.
        assert_eq!(
            (s[9].principal_due, s[9].interest_due),
            (m("3190.69"), m("459.94"))
        );
        assert_eq!(
            (s[11].principal_due, s[11].interest_due),
            (m("3222.67"), m("427.96"))
        );
        assert_eq!(s[11].due_date, d("2026-01-15"));
    }

    #[test]
    fn kind_names_and_rules() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
        }
        assert_eq!(" Extension ".parse::<Kind>(), Ok(Kind::Extension));
        let e = "展期".parse::<Kind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "is not one of extension, interest_only, holiday, capitalisation, rate_cut, method_change, cancelled"
        );
        assert_eq!(Kind::Extension.arrears_rule(), Some(ArrearsRule::Carry));
        assert_eq!(Kind::InterestOnly.arrears_rule(), Some(ArrearsRule::Carry));
        assert_eq!(Kind::Holiday.arrears_rule(), Some(ArrearsRule::Capitalise));
        assert_eq!(
            Kind::Capitalisation.arrears_rule(),
            Some(ArrearsRule::Capitalise)
        );
        assert_eq!(
            Kind::RateCut.arrears_rule(),
            Some(ArrearsRule::LeaveOverdue)
        );
        assert_eq!(
            Kind::MethodChange.arrears_rule(),
            Some(ArrearsRule::LeaveOverdue)
        );
        assert_eq!(Kind::Cancelled.arrears_rule(), None);
    }

    #[test]
    fn grid_slots_and_first_slot() {
        let c = contract();
        assert_eq!(c.slot(12), Some(d("2026-01-15")));
        assert_eq!(c.first_slot_on_or_after(d("2026-01-15")), Some(12));
        assert_eq!(c.first_slot_on_or_after(d("2026-01-16")), Some(13));
        assert_eq!(c.first_slot_on_or_after(d("2024-01-01")), Some(1));
        // Month-end anchors clamp and never drift.
        let me = Contract {
            origination: d("2025-01-31"),
            ..c
        };
        assert_eq!(me.slot(1), Some(d("2025-02-28")));
        assert_eq!(me.slot(2), Some(d("2025-03-31")));
        assert_eq!(me.first_slot_on_or_after(d("2025-03-01")), Some(2));
        let fd = Contract {
            first_due_date: Some(d("2025-02-10")),
            ..c
        };
        assert_eq!(fd.slot(1), Some(d("2025-02-10")));
        assert_eq!(fd.slot(3), Some(d("2025-04-10")));
    }

    #[test]
    fn extension_by_12_months_with_arrears_capitalised() {
        let c = contract();
        let s = original();
        let basis = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: arrears_at_12(),
        };
        // N = principal of #13..#36 = 120000 − 91988.77 − ... = balance after #12 = 82368.77.
        assert_eq!(basis.not_due_principal(), m("82368.77"));
        assert_eq!(basis.remaining_months(), 24);
        let v = generate(
            &basis,
            Kind::Capitalisation,
            &NewTerms {
                term_months: Some(24 + 12),
                ..NewTerms::default()
            },
        )
        .unwrap();
        // New principal = N + arrears = 82368.77 + 9620.00 + 1331.89 = 93320.66.
        assert_eq!(v.principal, m("93320.66"));
        assert_eq!(v.principal_total(), m("93320.66"));
        assert_eq!(v.transfer, m("10951.89"));
        assert_eq!(v.installments.len(), 36);
        // A' = round_fen(93320.66 × 0.005 / (1 − 1.005^−36)) = 2839.00;
        // month 1 interest 93320.66 × 0.005 = 466.60, principal 2839.00 − 466.60 = 2372.40.
        let first = &v.installments[0];
        assert_eq!(first.due_date, d("2026-02-15"));
        assert_eq!(
            (first.principal_due, first.interest_due),
            (m("2372.40"), m("466.60"))
        );
        let last = v.installments.last().unwrap();
        assert_eq!(last.due_date, d("2029-01-15"));
        // The last takes the residue: 2824.72 + 14.12.
        assert_eq!(
            (last.principal_due, last.interest_due),
            (m("2824.72"), m("14.12"))
        );
    }

    #[test]
    fn extension_carries_arrears_into_the_first_installment() {
        let c = contract();
        let s = original();
        let basis = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: arrears_at_12(),
        };
        let v = generate(
            &basis,
            Kind::Extension,
            &NewTerms {
                term_months: Some(36),
                ..NewTerms::default()
            },
        )
        .unwrap();
        // Amortised: N = 82368.77 over 36: A = 2505.82; month 1 interest 411.84, principal 2093.98;
        // carried: + 9620.00 principal, + 1331.89 interest.
        assert_eq!(v.principal, m("82368.77"));
        let first = &v.installments[0];
        assert_eq!(first.principal_due, m("2093.98") + m("9620.00"));
        assert_eq!(first.interest_due, m("411.84") + m("1331.89"));
        assert_eq!(
            v.installments[1].principal_due + v.installments[1].interest_due,
            m("2505.82")
        );
        assert_eq!(v.principal_total(), m("82368.77") + m("9620.00"));
    }

    #[test]
    fn rate_cut_leaves_arrears_overdue_and_keeps_the_term() {
        let c = contract();
        let s = original();
        let basis = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: arrears_at_12(),
        };
        let v = generate(
            &basis,
            Kind::RateCut,
            &NewTerms {
                annual_rate_pct: Some(m("5")),
                ..NewTerms::default()
            },
        )
        .unwrap();
        // 82368.77 at 5 % over the remaining 24 months: A = 3613.63.
        assert_eq!(v.term_months, 24);
        assert_eq!(v.transfer, Decimal::ZERO);
        assert_eq!(v.principal_total(), m("82368.77"));
        assert_eq!(
            v.installments[0].principal_due + v.installments[0].interest_due,
            m("3613.63")
        );
        assert_eq!(v.installments.last().unwrap().due_date, d("2028-01-15"));
    }

    #[test]
    fn holiday_and_interest_only_months() {
        let c = contract();
        let s = original();
        let basis = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: Arrears::default(),
        };
        let v = generate(
            &basis,
            Kind::Holiday,
            &NewTerms {
                holiday_months: 3,
                ..NewTerms::default()
            },
        )
        .unwrap();
        // Term defaults to the remaining 24 + 3 holiday months; first installment after the
        // holiday: slots 13, 14, 15 skipped → due 2026-05-15.
        assert_eq!(v.term_months, 27);
        assert_eq!(v.installments.len(), 24);
        assert_eq!(v.installments[0].due_date, d("2026-05-15"));
        // Holiday interest 82368.77 × 6 % × 3 / 12 = 1235.53155 → 1235.53, capitalised.
        assert_eq!(v.holiday_interest, m("1235.53"));
        assert_eq!(v.principal_total(), m("83604.30"));

        let v = generate(
            &basis,
            Kind::InterestOnly,
            &NewTerms {
                interest_only_months: 6,
                ..NewTerms::default()
            },
        )
        .unwrap();
        // 6 interest-only rows of 82368.77 × 0.005 = 411.84375 → 411.84, then 24 amortising.
        assert_eq!(v.term_months, 30);
        assert_eq!(v.installments.len(), 30);
        for i in &v.installments[..6] {
            assert_eq!(
                (i.principal_due, i.interest_due),
                (Decimal::ZERO, m("411.84"))
            );
        }
        assert_eq!(v.installments[0].due_date, d("2026-02-15"));
        assert_eq!(v.installments[6].due_date, d("2026-08-15"));
        assert_eq!(v.principal_total(), m("82368.77"));
    }

    #[test]
    fn method_change_and_bullet() {
        let c = contract();
        let s = original();
        let basis = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: Arrears::default(),
        };
        let v = generate(
            &basis,
            Kind::MethodChange,
            &NewTerms {
                method: Some(Method::EqualPrincipal),
                ..NewTerms::default()
            },
        )
        .unwrap();
        // 82368.77 / 24 = 3432.0321 → 3432.03 principal; first interest 411.84.
        assert_eq!(v.installments[0].principal_due, m("3432.03"));
        assert_eq!(v.principal_total(), m("82368.77"));
        let v = generate(
            &basis,
            Kind::Extension,
            &NewTerms {
                method: Some(Method::Bullet),
                term_months: Some(12),
                ..NewTerms::default()
            },
        )
        .unwrap();
        // One payment 12 months on the grid from slot 12: slot 24 = 2027-01-15,
        // interest 82368.77 × 6 % × 12 / 12 = 4942.13.
        assert_eq!(v.installments.len(), 1);
        assert_eq!(v.installments[0].due_date, d("2027-01-15"));
        assert_eq!(v.installments[0].interest_due, m("4942.13"));
    }

    #[test]
    fn errors_state_the_rule() {
        let c = contract();
        let s = original();
        let basis = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: arrears_at_12(),
        };
        let e = generate(
            &basis,
            Kind::Capitalisation,
            &NewTerms {
                principal: Some(m("90000")),
                ..NewTerms::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the new schedule's principal 90000 does not cover the remaining principal 93320.66"
        );
        assert_eq!(
            generate(&basis, Kind::Cancelled, &NewTerms::default()),
            Err(RestructureError::CancelledHasNoTerms)
        );
        let e = generate(
            &basis,
            Kind::InterestOnly,
            &NewTerms {
                term_months: Some(6),
                interest_only_months: 6,
                ..NewTerms::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "term of 6 months leaves no repayment after 6 holiday and interest-only months"
        );
        // After maturity nothing is left on the grid without a term.
        let late = Basis {
            effective: d("2028-02-01"),
            ..basis
        };
        assert_eq!(
            generate(&late, Kind::Extension, &NewTerms::default()),
            Err(RestructureError::TermRequired)
        );
        let q = Contract {
            frequency: Frequency::Quarterly,
            ..c
        };
        let qb = Basis {
            contract: &q,
            ..basis
        };
        assert_eq!(
            generate(
                &qb,
                Kind::Holiday,
                &NewTerms {
                    holiday_months: 2,
                    ..NewTerms::default()
                }
            ),
            Err(RestructureError::NotMultipleOfPeriod {
                what: "holiday_months",
                period: 3
            })
        );
        // An imported version short of the required principal states both sums.
        let short = &s[12..];
        let e = check_cover(&basis, ArrearsRule::Capitalise, short).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the new schedule's principal 82368.77 does not cover the remaining principal 93320.66"
        );
        assert!(check_cover(&basis, ArrearsRule::LeaveOverdue, short).is_ok());
    }

    /// The log's line on a replaced version: counts, due dates and sums of each side.
    #[test]
    fn a_replacement_states_both_versions() {
        let inst = |no, due: &str, p: &str, i: &str| Installment {
            installment_no: no,
            due_date: d(due),
            principal_due: m(p),
            interest_due: m(i),
            fee_due: m("0"),
        };
        let generated = [
            inst(1, "2026-02-15", "100.00", "1.50"),
            inst(2, "2026-03-15", "100.01", "0.75"),
        ];
        let imported = [inst(1, "2026-04-01", "200.01", "2.00")];
        assert_eq!(
            replacement(&generated, &imported),
            "generated version (2 installments due 2026-02-15..2026-03-15, principal 200.01, \
             interest 2.25, fee 0.00) replaced by the imported version (1 installment due \
             2026-04-01..2026-04-01, principal 200.01, interest 2.00, fee 0.00)"
        );
        assert_eq!(describe(&[]), "no installments");
    }
}
