//! The collection ladder (催收阶梯) and promises to pay (承诺还款), as data.
//!
//! Pure like the engine: no clock (`as_of` is a parameter), no I/O, never
//! panics. Only follow-ups with `contact_date <= as_of` count, so the same
//! call answers "what did we know on that day".
//!
//! # Ladder rules
//!
//! * A ladder is a list of steps ascending by `from_dpd` (TOML `[[step]]`
//!   tables; [`DEFAULT_LADDER_TOML`] is compiled in). The step that applies
//!   is the last one with `from_dpd <= dpd`; its `action` is the next action.
//!   No action when `dpd == 0` or below the first step.
//! * A step is *reached* on `overdue_since + from_dpd − 1` (so the first
//!   step, from_dpd 1, is reached on `overdue_since` itself). Every reached
//!   step's requirements are checked, not only the current one's, so a
//!   missed first contact stays breached after the loan moves on.
//! * `contact_within_days = N`: some follow-up (any channel, any outcome —
//!   a logged attempt counts) must fall in `[reached, reached + N]`; breached
//!   only once `as_of > reached + N` (day N is still in time, day N+1 is
//!   not).
//! * `require_channel = C`: some follow-up of channel C must be logged on or
//!   after the day the step is reached. The allowance is
//!   `channel_within_days` (default [`DEFAULT_CHANNEL_ALLOWANCE_DAYS`] = 14):
//!   breached only once `as_of > reached + allowance` with no such
//!   follow-up. A later follow-up of that channel clears the breach.
//! * When `overdue_since` is `None` but `dpd > 0`, it is taken as
//!   `as_of − dpd` (the engine's definition).
//!
//! # Promises
//!
//! Each follow-up with outcome `promise_to_pay` and a `promise_date` is
//! *kept* when the payments dated in `[contact_date, promise_date]` (and
//! `<= as_of`) add up to at least `promise_amount` (or, with no amount or an
//! amount <= 0, when they add up to more than 0); *broken* when not kept and
//! `promise_date < as_of`; otherwise *pending* (the promise date itself is
//! still pending).

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;

/// How a follow-up reached (or tried to reach) the borrower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Phone,
    Sms,
    Visit,
    Letter,
    Legal,
    /// WeChat (微信) message or call.
    Wechat,
    /// A message in the bank's app.
    App,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Phone,
        Channel::Sms,
        Channel::Visit,
        Channel::Letter,
        Channel::Legal,
        Channel::Wechat,
        Channel::App,
    ];

    /// The name in the tape, the ledger and the ladder.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Sms => "sms",
            Channel::Visit => "visit",
            Channel::Letter => "letter",
            Channel::Legal => "legal",
            Channel::Wechat => "wechat",
            Channel::App => "app",
        }
    }

    /// A name (any case) or its Chinese alias (电话, 短信, 上门, 走访, 信函, 诉讼, 微信).
    pub fn parse(s: &str) -> Option<Channel> {
        let s = s.to_ascii_lowercase();
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .or(match s.as_str() {
                "电话" => Some(Channel::Phone),
                "短信" => Some(Channel::Sms),
                "上门" | "走访" => Some(Channel::Visit),
                "信函" => Some(Channel::Letter),
                "诉讼" => Some(Channel::Legal),
                "微信" => Some(Channel::Wechat),
                _ => None,
            })
    }

    /// The names, for messages: `phone, sms, visit, letter, legal, wechat, app`.
    pub fn names() -> String {
        Channel::ALL.map(Channel::as_str).join(", ")
    }
}

/// Whom a follow-up reached or tried to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The borrower (本人).
    Debtor,
    /// A guarantor (担保人).
    Guarantor,
    /// A contact person the borrower named (联系人).
    Contact,
    /// Anyone else (第三方).
    ThirdParty,
}

impl Party {
    pub const ALL: [Party; 4] = [
        Party::Debtor,
        Party::Guarantor,
        Party::Contact,
        Party::ThirdParty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Party::Debtor => "debtor",
            Party::Guarantor => "guarantor",
            Party::Contact => "contact",
            Party::ThirdParty => "third_party",
        }
    }

    /// A name (any case) or its Chinese alias (本人, 债务人, 借款人, 担保人, 联系人, 第三方).
    pub fn parse(s: &str) -> Option<Party> {
        let s = s.to_ascii_lowercase();
        Party::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .or(match s.as_str() {
                "本人" | "债务人" | "借款人" => Some(Party::Debtor),
                "担保人" => Some(Party::Guarantor),
                "联系人" => Some(Party::Contact),
                "第三方" => Some(Party::ThirdParty),
                _ => None,
            })
    }

    /// The names, for messages.
    pub fn names() -> String {
        Party::ALL.map(Party::as_str).join(", ")
    }
}

