//! The replay across schedule versions: where a restructured loan stands as of D.
//!
//! Built on the one engine ([`crate::engine::positions`]); nothing here
//! recomputes DPD its own way.
//!
//! # Conventions
//!
//! * **Segments.** With versions effective E1 < E2 < … (cancelled ones
//!   dropped, see [`in_force`]), a date D before E1 is answered from the
//!   original schedule alone: exactly the answer before any restructure was
//!   imported. For E_k <= D < E_k+1 the engine replays one combined schedule:
//!   the original installments due before E1, version 1's due in [E1, E2), …,
//!   version k's due on or after E_k (each version replaces what is due on or
//!   after its date). So importing a restructure never changes an answer for
//!   a date before its effective date.
//! * **Version of an installment** = the number of versions in force whose
//!   effective date is on or before its due date ([`version_of`]); 0 is the
//!   original schedule.
//! * **Transfer.** For capitalised and carried kinds the arrears the
//!   restructure took over (`transfer`, fixed when it was imported) leave the
//!   old installments at the start of E: the engine sees a payment of that
//!   amount dated E, placed before the day's real payments, paying the oldest
//!   installments first. It is not the borrower's money: `paid_total` and
//!   `last_payment_date` count real payments only. The old installments are
//!   then settled on E (`days_late` = E − due date), and `max_dpd` keeps the
//!   DPD they reached. If the ledger later shows more unpaid at E than the
//!   restructure took over (a payment before E reversed afterwards), the rest
//!   stays overdue on the old installments from their own due dates; if less
//!   (a payment before E imported afterwards), the excess is a credit on the
//!   new version (`prepaid_amount`). Money is never lost either way.
//! * **Penalty.** Penalty accrued before E stays reported. With
//!   `penalty_first` the transfer also pays the penalty owed at the start of
//!   E (the restructure settles it: the new version carries what the
//!   restructure agreed, nothing more).
//! * **Left overdue**: no transfer; the old installments keep counting DPD
//!   from their due dates until paid (oldest first, as always).

use super::Kind;
use crate::engine::{self, Conventions, Detail, Installment, LoanTerms, Payment, Position};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A restructure as the replay needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionFacts {
    pub effective: NaiveDate,
    /// Arrears taken over at E (0 for kinds that leave them overdue).
    pub transfer: Decimal,
    /// The new version's installments (imported or generated at import).
    pub installments: Vec<Installment>,
}

/// One restructure row of the ledger, for [`in_force`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fact<T> {
    pub restructure_id: String,
    pub effective: NaiveDate,
    pub kind: Kind,
    pub version: T,
}

/// The versions in force: cancelled restructures dropped, sorted by effective
/// date (then restructure_id, so two on one day apply in id order).
pub fn in_force<T: Clone>(facts: &[Fact<T>]) -> Vec<Fact<T>> {
    let mut v: Vec<Fact<T>> = facts
        .iter()
        .filter(|f| f.kind != Kind::Cancelled)
        .cloned()
        .collect();
    v.sort_by(|a, b| (a.effective, &a.restructure_id).cmp(&(b.effective, &b.restructure_id)));
    v
}

/// The version an installment due on `due` belongs to (module doc).
pub fn version_of(effectives: &[NaiveDate], due: NaiveDate) -> u32 {
    effectives.iter().filter(|&&e| e <= due).count() as u32
}

/// The combined schedule in force from version `k` (1-based) on: what the engine replays for
/// a date on or after `versions[k - 1].effective` (and before the next version's).
pub fn combined(original: &[Installment], versions: &[VersionFacts], k: usize) -> Vec<Installment> {
    let mut out: Vec<Installment> = original
        .iter()
        .filter(|i| i.due_date < versions[0].effective)
        .cloned()
        .collect();
    for (j, v) in versions[..k].iter().enumerate() {
        let to = versions[..k].get(j + 1).map(|n| n.effective);
        out.extend(
            v.installments
                .iter()
                .filter(|i| i.due_date >= v.effective && to.is_none_or(|t| i.due_date < t))
                .cloned(),
        );
    }
    out
}

