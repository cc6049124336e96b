//! The visit and call policy: frequencies, windows, capacities, conduct limits and priority
//! weights, as TOML with a compiled-in default ([`DEFAULT_POLICY_TOML`], `--print-policy`).
//! A policy file may set only some keys; the others keep their defaults. Unknown keys,
//! impossible values and zero capacities are errors with the file, line and key (exit 78).

use std::collections::BTreeMap;

use chrono::NaiveTime;
use serde::Deserialize;

use crate::rulefile::{self, Invalid};

use super::{Grade, Segment};

/// The compiled-in policy, printed by `--print-policy`.
pub const DEFAULT_POLICY_TOML: &str = r#"# daihou schedule-visits policy. Every key is optional in a file passed with --policy;
# missing keys keep these defaults.

[visits]
# Routine visits (回访): every active borrower at least this often, by the worst grade of
# its loans, counted from the last logged visit (or from the first origination).
routine_months = { normal = 12, special_mention = 3, substandard = 1, doubtful = 1, loss = 1 }
restructured_months = 1        # restructured loans in observation: monthly
window_days = 14               # a routine visit may be made up to this many days early
catch_up_days = 30             # routine visits already late are spread evenly over this many days
first_check_days = 30          # first check within this many days of origination
broken_promise_days = 7        # visit within this many days after a broken promise to pay
# Overdue verification visits (走访核实) follow the collection ladder's `require_channel = "visit"`
# steps (default: from DPD 31, within 14 days).

[calls]
# Ladder reminders follow the ladder's `contact_within_days` steps (first contact within 7 days).
reminder_every_days = 7        # while overdue, a reminder call this many days after the last contact
reminder_within_days = 3       # ... made within this many days of falling due
promise_followup_days = 1      # a call on the promise date, or up to this many days after
call_before_visit = true       # a call on the working day before each planned visit

[capacity]
visits_per_day = 6             # per officer and working day
calls_per_day = 40

[conduct]
# RULES.md §5: counted per borrower across loans and channels from the follow-up log.
connected_calls_per_day = 3    # GB/T 45251—2025
unanswered_per_number_per_day = 6   # 银行业协会 2026
no_contact_from = "22:00"      # no contact 22:00–08:00 unless the borrower agreed (consent window)
no_contact_until = "08:00"
contacts_per_7_days = 7        # cap on contacts (every channel, attempts included) in any 7 days
quiet_days_after_conversation = 2   # no new contact for this many days after a conversation,
                                    # unless the ladder escalates or it is a promise follow-up
# Who may be contacted: the debtor; guarantors as the contract allows; third parties only when
# the debtor is unreachable, only to reach them, never disclosing the debt. Contacts with these
# parties (contact_party; empty = debtor) meet the plan's needs (first contact, reminders,
# visits); contacts with anyone else count only against the limits above.
meets_needs = ["debtor"]
third_party_after_unanswered = 3    # unanswered attempts in a row to the debtor (since the last
                                    # conversation) before a day sheet allows asking a guarantor
                                    # or contact person to reach them

[priority]
# The score is the sum of these parts; each row shows them. Ties: deadline, then borrower_id.
dpd_per_day = 1                # × the borrower's worst DPD ...
dpd_cap = 180                  # ... counted up to this many days
balance_per_10k = 2            # × balance at risk (outstanding principal) per 10,000 ...
balance_cap = 100              # ... up to this many points
grade = { normal = 0, special_mention = 20, substandard = 40, doubtful = 50, loss = 50 }
# Willing payers with large balances first (以大本金、有意愿还款的客户为主).
segment = { willing_able = 40, willing_unable = 15, unwilling = 5, unknown = 0 }
broken_promise = 30            # per broken promise ...
broken_promise_cap = 3         # ... counting at most this many
since_contact_per_day = 1      # × days since the last contact ...
since_contact_cap = 60         # ... up to this many points
slack_per_day = 5              # × (slack_days − days of slack to the deadline); late counts double
slack_days = 14
rollover = 25                  # per plan in which the item was planned and not done ...
rollover_cap = 3               # ... counting at most this many
"#;

/// Routine visit frequencies and windows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisitRules {
    pub routine_months: BTreeMap<String, u32>,
    pub restructured_months: u32,
    pub window_days: u32,
    pub catch_up_days: u32,
    pub first_check_days: u32,
    pub broken_promise_days: u32,
}

impl Default for VisitRules {
    fn default() -> Self {
        VisitRules {
            routine_months: [
                ("normal", 12),
                ("special_mention", 3),
                ("substandard", 1),
                ("doubtful", 1),
                ("loss", 1),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            restructured_months: 1,
            window_days: 14,
            catch_up_days: 30,
            first_check_days: 30,
            broken_promise_days: 7,
        }
    }
}

impl VisitRules {
    /// Months between routine visits for a grade.
    pub fn months_for(&self, g: Grade) -> u32 {
        self.routine_months.get(g.key()).copied().unwrap_or(12)
    }
}

/// Call rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallRules {
    pub reminder_every_days: u32,
    pub reminder_within_days: u32,
    pub promise_followup_days: u32,
    pub call_before_visit: bool,
}

