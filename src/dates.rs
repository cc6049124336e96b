//! Calendar dates: strict ISO parsing, configurable import formats, and month
//! arithmetic that clamps to month end (the rule loan due dates follow).
//!
//! Everything here is pure: no clock, no time zone. Error values never contain
//! the offending text; their `Display` is the "what was expected" half of a
//! message such as `loans.csv line 3, column origination_date: "2026-02-30" is
//! not a real date (expected YYYY-MM-DD)`.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use std::fmt;

/// Earliest year accepted by [`parse_iso`] and [`parse_with_formats`].
pub const MIN_YEAR: i32 = 1900;
/// Latest year accepted by [`parse_iso`] and [`parse_with_formats`].
pub const MAX_YEAR: i32 = 2200;

/// Why a text could not be read as a date.
///
/// `Display` never includes the input itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DateError {
    /// The text was empty (or only whitespace).
    Empty,
    /// The text is not shaped like `YYYY-MM-DD` (e.g. `2026/01/02`, `20260102`, `2026-1-2`).
    NotIsoForm,
    /// The text is shaped like `YYYY-MM-DD` but names no real day (e.g. `2026-02-30`).
    NotRealDate,
    /// The date's year is outside [`MIN_YEAR`]..=[`MAX_YEAR`].
    YearOutOfRange,
    /// None of the given chrono formats matched; holds the formats tried.
    NoFormatMatched(Vec<String>),
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Empty => f.write_str("is empty; expected a date in YYYY-MM-DD form"),
            DateError::NotIsoForm => f.write_str("is not a date in YYYY-MM-DD form"),
            DateError::NotRealDate => f.write_str("is not a real date (expected YYYY-MM-DD)"),
            DateError::YearOutOfRange => write!(
                f,
                "is not a date between the years {MIN_YEAR} and {MAX_YEAR}"
            ),
            DateError::NoFormatMatched(formats) if formats.is_empty() => {
                f.write_str("is not a date (no date formats are configured)")
            }
            DateError::NoFormatMatched(formats) => {
                write!(
                    f,
                    "is not a date in any of the formats {}",
                    formats.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for DateError {}

fn year_ok(d: NaiveDate) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&d.year())
}

/// Parses a date strictly in `YYYY-MM-DD` form (exactly 10 characters,
/// zero-padded), ignoring surrounding ASCII whitespace. Years must be within
/// 1900..=2200.
pub fn parse_iso(s: &str) -> Result<NaiveDate, DateError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return Err(DateError::Empty);
    }
    let b = t.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return Err(DateError::NotIsoForm);
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    // At most 4 digits, so the cast cannot overflow.
    let year = num(0..4) as i32;
    let date =
        NaiveDate::from_ymd_opt(year, num(5..7), num(8..10)).ok_or(DateError::NotRealDate)?;
    if !year_ok(date) {
        return Err(DateError::YearOutOfRange);
    }
    Ok(date)
}

/// True if a chrono format string contains a time-of-day specifier.
fn has_time_spec(format: &str) -> bool {
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        // Skip padding/width modifiers such as %-H, %_H, %0H, %3f, %.3f.
        let mut spec = chars.next();
        while matches!(spec, Some('-' | '_' | '0'..='9' | '.' | ':' | '#')) {
            spec = chars.next();
        }
        if matches!(
            spec,
            Some(
                'H' | 'k'
                    | 'I'
                    | 'l'
                    | 'M'
                    | 'S'
                    | 'f'
                    | 'p'
                    | 'P'
                    | 'R'
                    | 'T'
                    | 'X'
                    | 'r'
                    | 'c'
                    | 's'
            )
        ) {
            return true;
        }
    }
    false
}

