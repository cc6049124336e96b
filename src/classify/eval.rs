//! The one evaluator: a rule set and one loan's facts in, a graded [`Assessment`] out; then
//! [`contagion`] across a borrower's loans. The order of precedence is in the module doc of
//! [`crate::classify`].

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::rules::{ContagionRule, EventEffect, RestructureRule, RuleSet, UpgradeRule};
use super::{
    add_months, Assessment, BorrowerType, Floor, FloorKind, Grade, InstallmentRecord, LoanFacts,
    Observation, Override, Restructure,
};
use crate::money::round_fen;

/// A restructure's observation as of a date: its period (restarted at each miss) and what set
/// the `missed` floor, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The restructure whose observation this is (the latest one).
    pub restructured_on: NaiveDate,
    /// The (possibly restarted) period; None while no due date follows the restructure.
    pub period: Option<Observation>,
    /// What set the `missed` floor (a missed installment, a second restructure), if anything.
    pub severe: Option<String>,
}

impl Observed {
    fn running_on(&self, d: NaiveDate) -> bool {
        self.period.is_none_or(|p| p.running_on(d))
    }
}

/// Runs one observation from `from` (a restructure date or a missed due date), restarting at
/// each miss known by `limit`.
fn run_observation(
    rule: &RestructureRule,
    inst: &[InstallmentRecord],
    restructured_on: NaiveDate,
    mut severe: Option<String>,
    limit: NaiveDate,
) -> Observed {
    let mut from = restructured_on;
    loop {
        let idx = inst.partition_point(|i| i.due_date <= from);
        let Some(period) =
            Observation::from_due_dates(rule, inst[idx..].iter().map(|i| i.due_date))
        else {
            return Observed {
                restructured_on,
                period: None,
                severe,
            };
        };
        let miss = inst[idx..]
            .iter()
            .take_while(|i| i.due_date <= period.end)
            .find(|i| i.missed_by(limit));
        match miss {
            Some(m) => {
                severe = Some(format!(
                    "installment {} due {} missed in observation",
                    m.installment_no, m.due_date
                ));
                from = m.due_date;
            }
            None => {
                return Observed {
                    restructured_on,
                    period: Some(period),
                    severe,
                }
            }
        }
    }
}

/// The observation in force on `as_of`, if any (see the module doc of [`crate::classify`]).
pub fn observation(
    rule: &RestructureRule,
    inst: &[InstallmentRecord],
    restructures: &[Restructure],
    as_of: NaiveDate,
) -> Option<Observed> {
    let mut rs: Vec<NaiveDate> = restructures
        .iter()
        .map(|r| r.effective_date)
        .filter(|d| *d <= as_of)
        .collect();
    rs.sort();
    rs.dedup();
    let mut cur: Option<Observed> = None;
    for (k, &on) in rs.iter().enumerate() {
        let limit = rs.get(k + 1).copied().unwrap_or(as_of);
        let severe = cur.as_ref().filter(|o| o.running_on(on)).map(|o| {
            format!(
                "restructured again on {on} during the observation of {}",
                o.restructured_on
            )
        });
        cur = Some(run_observation(rule, inst, on, severe, limit));
    }
    cur.filter(|o| o.running_on(as_of))
}

/// The worst DPD reached on any day from `since` (all history when None) to `as_of`, and the
/// day it was reached: an installment settled (or still unpaid on `as_of`) k days after its due
/// date made DPD k on that day.
pub fn worst_dpd_since(
    inst: &[InstallmentRecord],
    since: Option<NaiveDate>,
    as_of: NaiveDate,
) -> Option<(u32, NaiveDate)> {
    inst.iter()
        .filter(|i| i.due_date < as_of)
        .filter_map(|i| {
            let end = i.settled_on.unwrap_or(as_of).min(as_of);
            let late = (end - i.due_date).num_days();
            (late > 0 && since.is_none_or(|s| end >= s)).then_some((late as u32, end))
        })
        .max()
}

