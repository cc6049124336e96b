//! Working days: weekends off by default, plus a calendar of public holidays and the swapped
//! working days (调休) that make up for them, as TOML data.
//!
//! Pure: no clock, no I/O. The command reads the file and passes its text to
//! [`Calendar::from_toml`]; errors carry the line and key, never a value from a row.
//!
//! # Rules
//!
//! * A day is a working day when it is a listed `[[workday]]` (调休 make-up day, even on a
//!   weekend), else when it is neither a listed `[[holiday]]` nor a weekend day.
//! * `weekend` lists the weekday names that are off (default `["saturday", "sunday"]`;
//!   `[]` makes every day a working day unless listed as a holiday).
//! * A `[[holiday]]` has either `date` or `from` and `to` (inclusive, at most 31 days);
//!   `name` is optional. A `[[workday]]` has `date` and an optional `name`.
//! * A date listed both as a holiday and as a workday is an error, as are unknown keys and
//!   impossible dates (`2026-02-30`).
//!
//! The example `examples/calendars/cn-2026.toml` holds the 2026 mainland calendar.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

/// Where a TOML rules file (calendar, policy) went wrong: a 1-based line, the key when known,
/// and what was expected. Holds no value from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlError {
    pub line: usize,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(k) = &self.key {
            write!(f, ", key {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for TomlError {}

/// The 1-based line of byte offset `at` in `text`.
pub fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The first line that assigns `key` (`key =` at the start of a line, after blanks), or 1.
pub fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || t.strip_prefix(&format!("\"{key}\""))
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// Turns a `toml` parse error into a [`TomlError`] with its line and, for unknown or missing
/// fields, the key.
pub fn from_toml_error(text: &str, e: &toml::de::Error) -> TomlError {
    let line = e.span().map_or(1, |s| line_of(text, s.start));
    let msg = e.message().to_string();
    let key = e.span().and_then(|s| {
        let k = text.get(s.clone())?.trim().trim_matches('"');
        (!k.is_empty() && k.len() <= 64 && !k.contains('\n')).then(|| k.to_string())
    });
    // Only an unknown field names its key reliably; for a bad value the span is the value.
    let key = if msg.starts_with("unknown field") || msg.starts_with("missing field") {
        key.or_else(|| backticked(&msg))
    } else {
        None
    };
    TomlError {
        line,
        key,
        message: msg,
    }
}

fn backticked(msg: &str) -> Option<String> {
    let a = msg.find('`')?;
    let b = msg[a + 1..].find('`')?;
    Some(msg[a + 1..a + 1 + b].to_string())
}

/// Working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub name: String,
    pub weekend: Vec<Weekday>,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    /// Saturday and Sunday off, no holidays.
    fn default() -> Self {
        Calendar {
            name: "weekends".to_string(),
            weekend: vec![Weekday::Sat, Weekday::Sun],
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    weekend: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
    #[serde(default)]
    workday: Vec<WorkdayEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    #[serde(default)]
    #[allow(dead_code)] // documentation in the file
    name: Option<String>,
    #[serde(default)]
    date: Option<Spanned<String>>,
    #[serde(default)]
    from: Option<Spanned<String>>,
    #[serde(default)]
    to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkdayEntry {
    #[serde(default)]
    #[allow(dead_code)] // documentation in the file
    name: Option<String>,
    date: Spanned<String>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

impl Calendar {
    /// Parses and validates a calendar file.
    pub fn from_toml(text: &str) -> Result<Calendar, TomlError> {
        let file: CalendarFile = toml::from_str(text).map_err(|e| from_toml_error(text, &e))?;
        let date = |s: &Spanned<String>, key: &str| -> Result<NaiveDate, TomlError> {
            crate::dates::parse_iso(s.get_ref()).map_err(|e| TomlError {
                line: line_of(text, s.span().start),
                key: Some(key.to_string()),
                message: format!("the value {e}"),
            })
        };
        let mut cal = Calendar {
            name: file.name.unwrap_or_else(|| "calendar".to_string()),
            ..Calendar::default()
        };
        if let Some(days) = &file.weekend {
            cal.weekend.clear();
            for d in days {
                let w = weekday(d.get_ref()).ok_or_else(|| TomlError {
                    line: line_of(text, d.span().start),
                    key: Some("weekend".into()),
                    message: "expected weekday names such as \"saturday\" or \"sun\"".into(),
                })?;
                if !cal.weekend.contains(&w) {
                    cal.weekend.push(w);
                }
            }
        }
        for h in &file.holiday {
            let (from, to, at) = match (&h.date, &h.from, &h.to) {
                (Some(d), None, None) => (date(d, "date")?, date(d, "date")?, d.span().start),
                (None, Some(f), Some(t)) => (date(f, "from")?, date(t, "to")?, f.span().start),
                (_, _, _) => {
                    let at = h
                        .date
                        .as_ref()
                        .or(h.from.as_ref())
                        .or(h.to.as_ref())
                        .map_or(0, |s| s.span().start);
                    return Err(TomlError {
                        line: if at == 0 {
                            line_of_key(text, "[[holiday]]").max(1)
                        } else {
                            line_of(text, at)
                        },
                        key: Some("holiday".into()),
                        message: "a [[holiday]] needs either `date` or both `from` and `to`".into(),
                    });
                }
            };
            if to < from || (to - from).num_days() > 30 {
                return Err(TomlError {
                    line: line_of(text, at),
                    key: Some("to".into()),
                    message: "`to` must be on or after `from` and at most 31 days later".into(),
                });
            }
            let mut d = from;
            while d <= to {
                cal.holidays.insert(d);
                d = d + Days::new(1);
            }
        }
        for w in &file.workday {
            let d = date(&w.date, "date")?;
            if cal.holidays.contains(&d) {
                return Err(TomlError {
                    line: line_of(text, w.date.span().start),
                    key: Some("date".into()),
                    message: "this date is also listed as a holiday".into(),
                });
            }
            cal.workdays.insert(d);
        }
        Ok(cal)
    }

    /// True when officers work on `d`.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && !self.weekend.contains(&d.weekday())
    }

    /// The working days in `[from, to]`.
    pub fn working_days(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut d = from;
        while d <= to {
            if self.is_working_day(d) {
                out.push(d);
            }
            match d.checked_add_days(Days::new(1)) {
                Some(n) => d = n,
                None => break,
            }
        }
        out
    }

    /// The first `n` working days on or after `from` (fewer only if none exist within ten
    /// years, e.g. a calendar with every day off).
    pub fn next_working_days(&self, from: NaiveDate, n: usize) -> Vec<NaiveDate> {
        let mut out = Vec::with_capacity(n);
        let mut d = from;
        let mut looked = 0;
        while out.len() < n && looked < 3660 {
            if self.is_working_day(d) {
                out.push(d);
            }
            looked += 1;
            match d.checked_add_days(Days::new(1)) {
                Some(x) => d = x,
                None => break,
            }
        }
        out
    }

    /// The working day on or after `d` (itself when it is one), within a year.
    pub fn on_or_after(&self, d: NaiveDate) -> Option<NaiveDate> {
        self.next_working_days(d, 1)
            .first()
            .copied()
            .filter(|x| (*x - d).num_days() <= 366)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    const CN_2026: &str = include_str!("../examples/calendars/cn-2026.toml");

    #[test]
    fn default_has_weekends_off() {
        let c = Calendar::default();
        assert!(c.is_working_day(d("2026-03-06"))); // Friday
        assert!(!c.is_working_day(d("2026-03-07"))); // Saturday
        assert!(!c.is_working_day(d("2026-03-08"))); // Sunday
        assert!(c.is_working_day(d("2026-03-09"))); // Monday
        assert_eq!(
            c.working_days(d("2026-03-06"), d("2026-03-09")),
            vec![d("2026-03-06"), d("2026-03-09")]
        );
        assert_eq!(
            c.next_working_days(d("2026-03-07"), 3),
            vec![d("2026-03-09"), d("2026-03-10"), d("2026-03-11")]
        );
        assert_eq!(c.on_or_after(d("2026-03-07")), Some(d("2026-03-09")));
        assert_eq!(c.on_or_after(d("2026-03-06")), Some(d("2026-03-06")));
    }

    #[test]
    fn cn_2026_holidays_and_tiaoxiu() {
        let c = Calendar::from_toml(CN_2026).unwrap();
        // 元旦: Thu 1 – Sat 3 off, Sun 4 worked.
        for s in ["2026-01-01", "2026-01-02", "2026-01-03"] {
            assert!(!c.is_working_day(d(s)), "{s}");
        }
        assert!(c.is_working_day(d("2026-01-04")), "调休 Sunday");
        assert!(c.is_working_day(d("2026-01-05")));
        // 春节: Sun 15 – Mon 23 Feb off; Sat 14 and Sat 28 worked.
        assert!(c.is_working_day(d("2026-02-13")));
        assert!(c.is_working_day(d("2026-02-14")), "调休 Saturday");
        for k in 15..=23 {
            let s = format!("2026-02-{k}");
            assert!(!c.is_working_day(d(&s)), "{s}");
        }
        assert!(c.is_working_day(d("2026-02-24")));
        assert!(c.is_working_day(d("2026-02-28")), "调休 Saturday");
        assert!(!c.is_working_day(d("2026-03-01")));
        // 国庆: 1 – 7 Oct off; Sun 20 Sep and Sat 10 Oct worked.
        assert!(c.is_working_day(d("2026-09-20")));
        assert!(!c.is_working_day(d("2026-10-07")));
        assert!(c.is_working_day(d("2026-10-08")));
        assert!(c.is_working_day(d("2026-10-10")));
        // 劳动节 and its make-up Saturday.
        assert!(!c.is_working_day(d("2026-05-05")));
        assert!(c.is_working_day(d("2026-05-09")));
        // Ten working days from the Friday before the Spring Festival cross the whole break.
        let days = c.next_working_days(d("2026-02-13"), 4);
        assert_eq!(
            days,
            vec![
                d("2026-02-13"),
                d("2026-02-14"),
                d("2026-02-24"),
                d("2026-02-25")
            ]
        );
        // 2026 has 365 − 104 weekend days − 19 listed holiday weekdays + 6 make-up days.
        let n = c.working_days(d("2026-01-01"), d("2026-12-31")).len();
        let weekday_holidays = c
            .holidays
            .iter()
            .filter(|h| !matches!(h.weekday(), Weekday::Sat | Weekday::Sun))
            .count();
        assert_eq!(c.workdays.len(), 6);
        assert_eq!(n, 365 - 104 - weekday_holidays + 6);
    }

    #[test]
    fn custom_weekend_and_ranges() {
        let c = Calendar::from_toml(
            "weekend = [\"sun\"]\n[[holiday]]\ndate = \"2026-03-10\"\n[[holiday]]\nfrom = \"2026-03-12\"\nto = \"2026-03-13\"\n",
        )
        .unwrap();
        assert!(c.is_working_day(d("2026-03-07"))); // Saturday works
        assert!(!c.is_working_day(d("2026-03-08")));
        assert!(!c.is_working_day(d("2026-03-10")));
        assert!(c.is_working_day(d("2026-03-11")));
        assert!(!c.is_working_day(d("2026-03-12")));
        assert!(!c.is_working_day(d("2026-03-13")));
        let all = Calendar::from_toml("weekend = []").unwrap();
        assert!(all.is_working_day(d("2026-03-08")));
        let none = Calendar::from_toml(
            "weekend = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]",
        )
        .unwrap();
        assert!(none.next_working_days(d("2026-01-01"), 1).is_empty());
        assert_eq!(none.on_or_after(d("2026-01-01")), None);
    }

    #[test]
    fn errors_name_line_and_key() {
        let cases: &[(&str, usize, Option<&str>, &str)] = &[
            (
                "name = \"x\"\ncolour = 1\n",
                2,
                Some("colour"),
                "unknown field",
            ),
            (
                "[[holiday]]\nname = \"a\"\ndate = \"2026-02-30\"\n",
                3,
                Some("date"),
                "not a real date",
            ),
            (
                "[[workday]]\ndate = \"2026/01/04\"\n",
                2,
                Some("date"),
                "YYYY-MM-DD",
            ),
            (
                "[[holiday]]\nfrom = \"2026-02-10\"\nto = \"2026-02-01\"\n",
                2,
                Some("to"),
                "on or after",
            ),
            (
                "[[holiday]]\nfrom = \"2026-02-10\"\n",
                2,
                Some("holiday"),
                "both `from` and `to`",
            ),
            (
                "\n[[holiday]]\ndate = \"2026-01-01\"\n[[workday]]\ndate = \"2026-01-01\"\n",
                5,
                Some("date"),
                "also listed as a holiday",
            ),
            (
                "weekend = [\"caturday\"]\n",
                1,
                Some("weekend"),
                "weekday names",
            ),
            ("[[workday]]\nname = \"x\"\n", 1, None, "missing field"),
            ("a = [\n", 2, None, ""),
        ];
        for &(text, line, key, want) in cases {
            let e = Calendar::from_toml(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            if key.is_some() {
                assert_eq!(e.key.as_deref(), key, "{text:?}: {e}");
            }
            assert!(e.to_string().contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn line_helpers() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
        assert_eq!(
            line_of_key("x = 1\n  visits_per_day = 0\n", "visits_per_day"),
            2
        );
        assert_eq!(line_of_key("x = 1\n", "nope"), 1);
    }
}
