//! The proposal maths behind `daihou restructure`: each option side by side.
//!
//! # Conventions
//!
//! * **Options** take effect at E (the day after the position date). Built from
//!   flags ([`Spec::from_flags`]) the term is the remaining term plus
//!   `--extend-months`, `--holiday-months` and `--interest-only-months` (the
//!   concession months come on top, so the amortising part keeps at least its
//!   remaining length). The kind is the headline concession, in this order:
//!   `--capitalise-arrears` → capitalisation, `--holiday-months` → holiday,
//!   `--interest-only-months` → interest_only, `--extend-months` → extension,
//!   `--method` → method_change, `--rate` → rate_cut.
//! * **Default menu** ([`Spec::default_menu`]): extend 12 months, extend 24,
//!   6 months interest-only, capitalise arrears (same term), rate cut to the
//!   contract rate minus 1 point (not below 0).
//! * **installment** is the regular payment: the first amortising installment
//!   without any carried arrears; **first_payment** is the first installment
//!   as due (carried arrears included).
//! * **total_interest** (cost to the borrower) = everything the borrower pays
//!   from E under the option (the new version, plus arrears left overdue)
//!   − everything owed at E (not-yet-due principal + arrears). Capitalised
//!   holiday interest is therefore counted; capitalising arrears interest is
//!   not counted twice. The status quo's is the not-yet-due interest and fee.
//! * **npv_given_up** (the bank's interest given up) = PV(status quo) −
//!   PV(option), both discounted at the **contract** periodic rate
//!   r = rate × period / 1200 in whole periods of the loan's grid counted from
//!   S, the slot before the first one on or after E (arrears are at t = 0).
//!   Rounded to the fen at the end. At the contract rate a pure extension or
//!   capitalisation costs (almost) nothing; carried arrears cost one period of
//!   interest on them; a rate cut shows its real cost. Negative = the bank
//!   gains (rounding, or interest on capitalised interest).
//! * **Grade consequence** under the active classification rule set
//!   ([`RuleSet`], `--rules` as `classify` takes it; RULES.md §1): restructured
//!   → at least its `[restructure] during` grade (cn2023: 关注) during
//!   observation; the observation starts at the first due date of the new
//!   version and lasts at least `min_periods` repayment periods (to the due
//!   date of installment `min_periods + 1`, or the last) and at least
//!   `min_months` (cn2023: two periods and twelve months); a missed payment in
//!   it → its `missed` grade (cn2023: 次级) and a restart. A loan whose DPD at E
//!   already has a grade the rule set holds (`[upgrade_review] hold_from`,
//!   cn2023: 次级, so DPD > 90) is not upgraded during observation. A rule set
//!   without a restructure rule grades by DPD alone, and the text says so.

use super::{generate, Basis, Kind, NewTerms, RestructureError, Version};
use crate::classify::rules::RuleSet;
use crate::classify::Grade;
use crate::engine::Installment;
use crate::money::round_fen;
use crate::schedule::Method;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// One option to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Short label shown as the option's name, e.g. `extend 12m`.
    pub label: String,
    pub kind: Kind,
    pub terms: NewTerms,
}

/// The proposal flags of one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub extend_months: u32,
    pub interest_only_months: u32,
    pub holiday_months: u32,
    pub rate: Option<Decimal>,
    pub capitalise_arrears: bool,
    pub method: Option<Method>,
}

impl Flags {
    pub fn is_empty(&self) -> bool {
        *self == Flags::default()
    }
}