/// Last day on which DPD exceeded `over` (up to `as_of`).
pub fn last_day_dpd_over(
    inst: &[InstallmentRecord],
    over: u32,
    as_of: NaiveDate,
) -> Option<NaiveDate> {
    inst.iter()
        .filter(|i| i.due_date < as_of)
        .filter_map(|i| {
            let end = i.settled_on.unwrap_or(as_of).min(as_of);
            ((end - i.due_date).num_days() > over as i64).then_some(end)
        })
        .max()
}

/// Whether an NPL loan may be put to an upgrade review, and why (see the module doc).
pub fn upgrade_ready(
    u: &UpgradeRule,
    inst: &[InstallmentRecord],
    dpd: u32,
    as_of: NaiveDate,
) -> Option<String> {
    if dpd > 0 {
        return None;
    }
    let cleared = inst
        .iter()
        .filter_map(|i| i.settled_on.filter(|s| *s > i.due_date && *s <= as_of))
        .max()?;
    let on_time = inst
        .iter()
        .filter(|i| i.due_date > cleared && i.due_date <= as_of)
        .take_while(|i| i.on_time())
        .count() as u32;
    let months_from = add_months(cleared, u.on_time_months);
    (on_time >= u.on_time_installments && as_of >= months_from).then(|| {
        format!(
            "eligible for upgrade review: arrears cleared {cleared}, {on_time} installments on time since, {} months",
            u.on_time_months
        )
    })
}

/// Grades one loan (steps 1-3 of the precedence; [`contagion`] is step 4).
pub fn assess(rules: &RuleSet, f: &LoanFacts) -> Assessment {
    let mut floors: Vec<Floor> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // 1. DPD ladder, unless a technical delay excuses it.
    let mut dpd_grade = Grade::Pass;
    if let Some(r) = rules.dpd_rule(f.dpd) {
        let excuse = rules.events.iter().find_map(|e| match e.effect {
            EventEffect::ExcusesDpdUpTo(n) if f.dpd <= n => f
                .events
                .iter()
                .filter(|ev| ev.code == e.code && ev.event_date <= f.as_of)
                .find(|ev| f.overdue_since.is_none_or(|s| ev.event_date >= s))
                .map(|ev| (e, n, ev.event_date)),
            _ => None,
        });
        match excuse {
            Some((e, n, on)) => notes.push(format!(
                "{}: dpd {} ≤ {n} excused by {} {on} (no {} floor)",
                e.id, f.dpd, e.code, r.grade
            )),
            None => {
                dpd_grade = r.grade;
                floors.push(Floor {
                    rule: r.id.clone(),
                    kind: FloorKind::Dpd,
                    grade: r.grade,
                    hard: true,
                    reason: format!("dpd {} > {} → {}", f.dpd, r.over, r.grade),
                });
            }
        }
    }

    // 1. Risk events (the earliest of each code).
    for e in &rules.events {
        let EventEffect::Floor { grade, hard } = e.effect else {
            continue;
        };
        if let Some(ev) = f
            .events
            .iter()
            .filter(|ev| ev.code == e.code && ev.event_date <= f.as_of)
            .min_by_key(|ev| ev.event_date)
        {
            floors.push(Floor {
                rule: e.id.clone(),
                kind: FloorKind::Event,
                grade,
                hard,
                reason: format!(
                    "{}event {} {} → {grade}",
                    if ev.borrower_level { "borrower " } else { "" },
                    e.code,
                    ev.event_date
                ),
            });
        }
    }

    // 1. Restructure observation.
    let mut in_observation = false;
    if let Some(rr) = &rules.restructure {
        if let Some(o) = observation(rr, f.installments, f.restructures, f.as_of) {
            in_observation = true;
            let span = match o.period {
                Some(p) => format!("observation {} to {}", p.start, p.end),
                None => "observation from the next due date".to_string(),
            };
            let (rule, grade, reason) = match &o.severe {
                None => (
                    &rr.during_id,
                    rr.during,
                    format!("restructured {}, {span} → {}", o.restructured_on, rr.during),
                ),
                Some(why) => (
                    &rr.missed_id,
                    rr.missed,
                    format!(
                        "restructured {}, {why}, restarted: {span} → {}",
                        o.restructured_on, rr.missed
                    ),
                ),
            };
            floors.push(Floor {
                rule: rule.clone(),
                kind: FloorKind::Restructure,
                grade,
                hard: true,
                reason,
            });
        }
    }

    // 2. The NPL hold: the worst DPD grade since the last analyst review.
    let mut upgrade_note = None;
    if let Some(u) = &rules.upgrade {
        let since = f
            .overrides
            .iter()
            .map(|o| o.effective_date)
            .filter(|d| *d <= f.as_of)
            .max();
        if let Some((worst, on)) = worst_dpd_since(f.installments, since, f.as_of) {
            if let Some(r) = rules.dpd_rule(worst) {
                if r.grade >= u.hold_from && r.grade > dpd_grade {
                    floors.push(Floor {
                        rule: u.id.clone(),
                        kind: FloorKind::Hold,
                        grade: r.grade,
                        hard: false,
                        reason: format!(
                            "dpd reached {worst} > {} on {on} → {} held until an upgrade review",
                            r.over, r.grade
                        ),
                    });
                }
            }
        }
        upgrade_note = upgrade_ready(u, f.installments, f.dpd, f.as_of);
    }

    // 3. The analyst's override.
    let latest = f
        .overrides
        .iter()
        .filter(|o| o.effective_date <= f.as_of)
        .max_by_key(|o| o.effective_date);
    let in_force: Option<&Override> = latest.filter(|o| o.in_force(f.as_of));
    if let Some(o) = latest.filter(|o| !o.in_force(f.as_of)) {
        notes.push(format!(
            "override {} from {} expired {}",
            o.grade,
            o.effective_date,
            o.expires_on.map_or(String::new(), |d| d.to_string())
        ));
    }

    let mut a = Assessment {
        grade: Grade::Pass,
        grade_rule: String::new(),
        floors,
        notes,
        override_note: None,
        override_text: in_force.map(|o| {
            let mut t = format!("{} from {}", o.grade, o.effective_date);
            if let Some(e) = o.expires_on {
                t.push_str(&format!(" until {e}"));
            }
            if !o.analyst.trim().is_empty() {
                t.push_str(&format!(" by {}", o.analyst.trim()));
            }
            if !o.reason.trim().is_empty() {
                t.push_str(&format!(": {}", o.reason.trim()));
            }
            t
        }),
        override_grade: in_force.map(|o| o.grade),
        eligible_for_upgrade_review: false,
        upgrade_note,
        outstanding_principal: f.outstanding_principal,
        provision_rate: Decimal::ZERO,
        provision: Decimal::ZERO,
        in_observation,
    };
    decide(rules, &mut a);
    a
}

