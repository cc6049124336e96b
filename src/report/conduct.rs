//! The conduct audit (RULES.md §5): the follow-up log checked against the collection conduct
//! rules, each breach listed with borrower, officer and date. The limits are the visit policy's
//! [`Conduct`] (one set of thresholds, TOML data with a compiled-in default, shared with
//! `schedule-visits`, which plans within them); this module finds where the log broke them.
//!
//! * `night`: a contact logged with a time inside `no_contact_from`..`no_contact_until`
//!   (22:00–08:00), outside any consent window the borrower gave. A contact without a time is
//!   not judged.
//! * `unanswered_per_number_per_day`: more than the limit (6) unanswered calls to one party of
//!   one borrower on one day (the party's number stands for "one number").
//! * `connected_calls_per_day`: more than the limit (3) connected calls about one borrower on
//!   one day.
//! * `third_party_while_reachable`: a contact with a third party (not the borrower, not a
//!   guarantor) on a day when the borrower had been reached by a connected contact on that day
//!   or in the [`AuditRules::reachable_days`] days before.
//!
//! One breach row per contact for `night` and `third_party_while_reachable`; one per group for
//! the two count rules, naming the officer of the contact that went past the limit.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveTime};

use crate::visits::conduct::allowed_at;
use crate::visits::policy::Conduct;
use crate::visits::Contact;

/// The rules, in the order the report lists them.
pub const RULES: [&str; 4] = [
    "night",
    "unanswered_per_number_per_day",
    "connected_calls_per_day",
    "third_party_while_reachable",
];

/// A consent window as logged (`18:00-21:00`; `~`, `～`, `–` or `至` also separate the two
/// times); None when it does not read as two HH:MM times.
pub fn parse_window(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let s = s.trim();
    let (a, b) = ['-', '~', '～', '–', '—', '至']
        .iter()
        .find_map(|c| s.split_once(*c))?;
    let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").ok();
    Some((t(a)?, t(b)?))
}

/// The limits of the audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRules {
    pub limits: Conduct,
    /// A connected contact with the borrower in the last N days (or that day) makes them
    /// reachable; default 7.
    pub reachable_days: u32,
}

impl Default for AuditRules {
    fn default() -> Self {
        AuditRules {
            limits: Conduct::default(),
            reachable_days: 7,
        }
    }
}

/// One logged contact with what the audit needs besides the contact itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    pub loan_id: String,
    pub borrower_id: String,
    pub officer: String,
    pub contact: Contact,
    /// The window the borrower agreed to be contacted in, if any.
    pub consent: Option<(NaiveTime, NaiveTime)>,
}

/// One breach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    pub rule: &'static str,
    pub date: NaiveDate,
    pub borrower_id: String,
    pub loan_id: String,
    pub officer: String,
    /// Contacts counted (1 for the per-contact rules).
    pub count: u32,
    /// The limit broken (0 for the per-contact rules).
    pub limit: u32,
}

fn is_debtor(party: &str) -> bool {
    matches!(
        party.trim().to_lowercase().as_str(),
        "" | "borrower" | "debtor" | "本人" | "借款人"
    )
}

fn is_guarantor(party: &str) -> bool {
    matches!(
        party.trim().to_lowercase().as_str(),
        "guarantor" | "担保人" | "保证人"
    )
}

