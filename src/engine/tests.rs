//! The conventions of the module doc, one test (or table of cases) each.

use super::reference::days_between;
use super::*;

use crate::test_support::{d, m};
fn terms(principal: &str) -> LoanTerms {
    LoanTerms {
        annual_rate_pct: m("4.9"),
        principal: m(principal),
    }
}
fn inst(no: u32, due: &str, p: &str, i: &str) -> Installment {
    Installment {
        installment_no: no,
        due_date: d(due),
        principal_due: m(p),
        interest_due: m(i),
        fee_due: Decimal::ZERO,
    }
}
fn pay(id: &str, on: &str, amt: &str) -> Payment {
    Payment {
        txn_id: id.to_string(),
        paid_on: d(on),
        amount: m(amt),
        reverses_txn_id: None,
    }
}
fn rev(id: &str, on: &str, target: &str) -> Payment {
    Payment {
        txn_id: id.to_string(),
        paid_on: d(on),
        amount: m("-999"),
        reverses_txn_id: Some(target.to_string()),
    }
}
fn pos(i: &[Installment], p: &[Payment], as_of: &str) -> Position {
    pos_c(i, p, as_of, &Conventions::default())
}
fn pos_c(i: &[Installment], p: &[Payment], as_of: &str, c: &Conventions) -> Position {
    let t = LoanTerms {
        annual_rate_pct: m("4.9"),
        principal: i.iter().map(|x| x.principal_due).sum(),
    };
    position(&t, i, p, d(as_of), c)
}

/// Three monthly installments of 1000 principal + 50 interest.
fn three() -> Vec<Installment> {
    vec![
        inst(1, "2024-01-15", "1000", "50"),
        inst(2, "2024-02-15", "1000", "50"),
        inst(3, "2024-03-15", "1000", "50"),
    ]
}

#[test]
fn dpd_boundaries_single_installment() {
    let sched = [inst(1, "2024-01-15", "1000", "0")];
    // (as_of, dpd, overdue_since)
    let cases: &[(&str, u32, Option<&str>)] = &[
        ("2024-01-14", 0, None),
        ("2024-01-15", 0, None),               // due today
        ("2024-01-16", 1, Some("2024-01-15")), // due yesterday
        ("2024-04-14", 90, Some("2024-01-15")),
        ("2024-04-15", 91, Some("2024-01-15")),
    ];
    for &(as_of, dpd, since) in cases {
        let p = pos(&sched, &[], as_of);
        assert_eq!(p.dpd, dpd, "as_of {as_of}");
        assert_eq!(p.max_dpd, dpd, "as_of {as_of}");
        assert_eq!(p.overdue_since, since.map(d), "as_of {as_of}");
        let overdue = if dpd > 0 { m("1000") } else { Decimal::ZERO };
        assert_eq!(p.overdue_principal, overdue, "as_of {as_of}");
        assert_eq!(p.installments_overdue, u32::from(dpd > 0));
        assert_eq!(p.outstanding_principal, m("1000"));
        assert!(p.matured == (as_of >= "2024-01-15"));
        assert!(!p.closed);
    }
}

#[test]
fn paid_on_due_date_and_a_day_late() {
    let sched = [inst(1, "2024-01-15", "1000", "0")];
    // (paid_on, as_of, dpd, days_late, max_dpd)
    let cases: &[(&str, &str, u32, u32, u32)] = &[
        ("2024-01-15", "2024-01-15", 0, 0, 0),
        ("2024-01-15", "2024-03-01", 0, 0, 0),
        ("2024-01-16", "2024-01-16", 0, 1, 1),
        ("2024-01-16", "2024-02-01", 0, 1, 1),
        ("2024-01-10", "2024-02-01", 0, 0, 0),
    ];
    for &(paid, as_of, dpd, late, max) in cases {
        let p = pos(&sched, &[pay("t1", paid, "1000")], as_of);
        assert_eq!(p.dpd, dpd, "{paid} {as_of}");
        assert_eq!(p.max_dpd, max, "{paid} {as_of}");
        assert_eq!(p.settled().len(), 1);
        assert_eq!(p.settled()[0].settled_on, d(paid));
        assert_eq!(p.settled()[0].days_late, late);
        assert!(p.closed);
        assert_eq!(p.outstanding_principal, Decimal::ZERO);
        assert_eq!(p.last_payment_date, Some(d(paid)));
    }
    // Before the late payment: DPD 0 on the due date, not settled.
    let p = pos(&sched, &[pay("t1", "2024-01-16", "1000")], "2024-01-15");
    assert!(p.settled().is_empty());
    assert_eq!(p.paid_total, Decimal::ZERO);
}

