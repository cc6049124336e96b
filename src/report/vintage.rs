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
//! * The loans are folded into a [`Triangle`] one at a time, as the book streams: it keeps sums
//!   per cohort, month on book and threshold, never the loans.

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

/// The triangle's sums, one loan folded in at a time: per cohort its loans and original amount,
/// and per month on book and threshold the amounts ever at or past it. Memory grows with
/// cohorts × months on book × thresholds, not with the loans; two triangles of the same
/// thresholds (two parts of the book) [`Triangle::merge`] into the triangle of both.
#[derive(Clone, Debug)]
pub struct Triangle {
    thresholds: Vec<Threshold>,
    cohorts: BTreeMap<(i32, u32), Cohort>,
}

/// One cohort's sums.
#[derive(Clone, Debug, Default)]
struct Cohort {
    loans: u64,
    original: Decimal,
    /// The most observations of a member: the cohort's row has this many months on book.
    observed: usize,
    /// `at[k][t]`: the amount of the members observed at MOB k whose worst DPD up to it is at
    /// or past threshold `t`.
    at: Vec<Vec<Decimal>>,
    /// `after[n][t]`: the amount of the members observed `n` times (MOB 0 to n − 1) whose last
    /// value is at or past threshold `t`: they count at every MOB from n on (a short history
    /// keeps its last value).
    after: Vec<Vec<Decimal>>,
}

impl Triangle {
    pub fn new(thresholds: &[Threshold]) -> Triangle {
        Triangle {
            thresholds: thresholds.to_vec(),
            cohorts: BTreeMap::new(),
        }
    }

    pub fn thresholds(&self) -> &[Threshold] {
        &self.thresholds
    }

    /// One loan originated on `origination` for `amount`; `max_dpd[k]`: its worst DPD up to
    /// the observation date of MOB k (an empty history adds the loan to its cohort's count and
    /// amount only).
    pub fn add(&mut self, origination: NaiveDate, amount: Decimal, max_dpd: &[u32]) {
        let n = self.thresholds.len();
        let c = self
            .cohorts
            .entry((origination.year(), origination.month()))
            .or_default();
        c.loans += 1;
        c.original += amount;
        c.observed = c.observed.max(max_dpd.len());
        grow(&mut c.at, max_dpd.len(), n);
        for (k, d) in max_dpd.iter().enumerate() {
            for (t, th) in self.thresholds.iter().enumerate() {
                if *d >= th.min_dpd {
                    c.at[k][t] += amount;
                }
            }
        }
        if let Some(last) = max_dpd.last() {
            grow(&mut c.after, max_dpd.len() + 1, n);
            for (t, th) in self.thresholds.iter().enumerate() {
                if *last >= th.min_dpd {
                    c.after[max_dpd.len()][t] += amount;
                }
            }
        }
    }

    /// Adds the loans of another part of the book (same thresholds).
    pub fn merge(&mut self, later: Triangle) {
        for (key, o) in later.cohorts {
            let n = self.thresholds.len();
            let c = self.cohorts.entry(key).or_default();
            c.loans += o.loans;
            c.original += o.original;
            c.observed = c.observed.max(o.observed);
            for (mine, theirs) in [(&mut c.at, o.at), (&mut c.after, o.after)] {
                grow(mine, theirs.len(), n);
                for (row, add) in mine.iter_mut().zip(theirs) {
                    for (x, y) in row.iter_mut().zip(add) {
                        *x += y;
                    }
                }
            }
        }
    }

    /// The triangle, cohorts in order, MOB ascending within each.
    pub fn rows(&self) -> Vec<VintageRow> {
        let mut out = Vec::new();
        for (&(y, mo), c) in &self.cohorts {
            // The members whose history ended before MOB k, at their last value.
            let mut ended = vec![Decimal::ZERO; self.thresholds.len()];
            for k in 0..c.observed {
                if let Some(a) = c.after.get(k) {
                    for (e, x) in ended.iter_mut().zip(a) {
                        *e += x;
                    }
                }
                let ever = (0..self.thresholds.len())
                    .map(|t| {
                        let amt = c.at.get(k).map_or(Decimal::ZERO, |r| r[t]) + ended[t];
                        (amt, ratio(amt, c.original))
                    })
                    .collect();
                out.push(VintageRow {
                    cohort: format!("{y:04}-{mo:02}"),
                    mob: u32::try_from(k).unwrap_or(u32::MAX),
                    loans: c.loans,
                    original_amount: c.original,
                    ever,
                });
            }
        }
        out
    }
}