/// What a follow-up achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    NoAnswer,
    Contacted,
    PromiseToPay,
    Refused,
    Paid,
    Other,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::NoAnswer,
        Outcome::Contacted,
        Outcome::PromiseToPay,
        Outcome::Refused,
        Outcome::Paid,
        Outcome::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NoAnswer => "no_answer",
            Outcome::Contacted => "contacted",
            Outcome::PromiseToPay => "promise_to_pay",
            Outcome::Refused => "refused",
            Outcome::Paid => "paid",
            Outcome::Other => "other",
        }
    }

    /// A name, any case.
    pub fn parse(s: &str) -> Option<Outcome> {
        let s = s.to_ascii_lowercase();
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The names, for messages.
    pub fn names() -> String {
        Outcome::ALL.map(Outcome::as_str).join(", ")
    }
}

/// Days allowed after reaching a step before a missing required channel is
/// a breach, unless the step sets `channel_within_days`.
pub const DEFAULT_CHANNEL_ALLOWANCE_DAYS: u32 = 14;

/// The compiled-in ladder.
pub const DEFAULT_LADDER_TOML: &str = r#"# Collection ladder: the step with the highest from_dpd <= dpd applies.
[[step]]
from_dpd = 1
action = "sms_phone_reminder"
contact_within_days = 7        # a first contact must be logged within 7 days of falling overdue

[[step]]
from_dpd = 31
action = "collection_notice_and_visit"   # 正式催收函 + 走访核实
require_channel = "visit"
# channel_within_days = 14     # allowance after reaching the step (default 14)

[[step]]
from_dpd = 91
action = "legal_review_asset_preservation"
"#;

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub from_dpd: u32,
    pub action: String,
    #[serde(default)]
    pub contact_within_days: Option<u32>,
    #[serde(default)]
    pub require_channel: Option<String>,
    /// Allowance for `require_channel`; default 14 days.
    #[serde(default)]
    pub channel_within_days: Option<u32>,
}

/// A validated ladder (steps strictly ascending by `from_dpd`, all >= 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    pub steps: Vec<Step>,
}

/// A ladder file as written (read it with [`crate::rulefile`], then [`Ladder::from_file`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderFile {
    #[serde(default)]
    pub step: Vec<Step>,
}

impl Default for Ladder {
    /// [`DEFAULT_LADDER_TOML`] (a unit test checks that it is valid).
    fn default() -> Self {
        Ladder::from_toml(DEFAULT_LADDER_TOML).expect("the compiled-in ladder is valid")
    }
}

impl Ladder {
    /// Parses and validates a ladder: at least one step, `from_dpd >= 1`
    /// and strictly ascending, non-empty actions, known channels.
    pub fn from_toml(text: &str) -> Result<Ladder, String> {
        let file: LadderFile =
            toml::from_str(text).map_err(|e| format!("ladder TOML: {}", e.message()))?;
        Ladder::from_file(file)
    }

    /// Validates a parsed ladder file (the checks of [`Ladder::from_toml`]).
    pub fn from_file(file: LadderFile) -> Result<Ladder, String> {
        let mut steps = file.step;
        if steps.is_empty() {
            return Err("ladder has no [[step]]".to_string());
        }
        for (k, s) in steps.iter_mut().enumerate() {
            let n = k + 1;
            s.action = s.action.trim().to_string();
            if s.action.is_empty() {
                return Err(format!("step {n}: action is empty"));
            }
            if s.from_dpd == 0 {
                return Err(format!(
                    "step {n} ({}): from_dpd must be >= 1 (dpd 0 needs no action)",
                    s.action
                ));
            }
            if let Some(c) = &mut s.require_channel {
                match Channel::parse(c.trim()) {
                    Some(ch) => *c = ch.as_str().to_string(),
                    None => {
                        return Err(format!(
                            "step {n} ({}): unknown require_channel {:?} (expected one of {})",
                            s.action,
                            c.trim().to_ascii_lowercase(),
                            Channel::names()
                        ))
                    }
                }
            }
        }
        for (k, w) in steps.windows(2).enumerate() {
            if w[1].from_dpd <= w[0].from_dpd {
                return Err(format!(
                    "step {} ({}): from_dpd {} must be greater than the previous step's {}",
                    k + 2,
                    w[1].action,
                    w[1].from_dpd,
                    w[0].from_dpd
                ));
            }
        }
        Ok(Ladder { steps })
    }