fn transfer_payment(k: usize, on: NaiveDate, amount: Decimal) -> Payment {
    Payment {
        // NUL cannot come from a CSV txn_id that matches a reversal by accident.
        txn_id: format!("\0restructure-transfer-{k}"),
        paid_on: on,
        amount,
        reverses_txn_id: None,
    }
}

/// The loan's positions as of `as_ofs` across its versions (module doc);
/// `result[k].as_of == as_ofs[k]`. `versions` must be in force (see
/// [`in_force`]) and sorted by effective date. Each installment's status
/// carries the version it belongs to ([`version_of`]).
pub fn positions(
    terms: &LoanTerms,
    original: &[Installment],
    versions: &[VersionFacts],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
) -> Vec<Position> {
    positions_with(
        terms,
        original,
        versions,
        pays,
        as_ofs,
        conv,
        Detail::Installments,
    )
}

/// [`positions`], holding the installments' statuses or not ([`Detail`]).
pub fn positions_with(
    terms: &LoanTerms,
    original: &[Installment],
    versions: &[VersionFacts],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
    detail: Detail,
) -> Vec<Position> {
    if versions.is_empty() {
        return engine::positions_with(terms, original, pays, as_ofs, conv, detail);
    }
    let effectives: Vec<NaiveDate> = versions.iter().map(|v| v.effective).collect();
    let segment = |d: NaiveDate| versions.partition_point(|v| v.effective <= d);
    let mut out: Vec<Option<Position>> = vec![None; as_ofs.len()];
    // Real payments only: paid_total and last_payment_date do not depend on the schedule.
    let real = engine::positions_with(terms, &[], pays, as_ofs, conv, Detail::Figures);
    let mut transfers: Vec<Payment> = Vec::new();
    let mut with_transfers: Vec<Payment> = Vec::with_capacity(pays.len() + versions.len());
    for k in 0..=versions.len() {
        let idx: Vec<usize> = (0..as_ofs.len())
            .filter(|&i| segment(as_ofs[i]) == k)
            .collect();
        if k > 0 {
            // The transfer at E_k, priced against the schedule in force just before it.
            let v = &versions[k - 1];
            let mut amount = v.transfer;
            if conv.penalty_first && amount > Decimal::ZERO {
                let before = if k == 1 {
                    original.to_vec()
                } else {
                    combined(original, versions, k - 1)
                };
                let early: Vec<Payment> = transfers
                    .iter()
                    .chain(pays.iter().filter(|p| p.paid_on < v.effective))
                    .cloned()
                    .collect();
                let terms_before = LoanTerms {
                    principal: before.iter().map(|i| i.principal_due).sum(),
                    ..*terms
                };
                let p = engine::position(&terms_before, &before, &early, v.effective, conv);
                amount += p.penalty_interest;
            }
            if amount > Decimal::ZERO {
                transfers.push(transfer_payment(k, v.effective, amount));
            }
        }
        if idx.is_empty() {
            continue;
        }
        let dates: Vec<NaiveDate> = idx.iter().map(|&i| as_ofs[i]).collect();
        let got = if k == 0 {
            engine::positions_with(terms, original, pays, &dates, conv, detail)
        } else {
            let sched = combined(original, versions, k);
            let t = LoanTerms {
                principal: sched.iter().map(|i| i.principal_due).sum(),
                ..*terms
            };
            with_transfers.clear();
            with_transfers.extend(transfers.iter().cloned());
            with_transfers.extend(pays.iter().cloned());
            engine::positions_with(&t, &sched, &with_transfers, &dates, conv, detail)
                .into_iter()
                .zip(&idx)
                .map(|(mut p, &i)| {
                    p.paid_total = real[i].paid_total;
                    p.last_payment_date = real[i].last_payment_date;
                    p.warnings.retain(|w| !w.contains('\0'));
                    for s in &mut p.installments {
                        s.version = version_of(&effectives[..k], s.due_date);
                    }
                    p
                })
                .collect()
        };
        for (p, &i) in got.into_iter().zip(&idx) {
            out[i] = Some(p);
        }
    }
    out.into_iter()
        .zip(real)
        .map(|(p, r)| p.unwrap_or(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{arrears_at_12, contract, original};
    use super::super::{generate, Basis, NewTerms};
    use super::*;
    use crate::test_support::{d, m, prop_config};
    use proptest::prelude::*;

    fn terms() -> LoanTerms {
        LoanTerms {
            annual_rate_pct: m("6"),
            principal: m("120000"),
        }
    }

    fn pay(id: &str, on: &str, amount: &str) -> Payment {
        Payment {
            txn_id: id.to_string(),
            paid_on: d(on),
            amount: m(amount),
            reverses_txn_id: None,
        }
    }

    /// #1..#9 paid on their due dates (3650.63 each); #10..#12 unpaid.
    fn nine_paid() -> Vec<Payment> {
        original()[..9]
            .iter()
            .map(|i| {
                pay(
                    &format!("t{}", i.installment_no),
                    &i.due_date.to_string(),
                    "3650.63",
                )
            })
            .collect()
    }

    fn version(kind: Kind, term: Option<u32>) -> VersionFacts {
        let (c, s) = (contract(), original());
        let b = Basis {
            contract: &c,
            schedule: &s,
            effective: d("2026-01-20"),
            arrears: arrears_at_12(),
        };
        let v = generate(
            &b,
            kind,
            &NewTerms {
                term_months: term,
                ..NewTerms::default()
            },
        )
        .unwrap();
        VersionFacts {
            effective: v.effective,
            transfer: v.transfer,
            installments: v.installments,
        }
    }

    fn at(v: &[VersionFacts], pays: &[Payment], on: &str) -> Position {
        positions(
            &terms(),
            &original(),
            v,
            pays,
            &[d(on)],
            &Conventions::default(),
        )
        .remove(0)
    }

    #[test]
    fn dpd_the_day_before_and_the_day_of_the_effective_date() {
        let pays = nine_paid();
        let cap = [version(Kind::Capitalisation, Some(36))];
        let left = [version(Kind::RateCut, None)];
        let carried = [version(Kind::Extension, Some(36))];
        // Oldest unpaid #10 due 2025-11-15: 2026-01-19 − 2025-11-15 = 15 + 31 + 19 = 65 days.
        for v in [&cap[..], &left[..], &carried[..], &[]] {
            let p = at(v, &pays, "2026-01-19");
            assert_eq!(p.dpd, 65);
            assert_eq!(p.overdue_principal, m("9620.00"));
            assert_eq!(p.overdue_interest, m("1331.89"));
        }
        // Capitalised: the arrears leave the old installments at the start of E.
        let p = at(&cap, &pays, "2026-01-20");
        assert_eq!(p.dpd, 0);
        assert_eq!(p.overdue_principal, Decimal::ZERO);
        assert_eq!(p.outstanding_principal, m("93320.66"));
        // The transfer is not the borrower's money: 9 × 3650.63 = 32855.67 paid, last on #9's date.
        assert_eq!(p.paid_total, m("32855.67"));
        assert_eq!(p.last_payment_date, Some(d("2025-10-15")));
        // History is kept: 65 DPD reached, #10 settled on E 66 days late.
        assert_eq!(p.max_dpd, 66);
        let s10 = p
            .settled()
            .into_iter()
            .find(|s| s.due_date == d("2025-11-15"))
            .unwrap();
        assert_eq!((s10.settled_on, s10.days_late), (d("2026-01-20"), 66));
        // Carried: the arrears leave the old installments at E too (into the first new
        // installment, due 2026-02-15): DPD 0 and nothing overdue on E, #10 settled 66 days late.
        let p = at(&carried, &pays, "2026-01-20");
        assert_eq!((p.dpd, p.overdue_principal), (0, Decimal::ZERO));
        assert_eq!(p.max_dpd, 66);
        // Left overdue: DPD goes on, 66 on E.
        let p = at(&left, &pays, "2026-01-20");
        assert_eq!(p.dpd, 66);
        assert_eq!(p.overdue_principal, m("9620.00"));
        // Outstanding: the 9620.00 overdue plus the new version's 82368.77.
        assert_eq!(p.outstanding_principal, m("91988.77"));
    }

    #[test]
    fn payments_after_the_effective_date_count_on_the_new_version() {
        let mut pays = nine_paid();
        let cap = [version(Kind::Capitalisation, Some(36))];
        // The new first installment 2839.00 due 2026-02-15, paid on time.
        pays.push(pay("n1", "2026-02-15", "2839.00"));
        let p = at(&cap, &pays, "2026-03-01");
        assert_eq!(p.dpd, 0);
        assert_eq!(p.outstanding_principal, m("93320.66") - m("2372.40"));
        let s = p
            .settled()
            .into_iter()
            .find(|s| s.due_date == d("2026-02-15"))
            .unwrap();
        assert_eq!((s.installment_no, s.days_late), (1, 0));
        let eff = [cap[0].effective];
        assert_eq!(version_of(&eff, s.due_date), 1);
        assert_eq!(version_of(&eff, d("2025-11-15")), 0);
        // The engine's statuses carry the version: the 12 original ones (due before E) 0, the
        // 36 new ones 1; before E every one is of the original.
        let v: Vec<u32> = p.installments.iter().map(|s| s.version).collect();
        assert_eq!(v.len(), 12 + 36);
        assert!(v[..12].iter().all(|&x| x == 0) && v[12..].iter().all(|&x| x == 1));
        let before = at(&cap, &pays, "2026-01-19");
        assert_eq!(before.installments.len(), 36);
        assert!(before.installments.iter().all(|s| s.version == 0));
        // Figures only: the same position without the list.
        let f = positions_with(
            &terms(),
            &original(),
            &cap,
            &pays,
            &[d("2026-03-01")],
            &Conventions::default(),
            Detail::Figures,
        )
        .remove(0);
        assert_eq!(
            f,
            Position {
                installments: Vec::new(),
                ..p.clone()
            }
        );
        // The second (2026-03-15) missed: DPD 1 the next day, on the new version.
        let p = at(&cap, &pays, "2026-03-16");
        assert_eq!(p.dpd, 1);
        assert_eq!(p.overdue_since, Some(d("2026-03-15")));
        assert_eq!(p.overdue_principal + p.overdue_interest, m("2839.00"));
    }

    #[test]
    fn carried_arrears_fall_due_with_the_first_new_installment() {
        let pays = nine_paid();
        let ext = [version(Kind::Extension, Some(36))];
        let p = at(&ext, &pays, "2026-02-15");
        assert_eq!(p.dpd, 0);
        assert_eq!(p.overdue_principal, Decimal::ZERO);
        // Unpaid the next day: 2093.98 + 9620.00 principal, 411.84 + 1331.89 interest.
        let p = at(&ext, &pays, "2026-02-16");
        assert_eq!(p.dpd, 1);
        assert_eq!(p.overdue_principal, m("11713.98"));
        assert_eq!(p.overdue_interest, m("1743.73"));
    }

    #[test]
    fn left_overdue_arrears_are_paid_first() {
        let mut pays = nine_paid();
        let left = [version(Kind::RateCut, None)];
        // 10951.89 pays #10..#12; then the new first installment due 2026-02-15 on time
        // (no new rate given: 82368.77 over 24 months at 6 % = 3650.63).
        pays.push(pay("a", "2026-01-25", "10951.89"));
        pays.push(pay("b", "2026-02-15", "3650.63"));
        let p = at(&left, &pays, "2026-02-20");
        assert_eq!(p.dpd, 0);
        assert_eq!(p.max_dpd, 71); // 2026-01-25 − 2025-11-15
                                   // Paid late, the arrears still went to the old installments first: 3650.63 short leaves
                                   // the new first installment unpaid from the next day.
        pays.pop();
        pays.push(pay("b", "2026-02-15", "3000.00"));
        let p = at(&left, &pays, "2026-02-16");
        assert_eq!((p.dpd, p.overdue_since), (1, Some(d("2026-02-15"))));
    }

    #[test]
    fn a_reversal_after_e_of_a_payment_before_it_reopens_the_oldest_arrears() {
        let mut pays = nine_paid();
        pays.push(Payment {
            txn_id: "r9".to_string(),
            paid_on: d("2026-02-01"),
            amount: Decimal::ZERO,
            reverses_txn_id: Some("t9".to_string()),
        });
        let cap = [version(Kind::Capitalisation, Some(36))];
        // Before the reversal's date the restructure took over everything: DPD 0.
        assert_eq!(at(&cap, &pays, "2026-01-31").dpd, 0);
        // From it, #9 was never paid: the 10951.89 transfer pays #9, #10, #11 (3 × 3650.63),
        // #12 (due 2026-01-15) keeps 3650.63 overdue: DPD 2026-02-10 − 2026-01-15 = 26.
        let p = at(&cap, &pays, "2026-02-10");
        assert_eq!(p.dpd, 26);
        assert_eq!(p.overdue_since, Some(d("2026-01-15")));
        assert_eq!(p.overdue_principal + p.overdue_interest, m("3650.63"));
        assert_eq!(p.paid_total, m("29205.04")); // 8 × 3650.63
    }

    #[test]
    fn a_cancelled_restructure_is_as_if_never_made() {
        let v = version(Kind::Capitalisation, Some(36));
        let facts = [
            Fact {
                restructure_id: "R1".to_string(),
                effective: v.effective,
                kind: Kind::Cancelled,
                version: v.clone(),
            },
            Fact {
                restructure_id: "R0".to_string(),
                effective: d("2026-01-20"),
                kind: Kind::Capitalisation,
                version: v.clone(),
            },
        ];
        let live = in_force(&facts);
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].restructure_id, "R0");
        let none: Vec<VersionFacts> = in_force(&facts[..1])
            .into_iter()
            .map(|f| f.version)
            .collect();
        assert!(none.is_empty());
        let pays = nine_paid();
        for on in ["2026-01-19", "2026-01-20", "2026-06-30"] {
            assert_eq!(
                at(&none, &pays, on),
                engine::position(&terms(), &original(), &pays, d(on), &Conventions::default())
            );
        }
    }

    #[test]
    fn penalty_first_transfer_also_settles_the_penalty_to_e() {
        let pays = nine_paid();
        let cap = [version(Kind::Capitalisation, Some(36))];
        let conv = Conventions {
            penalty_first: true,
            ..Conventions::default()
        };
        let p = positions(
            &terms(),
            &original(),
            &cap,
            &pays,
            &[d("2026-01-20")],
            &conv,
        )
        .remove(0);
        assert_eq!(p.dpd, 0);
        assert_eq!(p.overdue_principal + p.overdue_interest, Decimal::ZERO);
        assert_eq!(p.penalty_interest, Decimal::ZERO);
        assert_eq!(p.paid_total, m("32855.67"));
    }

    /// New terms for a kind: each kind's own concession, so every generator path is exercised.
    fn terms_for(kind: Kind) -> NewTerms {
        NewTerms {
            term_months: Some(24),
            holiday_months: if kind == Kind::Holiday { 3 } else { 0 },
            interest_only_months: if kind == Kind::InterestOnly { 6 } else { 0 },
            method: (kind == Kind::MethodChange).then_some(crate::schedule::Method::EqualPrincipal),
            annual_rate_pct: (kind == Kind::RateCut).then(|| m("4.5")),
            ..NewTerms::default()
        }
    }

    /// A version effective `e` priced as `ops::restructure::price` prices it: on the schedule in
    /// force just before `e` and the arrears the replay gives for the day before (strictly).
    fn priced_version(
        before: &[VersionFacts],
        pays: &[Payment],
        e: NaiveDate,
        kind: Kind,
        conv: &Conventions,
    ) -> Option<VersionFacts> {
        let strict = Conventions {
            grace_days: 0,
            tolerance: Decimal::ZERO,
            ..conv.clone()
        };
        let day_before = e.pred_opt()?;
        let p = positions(&terms(), &original(), before, pays, &[day_before], &strict).remove(0);
        if p.closed {
            return None;
        }
        let schedule = if before.is_empty() {
            original()
        } else {
            combined(&original(), before, before.len())
        };
        let c = contract();
        let b = Basis {
            contract: &c,
            schedule: &schedule,
            effective: e,
            arrears: super::super::Arrears {
                principal: p.overdue_principal,
                interest: p.overdue_interest,
                fee: p.overdue_fee,
            },
        };
        let v = generate(&b, kind, &terms_for(kind)).ok()?;
        Some(VersionFacts {
            effective: e,
            transfer: v.transfer,
            installments: v.installments,
        })
    }

    /// Every kind that makes a version (all but `cancelled`).
    fn kinds() -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| k.arrears_rule().is_some())
            .collect()
    }

    proptest! {
        #![proptest_config(prop_config())]

        /// Importing a restructure never changes any answer for a date before its effective
        /// date: the first restructure of a loan, and a second one over the first, of every kind.
        #[test]
        fn no_answer_before_e_changes(
            paid in proptest::collection::vec((0u32..40, 0i64..500_000), 0..20),
            eff_day in 1u32..1200,
            second_after in proptest::option::of(1u32..600),
            as_of_days in proptest::collection::vec(0u32..1300, 1..8),
            kind in proptest::sample::select(kinds()),
            kind2 in proptest::sample::select(kinds()),
            penalty_first in any::<bool>(),
        ) {
            let start = d("2025-01-15");
            let pays: Vec<Payment> = paid.iter().enumerate().map(|(k, &(day, fen))| Payment {
                txn_id: format!("t{k}"),
                paid_on: start + chrono::Days::new(u64::from(day) * 30),
                amount: Decimal::new(fen, 2),
                reverses_txn_id: None,
            }).collect();
            let e = start + chrono::Days::new(u64::from(eff_day));
            let s = original();
            let conv = Conventions { penalty_first, ..Conventions::default() };
            let before = engine::position(&terms(), &s, &pays, e.pred_opt().unwrap(), &Conventions {
                grace_days: 0, tolerance: Decimal::ZERO, ..conv.clone() });
            let Some(v1) = priced_version(&[], &pays, e, kind, &conv) else {
                return Ok(());
            };
            let vf = [v1];
            let dates: Vec<NaiveDate> = as_of_days.iter().map(|&k| start + chrono::Days::new(u64::from(k))).collect();
            let with = positions(&terms(), &s, &vf, &pays, &dates, &conv);
            let without = engine::positions(&terms(), &s, &pays, &dates, &conv);
            for ((w, o), dt) in with.iter().zip(&without).zip(&dates) {
                if *dt < e {
                    prop_assert_eq!(w, o);
                } else {
                    // From E the transferred kinds leave nothing overdue that the transfer covered.
                    prop_assert_eq!(w.paid_total, o.paid_total);
                    prop_assert_eq!(w.last_payment_date, o.last_payment_date);
                    prop_assert!(w.max_dpd >= o.max_dpd.min(before.dpd));
                }
            }
            // A second restructure over the first changes nothing before its own date.
            let Some(after) = second_after else {
                return Ok(());
            };
            let e2 = e + chrono::Days::new(u64::from(after));
            let Some(v2) = priced_version(&vf, &pays, e2, kind2, &conv) else {
                return Ok(());
            };
            let two = [vf[0].clone(), v2];
            let with_two = positions(&terms(), &s, &two, &pays, &dates, &conv);
            for ((w2, w1), dt) in with_two.iter().zip(&with).zip(&dates) {
                if *dt < e2 {
                    prop_assert_eq!(w2, w1);
                }
            }
        }
    }
}