/// Works out the grade from the floors and the override, then the flag and the provision.
pub fn decide(rules: &RuleSet, a: &mut Assessment) {
    let worst = |hard_only: bool| {
        a.floors.iter().filter(|f| f.hard || !hard_only).fold(
            None::<&Floor>,
            |best, f| match best {
                Some(b) if b.grade >= f.grade => Some(b),
                _ => Some(f),
            },
        )
    };
    a.override_note = None;
    match a.override_grade {
        None => {
            let w = worst(false);
            a.grade = w.map_or(Grade::Pass, |f| f.grade);
            a.grade_rule = w.map_or(String::new(), |f| f.rule.clone());
        }
        Some(og) => {
            let hard = worst(true);
            match hard.filter(|h| h.grade > og) {
                Some(h) => {
                    a.grade = h.grade;
                    a.grade_rule = h.rule.clone();
                    a.override_note = Some(format!(
                        "override {og} not applied: hard floor {} {} holds",
                        h.rule, h.grade
                    ));
                }
                None => {
                    a.grade = og;
                    a.grade_rule = "override".to_string();
                    a.override_note = Some(format!("override → {og}"));
                }
            }
        }
    }
    a.eligible_for_upgrade_review = a.grade.is_npl() && a.upgrade_note.is_some();
    a.provision_rate = rules.provision_rate(a.grade);
    a.provision = round_fen(a.outstanding_principal * a.provision_rate);
}