    /// The step that applies at `dpd` (None at 0 or below the first step).
    pub fn step_for(&self, dpd: u32) -> Option<&Step> {
        if dpd == 0 {
            return None;
        }
        self.steps.iter().rev().find(|s| s.from_dpd <= dpd)
    }
}

/// One logged collection contact (催收记录).
#[derive(Debug, Clone, PartialEq)]
pub struct Followup {
    pub contact_date: NaiveDate,
    pub channel: Channel,
    pub outcome: Outcome,
    pub promise_date: Option<NaiveDate>,
    pub promise_amount: Option<Decimal>,
}

/// What to do next on an overdue loan, and whether the ladder's service
/// levels were missed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Action {
    pub next_action: Option<String>,
    pub last_contact: Option<NaiveDate>,
    pub last_contact_channel: Option<String>,
    pub sla_breached: bool,
    /// All breaches, `; `-separated.
    pub sla_reason: Option<String>,
}

/// The next action and SLA status for a loan at `dpd` as of `as_of`.
pub fn next_action(
    ladder: &Ladder,
    dpd: u32,
    overdue_since: Option<NaiveDate>,
    followups: &[Followup],
    as_of: NaiveDate,
) -> Action {
    let mut out = Action::default();
    // Latest contact on or before as_of (ties: the later-listed one).
    for f in followups.iter().filter(|f| f.contact_date <= as_of) {
        if out.last_contact.is_none_or(|d| f.contact_date >= d) {
            out.last_contact = Some(f.contact_date);
            out.last_contact_channel = Some(f.channel.as_str().to_string());
        }
    }
    let step = match ladder.step_for(dpd) {
        Some(s) => s,
        None => return out,
    };
    out.next_action = Some(step.action.clone());

    let since = match overdue_since.or_else(|| as_of.checked_sub_days(Days::new(u64::from(dpd)))) {
        Some(s) => s,
        None => return out,
    };
    let mut reasons: Vec<String> = Vec::new();
    for s in ladder.steps.iter().filter(|s| s.from_dpd <= dpd) {
        let reached = match since.checked_add_days(Days::new(u64::from(s.from_dpd) - 1)) {
            Some(r) => r,
            None => continue,
        };
        if let Some(n) = s.contact_within_days {
            if let Some(deadline) = reached.checked_add_days(Days::new(u64::from(n))) {
                let contacted = followups
                    .iter()
                    .any(|f| f.contact_date >= reached && f.contact_date <= deadline.min(as_of));
                if as_of > deadline && !contacted {
                    reasons.push(if s.from_dpd == 1 {
                        format!("no contact within {n} days of falling overdue ({since}), due by {deadline}")
                    } else {
                        format!(
                            "no contact within {n} days of reaching {} dpd ({reached}), due by {deadline}",
                            s.from_dpd
                        )
                    });
                }
            }
        }
        if let Some(ch) = &s.require_channel {
            let allowance = s
                .channel_within_days
                .unwrap_or(DEFAULT_CHANNEL_ALLOWANCE_DAYS);
            if let Some(deadline) = reached.checked_add_days(Days::new(u64::from(allowance))) {
                let done = followups.iter().any(|f| {
                    f.contact_date >= reached
                        && f.contact_date <= as_of
                        && f.channel.as_str() == ch.as_str()
                });
                if as_of > deadline && !done {
                    reasons.push(format!(
                        "no {ch} since reaching {} dpd ({reached}), due by {deadline}",
                        s.from_dpd
                    ));
                }
            }
        }
    }
    if !reasons.is_empty() {
        out.sla_breached = true;
        out.sla_reason = Some(reasons.join("; "));
    }
    out
}

/// State of one promise to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromiseState {
    Kept,
    Broken,
    Pending,
}

impl PromiseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseState::Kept => "kept",
            PromiseState::Broken => "broken",
            PromiseState::Pending => "pending",
        }
    }
}