#[test]
fn partial_payment_keeps_dpd_running_from_original_due_date() {
    let sched = three();
    let p = pos(&sched, &[pay("t1", "2024-01-20", "1000")], "2024-02-10");
    assert_eq!(p.dpd, 26);
    assert_eq!(p.overdue_since, Some(d("2024-01-15")));
    assert_eq!(p.overdue_interest, Decimal::ZERO);
    assert_eq!(p.overdue_principal, m("50"));
    assert_eq!(p.outstanding_principal, m("2050"));
    // After the 2nd due date the 1st is still the oldest: DPD from Jan 15.
    let p = pos(&sched, &[pay("t1", "2024-01-20", "1000")], "2024-02-20");
    assert_eq!(p.dpd, 36);
    assert_eq!(p.installments_overdue, 2);
    assert_eq!(p.overdue_principal, m("1050"));
    assert_eq!(p.overdue_interest, m("50"));
}

#[test]
fn component_order() {
    let sched = [inst(1, "2024-01-15", "1000", "50")];
    let custom = Conventions {
        order: vec![Component::Principal, Component::Interest],
        ..Conventions::default()
    };
    let pen_ignored = Conventions {
        order: vec![Component::Penalty, Component::Interest],
        ..Conventions::default()
    };
    // (conventions, amount, overdue principal, overdue interest)
    let def = Conventions::default();
    let cases: Vec<(&Conventions, &str, &str, &str)> = vec![
        (&def, "30", "1000", "20"),
        (&def, "60", "990", "0"),
        (&custom, "60", "940", "50"),
        (&custom, "1010", "0", "40"),
        (&pen_ignored, "60", "990", "0"),
    ];
    for (c, amt, op, oi) in cases {
        let p = pos_c(&sched, &[pay("t", "2024-01-10", amt)], "2024-02-01", c);
        assert_eq!(p.overdue_principal, m(op), "{amt} {:?}", c.order);
        assert_eq!(p.overdue_interest, m(oi), "{amt} {:?}", c.order);
        assert_eq!(p.dpd, 17);
    }
    // Fee comes first by default.
    let mut s = sched.to_vec();
    s[0].fee_due = m("5");
    let p = pos(&s, &[pay("t", "2024-01-10", "20")], "2024-02-01");
    assert_eq!(p.overdue_fee, Decimal::ZERO);
    assert_eq!(p.overdue_interest, m("35"));
    assert_eq!(p.overdue_principal, m("1000"));
}

#[test]
fn weekend_has_no_business_day_shift() {
    // 2024-06-01 is a Saturday; Monday is 2024-06-03.
    let sched = [inst(1, "2024-06-01", "100", "0")];
    let p = pos(&sched, &[], "2024-06-03");
    assert_eq!(p.dpd, 2);
    let p = pos(&sched, &[pay("t", "2024-06-03", "100")], "2024-06-03");
    assert_eq!(p.dpd, 0);
    assert_eq!(p.settled()[0].days_late, 2);
    assert_eq!(p.max_dpd, 2);
    // Paid on the Saturday itself: on time.
    let p = pos(&sched, &[pay("t", "2024-06-01", "100")], "2024-06-10");
    assert_eq!(p.settled()[0].days_late, 0);
    assert_eq!(p.max_dpd, 0);
}

