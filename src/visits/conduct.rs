//! Collection conduct limits (RULES.md §5), counted per borrower across loans and channels
//! from the follow-up log and the items already planned. One function, [`check`], says
//! whether a contact of a kind may be planned on a day, and if not, which rule held it back.
//!
//! * `connected_calls_per_day` (3): a call is held when the log already has that many
//!   connected calls with the borrower on the day.
//! * `unanswered_per_number_per_day` (6): a call is held when the log already has that many
//!   unanswered calls to the same party's number on the day.
//! * `contacts_per_7_days` (7): every 7-day window holding the day may hold at most that many
//!   contacts (logged, any channel, attempts included, plus planned) after adding this one.
//! * `quiet_days_after_conversation` (2): after a conversation on day C nothing is planned on
//!   C..=C+N, unless the item escalates (a ladder step reached after C, or a promise date the
//!   borrower chose).
//! * `no_contact_from`/`no_contact_until` (22:00–08:00): no contact at night unless the
//!   borrower agreed to a window; [`allowed_at`] and [`window`] apply it.

use chrono::{Days, NaiveDate, NaiveTime};

use super::policy::Conduct;
use super::{Contact, Kind};

/// A conduct rule that held an item back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    ConnectedCallsPerDay,
    UnansweredPerNumberPerDay,
    ContactsPer7Days,
    QuietPeriod,
}

impl Rule {
    /// The policy key of the rule, shown in `held_by`.
    pub fn key(self) -> &'static str {
        match self {
            Rule::ConnectedCallsPerDay => "connected_calls_per_day",
            Rule::UnansweredPerNumberPerDay => "unanswered_per_number_per_day",
            Rule::ContactsPer7Days => "contacts_per_7_days",
            Rule::QuietPeriod => "quiet_days_after_conversation",
        }
    }
}

/// True when `party` is the borrower (debtor) themself.
fn is_debtor(party: &str) -> bool {
    matches!(party.trim(), "" | "borrower" | "debtor" | "本人")
}

/// May a contact of `kind` with this borrower be planned on `day`?
///
/// `log` is the borrower's follow-ups (any order); `planned` the days of contacts already
/// planned for the borrower; `escalates_after` the latest day a ladder step or promise date
/// behind the item falls on (it lifts the quiet period of conversations before that day).
pub fn check(
    rules: &Conduct,
    log: &[Contact],
    planned: &[NaiveDate],
    day: NaiveDate,
    kind: Kind,
    escalates_after: Option<NaiveDate>,
) -> Result<(), Rule> {
    if kind == Kind::Call {
        let calls = log.iter().filter(|c| c.date == day && c.is_call());
        let connected = calls.clone().filter(|c| c.connected).count();
        if connected >= rules.connected_calls_per_day as usize {
            return Err(Rule::ConnectedCallsPerDay);
        }
        let unanswered = calls
            .filter(|c| !c.connected && is_debtor(&c.party))
            .count();
        if unanswered >= rules.unanswered_per_number_per_day as usize {
            return Err(Rule::UnansweredPerNumberPerDay);
        }
    }
    let cap = rules.contacts_per_7_days as usize;
    for k in 0..7u64 {
        let (Some(start), Some(end)) = (
            day.checked_sub_days(Days::new(6 - k)),
            day.checked_add_days(Days::new(k)),
        ) else {
            continue;
        };
        let in_window = |d: NaiveDate| d >= start && d <= end;
        let n = log.iter().filter(|c| in_window(c.date)).count()
            + planned.iter().filter(|d| in_window(**d)).count();
        if n + 1 > cap {
            return Err(Rule::ContactsPer7Days);
        }
    }
    let quiet = u64::from(rules.quiet_days_after_conversation);
    if quiet > 0 {
        let held = log
            .iter()
            .filter(|c| c.connected && c.date <= day)
            .any(|c| {
                let until = c.date.checked_add_days(Days::new(quiet)).unwrap_or(c.date);
                day <= until && escalates_after.is_none_or(|e| e <= c.date)
            });
        if held {
            return Err(Rule::QuietPeriod);
        }
    }
    Ok(())
}

/// May a guarantor or contact person be asked to reach the debtor (never told of the debt)?
/// Only when the debtor is unreachable: the last `third_party_after_unanswered` attempts to
/// the debtor on or before `as_of` went unanswered, with no conversation with them since.
pub fn third_party_allowed(rules: &Conduct, log: &[Contact], as_of: NaiveDate) -> bool {
    let mut mine: Vec<&Contact> = log
        .iter()
        .filter(|c| c.date <= as_of && is_debtor(&c.party))
        .collect();
    mine.sort_by_key(|c| (c.date, c.time));
    let unanswered = mine.iter().rev().take_while(|c| !c.connected).count();
    unanswered >= rules.third_party_after_unanswered as usize
}