/// One promise to pay and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct PromiseStatus {
    pub contact_date: NaiveDate,
    pub promise_date: NaiveDate,
    pub promise_amount: Option<Decimal>,
    /// Payments dated in [contact_date, promise_date], up to as_of.
    pub paid: Decimal,
    pub state: PromiseState,
}

/// Counts over [`promises`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromiseSummary {
    pub kept: u32,
    pub broken: u32,
    pub pending: u32,
    /// Latest promise date among broken promises.
    pub last_broken: Option<NaiveDate>,
}

/// Every promise to pay logged on or before `as_of`, in the order given.
/// `payments` are (date, amount) of effective payments (reversed ones
/// already removed).
pub fn promises(
    followups: &[Followup],
    payments: &[(NaiveDate, Decimal)],
    as_of: NaiveDate,
) -> Vec<PromiseStatus> {
    followups
        .iter()
        .filter(|f| f.contact_date <= as_of && f.outcome == Outcome::PromiseToPay)
        .filter_map(|f| {
            let pd = f.promise_date?;
            let paid = payments
                .iter()
                .filter(|(d, _)| *d >= f.contact_date && *d <= pd && *d <= as_of)
                .fold(Decimal::ZERO, |a, (_, x)| a.saturating_add(*x));
            let kept = paid > Decimal::ZERO
                && match f.promise_amount {
                    Some(a) if a > Decimal::ZERO => paid >= a,
                    _ => true,
                };
            let state = if kept {
                PromiseState::Kept
            } else if pd < as_of {
                PromiseState::Broken
            } else {
                PromiseState::Pending
            };
            Some(PromiseStatus {
                contact_date: f.contact_date,
                promise_date: pd,
                promise_amount: f.promise_amount,
                paid,
                state,
            })
        })
        .collect()
}