impl Spec {
    /// The option the flags describe (module doc); None when no flag is set.
    pub fn from_flags(basis: &Basis, f: &Flags) -> Option<Spec> {
        if f.is_empty() {
            return None;
        }
        let kind = if f.capitalise_arrears {
            Kind::Capitalisation
        } else if f.holiday_months > 0 {
            Kind::Holiday
        } else if f.interest_only_months > 0 {
            Kind::InterestOnly
        } else if f.extend_months > 0 {
            Kind::Extension
        } else if f.method.is_some() {
            Kind::MethodChange
        } else {
            Kind::RateCut
        };
        let mut parts = Vec::new();
        if f.extend_months > 0 {
            parts.push(format!("extend {}m", f.extend_months));
        }
        if f.holiday_months > 0 {
            parts.push(format!("holiday {}m", f.holiday_months));
        }
        if f.interest_only_months > 0 {
            parts.push(format!("interest-only {}m", f.interest_only_months));
        }
        if let Some(r) = f.rate {
            parts.push(format!("rate {}%", r.normalize()));
        }
        if let Some(m) = f.method {
            parts.push(m.as_str().to_string());
        }
        if f.capitalise_arrears {
            parts.push("capitalise arrears".to_string());
        }
        Some(Spec {
            label: parts.join(", "),
            kind,
            terms: NewTerms {
                principal: None,
                annual_rate_pct: f.rate,
                term_months: Some(
                    basis.remaining_months()
                        + f.extend_months
                        + f.holiday_months
                        + f.interest_only_months,
                ),
                method: f.method,
                holiday_months: f.holiday_months,
                interest_only_months: f.interest_only_months,
            },
        })
    }

    /// The default menu (module doc).
    pub fn default_menu(basis: &Basis) -> Vec<Spec> {
        let cut = (basis.contract.annual_rate_pct - Decimal::ONE).max(Decimal::ZERO);
        [
            Flags {
                extend_months: 12,
                ..Flags::default()
            },
            Flags {
                extend_months: 24,
                ..Flags::default()
            },
            Flags {
                interest_only_months: 6,
                ..Flags::default()
            },
            Flags {
                capitalise_arrears: true,
                ..Flags::default()
            },
            Flags {
                rate: Some(cut),
                ..Flags::default()
            },
        ]
        .iter()
        .filter_map(|f| Spec::from_flags(basis, f))
        .collect()
    }
}

/// The observation period of a restructured loan: classification's (one definition).
pub use crate::classify::Observation;

/// One option, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub label: String,
    pub version: Version,
    pub first_payment: Decimal,
    pub installment: Decimal,
    pub last_due: NaiveDate,
    pub total_interest: Decimal,
    pub npv_given_up: Decimal,
    pub observation: Observation,
    pub grade: String,
}

/// The loan on its current terms, for comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusQuo {
    pub installment: Option<Decimal>,
    pub term_months: u32,
    pub last_due: Option<NaiveDate>,
    pub total_interest: Decimal,
}

fn total(i: &Installment) -> Decimal {
    i.principal_due + i.interest_due + i.fee_due
}

/// The status quo row.
pub fn status_quo(basis: &Basis) -> StatusQuo {
    let due: Vec<&Installment> = basis.not_due().collect();
    StatusQuo {
        installment: due.first().map(|i| total(i)),
        term_months: basis.remaining_months(),
        last_due: due.last().map(|i| i.due_date),
        total_interest: due.iter().map(|i| i.interest_due + i.fee_due).sum(),
    }
}

/// `v^t` by squaring (v <= 1, so it never overflows).
fn powi(v: Decimal, mut t: u32) -> Decimal {
    let mut result = Decimal::ONE;
    let mut b = v;
    while t > 0 {
        if t & 1 == 1 {
            result = result.checked_mul(b).unwrap_or(Decimal::ZERO);
        }
        t >>= 1;
        if t > 0 {
            b = b.checked_mul(b).unwrap_or(Decimal::ZERO);
        }
    }
    result
}