#[test]
fn prepayment_then_default() {
    let sched = three();
    // Pays installments 1 and 2 early, then nothing.
    let p = pos(&sched, &[pay("t", "2024-01-05", "2100")], "2024-03-20");
    assert_eq!(p.dpd, 5);
    assert_eq!(p.overdue_since, Some(d("2024-03-15")));
    assert_eq!(p.prepaid_amount, m("2100"));
    assert_eq!(p.overpaid, Decimal::ZERO);
    assert_eq!(p.installments_overdue, 1);
    assert_eq!(p.settled().len(), 2);
    assert_eq!(p.settled()[1].settled_on, d("2024-01-05"));
    assert_eq!(p.settled()[1].days_late, 0);
    assert_eq!(p.max_dpd, 5);
    // A payment on the due date pays that installment (not prepaid),
    // the rest is prepaid.
    let p = pos(&sched, &[pay("t", "2024-01-15", "1500")], "2024-01-15");
    assert_eq!(p.prepaid_amount, m("450"));
    // Beyond the whole schedule: overpaid.
    let p = pos(&sched, &[pay("t", "2024-01-15", "3200")], "2024-04-01");
    assert_eq!(p.overpaid, m("50"));
    assert_eq!(p.prepaid_amount, m("2100"));
    assert!(p.closed && p.matured);
    assert_eq!(p.paid_total, m("3200"));
}

#[test]
fn prepay_reduce_principal_last() {
    let sched = three();
    let c = Conventions {
        prepay: Prepay::ReducePrincipalLast,
        ..Conventions::default()
    };
    // 1050 pays inst 1, 1200 more: 1000 principal of #3, 200 principal of #2.
    let p = pos_c(&sched, &[pay("t", "2024-01-15", "2250")], "2024-01-15", &c);
    assert_eq!(p.prepaid_amount, m("1200"));
    assert_eq!(p.outstanding_principal, m("800"));
    assert_eq!(p.settled().len(), 1);
    // #3 still owes interest 50: March is overdue if unpaid.
    let p = pos_c(&sched, &[pay("t", "2024-01-15", "2250")], "2024-03-20", &c);
    assert_eq!(p.dpd, 34);
    assert_eq!(p.overdue_principal, m("800"));
    assert_eq!(p.overdue_interest, m("100"));
    // All principal, then interest oldest first.
    let p = pos_c(&sched, &[pay("t", "2024-01-15", "3080")], "2024-01-15", &c);
    assert_eq!(p.outstanding_principal, Decimal::ZERO);
    assert_eq!(p.overpaid, Decimal::ZERO);
    assert_eq!(p.settled().len(), 1);
    let p = pos_c(&sched, &[pay("t", "2024-01-15", "3160")], "2024-01-15", &c);
    assert_eq!(p.overpaid, m("10"));
    assert!(p.closed);
    // Settled out of order (#3 before #2), reported in schedule order.
    let mut s3 = three();
    s3[2].interest_due = Decimal::ZERO;
    let p = pos_c(&s3, &[pay("t", "2024-01-15", "2050")], "2024-02-20", &c);
    let nos: Vec<u32> = p.settled().iter().map(|s| s.installment_no).collect();
    assert_eq!(nos, vec![1, 3]);
    assert_eq!(p.dpd, 5);
    assert_eq!(p.overdue_principal, m("1000"));
    let p = pos_c(
        &sched,
        &[pay("t", "2024-01-15", "2250"), pay("u", "2024-01-20", "50")],
        "2024-01-20",
        &c,
    );
    // The 50 is beyond what is due: principal of #2 (last with principal).
    assert_eq!(p.outstanding_principal, m("750"));
}