/// Kept / broken / pending counts and the latest broken promise date.
pub fn promise_summary(list: &[PromiseStatus]) -> PromiseSummary {
    let mut s = PromiseSummary::default();
    for p in list {
        match p.state {
            PromiseState::Kept => s.kept += 1,
            PromiseState::Pending => s.pending += 1,
            PromiseState::Broken => {
                s.broken += 1;
                if s.last_broken.is_none_or(|d| p.promise_date > d) {
                    s.last_broken = Some(p.promise_date);
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::{d, m};
    fn fu(on: &str, channel: &str, outcome: &str) -> Followup {
        Followup {
            contact_date: d(on),
            channel: Channel::parse(channel).unwrap(),
            outcome: Outcome::parse(outcome).unwrap(),
            promise_date: None,
            promise_amount: None,
        }
    }
    fn promise(on: &str, by: &str, amt: Option<&str>) -> Followup {
        Followup {
            promise_date: Some(d(by)),
            promise_amount: amt.map(m),
            ..fu(on, "phone", "promise_to_pay")
        }
    }
    fn plus(s: &str, n: u64) -> NaiveDate {
        d(s) + Days::new(n)
    }

    #[test]
    fn default_ladder_parses_and_matches() {
        let l = Ladder::default();
        assert_eq!(l, Ladder::from_toml(DEFAULT_LADDER_TOML).unwrap());
        assert_eq!(l.steps.len(), 3);
        assert_eq!(l.steps[0].contact_within_days, Some(7));
        assert_eq!(l.steps[1].require_channel.as_deref(), Some("visit"));
    }

    #[test]
    fn ladder_validation() {
        let cases: &[(&str, &str)] = &[
            ("", "no [[step]]"),
            ("[[step]]\nfrom_dpd = 0\naction = \"x\"", "must be >= 1"),
            (
                "[[step]]\nfrom_dpd = 31\naction = \"a\"\n[[step]]\nfrom_dpd = 31\naction = \"b\"",
                "must be greater",
            ),
            (
                "[[step]]\nfrom_dpd = 31\naction = \"a\"\n[[step]]\nfrom_dpd = 1\naction = \"b\"",
                "must be greater",
            ),
            ("[[step]]\nfrom_dpd = 1\naction = \" \"", "action is empty"),
            (
                "[[step]]\nfrom_dpd = 1\naction = \"a\"\nrequire_channel = \"pigeon\"",
                "unknown require_channel",
            ),
            (
                "[[step]]\nfrom_dpd = 1\naction = \"a\"\ncolour = 1",
                "colour",
            ),
            ("[[step]]\nfrom_dpd = -1\naction = \"a\"", "ladder TOML"),
            ("not toml [", "ladder TOML"),
        ];
        for &(text, want) in cases {
            let err = Ladder::from_toml(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let l = Ladder::from_toml(
            "[[step]]\nfrom_dpd = 5\naction = \"call\"\nrequire_channel = \"Phone\"\nchannel_within_days = 2",
        )
        .unwrap();
        assert_eq!(l.steps[0].require_channel.as_deref(), Some("phone"));
    }

    #[test]
    fn action_by_dpd() {
        let l = Ladder::default();
        let cases: &[(u32, Option<&str>)] = &[
            (0, None),
            (1, Some("sms_phone_reminder")),
            (30, Some("sms_phone_reminder")),
            (31, Some("collection_notice_and_visit")),
            (90, Some("collection_notice_and_visit")),
            (91, Some("legal_review_asset_preservation")),
            (u32::MAX, Some("legal_review_asset_preservation")),
        ];
        for &(dpd, want) in cases {
            let a = next_action(&l, dpd, None, &[], d("2030-01-01"));
            assert_eq!(a.next_action.as_deref(), want, "dpd {dpd}");
        }
        // Below the first step of a custom ladder: nothing yet.
        let l = Ladder::from_toml("[[step]]\nfrom_dpd = 10\naction = \"call\"").unwrap();
        assert_eq!(
            next_action(&l, 9, None, &[], d("2024-01-01")).next_action,
            None
        );
        assert_eq!(
            next_action(&l, 10, None, &[], d("2024-01-01"))
                .next_action
                .as_deref(),
            Some("call")
        );
    }

    #[test]
    fn first_contact_sla_day_7_vs_8() {
        let l = Ladder::default();
        let since = "2024-01-15";
        // (followup date, as_of offset from overdue_since, breached)
        let cases: &[(Option<u64>, u64, bool)] = &[
            (None, 6, false),
            (None, 7, false),
            (None, 8, true),
            (Some(0), 8, false),
            (Some(7), 8, false),
            (Some(8), 8, true),
            (Some(8), 20, true),
            (Some(20), 8, true), // a contact in the future does not count
        ];
        for &(contact, off, breached) in cases {
            let fus: Vec<Followup> = contact
                .map(|c| Followup {
                    contact_date: plus(since, c),
                    ..fu(since, "phone", "no_answer")
                })
                .into_iter()
                .collect();
            let as_of = plus(since, off);
            let dpd = off as u32;
            let a = next_action(&l, dpd, Some(d(since)), &fus, as_of);
            assert_eq!(
                a.sla_breached, breached,
                "{contact:?} {off}: {:?}",
                a.sla_reason
            );
            if breached {
                assert!(a.sla_reason.unwrap().contains("within 7 days"));
            }
            // Derived overdue_since gives the same answer.
            let b = next_action(&l, dpd, None, &fus, as_of);
            assert_eq!(b.sla_breached, breached);
        }
        // A contact before overdue_since does not count.
        let a = next_action(
            &l,
            10,
            Some(d(since)),
            &[fu("2024-01-14", "sms", "contacted")],
            plus(since, 10),
        );
        assert!(a.sla_breached);
        assert_eq!(a.last_contact, Some(d("2024-01-14")));
        assert_eq!(a.last_contact_channel.as_deref(), Some("sms"));
    }

    #[test]
    fn visit_sla_after_step_reached() {
        let l = Ladder::default();
        let since = "2024-01-01";
        // Step 2 reached on since + 30 = 2024-01-31; allowance 14 -> deadline 02-14.
        let early_contact = fu(since, "phone", "contacted");
        // (visit offset, dpd/as_of offset, breached)
        let cases: &[(Option<u64>, u64, bool)] = &[
            (None, 30, false),
            (None, 44, false),
            (None, 45, true),
            (Some(29), 45, true), // visit before reaching the step
            (Some(30), 45, false),
            (Some(44), 45, false),
            (Some(50), 60, false), // late visit clears it
            (Some(50), 49, true),  // ...but not before it happened
        ];
        for &(visit, off, breached) in cases {
            let mut fus = vec![early_contact.clone()];
            if let Some(v) = visit {
                fus.push(Followup {
                    contact_date: plus(since, v),
                    ..fu(since, "visit", "contacted")
                });
            }
            let a = next_action(&l, off as u32, Some(d(since)), &fus, plus(since, off));
            assert_eq!(
                a.sla_breached, breached,
                "{visit:?} {off}: {:?}",
                a.sla_reason
            );
            if breached {
                assert!(a
                    .sla_reason
                    .unwrap()
                    .contains("no visit since reaching 31 dpd"));
            }
        }
        // Both breaches reported at 91+.
        let a = next_action(&l, 100, Some(d(since)), &[], plus(since, 100));
        assert!(a.sla_breached);
        let r = a.sla_reason.unwrap();
        assert!(r.contains("within 7 days") && r.contains("no visit"), "{r}");
        assert_eq!(
            a.next_action.as_deref(),
            Some("legal_review_asset_preservation")
        );
        // dpd 0: nothing at all.
        let a = next_action(&l, 0, Some(d(since)), &[], plus(since, 100));
        assert_eq!((a.next_action, a.sla_breached), (None, false));
    }

    #[test]
    fn promise_states() {
        let pays = [(d("2024-03-05"), m("300")), (d("2024-03-10"), m("200"))];
        // (promise, as_of, state, paid)
        let cases: Vec<(Followup, &str, PromiseState, &str)> = vec![
            (
                promise("2024-03-01", "2024-03-10", Some("500")),
                "2024-03-10",
                PromiseState::Kept,
                "500",
            ),
            (
                promise("2024-03-01", "2024-03-10", Some("500")),
                "2024-03-09",
                PromiseState::Pending,
                "300",
            ),
            (
                promise("2024-03-01", "2024-03-09", Some("500")),
                "2024-03-09",
                PromiseState::Pending,
                "300",
            ),
            (
                promise("2024-03-01", "2024-03-09", Some("500")),
                "2024-03-10",
                PromiseState::Broken,
                "300",
            ),
            (
                promise("2024-03-01", "2024-03-09", None),
                "2024-03-20",
                PromiseState::Kept,
                "300",
            ),
            (
                promise("2024-03-06", "2024-03-09", None),
                "2024-03-20",
                PromiseState::Broken,
                "0",
            ),
            (
                promise("2024-03-06", "2024-03-10", Some("200")),
                "2024-03-20",
                PromiseState::Kept,
                "200",
            ),
            (
                promise("2024-03-06", "2024-03-10", Some("0")),
                "2024-03-20",
                PromiseState::Kept,
                "200",
            ),
        ];
        for (f, as_of, state, paid) in cases {
            let got = promises(std::slice::from_ref(&f), &pays, d(as_of));
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].state, state, "{f:?} {as_of}");
            assert_eq!(got[0].paid, m(paid), "{f:?} {as_of}");
        }
    }

    #[test]
    fn promise_filtering_and_summary() {
        let fus = vec![
            promise("2024-01-01", "2024-01-05", Some("100")), // broken
            fu("2024-01-02", "phone", "contacted"),           // not a promise
            Followup {
                promise_date: None,
                ..fu("2024-01-03", "phone", "promise_to_pay") // no date: skipped
            },
            promise("2024-02-01", "2024-02-05", Some("100")), // broken, later
            promise("2024-03-01", "2024-03-05", Some("50")),  // kept
            promise("2024-03-20", "2024-04-05", None),        // pending
            promise("2024-05-01", "2024-05-05", None),        // after as_of: ignored
        ];
        let pays = [(d("2024-03-03"), m("60"))];
        let list = promises(&fus, &pays, d("2024-03-25"));
        assert_eq!(list.len(), 4);
        let s = promise_summary(&list);
        assert_eq!(
            s,
            PromiseSummary {
                kept: 1,
                broken: 2,
                pending: 1,
                last_broken: Some(d("2024-02-05")),
            }
        );
        assert_eq!(list[2].state.as_str(), "kept");
        assert_eq!(promise_summary(&[]), PromiseSummary::default());
    }

    #[test]
    fn channel_and_outcome_names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(&c.as_str().to_uppercase()), Some(c));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Channel::parse("走访"), Some(Channel::Visit));
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(Outcome::parse("maybe"), None);
        assert_eq!(
            Channel::names(),
            "phone, sms, visit, letter, legal, wechat, app"
        );
        assert_eq!(Channel::parse("微信"), Some(Channel::Wechat));
        assert_eq!(Channel::parse("APP"), Some(Channel::App));
        for p in Party::ALL {
            assert_eq!(Party::parse(p.as_str()), Some(p));
        }
        assert_eq!(Party::parse("担保人"), Some(Party::Guarantor));
        assert_eq!(Party::parse("neighbour"), None);
    }
}