/// Present value at E of `flows` (plus `at_zero` at t = 0), at the contract rate (module doc).
fn present_value<'a>(
    basis: &Basis,
    at_zero: Decimal,
    flows: impl Iterator<Item = &'a Installment>,
) -> Result<Decimal, RestructureError> {
    let c = basis.contract;
    let p = c.period();
    let j0 = c
        .first_slot_on_or_after(basis.effective)
        .ok_or(RestructureError::DateOutOfRange)?;
    let s = c.slot(j0 - 1).ok_or(RestructureError::DateOutOfRange)?;
    let r = c.annual_rate_pct * Decimal::from(p) / Decimal::from(1200);
    let v = Decimal::ONE / (Decimal::ONE + r);
    let mut pv = at_zero;
    for i in flows {
        let months =
            (i.due_date.year() - s.year()) * 12 + i.due_date.month() as i32 - s.month() as i32;
        let t = (months.max(0) as u32) / p;
        pv += total(i) * powi(v, t);
    }
    Ok(pv)
}

/// Evaluates one option for a loan at `dpd_before` DPD just before E, its grade consequence
/// under `rules`.
pub fn evaluate(
    basis: &Basis,
    dpd_before: u32,
    spec: &Spec,
    rules: &RuleSet,
) -> Result<Outcome, RestructureError> {
    let version = generate(basis, spec.kind, &spec.terms)?;
    let left = if version.rule.transfers() {
        Decimal::ZERO
    } else {
        basis.arrears.total()
    };
    let inst = &version.installments;
    let paid: Decimal = inst.iter().map(total).sum::<Decimal>() + left;
    let owed = basis.not_due_principal() + basis.arrears.total();
    let io_rows = (spec.terms.interest_only_months / basis.contract.period()) as usize;
    let regular = inst
        .get(io_rows)
        .or(inst.last())
        .map_or(Decimal::ZERO, |i| {
            let mut t = total(i);
            if io_rows == 0 && version.rule == super::ArrearsRule::Carry {
                t -= basis.arrears.total();
            }
            t
        });
    let pv_sq = present_value(basis, basis.arrears.total(), basis.not_due())?;
    let pv_opt = present_value(basis, left, inst.iter())?;
    let observation =
        Observation::under(rules, inst).ok_or(RestructureError::NothingOutstanding)?;
    let grade = grade_consequence(rules, dpd_before, &observation);
    Ok(Outcome {
        label: spec.label.clone(),
        first_payment: inst.first().map_or(Decimal::ZERO, total),
        installment: regular,
        last_due: inst.last().map_or(basis.effective, |i| i.due_date),
        total_interest: paid - owed,
        npv_given_up: round_fen(pv_sq - pv_opt),
        observation,
        grade,
        version,
    })
}