/// Is a contact at `t` allowed? Outside the night, or inside the borrower's consent window.
pub fn allowed_at(rules: &Conduct, t: NaiveTime, consent: Option<(NaiveTime, NaiveTime)>) -> bool {
    if let Some((a, b)) = consent {
        if in_span(t, a, b) {
            return true;
        }
    }
    let (from, until) = rules.night();
    !in_span(t, from, until)
}

/// `a <= t < b`, wrapping past midnight when `b <= a`.
fn in_span(t: NaiveTime, a: NaiveTime, b: NaiveTime) -> bool {
    if a < b {
        t >= a && t < b
    } else {
        t >= a || t < b
    }
}

/// The contact window shown on a planned item: the borrower's consent window when given,
/// else the day outside the night (`08:00-22:00`).
pub fn window(rules: &Conduct, consent: Option<(NaiveTime, NaiveTime)>) -> String {
    let (a, b) = match consent {
        Some(w) => w,
        None => {
            let (from, until) = rules.night();
            (until, from)
        }
    };
    format!("{}-{}", a.format("%H:%M"), b.format("%H:%M"))
}

/// Logged contacts made at night without consent (a conduct breach to report).
pub fn night_breaches(
    rules: &Conduct,
    log: &[Contact],
    consent: Option<(NaiveTime, NaiveTime)>,
) -> usize {
    log.iter()
        .filter_map(|c| c.time)
        .filter(|t| !allowed_at(rules, *t, consent))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    fn call(on: &str, connected: bool) -> Contact {
        Contact {
            date: d(on),
            time: None,
            channel: "phone".into(),
            connected,
            party: String::new(),
        }
    }
    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }
    fn rules() -> Conduct {
        Conduct::default()
    }

    #[test]
    fn connected_calls_per_day_edge() {
        let day = "2026-03-10";
        let two = vec![call(day, true), call(day, true)];
        assert_eq!(
            check(&rules(), &two, &[], d(day), Kind::Call, None),
            Err(Rule::QuietPeriod)
        );
        // With the quiet period off, two connected calls still allow a third; three do not.
        let r = Conduct {
            quiet_days_after_conversation: 0,
            ..rules()
        };
        let mut log = two;
        let esc = None;
        assert_eq!(check(&r, &log, &[], d(day), Kind::Call, esc), Ok(()));
        log.push(call(day, true));
        assert_eq!(
            check(&r, &log, &[], d(day), Kind::Call, esc),
            Err(Rule::ConnectedCallsPerDay)
        );
        // A visit is not a call.
        let r7 = Conduct {
            contacts_per_7_days: 10,
            ..r.clone()
        };
        assert_eq!(check(&r7, &log, &[], d(day), Kind::Visit, esc), Ok(()));
        // The next day is a new day.
        assert_eq!(
            check(&r7, &log, &[], d("2026-03-11"), Kind::Call, esc),
            Ok(())
        );
    }

    #[test]
    fn unanswered_per_number_edge() {
        let day = "2026-03-10";
        let r = Conduct {
            contacts_per_7_days: 100,
            ..rules()
        };
        let mut log: Vec<Contact> = (0..5).map(|_| call(day, false)).collect();
        assert_eq!(check(&r, &log, &[], d(day), Kind::Call, None), Ok(()));
        // Unanswered calls to a guarantor's number do not count against the borrower's.
        log.push(Contact {
            party: "guarantor".into(),
            ..call(day, false)
        });
        assert_eq!(check(&r, &log, &[], d(day), Kind::Call, None), Ok(()));
        log.push(call(day, false));
        assert_eq!(
            check(&r, &log, &[], d(day), Kind::Call, None),
            Err(Rule::UnansweredPerNumberPerDay)
        );
        assert_eq!(check(&r, &log, &[], d(day), Kind::Visit, None), Ok(()));
    }

    #[test]
    fn seven_day_cap_edge() {
        let r = Conduct {
            quiet_days_after_conversation: 0,
            ..rules()
        };
        // Six attempts on 03-04..03-09, none connected.
        let log: Vec<Contact> = (4..=9)
            .map(|k| call(&format!("2026-03-{k:02}"), false))
            .collect();
        // 03-10: the window 03-04..03-10 holds 6 + 1 = 7: allowed.
        assert_eq!(
            check(&r, &log, &[], d("2026-03-10"), Kind::Call, None),
            Ok(())
        );
        // One planned contact on 03-10 makes an eighth on 03-10 too many...
        let planned = [d("2026-03-10")];
        assert_eq!(
            check(&r, &log, &planned, d("2026-03-10"), Kind::Visit, None),
            Err(Rule::ContactsPer7Days)
        );
        // ... and a contact on 03-11 too (window 03-05..03-11: 5 + 1 planned + 1).
        assert_eq!(
            check(&r, &log, &planned, d("2026-03-11"), Kind::Call, None),
            Ok(())
        );
        // Two planned (03-10 and another on 03-11) make a contact on 03-11 the eighth.
        let planned2 = [d("2026-03-10"), d("2026-03-11")];
        assert_eq!(
            check(&r, &log, &planned2, d("2026-03-11"), Kind::Call, None),
            Err(Rule::ContactsPer7Days)
        );
        assert_eq!(
            check(&r, &log, &planned2, d("2026-03-12"), Kind::Call, None),
            Ok(())
        );
        // A window ahead counts too: a contact on 03-03 would make 03-03..03-09 hold 7 — allowed,
        // with a planned one on 03-08 as well it is 8.
        assert_eq!(
            check(&r, &log, &[], d("2026-03-03"), Kind::Call, None),
            Ok(())
        );
        assert_eq!(
            check(
                &r,
                &log,
                &[d("2026-03-08")],
                d("2026-03-03"),
                Kind::Call,
                None
            ),
            Err(Rule::ContactsPer7Days)
        );
        // A week later the window is empty.
        assert_eq!(
            check(&r, &log, &[], d("2026-03-16"), Kind::Call, None),
            Ok(())
        );
    }

    #[test]
    fn quiet_period_edge_and_escalation() {
        let log = vec![call("2026-03-10", true), call("2026-03-09", false)];
        for (day, held) in [
            ("2026-03-10", true),
            ("2026-03-11", true),
            ("2026-03-12", true),
            ("2026-03-13", false),
            ("2026-03-09", false), // before the conversation
        ] {
            let got = check(&rules(), &log, &[], d(day), Kind::Visit, None);
            assert_eq!(got.is_err(), held, "{day}");
            if held {
                assert_eq!(got, Err(Rule::QuietPeriod));
            }
        }
        // A ladder step reached after the conversation lifts the quiet period; one reached
        // before (or on) it does not.
        assert_eq!(
            check(
                &rules(),
                &log,
                &[],
                d("2026-03-11"),
                Kind::Visit,
                Some(d("2026-03-11"))
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &rules(),
                &log,
                &[],
                d("2026-03-11"),
                Kind::Visit,
                Some(d("2026-03-10"))
            ),
            Err(Rule::QuietPeriod)
        );
    }

    #[test]
    fn third_parties_only_once_the_debtor_is_unreachable() {
        let r = rules(); // 3 unanswered in a row
        let mut log = vec![call("2026-03-01", true), call("2026-03-02", false)];
        log.push(call("2026-03-03", false));
        assert!(!third_party_allowed(&r, &log, d("2026-03-10")), "two");
        // A guarantor's unanswered call is not an attempt to reach the debtor.
        log.push(Contact {
            party: "guarantor".into(),
            ..call("2026-03-04", false)
        });
        assert!(!third_party_allowed(&r, &log, d("2026-03-10")));
        log.push(call("2026-03-05", false));
        assert!(third_party_allowed(&r, &log, d("2026-03-10")), "three");
        assert!(
            !third_party_allowed(&r, &log, d("2026-03-04")),
            "as of before the third"
        );
        // A conversation resets it.
        log.push(call("2026-03-06", true));
        assert!(!third_party_allowed(&r, &log, d("2026-03-10")));
    }

    #[test]
    fn night_edges() {
        let r = rules();
        for (at, ok) in [
            ("07:59", false),
            ("08:00", true),
            ("12:00", true),
            ("21:59", true),
            ("22:00", false),
            ("23:30", false),
            ("00:00", false),
        ] {
            assert_eq!(allowed_at(&r, t(at), None), ok, "{at}");
        }
        // The borrower agreed to be called 21:00–23:00.
        let consent = Some((t("21:00"), t("23:00")));
        assert!(allowed_at(&r, t("22:30"), consent));
        assert!(!allowed_at(&r, t("23:00"), consent));
        assert_eq!(window(&r, None), "08:00-22:00");
        assert_eq!(window(&r, consent), "21:00-23:00");
        let log = vec![
            Contact {
                time: Some(t("22:15")),
                ..call("2026-03-10", true)
            },
            Contact {
                time: Some(t("09:00")),
                ..call("2026-03-10", true)
            },
            call("2026-03-10", false),
        ];
        assert_eq!(night_breaches(&r, &log, None), 1);
        assert_eq!(night_breaches(&r, &log, consent), 0);
    }
}
