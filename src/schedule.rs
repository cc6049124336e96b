//! Repayment schedules (还款计划) generated from a loan contract's terms.
//!
//! # Conventions
//!
//! * **Methods.** [`Method::Annuity`] (等额本息, equal total payments),
//!   [`Method::EqualPrincipal`] (等额本金), [`Method::InterestOnly`] (先息后本,
//!   interest each period, all principal at the end) and [`Method::Bullet`]
//!   (到期一次还本付息, one payment of principal and interest at maturity).
//! * **Periods.** Monthly = 1 month, quarterly = 3 months. For every method but
//!   bullet, `term_months` is required and must be a positive multiple of the
//!   period; there are `n = term_months / months_per_period` installments, at
//!   most [`MAX_INSTALLMENTS`]. `term_days` is ignored for these methods.
//! * **Periodic rate (30/360 style).** `r = annual_rate_pct / 100 / 12 ×
//!   months_per_period`. Every period accrues the same interest on the same
//!   balance, however many days it actually has (a long or short first period
//!   caused by `first_due_date` is not adjusted).
//! * **Due dates.** Installment `i` (1-based) is due `i × period` months after
//!   origination, on the origination day of month clamped to that month's end,
//!   always counted from the origination date so dates never drift: origination
//!   01-31 gives 02-28 (02-29 in leap years), 03-31, 04-30, ... If
//!   `first_due_date` is given (it must be after origination), installment `i`
//!   is due `(i − 1) × period` months after it, on its day of month, clamped.
//!   If `maturity_date` is also given it must equal the last due date.
//! * **Rounding.** Every amount is rounded to the fen half away from zero
//!   ([`round_fen`]) per installment. The last installment takes the residue,
//!   so the principal parts always add up to the principal exactly. No
//!   installment's principal ever exceeds the outstanding balance (this only
//!   matters for tiny principals spread over many periods, where rounding up
//!   would otherwise pay the loan off early; later installments are then 0).
//! * **Annuity.** Payment `A = P·r / (1 − (1 + r)^−n)` (equivalently
//!   `P·r(1+r)^n / ((1+r)^n − 1)`), rounded to the fen; `A = P / n` when
//!   `r = 0`. Each period: interest = round_fen(balance × r), principal =
//!   A − interest; the last installment's principal is the remaining balance
//!   and its interest round_fen(balance × r), so it differs from A by the
//!   accumulated rounding residue only.
//! * **Equal principal.** Principal = round_fen(P / n) each period (the last
//!   takes the residue); interest = round_fen(opening balance × r).
//! * **Interest only.** Interest = round_fen(P × r) each period; all principal
//!   on the last installment.
//! * **Bullet.** One installment, due on `maturity_date` if given, else
//!   `term_months` after origination (clamped as above), else `term_days` days
//!   after origination, else on `first_due_date`. If `first_due_date` is given
//!   it must equal that due date. Interest is round_fen(P × rate / 100 ×
//!   term_months / 12) when the due date comes from `term_months`, and
//!   round_fen(P × rate / 100 × days / 360) (actual/360: the daily rate
//!   日利率 = 年利率 / 360) when it comes from days or a date.
//! * **Limits.** Principal must be positive, at most 999999999999999.99 and have
//!   at most 2 decimal places; the annual rate must be between 0 and 100
//!   (percent).

use crate::dates::add_months_clamped;
use crate::money::round_fen;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// Largest number of installments a schedule may have.
pub const MAX_INSTALLMENTS: u32 = 600;

/// How principal and interest are spread over the installments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// 等额本息: equal total payments (French amortisation).
    Annuity,
    /// 等额本金: equal principal parts, interest on the declining balance.
    EqualPrincipal,
    /// 先息后本: interest every period, all principal on the last installment.
    InterestOnly,
    /// 到期一次还本付息: principal and interest in one payment at maturity.
    Bullet,
}

impl Method {
    /// Every method, in the order they are listed in messages.
    pub const ALL: [Method; 4] = [
        Method::Annuity,
        Method::EqualPrincipal,
        Method::InterestOnly,
        Method::Bullet,
    ];

    /// The name used in files and on the command line: `annuity`,
    /// `equal_principal`, `interest_only` or `bullet`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Annuity => "annuity",
            Method::EqualPrincipal => "equal_principal",
            Method::InterestOnly => "interest_only",
            Method::Bullet => "bullet",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = ParseNameError;

    /// Accepts the [`Method::as_str`] names, ignoring ASCII case and
    /// surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(t))
            .ok_or(ParseNameError {
                expected: "annuity, equal_principal, interest_only, bullet",
            })
    }
}

/// How often installments fall due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
}

impl Frequency {
    /// Every frequency, in the order they are listed in messages.
    pub const ALL: [Frequency; 2] = [Frequency::Monthly, Frequency::Quarterly];

    /// The name used in files and on the command line: `monthly` or `quarterly`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
        }
    }

    /// Number of months in one period: 1 or 3.
    pub fn months(&self) -> u32 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Frequency {
    type Err = ParseNameError;

    /// Accepts `monthly` or `quarterly`, ignoring ASCII case and surrounding
    /// whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Frequency::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(t))
            .ok_or(ParseNameError {
                expected: "monthly, quarterly",
            })
    }
}

/// A name that is not one of the allowed [`Method`] or [`Frequency`] names.
///
/// `Display` reads `is not one of annuity, equal_principal, interest_only, bullet`
/// (or `monthly, quarterly`) and never includes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseNameError {
    expected: &'static str,
}

impl fmt::Display for ParseNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "is not one of {}", self.expected)
    }
}

impl std::error::Error for ParseNameError {}