impl Default for CallRules {
    fn default() -> Self {
        CallRules {
            reminder_every_days: 7,
            reminder_within_days: 3,
            promise_followup_days: 1,
            call_before_visit: true,
        }
    }
}

/// Per officer and working day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capacity {
    pub visits_per_day: u32,
    pub calls_per_day: u32,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            visits_per_day: 6,
            calls_per_day: 40,
        }
    }
}

/// Conduct limits (RULES.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conduct {
    pub connected_calls_per_day: u32,
    pub unanswered_per_number_per_day: u32,
    pub no_contact_from: String,
    pub no_contact_until: String,
    pub contacts_per_7_days: u32,
    pub quiet_days_after_conversation: u32,
    /// Parties whose contacts meet the plan's needs (`debtor`, `guarantor`, `contact`,
    /// `third_party`).
    pub meets_needs: Vec<String>,
    pub third_party_after_unanswered: u32,
}

impl Default for Conduct {
    fn default() -> Self {
        Conduct {
            connected_calls_per_day: 3,
            unanswered_per_number_per_day: 6,
            no_contact_from: "22:00".into(),
            no_contact_until: "08:00".into(),
            contacts_per_7_days: 7,
            quiet_days_after_conversation: 2,
            meets_needs: vec!["debtor".into()],
            third_party_after_unanswered: 3,
        }
    }
}

impl Conduct {
    /// The night (from, until) as times; validated by [`Policy::from_toml`].
    pub fn night(&self) -> (NaiveTime, NaiveTime) {
        let t = |s: &str, h| NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_else(|_| hm(h, 0));
        (t(&self.no_contact_from, 22), t(&self.no_contact_until, 8))
    }

    /// Does a contact with `party` (as a [`super::Contact`] holds it: empty = the debtor) meet
    /// the plan's needs?
    pub fn meets_needs(&self, party: &str) -> bool {
        let party = if party.is_empty() { "debtor" } else { party };
        self.meets_needs.iter().any(|p| p == party)
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// Priority weights (integer points).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    pub dpd_per_day: i64,
    pub dpd_cap: u32,
    pub balance_per_10k: i64,
    pub balance_cap: i64,
    pub grade: BTreeMap<String, i64>,
    pub segment: BTreeMap<String, i64>,
    pub broken_promise: i64,
    pub broken_promise_cap: u32,
    pub since_contact_per_day: i64,
    pub since_contact_cap: i64,
    pub slack_per_day: i64,
    pub slack_days: i64,
    pub rollover: i64,
    pub rollover_cap: u32,
}

impl Default for Weights {
    fn default() -> Self {
        let map = |v: &[(&str, i64)]| v.iter().map(|(k, x)| (k.to_string(), *x)).collect();
        Weights {
            dpd_per_day: 1,
            dpd_cap: 180,
            balance_per_10k: 2,
            balance_cap: 100,
            grade: map(&[
                ("normal", 0),
                ("special_mention", 20),
                ("substandard", 40),
                ("doubtful", 50),
                ("loss", 50),
            ]),
            segment: map(&[
                ("willing_able", 40),
                ("willing_unable", 15),
                ("unwilling", 5),
                ("unknown", 0),
            ]),
            broken_promise: 30,
            broken_promise_cap: 3,
            since_contact_per_day: 1,
            since_contact_cap: 60,
            slack_per_day: 5,
            slack_days: 14,
            rollover: 25,
            rollover_cap: 3,
        }
    }
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub visits: VisitRules,
    pub calls: CallRules,
    pub capacity: Capacity,
    pub conduct: Conduct,
    pub priority: Weights,
}

impl Policy {
    /// Parses and validates policy text, naming it `origin` in errors (exit 78); keys it leaves
    /// out keep their defaults.
    pub fn from_toml(origin: &str, text: &str) -> anyhow::Result<Policy> {
        rulefile::parse_with(origin, text, |p: Policy| p.validate(text))
    }

