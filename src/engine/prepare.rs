//! Preparation, once per loan: amounts to whole fen, dates to day numbers,
//! the schedule sorted, payments sorted with reversals resolved, and the
//! conventions checked — every warning about bad input is made here.

use super::{
    clamp_amount, Component, Conventions, Installment, LoanTerms, Payment, Prepay, Status, Warnings,
};
use crate::money::round_fen;
use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// 10^15 yuan in fen: the cap on any one amount ([`super::max_amount`]).
pub(super) const MAX_FEN: i64 = 100_000_000_000_000_000;

pub(super) fn day_no(d: NaiveDate) -> i32 {
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

/// An amount in whole fen, in `0..=MAX_FEN`: negative amounts become 0 and
/// large ones are capped ([`clamp_amount`]); digits below the fen (which the
/// ledger cannot hold) are rounded half up, with a warning.
fn to_fen(
    v: Decimal,
    what: impl Fn() -> String,
    warnings: &mut Warnings,
    date: Option<NaiveDate>,
) -> i64 {
    if v.scale() == 2 {
        let m = v.mantissa();
        if (0..=i128::from(MAX_FEN)).contains(&m) {
            return m as i64;
        }
    }
    let v = clamp_amount(v, &what, warnings, date);
    if let Some(fen) = exact_fen(v) {
        return fen;
    }
    let r = round_fen(v);
    warnings.push((
        date,
        format!("{} {v} has digits below the fen; rounded to {r}", what()),
    ));
    // 0 <= r <= 10^15 with scale 2.
    exact_fen(r).unwrap_or(MAX_FEN).clamp(0, MAX_FEN)
}

/// The components of an installment in payment order: `conv.order` without
/// `Penalty` and duplicates, completed with the default order.
fn component_order(conv: &Conventions) -> [Component; 3] {
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
    order
}

/// One installment during the replay: what remains unpaid, in fen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Inst {
    pub(super) p: i64,
    pub(super) i: i64,
    pub(super) f: i64,
    pub(super) due: i32,
    /// due + grace; i32::MAX when beyond the calendar (never overdue).
    pub(super) confirm: i32,
    pub(super) no: u32,
    pub(super) due_date: NaiveDate,
    pub(super) status: Status,
    /// Entered in the settled log, on `settled_on`, `days_late` days late.
    pub(super) logged: bool,
    pub(super) settled_on: NaiveDate,
    pub(super) days_late: u32,
    /// Index into the input slice.
    pub(super) src: usize,
}

impl Inst {
    /// At most 3 × 10^17: fits an i64.
    #[inline]
    pub(super) fn total(&self) -> i64 {
        self.p + self.i + self.f
    }
}

/// One payment, in fen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pay {
    pub(super) day: i32,
    /// 0 for ignored rows.
    pub(super) amount: i64,
    pub(super) date: NaiveDate,
    /// Index into the input slice.
    pub(super) src: usize,
}

/// A loan ready to replay.
pub(super) struct Prepared {
    /// Sorted by (due date, installment_no); taken by the last sweep.
    pub(super) insts: Vec<Inst>,
    pub(super) pays: Vec<Pay>,
    /// (reversal day, index into pays), date ascending; valid ones only.
    pub(super) reversals: Vec<(i32, usize)>,
    pub(super) warnings: Warnings,
    pub(super) order: [Component; 3],
    /// An installment whose remainder is at most this many fen is settled.
    pub(super) tol: i64,
    /// Relative materiality as (num, den): arrears are material only when
    /// `arrears × den > outstanding × num`; num 0 = no relative threshold.
    pub(super) tol_pct: (i128, i128),
    pub(super) grace: u32,
    /// annual_rate_pct × penalty_multiplier; penalty = fen-days × factor / 36000.
    pub(super) factor: Decimal,
    /// (mantissa, 36000 × 10^scale) of `factor` when small enough for
    /// [`super::penalty::penalty_fen_int`].
    pub(super) factor_int: Option<(i128, i128)>,
    pub(super) compound: bool,
    pub(super) penalty_first: bool,
    pub(super) prepay: Prepay,
    pub(super) initially_settled: usize,
    /// Sum of the schedule's principal, fen.
    pub(super) outstanding_p: i128,
}