/// The grade consequence text under `rules` (module doc).
pub fn grade_consequence(rules: &RuleSet, dpd_before: u32, o: &Observation) -> String {
    let dpd = rules.dpd_rule(dpd_before);
    let dpd_grade = dpd.map_or(Grade::Pass, |r| r.grade);
    let held = rules
        .upgrade
        .as_ref()
        .is_some_and(|u| dpd_grade >= u.hold_from);
    match (dpd, &rules.restructure) {
        (Some(r), _) if held => format!(
            "{} already (DPD {dpd_before} > {}, {} {}): not upgraded during observation {} to {}",
            if dpd_grade >= Grade::Substandard { "NPL" } else { "held" },
            r.over,
            rules.name,
            r.id,
            o.start,
            o.end
        ),
        (_, Some(x)) => format!(
            "at least {} while restructured ({} {}); observation {} to {}; a miss in it → {} ({}) and a restart",
            x.during.max(dpd_grade).zh(),
            rules.name,
            x.during_id,
            o.start,
            o.end,
            x.missed.max(dpd_grade).zh(),
            x.missed_id
        ),
        (_, None) => format!(
            "{} has no restructure rule: graded by DPD alone ({} at DPD {dpd_before})",
            rules.name,
            dpd_grade.zh()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{arrears_at_12, contract, original};
    use super::super::Arrears;
    use super::*;
    use crate::test_support::{d, m};

    fn cn2023() -> RuleSet {
        RuleSet::builtin("cn2023").unwrap()
    }

    fn basis<'a>(
        c: &'a super::super::Contract,
        s: &'a [Installment],
        arrears: Arrears,
    ) -> Basis<'a> {
        Basis {
            contract: c,
            schedule: s,
            effective: d("2026-01-20"),
            arrears,
        }
    }

    #[test]
    fn worked_example_extend_12_with_arrears_capitalised() {
        let (c, s) = (contract(), original());
        let b = basis(&c, &s, arrears_at_12());
        let spec = Spec::from_flags(
            &b,
            &Flags {
                extend_months: 12,
                capitalise_arrears: true,
                ..Flags::default()
            },
        )
        .unwrap();
        assert_eq!(spec.kind, Kind::Capitalisation);
        assert_eq!(spec.label, "extend 12m, capitalise arrears");
        let o = evaluate(&b, 66, &spec, &cn2023()).unwrap();
        // Term: remaining 24 months + 12 = 36.
        assert_eq!(o.version.term_months, 36);
        // New principal 82368.77 + 9620.00 + 1331.89 = 93320.66; A' = 2839.00 (see mod tests).
        assert_eq!(o.installment, m("2839.00"));
        assert_eq!(o.first_payment, m("2839.00"));
        assert_eq!(o.last_due, d("2029-01-15"));
        // 35 × 2839.00 + (2824.72 + 14.12) = 102203.84 paid; owed at E 82368.77 + 10951.89
        // = 93320.66; interest cost 102203.84 − 93320.66 = 8883.18.
        assert_eq!(o.total_interest, m("8883.18"));
        // PV at 0.5 %/month: option = Σ 2839.00 v^t (t = 1..36, last 2838.84) = 93320.6814;
        // status quo = 10951.89 + Σ #13..#36 at t = 1..24 = 93320.6462; given up −0.0352 → −0.04
        // (the bank loses nothing: only the fen rounding of two annuities).
        assert_eq!(o.npv_given_up, m("-0.04"));
        // First new due date 2026-02-15; one year → 2027-02-15 (later than the 3rd, 2026-04-15).
        assert_eq!(
            o.observation,
            Observation {
                start: d("2026-02-15"),
                end: d("2027-02-15")
            }
        );
        assert_eq!(
            o.grade,
            "at least 关注 while restructured (cn2023 C16); observation 2026-02-15 to 2027-02-15; a miss in it → 次级 (C17) and a restart"
        );
    }

    #[test]
    fn status_quo_and_the_default_menu() {
        let (c, s) = (contract(), original());
        let b = basis(&c, &s, arrears_at_12());
        let sq = status_quo(&b);
        // Not-yet-due interest of #13..#36: 24 × 3650.63 − 82368.77 + residue = 5246.44.
        assert_eq!(sq.total_interest, m("5246.44"));
        assert_eq!(sq.installment, Some(m("3650.63")));
        assert_eq!(sq.term_months, 24);

        let menu = Spec::default_menu(&b);
        let labels: Vec<&str> = menu.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "extend 12m",
                "extend 24m",
                "interest-only 6m",
                "capitalise arrears",
                "rate 5%"
            ]
        );
        let out: Vec<Outcome> = menu
            .iter()
            .map(|s| evaluate(&b, 66, s, &cn2023()).unwrap())
            .collect();

        // extend 12m (carried): 82368.77 over 36 at 6 %: A = 2505.82; first payment
        // 2505.82 + 10951.89 = 13457.71; interest 36 A − N + residue = 7840.67.
        assert_eq!(out[0].installment, m("2505.82"));
        assert_eq!(out[0].first_payment, m("13457.71"));
        assert_eq!(out[0].total_interest, m("7840.67"));
        // The carried 10951.89 is paid one period later: 10951.89 × (1 − 1/1.005) = 54.49,
        // less 0.03 of annuity rounding = 54.46.
        assert_eq!(out[0].npv_given_up, m("54.46"));

        // rate 5 % over the remaining 24 months, arrears left overdue: A = 3613.63,
        // interest 4358.42; PV at 6 % of the 1 point given up: 834.84.
        let cut = &out[4];
        assert_eq!(cut.version.kind, Kind::RateCut);
        assert_eq!(cut.installment, m("3613.63"));
        assert_eq!(cut.total_interest, m("4358.42"));
        assert_eq!(cut.npv_given_up, m("834.84"));

        // interest-only 6m (carried): 82368.77 × 0.005 = 411.84375 → 411.84 a month for 6 months,
        // the first with the 10951.89 of arrears; term 24 + 6 = 30 months.
        let io = &out[2];
        assert_eq!(io.version.term_months, 30);
        assert_eq!(io.first_payment, m("411.84") + m("10951.89"));
        assert_eq!(io.observation.start, d("2026-02-15"));
    }

    #[test]
    fn npl_before_restructure_is_not_upgraded() {
        let o = Observation {
            start: d("2026-02-15"),
            end: d("2027-02-15"),
        };
        let r = cn2023();
        // cn2023: DPD > 90 is 次级 (C5), held until an analyst's review; DPD 90 is 关注.
        assert_eq!(
            grade_consequence(&r, 91, &o),
            "NPL already (DPD 91 > 90, cn2023 C5): not upgraded during observation 2026-02-15 to 2027-02-15"
        );
        assert!(grade_consequence(&r, 90, &o).starts_with("at least 关注 while restructured"));
    }

    #[test]
    fn the_grade_text_follows_the_rule_set() {
        let o = Observation {
            start: d("2026-02-15"),
            end: d("2027-02-15"),
        };
        // cn2007 counts DPD > 90 as 次级 too, under its own rule ids.
        let r = RuleSet::builtin("cn2007").unwrap();
        let t = grade_consequence(&r, 91, &o);
        assert!(t.starts_with("NPL already (DPD 91 > 90, cn2007 "), "{t}");
        // A bank's rule set: restructured loans 次级 during observation, 可疑 on a miss, over
        // 3 periods and 18 months; no restructure rule at all grades by DPD alone.
        let mut bank = cn2023();
        bank.name = "bank".into();
        if let Some(x) = bank.restructure.as_mut() {
            x.during = Grade::Substandard;
            x.missed = Grade::Doubtful;
            x.min_periods = 3;
            x.min_months = 18;
        }
        assert_eq!(
            grade_consequence(&bank, 10, &o),
            "at least 次级 while restructured (bank C16); observation 2026-02-15 to 2027-02-15; a miss in it → 可疑 (C17) and a restart"
        );
        let monthly: Vec<Installment> = (0..24)
            .map(|k| Installment {
                installment_no: k + 1,
                due_date: crate::dates::add_months_clamped(d("2026-02-15"), k, 15).unwrap(),
                principal_due: m("1"),
                interest_due: m("0"),
                fee_due: m("0"),
            })
            .collect();
        assert_eq!(
            Observation::under(&bank, &monthly).unwrap().end,
            d("2027-08-15")
        );
        bank.restructure = None;
        assert_eq!(
            grade_consequence(&bank, 10, &o),
            "bank has no restructure rule: graded by DPD alone (关注 at DPD 10)"
        );
    }

    #[test]
    fn observation_covers_two_periods_and_a_year() {
        // Quarterly: the 3rd installment (6 months on) is before one year, so one year wins;
        // a single bullet due in 3 months: one year from it.
        let inst = |due: &str| Installment {
            installment_no: 1,
            due_date: d(due),
            principal_due: m("1"),
            interest_due: m("0"),
            fee_due: m("0"),
        };
        let q = [inst("2026-03-31"), inst("2026-06-30"), inst("2026-09-30")];
        assert_eq!(Observation::of(&q).unwrap().end, d("2027-03-31"));
        // Semi-annual style dates far apart: the third installment wins.
        let far = [inst("2026-03-31"), inst("2026-12-31"), inst("2027-09-30")];
        assert_eq!(Observation::of(&far).unwrap().end, d("2027-09-30"));
        assert_eq!(Observation::of(&[]), None);
    }
}