    /// Checks what serde cannot: known grades and segments, frequencies of 1..=120 months,
    /// capacities and caps of at least 1, times of day. `text` locates the key.
    pub fn validate(self, text: &str) -> Result<Policy, Invalid> {
        let p = self;
        let err = |key: &str, message: String| match key_span(text, key) {
            Some(span) => Invalid::at(span, message),
            None => Invalid::new(message).key(key),
        };
        for (key, map) in [
            (
                "routine_months",
                p.visits.routine_months.keys().collect::<Vec<_>>(),
            ),
            ("grade", p.priority.grade.keys().collect()),
        ] {
            for k in map {
                if Grade::from_key(k).is_none() {
                    return Err(err(
                        key,
                        format!(
                            "unknown grade {k:?} (expected normal, special_mention, substandard, doubtful, loss)"
                        ),
                    ));
                }
            }
        }
        for k in p.priority.segment.keys() {
            if Segment::parse(k).is_none() {
                return Err(err(
                    "segment",
                    format!("unknown segment {k:?} (expected willing_able, willing_unable, unwilling, unknown)"),
                ));
            }
        }
        for (k, v) in &p.visits.routine_months {
            if *v == 0 || *v > 120 {
                return Err(err(
                    "routine_months",
                    format!("{k} must be between 1 and 120 months"),
                ));
            }
        }
        for p in &p.conduct.meets_needs {
            if crate::collection::Party::parse(p).map(|x| x.as_str()) != Some(p.as_str()) {
                return Err(err(
                    "meets_needs",
                    format!(
                        "unknown party {p:?} (expected debtor, guarantor, contact, third_party)"
                    ),
                ));
            }
        }
        let positive: [(&str, u32); 8] = [
            ("restructured_months", p.visits.restructured_months),
            ("first_check_days", p.visits.first_check_days),
            ("catch_up_days", p.visits.catch_up_days),
            ("reminder_every_days", p.calls.reminder_every_days),
            ("visits_per_day", p.capacity.visits_per_day),
            ("calls_per_day", p.capacity.calls_per_day),
            ("contacts_per_7_days", p.conduct.contacts_per_7_days),
            (
                "third_party_after_unanswered",
                p.conduct.third_party_after_unanswered,
            ),
        ];
        for (k, v) in positive {
            if v == 0 {
                return Err(err(k, "must be at least 1".to_string()));
            }
        }
        for (k, v) in [
            ("no_contact_from", &p.conduct.no_contact_from),
            ("no_contact_until", &p.conduct.no_contact_until),
        ] {
            if NaiveTime::parse_from_str(v, "%H:%M").is_err() {
                return Err(err(k, "expected a time of day as HH:MM".to_string()));
            }
        }
        if p.priority.slack_days < 0 {
            return Err(err("slack_days", "must not be negative".to_string()));
        }
        Ok(p)
    }
}

/// The byte range of `key` where a line assigns it (`key = …`, after blanks), if any.
fn key_span(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let lead = line.len() - line.trim_start().len();
        let rest = &line[lead..];
        if let Some(after) = rest.strip_prefix(key) {
            if after.trim_start().starts_with('=') {
                return Some(at + lead..at + lead + key.len());
            }
        }
        at += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_is_the_default() {
        assert_eq!(
            Policy::from_toml("built-in", DEFAULT_POLICY_TOML).unwrap(),
            Policy::default()
        );
        assert_eq!(Policy::from_toml("p.toml", "").unwrap(), Policy::default());
        let (from, until) = Policy::default().conduct.night();
        assert_eq!((from, until), (hm(22, 0), hm(8, 0)));
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let p = Policy::from_toml("p.toml", "[capacity]\nvisits_per_day = 4\n").unwrap();
        assert_eq!(p.capacity.visits_per_day, 4);
        assert_eq!(p.capacity.calls_per_day, 40);
        assert_eq!(p.visits, VisitRules::default());
        let p = Policy::from_toml("p.toml", "[visits]\nroutine_months = { normal = 6 }\n").unwrap();
        assert_eq!(p.visits.months_for(Grade::Pass), 6);
        // A grade left out of a custom map falls back to annual.
        assert_eq!(p.visits.months_for(Grade::Loss), 12);
    }

    #[test]
    fn errors_name_line_and_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "[capacity]\nvisits_per_day = 0\n",
                "line 2, column 1, key capacity.visits_per_day",
                "at least 1",
            ),
            (
                "[capacity]\nvisitors = 3\n",
                "line 2, column 1, key capacity.visitors",
                "unknown field",
            ),
            ("[colour]\n", "line 1", "unknown field"),
            (
                "\n[conduct]\nno_contact_from = \"25:00\"\n",
                "line 3, column 1, key conduct.no_contact_from",
                "HH:MM",
            ),
            (
                "[visits]\nroutine_months = { great = 1 }\n",
                "line 2, column 1, key visits.routine_months",
                "unknown grade",
            ),
            (
                "[visits]\nroutine_months = { normal = 0 }\n",
                "line 2, column 1, key visits.routine_months",
                "between 1 and 120",
            ),
            (
                "[priority]\n  segment = { maybe = 1 }\n",
                "line 2, column 3, key priority.segment",
                "unknown segment",
            ),
            (
                "[capacity]\nvisits_per_day = \"six\"\n",
                "line 2, column 18, key capacity.visits_per_day",
                "",
            ),
        ];
        for &(text, place, want) in cases {
            let e = format!("{:#}", Policy::from_toml("p.toml", text).unwrap_err());
            assert!(e.starts_with("p.toml line"), "{text:?}: {e}");
            assert!(e.contains(place), "{text:?}: {e}");
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert_eq!(key_span("a = 1\n  bb = 2\n", "bb"), Some(8..10));
        assert_eq!(key_span("a = 1\n", "b"), None);
    }
}