impl Prepared {
    pub(super) fn new(
        terms: &LoanTerms,
        inst: &[Installment],
        pays: &[Payment],
        conv: &Conventions,
    ) -> Prepared {
        let mut warnings: Warnings = Vec::new();
        let order = component_order(conv);

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
        let tol_pct = if conv.tolerance_pct.is_sign_negative() {
            warnings.push((None, "negative tolerance_pct taken as 0".to_string()));
            (0, 1)
        } else {
            let p = conv
                .tolerance_pct
                .min(Decimal::ONE_HUNDRED)
                .round_dp(6)
                .normalize();
            (p.mantissa(), 100 * 10i128.pow(p.scale()))
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
        let mut insts: Vec<Inst> = Vec::with_capacity(inst.len());
        let mut sched_principal: i128 = 0;
        for (src, r) in inst.iter().enumerate() {
            let label = |c: &str| format!("installment {} {c}", r.installment_no);
            let p = to_fen(
                r.principal_due,
                || label("principal_due"),
                &mut warnings,
                None,
            );
            let i = to_fen(
                r.interest_due,
                || label("interest_due"),
                &mut warnings,
                None,
            );
            let f = to_fen(r.fee_due, || label("fee_due"), &mut warnings, None);
            sched_principal += i128::from(p);
            let due = day_no(r.due_date);
            let confirm = i64::from(due) + i64::from(grace);
            insts.push(Inst {
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
                src,
            });
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
            let sched = super::money(sched_principal);
            if sched.saturating_sub(terms.principal).abs() > slack {
                // Rare: rebuild the Decimal sum so the message shows the input.
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

        let (rows, revs) = payment_rows(pays, &mut warnings);
        let reversals = resolve_reversals(pays, &rows, &revs, &mut warnings);

        let factor = rate * mult;
        let factor_int = (factor.scale() <= 8 && !factor.is_sign_negative())
            .then(|| (factor.mantissa(), 36_000 * 10i128.pow(factor.scale())));
        Prepared {
            outstanding_p: sched_principal,
            factor,
            factor_int,
            insts,
            pays: rows,
            reversals,
            warnings,
            order,
            tol: tol_fen,
            tol_pct,
            grace,
            compound: conv.compound_interest,
            penalty_first: conv.penalty_first,
            prepay: conv.prepay,
            initially_settled,
        }
    }
}

/// The payments sorted by (date, input order), each in fen (0: ignored,
/// with a warning when negative), and the reversals (indices into `pays`)
/// in the same order, kept aside.
fn payment_rows(pays: &[Payment], warnings: &mut Warnings) -> (Vec<Pay>, Vec<usize>) {
    let mut rows: Vec<Pay> = Vec::with_capacity(pays.len());
    let mut revs: Vec<usize> = Vec::new();
    let mut push = |k: usize, warnings: &mut Warnings| {
        let p = &pays[k];
        if p.reverses_txn_id.is_some() {
            revs.push(k);
            return;
        }
        let v = p.amount;
        let amount = if v.scale() == 2 && v.mantissa() > 0 && v.mantissa() <= i128::from(MAX_FEN) {
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
            to_fen(
                v,
                || format!("payment {}", p.txn_id),
                warnings,
                Some(p.paid_on),
            )
        };
        rows.push(Pay {
            day: day_no(p.paid_on),
            amount,
            date: p.paid_on,
            src: k,
        });
    };
    if pays.windows(2).all(|w| w[0].paid_on <= w[1].paid_on) {
        for k in 0..pays.len() {
            push(k, warnings);
        }
    } else {
        let mut idx: Vec<usize> = (0..pays.len()).collect();
        idx.sort_by_key(|&k| (pays[k].paid_on, k));
        for k in idx {
            push(k, warnings);
        }
    }
    (rows, revs)
}

/// See [`super::payments_in_force`].
pub(super) fn payments_in_force(pays: &[Payment], as_of: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
    let mut warnings = Vec::new();
    let (rows, revs) = payment_rows(pays, &mut warnings);
    let reversals = resolve_reversals(pays, &rows, &revs, &mut warnings);
    let day = day_no(as_of);
    let mut reversed = vec![false; rows.len()];
    for (d, t) in reversals {
        if d <= day {
            reversed[t] = true;
        }
    }
    rows.iter()
        .zip(reversed)
        .filter(|(r, gone)| !gone && r.amount > 0 && r.day <= day)
        .map(|(r, _)| (r.date, Decimal::new(r.amount, 2)))
        .collect()
}

/// Matches each reversal (`revs`, indices into `pays`, date order) to the
/// payment row it reverses: (reversal day, index into `rows`), date
/// ascending. Reversals of unknown txns, of reversals, or repeated ones are
/// ignored with a warning; of several payments sharing the txn id the
/// earliest-dated one is reversed.
fn resolve_reversals(
    pays: &[Payment],
    rows: &[Pay],
    revs: &[usize],
    warnings: &mut Warnings,
) -> Vec<(i32, usize)> {
    let mut reversals = Vec::new();
    if revs.is_empty() {
        return reversals;
    }
    let mut reversed = vec![false; rows.len()];
    for &k in revs {
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
    reversals
}