/// Parses a date with the first matching chrono format in `formats` (e.g.
/// `%m/%d/%Y`, `%y%m%d`, `%Y-%m-%dT%H:%M:%S`), ignoring surrounding ASCII
/// whitespace.
///
/// A format that contains a time of day (`%H`, `%M`, `%T`, ...) is parsed as a
/// date-time and its date is kept. chrono accepts unpadded numbers, so
/// `%m/%d/%Y` reads both `9/14/2016` and `09/08/2016`; `%y` maps 00-69 to
/// 2000-2069 and 70-99 to 1970-1999. A result outside the years 1900..=2200
/// does not count as a match; if that was the only reason nothing matched the
/// error is [`DateError::YearOutOfRange`]. Invalid formats simply never match.
pub fn parse_with_formats(s: &str, formats: &[String]) -> Result<NaiveDate, DateError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return Err(DateError::Empty);
    }
    let mut year_problem = false;
    for format in formats {
        let parsed = if has_time_spec(format) {
            NaiveDateTime::parse_from_str(t, format)
                .map(|dt| dt.date())
                .or_else(|_| NaiveDate::parse_from_str(t, format))
        } else {
            NaiveDate::parse_from_str(t, format)
        };
        match parsed {
            Ok(d) if year_ok(d) => return Ok(d),
            Ok(_) => year_problem = true,
            Err(_) => {}
        }
    }
    if year_problem {
        Err(DateError::YearOutOfRange)
    } else {
        Err(DateError::NoFormatMatched(formats.to_vec()))
    }
}

/// Number of days in `month` (1-12) of `year` (proleptic Gregorian);
/// returns 0 for a month outside 1..=12.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap {
                29
            } else {
                28
            }
        }
        _ => 0,
    }
}

/// The last day of `d`'s month.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    d.with_day(days_in_month(d.year(), d.month())).unwrap_or(d)
}

/// True if `d` is the last day of its month.
pub fn is_month_end(d: NaiveDate) -> bool {
    d.day() == days_in_month(d.year(), d.month())
}