#[test]
fn reversals() {
    let sched = [inst(1, "2024-01-15", "1000", "0")];
    let pays = [
        pay("t1", "2024-01-15", "1000"),
        rev("r1", "2024-01-25", "t1"),
    ];
    // (as_of, dpd, max_dpd, paid_total)
    let cases: &[(&str, u32, u32, &str)] = &[
        ("2024-01-20", 0, 0, "1000"),
        ("2024-01-24", 0, 0, "1000"),
        ("2024-01-25", 10, 10, "0"),
        ("2024-02-14", 30, 30, "0"),
    ];
    for &(as_of, dpd, max, paid) in cases {
        let p = pos(&sched, &pays, as_of);
        assert_eq!(p.dpd, dpd, "{as_of}");
        assert_eq!(p.max_dpd, max, "{as_of}");
        assert_eq!(p.paid_total, m(paid), "{as_of}");
        assert!(p.warnings.is_empty());
    }
    // Re-paid after the reversal.
    let mut pays2 = pays.to_vec();
    pays2.push(pay("t2", "2024-01-28", "1000"));
    let p = pos(&sched, &pays2, "2024-02-14");
    assert_eq!((p.dpd, p.max_dpd), (0, 13));
    assert_eq!(p.settled()[0].days_late, 13);
    // Unknown txn, reversal of reversal, duplicate: warnings, no panic.
    let bad = [
        pay("t1", "2024-01-15", "1000"),
        rev("r1", "2024-01-20", "nope"),
        rev("r2", "2024-01-21", "r1"),
        rev("r3", "2024-01-22", "t1"),
        rev("r4", "2024-01-23", "t1"),
    ];
    let p = pos(&sched, &bad, "2024-01-21");
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("unknown txn nope"));
    assert_eq!(p.dpd, 0);
    let p = pos(&sched, &bad, "2024-01-23");
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    assert_eq!(p.dpd, 8);
}

#[test]
fn month_end_and_leap_year() {
    // (due, as_of, dpd)
    let cases: &[(&str, &str, u32)] = &[
        ("2024-01-31", "2024-01-31", 0),
        ("2024-01-31", "2024-02-01", 1),
        ("2023-02-28", "2023-03-01", 1),
        ("2024-02-28", "2024-03-01", 2),
        ("2024-02-29", "2024-02-29", 0),
        ("2024-02-29", "2024-03-01", 1),
        ("2024-01-31", "2024-03-01", 30),
        ("2023-01-31", "2023-03-01", 29),
        ("2023-12-31", "2024-12-31", 366),
    ];
    for &(due, as_of, dpd) in cases {
        let p = pos(&[inst(1, due, "10", "0")], &[], as_of);
        assert_eq!(p.dpd, dpd, "{due} {as_of}");
    }
}

#[test]
fn grace_days() {
    let sched = [inst(1, "2024-01-15", "1000", "0")];
    let c = Conventions {
        grace_days: 3,
        ..Conventions::default()
    };
    // (payment, as_of, dpd, max_dpd, penalty is zero)
    let cases: &[(Option<&str>, &str, u32, u32, bool)] = &[
        (None, "2024-01-16", 0, 0, true),
        (None, "2024-01-18", 0, 0, true),
        (None, "2024-01-19", 4, 4, false),
        (Some("2024-01-18"), "2024-02-01", 0, 0, true),
        (Some("2024-01-19"), "2024-02-01", 0, 4, false),
    ];
    for &(paid, as_of, dpd, max, zero_pen) in cases {
        let pays: Vec<Payment> = paid.map(|p| pay("t", p, "1000")).into_iter().collect();
        let p = position(&terms("1000"), &sched, &pays, d(as_of), &c);
        assert_eq!(p.dpd, dpd, "{paid:?} {as_of}");
        assert_eq!(p.max_dpd, max, "{paid:?} {as_of}");
        assert_eq!(p.penalty_interest.is_zero(), zero_pen, "{paid:?} {as_of}");
        assert_eq!(p.installments_overdue, u32::from(dpd > 0));
    }
    // Penalty after grace counts from the due date: 4 days on 1000.
    let p = position(&terms("1000"), &sched, &[], d("2024-01-19"), &c);
    // 1000 * 4.9 * 1.5 * 4 / 36000 = 0.81666.. -> 0.82
    assert_eq!(p.penalty_interest, m("0.82"));
}

#[test]
fn tolerance() {
    let sched = [inst(1, "2024-01-15", "1000", "50")];
    let c = Conventions {
        tolerance: m("0.50"),
        ..Conventions::default()
    };
    // (paid, dpd, closed)
    let cases: &[(&str, u32, bool)] = &[
        ("1049.50", 0, true),
        ("1049.49", 17, false),
        ("1050", 0, true),
    ];
    for &(amt, dpd, closed) in cases {
        let p = pos_c(&sched, &[pay("t", "2024-01-15", amt)], "2024-02-01", &c);
        assert_eq!(p.dpd, dpd, "{amt}");
        assert_eq!(p.closed, closed, "{amt}");
        assert_eq!(p.settled().len(), usize::from(closed));
        if dpd == 0 {
            assert_eq!(p.overdue_principal, Decimal::ZERO);
            assert_eq!(p.penalty_interest, Decimal::ZERO);
        }
    }
    // The remainder is still outstanding principal.
    let p = pos_c(
        &sched,
        &[pay("t", "2024-01-15", "1049.50")],
        "2024-02-01",
        &c,
    );
    assert_eq!(p.outstanding_principal, m("0.50"));
}