/// Makes `rows` at least `len` rows of `n` zeros each.
fn grow(rows: &mut Vec<Vec<Decimal>>, len: usize, n: usize) {
    if rows.len() < len {
        rows.resize(len, vec![Decimal::ZERO; n]);
    }
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

    /// The triangle of `loans` (origination, original amount, worst DPD by MOB), in order.
    fn tri(loans: &[(&str, &str, &[u32])]) -> Triangle {
        let mut t = Triangle::new(&default_thresholds());
        for (orig, amount, max_dpd) in loans {
            t.add(d(orig), m(amount), max_dpd);
        }
        t
    }

    #[test]
    fn triangle_shares_of_original_amount() {
        // Cohort 2026-01: P 1000 (max DPD by MOB 0,0,15,45,95), Q 3000 (0,0,0,30,30),
        // R 1000 (0,0,0,0,0) — 5,000 originated. Cohort 2026-03: S 2000 (0,31,91).
        let rows = tri(&[
            ("2026-01-05", "1000", &[0, 0, 15, 45, 95]),
            ("2026-01-20", "3000", &[0, 0, 0, 30, 30]),
            ("2026-01-31", "1000", &[0, 0, 0, 0, 0]),
            ("2026-03-10", "2000", &[0, 31, 91]),
        ])
        .rows();
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
        let rows = tri(&[
            ("2026-01-05", "100", &[0, 40]),
            ("2026-01-06", "300", &[0, 0, 0]),
        ])
        .rows();
        assert_eq!(rows.len(), 3);
        // 100 / 400 = 0.25
        assert_eq!(rows[2].ever[0], (m("100"), Some(m("0.250000"))));
    }

    #[test]
    fn parts_merged_in_any_order_give_the_triangle_of_the_whole() {
        // Two cohorts; in January a loan observed once (U: 95 at MOB 0, closed) and one
        // observed three times (V), so U's last value must reach MOB 1 and 2 whichever part
        // holds which. Debug text compares the amounts' scales too.
        let loans: [(&str, &str, &[u32]); 5] = [
            ("2026-01-05", "100.50", &[95]),
            ("2026-01-06", "300", &[0, 31, 31]),
            ("2026-01-07", "200.25", &[0, 0]),
            ("2026-02-01", "50", &[30]),
            ("2026-02-02", "70.10", &[0, 90]),
        ];
        let whole = format!("{:?}", tri(&loans).rows());
        // U 100.50 (ended at 95) + V 300 at 31: 30+ 400.50 of 600.75 at MOB 2.
        let jan2 = &tri(&loans).rows()[2];
        assert_eq!((jan2.mob, jan2.original_amount), (2, m("600.75")));
        assert_eq!(jan2.ever[0].0, m("400.50"));
        assert_eq!(jan2.ever[2].0, m("100.50"));
        for split in 0..=loans.len() {
            for parts in [
                [&loans[..split], &loans[split..]],
                [&loans[split..], &loans[..split]],
            ] {
                // The first part of three (one per loan, as with many key ranges) or of two.
                let mut merged = Triangle::new(&default_thresholds());
                for part in parts {
                    for loan in part {
                        merged.merge(tri(std::slice::from_ref(loan)));
                    }
                }
                assert_eq!(format!("{:?}", merged.rows()), whole, "split at {split}");
                let mut two = tri(parts[0]);
                two.merge(tri(parts[1]));
                assert_eq!(format!("{:?}", two.rows()), whole, "split at {split}");
            }
        }
    }
}
