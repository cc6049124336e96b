//! The integer engine against the Decimal reference (the original
//! implementation) on many generated loans, including odd input.

use super::penalty::{accrued_fen, fen_i128, penalty_fen_int};
use super::*;
use crate::money::round_fen;

use crate::rng::Rng;

/// Mostly whole fen with scale 2; sometimes other scales, zero,
/// negative or huge. (Sub-fen amounts, which the ledger cannot hold, are
/// rounded with a warning; see `sub_fen_input_is_rounded`.)
fn amount(r: &mut Rng, fen: i64) -> Decimal {
    match r.below(40) {
        0 => Decimal::new(-fen - 1, 2),
        1 => Decimal::new(fen, 0) * Decimal::new(1_000_000_000, 0),
        2 => Decimal::new(fen * 100, 4),
        3 if fen % 100 == 0 => Decimal::new(fen / 100, 0),
        4 => Decimal::ZERO,
        5 => Decimal::new(fen * 1000, 5),
        _ => Decimal::new(fen, 2),
    }
}

fn scenario(
    r: &mut Rng,
) -> (
    LoanTerms,
    Vec<Installment>,
    Vec<Payment>,
    Vec<NaiveDate>,
    Conventions,
) {
    let base = NaiveDate::from_ymd_opt(2023, 1, 31).unwrap();
    let n_inst = r.below(26) as u32;
    let monthly = r.below(3) != 0;
    let mut gap = 0u64;
    let mut sched: Vec<Installment> = (1..=n_inst)
        .map(|k| {
            let due = if monthly {
                base.checked_add_months(chrono::Months::new(k - 1)).unwrap()
            } else {
                gap += r.below(40);
                base + chrono::Days::new(gap)
            };
            Installment {
                installment_no: if r.one_in(30) { 1 } else { k },
                due_date: due,
                principal_due: {
                    let f = 50_000 + r.below(500_000) as i64;
                    amount(r, f)
                },
                interest_due: {
                    let f = r.below(20_000) as i64;
                    amount(r, f)
                },
                fee_due: if r.one_in(4) {
                    let f = r.below(2_000) as i64;
                    amount(r, f)
                } else {
                    Decimal::ZERO
                },
            }
        })
        .collect();
    if r.one_in(5) {
        // Unsorted input.
        for k in (1..sched.len()).rev() {
            let j = r.below(k as u64 + 1) as usize;
            sched.swap(k, j);
        }
    }
    if r.one_in(200) && !sched.is_empty() {
        sched[0].due_date = if r.one_in(2) {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        };
    }
    let due_sum: i64 = sched
        .iter()
        .map(|i| {
            (i.principal_due + i.interest_due + i.fee_due)
                .round_dp(2)
                .mantissa()
                .clamp(0, 100_000_000) as i64
        })
        .sum();
    let span = 31 * u64::from(n_inst.max(1)) + 60;
    let mut pays: Vec<Payment> = Vec::new();
    let n_pays = r.below(30);
    for k in 0..n_pays {
        let on = base + chrono::Days::new(r.below(span));
        if k > 0 && r.one_in(8) {
            let target = match r.below(10) {
                0 => "nope".to_string(),
                1 => format!("r{}", r.below(k)),
                _ => format!("t{}", r.below(k)),
            };
            pays.push(Payment {
                txn_id: format!("r{k}"),
                paid_on: on,
                amount: Decimal::new(-1, 0),
                reverses_txn_id: Some(target),
            });
            continue;
        }
        let per = due_sum / i64::from(n_inst.max(1));
        let fen = match r.below(6) {
            0 => r.below(1 + per as u64 / 2) as i64,
            1 => per * (1 + r.below(4) as i64),
            2 => r.below(1 + due_sum as u64) as i64,
            _ => per,
        };
        let id = if r.one_in(25) {
            "t0".to_string()
        } else {
            format!("t{k}")
        };
        pays.push(Payment {
            txn_id: id,
            paid_on: on,
            amount: amount(r, fen),
            reverses_txn_id: None,
        });
    }
    if r.one_in(3) {
        pays.sort_by_key(|p| p.paid_on);
    }
    let mut order = vec![
        Component::Fee,
        Component::Interest,
        Component::Principal,
        Component::Penalty,
    ];
    for k in (1..order.len()).rev() {
        let j = r.below(k as u64 + 1) as usize;
        order.swap(k, j);
    }
    order.truncate(r.below(5) as usize);
    let conv = Conventions {
        grace_days: [0, 0, 0, 1, 3, 15, u32::MAX][r.below(7) as usize],
        tolerance: match r.below(8) {
            0 => Decimal::new(50, 2),
            1 => Decimal::new(10, 0),
            2 => Decimal::new(5, 3),
            3 => Decimal::new(-1, 2),
            4 => Decimal::new(1234, 3),
            _ => Decimal::ZERO,
        },
        // The reference engine has no relative threshold; tests.rs pins it.
        tolerance_pct: Decimal::ZERO,
        order,
        penalty_first: r.one_in(3),
        penalty_multiplier: [
            Decimal::new(15, 1),
            Decimal::new(15, 1),
            Decimal::ZERO,
            Decimal::new(225, 2),
            Decimal::new(-1, 0),
            Decimal::new(1, 3),
        ][r.below(6) as usize],
        compound_interest: r.one_in(2),
        prepay: if r.one_in(3) {
            Prepay::ReducePrincipalLast
        } else {
            Prepay::NextInstallments
        },
    };
    let terms = LoanTerms {
        annual_rate_pct: match r.below(10) {
            0 => Decimal::ZERO,
            1 => Decimal::new(-49, 1),
            2 => Decimal::new(i64::MAX, 0),
            _ => Decimal::new(r.below(400_000) as i64, 4),
        },
        principal: if r.one_in(2) {
            sched.iter().map(|i| i.principal_due).sum()
        } else {
            Decimal::new(r.below(10_000_000) as i64, 2)
        },
    };
    let mut dates: Vec<NaiveDate> = (0..1 + r.below(12))
        .map(|_| base + chrono::Days::new(r.below(span + 400)))
        .collect();
    if r.one_in(2) {
        dates.sort();
    }
    if r.one_in(100) {
        dates.push(NaiveDate::MIN);
        dates.push(NaiveDate::MAX);
    }
    (terms, sched, pays, dates, conv)
}

