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
//!   last day. The last day comes from the installment history (an installment settled k days
//!   late had DPD k on its settlement day), so staging needs no saved state.

use std::path::Path;

use anyhow::Result;
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

/// The stage (1, 2, 3) and the reasons for it.
pub fn stage(s: &Staging, f: &LoanFacts, a: &Assessment) -> (u8, Vec<String>) {
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
        return (3, vec![format!("stage 3: {}", s3.join(", "))]);
    }
    let last3 = last_day_dpd_over(f.installments, s.stage3_dpd_over, f.as_of);
    let s3_until = last3.map(|d| add_months(d, s.stage3_to_2_months));
    if let (Some(l), Some(u)) = (last3, s3_until) {
        if f.as_of < u {
            return (
                3,
                vec![format!(
                    "stage 3 (probation): dpd > {} last on {l}, until {u}",
                    s.stage3_dpd_over
                )],
            );
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
        return (2, vec![format!("stage 2: {}", s2.join(", "))]);
    }
    let last2 = last_day_dpd_over(f.installments, s.stage2_dpd_over, f.as_of);
    let until2 = [
        last2.map(|d| add_months(d, s.stage2_to_1_months)),
        s3_until.map(|d| add_months(d, s.stage2_to_1_months)),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(u) = until2.filter(|u| f.as_of < *u) {
        return (2, vec![format!("stage 2 (probation): until {u}")]);
    }
    (1, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::eval::assess;
    use crate::classify::rules::RuleSet;
    use crate::classify::{BorrowerType, Event, InstallmentRecord, Restructure};
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
        stage(&s, f, &assess(&r, f)).0
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
            let (got, why) = stage(&s, &f, &assess(&r, &f));
            assert_eq!(got, want, "{as_of}: {why:?}");
        }
        let f = facts("2026-06-01", 0, &inst, &[], &[]);
        assert_eq!(
            stage(&s, &f, &assess(&r, &f)).1,
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
            assert_eq!(stage(&s, &f, &assess(&r, &f)).0, want, "{as_of}");
        }
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