/// What was lent and at what rate: the part of a loan's [`Terms`] that every replay of the loan
/// reads. The engine takes only this ([`crate::engine::LoanTerms`] is this type); the book scan
/// reads it from the two ledger columns alone, so the hot path carries no more than it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoanTerms {
    /// Amount lent, in yuan (positive, at most 2 decimal places).
    pub principal: Decimal,
    /// Annual interest rate in percent (`4.9` means 4.9 % per year), 0..=100.
    pub annual_rate_pct: Decimal,
}

/// The contract terms a schedule is generated from: the one loan-terms type (the engine's
/// [`LoanTerms`] is its `loan` part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Principal and rate.
    pub loan: LoanTerms,
    /// Date the loan was drawn (起息日); due dates are anchored on its day of month.
    pub origination: NaiveDate,
    /// Term in months; required for every method except bullet.
    pub term_months: Option<u32>,
    /// Term in days; used only by bullet loans without `maturity_date` or `term_months`.
    pub term_days: Option<u32>,
    /// Repayment method.
    pub method: Method,
    /// Installment frequency (ignored for bullet loans).
    pub frequency: Frequency,
    /// Optional first due date; later due dates are anchored on its day of month.
    pub first_due_date: Option<NaiveDate>,
    /// Optional maturity date; must match the last due date if given.
    pub maturity_date: Option<NaiveDate>,
}

/// One row of a repayment schedule: generated here, imported, or a restructure's version. The
/// one installment type: the engine replays these ([`crate::engine::Installment`] is this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installment {
    /// 1-based installment number (期次).
    pub installment_no: u32,
    /// Date the installment falls due.
    pub due_date: NaiveDate,
    /// Principal due on that date (scale 2).
    pub principal_due: Decimal,
    /// Interest due on that date (scale 2).
    pub interest_due: Decimal,
    /// Fees due on that date (a generated schedule has none: 0).
    pub fee_due: Decimal,
}

/// Why a schedule could not be generated from the terms.
///
/// `Display` names the rule that was broken and never includes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleError {
    /// Principal is zero or negative.
    PrincipalNotPositive,
    /// Principal has non-zero digits beyond the fen.
    PrincipalTooPrecise,
    /// Principal is above 999999999999999.99.
    PrincipalTooLarge,
    /// The annual rate is negative or above 100 %.
    RateOutOfRange,
    /// A non-bullet method was given no `term_months`.
    TermMonthsRequired(Method),
    /// `term_months` is zero or not a multiple of the period.
    TermMonthsNotMultiple(Frequency),
    /// `term_days` is zero.
    TermDaysNotPositive,
    /// A bullet loan has none of maturity_date, term_months, term_days, first_due_date.
    BulletNeedsTerm,
    /// The term would produce more than [`MAX_INSTALLMENTS`] installments.
    TooManyInstallments,
    /// `maturity_date` is earlier than the origination date.
    MaturityBeforeOrigination,
    /// `maturity_date` is the origination date itself.
    MaturityOnOrigination,
    /// `maturity_date` is not the last due date the term implies.
    MaturityMismatch,
    /// `first_due_date` is on or before the origination date.
    FirstDueNotAfterOrigination,
    /// For a bullet loan, `first_due_date` differs from the single due date.
    FirstDueMismatch,
    /// A due date falls outside the supported calendar.
    DateOutOfRange,
    /// An amount could not be represented (cannot happen within the limits above).
    Overflow,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ScheduleError::*;
        match self {
            PrincipalNotPositive => f.write_str("principal must be positive"),
            PrincipalTooPrecise => f.write_str("principal must have at most 2 decimal places"),
            PrincipalTooLarge => f.write_str("principal is too large (limit 999999999999999.99)"),
            RateOutOfRange => {
                f.write_str("annual_rate_pct must be between 0 and 100 (percent per year)")
            }
            TermMonthsRequired(m) => write!(f, "term_months is required for {m} loans"),
            TermMonthsNotMultiple(Frequency::Monthly) => {
                f.write_str("term_months must be positive for monthly loans")
            }
            TermMonthsNotMultiple(freq) => write!(
                f,
                "term_months must be a positive multiple of {} for {freq} loans",
                freq.months()
            ),
            TermDaysNotPositive => f.write_str("term_days must be positive"),
            BulletNeedsTerm => {
                f.write_str("bullet loans need maturity_date, term_months or term_days")
            }
            TooManyInstallments => {
                write!(f, "term gives more than {MAX_INSTALLMENTS} installments")
            }
            MaturityBeforeOrigination => f.write_str("maturity_date is before origination_date"),
            MaturityOnOrigination => {
                f.write_str("maturity_date is the same day as origination_date")
            }
            MaturityMismatch => {
                f.write_str("maturity_date does not match the last due date implied by term_months")
            }
            FirstDueNotAfterOrigination => {
                f.write_str("first_due_date must be after origination_date")
            }
            FirstDueMismatch => {
                f.write_str("first_due_date must equal the maturity date for bullet loans")
            }
            DateOutOfRange => f.write_str("due dates fall outside the supported calendar"),
            Overflow => f.write_str("amounts are too large to compute"),
        }
    }
}

impl std::error::Error for ScheduleError {}

