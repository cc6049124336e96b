//! Money amounts and interest rates.
//!
//! Every amount is a [`Decimal`] (never a float). Amounts are kept in yuan with
//! two decimal places (fen); [`round_fen`] rounds half away from zero, which is
//! the "四舍五入" convention used on Chinese bank statements.
//!
//! Parsing is strict on purpose: a loan ledger must not guess what `1,000` or
//! `1e3` meant. Error values never contain the offending text; their `Display`
//! is the "what was expected" half of a message, so a caller can write
//! `loans.csv line 12, column principal: "12,3x" is not a decimal amount`.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// Longest input (after trimming) that [`parse_amount`] or [`parse_rate`] will look at.
const MAX_INPUT_LEN: usize = 40;

/// Largest number of integer digits an amount may have (magnitude below 10^15).
const MAX_AMOUNT_INT_DIGITS: usize = 15;

/// Largest number of decimal places a rate may carry (trailing zeros beyond are fine).
const MAX_RATE_DECIMALS: usize = 6;

/// Why a text could not be read as an amount or a rate.
///
/// `Display` never includes the input itself; it reads as the continuation of
/// `"<value>" ...`, e.g. `is not a decimal amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmountError {
    /// The amount text was empty (or only spaces).
    Empty,
    /// The text is not a plain decimal number (letters, exponents, `NaN`, `.5`, `5.`, too long, ...).
    NotDecimal,
    /// The text groups digits with `,` or spaces, e.g. `1,000.00` or `1 000`.
    ThousandsSeparator,
    /// The amount has non-zero digits beyond the second decimal place.
    TooManyDecimals,
    /// The amount's magnitude is 10^15 or more.
    TooLarge,
    /// The rate text was empty (or only spaces / a lone `%`).
    EmptyRate,
    /// The rate text is not a plain decimal percentage.
    NotRate,
    /// The rate has non-zero digits beyond the sixth decimal place.
    RateTooManyDecimals,
    /// The rate is negative or above 100 (percent per year).
    RateOutOfRange,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            AmountError::Empty => "is empty; expected a decimal amount such as 1234.56",
            AmountError::NotDecimal => "is not a decimal amount",
            AmountError::ThousandsSeparator => {
                "uses a thousands separator; expected a plain decimal such as 1234.56"
            }
            AmountError::TooManyDecimals => "has more than 2 decimal places",
            AmountError::TooLarge => "is too large (limit 999999999999999.99)",
            AmountError::EmptyRate => "is empty; expected an annual rate in percent such as 4.35",
            AmountError::NotRate => "is not an annual rate in percent such as 4.35",
            AmountError::RateTooManyDecimals => "has more than 6 decimal places",
            AmountError::RateOutOfRange => "is not a rate between 0 and 100 (percent per year)",
        };
        f.write_str(s)
    }
}

impl std::error::Error for AmountError {}

/// Why the shape of a number was rejected (before any range checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    NotDecimal,
    Thousands,
}

/// A syntactically valid plain decimal, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts<'a> {
    negative: bool,
    /// Integer digits with leading zeros removed (may be empty for zero).
    int: &'a str,
    /// Fraction digits with trailing zeros removed (may be empty).
    frac: &'a str,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `[+-]digits[.digits]` into parts; `s` must already be trimmed.
fn split_plain(s: &str) -> Result<Parts<'_>, Shape> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.find('.') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let int_ok = all_digits(int);
    let frac_ok = frac.is_none_or(all_digits);
    if !int_ok || !frac_ok {
        if looks_grouped(int) && frac_ok {
            return Err(Shape::Thousands);
        }
        return Err(Shape::NotDecimal);
    }
    Ok(Parts {
        negative,
        int: int.trim_start_matches('0'),
        frac: frac.unwrap_or("").trim_end_matches('0'),
    })
}

/// True for `1,000`, `12,345,678`, `1 000`: a 1-3 digit group followed by
/// groups of exactly three digits, all joined by the same `,` or space.
fn looks_grouped(int: &str) -> bool {
    for sep in [',', ' '] {
        if !int.contains(sep) {
            continue;
        }
        let mut groups = int.split(sep);
        let first_ok = groups.next().is_some_and(|g| all_digits(g) && g.len() <= 3);
        if first_ok && groups.all(|g| all_digits(g) && g.len() == 3) {
            return true;
        }
    }
    false
}