/// Step 4: the borrower-level floor, if the borrower's loans trigger it. `loans` are the
/// borrower's loans as (outstanding principal, grade after steps 1-3).
pub fn contagion(
    rule: &ContagionRule,
    borrower_type: BorrowerType,
    loans: impl IntoIterator<Item = (Decimal, Grade)>,
) -> Option<Floor> {
    if borrower_type != rule.borrower_type {
        return None;
    }
    let (mut total, mut bad) = (Decimal::ZERO, Decimal::ZERO);
    for (p, g) in loans {
        total += p;
        if g >= rule.counts_from {
            bad += p;
        }
    }
    contagion_of_sums(rule, borrower_type, total, bad)
}

/// [`contagion`] from the borrower's sums: `total` outstanding principal, `bad` of it graded
/// `counts_from` or worse (what a stream adds up without keeping the loans).
pub fn contagion_of_sums(
    rule: &ContagionRule,
    borrower_type: BorrowerType,
    total: Decimal,
    bad: Decimal,
) -> Option<Floor> {
    if borrower_type != rule.borrower_type {
        return None;
    }
    if total <= Decimal::ZERO {
        return None;
    }
    let share = bad * Decimal::ONE_HUNDRED / total;
    // Two decimals, unless rounding would hide that the share is over the threshold.
    let shown = match share.round_dp(2) {
        r if r > rule.share_over_pct => r.normalize(),
        _ => share.normalize(),
    };
    (share > rule.share_over_pct).then(|| Floor {
        rule: rule.id.clone(),
        kind: FloorKind::Contagion,
        grade: rule.floor,
        hard: true,
        reason: format!(
            "borrower: {}% of outstanding principal graded {} or worse > {}% → {}",
            shown,
            rule.counts_from,
            rule.share_over_pct.normalize(),
            rule.floor
        ),
    })
}