/// Every breach in `log`, ordered by date, rule, borrower, loan.
pub fn audit(log: &[Logged], rules: &AuditRules) -> Vec<Breach> {
    let mut out = Vec::new();
    let breach = |rule, l: &Logged, count, limit| Breach {
        rule,
        date: l.contact.date,
        borrower_id: l.borrower_id.clone(),
        loan_id: l.loan_id.clone(),
        officer: l.officer.clone(),
        count,
        limit,
    };
    // Contacts in time order within a day (untimed ones last, in log order).
    let mut order: Vec<&Logged> = log.iter().collect();
    order.sort_by_key(|l| (l.contact.date, l.contact.time.is_none(), l.contact.time));
    for l in &order {
        if let Some(t) = l.contact.time {
            if !allowed_at(&rules.limits, t, l.consent) {
                out.push(breach("night", l, 1, 0));
            }
        }
    }
    let mut unanswered: BTreeMap<(&str, String, NaiveDate), Vec<&Logged>> = BTreeMap::new();
    let mut connected: BTreeMap<(&str, NaiveDate), Vec<&Logged>> = BTreeMap::new();
    for l in &order {
        if !l.contact.is_call() {
            continue;
        }
        if l.contact.connected {
            connected
                .entry((&l.borrower_id, l.contact.date))
                .or_default()
                .push(l);
        } else {
            let party = if is_debtor(&l.contact.party) {
                String::new()
            } else {
                l.contact.party.trim().to_string()
            };
            unanswered
                .entry((&l.borrower_id, party, l.contact.date))
                .or_default()
                .push(l);
        }
    }
    let limit = rules.limits.unanswered_per_number_per_day;
    for v in unanswered.values() {
        if v.len() > limit as usize {
            out.push(breach(
                "unanswered_per_number_per_day",
                v[limit as usize],
                v.len() as u32,
                limit,
            ));
        }
    }
    let limit = rules.limits.connected_calls_per_day;
    for v in connected.values() {
        if v.len() > limit as usize {
            out.push(breach(
                "connected_calls_per_day",
                v[limit as usize],
                v.len() as u32,
                limit,
            ));
        }
    }
    // Days each borrower was reached.
    let mut reached: BTreeMap<&str, Vec<NaiveDate>> = BTreeMap::new();
    for l in log {
        if l.contact.connected && is_debtor(&l.contact.party) {
            reached
                .entry(&l.borrower_id)
                .or_default()
                .push(l.contact.date);
        }
    }
    for l in &order {
        let p = &l.contact.party;
        if is_debtor(p) || is_guarantor(p) {
            continue;
        }
        let d = l.contact.date;
        let from = d
            .checked_sub_days(Days::new(u64::from(rules.reachable_days)))
            .unwrap_or(d);
        let was_reached = reached
            .get(l.borrower_id.as_str())
            .is_some_and(|days| days.iter().any(|r| *r >= from && *r <= d));
        if was_reached {
            out.push(breach("third_party_while_reachable", l, 1, 0));
        }
    }
    out.sort_by(|a, b| {
        (a.date, a.rule, &a.borrower_id, &a.loan_id).cmp(&(
            b.date,
            b.rule,
            &b.borrower_id,
            &b.loan_id,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn call(date: &str, time: Option<&str>, connected: bool, party: &str, officer: &str) -> Logged {
        Logged {
            loan_id: "L1".into(),
            borrower_id: "B1".into(),
            officer: officer.into(),
            contact: Contact {
                date: d(date),
                time: time.map(t),
                channel: "phone".into(),
                connected,
                party: party.into(),
            },
            consent: None,
        }
    }

    fn rules_of(v: &[Breach]) -> Vec<(&str, String, u32)> {
        v.iter()
            .map(|b| (b.rule, b.date.to_string(), b.count))
            .collect()
    }

    #[test]
    fn night_edges_and_consent() {
        let mut log = vec![
            call("2026-03-02", Some("21:59"), true, "", "E1"), // allowed
            call("2026-03-02", Some("22:00"), true, "", "E1"), // night starts at 22:00
            call("2026-03-03", Some("07:59"), false, "", "E1"), // still night
            call("2026-03-03", Some("08:00"), false, "", "E1"), // allowed
            call("2026-03-04", None, false, "", "E1"),         // no time: not judged
        ];
        let mut consented = call("2026-03-05", Some("22:30"), true, "", "E2");
        consented.consent = Some((t("22:00"), t("23:00")));
        log.push(consented);
        let v = audit(&log, &AuditRules::default());
        assert_eq!(
            rules_of(&v),
            vec![
                ("night", "2026-03-02".into(), 1),
                ("night", "2026-03-03".into(), 1)
            ]
        );
    }

    #[test]
    fn seven_unanswered_to_one_number_is_a_breach_six_is_not() {
        // 6 unanswered to the borrower on 03-02: at the limit, no breach.
        let mut log: Vec<Logged> = (0..6)
            .map(|k| {
                call(
                    "2026-03-02",
                    Some(&format!("{:02}:00", 9 + k)),
                    false,
                    "",
                    "E1",
                )
            })
            .collect();
        // 7 on 03-03: the 7th (by E2 at 15:00) breaks it.
        for k in 0..6 {
            log.push(call(
                "2026-03-03",
                Some(&format!("{:02}:00", 9 + k)),
                false,
                "本人",
                "E1",
            ));
        }
        log.push(call("2026-03-03", Some("15:00"), false, "", "E2"));
        // 7 on 03-04 but split over two numbers (borrower 4, spouse 3): no breach.
        for k in 0..4 {
            log.push(call(
                "2026-03-04",
                Some(&format!("{:02}:00", 9 + k)),
                false,
                "",
                "E1",
            ));
        }
        for k in 0..3 {
            log.push(call(
                "2026-03-04",
                Some(&format!("{:02}:00", 14 + k)),
                false,
                "spouse",
                "E1",
            ));
        }
        let v = audit(&log, &AuditRules::default());
        assert_eq!(
            rules_of(&v),
            vec![("unanswered_per_number_per_day", "2026-03-03".into(), 7)]
        );
        assert_eq!((v[0].officer.as_str(), v[0].limit), ("E2", 6));
    }

    #[test]
    fn four_connected_calls_a_day_is_a_breach() {
        let mut log: Vec<Logged> = (0..3)
            .map(|k| {
                call(
                    "2026-03-02",
                    Some(&format!("{:02}:00", 9 + k)),
                    true,
                    "",
                    "E1",
                )
            })
            .collect();
        let v = audit(&log, &AuditRules::default());
        assert!(v.is_empty(), "3 is the limit: {v:?}");
        log.push(call("2026-03-02", Some("16:00"), true, "", "E3"));
        let v = audit(&log, &AuditRules::default());
        assert_eq!(
            rules_of(&v),
            vec![("connected_calls_per_day", "2026-03-02".into(), 4)]
        );
        assert_eq!(v[0].officer, "E3");
    }

    #[test]
    fn third_party_contacts_while_the_borrower_was_reachable() {
        let log = vec![
            call("2026-03-01", Some("10:00"), true, "", "E1"), // borrower reached on 03-01
            call("2026-03-05", Some("10:00"), true, "colleague", "E1"), // 4 days later: breach
            call("2026-03-08", Some("10:00"), true, "guarantor", "E1"), // guarantor: allowed
            call("2026-03-09", Some("10:00"), false, "colleague", "E1"), // 8 days later: allowed
        ];
        let v = audit(&log, &AuditRules::default());
        assert_eq!(
            rules_of(&v),
            vec![("third_party_while_reachable", "2026-03-05".into(), 1)]
        );
        // the window is data: 10 days makes 03-09 a breach too
        let r = AuditRules {
            reachable_days: 10,
            ..AuditRules::default()
        };
        assert_eq!(audit(&log, &r).len(), 2);
        // an unanswered call does not make the borrower reachable
        let log = vec![
            call("2026-03-01", Some("10:00"), false, "", "E1"),
            call("2026-03-02", Some("10:00"), true, "colleague", "E1"),
        ];
        assert!(audit(&log, &AuditRules::default()).is_empty());
    }

    #[test]
    fn consent_windows_read_as_two_times() {
        assert_eq!(parse_window("18:00-21:00"), Some((t("18:00"), t("21:00"))));
        assert_eq!(
            parse_window(" 22:00 ~ 23:30 "),
            Some((t("22:00"), t("23:30")))
        );
        assert_eq!(parse_window("20:00至22:30"), Some((t("20:00"), t("22:30"))));
        assert_eq!(parse_window("evenings"), None);
        assert_eq!(parse_window("25:00-26:00"), None);
    }

    #[test]
    fn limits_are_data() {
        let mut r = AuditRules::default();
        r.limits.connected_calls_per_day = 1;
        let log = vec![
            call("2026-03-02", Some("09:00"), true, "", "E1"),
            call("2026-03-02", Some("10:00"), true, "", "E2"),
        ];
        let v = audit(&log, &r);
        assert_eq!(
            rules_of(&v),
            vec![("connected_calls_per_day", "2026-03-02".into(), 2)]
        );
    }
}
