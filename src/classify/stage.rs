//! IFRS 9 staging as data (`rules/ifrs9.toml`, or a bank's file with `--staging FILE`).
//!
//! Evaluated after the grade, from the same facts:
//!
//! * **Stage 3** now when DPD `> stage3.dpd_over` (90), the grade is `stage3.grade_from`
//!   (次级) or worse, or an event listed in `stage3.events` (credit_impaired) is dated on or
//!   before `as_of`.
//! * **Stage 2** now when DPD `> stage2.dpd_over` (30), the loan is forborne (a restructure
//!   within `forborne_months` (12 cure + 24 probation = 36) of its effective date, or still in its
//!   observation), or a floor other than the DPD ladder (an event, a restructure, the hold,
//!   contagion) or an override gives a grade of `stage2.grade_from` (关注) or worse.
//! * **Probation** (moving back): a loan stays in stage 3 until `stage3_to_2_months` (6) after the
//!   last day DPD exceeded the stage-3 threshold, then in stage 2 until `stage2_to_1_months` (3)
//!   after that; a stage-2 DPD trigger likewise holds stage 2 for `stage2_to_1_months` after its
//!   last day. For DPD the last day comes from the installment history (an installment settled
//!   k days late had DPD k on its settlement day). A stage 3 from a grade, an event or
//!   contagion leaves no such trace, so every graded loan carries `stage3_last`, the last day a
//!   stage-3 trigger held, saved with its grade; a later run reads the previous saved date's
//!   and the probation runs from the later of the two days ([`Staged`], [`remembered`]).

use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::eval::last_day_dpd_over;
use super::rules::{grade_of, looks_like_path};
use super::{add_months, is_event_code, Assessment, FloorKind, Grade, LoanFacts, EVENT_CODES};
use crate::exit;
use crate::rulefile::{self, Invalid};