#[test]
fn relative_materiality_needs_both_thresholds_exceeded() {
    // 100 interest due 01-15, 10000 principal later: the outstanding principal stays 10000, so
    // 0.5 % of it is 50.00 and the arrear is the unpaid interest.
    let t = terms("10000");
    let sched = [
        inst(1, "2024-01-15", "0", "100"),
        inst(2, "2025-01-15", "10000", "0"),
    ];
    let conv = |tol: &str, pct: &str| Conventions {
        tolerance: m(tol),
        tolerance_pct: m(pct),
        ..Conventions::default()
    };
    // (paid on the due date, tolerance, tolerance_pct, dpd as of 02-01)
    let cases: &[(&str, &str, &str, u32)] = &[
        ("50.00", "0", "0.5", 0),   // arrear 50.00 = 0.5 % exactly: not material
        ("49.99", "0", "0.5", 17),  // 50.01 exceeds it
        ("49.99", "60", "0.5", 0),  // ... but not the absolute 60
        ("49.99", "50", "0.5", 17), // both exceeded
        ("49.99", "0", "0", 17),    // no relative threshold: as before
        ("0", "0", "1", 0),         // 100.00 = 1 % exactly
        ("0", "0", "0.99", 17),
    ];
    for &(paid, tol, pct, dpd) in cases {
        let p = position(
            &t,
            &sched,
            &[pay("t", "2024-01-15", paid)],
            d("2024-02-01"),
            &conv(tol, pct),
        );
        assert_eq!(
            (p.dpd, p.max_dpd),
            (dpd, dpd),
            "paid {paid} tol {tol} pct {pct}"
        );
        assert_eq!(p.overdue_since.is_some(), dpd > 0, "paid {paid}");
        // The amounts still say what is unpaid.
        if tol == "0" {
            assert_eq!(p.overdue_interest, m("100") - m(paid), "paid {paid}");
        }
    }
}

#[test]
fn a_whole_unit_payer_short_30_fen_a_month_stays_current_under_a_relative_threshold() {
    // Installments of 1000.30 (the contract), paid 1000 on each due date (the bank's rounded
    // debit): the shortfall accumulates on the newest installment.
    let sched: Vec<Installment> = (1..=60)
        .map(|k| {
            let due = d("2024-01-15") + chrono::Months::new(k - 1);
            Installment {
                installment_no: k,
                due_date: due,
                principal_due: m("1000.30"),
                interest_due: Decimal::ZERO,
                fee_due: Decimal::ZERO,
            }
        })
        .collect();
    let pays: Vec<Payment> = sched
        .iter()
        .take(24)
        .map(|x| {
            pay(
                &format!("t{}", x.installment_no),
                &x.due_date.to_string(),
                "1000",
            )
        })
        .collect();
    let t = terms("60018");
    let at = |c: &Conventions| position(&t, &sched, &pays, d("2026-01-02"), c);
    let plain = at(&Conventions::default());
    assert_eq!((plain.dpd, plain.overdue_principal), (18, m("7.20")));
    let absolute = at(&Conventions {
        tolerance: m("0.50"),
        ..Conventions::default()
    });
    assert_eq!(absolute.dpd, 18, "an absolute tolerance only delays it");
    let relative = at(&Conventions {
        tolerance: m("0.50"),
        tolerance_pct: m("1"),
        ..Conventions::default()
    });
    assert_eq!((relative.dpd, relative.max_dpd), (0, 0));
    // A missed month is material (1007.20 > 1 % of 37018.00), and DPD counts from the oldest
    // unpaid due date, 2025-11-15 (its 6.90 shortfall), as it does without the threshold.
    let missed = position(
        &t,
        &sched,
        &pays[..23],
        d("2026-01-02"),
        &Conventions {
            tolerance: m("0.50"),
            tolerance_pct: m("1"),
            ..Conventions::default()
        },
    );
    assert_eq!(missed.dpd, 48);
}

