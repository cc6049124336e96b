//! The vintage triangle (RULES.md §4): loans grouped by origination month; at each month on book
//! (MOB), the share of the cohort's original amount that was **ever** at or past a DPD threshold.
//!
//! * MOB 0 is the origination month, observed at its month end; MOB k at the month end k months
//!   later. Only month ends on or before the as-of date are observed, so a cohort's row stops at
//!   the last complete month (a loan originated in the as-of month is not in the triangle yet
//!   unless the as-of date is that month's end).
//! * "Ever" uses the engine's `max_dpd` as of each observation date (the worst DPD on any day up
//!   to it), so the curves never fall.
//! * Thresholds are data ([`Threshold`]); the default set is 30+ (DPD ≥ 30), M2+ (DPD ≥ 31) and
//!   90+ (DPD ≥ 90).
//! * A loan with fewer observations than its cohort (closed early) keeps its last value.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::ratio;
use crate::dates::{add_months_clamped, month_end};

/// One "ever at or past" threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// Column stem: `ever_30` gives `ever_30_amount` and `ever_30_share`.
    pub name: String,
    pub min_dpd: u32,
}

/// 30+ (DPD ≥ 30), M2+ (≥ 31), 90+ (≥ 90).
pub fn default_thresholds() -> Vec<Threshold> {
    [("ever_30", 30), ("ever_m2", 31), ("ever_90", 90)]
        .into_iter()
        .map(|(n, d)| Threshold {
            name: n.to_string(),
            min_dpd: d,
        })
        .collect()
}

/// The month ends at which a loan originated on `origination` is observed, MOB 0 first, up to
/// `as_of`.
pub fn observation_dates(origination: NaiveDate, as_of: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for k in 0u32.. {
        let Some(d) = add_months_clamped(origination, k, 31).map(month_end) else {
            break;
        };
        if d > as_of {
            break;
        }
        out.push(d);
    }
    out
}

/// One loan of a vintage.
#[derive(Clone, Debug, PartialEq)]
pub struct VintageLoan {
    pub origination: NaiveDate,
    /// Original principal.
    pub amount: Decimal,
    /// `max_dpd[k]`: the worst DPD up to the observation date of MOB k.
    pub max_dpd: Vec<u32>,
}

/// One cell of the triangle.
#[derive(Clone, Debug, PartialEq)]
pub struct VintageRow {
    /// `YYYY-MM`.
    pub cohort: String,
    pub mob: u32,
    pub loans: u64,
    pub original_amount: Decimal,
    /// Per threshold, in the order given: (amount ever at or past it, share of the original).
    pub ever: Vec<(Decimal, Option<Decimal>)>,
}