/// Adds the contagion floor to a loan of the borrower and decides again.
pub fn apply_contagion(rules: &RuleSet, a: &mut Assessment, floor: Floor) {
    a.floors.push(floor);
    decide(rules, a);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{Event, Override};
    use crate::test_support::{d, m};

    fn cn2023() -> RuleSet {
        RuleSet::builtin("cn2023").unwrap()
    }

    /// Monthly installments due on the 15th from `first`, `n` of them, settled on the given
    /// day offsets (None = unpaid).
    fn monthly(first: &str, settled: &[Option<i64>]) -> Vec<InstallmentRecord> {
        settled
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let due = add_months(d(first), k as u32);
                InstallmentRecord {
                    installment_no: k as u32 + 1,
                    due_date: due,
                    settled_on: s.map(|off| due + chrono::Duration::days(off)),
                }
            })
            .collect()
    }

    fn facts<'a>(
        as_of: &str,
        dpd: u32,
        inst: &'a [InstallmentRecord],
        rs: &'a [Restructure],
        ev: &'a [Event],
        ov: &'a [Override],
    ) -> LoanFacts<'a> {
        LoanFacts {
            as_of: d(as_of),
            dpd,
            overdue_since: (dpd > 0).then(|| d(as_of) - chrono::Duration::days(dpd as i64)),
            outstanding_principal: m("10000"),
            borrower_type: BorrowerType::Individual,
            installments: inst,
            restructures: rs,
            events: ev,
            overrides: ov,
        }
    }

    #[test]
    fn dpd_floors_at_each_boundary_with_trace() {
        let r = cn2023();
        let cases: &[(u32, Grade, &str, &str)] = &[
            (0, Grade::Pass, "", ""),
            (1, Grade::SpecialMention, "C1", "C1: dpd 1 > 0 → 关注"),
            (90, Grade::SpecialMention, "C1", "C1: dpd 90 > 0 → 关注"),
            (91, Grade::Substandard, "C5", "C5: dpd 91 > 90 → 次级"),
            (270, Grade::Substandard, "C5", "C5: dpd 270 > 90 → 次级"),
            (271, Grade::Doubtful, "C10", "C10: dpd 271 > 270 → 可疑"),
            (360, Grade::Doubtful, "C10", "C10: dpd 360 > 270 → 可疑"),
            (361, Grade::Loss, "C13", "C13: dpd 361 > 360 → 损失"),
        ];
        for &(dpd, grade, rule, reasons) in cases {
            let a = assess(&r, &facts("2026-06-30", dpd, &[], &[], &[], &[]));
            assert_eq!(a.grade, grade, "dpd {dpd}");
            assert_eq!(a.grade_rule, rule, "dpd {dpd}");
            assert_eq!(a.reasons(), reasons, "dpd {dpd}");
            assert_eq!(a.provision, round_fen(m("10000") * r.provision_rate(grade)));
        }
    }

    fn ev(on: &str, code: &str) -> Event {
        Event {
            event_date: d(on),
            code: code.into(),
            borrower_level: false,
        }
    }

    #[test]
    fn events_set_floors_from_their_date() {
        let r = cn2023();
        let cases: &[(&str, &str, u32, Grade)] = &[
            ("fund_misuse", "2026-06-30", 0, Grade::SpecialMention),
            ("fund_misuse", "2026-07-01", 0, Grade::Pass),
            ("new_debt_repayment", "2026-01-01", 0, Grade::SpecialMention),
            ("credit_impaired", "2026-01-01", 0, Grade::Substandard),
            ("debt_evasion", "2026-01-01", 95, Grade::Doubtful),
            ("bankruptcy_liquidation", "2026-01-01", 0, Grade::Loss),
            ("needs_restructuring", "2026-01-01", 0, Grade::Pass), // not a cn2023 rule
        ];
        for &(code, on, dpd, want) in cases {
            let e = [ev(on, code)];
            let a = assess(&r, &facts("2026-06-30", dpd, &[], &[], &e, &[]));
            assert_eq!(a.grade, want, "{code} {on}");
        }
        let e = [Event {
            borrower_level: true,
            ..ev("2026-03-01", "debt_evasion")
        }];
        let a = assess(&r, &facts("2026-06-30", 95, &[], &[], &e, &[]));
        assert_eq!(
            a.reasons(),
            "C5: dpd 95 > 90 → 次级; C11: borrower event debt_evasion 2026-03-01 → 可疑"
        );
        assert_eq!(a.grade_rule, "C11");
    }

    #[test]
    fn technical_delay_excuses_the_dpd_floor_up_to_7_days() {
        let r = cn2023();
        // as_of 2026-06-30; overdue_since = as_of − dpd.
        let cases: &[(u32, &str, Grade)] = &[
            (7, "2026-06-23", Grade::Pass),
            (8, "2026-06-22", Grade::SpecialMention), // dpd 8 > 7: not excused
            (7, "2026-06-22", Grade::SpecialMention), // event before this overdue spell
            (5, "2026-06-30", Grade::Pass),
            (5, "2026-07-01", Grade::SpecialMention), // not yet recorded
        ];
        for &(dpd, on, want) in cases {
            let e = [ev(on, "technical_delay")];
            let a = assess(&r, &facts("2026-06-30", dpd, &[], &[], &e, &[]));
            assert_eq!(a.grade, want, "dpd {dpd}, event {on}: {}", a.reasons());
        }
        let e = [ev("2026-06-25", "technical_delay")];
        let a = assess(&r, &facts("2026-06-30", 5, &[], &[], &e, &[]));
        assert_eq!(
            a.reasons(),
            "C1: dpd 5 ≤ 7 excused by technical_delay 2026-06-25 (no 关注 floor)"
        );
    }

    fn rs(on: &str) -> Restructure {
        Restructure {
            effective_date: d(on),
            kind: "extension".into(),
        }
    }

    #[test]
    fn observation_start_end_and_restart() {
        let r = cn2023();
        // Restructured 2025-03-01; installments from 2025-03-15 monthly, all on time.
        let on_time = monthly("2025-03-15", &[Some(0); 24]);
        let restr = [rs("2025-03-01")];
        // Starts at the first due date after the restructure (2025-03-15) and lasts the longer
        // of two periods and 12 months: to 2026-03-15 inclusive.
        let cases: &[(&str, Grade)] = &[
            ("2025-02-28", Grade::Pass),
            ("2025-03-01", Grade::SpecialMention),
            ("2025-03-14", Grade::SpecialMention),
            ("2026-03-15", Grade::SpecialMention),
            ("2026-03-16", Grade::Pass),
        ];
        for &(as_of, want) in cases {
            let a = assess(&r, &facts(as_of, 0, &on_time, &restr, &[], &[]));
            assert_eq!(a.grade, want, "{as_of}: {}", a.reasons());
        }
        let a = assess(&r, &facts("2025-06-30", 0, &on_time, &restr, &[], &[]));
        assert_eq!(
            a.reasons(),
            "C16: restructured 2025-03-01, observation 2025-03-15 to 2026-03-15 → 关注"
        );
        // Two repayment periods from the start end at the third due date: quarterly
        // (2025-09-15) that is before the year; 6-monthly it is the year itself; with three
        // periods it is later than the year; past the schedule's end, its last due date.
        let every = |months: u32, n: u32| -> Vec<InstallmentRecord> {
            (0..n)
                .map(|k| InstallmentRecord {
                    installment_no: k + 1,
                    due_date: add_months(d("2025-03-15"), months * k),
                    settled_on: Some(add_months(d("2025-03-15"), months * k)),
                })
                .collect()
        };
        let rule = r.restructure.clone().unwrap();
        let end = |rr: &RestructureRule, inst: &[InstallmentRecord]| {
            let o = observation(rr, inst, &restr, d("2025-04-01")).unwrap();
            let p = o.period.unwrap();
            assert_eq!(p.start, d("2025-03-15"));
            p.end
        };
        assert_eq!(
            end(&rule, &every(3, 8)),
            d("2026-03-15"),
            "quarterly: the year"
        );
        assert_eq!(end(&rule, &every(6, 4)), d("2026-03-15"), "6-monthly: both");
        let three = RestructureRule {
            min_periods: 3,
            ..rule.clone()
        };
        assert_eq!(end(&three, &every(6, 4)), d("2026-09-15"), "3 periods");
        assert_eq!(end(&three, &every(6, 3)), d("2026-03-15"), "the last one");
        let twelve = RestructureRule {
            min_periods: 12,
            ..rule
        };
        assert_eq!(end(&twelve, &every(1, 24)), d("2026-03-15"), "monthly");

        // Installment 3 (due 2025-05-15) paid 2 days late: a miss. From 2025-05-16 the floor is
        // 次级 and the observation restarts at the next due date (2025-06-15) for a year.
        let mut late = on_time.clone();
        late[2].settled_on = Some(d("2025-05-17"));
        let cases: &[(&str, Grade)] = &[
            ("2025-05-15", Grade::SpecialMention),
            ("2025-05-16", Grade::Substandard),
            ("2026-03-16", Grade::Substandard),
            ("2026-06-15", Grade::Substandard),
            ("2026-06-16", Grade::Pass),
        ];
        for &(as_of, want) in cases {
            let a = assess(&r, &facts(as_of, 0, &late, &restr, &[], &[]));
            assert_eq!(a.grade, want, "{as_of}: {}", a.reasons());
        }
        let a = assess(&r, &facts("2025-07-01", 0, &late, &restr, &[], &[]));
        assert_eq!(
            a.reasons(),
            "C17: restructured 2025-03-01, installment 3 due 2025-05-15 missed in observation, \
             restarted: observation 2025-06-15 to 2026-06-15 → 次级"
        );
        // Paid on the due date is on time.
        let mut edge = on_time.clone();
        edge[2].settled_on = Some(d("2025-05-15"));
        let a = assess(&r, &facts("2025-07-01", 0, &edge, &restr, &[], &[]));
        assert_eq!(a.grade, Grade::SpecialMention);

        // A second restructure during observation: 次级, restarted from its date.
        let twice = [rs("2025-03-01"), rs("2025-08-01")];
        let a = assess(&r, &facts("2025-09-01", 0, &on_time, &twice, &[], &[]));
        assert_eq!(a.grade, Grade::Substandard, "{}", a.reasons());
        assert!(
            a.reasons()
                .contains("restructured again on 2025-08-01 during the observation of 2025-03-01"),
            "{}",
            a.reasons()
        );
        assert!(
            a.reasons().contains("observation 2025-08-15 to 2026-08-15"),
            "{}",
            a.reasons()
        );
        // After the first observation ended, a new restructure is only 关注.
        let later = [rs("2025-03-01"), rs("2026-04-01")];
        let a = assess(&r, &facts("2026-05-01", 0, &on_time, &later, &[], &[]));
        assert_eq!(a.grade, Grade::SpecialMention, "{}", a.reasons());
    }

    fn ov(from: &str, until: Option<&str>, g: Grade) -> Override {
        Override {
            effective_date: d(from),
            expires_on: until.map(d),
            grade: g,
            reason: "site visit".into(),
            analyst: "A01".into(),
        }
    }

    #[test]
    fn overrides_before_during_and_after_expiry() {
        let r = cn2023();
        let o = [ov("2026-05-01", Some("2026-07-01"), Grade::Doubtful)];
        let cases: &[(&str, Grade, &str)] = &[
            ("2026-04-30", Grade::SpecialMention, "C1"),
            ("2026-05-01", Grade::Doubtful, "override"),
            ("2026-06-30", Grade::Doubtful, "override"),
            ("2026-07-01", Grade::SpecialMention, "C1"),
        ];
        for &(as_of, grade, rule) in cases {
            let a = assess(&r, &facts(as_of, 10, &[], &[], &[], &o));
            assert_eq!((a.grade, a.grade_rule.as_str()), (grade, rule), "{as_of}");
            assert_eq!(a.override_text.is_some(), rule == "override", "{as_of}");
        }
        let a = assess(&r, &facts("2026-06-01", 10, &[], &[], &[], &o));
        assert_eq!(
            a.override_text.as_deref(),
            Some("可疑 from 2026-05-01 until 2026-07-01 by A01: site visit")
        );
        assert_eq!(a.reasons(), "C1: dpd 10 > 0 → 关注; override → 可疑");
        let a = assess(&r, &facts("2026-07-01", 10, &[], &[], &[], &o));
        assert!(a
            .reasons()
            .ends_with("override 可疑 from 2026-05-01 expired 2026-07-01"));

        // Cannot lift above a hard floor: DPD, restructure observation.
        let up = [ov("2026-05-01", None, Grade::Pass)];
        let a = assess(&r, &facts("2026-06-01", 95, &[], &[], &[], &up));
        assert_eq!(a.grade, Grade::Substandard);
        assert_eq!(a.grade_rule, "C5");
        assert_eq!(
            a.reasons(),
            "C5: dpd 95 > 90 → 次级; override 正常 not applied: hard floor C5 次级 holds"
        );
        let inst = monthly("2026-03-15", &[Some(0); 12]);
        let restr = [rs("2026-03-01")];
        let a = assess(&r, &facts("2026-06-01", 0, &inst, &restr, &[], &up));
        assert_eq!(
            (a.grade, a.grade_rule.as_str()),
            (Grade::SpecialMention, "C16")
        );
        // The latest override wins.
        let two = [
            ov("2026-05-01", None, Grade::Loss),
            ov("2026-05-20", None, Grade::Doubtful),
        ];
        let a = assess(&r, &facts("2026-06-01", 0, &[], &[], &[], &two));
        assert_eq!(a.grade, Grade::Doubtful);
    }

    #[test]
    fn npl_hold_and_upgrade_review_eligibility() {
        let r = cn2023();
        // Installment 1 due 2026-01-15 paid 100 days late (2026-04-25): DPD reached 100.
        // Later installments paid on time.
        let mut inst = monthly("2026-01-15", &[Some(0); 12]);
        inst[0].settled_on = Some(d("2026-04-25"));
        for i in inst.iter_mut().skip(1).take(3) {
            i.settled_on = Some(d("2026-04-25")); // settled together with the first
        }
        // Cleared 2026-04-25: due 2026-05-15 and 2026-06-15 on time (2 installments) but six
        // months run to 2026-10-25: the longer wins.
        let cases: &[(&str, Grade, bool)] = &[
            ("2026-04-24", Grade::Substandard, false), // dpd 99
            ("2026-04-25", Grade::Substandard, false), // cleared, held
            ("2026-06-16", Grade::Substandard, false), // two on time, only ~2 months
            ("2026-10-24", Grade::Substandard, false),
            ("2026-10-25", Grade::Substandard, true),
        ];
        for &(as_of, grade, eligible) in cases {
            let dpd = if as_of < "2026-04-25" { 99 } else { 0 };
            let a = assess(&r, &facts(as_of, dpd, &inst, &[], &[], &[]));
            assert_eq!(a.grade, grade, "{as_of}: {}", a.reasons());
            assert_eq!(
                a.eligible_for_upgrade_review,
                eligible,
                "{as_of}: {}",
                a.reasons()
            );
        }
        let a = assess(&r, &facts("2026-10-25", 0, &inst, &[], &[], &[]));
        assert_eq!(a.grade_rule, "hold");
        assert!(
            a.reasons().starts_with(
                "hold: dpd reached 100 > 90 on 2026-04-25 → 次级 held until an upgrade review"
            ),
            "{}",
            a.reasons()
        );
        // A late installment after clearing resets the count.
        let mut again = inst.clone();
        again[6].settled_on = Some(add_months(d("2026-01-15"), 6) + chrono::Duration::days(3));
        let a = assess(&r, &facts("2026-10-25", 0, &again, &[], &[], &[]));
        assert!(!a.eligible_for_upgrade_review, "{}", a.reasons());
        // With a one-installment rule over 1 month, the installment count is the longer.
        let mut quick = r.clone();
        quick.upgrade = Some(UpgradeRule {
            on_time_installments: 3,
            on_time_months: 1,
            ..r.upgrade.clone().unwrap()
        });
        for (as_of, want) in [("2026-07-14", false), ("2026-07-15", true)] {
            let a = assess(&quick, &facts(as_of, 0, &inst, &[], &[], &[]));
            assert_eq!(a.eligible_for_upgrade_review, want, "{as_of}");
        }
        // An analyst's review (override) lifts the hold and restarts it.
        let o = [ov("2026-11-01", None, Grade::SpecialMention)];
        let a = assess(&r, &facts("2026-11-30", 0, &inst, &[], &[], &o));
        assert_eq!(a.grade, Grade::SpecialMention);
        let o = [ov("2026-11-01", Some("2026-11-15"), Grade::SpecialMention)];
        let a = assess(&r, &facts("2026-11-30", 0, &inst, &[], &[], &o));
        assert_eq!(a.grade, Grade::Pass, "{}", a.reasons());
        // DPD 90 at worst never holds.
        let mut ninety = monthly("2026-01-15", &[Some(90), Some(0)]);
        ninety[1].settled_on = Some(d("2026-04-15"));
        let a = assess(&r, &facts("2026-05-01", 0, &ninety, &[], &[], &[]));
        assert_eq!(a.grade, Grade::Pass, "{}", a.reasons());
    }

    #[test]
    fn contagion_at_exactly_10_percent_and_just_over() {
        let r = cn2023();
        let c = r.contagion.as_ref().unwrap();
        let cases: &[(&str, &str, BorrowerType, bool)] = &[
            ("10", "90", BorrowerType::Corporate, false),
            ("10.01", "89.99", BorrowerType::Corporate, true),
            ("11", "89", BorrowerType::Individual, false),
            ("0", "100", BorrowerType::Corporate, false),
        ];
        for &(bad, good, bt, fires) in cases {
            let loans = [
                (m(bad), Grade::Substandard),
                (m(good), Grade::SpecialMention),
            ];
            let f = contagion(c, bt, loans);
            assert_eq!(f.is_some(), fires, "{bad}/{good} {bt:?}");
        }
        let f = contagion(
            c,
            BorrowerType::Corporate,
            [(m("1"), Grade::Doubtful), (m("7"), Grade::Pass)],
        )
        .unwrap();
        assert_eq!(
            f.reason,
            "borrower: 12.5% of outstanding principal graded 次级 or worse > 10% → 次级"
        );
        // Applied: the good loan becomes 次级, and an override cannot lift it.
        let o = [ov("2026-05-01", None, Grade::Pass)];
        let mut a = assess(&r, &facts("2026-06-01", 0, &[], &[], &[], &o));
        assert_eq!(a.grade, Grade::Pass);
        apply_contagion(&r, &mut a, f);
        assert_eq!((a.grade, a.grade_rule.as_str()), (Grade::Substandard, "C9"));
        assert_eq!(a.provision, m("3000.00"));
    }
}