#[test]
fn penalty_interest() {
    let t = terms("10000");
    let sched = [inst(1, "2024-01-15", "10000", "0")];
    let c = Conventions::default();
    // 10000 * 0.049 * 1.5 * 30 / 360 = 61.25
    let p = position(&t, &sched, &[], d("2024-02-14"), &c);
    assert_eq!(p.dpd, 30);
    assert_eq!(p.penalty_interest, m("61.25"));
    // Partial payment on day 10 halves the balance for days 11..30:
    // (10000*10 + 5000*20) * 4.9*1.5/36000 = 40.8333 -> 40.83
    let p = position(
        &t,
        &sched,
        &[pay("a", "2024-01-25", "5000")],
        d("2024-02-14"),
        &c,
    );
    assert_eq!(p.penalty_interest, m("40.83"));
    // Compound on interest: 10000 principal + 200 interest.
    let s2 = [inst(1, "2024-01-15", "10000", "200")];
    let p = position(&t, &s2, &[], d("2024-02-14"), &c);
    // 10200 * 30 * 7.35 / 36000 = 62.475 -> 62.48 (half up)
    assert_eq!(p.penalty_interest, m("62.48"));
    let nc = Conventions {
        compound_interest: false,
        ..c.clone()
    };
    let p = position(&t, &s2, &[], d("2024-02-14"), &nc);
    assert_eq!(p.penalty_interest, m("61.25"));
    // Penalty stops when paid; a day-late payment accrues one day.
    let p = position(
        &t,
        &sched,
        &[pay("a", "2024-01-16", "10000")],
        d("2024-03-01"),
        &c,
    );
    // 10000 * 7.35 / 36000 = 2.041666 -> 2.04
    assert_eq!(p.penalty_interest, m("2.04"));
    // Never before or on the due date.
    let p = position(&t, &sched, &[], d("2024-01-15"), &c);
    assert_eq!(p.penalty_interest, Decimal::ZERO);
}

#[test]
fn penalty_first_moves_dpd() {
    let t = terms("10000");
    let sched = [inst(1, "2024-01-15", "10000", "0")];
    let pays = [pay("a", "2024-02-14", "10000")];
    let p = position(&t, &sched, &pays, d("2024-02-20"), &Conventions::default());
    assert_eq!(p.dpd, 0);
    assert_eq!(p.penalty_interest, m("61.25"));
    let c = Conventions {
        penalty_first: true,
        ..Conventions::default()
    };
    let p = position(&t, &sched, &pays, d("2024-02-20"), &c);
    assert_eq!(p.dpd, 36);
    assert_eq!(p.overdue_principal, m("61.25"));
    // Penalty on 61.25 for 6 days: 61.25*6*7.35/36000 = 0.0750 -> 0.08
    assert_eq!(p.penalty_interest, m("0.08"));
    let mut pays2 = pays.to_vec();
    pays2.push(pay("b", "2024-02-20", "61.33"));
    let p = position(&t, &sched, &pays2, d("2024-02-20"), &c);
    // 0.08 of penalty first, then 61.25 principal.
    assert_eq!(p.dpd, 0);
    assert!(p.closed);
    assert_eq!(p.penalty_interest, Decimal::ZERO);
}

#[test]
fn real_data_bullet() {
    let sched = [inst(1, "2016-10-07", "1000", "0")];
    let p = pos(&sched, &[pay("x", "2016-10-10", "1000")], "2016-12-08");
    assert_eq!(p.settled()[0].days_late, 3);
    assert_eq!(p.dpd, 0);
    assert_eq!(p.max_dpd, 3);
    let p = pos(&sched, &[], "2016-12-08");
    assert_eq!(p.dpd, 62);
}