/// Builds `int.frac` as a Decimal with the given scale; the caller guarantees
/// `int.len() + scale` fits comfortably in an i128 and `frac.len() <= scale`.
fn build(parts: &Parts<'_>, scale: u32) -> Decimal {
    let mut mantissa: i128 = 0;
    let frac_bytes = parts.frac.as_bytes();
    let digits = parts
        .int
        .bytes()
        .chain((0..scale as usize).map(|i| frac_bytes.get(i).copied().unwrap_or(b'0')));
    for b in digits {
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    if parts.negative {
        mantissa = -mantissa;
    }
    let mut d = Decimal::from_i128_with_scale(mantissa, scale);
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

/// Parses a money amount in yuan such as `1234.56`, `-3.00` or `+12`.
///
/// Leading and trailing ASCII whitespace is ignored. The grammar is
/// `[+-]digits[.digits]`: at least one digit before the point and at least one
/// after it if a point is present. At most 2 decimal places, except that extra
/// trailing zeros are accepted (`1000.0000` is `1000.00`). The magnitude must be
/// below 10^15. The result always has scale 2 (`12` becomes `12.00`); `-0`
/// becomes `0.00`.
pub fn parse_amount(s: &str) -> Result<Decimal, AmountError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return Err(AmountError::Empty);
    }
    if t.len() > MAX_INPUT_LEN {
        return Err(AmountError::NotDecimal);
    }
    let parts = split_plain(t).map_err(|e| match e {
        Shape::NotDecimal => AmountError::NotDecimal,
        Shape::Thousands => AmountError::ThousandsSeparator,
    })?;
    if parts.frac.len() > 2 {
        return Err(AmountError::TooManyDecimals);
    }
    if parts.int.len() > MAX_AMOUNT_INT_DIGITS {
        return Err(AmountError::TooLarge);
    }
    Ok(build(&parts, 2))
}

/// Parses an annual interest rate given in percent, e.g. `4.9` or `4.35%`
/// (meaning 4.35 % per year), and returns it still in percent.
///
/// Leading and trailing ASCII whitespace and one optional trailing `%` are
/// ignored. Up to 6 decimal places (extra trailing zeros are fine). The value
/// must satisfy 0 <= r <= 100. The result has the scale of the significant
/// digits given (`4.90` becomes `4.9`, `5` stays `5`).
pub fn parse_rate(s: &str) -> Result<Decimal, AmountError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_suffix('%').unwrap_or(t);
    let t = t.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return Err(AmountError::EmptyRate);
    }
    if t.len() > MAX_INPUT_LEN {
        return Err(AmountError::NotRate);
    }
    let parts = split_plain(t).map_err(|_| AmountError::NotRate)?;
    if parts.frac.len() > MAX_RATE_DECIMALS {
        return Err(AmountError::RateTooManyDecimals);
    }
    if parts.int.len() > 3 {
        return Err(AmountError::RateOutOfRange);
    }
    let d = build(&parts, parts.frac.len() as u32);
    if d.is_sign_negative() || d > Decimal::ONE_HUNDRED {
        return Err(AmountError::RateOutOfRange);
    }
    Ok(d)
}

/// Rounds to whole fen (2 decimal places), half away from zero:
/// `0.005` → `0.01`, `0.0049` → `0.00`, `-0.005` → `-0.01`, `2.675` → `2.68`.
///
/// The result has scale 2 whenever it is representable (`12` → `12.00`), and a
/// zero result is never negative.
pub fn round_fen(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    if r.is_zero() {
        r.set_sign_positive(true);
    }
    r
}

/// Converts an amount to whole fen (minor units) after [`round_fen`];
/// `None` if the result does not fit in an `i64`.
pub fn to_fen(d: Decimal) -> Option<i64> {
    if d.scale() == 2 {
        // Already in fen (every parsed amount is): no rounding to do.
        return i64::try_from(d.mantissa()).ok();
    }
    round_fen(d)
        .checked_mul(Decimal::ONE_HUNDRED)?
        .trunc()
        .to_i64()
}

/// Converts whole fen (minor units) to an amount in yuan with scale 2.
pub fn from_fen(f: i64) -> Decimal {
    Decimal::new(f, 2)
}

/// Formats an amount plainly with exactly 2 decimals after [`round_fen`]:
/// `1234.50`, `0.00`, `-3.10`. No thousands separators; never `-0.00`.
pub fn fmt_amount(d: Decimal) -> String {
    let mut s = String::new();
    write_amount(&mut s, d);
    s
}

