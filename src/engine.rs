//! The overdue engine: replays a loan's repayments against its schedule and
//! answers "where does this loan stand as of date D" — DPD, overdue amounts,
//! penalty interest (罚息), settlement history.
//!
//! Pure: plain values in, values out. No I/O, no clock (`as_of` is always a
//! parameter), never panics on any input (bad input becomes a warning on the
//! [`Position`]). Money is [`Decimal`]; the only rounding is
//! [`crate::money::round_fen`] (half-up to the fen), applied to the final
//! penalty total only.
//!
//! # Conventions (all deliberate; tests pin each one)
//!
//! * **Ordering.** Installments are sorted by `(due_date, installment_no)`,
//!   payments by `(paid_on, input order)`. Money is applied oldest
//!   installment first; within an installment in [`Conventions::order`]
//!   (default fee, interest, principal — 先息后本). `Component::Penalty` in
//!   `order` is ignored (penalty placement is `penalty_first`), and any
//!   component missing from `order` is appended in the default order, so
//!   money is never stranded.
//! * **DPD as of D** = `D − due_date` of the oldest installment not settled
//!   by the end of D, when that installment is overdue, else 0. A payment
//!   ON the due date is on time; the day after the due date unpaid is DPD 1.
//!   Payments are effective for the whole day they are dated (end-of-day
//!   view). There is **no business-day shift**: a due date or payment on a
//!   weekend/holiday counts on its calendar date.
//! * **max_dpd** is the worst DPD on any day up to D, where on a payment
//!   day the DPD just before that day's payments counts: paid one day late
//!   gives `max_dpd = 1` and `days_late = 1` though every end-of-day DPD was 0.
//! * **Grace** (`grace_days` g): an installment is overdue as of D only when
//!   `D > due_date + g`. Once overdue, DPD is counted from the due date, not
//!   from the end of grace (so with g = 3 DPD jumps 0 → 4). Penalty follows
//!   the same rule: an installment settled within grace never accrues
//!   penalty; one still unsettled after grace accrues from `due_date + 1`.
//! * **Tolerance**: an installment whose unpaid remainder (principal +
//!   interest + fee) is `<= tolerance` counts as settled: it does not move
//!   DPD, is excluded from `overdue_*` / `installments_overdue`, stops
//!   accruing penalty, appears in `settled`, and counts towards `closed`.
//!   The remainder is still real money: it stays in `outstanding_principal`
//!   and later payments still pay it first (the waterfall uses the true
//!   remainder). An installment that is `<= tolerance` from the start (e.g.
//!   an all-zero row) is settled on its own due date.
//! * **Penalty interest** (actual/360): for each day t in `due_date+1 ..= D`
//!   an overdue installment accrues `balance × annual_rate_pct/100 ×
//!   penalty_multiplier / 360`, where balance is its unpaid principal (plus
//!   unpaid interest when `compound_interest`, 复利) at the end of day t−1 —
//!   so a payment on day t still pays that day's penalty, and an installment
//!   paid k days late accrues exactly k days. Accrual is by segments between
//!   events (exact balance-days), and only the final total is rounded.
//!   `penalty_interest` = round_fen(accrued to D) − penalty paid. By default
//!   penalty is reported but not owed as part of any installment, so it
//!   never moves DPD; with `penalty_first` each payment first pays the
//!   penalty accrued to its date (round_fen(accrued) − already paid).
//! * **Prepayment.** `NextInstallments`: money beyond what is due pays the
//!   next installments in schedule order. `ReducePrincipalLast`: money beyond
//!   what is due (installments due on or before the payment date) pays
//!   principal of the not-yet-due installments from the last one backwards
//!   (缩期); only when all that principal is gone does it pay their interest
//!   and fee oldest first. Interest is NOT re-amortised — import the bank's
//!   new schedule for that. `prepaid_amount` = money applied to installments
//!   not yet due on the payment date; money beyond the whole schedule is
//!   `overpaid`.
//! * **Reversals** (`reverses_txn_id = Some(t)`): as of any D on or after
//!   the reversal's date, payment `t` is treated as never made (history,
//!   `max_dpd`, settlement dates are all recomputed without it); before that
//!   date the original stands. A reversal's own amount is ignored. A
//!   reversal of an unknown txn, of a reversal, or a second reversal of the
//!   same txn is ignored with a warning. If several payments share the txn
//!   id, the earliest-dated one is reversed.
//! * **Bad input** never panics: negative installment components become 0,
//!   payments with amount <= 0 are ignored, amounts above 10^15 are capped,
//!   a negative rate/multiplier/tolerance is taken as 0 — each with a
//!   warning. A schedule whose principal differs from `LoanTerms::principal`
//!   by more than max(tolerance, 0.01) is warned about.
//! * `closed` = every installment settled (tolerance-aware; penalty not
//!   considered). `matured` = every installment's due date `<= as_of` (true
//!   for an empty schedule).
//!
//! # Performance
//!
//! [`positions`] sorts once and replays once per "reversal epoch" (the set
//! of reversals in force changes only on reversal dates, usually never),
//! taking a snapshot at each as-of date in one sweep: per date the cost is
//! O(1) plus building the `settled` list. Per loan it allocates a handful of
//! vectors, nothing per installment or per payment.
//!
//! Internally the replay runs on integers: amounts in whole fen (`i64`),
//! dates as day numbers, penalty accrual as exact fen-days (`i128`), turned
//! into money once per snapshot exactly as the Decimal formula would
//! (`round_fen(acc × rate × multiplier / 36000)`). Results are identical
//! to the original all-Decimal engine, which is kept (`mod decimal`) and
//! used for any loan outside the integer path's exact range: an amount with
//! digits below the fen, or sums of amounts near 2^62 fen. Output amounts
//! from the integer path have scale 2.

use crate::money::round_fen;
use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// The loan-level terms the engine needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanTerms {
    /// 4.9 means 4.9 % a year.
    pub annual_rate_pct: Decimal,
    pub principal: Decimal,
}

/// One row of the repayment schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Installment {
    pub installment_no: u32,
    pub due_date: NaiveDate,
    pub principal_due: Decimal,
    pub interest_due: Decimal,
    pub fee_due: Decimal,
}

/// One repayment transaction, or a reversal of one.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub txn_id: String,
    pub paid_on: NaiveDate,
    pub amount: Decimal,
    /// `Some(t)`: this row reverses payment `t` (its own amount is ignored).
    pub reverses_txn_id: Option<String>,
}

/// A component of what is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    Penalty,
    Fee,
    Interest,
    Principal,
}

impl Component {
    /// Parses `penalty|fee|interest|principal` (also 罚息/费用/利息/本金).
    pub fn parse(s: &str) -> Result<Component, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "penalty" | "罚息" => Ok(Component::Penalty),
            "fee" | "费用" => Ok(Component::Fee),
            "interest" | "利息" => Ok(Component::Interest),
            "principal" | "本金" => Ok(Component::Principal),
            other => Err(format!(
                "unknown component {other:?} (expected fee, interest, principal or penalty)"
            )),
        }
    }

    /// Parses a comma-separated order such as `"fee,interest,principal"`.
    pub fn parse_order(s: &str) -> Result<Vec<Component>, String> {
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let c = Component::parse(part)?;
            if out.contains(&c) {
                return Err(format!("component {:?} listed twice", part.trim()));
            }
            out.push(c);
        }
        if out.is_empty() {
            return Err("empty component order".to_string());
        }
        Ok(out)
    }
}

/// What money beyond everything due does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prepay {
    /// Pays the next installments in schedule order (default).
    #[default]
    NextInstallments,
    /// Pays principal of the last installments first (shortens the term).
    ReducePrincipalLast,
}

impl Prepay {
    /// Parses `next` / `next_installments` or `reduce_last` /
    /// `reduce_principal_last`.
    pub fn parse(s: &str) -> Result<Prepay, String> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "next" | "next_installments" => Ok(Prepay::NextInstallments),
            "reduce_last" | "reduce_principal_last" => Ok(Prepay::ReducePrincipalLast),
            other => Err(format!(
                "unknown prepay mode {other:?} (expected next_installments or reduce_principal_last)"
            )),
        }
    }
}

/// The bank's accounting conventions. See the module doc.
#[derive(Debug, Clone, PartialEq)]
pub struct Conventions {
    pub grace_days: u32,
    pub tolerance: Decimal,
    /// Within an installment; default fee, interest, principal.
    pub order: Vec<Component>,
    pub penalty_first: bool,
    /// Default 1.5 (penalty rate = contract rate × 1.5).
    pub penalty_multiplier: Decimal,
    /// 复利 on overdue interest; default true.
    pub compound_interest: bool,
    pub prepay: Prepay,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            grace_days: 0,
            tolerance: Decimal::ZERO,
            order: vec![Component::Fee, Component::Interest, Component::Principal],
            penalty_first: false,
            penalty_multiplier: Decimal::new(15, 1),
            compound_interest: true,
            prepay: Prepay::NextInstallments,
        }
    }
}

/// An installment settled (remainder <= tolerance) by the as-of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub installment_no: u32,
    pub due_date: NaiveDate,
    pub settled_on: NaiveDate,
    /// max(0, settled_on − due_date).
    pub days_late: u32,
}

/// Where a loan stands as of one date.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub as_of: NaiveDate,
    pub dpd: u32,
    /// Due date of the oldest unpaid overdue installment (None when dpd == 0).
    pub overdue_since: Option<NaiveDate>,
    pub overdue_principal: Decimal,
    pub overdue_interest: Decimal,
    pub overdue_fee: Decimal,
    /// Accrued to as_of, rounded to the fen, minus penalty already paid.
    pub penalty_interest: Decimal,
    /// Principal not yet repaid, due or not.
    pub outstanding_principal: Decimal,
    pub installments_overdue: u32,
    pub last_payment_date: Option<NaiveDate>,
    pub paid_total: Decimal,
    pub prepaid_amount: Decimal,
    pub overpaid: Decimal,
    /// Worst DPD reached on any day up to as_of. On a payment day the DPD
    /// just before that day's payments counts, so an installment settled k
    /// days late (k > grace) makes max_dpd >= k although no end-of-day DPD
    /// was ever k. Reversals rewrite this history like everything else.
    pub max_dpd: u32,
    /// Installments settled by as_of, in schedule order.
    pub settled: Vec<Settled>,
    /// Every installment is due.
    pub matured: bool,
    /// Every installment is settled.
    pub closed: bool,
    pub warnings: Vec<String>,
}

impl Position {
    fn empty(as_of: NaiveDate) -> Position {
        Position {
            as_of,
            dpd: 0,
            overdue_since: None,
            overdue_principal: Decimal::ZERO,
            overdue_interest: Decimal::ZERO,
            overdue_fee: Decimal::ZERO,
            penalty_interest: Decimal::ZERO,
            outstanding_principal: Decimal::ZERO,
            installments_overdue: 0,
            last_payment_date: None,
            paid_total: Decimal::ZERO,
            prepaid_amount: Decimal::ZERO,
            overpaid: Decimal::ZERO,
            max_dpd: 0,
            settled: Vec::new(),
            matured: true,
            closed: true,
            warnings: Vec::new(),
        }
    }
}

/// The loan's position as of one date.
pub fn position(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_of: NaiveDate,
    conv: &Conventions,
) -> Position {
    positions(terms, inst, pays, &[as_of], conv)
        .into_iter()
        .next()
        .unwrap_or_else(|| Position::empty(as_of))
}

/// The loan's positions as of several dates in one pass. `as_ofs` should be
/// ascending; any order is accepted and the result is in the order given
/// (`result[k].as_of == as_ofs[k]`), identical to calling [`position`] for
/// each date.
pub fn positions(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
) -> Vec<Position> {
    if as_ofs.is_empty() {
        return Vec::new();
    }
    positions_fast(terms, inst, pays, as_ofs, conv)
        .unwrap_or_else(|| decimal::positions(terms, inst, pays, as_ofs, conv))
}

// ---------------------------------------------------------------------------
// Shared by both engines
// ---------------------------------------------------------------------------