#[test]
fn unsorted_inputs() {
    let mut sched = three();
    sched.reverse();
    let pays = [
        pay("b", "2024-02-15", "1050"),
        pay("a", "2024-01-15", "1050"),
    ];
    let p = pos(&sched, &pays, "2024-03-20");
    assert_eq!(p.dpd, 5);
    assert_eq!(p.overdue_since, Some(d("2024-03-15")));
    let nos: Vec<u32> = p.settled().iter().map(|s| s.installment_no).collect();
    assert_eq!(nos, vec![1, 2]);
}

#[test]
fn odd_input_never_panics() {
    let c = Conventions {
        grace_days: u32::MAX,
        tolerance: m("-1"),
        penalty_multiplier: m("-2"),
        order: vec![],
        ..Conventions::default()
    };
    let big = Decimal::MAX;
    let sched = [
        Installment {
            installment_no: 1,
            due_date: NaiveDate::MIN,
            principal_due: big,
            interest_due: m("-5"),
            fee_due: big,
        },
        Installment {
            installment_no: 2,
            due_date: NaiveDate::MAX,
            principal_due: big,
            interest_due: big,
            fee_due: big,
        },
    ];
    let pays = [
        pay("a", "2024-01-01", "-5"),
        Payment {
            txn_id: "b".into(),
            paid_on: NaiveDate::MAX,
            amount: big,
            reverses_txn_id: None,
        },
    ];
    let t = LoanTerms {
        annual_rate_pct: big,
        principal: Decimal::MIN,
    };
    for conv in [&c, &Conventions::default()] {
        for as_of in [NaiveDate::MIN, d("2024-01-01"), NaiveDate::MAX] {
            let p = position(&t, &sched, &pays, as_of, conv);
            assert!(!p.warnings.is_empty());
        }
    }
    let empty = position(&t, &[], &[], d("2024-01-01"), &Conventions::default());
    assert!(empty.closed && empty.matured && empty.dpd == 0);
    assert!(positions(&t, &sched, &pays, &[], &c).is_empty());
}

/// Deterministic scenarios: positions() over many dates equals
/// position() for each date, in any date order.
#[test]
fn positions_equals_position() {
    let mut rng = crate::rng::Rng::new(0x9e3779b97f4a7c15);
    let mut rnd = move |n: u64| rng.below(n);
    let base = d("2023-01-31");
    for scenario in 0..300 {
        let n_inst = 1 + rnd(8) as u32;
        let sched: Vec<Installment> = (1..=n_inst)
            .map(|k| Installment {
                installment_no: k,
                due_date: base.checked_add_months(chrono::Months::new(k - 1)).unwrap(),
                principal_due: Decimal::new(100_000 + rnd(50_000) as i64, 2),
                interest_due: Decimal::new(rnd(10_000) as i64, 2),
                fee_due: Decimal::new(if rnd(4) == 0 { 500 } else { 0 }, 2),
            })
            .collect();
        let mut pays = Vec::new();
        for k in 0..rnd(10) {
            let on = base + chrono::Days::new(rnd(300));
            if k > 0 && rnd(5) == 0 {
                let target = format!("t{}", rnd(k));
                let on2 = base + chrono::Days::new(rnd(300));
                pays.push(rev(&format!("r{k}"), &on2.to_string(), &target));
            } else {
                let amt = Decimal::new(rnd(200_000) as i64, 2);
                pays.push(pay(&format!("t{k}"), &on.to_string(), &amt.to_string()));
            }
        }
        let conv = Conventions {
            grace_days: [0, 0, 3, 15][rnd(4) as usize],
            tolerance: [Decimal::ZERO, m("0.50"), m("10")][rnd(3) as usize],
            penalty_first: rnd(3) == 0,
            compound_interest: rnd(2) == 0,
            prepay: if rnd(3) == 0 {
                Prepay::ReducePrincipalLast
            } else {
                Prepay::NextInstallments
            },
            order: if rnd(2) == 0 {
                vec![Component::Principal, Component::Interest, Component::Fee]
            } else {
                Conventions::default().order
            },
            ..Conventions::default()
        };
        let mut dates: Vec<NaiveDate> = (0..12)
            .map(|_| base + chrono::Days::new(rnd(400)))
            .collect();
        if scenario % 2 == 0 {
            dates.sort();
        }
        let t = terms("0");
        let all = positions(&t, &sched, &pays, &dates, &conv);
        assert_eq!(all.len(), dates.len());
        for (p, &dt) in all.iter().zip(&dates) {
            let single = position(&t, &sched, &pays, dt, &conv);
            assert_eq!(p, &single, "scenario {scenario} as_of {dt}");
        }
        // max_dpd is the worst daily DPD so far (without reversals,
        // which rewrite history).
        // A payment settling the oldest installment late counts its
        // days_late (the DPD just before that payment).
        if pays.iter().all(|p| p.reverses_txn_id.is_none()) {
            let last = *dates.iter().max().unwrap();
            let p = position(&t, &sched, &pays, last, &conv);
            let eod = (0..=days_between(base, last))
                .map(|k| position(&t, &sched, &pays, base + chrono::Days::new(k as u64), &conv).dpd)
                .max()
                .unwrap();
            let late = p
                .settled()
                .iter()
                .map(|s| s.days_late)
                .filter(|&l| l > conv.grace_days)
                .max()
                .unwrap_or(0);
            let worst = eod.max(late);
            assert_eq!(p.max_dpd, worst, "scenario {scenario}");
        }
    }
}

