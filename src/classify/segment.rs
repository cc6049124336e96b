//! The collection segment (催收分群): who is willing and who is able to pay.
//!
//! Per borrower, from the follow-ups and payments of all their loans within `lookback_days`
//! (summed into one [`FollowupSummary`]); the thresholds are the `[segment]` table of the rule
//! set. The first that matches, in this order:
//!
//! 1. `unwilling`: refusals `>= unwilling_refusals`, or broken promises
//!    `>= unwilling_broken_promises`, or `>= unreachable_after` unanswered follow-ups in a row
//!    since the borrower was last reached;
//! 2. `willing_unable`: promises made (kept, pending or broken below the threshold) or partial
//!    payments, while not paying in full after a reminder;
//! 3. `willing_able`: paid within `paid_within_days` after a follow-up, or reached and not
//!    overdue;
//! 4. `unknown`: nothing yet says which: no follow-up reached the borrower, or one did and the
//!    borrower is overdue with no promise and no payment.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::FollowupSummary;
use crate::collection::{promise_summary, promises, Followup, Outcome};
use crate::rulefile::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Unknown,
    WillingAble,
    WillingUnable,
    Unwilling,
}

impl Segment {
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::WillingAble => "willing_able",
            Segment::WillingUnable => "willing_unable",
            Segment::Unwilling => "unwilling",
            Segment::Unknown => "unknown",
        }
    }
}

/// Thresholds (the `[segment]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRules {
    pub lookback_days: u32,
    pub paid_within_days: u32,
    pub unwilling_refusals: u32,
    pub unwilling_broken_promises: u32,
    pub unreachable_after: u32,
}

impl Default for SegmentRules {
    fn default() -> Self {
        SegmentRules {
            lookback_days: 180,
            paid_within_days: 7,
            unwilling_refusals: 1,
            unwilling_broken_promises: 2,
            unreachable_after: 3,
        }
    }
}

/// The `[segment]` table as written; every key is optional (defaults above).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SegmentFile {
    lookback_days: Option<u32>,
    paid_within_days: Option<u32>,
    unwilling_refusals: Option<toml::Spanned<u32>>,
    unwilling_broken_promises: Option<toml::Spanned<u32>>,
    unreachable_after: Option<toml::Spanned<u32>>,
}

impl SegmentRules {
    pub(crate) fn from_file(f: SegmentFile) -> Result<SegmentRules, Invalid> {
        let d = SegmentRules::default();
        let at_least_one = |v: &Option<toml::Spanned<u32>>, default: u32| match v {
            Some(s) if *s.get_ref() == 0 => Err(Invalid::at(
                s.span(),
                "must be at least 1 (0 would make every borrower unwilling)",
            )),
            Some(s) => Ok(*s.get_ref()),
            None => Ok(default),
        };
        Ok(SegmentRules {
            lookback_days: f.lookback_days.unwrap_or(d.lookback_days),
            paid_within_days: f.paid_within_days.unwrap_or(d.paid_within_days),
            unwilling_refusals: at_least_one(&f.unwilling_refusals, d.unwilling_refusals)?,
            unwilling_broken_promises: at_least_one(
                &f.unwilling_broken_promises,
                d.unwilling_broken_promises,
            )?,
            unreachable_after: at_least_one(&f.unreachable_after, d.unreachable_after)?,
        })
    }
}

/// One loan's follow-up and payment behaviour within the look-back window ending on `as_of`:
/// the one place classify's segment inputs are counted (`classify` and `schedule-visits` both call
/// it). `payments` are the payments in force on `as_of` (date, amount; reversals removed, as
/// [`crate::engine::payments_in_force`] gives them); `overdue_since` is the engine's date the loan
/// fell overdue, `None` when it is current. A partial payment is one made on or after that date
/// (the loan stayed overdue through it).
pub fn summarize(
    rules: &SegmentRules,
    followups: &[Followup],
    payments: &[(NaiveDate, Decimal)],
    overdue_since: Option<NaiveDate>,
    as_of: NaiveDate,
) -> FollowupSummary {
    let partial_payments = overdue_since.map_or(0, |since| {
        payments.iter().filter(|(d, _)| *d >= since).count() as u32
    });
    let from = as_of - chrono::Days::new(u64::from(rules.lookback_days));
    let mut fu: Vec<&Followup> = followups
        .iter()
        .filter(|f| f.contact_date > from && f.contact_date <= as_of)
        .collect();
    fu.sort_by_key(|f| f.contact_date);
    let mut s = FollowupSummary {
        contacts: fu.len() as u32,
        partial_payments,
        ..FollowupSummary::default()
    };
    for f in &fu {
        match f.outcome {
            Outcome::NoAnswer => s.unanswered_streak += 1,
            o => {
                s.reached += 1;
                s.unanswered_streak = 0;
                if o == Outcome::Refused {
                    s.refusals += 1;
                }
            }
        }
    }
    let in_window: Vec<Followup> = fu.iter().map(|f| (*f).clone()).collect();
    let p = promise_summary(&promises(&in_window, payments, as_of));
    s.promises_kept = p.kept;
    s.promises_broken = p.broken;
    s.promises_pending = p.pending;
    let within = chrono::Days::new(u64::from(rules.paid_within_days));
    s.paid_after_contact = payments
        .iter()
        .filter(|(d, _)| *d > from && *d <= as_of)
        .filter(|(d, _)| {
            fu.iter()
                .any(|f| f.contact_date <= *d && *d <= f.contact_date + within)
        })
        .count() as u32;
    s
}

