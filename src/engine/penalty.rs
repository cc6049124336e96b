//! Penalty interest (罚息) from accrued fen-days: the module doc's
//! `round_fen(balance-days × annual_rate_pct × penalty_multiplier / 36000)`,
//! by exact integer arithmetic where that provably equals the Decimal
//! formula, else by the Decimal formula itself.

use crate::money::round_fen;
use rust_decimal::Decimal;

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
pub(super) fn penalty_fen_int(acc: i128, f: i128, den: i128) -> Option<i128> {
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

/// Exact fen of a Decimal with scale <= 2 (as [`round_fen`] returns).
pub(super) fn fen_i128(v: Decimal) -> Option<i128> {
    let s = v.scale();
    if s > 2 {
        return None;
    }
    v.mantissa().checked_mul(10i128.pow(2 - s))
}

/// The penalty accrued on `acc` fen-days (acc >= 0), rounded to the fen:
/// the integer path when `factor_int` allows it, else the Decimal formula.
/// Beyond Decimal's range (about 7.9 × 10^26 yuan-days, unreachable by a
/// ledger's loans) the accrual saturates at `Decimal::MAX`; never panics.
pub(super) fn accrued_fen(acc: i128, factor: Decimal, factor_int: Option<(i128, i128)>) -> i128 {
    if acc <= 0 || factor.is_zero() {
        return 0;
    }
    if let Some(fen) = factor_int.and_then(|(f, den)| penalty_fen_int(acc, f, den)) {
        return fen;
    }
    let acc = Decimal::try_from_i128_with_scale(acc, 2).unwrap_or(Decimal::MAX);
    let pen = round_fen(acc.saturating_mul(factor) / Decimal::new(36000, 0));
    fen_i128(pen).unwrap_or(i128::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accruals beyond Decimal's range saturate instead of failing.
    #[test]
    fn huge_accrual_saturates() {
        let factor = Decimal::new(735, 2);
        let fen = accrued_fen(i128::MAX / 2, factor, None);
        assert!(fen > 10i128.pow(26), "{fen}");
        assert!(fen >= accrued_fen(1 << 100, factor, None));
        assert_eq!(accrued_fen(0, factor, None), 0);
        assert_eq!(accrued_fen(1000, Decimal::ZERO, None), 0);
    }
}