/// Each installment's status and days late, as `overdue --installments` lists them: grace
/// keeps an unpaid installment not due, an all-zero one is settled from its due date, an
/// overdue one counts its own days past due.
#[test]
fn installment_statuses() {
    let mut sched = three();
    sched.push(inst(4, "2024-04-15", "0", "0"));
    let c = Conventions {
        grace_days: 3,
        ..Conventions::default()
    };
    let pays = [pay("a", "2024-01-20", "1050")];
    let st = |as_of: &str| -> Vec<(InstallmentStatus, Option<NaiveDate>, u32)> {
        pos_c(&sched, &pays, as_of, &c)
            .installments
            .iter()
            .map(|x| (x.status, x.settled_on, x.days_late))
            .collect()
    };
    use InstallmentStatus::*;
    assert_eq!(
        st("2024-02-18"),
        [
            (Settled, Some(d("2024-01-20")), 5),
            (NotDue, None, 0), // due 02-15, within grace
            (NotDue, None, 0),
            (NotDue, None, 0), // owes nothing, but not due yet
        ]
    );
    // On its due date the all-zero installment is not settled yet; the day after it is.
    assert_eq!(st("2024-04-15")[3], (NotDue, None, 0));
    assert_eq!(
        st("2024-04-16"),
        [
            (Settled, Some(d("2024-01-20")), 5),
            (Overdue, None, 61),
            (Overdue, None, 32),
            (Settled, Some(d("2024-04-15")), 0),
        ]
    );
    // In schedule order with the index into the input, whatever the input order.
    let mut rev = sched.clone();
    rev.reverse();
    let p = pos_c(&rev, &pays, "2024-04-16", &c);
    let idx: Vec<(u32, usize)> = p
        .installments
        .iter()
        .map(|x| (x.installment_no, x.index))
        .collect();
    assert_eq!(idx, [(1, 3), (2, 2), (3, 1), (4, 0)]);
    assert_eq!(p.settled().len(), 2);
}

/// The payments promise tracking counts: the reversal rule of the replay, as of the date.
#[test]
fn payments_in_force_follow_the_reversal_rule() {
    let pays = [
        pay("t1", "2024-01-15", "100"),
        pay("t2", "2024-01-20", "200"),
        rev("r1", "2024-01-25", "t1"),
        rev("r2", "2024-01-26", "nope"),
        pay("t3", "2024-02-01", "300"),
    ];
    let f = |as_of: &str| -> Vec<(NaiveDate, Decimal)> { payments_in_force(&pays, d(as_of)) };
    assert_eq!(
        f("2024-01-24"),
        [(d("2024-01-15"), m("100")), (d("2024-01-20"), m("200"))]
    );
    assert_eq!(f("2024-01-25"), [(d("2024-01-20"), m("200"))]);
    assert_eq!(
        f("2024-03-01"),
        [(d("2024-01-20"), m("200")), (d("2024-02-01"), m("300"))]
    );
    assert!(f("2024-01-14").is_empty());
}