/// The segment of a borrower with this summary; `overdue` = some loan of theirs has DPD > 0.
pub fn segment(rules: &SegmentRules, s: &FollowupSummary, overdue: bool) -> Segment {
    if s.refusals >= rules.unwilling_refusals
        || s.promises_broken >= rules.unwilling_broken_promises
        || s.unanswered_streak >= rules.unreachable_after
    {
        return Segment::Unwilling;
    }
    let promised = s.promises_kept + s.promises_pending + s.promises_broken > 0;
    if (promised || s.partial_payments > 0) && (overdue || s.paid_after_contact == 0) {
        return Segment::WillingUnable;
    }
    if s.paid_after_contact > 0 || (s.reached > 0 && !overdue) {
        return Segment::WillingAble;
    }
    Segment::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    fn fu(on: &str, outcome: &str, promise: Option<&str>) -> Followup {
        Followup {
            contact_date: d(on),
            channel: crate::collection::Channel::Phone,
            outcome: Outcome::parse(outcome).expect("an outcome name"),
            promise_date: promise.map(d),
            promise_amount: None,
        }
    }

    #[test]
    fn summaries_read_the_window_only() {
        let r = SegmentRules::default();
        let f = [
            fu("2025-12-01", "refused", None), // older than 180 days before 2026-06-30
            fu("2026-06-01", "no_answer", None),
            fu("2026-06-02", "promise_to_pay", Some("2026-06-05")),
            fu("2026-06-10", "no_answer", None),
            fu("2026-06-11", "no_answer", None),
        ];
        let pays = [(d("2026-06-04"), m("100")), (d("2026-06-20"), m("50"))];
        // Overdue since 2026-06-10: the payment of 06-20 is partial, the one of 06-04 is not.
        let s = summarize(&r, &f, &pays, Some(d("2026-06-10")), d("2026-06-30"));
        assert_eq!(
            s,
            FollowupSummary {
                contacts: 4,
                reached: 1,
                unanswered_streak: 2,
                refusals: 0,
                promises_kept: 1,
                promises_broken: 0,
                promises_pending: 0,
                // 2026-06-04 is 2 days after a contact; 2026-06-20 is 9 days after the last.
                paid_after_contact: 1,
                partial_payments: 1,
            }
        );
        // 8 days after the last contact is not "soon after a reminder".
        let s = summarize(
            &r,
            &f[..2],
            &[(d("2026-06-09"), m("1"))],
            None,
            d("2026-06-30"),
        );
        assert_eq!(s.paid_after_contact, 0);
        let s = summarize(
            &r,
            &f[..2],
            &[(d("2026-06-08"), m("1"))],
            None,
            d("2026-06-30"),
        );
        assert_eq!(s.paid_after_contact, 1);
    }

    #[test]
    fn a_partial_payment_is_one_made_on_or_after_the_day_the_loan_fell_overdue() {
        let r = SegmentRules::default();
        let pays = [
            (d("2026-06-09"), m("10")),
            (d("2026-06-10"), m("10")),
            (d("2026-06-11"), m("10")),
        ];
        let on = |since: Option<&str>| {
            summarize(&r, &[], &pays, since.map(d), d("2026-06-30")).partial_payments
        };
        assert_eq!(on(Some("2026-06-10")), 2, "the day it fell overdue counts");
        assert_eq!(on(Some("2026-06-11")), 1);
        assert_eq!(on(Some("2026-06-12")), 0);
        assert_eq!(on(None), 0, "a current loan has no partial payments");
    }

    #[test]
    fn segments_at_their_thresholds() {
        let r = SegmentRules::default();
        let base = FollowupSummary::default();
        let cases: &[(&str, FollowupSummary, bool, Segment)] = &[
            ("no contact", base, true, Segment::Unknown),
            ("no contact, current", base, false, Segment::Unknown),
            (
                "unanswered twice",
                FollowupSummary {
                    contacts: 2,
                    unanswered_streak: 2,
                    ..base
                },
                true,
                Segment::Unknown,
            ),
            (
                "unanswered three times",
                FollowupSummary {
                    contacts: 3,
                    unanswered_streak: 3,
                    ..base
                },
                true,
                Segment::Unwilling,
            ),
            (
                "one refusal",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    refusals: 1,
                    ..base
                },
                true,
                Segment::Unwilling,
            ),
            (
                "one broken promise",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    promises_broken: 1,
                    ..base
                },
                true,
                Segment::WillingUnable,
            ),
            (
                "two broken promises",
                FollowupSummary {
                    contacts: 2,
                    reached: 2,
                    promises_broken: 2,
                    ..base
                },
                true,
                Segment::Unwilling,
            ),
            (
                "pending promise, still overdue",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    promises_pending: 1,
                    ..base
                },
                true,
                Segment::WillingUnable,
            ),
            (
                "partial payment",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    partial_payments: 1,
                    ..base
                },
                true,
                Segment::WillingUnable,
            ),
            (
                "kept promise, paid after the reminder, current",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    promises_kept: 1,
                    paid_after_contact: 1,
                    ..base
                },
                false,
                Segment::WillingAble,
            ),
            (
                "paid soon after a reminder",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    paid_after_contact: 1,
                    ..base
                },
                true,
                Segment::WillingAble,
            ),
            (
                "reached, current",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    ..base
                },
                false,
                Segment::WillingAble,
            ),
            (
                "reached, overdue, nothing promised",
                FollowupSummary {
                    contacts: 1,
                    reached: 1,
                    ..base
                },
                true,
                Segment::Unknown,
            ),
        ];
        for (what, s, overdue, want) in cases {
            assert_eq!(segment(&r, s, *overdue), *want, "{what}");
        }
    }
}