#[test]
fn engine_equals_reference() {
    let mut r = Rng::new(0x853c49e6748fea9b);
    for s in 0..6_000 {
        let (t, i, p, dates, c) = scenario(&mut r);
        let want = reference::positions(&t, &i, &p, &dates, &c);
        let got = positions(&t, &i, &p, &dates, &c);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "scenario {s} as_of {}\n{i:?}\n{p:?}\n{c:?}", w.as_of);
        }
        // Without the installments' statuses every figure is the same.
        let figures = positions_with(&t, &i, &p, &dates, &c, Detail::Figures);
        for (f, w) in figures.into_iter().zip(&want) {
            assert!(f.installments.is_empty() && f.settled().is_empty());
            let w = Position {
                installments: Vec::new(),
                ..w.clone()
            };
            assert_eq!(f, w, "scenario {s} as_of {} (figures only)", w.as_of);
        }
    }
}

/// Whole-fen input with the CLI's scale (2) gives outputs of scale 2,
/// equal to the reference's.
#[test]
fn fen_input_gives_scale_2() {
    let mut r = Rng::new(0x2545f4914f6cdd1d);
    for _ in 0..500 {
        let (t, mut i, mut p, dates, mut c) = scenario(&mut r);
        let fen = |d: Decimal| Decimal::new(d.round_dp(2).mantissa().clamp(-1, 1 << 40) as i64, 2);
        for x in &mut i {
            x.principal_due = fen(x.principal_due);
            x.interest_due = fen(x.interest_due);
            x.fee_due = fen(x.fee_due);
        }
        for x in &mut p {
            x.amount = fen(x.amount);
        }
        c.tolerance = fen(c.tolerance);
        let got = positions(&t, &i, &p, &dates, &c);
        assert_eq!(got, reference::positions(&t, &i, &p, &dates, &c));
        for g in &got {
            for v in [
                g.overdue_principal,
                g.overdue_interest,
                g.penalty_interest,
                g.outstanding_principal,
                g.paid_total,
            ] {
                assert_eq!(v.scale(), 2, "{v}");
            }
        }
    }
}

