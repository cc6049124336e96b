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

use serde::Deserialize;

use super::FollowupSummary;
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
