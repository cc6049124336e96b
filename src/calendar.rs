//! Working days: weekends off by default, plus a calendar of public holidays and the swapped
//! working days (调休) that make up for them, as TOML data.
//!
//! Pure: no clock, no I/O. The command reads the file through [`crate::rulefile`] into a
//! [`CalendarFile`] and validates it with [`Calendar::from_file`]; errors carry the file, line,
//! column and key (exit 78).
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

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::rulefile::{self, Invalid};

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

/// A calendar file as written (read it with [`crate::rulefile`], then [`Calendar::from_file`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarFile {
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
pub struct HolidayEntry {
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
pub struct WorkdayEntry {
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
    /// Parses and validates calendar text, naming it `origin` in errors (exit 78).
    pub fn from_toml(origin: &str, text: &str) -> anyhow::Result<Calendar> {
        rulefile::parse_with(origin, text, Calendar::from_file)
    }

    /// Validates a calendar file: known weekdays, real dates, ranges in order, no date both a
    /// holiday and a workday.
    pub fn from_file(file: CalendarFile) -> Result<Calendar, Invalid> {
        let date = |s: &Spanned<String>| -> Result<NaiveDate, Invalid> {
            crate::dates::parse_iso(s.get_ref())
                .map_err(|e| Invalid::at(s.span(), format!("the value {e}")))
        };
        let mut cal = Calendar {
            name: file.name.unwrap_or_else(|| "calendar".to_string()),
            ..Calendar::default()
        };
        if let Some(days) = &file.weekend {
            cal.weekend.clear();
            for d in days {
                let w = weekday(d.get_ref()).ok_or_else(|| {
                    Invalid::at(
                        d.span(),
                        "expected weekday names such as \"saturday\" or \"sun\"",
                    )
                    .key("weekend")
                })?;
                if !cal.weekend.contains(&w) {
                    cal.weekend.push(w);
                }
            }
        }
        for h in &file.holiday {
            let (from, to, span) = match (&h.date, &h.from, &h.to) {
                (Some(d), None, None) => (date(d)?, date(d)?, d.span()),
                (None, Some(f), Some(t)) => (date(f)?, date(t)?, t.span()),
                (_, _, _) => {
                    let at = h.date.as_ref().or(h.from.as_ref()).or(h.to.as_ref());
                    let msg = "a [[holiday]] needs either `date` or both `from` and `to`";
                    return Err(match at {
                        Some(s) => Invalid::at(s.span(), msg),
                        None => Invalid::new(msg),
                    }
                    .key("holiday"));
                }
            };
            if to < from || (to - from).num_days() > 30 {
                return Err(Invalid::at(
                    span,
                    "`to` must be on or after `from` and at most 31 days later",
                ));
            }
            let mut d = from;
            while d <= to {
                cal.holidays.insert(d);
                d = d + Days::new(1);
            }
        }
        for w in &file.workday {
            let d = date(&w.date)?;
            if cal.holidays.contains(&d) {
                return Err(Invalid::at(
                    w.date.span(),
                    "this date is also listed as a holiday",
                ));
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
        let c = Calendar::from_toml("cn-2026.toml", CN_2026).unwrap();
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
            "t.toml",
            "weekend = [\"sun\"]\n[[holiday]]\ndate = \"2026-03-10\"\n[[holiday]]\nfrom = \"2026-03-12\"\nto = \"2026-03-13\"\n",
        )
        .unwrap();
        assert!(c.is_working_day(d("2026-03-07"))); // Saturday works
        assert!(!c.is_working_day(d("2026-03-08")));
        assert!(!c.is_working_day(d("2026-03-10")));
        assert!(c.is_working_day(d("2026-03-11")));
        assert!(!c.is_working_day(d("2026-03-12")));
        assert!(!c.is_working_day(d("2026-03-13")));
        let all = Calendar::from_toml("t.toml", "weekend = []").unwrap();
        assert!(all.is_working_day(d("2026-03-08")));
        let none = Calendar::from_toml(
            "t.toml",
            "weekend = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]",
        )
        .unwrap();
        assert!(none.next_working_days(d("2026-01-01"), 1).is_empty());
        assert_eq!(none.on_or_after(d("2026-01-01")), None);
    }

    #[test]
    fn errors_name_line_and_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "name = \"x\"\ncolour = 1\n",
                "line 2, column 1, key colour",
                "unknown field",
            ),
            (
                "[[holiday]]\nname = \"a\"\ndate = \"2026-02-30\"\n",
                "line 3, column 8, key holiday.date",
                "not a real date",
            ),
            (
                "[[workday]]\ndate = \"2026/01/04\"\n",
                "line 2, column 8, key workday.date",
                "YYYY-MM-DD",
            ),
            (
                "[[holiday]]\nfrom = \"2026-02-10\"\nto = \"2026-02-01\"\n",
                "line 3, column 6, key holiday.to",
                "on or after",
            ),
            (
                "[[holiday]]\nfrom = \"2026-02-10\"\n",
                "line 2, column 8, key holiday",
                "both `from` and `to`",
            ),
            (
                "\n[[holiday]]\ndate = \"2026-01-01\"\n[[workday]]\ndate = \"2026-01-01\"\n",
                "line 5, column 8, key workday.date",
                "also listed as a holiday",
            ),
            (
                "weekend = [\"caturday\"]\n",
                "line 1, column 12, key weekend",
                "weekday names",
            ),
            (
                "[[workday]]\nname = \"x\"\n",
                "cal.toml line 1",
                "missing field",
            ),
            ("a = [\n", "cal.toml line 2", ""),
        ];
        for &(text, place, want) in cases {
            let e = format!("{:#}", Calendar::from_toml("cal.toml", text).unwrap_err());
            assert!(e.starts_with("cal.toml "), "{text:?}: {e}");
            assert!(e.contains(place), "{text:?}: {e}");
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