/// The built-in staging rule sets.
pub const BUILTIN: &[(&str, &str)] = &[("ifrs9", include_str!("../../rules/ifrs9.toml"))];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staging {
    pub name: String,
    pub stage2_dpd_over: u32,
    pub stage2_grade_from: Grade,
    pub forborne_months: u32,
    pub stage3_dpd_over: u32,
    pub stage3_grade_from: Grade,
    pub stage3_events: Vec<String>,
    pub stage3_to_2_months: u32,
    pub stage2_to_1_months: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    stage2: Stage2File,
    stage3: Stage3File,
    probation: ProbationFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stage2File {
    dpd_over: u32,
    grade_from: Spanned<String>,
    forborne_months: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stage3File {
    dpd_over: Spanned<u32>,
    grade_from: Spanned<String>,
    #[serde(default)]
    events: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbationFile {
    stage3_to_2_months: u32,
    stage2_to_1_months: u32,
}

impl Staging {
    pub fn from_file(f: StagingFile) -> Result<Staging, Invalid> {
        let _ = f.description;
        let s2g = grade_of(&f.stage2.grade_from)?;
        let s3g = grade_of(&f.stage3.grade_from)?;
        if *f.stage3.dpd_over.get_ref() <= f.stage2.dpd_over {
            return Err(Invalid::at(
                f.stage3.dpd_over.span(),
                format!(
                    "unreachable: stage 3 at dpd > {} must be above stage 2's dpd > {}",
                    f.stage3.dpd_over.get_ref(),
                    f.stage2.dpd_over
                ),
            ));
        }
        if s3g <= s2g {
            return Err(Invalid::at(
                f.stage3.grade_from.span(),
                format!("unreachable: stage 3 grade {s3g} must be worse than stage 2's {s2g}"),
            ));
        }
        let mut events = Vec::new();
        for e in &f.stage3.events {
            if !is_event_code(e.get_ref()) {
                return Err(Invalid::at(
                    e.span(),
                    format!(
                        "unknown event code {:?} (expected one of {})",
                        e.get_ref(),
                        EVENT_CODES
                            .iter()
                            .map(|(c, _)| *c)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            events.push(e.get_ref().clone());
        }
        Ok(Staging {
            name: f.name,
            stage2_dpd_over: f.stage2.dpd_over,
            stage2_grade_from: s2g,
            forborne_months: f.stage2.forborne_months,
            stage3_dpd_over: *f.stage3.dpd_over.get_ref(),
            stage3_grade_from: s3g,
            stage3_events: events,
            stage3_to_2_months: f.probation.stage3_to_2_months,
            stage2_to_1_months: f.probation.stage2_to_1_months,
        })
    }

    /// A built-in name (`ifrs9`), else a file.
    pub fn resolve(name_or_path: &str) -> Result<Staging> {
        if let Some((n, t)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return rulefile::parse_with(&format!("built-in staging {n}"), t, Staging::from_file);
        }
        let p = Path::new(name_or_path);
        if looks_like_path(name_or_path) || p.exists() {
            return rulefile::load_with(p, Staging::from_file);
        }
        Err(exit::config(format!(
            "unknown staging {name_or_path:?} (expected ifrs9 or a TOML file)"
        )))
    }
}

/// A loan's stage, why, and the last day a stage-3 trigger held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// 1, 2 or 3.
    pub stage: u8,
    pub reasons: Vec<String>,
    /// The last day (up to `as_of`) on which a stage-3 trigger held: `as_of` itself when one
    /// holds now, else the later of the last day DPD exceeded the stage-3 threshold and the
    /// day remembered from the saved history. Saved with the grade, so the next run remembers
    /// a stage 3 that came from a grade, an event or contagion (the installment history alone
    /// only remembers DPD).
    pub stage3_last: Option<NaiveDate>,
}

/// The probation after the last day in stage 3: stage 3 until `until3`, then stage 2 until
/// `until2`.
fn probation(s: &Staging, last3: NaiveDate) -> (NaiveDate, NaiveDate) {
    let until3 = add_months(last3, s.stage3_to_2_months);
    (until3, add_months(until3, s.stage2_to_1_months))
}

/// The stage of a loan with this assessment (see the module doc). `remembered` is the last day
/// a stage-3 trigger held as saved by an earlier run (the previous saved date's
/// `stage3_last`), None without one.
pub fn stage(s: &Staging, f: &LoanFacts, a: &Assessment, remembered: Option<NaiveDate>) -> Staged {
    let mut s3 = Vec::new();
    if f.dpd > s.stage3_dpd_over {
        s3.push(format!("dpd {} > {}", f.dpd, s.stage3_dpd_over));
    }
    if a.grade >= s.stage3_grade_from {
        s3.push(format!("grade {}", a.grade));
    }
    for code in &s.stage3_events {
        if let Some(e) = f
            .events
            .iter()
            .filter(|e| &e.code == code && e.event_date <= f.as_of)
            .min_by_key(|e| e.event_date)
        {
            s3.push(format!("event {code} {}", e.event_date));
        }
    }
    if !s3.is_empty() {
        return Staged {
            stage: 3,
            reasons: vec![format!("stage 3: {}", s3.join(", "))],
            stage3_last: Some(f.as_of),
        };
    }
    let by_dpd = last_day_dpd_over(f.installments, s.stage3_dpd_over, f.as_of);
    let last3 = by_dpd.max(remembered.filter(|r| *r <= f.as_of));
    let staged = |stage: u8, reasons: Vec<String>| Staged {
        stage,
        reasons,
        stage3_last: last3,
    };
    let until3 = last3.map(|l| probation(s, l));
    if let (Some(l), Some((u, _))) = (last3, until3) {
        if f.as_of < u {
            let what = if by_dpd == last3 {
                format!("dpd > {} last on {l}", s.stage3_dpd_over)
            } else {
                format!("stage 3 last on {l}")
            };
            return staged(3, vec![format!("stage 3 (probation): {what}, until {u}")]);
        }
    }

    let mut s2 = Vec::new();
    if f.dpd > s.stage2_dpd_over {
        s2.push(format!("dpd {} > {}", f.dpd, s.stage2_dpd_over));
    }
    let latest_restructure = f
        .restructures
        .iter()
        .map(|r| r.effective_date)
        .filter(|d| *d <= f.as_of)
        .max();
    if a.in_observation {
        s2.push("forborne (in observation)".to_string());
    } else if let Some(on) = latest_restructure {
        let until = add_months(on, s.forborne_months);
        if f.as_of < until {
            s2.push(format!("forborne (restructured {on}, until {until})"));
        }
    }
    let non_dpd = a
        .floors
        .iter()
        .filter(|fl| fl.kind != FloorKind::Dpd && fl.grade >= s.stage2_grade_from)
        .max_by_key(|fl| fl.grade);
    if a.grade >= s.stage2_grade_from {
        if a.grade_rule == "override" {
            s2.push(format!("override {}", a.grade));
        } else if let Some(fl) = non_dpd {
            s2.push(format!("grade {} from {}", fl.grade, fl.rule));
        }
    }
    if !s2.is_empty() {
        return staged(2, vec![format!("stage 2: {}", s2.join(", "))]);
    }
    let last2 = last_day_dpd_over(f.installments, s.stage2_dpd_over, f.as_of);
    let until2 = [
        last2.map(|d| add_months(d, s.stage2_to_1_months)),
        until3.map(|(_, u2)| u2),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(u) = until2.filter(|u| f.as_of < *u) {
        return staged(2, vec![format!("stage 2 (probation): until {u}")]);
    }
    staged(1, Vec::new())
}

/// The probation of a loan whose stage-3 trigger last held on `last3` when that was learnt
/// after it was staged (contagion on an earlier date of the same run): the stage it must have
/// on `as_of` and why, when that is worse than `stage`.
pub fn remembered(
    s: &Staging,
    stage: u8,
    last3: NaiveDate,
    as_of: NaiveDate,
) -> Option<(u8, String)> {
    if last3 > as_of {
        return None;
    }
    let (until3, until2) = probation(s, last3);
    if as_of < until3 && stage < 3 {
        Some((
            3,
            format!("stage 3 (probation): stage 3 last on {last3}, until {until3}"),
        ))
    } else if as_of >= until3 && as_of < until2 && stage < 2 {
        Some((2, format!("stage 2 (probation): until {until2}")))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::eval::assess;
    use crate::classify::rules::RuleSet;
    use crate::classify::{BorrowerType, Event, Grade, InstallmentRecord, Restructure};
    use crate::test_support::{d, m};

    fn facts<'a>(
        as_of: &str,
        dpd: u32,
        inst: &'a [InstallmentRecord],
        rs: &'a [Restructure],
        ev: &'a [Event],
    ) -> LoanFacts<'a> {
        LoanFacts {
            as_of: d(as_of),
            dpd,
            overdue_since: None,
            outstanding_principal: m("100"),
            borrower_type: BorrowerType::Individual,
            installments: inst,
            restructures: rs,
            events: ev,
            overrides: &[],
        }
    }

    fn run(f: &LoanFacts) -> u8 {
        let r = RuleSet::builtin("cn2023").unwrap();
        let s = Staging::resolve("ifrs9").unwrap();
        stage(&s, f, &assess(&r, f), None).stage
    }

    #[test]
    fn stages_by_dpd_at_30_31_90_91() {
        for (dpd, want) in [(0, 1), (1, 1), (30, 1), (31, 2), (90, 2), (91, 3)] {
            assert_eq!(
                run(&facts("2026-06-30", dpd, &[], &[], &[])),
                want,
                "dpd {dpd}"
            );
        }
    }

    #[test]
    fn stages_by_events_grades_and_forbearance() {
        let e = [Event {
            event_date: d("2026-06-01"),
            code: "credit_impaired".into(),
            borrower_level: false,
        }];
        assert_eq!(run(&facts("2026-06-30", 0, &[], &[], &e)), 3);
        let e = [Event {
            event_date: d("2026-06-01"),
            code: "fund_misuse".into(),
            borrower_level: false,
        }];
        assert_eq!(
            run(&facts("2026-06-30", 0, &[], &[], &e)),
            2,
            "关注 from an event"
        );
        let r = [Restructure {
            effective_date: d("2024-01-10"),
            kind: "extension".into(),
        }];
        let inst: Vec<InstallmentRecord> = (0..48)
            .map(|k| {
                let due = add_months(d("2024-01-15"), k);
                InstallmentRecord {
                    installment_no: k + 1,
                    due_date: due,
                    settled_on: Some(due),
                }
            })
            .collect();
        // In observation (to 2025-01-15), then forborne for 36 months from the restructure.
        assert_eq!(run(&facts("2024-06-30", 0, &inst, &r, &[])), 2);
        assert_eq!(run(&facts("2027-01-09", 0, &inst, &r, &[])), 2);
        assert_eq!(run(&facts("2027-01-10", 0, &inst, &r, &[])), 1);
    }

    #[test]
    fn probation_3_to_2_after_6_months_and_2_to_1_after_3_more() {
        // Installment due 2026-01-15 settled 2026-05-01 (106 days late): DPD > 90 last on
        // 2026-05-01. Stage 3 until 2026-11-01, stage 2 until 2027-02-01.
        let inst = [InstallmentRecord {
            installment_no: 1,
            due_date: d("2026-01-15"),
            settled_on: Some(d("2026-05-01")),
        }];
        // The NPL hold keeps the grade 次级 (stage 3) until a review; take the hold away to see
        // the probation alone.
        let mut r = RuleSet::builtin("cn2023").unwrap();
        r.upgrade = None;
        let s = Staging::resolve("ifrs9").unwrap();
        let cases = [
            ("2026-04-30", 3),
            ("2026-10-31", 3),
            ("2026-11-01", 2),
            ("2027-01-31", 2),
            ("2027-02-01", 1),
        ];
        for (as_of, want) in cases {
            let dpd = if as_of < "2026-05-01" { 105 } else { 0 };
            let f = facts(as_of, dpd, &inst, &[], &[]);
            let Staged {
                stage: got,
                reasons: why,
                ..
            } = stage(&s, &f, &assess(&r, &f), None);
            assert_eq!(got, want, "{as_of}: {why:?}");
        }
        let f = facts("2026-06-01", 0, &inst, &[], &[]);
        assert_eq!(
            stage(&s, &f, &assess(&r, &f), None).reasons,
            ["stage 3 (probation): dpd > 90 last on 2026-05-01, until 2026-11-01"]
        );
        // Stage 2 by DPD 40, cured 2026-02-24: stage 2 until 2026-05-24.
        let inst = [InstallmentRecord {
            installment_no: 1,
            due_date: d("2026-01-15"),
            settled_on: Some(d("2026-02-24")),
        }];
        for (as_of, want) in [("2026-05-23", 2), ("2026-05-24", 1)] {
            let f = facts(as_of, 0, &inst, &[], &[]);
            assert_eq!(stage(&s, &f, &assess(&r, &f), None).stage, want, "{as_of}");
        }
    }

    #[test]
    fn a_remembered_stage_3_holds_through_its_probation() {
        // On 2026-03-31 an analyst's override put the loan at 次级 (stage 3 by grade); it
        // expired on 2026-04-01. Nothing in the installment history says stage 3, so only the
        // saved stage3_last remembers it: stage 3 for 6 months from 03-31, then stage 2 for 3.
        let r = RuleSet::builtin("cn2023").unwrap();
        let s = Staging::resolve("ifrs9").unwrap();
        let ov = [crate::classify::Override {
            effective_date: d("2026-03-01"),
            expires_on: Some(d("2026-04-01")),
            grade: Grade::Substandard,
            reason: String::new(),
            analyst: String::new(),
        }];
        let at = |as_of: &str| LoanFacts {
            overrides: &ov,
            ..facts(as_of, 0, &[], &[], &[])
        };
        let f = at("2026-03-31");
        let then = stage(&s, &f, &assess(&r, &f), None);
        assert_eq!((then.stage, then.stage3_last), (3, Some(d("2026-03-31"))));
        let cases = [
            ("2026-04-01", 3),
            ("2026-09-29", 3),
            ("2026-09-30", 2),
            ("2026-12-29", 2),
            ("2026-12-30", 1), // 09-30 + 3 months
        ];
        for (as_of, want) in cases {
            let f = at(as_of);
            let a = assess(&r, &f);
            let got = stage(&s, &f, &a, then.stage3_last);
            assert_eq!(got.stage, want, "{as_of}: {:?}", got.reasons);
            // The day is carried, never moved on by the probation itself.
            assert_eq!(got.stage3_last, Some(d("2026-03-31")), "{as_of}");
            // Without the saved history the loan would drop straight to stage 1.
            assert_eq!(stage(&s, &f, &a, None).stage, 1, "{as_of}");
        }
        let f = at("2026-05-31");
        assert_eq!(
            stage(&s, &f, &assess(&r, &f), then.stage3_last).reasons,
            ["stage 3 (probation): stage 3 last on 2026-03-31, until 2026-09-30"]
        );
        // A remembered day after the date assessed (a saved run of a later date) is ignored.
        let f = at("2026-03-15");
        let a = assess(&r, &f);
        assert_eq!(
            stage(&s, &f, &a, Some(d("2026-03-31"))).stage,
            3,
            "override"
        );
        let f = at("2026-02-15");
        let a = assess(&r, &f);
        assert_eq!(stage(&s, &f, &a, Some(d("2026-03-31"))).stage, 1);
        // The later of the DPD history and the remembered day counts.
        let inst = [InstallmentRecord {
            installment_no: 1,
            due_date: d("2026-01-15"),
            settled_on: Some(d("2026-05-01")),
        }];
        let mut r = r;
        r.upgrade = None;
        let f = facts("2026-10-31", 0, &inst, &[], &[]);
        let a = assess(&r, &f);
        assert_eq!(stage(&s, &f, &a, None).stage3_last, Some(d("2026-05-01")));
        assert_eq!(stage(&s, &f, &a, Some(d("2026-03-31"))).stage, 3);
        let f = facts("2026-11-01", 0, &inst, &[], &[]);
        let a = assess(&r, &f);
        assert_eq!(stage(&s, &f, &a, Some(d("2026-03-31"))).stage, 2);
        assert_eq!(stage(&s, &f, &a, Some(d("2026-06-30"))).stage, 3);
    }

    #[test]
    fn contagion_learnt_later_is_remembered_through_its_probation() {
        // Contagion put the loan in stage 3 on 2026-01-31 (the borrower-level step, after the
        // loan was staged for the later dates of the run).
        let s = Staging::resolve("ifrs9").unwrap();
        let last = d("2026-01-31");
        let cases: &[(&str, u8, Option<u8>)] = &[
            ("2026-01-30", 1, None), // before it: nothing to remember
            ("2026-02-28", 1, Some(3)),
            ("2026-07-30", 2, Some(3)),
            ("2026-07-30", 3, None), // already stage 3
            ("2026-07-31", 1, Some(2)),
            ("2026-10-30", 1, Some(2)),
            ("2026-10-30", 2, None),
            ("2026-10-31", 1, None),
        ];
        for &(as_of, now, want) in cases {
            let got = remembered(&s, now, last, d(as_of));
            assert_eq!(got.as_ref().map(|g| g.0), want, "{as_of} from stage {now}");
        }
        assert_eq!(
            remembered(&s, 1, last, d("2026-02-28")).unwrap().1,
            "stage 3 (probation): stage 3 last on 2026-01-31, until 2026-07-31"
        );
    }

    #[test]
    fn staging_file_validation() {
        let text = BUILTIN[0].1;
        let bad = text.replacen("dpd_over = 90", "dpd_over = 30", 1);
        let e = rulefile::parse_with("s.toml", &bad, Staging::from_file).unwrap_err();
        assert!(
            format!("{e:#}").contains("key stage3.dpd_over: unreachable"),
            "{e:#}"
        );
        let bad = text.replacen("\"credit_impaired\"", "\"impaired\"", 1);
        let e = rulefile::parse_with("s.toml", &bad, Staging::from_file).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown event code \"impaired\""),
            "{e:#}"
        );
        assert_eq!(exit::code_for(&e), 78);
    }
}