/// Sums beyond the i64 range of fen (200 installments at the 10^15 cap,
/// 2 × 10^19 fen) are exact: the engine sums in i128, as the reference does
/// in Decimal.
#[test]
fn sums_beyond_i64_equal_reference() {
    let base = NaiveDate::from_ymd_opt(2023, 1, 31).unwrap();
    let cap = Decimal::new(1_000_000_000_000_000, 0);
    let sched: Vec<Installment> = (0..200u32)
        .map(|k| Installment {
            installment_no: k + 1,
            due_date: base + chrono::Days::new(u64::from(k) * 7),
            principal_due: cap,
            interest_due: cap - Decimal::new(1, 2),
            fee_due: Decimal::new(k.into(), 2),
        })
        .collect();
    let pays: Vec<Payment> = (0..150u32)
        .map(|k| Payment {
            txn_id: format!("t{k}"),
            paid_on: base + chrono::Days::new(u64::from(k) * 9),
            amount: cap - Decimal::new(i64::from(k), 2),
            reverses_txn_id: None,
        })
        .collect();
    let t = LoanTerms {
        annual_rate_pct: Decimal::new(49, 1),
        principal: cap * Decimal::new(200, 0),
    };
    let dates: Vec<NaiveDate> = (0..20u64)
        .map(|k| base + chrono::Days::new(k * 90))
        .collect();
    for c in [
        Conventions::default(),
        Conventions {
            penalty_first: true,
            grace_days: 3,
            prepay: Prepay::ReducePrincipalLast,
            ..Conventions::default()
        },
    ] {
        let got = positions(&t, &sched, &pays, &dates, &c);
        assert_eq!(got, reference::positions(&t, &sched, &pays, &dates, &c));
        let last = got.last().unwrap();
        assert!(
            last.overdue_principal > Decimal::new(i64::MAX, 2),
            "{last:?}"
        );
    }
}

/// The integer penalty rounding equals the Decimal computation: dense
/// small accruals (every midpoint case) and random large ones.
#[test]
fn integer_penalty_equals_decimal() {
    let mut r = Rng::new(0x9e3779b97f4a7c15);
    let mut factors: Vec<Decimal> = [
        (735, 2),
        (15, 1),
        (49, 1),
        (7350, 3),
        (54375, 4),
        (36, 0),
        (1, 3),
        (12345678, 6),
        (1_000_000_000_000, 0),
        (99_999_999, 8),
    ]
    .iter()
    .map(|&(m, s)| Decimal::new(m, s))
    .collect();
    for _ in 0..40 {
        let rate = Decimal::new(r.below(400_000) as i64, 4);
        let mult = Decimal::new(r.below(30) as i64, 1);
        factors.push(rate * mult);
    }
    let mut checked = 0;
    for &factor in &factors {
        if factor.scale() > 8 || factor.is_zero() {
            continue;
        }
        let (f, den) = (factor.mantissa(), 36_000 * 10i128.pow(factor.scale()));
        let mut accs: Vec<i128> = (1..40_000i128).collect();
        for _ in 0..4_000 {
            accs.push(i128::from(r.below(1 << 40)) * i128::from(r.below(1 << 40)));
        }
        for _ in 0..500 {
            accs.push(i128::from(r.below(1 << 62)) << r.below(28));
        }
        for acc in accs {
            let want = round_fen(
                Decimal::from_i128_with_scale(acc, 2).saturating_mul(factor)
                    / Decimal::new(36000, 0),
            );
            if let Some(got) = penalty_fen_int(acc, f, den) {
                assert_eq!(Some(got), fen_i128(want), "acc {acc} factor {factor}");
                checked += 1;
            }
            // Whichever path it takes, the answer is the formula's.
            let got = accrued_fen(acc, factor, Some((f, den)));
            assert_eq!(Some(got), fen_i128(want), "acc {acc} factor {factor}");
        }
    }
    assert!(checked > 1_000_000, "{checked}");
}

/// Digits below the fen (which the ledger cannot hold) are rounded half up,
/// with a warning naming the amount.
#[test]
fn sub_fen_input_is_rounded() {
    let sched = [Installment {
        installment_no: 1,
        due_date: NaiveDate::from_ymd_opt(2024, 1, 15).unwrap(),
        principal_due: Decimal::new(10_005, 3),
        interest_due: Decimal::ZERO,
        fee_due: Decimal::ZERO,
    }];
    let t = LoanTerms {
        annual_rate_pct: Decimal::new(49, 1),
        principal: Decimal::new(1001, 2),
    };
    let d = [NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()];
    let c = Conventions::default();
    let p = positions(&t, &sched, &[], &d, &c);
    assert_eq!(p[0].overdue_principal, Decimal::new(1001, 2));
    assert_eq!(
        p[0].warnings,
        vec!["installment 1 principal_due 10.005 has digits below the fen; rounded to 10.01"]
    );
    // A payment of less than half a fen pays nothing.
    let pays = [Payment {
        txn_id: "t".into(),
        paid_on: d[0],
        amount: Decimal::new(4, 3),
        reverses_txn_id: None,
    }];
    let p = positions(&t, &sched, &pays, &d, &c);
    assert_eq!(p[0].paid_total, Decimal::ZERO);
    assert!(p[0].warnings[1].contains("payment t 0.004 has digits below the fen"));
}