/// Appends [`fmt_amount`]'s text to `out` (a renderer's reused buffer: no allocation an amount).
pub fn write_amount(out: &mut String, d: Decimal) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{:.2}", round_fen(d));
}

/// Formats an amount like [`fmt_amount`] but with `,` between thousands:
/// `1,234,567.80`, `-1,000.00`, `999.99`.
pub fn fmt_thousands(d: Decimal) -> String {
    let plain = fmt_amount(d);
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain.as_str()),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(plain.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn parse_amount_accepts() {
        let cases = [
            ("12", "12.00"),
            ("12.5", "12.50"),
            ("12.50", "12.50"),
            ("-3.00", "-3.00"),
            ("+7.1", "7.10"),
            ("  42.42  ", "42.42"),
            ("\t1\r\n", "1.00"),
            ("1000.0000", "1000.00"),
            ("0", "0.00"),
            ("-0", "0.00"),
            ("-0.00", "0.00"),
            ("007.50", "7.50"),
            ("0.01", "0.01"),
            ("999999999999999.99", "999999999999999.99"),
            ("-999999999999999.99", "-999999999999999.99"),
            ("000000000000000000001.00", "1.00"),
            ("12.3400000", "12.34"),
        ];
        for (input, want) in cases {
            let got = parse_amount(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got.to_string(), want, "input {input:?}");
            assert_eq!(got.scale(), 2, "input {input:?}");
        }
    }

    #[test]
    fn parse_amount_rejects() {
        use AmountError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("12,3x", NotDecimal),
            ("1,000.00", ThousandsSeparator),
            ("1,000", ThousandsSeparator),
            ("12,345,678.90", ThousandsSeparator),
            ("1 000", ThousandsSeparator),
            ("-1,000", ThousandsSeparator),
            ("12,5", NotDecimal),
            ("1,00", NotDecimal),
            ("1,000 000", NotDecimal),
            (",100", NotDecimal),
            (".5", NotDecimal),
            ("5.", NotDecimal),
            (".", NotDecimal),
            ("-", NotDecimal),
            ("+", NotDecimal),
            ("+-1", NotDecimal),
            ("--1", NotDecimal),
            ("1.2.3", NotDecimal),
            ("1e3", NotDecimal),
            ("1e400", NotDecimal),
            ("1E5", NotDecimal),
            ("NaN", NotDecimal),
            ("inf", NotDecimal),
            ("-Infinity", NotDecimal),
            ("0x10", NotDecimal),
            ("¥12", NotDecimal),
            ("１２", NotDecimal),
            ("12元", NotDecimal),
            ("1_000", NotDecimal),
            ("1 2 3", NotDecimal),
            ("12.345", TooManyDecimals),
            ("0.001", TooManyDecimals),
            ("12.3450", TooManyDecimals),
            ("1000000000000000", TooLarge),
            ("1000000000000000.00", TooLarge),
            ("-1000000000000000", TooLarge),
            ("99999999999999999999999999999999999999", TooLarge),
            ("1234567890123456789012345678901234567890", TooLarge),
            ("12345678901234567890123456789012345678901", NotDecimal),
            (&"0".repeat(41), NotDecimal),
        ];
        for (input, want) in cases {
            assert_eq!(parse_amount(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn amount_error_display_never_contains_value() {
        let e = parse_amount("12,3x").unwrap_err();
        assert_eq!(e.to_string(), "is not a decimal amount");
        assert_eq!(
            parse_amount("").unwrap_err().to_string(),
            "is empty; expected a decimal amount such as 1234.56"
        );
        assert_eq!(
            parse_amount("1,000.00").unwrap_err().to_string(),
            "uses a thousands separator; expected a plain decimal such as 1234.56"
        );
        assert_eq!(
            parse_amount("12.345").unwrap_err().to_string(),
            "has more than 2 decimal places"
        );
        assert_eq!(
            parse_amount("1e16").unwrap_err().to_string(),
            "is not a decimal amount"
        );
        assert_eq!(
            parse_amount("10000000000000000").unwrap_err().to_string(),
            "is too large (limit 999999999999999.99)"
        );
        assert_eq!(
            parse_rate("101").unwrap_err().to_string(),
            "is not a rate between 0 and 100 (percent per year)"
        );
    }

    #[test]
    fn parse_rate_cases() {
        use AmountError::*;
        let ok = [
            ("4.9", "4.9"),
            ("4.90", "4.9"),
            ("4.35%", "4.35"),
            (" 4.35 % ", "4.35"),
            ("0", "0"),
            ("-0", "0"),
            ("100", "100"),
            ("100.000000", "100"),
            ("3.123456", "3.123456"),
            ("3.12345600000", "3.123456"),
            ("+5", "5"),
            ("0.000001", "0.000001"),
        ];
        for (input, want) in ok {
            let got = parse_rate(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got, dec(want), "input {input:?}");
            assert!(!got.is_sign_negative(), "input {input:?}");
        }
        let bad = [
            ("", EmptyRate),
            ("%", EmptyRate),
            ("  % ", EmptyRate),
            ("abc", NotRate),
            ("4.9%%", NotRate),
            ("%4.9", NotRate),
            ("4,9", NotRate),
            ("1e1", NotRate),
            (".5", NotRate),
            ("5.", NotRate),
            ("3.1234567", RateTooManyDecimals),
            ("100.000001", RateOutOfRange),
            ("101", RateOutOfRange),
            ("-0.01", RateOutOfRange),
            ("-5", RateOutOfRange),
            ("1000", RateOutOfRange),
            ("99999999999999999999999999999999999999", RateOutOfRange),
        ];
        for (input, want) in bad {
            assert_eq!(parse_rate(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn round_fen_cases() {
        let cases = [
            ("0.005", "0.01"),
            ("0.0049", "0.00"),
            ("0.0050", "0.01"),
            ("-0.005", "-0.01"),
            ("-0.0049", "0.00"),
            ("2.675", "2.68"),
            ("2.665", "2.67"),
            ("1.004999999999", "1.00"),
            ("12", "12.00"),
            ("0", "0.00"),
            ("-1.235", "-1.24"),
            ("999999999999999.995", "1000000000000000.00"),
        ];
        for (input, want) in cases {
            let got = round_fen(dec(input));
            assert_eq!(got.to_string(), want, "input {input}");
        }
        // Extremes must not panic.
        let _ = round_fen(Decimal::MAX);
        let _ = round_fen(Decimal::MIN);
    }

    #[test]
    fn fen_conversions() {
        let cases = [
            ("0", Some(0)),
            ("12.34", Some(1234)),
            ("-3.10", Some(-310)),
            ("0.005", Some(1)),
            ("-0.005", Some(-1)),
            ("92233720368547758.07", Some(i64::MAX)),
            ("92233720368547758.08", None),
            ("-92233720368547758.08", Some(i64::MIN)),
            ("-92233720368547758.09", None),
        ];
        for (input, want) in cases {
            assert_eq!(to_fen(dec(input)), want, "input {input}");
        }
        assert_eq!(to_fen(Decimal::MAX), None);
        assert_eq!(to_fen(Decimal::MIN), None);
        for f in [0, 1, -1, 99, 100, 123456, i64::MAX, i64::MIN] {
            let d = from_fen(f);
            assert_eq!(d.scale(), 2);
            assert_eq!(to_fen(d), Some(f));
        }
        assert_eq!(from_fen(-310).to_string(), "-3.10");
    }

    #[test]
    fn formatting() {
        let cases = [
            ("1234.5", "1234.50", "1,234.50"),
            ("0", "0.00", "0.00"),
            ("-3.1", "-3.10", "-3.10"),
            ("-0.001", "0.00", "0.00"),
            ("1234567.8", "1234567.80", "1,234,567.80"),
            ("999.995", "1000.00", "1,000.00"),
            ("100", "100.00", "100.00"),
            ("-1000", "-1000.00", "-1,000.00"),
            ("-100000", "-100000.00", "-100,000.00"),
            ("12345678", "12345678.00", "12,345,678.00"),
        ];
        for (input, plain, grouped) in cases {
            assert_eq!(fmt_amount(dec(input)), plain, "input {input}");
            assert_eq!(fmt_thousands(dec(input)), grouped, "input {input}");
        }
        let _ = fmt_thousands(Decimal::MAX);
        let _ = fmt_thousands(Decimal::MIN);
    }

    #[test]
    fn parse_then_format_round_trips() {
        for s in ["0.00", "1.00", "-1.23", "999999999999999.99", "12345.60"] {
            assert_eq!(fmt_amount(parse_amount(s).unwrap()), s);
        }
    }
}

#[cfg(test)]
mod prop_tests {
    //! Properties of amount parsing and formatting, and of the arithmetic built on it: schedule
    //! generation and the position engine.

    use super::*;
    use crate::engine::{self, Component, Conventions, Prepay};
    use crate::schedule::{self, Frequency, LoanTerms, Method, ScheduleError, Terms};
    use chrono::{Days, NaiveDate};
    use proptest::prelude::*;

    use crate::test_support::prop_config as config;

    /// Text that looks like an amount more often than arbitrary strings do.
    fn amountish() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[-+ ]?[0-9, ]{0,20}(\\.[0-9 ]{0,6})?%?",
            "[-+0-9.,eE%\\s\u{a0}\u{3000}１２]{0,50}",
        ]
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn parse_amount_and_rate_never_panic(s in amountish()) {
            if let Ok(d) = parse_amount(&s) {
                prop_assert_eq!(d.scale(), 2);
                prop_assert!(d.abs() < Decimal::from(1_000_000_000_000_000i64));
                prop_assert_eq!(parse_amount(&fmt_amount(d)), Ok(d));
            }
            if let Ok(r) = parse_rate(&s) {
                prop_assert!(r >= Decimal::ZERO && r <= Decimal::ONE_HUNDRED);
            }
        }

        #[test]
        fn amounts_round_trip_through_text(fen in -99_999_999_999_999_999i64..=99_999_999_999_999_999i64) {
            let x = Decimal::new(fen, 2);
            let text = fmt_amount(x);
            let back = parse_amount(&text).unwrap();
            prop_assert_eq!(back, x);
            prop_assert_eq!(fmt_amount(back), text);
            prop_assert_eq!(to_fen(back), Some(fen));
            prop_assert_eq!(from_fen(fen), x);
        }

        #[test]
        fn round_fen_is_half_away_from_zero(units in -10_000_000_000i64..10_000_000_000i64, scale in 0u32..8) {
            let d = Decimal::new(units, scale);
            let r = round_fen(d);
            prop_assert_eq!(r.scale(), 2);
            prop_assert!((r - d).abs() <= Decimal::new(5, 3));
            prop_assert_eq!(round_fen(r), r);
            prop_assert_eq!(round_fen(-d), -r);
        }
    }

    fn date(days: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Days::new(days)
    }

    fn method() -> impl Strategy<Value = Method> {
        prop_oneof![
            Just(Method::Annuity),
            Just(Method::EqualPrincipal),
            Just(Method::InterestOnly),
            Just(Method::Bullet)
        ]
    }

    /// Contract terms a tape may carry, valid or not in their combination.
    fn terms() -> impl Strategy<Value = Terms> {
        (
            prop_oneof![1i64..1_000_000_000, 1i64..=99_999_999_999_999_999],
            prop_oneof![0i64..=36_000_000, 0i64..=100_000_000],
            0u64..36_500,
            (method(), any::<bool>()),
            (1u32..=200, 0u32..4),
            prop::option::of(1u32..3_000),
            prop::option::of(1u64..400),
            prop::option::weighted(0.2, 1u64..20_000),
        )
            .prop_map(
                |(p, r, orig, (method, quarterly), (n, extra), days, first, maturity)| {
                    let frequency = if quarterly {
                        Frequency::Quarterly
                    } else {
                        Frequency::Monthly
                    };
                    let origination = date(orig);
                    Terms {
                        loan: LoanTerms {
                            principal: Decimal::new(p, 2),
                            annual_rate_pct: Decimal::new(r, 6),
                        },
                        origination,
                        // Mostly a valid multiple of the period, sometimes not.
                        term_months: Some(n * frequency.months() + extra / 3),
                        term_days: days,
                        method,
                        frequency,
                        first_due_date: first.map(|d| origination + Days::new(d)),
                        maturity_date: maturity.map(|d| origination + Days::new(d)),
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn schedules_never_panic_and_repay_the_principal_exactly(t in terms()) {
            match schedule::generate(&t) {
                Ok(inst) => {
                    prop_assert!(!inst.is_empty());
                    let total: Decimal = inst.iter().map(|i| i.principal_due).sum();
                    prop_assert_eq!(total, t.loan.principal);
                    let mut prev = t.origination;
                    for (k, i) in inst.iter().enumerate() {
                        prop_assert_eq!(i.installment_no as usize, k + 1);
                        prop_assert!(i.due_date > prev, "{:?}", inst);
                        prev = i.due_date;
                        prop_assert!(i.principal_due >= Decimal::ZERO && i.interest_due >= Decimal::ZERO);
                        prop_assert_eq!(i.principal_due.scale(), 2);
                        prop_assert_eq!(i.interest_due.scale(), 2);
                        prop_assert!(to_fen(i.principal_due + i.interest_due).is_some());
                    }
                    if let Some(m) = t.maturity_date {
                        prop_assert_eq!(inst.last().unwrap().due_date, m);
                    }
                }
                // Documented as impossible within the limits, which these terms respect.
                Err(ScheduleError::Overflow) => prop_assert!(false, "overflow for {:?}", t),
                Err(_) => {}
            }
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn plain_valid_terms_always_give_a_schedule(t in terms(), n in 1u32..=600) {
            let t = Terms {
                term_months: Some(n * t.frequency.months()),
                first_due_date: None,
                maturity_date: None,
                ..t
            };
            let inst = schedule::generate(&t).unwrap();
            let expected = if t.method == Method::Bullet { 1 } else { n as usize };
            prop_assert_eq!(inst.len(), expected);
            prop_assert_eq!(inst.iter().map(|i| i.principal_due).sum::<Decimal>(), t.loan.principal);
        }
    }

    fn installments() -> impl Strategy<Value = Vec<engine::Installment>> {
        prop::collection::vec(
            (
                0u64..60,
                0i64..100_000_000_000,
                0i64..1_000_000_000,
                0i64..1_000_000,
            ),
            0..24,
        )
        .prop_map(|rows| {
            let mut due = 0;
            rows.into_iter()
                .enumerate()
                .map(|(k, (gap, p, i, f))| {
                    due += gap;
                    engine::Installment {
                        installment_no: k as u32 + 1,
                        due_date: date(7_300 + due),
                        principal_due: Decimal::new(p, 2),
                        interest_due: Decimal::new(i, 2),
                        fee_due: Decimal::new(f, 2),
                    }
                })
                .collect()
        })
    }

    fn payments() -> impl Strategy<Value = Vec<engine::Payment>> {
        prop::collection::vec(
            (
                0u64..1_500,
                0i64..100_000_000_000,
                prop::option::weighted(0.15, 0usize..40),
            ),
            0..30,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(k, (day, amount, rev))| engine::Payment {
                    txn_id: format!("T{k}"),
                    paid_on: date(7_300 + day),
                    amount: Decimal::new(amount, 2),
                    reverses_txn_id: rev.map(|r| format!("T{r}")),
                })
                .collect()
        })
    }

    fn conventions() -> impl Strategy<Value = Conventions> {
        (
            0u32..60,
            0i64..1_000,
            Just(vec![
                Component::Fee,
                Component::Interest,
                Component::Principal,
                Component::Penalty,
            ])
            .prop_shuffle(),
            1usize..=4,
            any::<bool>(),
            0i64..=30,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(grace, tol, order, n, penalty_first, mult, compound, reduce)| Conventions {
                    grace_days: grace,
                    tolerance: Decimal::new(tol, 2),
                    tolerance_pct: Decimal::ZERO,
                    order: order.into_iter().take(n).collect(),
                    penalty_first,
                    penalty_multiplier: Decimal::new(mult, 1),
                    compound_interest: compound,
                    prepay: if reduce {
                        Prepay::ReducePrincipalLast
                    } else {
                        Prepay::NextInstallments
                    },
                },
            )
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn positions_never_panic_and_equal_one_position_per_date(
            inst in installments(),
            pays in payments(),
            conv in conventions(),
            rate in 0i64..=360_000,
            principal in 0i64..100_000_000_000,
            as_ofs in prop::collection::vec(0u64..2_200, 0..8),
        ) {
            let terms = engine::LoanTerms {
                annual_rate_pct: Decimal::new(rate, 4),
                principal: Decimal::new(principal, 2),
            };
            let dates: Vec<NaiveDate> = as_ofs.iter().map(|d| date(7_000 + d)).collect();
            let all = engine::positions(&terms, &inst, &pays, &dates, &conv);
            prop_assert_eq!(all.len(), dates.len());
            for (p, d) in all.iter().zip(&dates) {
                prop_assert_eq!(p.as_of, *d);
                prop_assert_eq!(p, &engine::position(&terms, &inst, &pays, *d, &conv));
                prop_assert!(p.dpd <= p.max_dpd);
                prop_assert!(p.overdue_principal >= Decimal::ZERO);
                prop_assert!(p.outstanding_principal >= p.overdue_principal);
            }
        }
    }
}