fn max_amount() -> Decimal {
    Decimal::new(1_000_000_000_000_000, 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    NotDue,
    /// Past due, within grace: accrues penalty provisionally.
    Grace,
    Overdue,
    Settled,
}

fn clamp_amount(
    v: Decimal,
    what: impl Fn() -> String,
    warnings: &mut Vec<(Option<NaiveDate>, String)>,
    date: Option<NaiveDate>,
) -> Decimal {
    if v.is_sign_negative() && !v.is_zero() {
        warnings.push((date, format!("{} is negative ({v}); taken as 0", what())));
        Decimal::ZERO
    } else if v > max_amount() {
        warnings.push((
            date,
            format!("{} is implausibly large ({v}); capped", what()),
        ));
        max_amount()
    } else {
        v
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

fn days_u32(days: i64) -> u32 {
    u32::try_from(days.max(0)).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// The fast engine: integer fen and day numbers
// ---------------------------------------------------------------------------

/// 10^15 yuan in fen: the cap on any one amount.
const MAX_FEN: i64 = 100_000_000_000_000_000;

/// The fast path runs only while every sum of amounts (installments, and
/// separately payments) stays below this, so no i64 sum can overflow and no
/// Decimal sum of the reference would have saturated.
const SUM_LIMIT: i128 = 1 << 62;

fn day_no(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

/// Whole fen of an amount, if exact (no sub-fen digits) and within i64.
fn exact_fen(v: Decimal) -> Option<i64> {
    let s = v.scale();
    let m = v.mantissa();
    let f = match s {
        2 => m,
        0 | 1 => m.checked_mul(10i128.pow(2 - s))?,
        _ => {
            let q = 10i128.pow(s - 2);
            if m % q != 0 {
                return None;
            }
            m / q
        }
    };
    i64::try_from(f).ok()
}

/// Exact fen of a Decimal that may be large (penalty): scale <= 2 expected.
fn fen_i128(v: Decimal) -> Option<i128> {
    let s = v.scale();
    if s > 2 {
        return None;
    }
    v.mantissa().checked_mul(10i128.pow(2 - s))
}

/// [`clamp_amount`] in fen, with the same warnings; None when the clamped
/// amount is not a whole number of fen (the caller falls back to Decimal).
fn clamp_fen(
    v: Decimal,
    what: impl Fn() -> String,
    warnings: &mut Vec<(Option<NaiveDate>, String)>,
    date: Option<NaiveDate>,
) -> Option<i64> {
    if v.scale() == 2 {
        let m = v.mantissa();
        if (0..=i128::from(MAX_FEN)).contains(&m) {
            return Some(m as i64);
        }
    }
    exact_fen(clamp_amount(v, what, warnings, date))
}

fn money(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

#[derive(Debug, Clone, Copy)]
struct FInst {
    p: i64,
    i: i64,
    f: i64,
    due: i32,
    /// due + grace; i32::MAX when beyond the calendar (never overdue).
    confirm: i32,
    no: u32,
    due_date: NaiveDate,
    status: Status,
    /// Entered in the settled log, on `settled_on`, `days_late` days late.
    logged: bool,
    settled_on: NaiveDate,
    days_late: u32,
}

impl FInst {
    #[inline]
    fn total(&self) -> i64 {
        self.p + self.i + self.f
    }
}

#[derive(Debug, Clone, Copy)]
struct FPay {
    day: i32,
    /// 0 for ignored rows.
    amount: i64,
    date: NaiveDate,
    /// Index into the input slice.
    src: usize,
}

struct FPrep {
    insts: Vec<FInst>,
    pays: Vec<FPay>,
    /// (reversal day, index into pays), date ascending; valid ones only.
    reversals: Vec<(i32, usize)>,
    warnings: Vec<(Option<NaiveDate>, String)>,
    order: [Component; 3],
    tol: i64,
    grace: u32,
    factor: Decimal,
    /// (mantissa, 36000 × 10^scale) of `factor` when small enough for
    /// [`penalty_fen_int`].
    factor_int: Option<(i128, i128)>,
    compound: bool,
    penalty_first: bool,
    prepay: Prepay,
    initially_settled: usize,
    outstanding_p: i64,
}

impl FPrep {
    /// None: some amount has sub-fen digits or the sums are out of the
    /// i64-safe range; the caller uses the Decimal engine instead.
    fn new(
        terms: &LoanTerms,
        inst: &[Installment],
        pays: &[Payment],
        conv: &Conventions,
    ) -> Option<FPrep> {
        let mut warnings: Vec<(Option<NaiveDate>, String)> = Vec::new();

        let mut order = [Component::Fee, Component::Interest, Component::Principal];
        let mut n = 0;
        for c in conv
            .order
            .iter()
            .chain([Component::Fee, Component::Interest, Component::Principal].iter())
        {
            if *c != Component::Penalty && !order[..n].contains(c) && n < 3 {
                order[n] = *c;
                n += 1;
            }
        }

        let tol = if conv.tolerance.is_sign_negative() {
            warnings.push((None, "negative tolerance taken as 0".to_string()));
            Decimal::ZERO
        } else {
            conv.tolerance
        };
        // Totals are whole fen: total <= tol  <=>  total <= floor(tol in fen).
        let tol_fen = if tol.scale() == 2 {
            i64::try_from(tol.mantissa()).unwrap_or(i64::MAX)
        } else {
            tol.checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|t| t.floor().to_i64())
                .unwrap_or(i64::MAX)
        };
        let rate = if terms.annual_rate_pct.is_sign_negative() && !terms.annual_rate_pct.is_zero() {
            warnings.push((None, "negative annual rate taken as 0".to_string()));
            Decimal::ZERO
        } else {
            terms.annual_rate_pct.min(Decimal::new(1_000_000, 0))
        };
        let mult = if conv.penalty_multiplier.is_sign_negative() {
            warnings.push((None, "negative penalty multiplier taken as 0".to_string()));
            Decimal::ZERO
        } else {
            conv.penalty_multiplier.min(Decimal::new(1_000_000, 0))
        };

        let grace = conv.grace_days;
        let max_day = i64::from(day_no(NaiveDate::MAX));
        let mut insts: Vec<FInst> = Vec::with_capacity(inst.len());
        let mut sched_principal: i128 = 0;
        let mut sched_total: i128 = 0;
        for r in inst {
            let label = |c: &str| format!("installment {} {c}", r.installment_no);
            let p = clamp_fen(
                r.principal_due,
                || label("principal_due"),
                &mut warnings,
                None,
            )?;
            let i = clamp_fen(
                r.interest_due,
                || label("interest_due"),
                &mut warnings,
                None,
            )?;
            let f = clamp_fen(r.fee_due, || label("fee_due"), &mut warnings, None)?;
            sched_principal += i128::from(p);
            sched_total += i128::from(p) + i128::from(i) + i128::from(f);
            let due = day_no(r.due_date);
            let confirm = i64::from(due) + i64::from(grace);
            insts.push(FInst {
                p,
                i,
                f,
                due,
                confirm: if confirm > max_day {
                    i32::MAX
                } else {
                    confirm as i32
                },
                no: r.installment_no,
                due_date: r.due_date,
                status: Status::NotDue,
                logged: false,
                settled_on: r.due_date,
                days_late: 0,
            });
        }
        if sched_total >= SUM_LIMIT {
            return None;
        }
        if !insts
            .windows(2)
            .all(|w| (w[0].due, w[0].no) <= (w[1].due, w[1].no))
        {
            insts.sort_by_key(|x| (x.due, x.no));
        }
        let mut initially_settled = 0;
        for x in insts.iter_mut() {
            if x.total() <= tol_fen {
                x.status = Status::Settled;
                initially_settled += 1;
            }
        }
        if inst.is_empty() {
            warnings.push((None, "empty repayment schedule".to_string()));
        } else {
            let slack = tol.max(Decimal::new(1, 2));
            let sched = Decimal::try_from_i128_with_scale(sched_principal, 2).ok()?;
            if sched.saturating_sub(terms.principal).abs() > slack {
                // Rare: rebuild the Decimal sum so the message reads as before.
                let mut scratch = Vec::new();
                let shown = inst.iter().fold(Decimal::ZERO, |a, r| {
                    a.saturating_add(clamp_amount(
                        r.principal_due,
                        String::new,
                        &mut scratch,
                        None,
                    ))
                });
                warnings.push((
                    None,
                    format!(
                        "schedule principal {shown} differs from loan principal {}",
                        terms.principal
                    ),
                ));
            }
        }

        // Payments sorted by (date, input order); reversals kept aside.
        let mut rows: Vec<FPay> = Vec::with_capacity(pays.len());
        let mut revs: Vec<usize> = Vec::new();
        let mut pay_total: i128 = 0;
        let mut push = |k: usize, warnings: &mut Vec<(Option<NaiveDate>, String)>| -> Option<()> {
            let p = &pays[k];
            if p.reverses_txn_id.is_some() {
                revs.push(k);
                return Some(());
            }
            let v = p.amount;
            let amount =
                if v.scale() == 2 && v.mantissa() > 0 && v.mantissa() <= i128::from(MAX_FEN) {
                    v.mantissa() as i64
                } else if v <= Decimal::ZERO {
                    if v.is_sign_negative() && !v.is_zero() {
                        warnings.push((
                            Some(p.paid_on),
                            format!("payment {} has negative amount {}; ignored", p.txn_id, v),
                        ));
                    }
                    0
                } else {
                    clamp_fen(
                        v,
                        || format!("payment {}", p.txn_id),
                        warnings,
                        Some(p.paid_on),
                    )?
                };
            pay_total += i128::from(amount);
            rows.push(FPay {
                day: day_no(p.paid_on),
                amount,
                date: p.paid_on,
                src: k,
            });
            Some(())
        };
        if pays.windows(2).all(|w| w[0].paid_on <= w[1].paid_on) {
            for k in 0..pays.len() {
                push(k, &mut warnings)?;
            }
        } else {
            let mut idx: Vec<usize> = (0..pays.len()).collect();
            idx.sort_by_key(|&k| (pays[k].paid_on, k));
            for k in idx {
                push(k, &mut warnings)?;
            }
        }
        if pay_total >= SUM_LIMIT {
            return None;
        }
        let mut reversals = Vec::new();
        if !revs.is_empty() {
            let mut reversed = vec![false; rows.len()];
            for k in revs {
                let r = &pays[k];
                let target = r.reverses_txn_id.as_deref().unwrap_or("");
                match rows.iter().position(|row| pays[row.src].txn_id == target) {
                    Some(t) if reversed[t] => warnings.push((
                        Some(r.paid_on),
                        format!(
                            "reversal {} repeats an earlier reversal of {target}; ignored",
                            r.txn_id
                        ),
                    )),
                    Some(t) => {
                        reversed[t] = true;
                        reversals.push((day_no(r.paid_on), t));
                    }
                    None => {
                        let is_rev = pays
                            .iter()
                            .any(|p| p.reverses_txn_id.is_some() && p.txn_id == target);
                        let why = if is_rev {
                            "reverses a reversal (not supported)"
                        } else {
                            "reverses unknown txn"
                        };
                        warnings.push((
                            Some(r.paid_on),
                            format!("reversal {} {why} {target}; ignored", r.txn_id),
                        ));
                    }
                }
            }
        }

        let factor = rate * mult;
        let factor_int = (factor.scale() <= 8 && !factor.is_sign_negative())
            .then(|| (factor.mantissa(), 36_000 * 10i128.pow(factor.scale())));
        Some(FPrep {
            outstanding_p: sched_principal as i64,
            factor,
            factor_int,
            insts,
            pays: rows,
            reversals,
            warnings,
            order,
            tol: tol_fen,
            grace,
            compound: conv.compound_interest,
            penalty_first: conv.penalty_first,
            prepay: conv.prepay,
            initially_settled,
        })
    }
}

/// `round_fen(acc × factor / 36000)` in fen, for `acc` in fen-days and
/// `factor = f / 10^s` with `den = 36000 × 10^s`, by exact integer division
/// rounded half up. None (compute it in Decimal) outside the range where
/// this provably equals the Decimal computation: there the product
/// `acc × f` fits Decimal's 96-bit mantissa (so Decimal multiplies
/// exactly), `den <= 36000 × 10^8` and the result is below 10^13 fen, so
/// Decimal's quotient (28+ significant digits) is within 10^-12 fen of the
/// exact one while any non-midpoint quotient is at least 1/(2·den) > 10^-12
/// fen away from the nearest midpoint; an exact midpoint is a terminating
/// decimal that Decimal divides exactly and rounds up, as here.
fn penalty_fen_int(acc: i128, f: i128, den: i128) -> Option<i128> {
    let n = acc.checked_mul(f)?;
    if !(0..1i128 << 96).contains(&n) {
        return None;
    }
    let (q, r) = (n / den, n % den);
    if q >= 10_000_000_000_000 {
        return None;
    }
    Some(if 2 * r >= den { q + 1 } else { q })
}

/// Where the fast engine puts positions: straight into the result when
/// the dates are visited in input order, else by index.
enum Out {
    InOrder(Vec<Position>),
    ByIndex(Vec<Option<Position>>),
}

impl Out {
    fn put(&mut self, k: usize, p: Position) {
        match self {
            Out::InOrder(v) => v.push(p),
            Out::ByIndex(v) => v[k] = Some(p),
        }
    }
}

/// The fast engine; None when the loan needs the Decimal engine.
fn positions_fast(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
) -> Option<Vec<Position>> {
    let mut prep = FPrep::new(terms, inst, pays, conv)?;
    let n = as_ofs.len();
    let mut day_buf = [0i32; 16];
    let day_vec: Vec<i32>;
    let days: &[i32] = if n <= day_buf.len() {
        for (b, &d) in day_buf.iter_mut().zip(as_ofs) {
            *b = day_no(d);
        }
        &day_buf[..n]
    } else {
        day_vec = as_ofs.iter().map(|&d| day_no(d)).collect();
        &day_vec
    };

    // Visit dates ascending; skip the sort when they already are.
    let ascending = days.windows(2).all(|w| w[0] <= w[1]);
    let sorted: Vec<usize>;
    let (order, mut out) = if ascending {
        (None, Out::InOrder(Vec::with_capacity(n)))
    } else {
        let mut o: Vec<usize> = (0..n).collect();
        o.sort_by_key(|&k| (days[k], k));
        sorted = o;
        (Some(&sorted[..]), Out::ByIndex(vec![None; n]))
    };
    let at = |j: usize| order.map_or(j, |o| o[j]);

    let mut mask: Vec<bool> = Vec::new();
    let mut insts = std::mem::take(&mut prep.insts);
    let mut start = 0;
    while start < n {
        // Reversals in force for the first date of this group.
        let epoch = |d: i32| prep.reversals.partition_point(|r| r.0 <= d);
        let k = epoch(days[at(start)]);
        let mut end = start + 1;
        if !prep.reversals.is_empty() {
            while end < n && epoch(days[at(end)]) == k {
                end += 1;
            }
        } else {
            end = n;
        }
        let excluded: Option<&[bool]> = if k == 0 {
            None
        } else {
            mask.clear();
            mask.resize(prep.pays.len(), false);
            for r in &prep.reversals[..k] {
                mask[r.1] = true;
            }
            Some(&mask)
        };
        // The last group may consume the schedule; earlier ones copy it.
        let work = if end == n {
            std::mem::take(&mut insts)
        } else {
            insts.clone()
        };
        let mut sweep = FSweep::new(&prep, work);
        sweep.run(excluded, as_ofs, days, order, start..end, &mut out);
        if sweep.bail {
            return None;
        }
        start = end;
    }

    match out {
        Out::InOrder(v) => (v.len() == n).then_some(v),
        Out::ByIndex(v) => Some(
            v.into_iter()
                .zip(as_ofs)
                .map(|(p, &d)| p.unwrap_or_else(|| Position::empty(d)))
                .collect(),
        ),
    }
}

struct FSweep<'p> {
    prep: &'p FPrep,
    insts: Vec<FInst>,
    /// First installment with remainder > tolerance (drives DPD).
    front: usize,
    /// First installment with remainder > 0 (drives the waterfall).
    wf: usize,
    /// Penalty balance over Overdue installments, fen.
    s_bal: i64,
    /// Installments in grace (few), with the balance-days they accrued.
    grace: Vec<(usize, i128)>,
    /// Fen-days accrued over confirmed-overdue installments.
    acc: i128,
    last_t: Option<i32>,
    op: i64,
    oi: i64,
    of: i64,
    n_overdue: u32,
    outstanding_p: i64,
    pen_paid: i64,
    paid_total: i64,
    prepaid: i64,
    overpaid: i64,
    last_pay: Option<NaiveDate>,
    max_dpd: u32,
    /// Installments entered in the settled log (`FInst::logged`).
    n_logged: usize,
    n_settled: usize,
    /// (acc, rounded penalty in fen) of the last penalty computation.
    pen_cache: (i128, i128),
    /// Something fell outside the fast path's range: use the Decimal engine.
    bail: bool,
}

impl<'p> FSweep<'p> {
    fn new(prep: &'p FPrep, insts: Vec<FInst>) -> Self {
        FSweep {
            prep,
            insts,
            front: 0,
            wf: 0,
            s_bal: 0,
            grace: Vec::new(),
            acc: 0,
            last_t: None,
            op: 0,
            oi: 0,
            of: 0,
            n_overdue: 0,
            outstanding_p: prep.outstanding_p,
            pen_paid: 0,
            paid_total: 0,
            prepaid: 0,
            overpaid: 0,
            last_pay: None,
            max_dpd: 0,
            n_logged: 0,
            n_settled: prep.initially_settled,
            pen_cache: (0, 0),
            bail: false,
        }
    }

    /// Visits the dates `order[range]` (`range` itself when `order` is None).
    fn run(
        &mut self,
        excluded: Option<&[bool]>,
        as_ofs: &[NaiveDate],
        days: &[i32],
        order: Option<&[usize]>,
        range: std::ops::Range<usize>,
        out: &mut Out,
    ) {
        self.advance_pointers();
        let prep = self.prep;
        let n = self.insts.len();
        let pays = &prep.pays;
        let use_confirm = prep.grace > 0;
        let (mut pi, mut di, mut ci, mut ai) = (0usize, 0usize, 0usize, range.start);
        let at = |j: usize| order.map_or(j, |o| o[j]);
        let skip = |k: usize| excluded.is_some_and(|m| m[k]) || pays[k].amount == 0;
        while ai < range.end {
            while pi < pays.len() && skip(pi) {
                pi += 1;
            }
            let mut x = days[at(ai)];
            if pi < pays.len() {
                x = x.min(pays[pi].day);
            }
            if di < n {
                x = x.min(self.insts[di].due);
            }
            if use_confirm && ci < n {
                // i32::MAX (beyond the calendar) never wins the min.
                x = x.min(self.insts[ci].confirm);
            }
            self.accrue_to(x);
            if pi < pays.len() && pays[pi].day == x {
                // Worst moment of the day: just before its payments.
                let d = self.dpd_at(x);
                self.max_dpd = self.max_dpd.max(d);
                while pi < pays.len() && pays[pi].day == x {
                    if !skip(pi) {
                        self.apply(pays[pi].date, x, pays[pi].amount);
                    }
                    pi += 1;
                }
            }
            while ai < range.end && days[at(ai)] == x {
                let k = at(ai);
                out.put(k, self.snapshot(as_ofs[k], x));
                ai += 1;
            }
            while di < n && self.insts[di].due == x {
                self.due_event(di);
                di += 1;
            }
            if use_confirm {
                while ci < n && self.insts[ci].confirm == x {
                    self.confirm_event(ci);
                    ci += 1;
                }
            }
        }
    }

    #[inline]
    fn balance(&self, k: usize) -> i64 {
        let x = &self.insts[k];
        if self.prep.compound {
            x.p + x.i
        } else {
            x.p
        }
    }

    /// Accrues penalty for days last_t+1 ..= x on the balances at the end of last_t.
    fn accrue_to(&mut self, x: i32) {
        if let Some(lt) = self.last_t {
            let days = i128::from(x) - i128::from(lt);
            if days <= 0 {
                return;
            }
            self.acc += i128::from(self.s_bal) * days;
            for gi in 0..self.grace.len() {
                let k = self.grace[gi].0;
                self.grace[gi].1 += i128::from(self.balance(k)) * days;
            }
        }
        self.last_t = Some(x);
    }

    /// round_fen(accrued penalty) in fen, computed as the Decimal engine does.
    fn penalty_accrued(&mut self) -> i128 {
        if self.acc == 0 || self.prep.factor.is_zero() {
            return 0;
        }
        if self.pen_cache.0 == self.acc {
            return self.pen_cache.1;
        }
        let fen = match self.prep.factor_int {
            Some((f, den)) => penalty_fen_int(self.acc, f, den),
            None => None,
        };
        if let Some(fen) = fen {
            self.pen_cache = (self.acc, fen);
            return fen;
        }
        let Ok(acc) = Decimal::try_from_i128_with_scale(self.acc, 2) else {
            self.bail = true;
            return 0;
        };
        let pen = round_fen(acc.saturating_mul(self.prep.factor) / Decimal::new(36000, 0));
        let Some(fen) = fen_i128(pen) else {
            self.bail = true;
            return 0;
        };
        self.pen_cache = (self.acc, fen);
        fen
    }

    #[inline]
    fn dpd_at(&self, d: i32) -> u32 {
        match self.insts.get(self.front) {
            Some(x) => {
                let days = i64::from(d) - i64::from(x.due);
                if days > i64::from(self.prep.grace) {
                    days_u32(days)
                } else {
                    0
                }
            }
            None => 0,
        }
    }

    #[inline]
    fn advance_pointers(&mut self) {
        while self.wf < self.insts.len() && self.insts[self.wf].total() == 0 {
            self.wf += 1;
        }
        while self.front < self.insts.len() && self.insts[self.front].total() <= self.prep.tol {
            self.front += 1;
        }
    }

    fn apply(&mut self, date: NaiveDate, day: i32, amount: i64) {
        let prep = self.prep;
        self.paid_total += amount;
        self.last_pay = Some(date);
        let mut m = amount;
        if prep.penalty_first {
            let owed = (self.penalty_accrued() - i128::from(self.pen_paid)).max(0);
            // x <= m, so it fits an i64.
            let x = i128::from(m).min(owed) as i64;
            self.pen_paid += x;
            m -= x;
        }
        let n = self.insts.len();
        loop {
            self.advance_pointers();
            if m == 0 || self.wf >= n {
                break;
            }
            let k = self.wf;
            let not_due = self.insts[k].due > day;
            if not_due && prep.prepay == Prepay::ReducePrincipalLast {
                break;
            }
            let paid = self.pay_inst(k, m, date, day, false);
            if not_due {
                self.prepaid += paid;
            }
            m -= paid;
            if paid == 0 {
                // Cannot happen (remainder > 0 and m > 0); guard against loops.
                break;
            }
        }
        if m != 0 && prep.prepay == Prepay::ReducePrincipalLast {
            // Everything due is paid; all of wf.. are not yet due.
            for k in (self.wf..n).rev() {
                if m == 0 {
                    break;
                }
                let paid = self.pay_inst(k, m, date, day, true);
                self.prepaid += paid;
                m -= paid;
            }
            for k in self.wf..n {
                if m == 0 {
                    break;
                }
                let paid = self.pay_inst(k, m, date, day, false);
                self.prepaid += paid;
                m -= paid;
            }
            self.advance_pointers();
        }
        self.overpaid += m;
    }

    /// Pays up to `m` into installment k in the configured order; returns the
    /// amount used.
    fn pay_inst(
        &mut self,
        k: usize,
        m: i64,
        date: NaiveDate,
        day: i32,
        principal_only: bool,
    ) -> i64 {
        let order = self.prep.order;
        let compound = self.prep.compound;
        let mut left = m;
        for c in order {
            if left == 0 {
                break;
            }
            if principal_only && c != Component::Principal {
                continue;
            }
            let x = &mut self.insts[k];
            let slot = match c {
                Component::Principal => &mut x.p,
                Component::Interest => &mut x.i,
                _ => &mut x.f,
            };
            let pay = left.min(*slot);
            if pay == 0 {
                continue;
            }
            *slot -= pay;
            left -= pay;
            let overdue = x.status == Status::Overdue;
            match c {
                Component::Principal => {
                    self.outstanding_p -= pay;
                    if overdue {
                        self.op -= pay;
                        self.s_bal -= pay;
                    }
                }
                Component::Interest => {
                    if overdue {
                        self.oi -= pay;
                        if compound {
                            self.s_bal -= pay;
                        }
                    }
                }
                _ => {
                    if overdue {
                        self.of -= pay;
                    }
                }
            }
        }
        if self.insts[k].status != Status::Settled && self.insts[k].total() <= self.prep.tol {
            self.settle(k, date, day);
        }
        m - left
    }

    fn settle(&mut self, k: usize, date: NaiveDate, day: i32) {
        match self.insts[k].status {
            Status::Overdue => {
                let bal = self.balance(k);
                let x = &self.insts[k];
                self.s_bal -= bal;
                self.op -= x.p;
                self.oi -= x.i;
                self.of -= x.f;
                self.n_overdue = self.n_overdue.saturating_sub(1);
            }
            Status::Grace => self.grace.retain(|g| g.0 != k),
            Status::NotDue | Status::Settled => {}
        }
        self.insts[k].status = Status::Settled;
        self.n_settled += 1;
        self.log_settled(k, date, day);
    }

    fn log_settled(&mut self, k: usize, date: NaiveDate, day: i32) {
        let x = &mut self.insts[k];
        x.logged = true;
        x.settled_on = date;
        x.days_late = days_u32(i64::from(day) - i64::from(x.due));
        self.n_logged += 1;
    }

    /// End of the installment's due date.
    fn due_event(&mut self, k: usize) {
        match self.insts[k].status {
            Status::Settled => {
                if !self.insts[k].logged {
                    let x = &self.insts[k];
                    let (due, day) = (x.due_date, x.due);
                    self.log_settled(k, due, day);
                }
            }
            Status::NotDue => {
                if self.prep.grace == 0 {
                    self.make_overdue(k, 0);
                } else {
                    self.insts[k].status = Status::Grace;
                    self.grace.push((k, 0));
                }
            }
            Status::Grace | Status::Overdue => {}
        }
    }

    /// End of due_date + grace.
    fn confirm_event(&mut self, k: usize) {
        if self.insts[k].status == Status::Grace {
            let mut acc = 0;
            if let Some(g) = self.grace.iter().position(|g| g.0 == k) {
                acc = self.grace.remove(g).1;
            }
            self.make_overdue(k, acc);
        }
    }

    fn make_overdue(&mut self, k: usize, grace_acc: i128) {
        let bal = self.balance(k);
        let x = &mut self.insts[k];
        x.status = Status::Overdue;
        self.acc += grace_acc;
        self.s_bal += bal;
        self.op += x.p;
        self.oi += x.i;
        self.of += x.f;
        self.n_overdue = self.n_overdue.saturating_add(1);
    }

    fn snapshot(&mut self, as_of: NaiveDate, d: i32) -> Position {
        let dpd = self.dpd_at(d);
        self.max_dpd = self.max_dpd.max(dpd);
        // Schedule order, whatever order they settled in.
        let mut settled: Vec<Settled> = Vec::with_capacity(self.n_logged);
        if self.n_logged > 0 {
            settled.extend(self.insts.iter().filter(|x| x.logged).map(|x| Settled {
                installment_no: x.no,
                due_date: x.due_date,
                settled_on: x.settled_on,
                days_late: x.days_late,
            }));
        }
        let penalty = (self.penalty_accrued() - i128::from(self.pen_paid)).max(0);
        let penalty_interest = Decimal::try_from_i128_with_scale(penalty, 2).unwrap_or_else(|_| {
            self.bail = true;
            Decimal::ZERO
        });
        let n = self.insts.len();
        Position {
            as_of,
            dpd,
            overdue_since: if dpd > 0 {
                self.insts.get(self.front).map(|x| x.due_date)
            } else {
                None
            },
            overdue_principal: money(self.op),
            overdue_interest: money(self.oi),
            overdue_fee: money(self.of),
            penalty_interest,
            outstanding_principal: money(self.outstanding_p),
            installments_overdue: self.n_overdue,
            last_payment_date: self.last_pay,
            paid_total: money(self.paid_total),
            prepaid_amount: money(self.prepaid),
            overpaid: money(self.overpaid),
            max_dpd: self.max_dpd,
            settled,
            matured: n == 0 || self.insts[n - 1].due <= d,
            closed: self.n_settled >= n,
            warnings: self
                .prep
                .warnings
                .iter()
                .filter(|w| w.0.is_none_or(|wd| wd <= as_of))
                .map(|w| w.1.clone())
                .collect(),
        }
    }
}

/// The Decimal engine: the original implementation, kept verbatim as the
/// fallback for inputs outside the fast path (sub-fen amounts, sums near
/// the i64 range) and as the reference the fast engine is tested against.
mod decimal {
    use super::*;

    pub(super) fn positions(
        terms: &LoanTerms,
        inst: &[Installment],
        pays: &[Payment],
        as_ofs: &[NaiveDate],
        conv: &Conventions,
    ) -> Vec<Position> {
        if as_ofs.is_empty() {
            return Vec::new();
        }
        let prep = Prepared::new(terms, inst, pays, conv);

        // Visit dates ascending; skip the sort when they already are.
        let ascending = as_ofs.windows(2).all(|w| w[0] <= w[1]);
        let order: Vec<usize> = if ascending {
            (0..as_ofs.len()).collect()
        } else {
            let mut o: Vec<usize> = (0..as_ofs.len()).collect();
            o.sort_by_key(|&k| (as_ofs[k], k));
            o
        };

        let mut out: Vec<Option<Position>> = vec![None; as_ofs.len()];
        let mut mask: Vec<bool> = Vec::new();
        let mut start = 0;
        while start < order.len() {
            // Reversals in force for the first date of this group.
            let epoch = |d: NaiveDate| prep.reversals.partition_point(|r| r.0 <= d);
            let k = epoch(as_ofs[order[start]]);
            let mut end = start + 1;
            while end < order.len() && epoch(as_ofs[order[end]]) == k {
                end += 1;
            }
            let excluded: Option<&[bool]> = if k == 0 {
                None
            } else {
                mask.clear();
                mask.resize(prep.pays.len(), false);
                for r in &prep.reversals[..k] {
                    mask[r.1] = true;
                }
                Some(&mask)
            };
            let mut sweep = Sweep::new(&prep);
            sweep.run(excluded, as_ofs, &order[start..end], &mut out);
            start = end;
        }

        out.into_iter()
            .zip(as_ofs)
            .map(|(p, &d)| p.unwrap_or_else(|| Position::empty(d)))
            .collect()
    }

    // ---------------------------------------------------------------------------
    // Preparation (once per loan)
    // ---------------------------------------------------------------------------

    #[derive(Debug, Clone)]
    struct Inst {
        no: u32,
        due: NaiveDate,
        /// due + grace (None: beyond the calendar, never overdue).
        confirm: Option<NaiveDate>,
        p: Decimal,
        i: Decimal,
        f: Decimal,
        status: Status,
        /// Balance-days accrued while in grace.
        grace_acc: Decimal,
        /// Entered in the settled log.
        logged: bool,
    }

    impl Inst {
        fn total(&self) -> Decimal {
            self.p + self.i + self.f
        }
    }

    struct PayRow<'a> {
        date: NaiveDate,
        /// 0 for ignored rows.
        amount: Decimal,
        txn: &'a str,
    }

    struct Prepared<'a> {
        insts: Vec<Inst>,
        pays: Vec<PayRow<'a>>,
        /// (reversal date, index into pays), date ascending; valid ones only.
        reversals: Vec<(NaiveDate, usize)>,
        /// (applies from date; None = always, message).
        warnings: Vec<(Option<NaiveDate>, String)>,
        order: [Component; 3],
        tol: Decimal,
        grace: u32,
        /// annual_rate_pct × penalty_multiplier; penalty = balance-days × factor / 36000.
        factor: Decimal,
        compound: bool,
        penalty_first: bool,
        prepay: Prepay,
        initially_settled: usize,
    }

    impl<'a> Prepared<'a> {
        fn new(
            terms: &LoanTerms,
            inst: &[Installment],
            pays: &'a [Payment],
            conv: &Conventions,
        ) -> Prepared<'a> {
            let mut warnings: Vec<(Option<NaiveDate>, String)> = Vec::new();

            let mut order = [Component::Fee, Component::Interest, Component::Principal];
            let mut n = 0;
            for c in conv
                .order
                .iter()
                .chain([Component::Fee, Component::Interest, Component::Principal].iter())
            {
                if *c != Component::Penalty && !order[..n].contains(c) && n < 3 {
                    order[n] = *c;
                    n += 1;
                }
            }

            let tol = if conv.tolerance.is_sign_negative() {
                warnings.push((None, "negative tolerance taken as 0".to_string()));
                Decimal::ZERO
            } else {
                conv.tolerance
            };
            let rate =
                if terms.annual_rate_pct.is_sign_negative() && !terms.annual_rate_pct.is_zero() {
                    warnings.push((None, "negative annual rate taken as 0".to_string()));
                    Decimal::ZERO
                } else {
                    terms.annual_rate_pct.min(Decimal::new(1_000_000, 0))
                };
            let mult = if conv.penalty_multiplier.is_sign_negative() {
                warnings.push((None, "negative penalty multiplier taken as 0".to_string()));
                Decimal::ZERO
            } else {
                conv.penalty_multiplier.min(Decimal::new(1_000_000, 0))
            };

            let grace = conv.grace_days;
            let mut insts: Vec<Inst> = Vec::with_capacity(inst.len());
            let mut sched_principal = Decimal::ZERO;
            for r in inst {
                let label = |c: &str| format!("installment {} {c}", r.installment_no);
                let p = clamp_amount(
                    r.principal_due,
                    || label("principal_due"),
                    &mut warnings,
                    None,
                );
                let i = clamp_amount(
                    r.interest_due,
                    || label("interest_due"),
                    &mut warnings,
                    None,
                );
                let f = clamp_amount(r.fee_due, || label("fee_due"), &mut warnings, None);
                sched_principal = sched_principal.saturating_add(p);
                insts.push(Inst {
                    no: r.installment_no,
                    due: r.due_date,
                    confirm: r
                        .due_date
                        .checked_add_days(chrono::Days::new(u64::from(grace))),
                    p,
                    i,
                    f,
                    status: Status::NotDue,
                    grace_acc: Decimal::ZERO,
                    logged: false,
                });
            }
            insts.sort_by_key(|x| (x.due, x.no));
            let mut initially_settled = 0;
            for x in insts.iter_mut() {
                if x.total() <= tol {
                    x.status = Status::Settled;
                    initially_settled += 1;
                }
            }
            if inst.is_empty() {
                warnings.push((None, "empty repayment schedule".to_string()));
            } else {
                let slack = tol.max(Decimal::new(1, 2));
                if sched_principal.saturating_sub(terms.principal).abs() > slack {
                    warnings.push((
                        None,
                        format!(
                            "schedule principal {sched_principal} differs from loan principal {}",
                            terms.principal
                        ),
                    ));
                }
            }

            // Payments sorted by (date, input order); reversals kept aside.
            let mut idx: Vec<usize> = (0..pays.len()).collect();
            idx.sort_by_key(|&k| (pays[k].paid_on, k));
            let mut rows: Vec<PayRow<'a>> = Vec::with_capacity(pays.len());
            let mut revs: Vec<usize> = Vec::new();
            for &k in &idx {
                let p = &pays[k];
                if p.reverses_txn_id.is_some() {
                    revs.push(k);
                    continue;
                }
                let amount = if p.amount <= Decimal::ZERO {
                    if p.amount.is_sign_negative() && !p.amount.is_zero() {
                        warnings.push((
                            Some(p.paid_on),
                            format!(
                                "payment {} has negative amount {}; ignored",
                                p.txn_id, p.amount
                            ),
                        ));
                    }
                    Decimal::ZERO
                } else {
                    clamp_amount(
                        p.amount,
                        || format!("payment {}", p.txn_id),
                        &mut warnings,
                        Some(p.paid_on),
                    )
                };
                rows.push(PayRow {
                    date: p.paid_on,
                    amount,
                    txn: &p.txn_id,
                });
            }
            let mut reversed = vec![false; rows.len()];
            let mut reversals = Vec::new();
            for k in revs {
                let r = &pays[k];
                let target = r.reverses_txn_id.as_deref().unwrap_or("");
                match rows.iter().position(|row| row.txn == target) {
                    Some(t) if reversed[t] => warnings.push((
                        Some(r.paid_on),
                        format!(
                            "reversal {} repeats an earlier reversal of {target}; ignored",
                            r.txn_id
                        ),
                    )),
                    Some(t) => {
                        reversed[t] = true;
                        reversals.push((r.paid_on, t));
                    }
                    None => {
                        let is_rev = pays
                            .iter()
                            .any(|p| p.reverses_txn_id.is_some() && p.txn_id == target);
                        let why = if is_rev {
                            "reverses a reversal (not supported)"
                        } else {
                            "reverses unknown txn"
                        };
                        warnings.push((
                            Some(r.paid_on),
                            format!("reversal {} {why} {target}; ignored", r.txn_id),
                        ));
                    }
                }
            }

            Prepared {
                insts,
                pays: rows,
                reversals,
                warnings,
                order,
                tol,
                grace,
                factor: rate * mult,
                compound: conv.compound_interest,
                penalty_first: conv.penalty_first,
                prepay: conv.prepay,
                initially_settled,
            }
        }
    }

    // ---------------------------------------------------------------------------
    // The sweep (once per reversal epoch)
    // ---------------------------------------------------------------------------

    struct Sweep<'p, 'a> {
        prep: &'p Prepared<'a>,
        insts: Vec<Inst>,
        /// First installment with remainder > tolerance (drives DPD).
        front: usize,
        /// First installment with remainder > 0 (drives the waterfall).
        wf: usize,
        /// Penalty balance over Overdue installments.
        s_bal: Decimal,
        /// Installments in grace (few).
        grace: Vec<usize>,
        /// Balance-days accrued over confirmed-overdue installments.
        acc: Decimal,
        last_t: Option<NaiveDate>,
        op: Decimal,
        oi: Decimal,
        of: Decimal,
        n_overdue: u32,
        outstanding_p: Decimal,
        pen_paid: Decimal,
        paid_total: Decimal,
        prepaid: Decimal,
        overpaid: Decimal,
        last_pay: Option<NaiveDate>,
        max_dpd: u32,
        /// (schedule index, entry).
        log: Vec<(usize, Settled)>,
        log_sorted: bool,
        n_settled: usize,
    }

    impl<'p, 'a> Sweep<'p, 'a> {
        fn new(prep: &'p Prepared<'a>) -> Self {
            let outstanding_p = prep
                .insts
                .iter()
                .fold(Decimal::ZERO, |a, x| a.saturating_add(x.p));
            Sweep {
                prep,
                insts: prep.insts.clone(),
                front: 0,
                wf: 0,
                s_bal: Decimal::ZERO,
                grace: Vec::new(),
                acc: Decimal::ZERO,
                last_t: None,
                op: Decimal::ZERO,
                oi: Decimal::ZERO,
                of: Decimal::ZERO,
                n_overdue: 0,
                outstanding_p,
                pen_paid: Decimal::ZERO,
                paid_total: Decimal::ZERO,
                prepaid: Decimal::ZERO,
                overpaid: Decimal::ZERO,
                last_pay: None,
                max_dpd: 0,
                log: Vec::new(),
                log_sorted: true,
                n_settled: prep.initially_settled,
            }
        }

        fn run(
            &mut self,
            excluded: Option<&[bool]>,
            as_ofs: &[NaiveDate],
            order: &[usize],
            out: &mut [Option<Position>],
        ) {
            self.advance_pointers();
            let prep = self.prep;
            let n = self.insts.len();
            let pays = &prep.pays;
            let use_confirm = prep.grace > 0;
            let (mut pi, mut di, mut ci, mut ai) = (0usize, 0usize, 0usize, 0usize);
            let skip = |k: usize| excluded.is_some_and(|m| m[k]) || pays[k].amount.is_zero();
            while ai < order.len() {
                while pi < pays.len() && skip(pi) {
                    pi += 1;
                }
                let mut x = as_ofs[order[ai]];
                if pi < pays.len() {
                    x = x.min(pays[pi].date);
                }
                if di < n {
                    x = x.min(self.insts[di].due);
                }
                if use_confirm && ci < n {
                    if let Some(c) = self.insts[ci].confirm {
                        x = x.min(c);
                    }
                }
                self.accrue_to(x);
                if pi < pays.len() && pays[pi].date == x {
                    // Worst moment of the day: just before its payments.
                    let d = self.dpd_at(x);
                    self.max_dpd = self.max_dpd.max(d);
                    while pi < pays.len() && pays[pi].date == x {
                        if !skip(pi) {
                            self.apply(x, pays[pi].amount);
                        }
                        pi += 1;
                    }
                }
                while ai < order.len() && as_ofs[order[ai]] == x {
                    out[order[ai]] = Some(self.snapshot(x));
                    ai += 1;
                }
                while di < n && self.insts[di].due == x {
                    self.due_event(di);
                    di += 1;
                }
                if use_confirm {
                    while ci < n && self.insts[ci].confirm == Some(x) {
                        self.confirm_event(ci);
                        ci += 1;
                    }
                }
            }
        }

        fn balance(&self, k: usize) -> Decimal {
            let x = &self.insts[k];
            if self.prep.compound {
                x.p + x.i
            } else {
                x.p
            }
        }

        /// Accrues penalty for days last_t+1 ..= x on the balances at the end of last_t.
        fn accrue_to(&mut self, x: NaiveDate) {
            if let Some(lt) = self.last_t {
                let days = days_between(lt, x);
                if days <= 0 {
                    return;
                }
                let d = Decimal::from(days);
                if !self.s_bal.is_zero() {
                    self.acc = self.acc.saturating_add(self.s_bal.saturating_mul(d));
                }
                for gi in 0..self.grace.len() {
                    let k = self.grace[gi];
                    let add = self.balance(k).saturating_mul(d);
                    let g = &mut self.insts[k].grace_acc;
                    *g = g.saturating_add(add);
                }
            }
            self.last_t = Some(x);
        }

        fn penalty_accrued(&self) -> Decimal {
            if self.acc.is_zero() || self.prep.factor.is_zero() {
                return Decimal::ZERO;
            }
            round_fen(self.acc.saturating_mul(self.prep.factor) / Decimal::new(36000, 0))
        }

        fn dpd_at(&self, d: NaiveDate) -> u32 {
            match self.insts.get(self.front) {
                Some(x) => {
                    let days = days_between(x.due, d);
                    if days > i64::from(self.prep.grace) {
                        days_u32(days)
                    } else {
                        0
                    }
                }
                None => 0,
            }
        }

        fn advance_pointers(&mut self) {
            while self.wf < self.insts.len() && self.insts[self.wf].total().is_zero() {
                self.wf += 1;
            }
            while self.front < self.insts.len() && self.insts[self.front].total() <= self.prep.tol {
                self.front += 1;
            }
        }

        fn apply(&mut self, date: NaiveDate, amount: Decimal) {
            let prep = self.prep;
            self.paid_total = self.paid_total.saturating_add(amount);
            self.last_pay = Some(date);
            let mut m = amount;
            if prep.penalty_first {
                let owed = (self.penalty_accrued() - self.pen_paid).max(Decimal::ZERO);
                let x = m.min(owed);
                self.pen_paid += x;
                m -= x;
            }
            let n = self.insts.len();
            loop {
                self.advance_pointers();
                if m.is_zero() || self.wf >= n {
                    break;
                }
                let k = self.wf;
                let not_due = self.insts[k].due > date;
                if not_due && prep.prepay == Prepay::ReducePrincipalLast {
                    break;
                }
                let paid = self.pay_inst(k, m, date, false);
                if not_due {
                    self.prepaid += paid;
                }
                m -= paid;
                if paid.is_zero() {
                    // Cannot happen (remainder > 0 and m > 0); guard against loops.
                    break;
                }
            }
            if !m.is_zero() && prep.prepay == Prepay::ReducePrincipalLast {
                // Everything due is paid; all of wf.. are not yet due.
                for k in (self.wf..n).rev() {
                    if m.is_zero() {
                        break;
                    }
                    let paid = self.pay_inst(k, m, date, true);
                    self.prepaid += paid;
                    m -= paid;
                }
                for k in self.wf..n {
                    if m.is_zero() {
                        break;
                    }
                    let paid = self.pay_inst(k, m, date, false);
                    self.prepaid += paid;
                    m -= paid;
                }
                self.advance_pointers();
            }
            self.overpaid += m;
        }

        /// Pays up to `m` into installment k in the configured order; returns the
        /// amount used.
        fn pay_inst(
            &mut self,
            k: usize,
            m: Decimal,
            date: NaiveDate,
            principal_only: bool,
        ) -> Decimal {
            let order = self.prep.order;
            let compound = self.prep.compound;
            let mut left = m;
            for c in order {
                if left.is_zero() {
                    break;
                }
                if principal_only && c != Component::Principal {
                    continue;
                }
                let x = &mut self.insts[k];
                let slot = match c {
                    Component::Principal => &mut x.p,
                    Component::Interest => &mut x.i,
                    _ => &mut x.f,
                };
                let pay = left.min(*slot);
                if pay.is_zero() {
                    continue;
                }
                *slot -= pay;
                left -= pay;
                let overdue = x.status == Status::Overdue;
                match c {
                    Component::Principal => {
                        self.outstanding_p -= pay;
                        if overdue {
                            self.op -= pay;
                            self.s_bal -= pay;
                        }
                    }
                    Component::Interest => {
                        if overdue {
                            self.oi -= pay;
                            if compound {
                                self.s_bal -= pay;
                            }
                        }
                    }
                    _ => {
                        if overdue {
                            self.of -= pay;
                        }
                    }
                }
            }
            if self.insts[k].status != Status::Settled && self.insts[k].total() <= self.prep.tol {
                self.settle(k, date);
            }
            m - left
        }

        fn settle(&mut self, k: usize, date: NaiveDate) {
            match self.insts[k].status {
                Status::Overdue => {
                    let bal = self.balance(k);
                    let x = &self.insts[k];
                    self.s_bal -= bal;
                    self.op -= x.p;
                    self.oi -= x.i;
                    self.of -= x.f;
                    self.n_overdue = self.n_overdue.saturating_sub(1);
                }
                Status::Grace => self.grace.retain(|&g| g != k),
                Status::NotDue | Status::Settled => {}
            }
            self.insts[k].status = Status::Settled;
            self.n_settled += 1;
            self.log_settled(k, date);
        }

        fn log_settled(&mut self, k: usize, date: NaiveDate) {
            let x = &mut self.insts[k];
            x.logged = true;
            let entry = Settled {
                installment_no: x.no,
                due_date: x.due,
                settled_on: date,
                days_late: days_u32(days_between(x.due, date)),
            };
            if let Some(last) = self.log.last() {
                if last.0 > k {
                    self.log_sorted = false;
                }
            }
            self.log.push((k, entry));
        }

        /// End of the installment's due date.
        fn due_event(&mut self, k: usize) {
            match self.insts[k].status {
                Status::Settled => {
                    if !self.insts[k].logged {
                        let due = self.insts[k].due;
                        self.log_settled(k, due);
                    }
                }
                Status::NotDue => {
                    if self.prep.grace == 0 {
                        self.make_overdue(k);
                    } else {
                        self.insts[k].status = Status::Grace;
                        self.grace.push(k);
                    }
                }
                Status::Grace | Status::Overdue => {}
            }
        }

        /// End of due_date + grace.
        fn confirm_event(&mut self, k: usize) {
            if self.insts[k].status == Status::Grace {
                self.grace.retain(|&g| g != k);
                self.make_overdue(k);
            }
        }

        fn make_overdue(&mut self, k: usize) {
            let bal = self.balance(k);
            let x = &mut self.insts[k];
            x.status = Status::Overdue;
            self.acc = self.acc.saturating_add(x.grace_acc);
            x.grace_acc = Decimal::ZERO;
            self.s_bal = self.s_bal.saturating_add(bal);
            self.op = self.op.saturating_add(x.p);
            self.oi = self.oi.saturating_add(x.i);
            self.of = self.of.saturating_add(x.f);
            self.n_overdue = self.n_overdue.saturating_add(1);
        }

        fn snapshot(&mut self, d: NaiveDate) -> Position {
            let dpd = self.dpd_at(d);
            self.max_dpd = self.max_dpd.max(dpd);
            let mut settled: Vec<Settled> = Vec::with_capacity(self.log.len());
            if self.log_sorted {
                settled.extend(self.log.iter().map(|e| e.1.clone()));
            } else {
                let mut tmp: Vec<&(usize, Settled)> = self.log.iter().collect();
                tmp.sort_by_key(|e| e.0);
                settled.extend(tmp.into_iter().map(|e| e.1.clone()));
            }
            let n = self.insts.len();
            Position {
                as_of: d,
                dpd,
                overdue_since: if dpd > 0 {
                    self.insts.get(self.front).map(|x| x.due)
                } else {
                    None
                },
                overdue_principal: self.op,
                overdue_interest: self.oi,
                overdue_fee: self.of,
                penalty_interest: (self.penalty_accrued() - self.pen_paid).max(Decimal::ZERO),
                outstanding_principal: self.outstanding_p,
                installments_overdue: self.n_overdue,
                last_payment_date: self.last_pay,
                paid_total: self.paid_total,
                prepaid_amount: self.prepaid,
                overpaid: self.overpaid,
                max_dpd: self.max_dpd,
                settled,
                matured: n == 0 || self.insts[n - 1].due <= d,
                closed: self.n_settled >= n,
                warnings: self
                    .prep
                    .warnings
                    .iter()
                    .filter(|w| w.0.is_none_or(|wd| wd <= d))
                    .map(|w| w.1.clone())
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::{d, m};
    fn terms(principal: &str) -> LoanTerms {
        LoanTerms {
            annual_rate_pct: m("4.9"),
            principal: m(principal),
        }
    }
    fn inst(no: u32, due: &str, p: &str, i: &str) -> Installment {
        Installment {
            installment_no: no,
            due_date: d(due),
            principal_due: m(p),
            interest_due: m(i),
            fee_due: Decimal::ZERO,
        }
    }
    fn pay(id: &str, on: &str, amt: &str) -> Payment {
        Payment {
            txn_id: id.to_string(),
            paid_on: d(on),
            amount: m(amt),
            reverses_txn_id: None,
        }
    }
    fn rev(id: &str, on: &str, target: &str) -> Payment {
        Payment {
            txn_id: id.to_string(),
            paid_on: d(on),
            amount: m("-999"),
            reverses_txn_id: Some(target.to_string()),
        }
    }
    fn pos(i: &[Installment], p: &[Payment], as_of: &str) -> Position {
        pos_c(i, p, as_of, &Conventions::default())
    }
    fn pos_c(i: &[Installment], p: &[Payment], as_of: &str, c: &Conventions) -> Position {
        let t = LoanTerms {
            annual_rate_pct: m("4.9"),
            principal: i.iter().map(|x| x.principal_due).sum(),
        };
        position(&t, i, p, d(as_of), c)
    }

    /// Three monthly installments of 1000 principal + 50 interest.
    fn three() -> Vec<Installment> {
        vec![
            inst(1, "2024-01-15", "1000", "50"),
            inst(2, "2024-02-15", "1000", "50"),
            inst(3, "2024-03-15", "1000", "50"),
        ]
    }

    #[test]
    fn dpd_boundaries_single_installment() {
        let sched = [inst(1, "2024-01-15", "1000", "0")];
        // (as_of, dpd, overdue_since)
        let cases: &[(&str, u32, Option<&str>)] = &[
            ("2024-01-14", 0, None),
            ("2024-01-15", 0, None),               // due today
            ("2024-01-16", 1, Some("2024-01-15")), // due yesterday
            ("2024-04-14", 90, Some("2024-01-15")),
            ("2024-04-15", 91, Some("2024-01-15")),
        ];
        for &(as_of, dpd, since) in cases {
            let p = pos(&sched, &[], as_of);
            assert_eq!(p.dpd, dpd, "as_of {as_of}");
            assert_eq!(p.max_dpd, dpd, "as_of {as_of}");
            assert_eq!(p.overdue_since, since.map(d), "as_of {as_of}");
            let overdue = if dpd > 0 { m("1000") } else { Decimal::ZERO };
            assert_eq!(p.overdue_principal, overdue, "as_of {as_of}");
            assert_eq!(p.installments_overdue, u32::from(dpd > 0));
            assert_eq!(p.outstanding_principal, m("1000"));
            assert!(p.matured == (as_of >= "2024-01-15"));
            assert!(!p.closed);
        }
    }

    #[test]
    fn paid_on_due_date_and_a_day_late() {
        let sched = [inst(1, "2024-01-15", "1000", "0")];
        // (paid_on, as_of, dpd, days_late, max_dpd)
        let cases: &[(&str, &str, u32, u32, u32)] = &[
            ("2024-01-15", "2024-01-15", 0, 0, 0),
            ("2024-01-15", "2024-03-01", 0, 0, 0),
            ("2024-01-16", "2024-01-16", 0, 1, 1),
            ("2024-01-16", "2024-02-01", 0, 1, 1),
            ("2024-01-10", "2024-02-01", 0, 0, 0),
        ];
        for &(paid, as_of, dpd, late, max) in cases {
            let p = pos(&sched, &[pay("t1", paid, "1000")], as_of);
            assert_eq!(p.dpd, dpd, "{paid} {as_of}");
            assert_eq!(p.max_dpd, max, "{paid} {as_of}");
            assert_eq!(p.settled.len(), 1);
            assert_eq!(p.settled[0].settled_on, d(paid));
            assert_eq!(p.settled[0].days_late, late);
            assert!(p.closed);
            assert_eq!(p.outstanding_principal, Decimal::ZERO);
            assert_eq!(p.last_payment_date, Some(d(paid)));
        }
        // Before the late payment: DPD 0 on the due date, not settled.
        let p = pos(&sched, &[pay("t1", "2024-01-16", "1000")], "2024-01-15");
        assert!(p.settled.is_empty());
        assert_eq!(p.paid_total, Decimal::ZERO);
    }

    #[test]
    fn partial_payment_keeps_dpd_running_from_original_due_date() {
        let sched = three();
        let p = pos(&sched, &[pay("t1", "2024-01-20", "1000")], "2024-02-10");
        assert_eq!(p.dpd, 26);
        assert_eq!(p.overdue_since, Some(d("2024-01-15")));
        assert_eq!(p.overdue_interest, Decimal::ZERO);
        assert_eq!(p.overdue_principal, m("50"));
        assert_eq!(p.outstanding_principal, m("2050"));
        // After the 2nd due date the 1st is still the oldest: DPD from Jan 15.
        let p = pos(&sched, &[pay("t1", "2024-01-20", "1000")], "2024-02-20");
        assert_eq!(p.dpd, 36);
        assert_eq!(p.installments_overdue, 2);
        assert_eq!(p.overdue_principal, m("1050"));
        assert_eq!(p.overdue_interest, m("50"));
    }

    #[test]
    fn component_order() {
        let sched = [inst(1, "2024-01-15", "1000", "50")];
        let custom = Conventions {
            order: vec![Component::Principal, Component::Interest],
            ..Conventions::default()
        };
        let pen_ignored = Conventions {
            order: vec![Component::Penalty, Component::Interest],
            ..Conventions::default()
        };
        // (conventions, amount, overdue principal, overdue interest)
        let def = Conventions::default();
        let cases: Vec<(&Conventions, &str, &str, &str)> = vec![
            (&def, "30", "1000", "20"),
            (&def, "60", "990", "0"),
            (&custom, "60", "940", "50"),
            (&custom, "1010", "0", "40"),
            (&pen_ignored, "60", "990", "0"),
        ];
        for (c, amt, op, oi) in cases {
            let p = pos_c(&sched, &[pay("t", "2024-01-10", amt)], "2024-02-01", c);
            assert_eq!(p.overdue_principal, m(op), "{amt} {:?}", c.order);
            assert_eq!(p.overdue_interest, m(oi), "{amt} {:?}", c.order);
            assert_eq!(p.dpd, 17);
        }
        // Fee comes first by default.
        let mut s = sched.to_vec();
        s[0].fee_due = m("5");
        let p = pos(&s, &[pay("t", "2024-01-10", "20")], "2024-02-01");
        assert_eq!(p.overdue_fee, Decimal::ZERO);
        assert_eq!(p.overdue_interest, m("35"));
        assert_eq!(p.overdue_principal, m("1000"));
    }

    #[test]
    fn weekend_has_no_business_day_shift() {
        // 2024-06-01 is a Saturday; Monday is 2024-06-03.
        let sched = [inst(1, "2024-06-01", "100", "0")];
        let p = pos(&sched, &[], "2024-06-03");
        assert_eq!(p.dpd, 2);
        let p = pos(&sched, &[pay("t", "2024-06-03", "100")], "2024-06-03");
        assert_eq!(p.dpd, 0);
        assert_eq!(p.settled[0].days_late, 2);
        assert_eq!(p.max_dpd, 2);
        // Paid on the Saturday itself: on time.
        let p = pos(&sched, &[pay("t", "2024-06-01", "100")], "2024-06-10");
        assert_eq!(p.settled[0].days_late, 0);
        assert_eq!(p.max_dpd, 0);
    }

    #[test]
    fn prepayment_then_default() {
        let sched = three();
        // Pays installments 1 and 2 early, then nothing.
        let p = pos(&sched, &[pay("t", "2024-01-05", "2100")], "2024-03-20");
        assert_eq!(p.dpd, 5);
        assert_eq!(p.overdue_since, Some(d("2024-03-15")));
        assert_eq!(p.prepaid_amount, m("2100"));
        assert_eq!(p.overpaid, Decimal::ZERO);
        assert_eq!(p.installments_overdue, 1);
        assert_eq!(p.settled.len(), 2);
        assert_eq!(p.settled[1].settled_on, d("2024-01-05"));
        assert_eq!(p.settled[1].days_late, 0);
        assert_eq!(p.max_dpd, 5);
        // A payment on the due date pays that installment (not prepaid),
        // the rest is prepaid.
        let p = pos(&sched, &[pay("t", "2024-01-15", "1500")], "2024-01-15");
        assert_eq!(p.prepaid_amount, m("450"));
        // Beyond the whole schedule: overpaid.
        let p = pos(&sched, &[pay("t", "2024-01-15", "3200")], "2024-04-01");
        assert_eq!(p.overpaid, m("50"));
        assert_eq!(p.prepaid_amount, m("2100"));
        assert!(p.closed && p.matured);
        assert_eq!(p.paid_total, m("3200"));
    }

    #[test]
    fn prepay_reduce_principal_last() {
        let sched = three();
        let c = Conventions {
            prepay: Prepay::ReducePrincipalLast,
            ..Conventions::default()
        };
        // 1050 pays inst 1, 1200 more: 1000 principal of #3, 200 principal of #2.
        let p = pos_c(&sched, &[pay("t", "2024-01-15", "2250")], "2024-01-15", &c);
        assert_eq!(p.prepaid_amount, m("1200"));
        assert_eq!(p.outstanding_principal, m("800"));
        assert_eq!(p.settled.len(), 1);
        // #3 still owes interest 50: March is overdue if unpaid.
        let p = pos_c(&sched, &[pay("t", "2024-01-15", "2250")], "2024-03-20", &c);
        assert_eq!(p.dpd, 34);
        assert_eq!(p.overdue_principal, m("800"));
        assert_eq!(p.overdue_interest, m("100"));
        // All principal, then interest oldest first.
        let p = pos_c(&sched, &[pay("t", "2024-01-15", "3080")], "2024-01-15", &c);
        assert_eq!(p.outstanding_principal, Decimal::ZERO);
        assert_eq!(p.overpaid, Decimal::ZERO);
        assert_eq!(p.settled.len(), 1);
        let p = pos_c(&sched, &[pay("t", "2024-01-15", "3160")], "2024-01-15", &c);
        assert_eq!(p.overpaid, m("10"));
        assert!(p.closed);
        // Settled out of order (#3 before #2), reported in schedule order.
        let mut s3 = three();
        s3[2].interest_due = Decimal::ZERO;
        let p = pos_c(&s3, &[pay("t", "2024-01-15", "2050")], "2024-02-20", &c);
        let nos: Vec<u32> = p.settled.iter().map(|s| s.installment_no).collect();
        assert_eq!(nos, vec![1, 3]);
        assert_eq!(p.dpd, 5);
        assert_eq!(p.overdue_principal, m("1000"));
        let p = pos_c(
            &sched,
            &[pay("t", "2024-01-15", "2250"), pay("u", "2024-01-20", "50")],
            "2024-01-20",
            &c,
        );
        // The 50 is beyond what is due: principal of #2 (last with principal).
        assert_eq!(p.outstanding_principal, m("750"));
    }

    #[test]
    fn reversals() {
        let sched = [inst(1, "2024-01-15", "1000", "0")];
        let pays = [
            pay("t1", "2024-01-15", "1000"),
            rev("r1", "2024-01-25", "t1"),
        ];
        // (as_of, dpd, max_dpd, paid_total)
        let cases: &[(&str, u32, u32, &str)] = &[
            ("2024-01-20", 0, 0, "1000"),
            ("2024-01-24", 0, 0, "1000"),
            ("2024-01-25", 10, 10, "0"),
            ("2024-02-14", 30, 30, "0"),
        ];
        for &(as_of, dpd, max, paid) in cases {
            let p = pos(&sched, &pays, as_of);
            assert_eq!(p.dpd, dpd, "{as_of}");
            assert_eq!(p.max_dpd, max, "{as_of}");
            assert_eq!(p.paid_total, m(paid), "{as_of}");
            assert!(p.warnings.is_empty());
        }
        // Re-paid after the reversal.
        let mut pays2 = pays.to_vec();
        pays2.push(pay("t2", "2024-01-28", "1000"));
        let p = pos(&sched, &pays2, "2024-02-14");
        assert_eq!((p.dpd, p.max_dpd), (0, 13));
        assert_eq!(p.settled[0].days_late, 13);
        // Unknown txn, reversal of reversal, duplicate: warnings, no panic.
        let bad = [
            pay("t1", "2024-01-15", "1000"),
            rev("r1", "2024-01-20", "nope"),
            rev("r2", "2024-01-21", "r1"),
            rev("r3", "2024-01-22", "t1"),
            rev("r4", "2024-01-23", "t1"),
        ];
        let p = pos(&sched, &bad, "2024-01-21");
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("unknown txn nope"));
        assert_eq!(p.dpd, 0);
        let p = pos(&sched, &bad, "2024-01-23");
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
        assert_eq!(p.dpd, 8);
    }

    #[test]
    fn month_end_and_leap_year() {
        // (due, as_of, dpd)
        let cases: &[(&str, &str, u32)] = &[
            ("2024-01-31", "2024-01-31", 0),
            ("2024-01-31", "2024-02-01", 1),
            ("2023-02-28", "2023-03-01", 1),
            ("2024-02-28", "2024-03-01", 2),
            ("2024-02-29", "2024-02-29", 0),
            ("2024-02-29", "2024-03-01", 1),
            ("2024-01-31", "2024-03-01", 30),
            ("2023-01-31", "2023-03-01", 29),
            ("2023-12-31", "2024-12-31", 366),
        ];
        for &(due, as_of, dpd) in cases {
            let p = pos(&[inst(1, due, "10", "0")], &[], as_of);
            assert_eq!(p.dpd, dpd, "{due} {as_of}");
        }
    }

    #[test]
    fn grace_days() {
        let sched = [inst(1, "2024-01-15", "1000", "0")];
        let c = Conventions {
            grace_days: 3,
            ..Conventions::default()
        };
        // (payment, as_of, dpd, max_dpd, penalty is zero)
        let cases: &[(Option<&str>, &str, u32, u32, bool)] = &[
            (None, "2024-01-16", 0, 0, true),
            (None, "2024-01-18", 0, 0, true),
            (None, "2024-01-19", 4, 4, false),
            (Some("2024-01-18"), "2024-02-01", 0, 0, true),
            (Some("2024-01-19"), "2024-02-01", 0, 4, false),
        ];
        for &(paid, as_of, dpd, max, zero_pen) in cases {
            let pays: Vec<Payment> = paid.map(|p| pay("t", p, "1000")).into_iter().collect();
            let p = position(&terms("1000"), &sched, &pays, d(as_of), &c);
            assert_eq!(p.dpd, dpd, "{paid:?} {as_of}");
            assert_eq!(p.max_dpd, max, "{paid:?} {as_of}");
            assert_eq!(p.penalty_interest.is_zero(), zero_pen, "{paid:?} {as_of}");
            assert_eq!(p.installments_overdue, u32::from(dpd > 0));
        }
        // Penalty after grace counts from the due date: 4 days on 1000.
        let p = position(&terms("1000"), &sched, &[], d("2024-01-19"), &c);
        // 1000 * 4.9 * 1.5 * 4 / 36000 = 0.81666.. -> 0.82
        assert_eq!(p.penalty_interest, m("0.82"));
    }

    #[test]
    fn tolerance() {
        let sched = [inst(1, "2024-01-15", "1000", "50")];
        let c = Conventions {
            tolerance: m("0.50"),
            ..Conventions::default()
        };
        // (paid, dpd, closed)
        let cases: &[(&str, u32, bool)] = &[
            ("1049.50", 0, true),
            ("1049.49", 17, false),
            ("1050", 0, true),
        ];
        for &(amt, dpd, closed) in cases {
            let p = pos_c(&sched, &[pay("t", "2024-01-15", amt)], "2024-02-01", &c);
            assert_eq!(p.dpd, dpd, "{amt}");
            assert_eq!(p.closed, closed, "{amt}");
            assert_eq!(p.settled.len(), usize::from(closed));
            if dpd == 0 {
                assert_eq!(p.overdue_principal, Decimal::ZERO);
                assert_eq!(p.penalty_interest, Decimal::ZERO);
            }
        }
        // The remainder is still outstanding principal.
        let p = pos_c(
            &sched,
            &[pay("t", "2024-01-15", "1049.50")],
            "2024-02-01",
            &c,
        );
        assert_eq!(p.outstanding_principal, m("0.50"));
    }

    #[test]
    fn penalty_interest() {
        let t = terms("10000");
        let sched = [inst(1, "2024-01-15", "10000", "0")];
        let c = Conventions::default();
        // 10000 * 0.049 * 1.5 * 30 / 360 = 61.25
        let p = position(&t, &sched, &[], d("2024-02-14"), &c);
        assert_eq!(p.dpd, 30);
        assert_eq!(p.penalty_interest, m("61.25"));
        // Partial payment on day 10 halves the balance for days 11..30:
        // (10000*10 + 5000*20) * 4.9*1.5/36000 = 40.8333 -> 40.83
        let p = position(
            &t,
            &sched,
            &[pay("a", "2024-01-25", "5000")],
            d("2024-02-14"),
            &c,
        );
        assert_eq!(p.penalty_interest, m("40.83"));
        // Compound on interest: 10000 principal + 200 interest.
        let s2 = [inst(1, "2024-01-15", "10000", "200")];
        let p = position(&t, &s2, &[], d("2024-02-14"), &c);
        // 10200 * 30 * 7.35 / 36000 = 62.475 -> 62.48 (half up)
        assert_eq!(p.penalty_interest, m("62.48"));
        let nc = Conventions {
            compound_interest: false,
            ..c.clone()
        };
        let p = position(&t, &s2, &[], d("2024-02-14"), &nc);
        assert_eq!(p.penalty_interest, m("61.25"));
        // Penalty stops when paid; a day-late payment accrues one day.
        let p = position(
            &t,
            &sched,
            &[pay("a", "2024-01-16", "10000")],
            d("2024-03-01"),
            &c,
        );
        // 10000 * 7.35 / 36000 = 2.041666 -> 2.04
        assert_eq!(p.penalty_interest, m("2.04"));
        // Never before or on the due date.
        let p = position(&t, &sched, &[], d("2024-01-15"), &c);
        assert_eq!(p.penalty_interest, Decimal::ZERO);
    }

    #[test]
    fn penalty_first_moves_dpd() {
        let t = terms("10000");
        let sched = [inst(1, "2024-01-15", "10000", "0")];
        let pays = [pay("a", "2024-02-14", "10000")];
        let p = position(&t, &sched, &pays, d("2024-02-20"), &Conventions::default());
        assert_eq!(p.dpd, 0);
        assert_eq!(p.penalty_interest, m("61.25"));
        let c = Conventions {
            penalty_first: true,
            ..Conventions::default()
        };
        let p = position(&t, &sched, &pays, d("2024-02-20"), &c);
        assert_eq!(p.dpd, 36);
        assert_eq!(p.overdue_principal, m("61.25"));
        // Penalty on 61.25 for 6 days: 61.25*6*7.35/36000 = 0.0750 -> 0.08
        assert_eq!(p.penalty_interest, m("0.08"));
        let mut pays2 = pays.to_vec();
        pays2.push(pay("b", "2024-02-20", "61.33"));
        let p = position(&t, &sched, &pays2, d("2024-02-20"), &c);
        // 0.08 of penalty first, then 61.25 principal.
        assert_eq!(p.dpd, 0);
        assert!(p.closed);
        assert_eq!(p.penalty_interest, Decimal::ZERO);
    }

    #[test]
    fn real_data_bullet() {
        let sched = [inst(1, "2016-10-07", "1000", "0")];
        let p = pos(&sched, &[pay("x", "2016-10-10", "1000")], "2016-12-08");
        assert_eq!(p.settled[0].days_late, 3);
        assert_eq!(p.dpd, 0);
        assert_eq!(p.max_dpd, 3);
        let p = pos(&sched, &[], "2016-12-08");
        assert_eq!(p.dpd, 62);
    }

    #[test]
    fn unsorted_inputs() {
        let mut sched = three();
        sched.reverse();
        let pays = [
            pay("b", "2024-02-15", "1050"),
            pay("a", "2024-01-15", "1050"),
        ];
        let p = pos(&sched, &pays, "2024-03-20");
        assert_eq!(p.dpd, 5);
        assert_eq!(p.overdue_since, Some(d("2024-03-15")));
        let nos: Vec<u32> = p.settled.iter().map(|s| s.installment_no).collect();
        assert_eq!(nos, vec![1, 2]);
    }

    #[test]
    fn odd_input_never_panics() {
        let c = Conventions {
            grace_days: u32::MAX,
            tolerance: m("-1"),
            penalty_multiplier: m("-2"),
            order: vec![],
            ..Conventions::default()
        };
        let big = Decimal::MAX;
        let sched = [
            Installment {
                installment_no: 1,
                due_date: NaiveDate::MIN,
                principal_due: big,
                interest_due: m("-5"),
                fee_due: big,
            },
            Installment {
                installment_no: 2,
                due_date: NaiveDate::MAX,
                principal_due: big,
                interest_due: big,
                fee_due: big,
            },
        ];
        let pays = [
            pay("a", "2024-01-01", "-5"),
            Payment {
                txn_id: "b".into(),
                paid_on: NaiveDate::MAX,
                amount: big,
                reverses_txn_id: None,
            },
        ];
        let t = LoanTerms {
            annual_rate_pct: big,
            principal: Decimal::MIN,
        };
        for conv in [&c, &Conventions::default()] {
            for as_of in [NaiveDate::MIN, d("2024-01-01"), NaiveDate::MAX] {
                let p = position(&t, &sched, &pays, as_of, conv);
                assert!(!p.warnings.is_empty());
            }
        }
        let empty = position(&t, &[], &[], d("2024-01-01"), &Conventions::default());
        assert!(empty.closed && empty.matured && empty.dpd == 0);
        assert!(positions(&t, &sched, &pays, &[], &c).is_empty());
    }

    /// Deterministic scenarios: positions() over many dates equals
    /// position() for each date, in any date order.
    #[test]
    fn positions_equals_position() {
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let base = d("2023-01-31");
        for scenario in 0..300 {
            let n_inst = 1 + rnd(8) as u32;
            let sched: Vec<Installment> = (1..=n_inst)
                .map(|k| Installment {
                    installment_no: k,
                    due_date: base.checked_add_months(chrono::Months::new(k - 1)).unwrap(),
                    principal_due: Decimal::new(100_000 + rnd(50_000) as i64, 2),
                    interest_due: Decimal::new(rnd(10_000) as i64, 2),
                    fee_due: Decimal::new(if rnd(4) == 0 { 500 } else { 0 }, 2),
                })
                .collect();
            let mut pays = Vec::new();
            for k in 0..rnd(10) {
                let on = base + chrono::Days::new(rnd(300));
                if k > 0 && rnd(5) == 0 {
                    let target = format!("t{}", rnd(k));
                    let on2 = base + chrono::Days::new(rnd(300));
                    pays.push(rev(&format!("r{k}"), &on2.to_string(), &target));
                } else {
                    let amt = Decimal::new(rnd(200_000) as i64, 2);
                    pays.push(pay(&format!("t{k}"), &on.to_string(), &amt.to_string()));
                }
            }
            let conv = Conventions {
                grace_days: [0, 0, 3, 15][rnd(4) as usize],
                tolerance: [Decimal::ZERO, m("0.50"), m("10")][rnd(3) as usize],
                penalty_first: rnd(3) == 0,
                compound_interest: rnd(2) == 0,
                prepay: if rnd(3) == 0 {
                    Prepay::ReducePrincipalLast
                } else {
                    Prepay::NextInstallments
                },
                order: if rnd(2) == 0 {
                    vec![Component::Principal, Component::Interest, Component::Fee]
                } else {
                    Conventions::default().order
                },
                ..Conventions::default()
            };
            let mut dates: Vec<NaiveDate> = (0..12)
                .map(|_| base + chrono::Days::new(rnd(400)))
                .collect();
            if scenario % 2 == 0 {
                dates.sort();
            }
            let t = terms("0");
            let all = positions(&t, &sched, &pays, &dates, &conv);
            assert_eq!(all.len(), dates.len());
            for (p, &dt) in all.iter().zip(&dates) {
                let single = position(&t, &sched, &pays, dt, &conv);
                assert_eq!(p, &single, "scenario {scenario} as_of {dt}");
            }
            // max_dpd is the worst daily DPD so far (without reversals,
            // which rewrite history).
            // A payment settling the oldest installment late counts its
            // days_late (the DPD just before that payment).
            if pays.iter().all(|p| p.reverses_txn_id.is_none()) {
                let last = *dates.iter().max().unwrap();
                let p = position(&t, &sched, &pays, last, &conv);
                let eod = (0..=days_between(base, last))
                    .map(|k| {
                        position(&t, &sched, &pays, base + chrono::Days::new(k as u64), &conv).dpd
                    })
                    .max()
                    .unwrap();
                let late = p
                    .settled
                    .iter()
                    .map(|s| s.days_late)
                    .filter(|&l| l > conv.grace_days)
                    .max()
                    .unwrap_or(0);
                let worst = eod.max(late);
                assert_eq!(p.max_dpd, worst, "scenario {scenario}");
            }
        }
    }
}

#[cfg(test)]
mod bench {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    type Loan = (LoanTerms, Vec<Installment>, Vec<Payment>);

    /// Realistic book: 24 monthly installments, ~16 payments mostly around
    /// the due dates (on time, late, partial), some loans stop paying.
    fn book(n: usize, seed: u64) -> Vec<Loan> {
        let mut r = Rng(seed);
        let base = NaiveDate::from_ymd_opt(2022, 1, 10).unwrap();
        (0..n)
            .map(|_| {
                let start = base + chrono::Days::new(r.next(365));
                let p = 1_000_000 + r.next(2_000_000) as i64;
                let inst: Vec<Installment> = (0..24u32)
                    .map(|k| Installment {
                        installment_no: k + 1,
                        due_date: start
                            .checked_add_months(chrono::Months::new(k + 1))
                            .unwrap(),
                        principal_due: Decimal::new(p / 24, 2),
                        interest_due: Decimal::new(r.next(20_000) as i64, 2),
                        fee_due: Decimal::new(if r.next(5) == 0 { 1_000 } else { 0 }, 2),
                    })
                    .collect();
                let mut pays = Vec::with_capacity(16);
                for (k, i) in inst.iter().take(16).enumerate() {
                    let due = i.principal_due + i.interest_due + i.fee_due;
                    let late = [0, 0, 0, 0, 1, 3, 10, 40][r.next(8) as usize];
                    let early = r.next(3);
                    let on = i.due_date + chrono::Days::new(late) - chrono::Days::new(early);
                    let amount = if r.next(6) == 0 {
                        due * Decimal::new(5, 1)
                    } else {
                        due
                    }
                    .round_dp(2);
                    let amount =
                        Decimal::new(amount.mantissa() as i64 * 10i64.pow(2 - amount.scale()), 2);
                    pays.push(Payment {
                        txn_id: format!("T{k}"),
                        paid_on: on,
                        amount,
                        reverses_txn_id: None,
                    });
                }
                let terms = LoanTerms {
                    annual_rate_pct: Decimal::new(4_90 + r.next(2000) as i64, 2),
                    principal: Decimal::new(p / 24 * 24, 2),
                };
                (terms, inst, pays)
            })
            .collect()
    }

    type Engine =
        fn(&LoanTerms, &[Installment], &[Payment], &[NaiveDate], &Conventions) -> Vec<Position>;

    fn run(engine: Engine, loans: &[Loan], dates: &[NaiveDate], conv: &Conventions) -> (f64, u64) {
        let t = std::time::Instant::now();
        let mut check = 0u64;
        for (terms, i, p) in loans {
            for pos in engine(terms, i, p, dates, conv) {
                check = check.wrapping_mul(31).wrapping_add(u64::from(pos.dpd));
                check = check.wrapping_add(pos.penalty_interest.mantissa() as u64);
                check = check.wrapping_add(pos.settled.len() as u64);
            }
        }
        (t.elapsed().as_secs_f64(), check)
    }

    /// `cargo test --release engine::bench -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_positions() {
        let loans = book(100_000, 0x2545F4914F6CDD1D);
        let one = [NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()];
        let twelve: Vec<NaiveDate> = (0..12)
            .map(|k| {
                NaiveDate::from_ymd_opt(2023, 6, 30)
                    .unwrap()
                    .checked_add_months(chrono::Months::new(k))
                    .unwrap()
            })
            .collect();
        let def = Conventions::default();
        let pf = Conventions {
            penalty_first: true,
            grace_days: 3,
            tolerance: Decimal::new(50, 2),
            ..Conventions::default()
        };
        // Warm caches (as in `daihou overdue`, which builds each loan just
        // before computing it): 1000 loans, 100 times.
        let small = &loans[..1000];
        for (e, engine) in [decimal::positions as Engine, positions]
            .into_iter()
            .enumerate()
        {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let t = std::time::Instant::now();
                for _ in 0..100 {
                    run(engine, small, &one, &def);
                }
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "bench warm 1 date, default, {}: {best:.3} s per 100k loans",
                ["decimal", "fast"][e]
            );
        }
        for (name, dates, conv) in [
            ("1 date, default", &one[..], &def),
            ("12 dates, default", &twelve[..], &def),
            ("1 date, grace+tol+penalty_first", &one[..], &pf),
        ] {
            let mut best = [f64::MAX; 2];
            let mut check = [0; 2];
            for _ in 0..3 {
                for (e, engine) in [decimal::positions as Engine, positions]
                    .into_iter()
                    .enumerate()
                {
                    let (s, c) = run(engine, &loans, dates, conv);
                    best[e] = best[e].min(s);
                    check[e] = c;
                }
            }
            assert_eq!(check[0], check[1]);
            println!(
                "bench {name}: decimal {:.3} s, fast {:.3} s per 100k loans ({:.1}x)",
                best[0],
                best[1],
                best[0] / best[1]
            );
        }
    }
}

/// The fast engine against the Decimal one (the original implementation) on
/// many generated loans, including odd input.
#[cfg(test)]
mod differential {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn chance(&mut self, one_in: u64) -> bool {
            self.next(one_in) == 0
        }
    }

    /// Mostly whole fen with scale 2; sometimes other scales, zero,
    /// negative, huge or (rarely) sub-fen.
    fn amount(r: &mut Rng, fen: i64) -> Decimal {
        match r.next(40) {
            0 => Decimal::new(-fen - 1, 2),
            1 => Decimal::new(fen, 0) * Decimal::new(1_000_000_000, 0),
            2 => Decimal::new(fen * 100, 4),
            3 if fen % 100 == 0 => Decimal::new(fen / 100, 0),
            4 => Decimal::ZERO,
            5 if r.chance(40) => Decimal::new(fen * 10 + 5, 3),
            _ => Decimal::new(fen, 2),
        }
    }

    fn scenario(
        r: &mut Rng,
    ) -> (
        LoanTerms,
        Vec<Installment>,
        Vec<Payment>,
        Vec<NaiveDate>,
        Conventions,
    ) {
        let base = NaiveDate::from_ymd_opt(2023, 1, 31).unwrap();
        let n_inst = r.next(26) as u32;
        let monthly = r.next(3) != 0;
        let mut gap = 0u64;
        let mut sched: Vec<Installment> = (1..=n_inst)
            .map(|k| {
                let due = if monthly {
                    base.checked_add_months(chrono::Months::new(k - 1)).unwrap()
                } else {
                    gap += r.next(40);
                    base + chrono::Days::new(gap)
                };
                Installment {
                    installment_no: if r.chance(30) { 1 } else { k },
                    due_date: due,
                    principal_due: {
                        let f = 50_000 + r.next(500_000) as i64;
                        amount(r, f)
                    },
                    interest_due: {
                        let f = r.next(20_000) as i64;
                        amount(r, f)
                    },
                    fee_due: if r.chance(4) {
                        let f = r.next(2_000) as i64;
                        amount(r, f)
                    } else {
                        Decimal::ZERO
                    },
                }
            })
            .collect();
        if r.chance(5) {
            // Unsorted input.
            for k in (1..sched.len()).rev() {
                let j = r.next(k as u64 + 1) as usize;
                sched.swap(k, j);
            }
        }
        if r.chance(200) && !sched.is_empty() {
            sched[0].due_date = if r.chance(2) {
                NaiveDate::MIN
            } else {
                NaiveDate::MAX
            };
        }
        let due_sum: i64 = sched
            .iter()
            .map(|i| {
                (i.principal_due + i.interest_due + i.fee_due)
                    .round_dp(2)
                    .mantissa()
                    .clamp(0, 100_000_000) as i64
            })
            .sum();
        let span = 31 * u64::from(n_inst.max(1)) + 60;
        let mut pays: Vec<Payment> = Vec::new();
        let n_pays = r.next(30);
        for k in 0..n_pays {
            let on = base + chrono::Days::new(r.next(span));
            if k > 0 && r.chance(8) {
                let target = match r.next(10) {
                    0 => "nope".to_string(),
                    1 => format!("r{}", r.next(k)),
                    _ => format!("t{}", r.next(k)),
                };
                pays.push(Payment {
                    txn_id: format!("r{k}"),
                    paid_on: on,
                    amount: Decimal::new(-1, 0),
                    reverses_txn_id: Some(target),
                });
                continue;
            }
            let per = due_sum / i64::from(n_inst.max(1));
            let fen = match r.next(6) {
                0 => r.next(1 + per as u64 / 2) as i64,
                1 => per * (1 + r.next(4) as i64),
                2 => r.next(1 + due_sum as u64) as i64,
                _ => per,
            };
            let id = if r.chance(25) {
                "t0".to_string()
            } else {
                format!("t{k}")
            };
            pays.push(Payment {
                txn_id: id,
                paid_on: on,
                amount: amount(r, fen),
                reverses_txn_id: None,
            });
        }
        if r.chance(3) {
            pays.sort_by_key(|p| p.paid_on);
        }
        let mut order = vec![
            Component::Fee,
            Component::Interest,
            Component::Principal,
            Component::Penalty,
        ];
        for k in (1..order.len()).rev() {
            let j = r.next(k as u64 + 1) as usize;
            order.swap(k, j);
        }
        order.truncate(r.next(5) as usize);
        let conv = Conventions {
            grace_days: [0, 0, 0, 1, 3, 15, u32::MAX][r.next(7) as usize],
            tolerance: match r.next(8) {
                0 => Decimal::new(50, 2),
                1 => Decimal::new(10, 0),
                2 => Decimal::new(5, 3),
                3 => Decimal::new(-1, 2),
                4 => Decimal::new(1234, 3),
                _ => Decimal::ZERO,
            },
            order,
            penalty_first: r.chance(3),
            penalty_multiplier: [
                Decimal::new(15, 1),
                Decimal::new(15, 1),
                Decimal::ZERO,
                Decimal::new(225, 2),
                Decimal::new(-1, 0),
                Decimal::new(1, 3),
            ][r.next(6) as usize],
            compound_interest: r.chance(2),
            prepay: if r.chance(3) {
                Prepay::ReducePrincipalLast
            } else {
                Prepay::NextInstallments
            },
        };
        let terms = LoanTerms {
            annual_rate_pct: match r.next(10) {
                0 => Decimal::ZERO,
                1 => Decimal::new(-49, 1),
                2 => Decimal::new(i64::MAX, 0),
                _ => Decimal::new(r.next(400_000) as i64, 4),
            },
            principal: if r.chance(2) {
                sched.iter().map(|i| i.principal_due).sum()
            } else {
                Decimal::new(r.next(10_000_000) as i64, 2)
            },
        };
        let mut dates: Vec<NaiveDate> = (0..1 + r.next(12))
            .map(|_| base + chrono::Days::new(r.next(span + 400)))
            .collect();
        if r.chance(2) {
            dates.sort();
        }
        if r.chance(100) {
            dates.push(NaiveDate::MIN);
            dates.push(NaiveDate::MAX);
        }
        (terms, sched, pays, dates, conv)
    }

    #[test]
    fn fast_engine_equals_decimal_engine() {
        let mut r = Rng(0x853c49e6748fea9b);
        let (mut fast, mut total) = (0, 0);
        for s in 0..6_000 {
            let (t, i, p, dates, c) = scenario(&mut r);
            let want = decimal::positions(&t, &i, &p, &dates, &c);
            if let Some(got) = positions_fast(&t, &i, &p, &dates, &c) {
                fast += 1;
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g, w, "scenario {s} as_of {}\n{i:?}\n{p:?}\n{c:?}", w.as_of);
                }
                assert_eq!(got.len(), want.len());
            }
            assert_eq!(positions(&t, &i, &p, &dates, &c), want, "scenario {s}");
            total += 1;
        }
        // Most scenarios must exercise the fast path.
        assert!(fast * 10 > total * 8, "fast path taken {fast} of {total}");
    }

    /// Whole-fen input with the CLI's scale (2) always takes the fast path,
    /// and outputs keep scale 2.
    #[test]
    fn fen_input_takes_fast_path() {
        let mut r = Rng(0x2545f4914f6cdd1d);
        for _ in 0..500 {
            let (t, mut i, mut p, dates, mut c) = scenario(&mut r);
            let fen =
                |d: Decimal| Decimal::new(d.round_dp(2).mantissa().clamp(-1, 1 << 40) as i64, 2);
            for x in &mut i {
                x.principal_due = fen(x.principal_due);
                x.interest_due = fen(x.interest_due);
                x.fee_due = fen(x.fee_due);
            }
            for x in &mut p {
                x.amount = fen(x.amount);
            }
            c.tolerance = fen(c.tolerance);
            let got = positions_fast(&t, &i, &p, &dates, &c).expect("fast path");
            assert_eq!(got, decimal::positions(&t, &i, &p, &dates, &c));
        }
    }

    /// The integer penalty rounding equals the Decimal computation: dense
    /// small accruals (every midpoint case) and random large ones.
    #[test]
    fn integer_penalty_equals_decimal() {
        let mut r = Rng(0x9e3779b97f4a7c15);
        let mut factors: Vec<Decimal> = [
            (735, 2),
            (15, 1),
            (49, 1),
            (7350, 3),
            (54375, 4),
            (36, 0),
            (1, 3),
            (12345678, 6),
            (1_000_000_000_000, 0),
            (99_999_999, 8),
        ]
        .iter()
        .map(|&(m, s)| Decimal::new(m, s))
        .collect();
        for _ in 0..40 {
            let rate = Decimal::new(r.next(400_000) as i64, 4);
            let mult = Decimal::new(r.next(30) as i64, 1);
            factors.push(rate * mult);
        }
        let mut checked = 0;
        for &factor in &factors {
            if factor.scale() > 8 || factor.is_zero() {
                continue;
            }
            let (f, den) = (factor.mantissa(), 36_000 * 10i128.pow(factor.scale()));
            let mut accs: Vec<i128> = (1..40_000i128).collect();
            for _ in 0..4_000 {
                accs.push(i128::from(r.next(1 << 40)) * i128::from(r.next(1 << 40)));
            }
            for _ in 0..500 {
                accs.push(i128::from(r.next(1 << 62)) << r.next(28));
            }
            for acc in accs {
                let want = round_fen(
                    Decimal::from_i128_with_scale(acc, 2).saturating_mul(factor)
                        / Decimal::new(36000, 0),
                );
                if let Some(got) = penalty_fen_int(acc, f, den) {
                    assert_eq!(Some(got), fen_i128(want), "acc {acc} factor {factor}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1_000_000, "{checked}");
    }

    #[test]
    fn sub_fen_input_falls_back() {
        let sched = [Installment {
            installment_no: 1,
            due_date: NaiveDate::from_ymd_opt(2024, 1, 15).unwrap(),
            principal_due: Decimal::new(10_005, 3),
            interest_due: Decimal::ZERO,
            fee_due: Decimal::ZERO,
        }];
        let t = LoanTerms {
            annual_rate_pct: Decimal::new(49, 1),
            principal: Decimal::new(10_005, 3),
        };
        let d = [NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()];
        let c = Conventions::default();
        assert!(positions_fast(&t, &sched, &[], &d, &c).is_none());
        let p = positions(&t, &sched, &[], &d, &c);
        assert_eq!(p[0].overdue_principal, Decimal::new(10_005, 3));
    }
}