/// The date `months` calendar months after `anchor`'s month, on day `day`
/// clamped to that month's last day.
///
/// `anchor`'s own day is ignored, so repeated calls with the same anchor and
/// day never drift: anchor 2026-01-31, day 31 gives 2026-02-28 for +1 and
/// 2026-03-31 for +2. Returns `None` if `day` is 0 or the result is outside
/// chrono's calendar.
pub fn add_months_clamped(anchor: NaiveDate, months: u32, day: u32) -> Option<NaiveDate> {
    if day == 0 {
        return None;
    }
    let total = i64::from(anchor.year()) * 12 + i64::from(anchor.month0()) + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = u32::try_from(total.rem_euclid(12)).ok()? + 1;
    let day = day.min(days_in_month(year, month));
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Every month-end date `d` with `from <= d <= to`, ascending; empty if `from > to`.
pub fn month_ends(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = month_end(from);
    while d <= to {
        out.push(d);
        match d.succ_opt() {
            Some(next) => d = month_end(next),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn fmts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_iso_accepts() {
        let cases = [
            ("2026-01-02", ymd(2026, 1, 2)),
            (" 2026-12-31 ", ymd(2026, 12, 31)),
            ("2024-02-29", ymd(2024, 2, 29)),
            ("2000-02-29", ymd(2000, 2, 29)),
            ("1900-01-01", ymd(1900, 1, 1)),
            ("2200-12-31", ymd(2200, 12, 31)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_iso(input), Ok(want), "input {input:?}");
        }
    }

    #[test]
    fn parse_iso_rejects() {
        use DateError::*;
        let cases = [
            ("", Empty),
            ("  ", Empty),
            ("2026-02-30", NotRealDate),
            ("2025-02-29", NotRealDate),
            ("1900-02-29", NotRealDate),
            ("2026-13-01", NotRealDate),
            ("2026-00-10", NotRealDate),
            ("2026-01-00", NotRealDate),
            ("2026-04-31", NotRealDate),
            ("2026/01/02", NotIsoForm),
            ("20260102", NotIsoForm),
            ("2026-1-2", NotIsoForm),
            ("2026-01-2", NotIsoForm),
            ("26-01-02", NotIsoForm),
            ("+2026-01-02", NotIsoForm),
            ("2026-01-02T00:00:00", NotIsoForm),
            ("2026-01-0x", NotIsoForm),
            ("２０２６-01-02", NotIsoForm),
            ("2026-01-0２", NotIsoForm),
            ("1899-12-31", YearOutOfRange),
            ("2201-01-01", YearOutOfRange),
            ("0000-01-01", YearOutOfRange),
            ("9999-12-31", YearOutOfRange),
        ];
        for (input, want) in cases {
            assert_eq!(parse_iso(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn date_error_display() {
        assert_eq!(
            parse_iso("2026-02-30").unwrap_err().to_string(),
            "is not a real date (expected YYYY-MM-DD)"
        );
        assert_eq!(
            parse_iso("2026/01/02").unwrap_err().to_string(),
            "is not a date in YYYY-MM-DD form"
        );
        assert_eq!(
            parse_iso("20260102").unwrap_err().to_string(),
            "is not a date in YYYY-MM-DD form"
        );
        let e = parse_with_formats("hello", &fmts(&["%m/%d/%Y", "%Y-%m-%d"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "is not a date in any of the formats %m/%d/%Y, %Y-%m-%d"
        );
        assert_eq!(
            parse_with_formats("2026-01-01", &[])
                .unwrap_err()
                .to_string(),
            "is not a date (no date formats are configured)"
        );
    }

    #[test]
    fn parse_with_formats_cases() {
        let cases: &[(&str, &[&str], NaiveDate)] = &[
            ("9/14/2016", &["%m/%d/%Y"], ymd(2016, 9, 14)),
            ("09/08/2016", &["%m/%d/%Y"], ymd(2016, 9, 8)),
            ("9/14/2016 19:31", &["%m/%d/%Y %H:%M"], ymd(2016, 9, 14)),
            ("930705", &["%y%m%d"], ymd(1993, 7, 5)),
            ("150705", &["%y%m%d"], ymd(2015, 7, 5)),
            (
                "2016-09-08T10:00:00",
                &["%Y-%m-%dT%H:%M:%S"],
                ymd(2016, 9, 8),
            ),
            ("2016-09-08", &["%m/%d/%Y", "%Y-%m-%d"], ymd(2016, 9, 8)),
            (
                "9/14/2016 19:31",
                &["%m/%d/%Y", "%m/%d/%Y %H:%M"],
                ymd(2016, 9, 14),
            ),
            ("  2016-09-08 ", &["%Y-%m-%d"], ymd(2016, 9, 8)),
            ("2016年9月8日", &["%Y年%m月%d日"], ymd(2016, 9, 8)),
            ("9/8/2016 7:05 PM", &["%m/%d/%Y %I:%M %p"], ymd(2016, 9, 8)),
        ];
        for (input, formats, want) in cases {
            assert_eq!(
                parse_with_formats(input, &fmts(formats)),
                Ok(*want),
                "input {input:?} formats {formats:?}"
            );
        }
    }

    #[test]
    fn parse_with_formats_rejects() {
        let cases: &[(&str, &[&str], DateError)] = &[
            ("", &["%Y-%m-%d"], DateError::Empty),
            (
                "2/30/2016",
                &["%m/%d/%Y"],
                DateError::NoFormatMatched(fmts(&["%m/%d/%Y"])),
            ),
            (
                "9/14/2016 19:31",
                &["%m/%d/%Y"],
                DateError::NoFormatMatched(fmts(&["%m/%d/%Y"])),
            ),
            (
                "9/14/2016 25:31",
                &["%m/%d/%Y %H:%M"],
                DateError::NoFormatMatched(fmts(&["%m/%d/%Y %H:%M"])),
            ),
            (
                "2016-09-08",
                &["%Q", "%"],
                DateError::NoFormatMatched(fmts(&["%Q", "%"])),
            ),
            ("1/1/1899", &["%m/%d/%Y"], DateError::YearOutOfRange),
            ("1/1/2201", &["%m/%d/%Y"], DateError::YearOutOfRange),
            (
                "1/1/99999",
                &["%m/%d/%Y"],
                DateError::NoFormatMatched(fmts(&["%m/%d/%Y"])),
            ),
        ];
        for (input, formats, want) in cases {
            assert_eq!(
                parse_with_formats(input, &fmts(formats)),
                Err(want.clone()),
                "input {input:?} formats {formats:?}"
            );
        }
    }

    #[test]
    fn time_spec_detection() {
        let cases = [
            ("%Y-%m-%d", false),
            ("%m/%d/%Y %H:%M", true),
            ("%Y-%m-%dT%T", true),
            ("%y%m%d", false),
            ("%Y-%m-%d %-I:%M %p", true),
            ("%%H", false),
            ("%", false),
        ];
        for (format, want) in cases {
            assert_eq!(has_time_spec(format), want, "format {format:?}");
        }
    }

    #[test]
    fn days_in_month_cases() {
        let cases = [
            (2024, 2, 29),
            (2025, 2, 28),
            (1900, 2, 28),
            (2000, 2, 29),
            (2100, 2, 28),
            (2026, 1, 31),
            (2026, 4, 30),
            (2026, 12, 31),
            (2026, 0, 0),
            (2026, 13, 0),
            (-4, 2, 29),
        ];
        for (y, m, want) in cases {
            assert_eq!(days_in_month(y, m), want, "{y}-{m}");
        }
    }

    #[test]
    fn month_end_cases() {
        let cases = [
            (ymd(2024, 2, 1), ymd(2024, 2, 29), false),
            (ymd(2024, 2, 29), ymd(2024, 2, 29), true),
            (ymd(2025, 2, 28), ymd(2025, 2, 28), true),
            (ymd(2026, 4, 30), ymd(2026, 4, 30), true),
            (ymd(2026, 4, 29), ymd(2026, 4, 30), false),
            (ymd(2026, 12, 31), ymd(2026, 12, 31), true),
        ];
        for (d, end, is_end) in cases {
            assert_eq!(month_end(d), end, "{d}");
            assert_eq!(is_month_end(d), is_end, "{d}");
        }
        let _ = month_end(NaiveDate::MAX);
        let _ = month_end(NaiveDate::MIN);
    }

    #[test]
    fn add_months_clamped_cases() {
        let cases = [
            (ymd(2026, 1, 31), 1, 31, Some(ymd(2026, 2, 28))),
            (ymd(2026, 1, 31), 2, 31, Some(ymd(2026, 3, 31))),
            (ymd(2026, 1, 31), 3, 31, Some(ymd(2026, 4, 30))),
            (ymd(2023, 1, 29), 13, 29, Some(ymd(2024, 2, 29))),
            (ymd(2024, 2, 29), 12, 29, Some(ymd(2025, 2, 28))),
            (ymd(2024, 2, 29), 48, 29, Some(ymd(2028, 2, 29))),
            (ymd(2026, 1, 15), 0, 15, Some(ymd(2026, 1, 15))),
            (ymd(2026, 1, 15), 0, 31, Some(ymd(2026, 1, 31))),
            (ymd(2026, 11, 30), 1, 30, Some(ymd(2026, 12, 30))),
            (ymd(2026, 12, 5), 1, 5, Some(ymd(2027, 1, 5))),
            (ymd(2026, 12, 5), 12, 5, Some(ymd(2027, 12, 5))),
            (ymd(2026, 12, 5), 25, 5, Some(ymd(2029, 1, 5))),
            (ymd(2026, 1, 5), 1, 40, Some(ymd(2026, 2, 28))),
            (ymd(2026, 1, 5), 1, 0, None),
            (ymd(2026, 1, 5), u32::MAX, 1, None),
            (NaiveDate::MAX, 1, 1, None),
        ];
        for (anchor, months, day, want) in cases {
            assert_eq!(
                add_months_clamped(anchor, months, day),
                want,
                "{anchor} + {months} day {day}"
            );
        }
    }

    #[test]
    fn month_ends_cases() {
        let cases = [
            (
                ymd(2024, 1, 15),
                ymd(2024, 4, 30),
                vec![
                    ymd(2024, 1, 31),
                    ymd(2024, 2, 29),
                    ymd(2024, 3, 31),
                    ymd(2024, 4, 30),
                ],
            ),
            (
                ymd(2024, 1, 31),
                ymd(2024, 4, 29),
                vec![ymd(2024, 1, 31), ymd(2024, 2, 29), ymd(2024, 3, 31)],
            ),
            (ymd(2024, 2, 1), ymd(2024, 2, 28), vec![]),
            (ymd(2024, 2, 29), ymd(2024, 2, 29), vec![ymd(2024, 2, 29)]),
            (ymd(2024, 5, 1), ymd(2024, 4, 1), vec![]),
            (
                ymd(2025, 12, 1),
                ymd(2026, 1, 31),
                vec![ymd(2025, 12, 31), ymd(2026, 1, 31)],
            ),
        ];
        for (from, to, want) in cases {
            assert_eq!(month_ends(from, to), want, "{from}..={to}");
        }
        let near_max = NaiveDate::MAX.pred_opt().unwrap();
        assert_eq!(month_ends(near_max, NaiveDate::MAX), vec![NaiveDate::MAX]);
    }
}

/// Formats a date as `YYYY-MM-DD` (faster than chrono's formatter in import loops).
pub fn iso(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// Reads a `YYYY-MM-DD` date written by daihou itself (the ledger), without chrono's parser.
pub fn from_ledger(s: &str) -> Option<NaiveDate> {
    from_ledger_bytes(s.as_bytes())
}

/// [`from_ledger`] on raw bytes (as SQLite hands them over).
pub fn from_ledger_bytes(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

#[cfg(test)]
mod prop_tests {
    use super::*;
    use proptest::prelude::*;

    use crate::test_support::prop_config as config;

    /// Leap years and month lengths worked out without chrono, as the oracle.
    fn real_day(y: u32, m: u32, d: u32) -> bool {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=len).contains(&d)
    }

    /// chrono format strings: specifiers (valid, odd and invalid), literals and stray `%`.
    fn formats() -> impl Strategy<Value = Vec<String>> {
        let piece = prop_oneof![
            "%[-_0#.:3-9]{0,2}[a-zA-Z+%.:]",
            "[-/ .T年月日:]{1,2}",
            Just("%".to_string()),
            any::<String>(),
        ];
        prop::collection::vec(
            prop::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
            0..4,
        )
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn parse_iso_never_panics(s in prop_oneof![any::<String>(), "[ 0-9-]{8,12}", "[0-9]{4}-[0-9]{2}-[0-9]{2}[\\s\u{a0}]?"]) {
            if let Ok(d) = parse_iso(&s) {
                prop_assert_eq!(iso(d), s.trim_matches(|c: char| c.is_ascii_whitespace()));
            }
        }

        #[test]
        fn parse_iso_accepts_exactly_the_real_dates(y in 0u32..=9999, m in 0u32..=13, d in 0u32..=32) {
            let text = format!("{y:04}-{m:02}-{d:02}");
            let want = real_day(y, m, d) && (MIN_YEAR as u32..=MAX_YEAR as u32).contains(&y);
            match parse_iso(&text) {
                Ok(date) => {
                    prop_assert!(want, "{} accepted", text);
                    prop_assert_eq!((date.year() as u32, date.month(), date.day()), (y, m, d));
                    prop_assert_eq!(from_ledger(&text), Some(date));
                }
                Err(e) => {
                    prop_assert!(!want, "{} refused: {}", text, e);
                    let expected = if real_day(y, m, d) { DateError::YearOutOfRange } else { DateError::NotRealDate };
                    prop_assert_eq!(e, expected);
                }
            }
        }

        #[test]
        fn parse_with_formats_never_panics(
            s in prop_oneof![any::<String>(), "[0-9/ :.-]{0,20}", "[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}( [0-9]{1,2}:[0-9]{2})?"],
            formats in formats(),
        ) {
            if let Ok(d) = parse_with_formats(&s, &formats) {
                prop_assert!((MIN_YEAR..=MAX_YEAR).contains(&d.year()));
            }
        }

        #[test]
        fn month_arithmetic_clamps_and_never_panics(y in 1900i32..=2200, m in 1u32..=12, months in 0u32..1_000, day in 0u32..40) {
            let anchor = NaiveDate::from_ymd_opt(y, m, 1).unwrap();
            if let Some(d) = add_months_clamped(anchor, months, day) {
                prop_assert!(d.day() <= day.max(1));
                prop_assert!(d.day() == day || is_month_end(d) || day == 0);
            }
            prop_assert!(is_month_end(month_end(anchor)));
        }
    }
}