/// Largest principal accepted.
fn max_principal() -> Decimal {
    Decimal::new(99_999_999_999_999_999, 2)
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, ScheduleError> {
    a.checked_mul(b).ok_or(ScheduleError::Overflow)
}

fn div(a: Decimal, b: Decimal) -> Result<Decimal, ScheduleError> {
    a.checked_div(b).ok_or(ScheduleError::Overflow)
}

fn sub(a: Decimal, b: Decimal) -> Result<Decimal, ScheduleError> {
    a.checked_sub(b).ok_or(ScheduleError::Overflow)
}

/// `base^exp` by repeated squaring, with overflow reported as an error.
fn pow(base: Decimal, mut exp: u32) -> Result<Decimal, ScheduleError> {
    let mut result = Decimal::ONE;
    let mut b = base;
    while exp > 0 {
        if exp & 1 == 1 {
            result = mul(result, b)?;
        }
        exp >>= 1;
        if exp > 0 {
            b = mul(b, b)?;
        }
    }
    Ok(result)
}

/// round_fen(amount × annual_pct × months / 1200), dividing last so that exact
/// midpoints stay exact.
fn interest_for_months(
    amount: Decimal,
    annual_pct: Decimal,
    months: u32,
) -> Result<Decimal, ScheduleError> {
    let num = mul(mul(amount, annual_pct)?, Decimal::from(months))?;
    Ok(round_fen(div(num, Decimal::from(1200))?))
}

/// round_fen(amount × annual_pct × days / 36000) (actual/360).
fn interest_for_days(
    amount: Decimal,
    annual_pct: Decimal,
    days: i64,
) -> Result<Decimal, ScheduleError> {
    let num = mul(mul(amount, annual_pct)?, Decimal::from(days))?;
    Ok(round_fen(div(num, Decimal::from(36000))?))
}

fn check_common(t: &Terms) -> Result<(), ScheduleError> {
    if t.loan.principal <= Decimal::ZERO {
        return Err(ScheduleError::PrincipalNotPositive);
    }
    if t.loan.principal > max_principal() {
        return Err(ScheduleError::PrincipalTooLarge);
    }
    if round_fen(t.loan.principal) != t.loan.principal {
        return Err(ScheduleError::PrincipalTooPrecise);
    }
    if t.loan.annual_rate_pct.is_sign_negative() && !t.loan.annual_rate_pct.is_zero()
        || t.loan.annual_rate_pct > Decimal::ONE_HUNDRED
    {
        return Err(ScheduleError::RateOutOfRange);
    }
    if let Some(m) = t.maturity_date {
        if m < t.origination {
            return Err(ScheduleError::MaturityBeforeOrigination);
        }
        if m == t.origination {
            return Err(ScheduleError::MaturityOnOrigination);
        }
    }
    if let Some(f) = t.first_due_date {
        if f <= t.origination {
            return Err(ScheduleError::FirstDueNotAfterOrigination);
        }
    }
    Ok(())
}

/// Generates the repayment schedule for `t`, following the conventions in the
/// module documentation. Installments are numbered from 1 with strictly
/// increasing due dates; every amount has scale 2; the principal parts add up
/// to `t.loan.principal` exactly.
pub fn generate(t: &Terms) -> Result<Vec<Installment>, ScheduleError> {
    check_common(t)?;
    if t.method == Method::Bullet {
        return bullet(t).map(|i| vec![i]);
    }

    let period = t.frequency.months();
    let term = t
        .term_months
        .ok_or(ScheduleError::TermMonthsRequired(t.method))?;
    if term == 0 || term % period != 0 {
        return Err(ScheduleError::TermMonthsNotMultiple(t.frequency));
    }
    let n = term / period;
    if n > MAX_INSTALLMENTS {
        return Err(ScheduleError::TooManyInstallments);
    }

    let due_dates = due_dates(t, n, period)?;
    if let (Some(m), Some(last)) = (t.maturity_date, due_dates.last()) {
        if m != *last {
            return Err(ScheduleError::MaturityMismatch);
        }
    }

    let p = t.loan.principal;
    let rate = t.loan.annual_rate_pct;
    let n_dec = Decimal::from(n);
    let mut balance = p;
    let mut out = Vec::with_capacity(due_dates.len());

    // Per-period principal for the first n-1 installments, when it is fixed.
    let fixed_payment = match t.method {
        Method::Annuity => Some(annuity_payment(p, rate, period, n)?),
        _ => None,
    };
    let equal_part = round_fen(div(p, n_dec)?);

    for (idx, due_date) in due_dates.into_iter().enumerate() {
        let no = idx as u32 + 1;
        let last = no == n;
        let interest = match t.method {
            Method::InterestOnly => interest_for_months(p, rate, period)?,
            _ => interest_for_months(balance, rate, period)?,
        };
        let principal = if last {
            balance
        } else {
            let wanted = match (t.method, fixed_payment) {
                (Method::Annuity, Some(a)) => sub(a, interest)?.max(Decimal::ZERO),
                (Method::EqualPrincipal, _) => equal_part,
                _ => Decimal::ZERO,
            };
            wanted.min(balance)
        };
        balance = sub(balance, principal)?;
        out.push(Installment {
            installment_no: no,
            due_date,
            principal_due: round_fen(principal),
            interest_due: interest,
            fee_due: Decimal::ZERO,
        });
    }
    Ok(out)
}

/// The annuity payment round_fen(P·r / (1 − (1+r)^−n)), or round_fen(P / n) when r = 0.
fn annuity_payment(
    p: Decimal,
    annual_pct: Decimal,
    period: u32,
    n: u32,
) -> Result<Decimal, ScheduleError> {
    let r = div(mul(annual_pct, Decimal::from(period))?, Decimal::from(1200))?;
    if r.is_zero() {
        return Ok(round_fen(div(p, Decimal::from(n))?));
    }
    let discount = match pow(Decimal::ONE + r, n) {
        Ok(growth) => div(Decimal::ONE, growth)?,
        // (1+r)^n beyond Decimal's range (a high quarterly rate over many years): its inverse
        // is below Decimal's precision, so the payment is the interest, P·r.
        Err(ScheduleError::Overflow) => Decimal::ZERO,
        Err(e) => return Err(e),
    };
    let denom = sub(Decimal::ONE, discount)?;
    Ok(round_fen(div(mul(p, r)?, denom)?))
}

fn due_dates(t: &Terms, n: u32, period: u32) -> Result<Vec<NaiveDate>, ScheduleError> {
    let (anchor, first_offset) = match t.first_due_date {
        Some(f) => (f, 0),
        None => (t.origination, period),
    };
    (0..n)
        .map(|i| {
            add_months_clamped(anchor, first_offset + i * period, anchor.day())
                .ok_or(ScheduleError::DateOutOfRange)
        })
        .collect()
}

fn bullet(t: &Terms) -> Result<Installment, ScheduleError> {
    let p = t.loan.principal;
    let rate = t.loan.annual_rate_pct;
    let (due_date, interest) = if let Some(m) = t.maturity_date {
        (m, None)
    } else if let Some(months) = t.term_months {
        if months == 0 {
            return Err(ScheduleError::TermMonthsNotMultiple(Frequency::Monthly));
        }
        let due = add_months_clamped(t.origination, months, t.origination.day())
            .ok_or(ScheduleError::DateOutOfRange)?;
        // months <= u32::MAX keeps the product well inside Decimal's range.
        (due, Some(interest_for_months(p, rate, months)?))
    } else if let Some(days) = t.term_days {
        if days == 0 {
            return Err(ScheduleError::TermDaysNotPositive);
        }
        let due = t
            .origination
            .checked_add_days(chrono::Days::new(u64::from(days)))
            .ok_or(ScheduleError::DateOutOfRange)?;
        (due, None)
    } else if let Some(f) = t.first_due_date {
        (f, None)
    } else {
        return Err(ScheduleError::BulletNeedsTerm);
    };
    if let Some(f) = t.first_due_date {
        if f != due_date {
            return Err(ScheduleError::FirstDueMismatch);
        }
    }
    let interest = match interest {
        Some(i) => i,
        None => {
            let days = (due_date - t.origination).num_days();
            interest_for_days(p, rate, days)?
        }
    };
    Ok(Installment {
        installment_no: 1,
        due_date,
        principal_due: round_fen(p),
        interest_due: interest,
        fee_due: Decimal::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn terms(principal: &str, rate: &str, orig: NaiveDate, months: u32, method: Method) -> Terms {
        Terms {
            loan: LoanTerms {
                principal: dec(principal),
                annual_rate_pct: dec(rate),
            },
            origination: orig,
            term_months: Some(months),
            term_days: None,
            method,
            frequency: Frequency::Monthly,
            first_due_date: None,
            maturity_date: None,
        }
    }

    fn principal_sum(s: &[Installment]) -> Decimal {
        s.iter().map(|i| i.principal_due).sum()
    }

    /// Checks the invariants every schedule must satisfy.
    fn check_invariants(t: &Terms, s: &[Installment]) {
        assert!(!s.is_empty(), "{t:?}");
        assert_eq!(principal_sum(s), t.loan.principal, "{t:?}");
        for (k, inst) in s.iter().enumerate() {
            assert_eq!(inst.installment_no as usize, k + 1, "{t:?}");
            assert_eq!(inst.principal_due.scale(), 2, "{t:?} #{k}");
            assert_eq!(inst.interest_due.scale(), 2, "{t:?} #{k}");
            assert!(inst.principal_due >= Decimal::ZERO, "{t:?} #{k}");
            assert!(inst.interest_due >= Decimal::ZERO, "{t:?} #{k}");
            assert!(inst.due_date > t.origination, "{t:?} #{k}");
            if k > 0 {
                assert!(inst.due_date > s[k - 1].due_date, "{t:?} #{k}");
            }
        }
    }

    /// Annuity payment from the independent form A = P / Σ_{k=1..n} (1+r)^−k.
    fn annuity_by_discount_sum(p: Decimal, annual_pct: Decimal, n: u32) -> Decimal {
        let r = annual_pct / Decimal::from(1200);
        let v = Decimal::ONE / (Decimal::ONE + r);
        let mut factor = Decimal::ONE;
        let mut sum = Decimal::ZERO;
        for _ in 0..n {
            factor *= v;
            sum += factor;
        }
        round_fen(p / sum)
    }

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.as_str().parse::<Method>(), Ok(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        for f in Frequency::ALL {
            assert_eq!(f.as_str().parse::<Frequency>(), Ok(f));
        }
        assert_eq!(" Annuity ".parse::<Method>(), Ok(Method::Annuity));
        assert_eq!("QUARTERLY".parse::<Frequency>(), Ok(Frequency::Quarterly));
        for bad in [
            "",
            "等额本息",
            "equal-principal",
            "annuities",
            "bullet loan",
        ] {
            let e = bad.parse::<Method>().unwrap_err();
            assert_eq!(
                e.to_string(),
                "is not one of annuity, equal_principal, interest_only, bullet"
            );
        }
        for bad in ["", "yearly", "month"] {
            let e = bad.parse::<Frequency>().unwrap_err();
            assert_eq!(e.to_string(), "is not one of monthly, quarterly");
        }
    }

    #[test]
    fn published_mortgage_figures() {
        // (principal, rate, months, published monthly payment)
        let cases = [
            ("1000000", "4.9", 360, "5307.27"),
            ("1000000", "4.9", 240, "6544.44"),
            ("100000", "4.9", 12, "8556.17"),
        ];
        for (p, rate, months, want) in cases {
            let t = terms(p, rate, ymd(2026, 1, 15), months, Method::Annuity);
            let s = generate(&t).unwrap();
            check_invariants(&t, &s);
            assert_eq!(s.len(), months as usize);
            let want = dec(want);
            assert_eq!(
                annuity_by_discount_sum(dec(p), dec(rate), months),
                want,
                "independent formula disagrees with the published figure"
            );
            for inst in &s[..s.len() - 1] {
                assert_eq!(inst.principal_due + inst.interest_due, want, "{inst:?}");
            }
            // Rounding A up by a fraction of a fen each month pays the loan down
            // slightly faster; over 30 years that residue reaches about 2 yuan,
            // all of it absorbed by the last installment.
            let last = s.last().unwrap();
            let diff = (last.principal_due + last.interest_due - want).abs();
            assert!(diff < dec("3.00"), "last installment off by {diff}");
        }
    }

    #[test]
    fn published_total_interest() {
        // Calculators quote total interest for 1,000,000 at 4.9 % over 30 years
        // as 910,616.19 (annuity) and 737,041.67 (equal principal); they do not
        // round each period, so per-fen rounding may move the total slightly.
        let cases = [
            (Method::Annuity, "910616.19"),
            (Method::EqualPrincipal, "737041.67"),
        ];
        for (method, published) in cases {
            let t = terms("1000000", "4.9", ymd(2026, 1, 31), 360, method);
            let s = generate(&t).unwrap();
            check_invariants(&t, &s);
            let total: Decimal = s.iter().map(|i| i.interest_due).sum();
            let diff = (total - dec(published)).abs();
            assert!(diff < dec("2.00"), "{method}: total interest {total}");
        }
    }

    #[test]
    fn first_annuity_installment_detail() {
        let t = terms("1000000", "4.9", ymd(2026, 1, 15), 360, Method::Annuity);
        let s = generate(&t).unwrap();
        // Interest for the first month: 1,000,000 × 4.9 % / 12 = 4083.333… → 4083.33.
        assert_eq!(s[0].interest_due, dec("4083.33"));
        assert_eq!(s[0].principal_due, dec("1223.94"));
        assert_eq!(s[0].due_date, ymd(2026, 2, 15));
        assert_eq!(s[359].due_date, ymd(2056, 1, 15));
    }

    #[test]
    fn due_dates_anchor_on_origination_day() {
        let cases: &[(NaiveDate, &[NaiveDate])] = &[
            (
                ymd(2026, 1, 31),
                &[
                    ymd(2026, 2, 28),
                    ymd(2026, 3, 31),
                    ymd(2026, 4, 30),
                    ymd(2026, 5, 31),
                    ymd(2026, 6, 30),
                    ymd(2026, 7, 31),
                ],
            ),
            (
                ymd(2024, 1, 31),
                &[ymd(2024, 2, 29), ymd(2024, 3, 31), ymd(2024, 4, 30)],
            ),
            (
                ymd(2026, 1, 30),
                &[ymd(2026, 2, 28), ymd(2026, 3, 30), ymd(2026, 4, 30)],
            ),
            (
                ymd(2025, 11, 15),
                &[ymd(2025, 12, 15), ymd(2026, 1, 15), ymd(2026, 2, 15)],
            ),
        ];
        for (orig, want) in cases {
            for method in [
                Method::Annuity,
                Method::EqualPrincipal,
                Method::InterestOnly,
            ] {
                let t = terms("12000", "6", *orig, want.len() as u32, method);
                let s = generate(&t).unwrap();
                check_invariants(&t, &s);
                let got: Vec<NaiveDate> = s.iter().map(|i| i.due_date).collect();
                assert_eq!(&got, want, "{orig} {method}");
            }
        }
    }

    #[test]
    fn leap_day_origination() {
        let t = terms(
            "120000",
            "4.35",
            ymd(2024, 2, 29),
            60,
            Method::EqualPrincipal,
        );
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        let feb: Vec<NaiveDate> = s
            .iter()
            .map(|i| i.due_date)
            .filter(|d| d.month() == 2)
            .collect();
        assert_eq!(
            feb,
            vec![
                ymd(2025, 2, 28),
                ymd(2026, 2, 28),
                ymd(2027, 2, 28),
                ymd(2028, 2, 29),
                ymd(2029, 2, 28)
            ]
        );
        assert_eq!(s[0].due_date, ymd(2024, 3, 29));
        assert_eq!(s[59].due_date, ymd(2029, 2, 28));
        // Equal principal: 2000.00 each; interest on declining balance.
        assert!(s.iter().all(|i| i.principal_due == dec("2000.00")));
        assert_eq!(s[0].interest_due, dec("435.00"));
        assert_eq!(s[59].interest_due, dec("7.25"));
        // Bullet one year later lands on 2025-02-28.
        let mut b = t;
        b.method = Method::Bullet;
        b.term_months = Some(12);
        let s = generate(&b).unwrap();
        assert_eq!(s[0].due_date, ymd(2025, 2, 28));
        assert_eq!(s[0].interest_due, dec("5220.00"));
    }

    #[test]
    fn one_month_term() {
        for method in [
            Method::Annuity,
            Method::EqualPrincipal,
            Method::InterestOnly,
        ] {
            let t = terms("10000", "12", ymd(2026, 3, 10), 1, method);
            let s = generate(&t).unwrap();
            check_invariants(&t, &s);
            assert_eq!(
                s,
                vec![Installment {
                    installment_no: 1,
                    due_date: ymd(2026, 4, 10),
                    principal_due: dec("10000.00"),
                    interest_due: dec("100.00"),
                    fee_due: Decimal::ZERO,
                }],
                "{method}"
            );
        }
    }

    #[test]
    fn quarterly() {
        let mut t = terms("90000", "4.8", ymd(2026, 1, 31), 12, Method::EqualPrincipal);
        t.frequency = Frequency::Quarterly;
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        let got: Vec<(NaiveDate, Decimal, Decimal)> = s
            .iter()
            .map(|i| (i.due_date, i.principal_due, i.interest_due))
            .collect();
        // r = 4.8 % × 3 / 12 = 1.2 % per quarter.
        assert_eq!(
            got,
            vec![
                (ymd(2026, 4, 30), dec("22500.00"), dec("1080.00")),
                (ymd(2026, 7, 31), dec("22500.00"), dec("810.00")),
                (ymd(2026, 10, 31), dec("22500.00"), dec("540.00")),
                (ymd(2027, 1, 31), dec("22500.00"), dec("270.00")),
            ]
        );

        t.method = Method::Annuity;
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        // Independent: quarterly rate 1.2 % over 4 periods.
        let want = annuity_by_discount_sum(dec("90000"), dec("14.4"), 4);
        assert_eq!(s[0].principal_due + s[0].interest_due, want);

        t.method = Method::InterestOnly;
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        assert!(s.iter().all(|i| i.interest_due == dec("1080.00")));
        assert_eq!(s[3].principal_due, dec("90000.00"));

        for bad in [0, 1, 2, 13, 14] {
            t.term_months = Some(bad);
            assert_eq!(
                generate(&t),
                Err(ScheduleError::TermMonthsNotMultiple(Frequency::Quarterly)),
                "term {bad}"
            );
        }
        assert_eq!(
            ScheduleError::TermMonthsNotMultiple(Frequency::Quarterly).to_string(),
            "term_months must be a positive multiple of 3 for quarterly loans"
        );
    }

    #[test]
    fn zero_rate() {
        for method in [
            Method::Annuity,
            Method::EqualPrincipal,
            Method::InterestOnly,
        ] {
            let t = terms("1000", "0", ymd(2026, 1, 1), 3, method);
            let s = generate(&t).unwrap();
            check_invariants(&t, &s);
            assert!(s.iter().all(|i| i.interest_due.is_zero()), "{method}");
            let principals: Vec<Decimal> = s.iter().map(|i| i.principal_due).collect();
            let want = match method {
                Method::InterestOnly => vec![dec("0.00"), dec("0.00"), dec("1000.00")],
                _ => vec![dec("333.33"), dec("333.33"), dec("333.34")],
            };
            assert_eq!(principals, want, "{method}");
        }
        let mut t = terms("1000", "0", ymd(2026, 1, 1), 0, Method::Bullet);
        t.term_months = None;
        t.term_days = Some(90);
        let s = generate(&t).unwrap();
        assert_eq!(s[0].interest_due, dec("0.00"));
    }

    #[test]
    fn midpoint_rounding_residue() {
        // 1000.10 / 4 = 250.025 → 250.03 (half up); last takes 1000.10 − 3 × 250.03 = 250.01.
        let t = terms("1000.10", "0", ymd(2026, 1, 1), 4, Method::EqualPrincipal);
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        let principals: Vec<Decimal> = s.iter().map(|i| i.principal_due).collect();
        assert_eq!(
            principals,
            vec![dec("250.03"), dec("250.03"), dec("250.03"), dec("250.01")]
        );
        // Annuity with r = 0 uses P / n the same way.
        let mut a = t;
        a.method = Method::Annuity;
        assert_eq!(generate(&a).unwrap(), s);
        // Interest midpoint: 1000.50 × 6 % / 12 = 5.0025 → 5.00, and
        // 1001.00 × 6 % / 12 = 5.005 exactly → 5.01 (half up, not banker's 5.00).
        let t = terms("1001.00", "6", ymd(2026, 1, 1), 2, Method::InterestOnly);
        let s = generate(&t).unwrap();
        assert_eq!(s[0].interest_due, dec("5.01"));
        let t = terms("1000.50", "6", ymd(2026, 1, 1), 2, Method::InterestOnly);
        assert_eq!(generate(&t).unwrap()[0].interest_due, dec("5.00"));
        // A rate with a repeating periodic value: 3000.30 × 1 % / 12 = 2.50025 → 2.50;
        // 3000.60 × 1 % / 12 = 2.5005 → 2.50; 3006.00 × 1 % / 12 = 2.505 → 2.51.
        for (p, want) in [
            ("3000.30", "2.50"),
            ("3000.60", "2.50"),
            ("3006.00", "2.51"),
        ] {
            let t = terms(p, "1", ymd(2026, 1, 1), 1, Method::InterestOnly);
            assert_eq!(generate(&t).unwrap()[0].interest_due, dec(want), "{p}");
        }
    }

    #[test]
    fn tiny_principal_never_overpays() {
        for method in [Method::Annuity, Method::EqualPrincipal] {
            let t = terms("1.00", "4.9", ymd(2026, 1, 1), 360, method);
            let s = generate(&t).unwrap();
            check_invariants(&t, &s);
        }
        let t = terms("0.01", "4.9", ymd(2026, 1, 1), 12, Method::EqualPrincipal);
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        assert_eq!(s[11].principal_due, dec("0.01"));
    }

    #[test]
    fn bullet_cases() {
        let orig = ymd(2026, 1, 31);
        let base = Terms {
            loan: LoanTerms {
                principal: dec("100000"),
                annual_rate_pct: dec("3.6"),
            },
            origination: orig,
            term_months: None,
            term_days: None,
            method: Method::Bullet,
            frequency: Frequency::Monthly,
            first_due_date: None,
            maturity_date: None,
        };
        // (term_months, term_days, maturity, first_due) → (due date, interest)
        type Case = (
            Option<u32>,
            Option<u32>,
            Option<NaiveDate>,
            Option<NaiveDate>,
        );
        let ok: &[(Case, NaiveDate, &str)] = &[
            // 100000 × 3.6 % × 6 / 12 = 1800
            ((Some(6), None, None, None), ymd(2026, 7, 31), "1800.00"),
            ((Some(1), None, None, None), ymd(2026, 2, 28), "300.00"),
            // 100000 × 3.6 % × 90 / 360 = 900
            ((None, Some(90), None, None), ymd(2026, 5, 1), "900.00"),
            ((None, Some(1), None, None), ymd(2026, 2, 1), "10.00"),
            // maturity wins, actual/360: 2026-01-31 → 2027-01-31 = 365 days → 3650
            (
                (Some(12), None, Some(ymd(2027, 1, 31)), None),
                ymd(2027, 1, 31),
                "3650.00",
            ),
            (
                (None, None, Some(ymd(2026, 3, 2)), None),
                ymd(2026, 3, 2),
                "300.00",
            ),
            (
                (None, None, None, Some(ymd(2026, 3, 2))),
                ymd(2026, 3, 2),
                "300.00",
            ),
            (
                (Some(1), None, None, Some(ymd(2026, 2, 28))),
                ymd(2026, 2, 28),
                "300.00",
            ),
        ];
        for ((tm, td, mat, fd), due, interest) in ok {
            let t = Terms {
                term_months: *tm,
                term_days: *td,
                maturity_date: *mat,
                first_due_date: *fd,
                ..base
            };
            let s = generate(&t).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            check_invariants(&t, &s);
            assert_eq!(s.len(), 1);
            assert_eq!(s[0].due_date, *due, "{t:?}");
            assert_eq!(s[0].interest_due, dec(interest), "{t:?}");
            assert_eq!(s[0].principal_due, dec("100000.00"));
        }
        use ScheduleError::*;
        let bad: &[(Case, ScheduleError)] = &[
            ((None, None, None, None), BulletNeedsTerm),
            (
                (Some(0), None, None, None),
                TermMonthsNotMultiple(Frequency::Monthly),
            ),
            ((None, Some(0), None, None), TermDaysNotPositive),
            (
                (None, None, Some(ymd(2026, 1, 30)), None),
                MaturityBeforeOrigination,
            ),
            ((None, None, Some(orig), None), MaturityOnOrigination),
            ((None, None, None, Some(orig)), FirstDueNotAfterOrigination),
            (
                (Some(1), None, None, Some(ymd(2026, 3, 1))),
                FirstDueMismatch,
            ),
            ((None, Some(u32::MAX), None, None), DateOutOfRange),
        ];
        for ((tm, td, mat, fd), want) in bad {
            let t = Terms {
                term_months: *tm,
                term_days: *td,
                maturity_date: *mat,
                first_due_date: *fd,
                ..base
            };
            assert_eq!(generate(&t), Err(*want), "{t:?}");
        }
        // Huge month terms do not panic.
        let t = Terms {
            term_months: Some(u32::MAX),
            ..base
        };
        assert_eq!(generate(&t), Err(DateOutOfRange));
    }

    #[test]
    fn first_due_date_and_maturity() {
        let mut t = terms("3000", "12", ymd(2026, 1, 10), 3, Method::EqualPrincipal);
        t.first_due_date = Some(ymd(2026, 2, 28));
        let s = generate(&t).unwrap();
        check_invariants(&t, &s);
        let dates: Vec<NaiveDate> = s.iter().map(|i| i.due_date).collect();
        assert_eq!(
            dates,
            vec![ymd(2026, 2, 28), ymd(2026, 3, 28), ymd(2026, 4, 28)]
        );
        // 30/360: first period interest is a full month even though it is 49 days.
        assert_eq!(s[0].interest_due, dec("30.00"));

        t.maturity_date = Some(ymd(2026, 4, 28));
        assert!(generate(&t).is_ok());
        t.maturity_date = Some(ymd(2026, 4, 30));
        assert_eq!(generate(&t), Err(ScheduleError::MaturityMismatch));
        t.maturity_date = Some(ymd(2025, 4, 30));
        assert_eq!(generate(&t), Err(ScheduleError::MaturityBeforeOrigination));
        t.maturity_date = None;
        t.first_due_date = Some(ymd(2026, 1, 10));
        assert_eq!(
            generate(&t),
            Err(ScheduleError::FirstDueNotAfterOrigination)
        );

        let mut t = terms("3000", "12", ymd(2026, 1, 31), 3, Method::Annuity);
        t.maturity_date = Some(ymd(2026, 4, 30));
        assert!(generate(&t).is_ok());
    }

    #[test]
    fn validation_errors() {
        use ScheduleError::*;
        let base = terms("1000", "5", ymd(2026, 1, 1), 12, Method::Annuity);
        let cases: Vec<(Terms, ScheduleError, &str)> = vec![
            (
                Terms {
                    loan: LoanTerms {
                        principal: dec("0"),
                        ..base.loan
                    },
                    ..base
                },
                PrincipalNotPositive,
                "principal must be positive",
            ),
            (
                Terms {
                    loan: LoanTerms {
                        principal: dec("-1"),
                        ..base.loan
                    },
                    ..base
                },
                PrincipalNotPositive,
                "principal must be positive",
            ),
            (
                Terms {
                    loan: LoanTerms {
                        principal: dec("1.001"),
                        ..base.loan
                    },
                    ..base
                },
                PrincipalTooPrecise,
                "principal must have at most 2 decimal places",
            ),
            (
                Terms {
                    loan: LoanTerms {
                        principal: dec("1000000000000000"),
                        ..base.loan
                    },
                    ..base
                },
                PrincipalTooLarge,
                "principal is too large (limit 999999999999999.99)",
            ),
            (
                Terms {
                    loan: LoanTerms {
                        annual_rate_pct: dec("-0.1"),
                        ..base.loan
                    },
                    ..base
                },
                RateOutOfRange,
                "annual_rate_pct must be between 0 and 100 (percent per year)",
            ),
            (
                Terms {
                    loan: LoanTerms {
                        annual_rate_pct: dec("100.01"),
                        ..base.loan
                    },
                    ..base
                },
                RateOutOfRange,
                "",
            ),
            (
                Terms {
                    term_months: None,
                    ..base
                },
                TermMonthsRequired(Method::Annuity),
                "term_months is required for annuity loans",
            ),
            (
                Terms {
                    term_months: None,
                    method: Method::InterestOnly,
                    ..base
                },
                TermMonthsRequired(Method::InterestOnly),
                "term_months is required for interest_only loans",
            ),
            (
                Terms {
                    term_months: Some(0),
                    ..base
                },
                TermMonthsNotMultiple(Frequency::Monthly),
                "term_months must be positive for monthly loans",
            ),
            (
                Terms {
                    term_months: Some(601),
                    ..base
                },
                TooManyInstallments,
                "term gives more than 600 installments",
            ),
            (
                Terms {
                    term_months: Some(u32::MAX),
                    ..base
                },
                TooManyInstallments,
                "",
            ),
            (
                Terms {
                    maturity_date: Some(ymd(2025, 12, 31)),
                    ..base
                },
                MaturityBeforeOrigination,
                "maturity_date is before origination_date",
            ),
        ];
        for (t, want, msg) in cases {
            assert_eq!(generate(&t), Err(want), "{t:?}");
            if !msg.is_empty() {
                assert_eq!(want.to_string(), msg);
            }
        }
        // Exactly at the limits is fine.
        let ok = [
            Terms {
                term_months: Some(600),
                ..base
            },
            Terms {
                loan: LoanTerms {
                    annual_rate_pct: dec("100"),
                    ..base.loan
                },
                ..base
            },
            Terms {
                loan: LoanTerms {
                    annual_rate_pct: dec("0"),
                    ..base.loan
                },
                ..base
            },
            Terms {
                loan: LoanTerms {
                    principal: dec("0.01"),
                    ..base.loan
                },
                ..base
            },
            Terms {
                loan: LoanTerms {
                    principal: dec("999999999999999.99"),
                    ..base.loan
                },
                ..base
            },
            Terms {
                loan: LoanTerms {
                    principal: dec("1000.000"),
                    ..base.loan
                },
                ..base
            },
        ];
        for t in ok {
            let s = generate(&t).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            check_invariants(&t, &s);
        }
    }

    #[test]
    fn extreme_terms_do_not_panic() {
        for method in Method::ALL {
            for freq in Frequency::ALL {
                for months in [3, 600, 1800] {
                    let t = Terms {
                        loan: LoanTerms {
                            principal: dec("999999999999999.99"),
                            annual_rate_pct: dec("100"),
                        },
                        origination: ymd(2200, 12, 31),
                        term_months: Some(months),
                        term_days: Some(1),
                        method,
                        frequency: freq,
                        first_due_date: None,
                        maturity_date: None,
                    };
                    if let Ok(s) = generate(&t) {
                        check_invariants(&t, &s);
                    }
                }
            }
        }
    }

    #[test]
    fn principal_always_sums_exactly() {
        // Deterministic pseudo-random combinations (64-bit LCG).
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        let methods = Method::ALL;
        for _ in 0..400 {
            let method = methods[next(4) as usize];
            let frequency = Frequency::ALL[next(2) as usize];
            let fen = match next(3) {
                0 => 1 + next(10_000) as i64,
                1 => 1 + next(100_000_000) as i64,
                _ => 1 + next(1 << 31) as i64 * 1000,
            };
            let long = next(4) == 0;
            let periods = 1 + next(if long { 200 } else { 36 }) as u32;
            let term_months = periods * frequency.months();
            let rate = Decimal::new(next(2_000_001) as i64, 4); // 0 .. 200.0000 → keep <= 100 below
            let rate = if rate > Decimal::ONE_HUNDRED {
                rate - Decimal::ONE_HUNDRED
            } else {
                rate
            };
            let orig = ymd(
                2000 + next(30) as i32,
                1 + next(12) as u32,
                1 + next(31).min(27) as u32,
            );
            let orig = if next(5) == 0 {
                crate::dates::month_end(orig)
            } else {
                orig
            };
            let t = Terms {
                loan: LoanTerms {
                    principal: crate::money::from_fen(fen),
                    annual_rate_pct: rate,
                },
                origination: orig,
                term_months: Some(term_months),
                term_days: None,
                method,
                frequency,
                first_due_date: None,
                maturity_date: None,
            };
            let s = generate(&t).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            check_invariants(&t, &s);
            let expected_len = if method == Method::Bullet {
                1
            } else {
                periods as usize
            };
            assert_eq!(s.len(), expected_len, "{t:?}");
            if method == Method::Annuity && s.len() > 1 && fen > 1_000_000 {
                let a = s[0].principal_due + s[0].interest_due;
                for inst in &s[..s.len() - 1] {
                    assert_eq!(inst.principal_due + inst.interest_due, a, "{t:?}");
                }
            }
        }
    }
}