/// The triangle, cohorts in order, MOB ascending within each.
pub fn triangle(loans: &[VintageLoan], thresholds: &[Threshold]) -> Vec<VintageRow> {
    let mut cohorts: BTreeMap<(i32, u32), Vec<&VintageLoan>> = BTreeMap::new();
    for l in loans {
        cohorts
            .entry((l.origination.year(), l.origination.month()))
            .or_default()
            .push(l);
    }
    let mut out = Vec::new();
    for ((y, mo), members) in cohorts {
        let observed = members.iter().map(|l| l.max_dpd.len()).max().unwrap_or(0);
        let original: Decimal = members.iter().map(|l| l.amount).sum();
        for k in 0..observed {
            let ever = thresholds
                .iter()
                .map(|t| {
                    let amt: Decimal = members
                        .iter()
                        .filter(|l| {
                            let v = l.max_dpd.get(k).or(l.max_dpd.last()).copied();
                            v.is_some_and(|d| d >= t.min_dpd)
                        })
                        .map(|l| l.amount)
                        .sum();
                    (amt, ratio(amt, original))
                })
                .collect();
            out.push(VintageRow {
                cohort: format!("{y:04}-{mo:02}"),
                mob: u32::try_from(k).unwrap_or(u32::MAX),
                loans: members.len() as u64,
                original_amount: original,
                ever,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    #[test]
    fn observation_dates_start_at_the_origination_month_end() {
        assert_eq!(
            observation_dates(d("2026-01-15"), d("2026-03-30")),
            vec![d("2026-01-31"), d("2026-02-28")]
        );
        assert_eq!(
            observation_dates(d("2026-01-31"), d("2026-03-31")),
            vec![d("2026-01-31"), d("2026-02-28"), d("2026-03-31")]
        );
        assert!(observation_dates(d("2026-03-05"), d("2026-03-30")).is_empty());
        assert_eq!(
            observation_dates(d("2024-01-31"), d("2024-02-29")),
            vec![d("2024-01-31"), d("2024-02-29")]
        );
    }

    fn vl(orig: &str, amount: &str, max_dpd: &[u32]) -> VintageLoan {
        VintageLoan {
            origination: d(orig),
            amount: m(amount),
            max_dpd: max_dpd.to_vec(),
        }
    }

    #[test]
    fn triangle_shares_of_original_amount() {
        // Cohort 2026-01: P 1000 (max DPD by MOB 0,0,15,45,95), Q 3000 (0,0,0,30,30),
        // R 1000 (0,0,0,0,0) — 5,000 originated. Cohort 2026-03: S 2000 (0,31,91).
        let loans = vec![
            vl("2026-01-05", "1000", &[0, 0, 15, 45, 95]),
            vl("2026-01-20", "3000", &[0, 0, 0, 30, 30]),
            vl("2026-01-31", "1000", &[0, 0, 0, 0, 0]),
            vl("2026-03-10", "2000", &[0, 31, 91]),
        ];
        let rows = triangle(&loans, &default_thresholds());
        assert_eq!(rows.len(), 5 + 3);
        let jan: Vec<&VintageRow> = rows.iter().filter(|r| r.cohort == "2026-01").collect();
        assert!(jan
            .iter()
            .all(|r| r.loans == 3 && r.original_amount == m("5000")));
        // MOB 2: nothing at 30+ (P at 15)
        assert_eq!(jan[2].ever[0], (m("0"), Some(m("0.000000"))));
        // MOB 3: 30+ = P 1000 + Q 3000 = 4000 / 5000 = 0.8; M2+ (≥31) = P 1000 / 5000 = 0.2
        assert_eq!(jan[3].ever[0], (m("4000"), Some(m("0.800000"))));
        assert_eq!(jan[3].ever[1], (m("1000"), Some(m("0.200000"))));
        assert_eq!(jan[3].ever[2].0, m("0"));
        // MOB 4: 90+ = P 1000 / 5000 = 0.2
        assert_eq!(jan[4].ever[2], (m("1000"), Some(m("0.200000"))));
        // March cohort: MOB 1 M2+ = 2000/2000 = 1; MOB 2 90+ = 1
        let mar: Vec<&VintageRow> = rows.iter().filter(|r| r.cohort == "2026-03").collect();
        assert_eq!(mar[1].mob, 1);
        assert_eq!(mar[1].ever[1].1, Some(m("1.000000")));
        assert_eq!(mar[1].ever[2].1, Some(m("0.000000")));
        assert_eq!(mar[2].ever[2].1, Some(m("1.000000")));
    }

    #[test]
    fn a_short_history_keeps_its_last_value() {
        // T closed after MOB 1 having reached 40: it stays in the 30+ amount at MOB 2.
        let loans = vec![
            vl("2026-01-05", "100", &[0, 40]),
            vl("2026-01-06", "300", &[0, 0, 0]),
        ];
        let rows = triangle(&loans, &default_thresholds());
        assert_eq!(rows.len(), 3);
        // 100 / 400 = 0.25
        assert_eq!(rows[2].ever[0], (m("100"), Some(m("0.250000"))));
    }
}
