//! The rule-set file format and its validation.
//!
//! A rule set is a TOML file (see `rules/cn2023.toml` for a commented example):
//!
//! ```toml
//! name = "cn2023"
//! [[dpd]]                 # DPD ladder: the highest `over` that DPD exceeds fires (strict >)
//! id = "C5"
//! over = 90
//! grade = "次级"
//! [[event]]               # a risk event sets a floor, or excuses the DPD floor for a few days
//! id = "C2"
//! code = "fund_misuse"
//! grade = "关注"
//! [restructure]           # observation after a restructure
//! during_id = "C16"
//! during = "关注"
//! missed_id = "C17"
//! missed = "次级"
//! min_periods = 2
//! min_months = 12
//! [contagion]             # borrower-level floor (corporate)
//! [upgrade_review]        # NPL hold and the upgrade-review flag
//! [provision_pct]         # rate per grade, percent of outstanding principal
//! [segment]               # collection segment thresholds (see segment.rs)
//! ```
//!
//! Grades may be written in Chinese (正常 关注 次级 可疑 损失) or English (pass, special_mention,
//! substandard, doubtful, loss). Validation refuses (exit 78, with file, line and key): unknown
//! keys, unknown grade names, unknown event codes, two DPD rules with the same threshold
//! (overlapping ranges), a rule that can never change a grade (unreachable: a DPD rule whose
//! grade is not worse than a lower threshold's, a floor of 正常, a second rule for the same event
//! code, a `missed` grade not worse than `during`), and a provision table that misses a grade.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::segment::{SegmentFile, SegmentRules};
use super::{is_event_code, BorrowerType, Grade, EVENT_CODES};
use crate::exit;
use crate::rulefile::{self, Invalid};

/// The built-in rule sets: name and TOML text.
pub const BUILTIN: &[(&str, &str)] = &[
    ("cn2023", include_str!("../../rules/cn2023.toml")),
    ("cn2007", include_str!("../../rules/cn2007.toml")),
    ("cn-card", include_str!("../../rules/cn-card.toml")),
];

/// `dpd > over` sets `grade`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdRule {
    pub id: String,
    pub over: u32,
    pub grade: Grade,
}

/// What an event code does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventEffect {
    /// Sets a floor; `hard` floors cannot be lifted by an override.
    Floor { grade: Grade, hard: bool },
    /// Removes the DPD floor while DPD is at most this many days.
    ExcusesDpdUpTo(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRule {
    pub id: String,
    pub code: String,
    pub effect: EventEffect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestructureRule {
    pub during_id: String,
    pub during: Grade,
    pub missed_id: String,
    pub missed: Grade,
    pub min_periods: u32,
    pub min_months: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContagionRule {
    pub id: String,
    pub borrower_type: BorrowerType,
    /// Strictly more than this percentage of the borrower's outstanding principal.
    pub share_over_pct: Decimal,
    /// Loans graded this or worse count towards the share.
    pub counts_from: Grade,
    pub floor: Grade,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRule {
    pub id: String,
    /// DPD grades this bad or worse hold until an analyst's review.
    pub hold_from: Grade,
    pub on_time_installments: u32,
    pub on_time_months: u32,
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub name: String,
    pub description: String,
    /// Ascending by `over`, grades strictly worsening.
    pub dpd: Vec<DpdRule>,
    pub events: Vec<EventRule>,
    pub restructure: Option<RestructureRule>,
    pub contagion: Option<ContagionRule>,
    pub upgrade: Option<UpgradeRule>,
    /// Percent of outstanding principal, indexed by [`Grade::rank`].
    pub provision_pct: [Decimal; 5],
    pub segment: SegmentRules,
}

// ----- the file as written -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    dpd: Vec<DpdFile>,
    #[serde(default)]
    event: Vec<EventFile>,
    #[serde(default)]
    restructure: Option<RestructureFile>,
    #[serde(default)]
    contagion: Option<ContagionFile>,
    #[serde(default)]
    upgrade_review: Option<UpgradeFile>,
    provision_pct: Spanned<BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    segment: SegmentFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DpdFile {
    id: String,
    over: Spanned<u32>,
    grade: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFile {
    id: String,
    code: Spanned<String>,
    #[serde(default)]
    grade: Option<Spanned<String>>,
    #[serde(default)]
    hard: Option<bool>,
    #[serde(default)]
    excuses_dpd_up_to: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestructureFile {
    during_id: String,
    during: Spanned<String>,
    missed_id: String,
    missed: Spanned<String>,
    min_periods: Spanned<u32>,
    min_months: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContagionFile {
    id: String,
    borrower_type: Spanned<String>,
    share_over_pct: Spanned<String>,
    counts_from: Spanned<String>,
    floor: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpgradeFile {
    id: String,
    hold_from: Spanned<String>,
    on_time_installments: Spanned<u32>,
    on_time_months: u32,
}

pub(crate) fn grade_of(s: &Spanned<String>) -> Result<Grade, Invalid> {
    Grade::parse(s.get_ref()).ok_or_else(|| {
        Invalid::at(
            s.span(),
            format!(
                "unknown grade {:?} (expected one of {} or {})",
                s.get_ref(),
                Grade::ALL.map(Grade::zh).join(" "),
                Grade::ALL.map(Grade::en).join(", ")
            ),
        )
    })
}

pub(crate) fn percent_of(s: &Spanned<String>) -> Result<Decimal, Invalid> {
    let v: Decimal = s
        .get_ref()
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| {
            Invalid::at(
                s.span(),
                format!("{:?} is not a percentage (write e.g. \"1.5\")", s.get_ref()),
            )
        })?;
    if v < Decimal::ZERO || v > Decimal::ONE_HUNDRED {
        return Err(Invalid::at(
            s.span(),
            format!("{v} is not between 0 and 100"),
        ));
    }
    Ok(v)
}

impl RuleSet {
    /// Validates a parsed file (see the module doc for what is refused).
    pub fn from_file(f: RuleFile) -> Result<RuleSet, Invalid> {
        let name = f.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(Invalid::at(f.name.span(), "name is empty"));
        }
        // DPD ladder.
        let mut dpd: Vec<(DpdRule, std::ops::Range<usize>)> = Vec::new();
        for r in &f.dpd {
            let grade = grade_of(&r.grade)?;
            if grade == Grade::Pass {
                return Err(Invalid::at(
                    r.grade.span(),
                    format!(
                        "unreachable rule {}: a floor of 正常 never changes a grade",
                        r.id
                    ),
                ));
            }
            let over = *r.over.get_ref();
            if let Some((other, _)) = dpd.iter().find(|(d, _)| d.over == over) {
                return Err(Invalid::at(
                    r.over.span(),
                    format!(
                        "overlapping DPD ranges: rules {} and {} both start at dpd > {over}",
                        other.id, r.id
                    ),
                ));
            }
            dpd.push((
                DpdRule {
                    id: r.id.clone(),
                    over,
                    grade,
                },
                r.grade.span(),
            ));
        }
        dpd.sort_by_key(|(d, _)| d.over);
        for w in dpd.windows(2) {
            let ((lo, _), (hi, span)) = (&w[0], &w[1]);
            if hi.grade <= lo.grade {
                return Err(Invalid::at(
                    span.clone(),
                    format!(
                        "unreachable rule {}: dpd > {} → {} is not worse than rule {} (dpd > {} → {})",
                        hi.id, hi.over, hi.grade, lo.id, lo.over, lo.grade
                    ),
                ));
            }
        }
        let dpd: Vec<DpdRule> = dpd.into_iter().map(|(d, _)| d).collect();

        // Events.
        let mut events: Vec<EventRule> = Vec::new();
        for e in &f.event {
            let code = e.code.get_ref().trim().to_string();
            if !is_event_code(&code) {
                return Err(Invalid::at(
                    e.code.span(),
                    format!(
                        "unknown event code {code:?} (expected one of {})",
                        EVENT_CODES
                            .iter()
                            .map(|(c, _)| *c)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if let Some(other) = events.iter().find(|x| x.code == code) {
                return Err(Invalid::at(
                    e.code.span(),
                    format!(
                        "unreachable rule {}: event {code} already has rule {}",
                        e.id, other.id
                    ),
                ));
            }
            let effect = match (&e.grade, e.excuses_dpd_up_to) {
                (Some(g), None) => {
                    let grade = grade_of(g)?;
                    if grade == Grade::Pass {
                        return Err(Invalid::at(
                            g.span(),
                            format!(
                                "unreachable rule {}: a floor of 正常 never changes a grade",
                                e.id
                            ),
                        ));
                    }
                    EventEffect::Floor {
                        grade,
                        hard: e.hard.unwrap_or(true),
                    }
                }
                (None, Some(days)) => EventEffect::ExcusesDpdUpTo(days),
                _ => {
                    return Err(Invalid::at(
                        e.code.span(),
                        format!(
                            "event rule {} needs exactly one of grade or excuses_dpd_up_to",
                            e.id
                        ),
                    ))
                }
            };
            events.push(EventRule {
                id: e.id.clone(),
                code,
                effect,
            });
        }

        let restructure = match &f.restructure {
            None => None,
            Some(r) => {
                let during = grade_of(&r.during)?;
                let missed = grade_of(&r.missed)?;
                if missed <= during {
                    return Err(Invalid::at(
                        r.missed.span(),
                        format!(
                            "unreachable rule {}: missed grade {missed} is not worse than during {during}",
                            r.missed_id
                        ),
                    ));
                }
                if *r.min_periods.get_ref() == 0 {
                    return Err(Invalid::at(
                        r.min_periods.span(),
                        "min_periods must be at least 1",
                    ));
                }
                Some(RestructureRule {
                    during_id: r.during_id.clone(),
                    during,
                    missed_id: r.missed_id.clone(),
                    missed,
                    min_periods: *r.min_periods.get_ref(),
                    min_months: r.min_months,
                })
            }
        };

        let contagion = match &f.contagion {
            None => None,
            Some(c) => Some(ContagionRule {
                id: c.id.clone(),
                borrower_type: BorrowerType::parse(c.borrower_type.get_ref()).ok_or_else(|| {
                    Invalid::at(
                        c.borrower_type.span(),
                        format!(
                            "unknown borrower_type {:?} (expected corporate or individual)",
                            c.borrower_type.get_ref()
                        ),
                    )
                })?,
                share_over_pct: percent_of(&c.share_over_pct)?,
                counts_from: grade_of(&c.counts_from)?,
                floor: grade_of(&c.floor)?,
            }),
        };

        let upgrade = match &f.upgrade_review {
            None => None,
            Some(u) => {
                if *u.on_time_installments.get_ref() == 0 && u.on_time_months == 0 {
                    return Err(Invalid::at(
                        u.on_time_installments.span(),
                        "on_time_installments and on_time_months cannot both be 0",
                    ));
                }
                Some(UpgradeRule {
                    id: u.id.clone(),
                    hold_from: grade_of(&u.hold_from)?,
                    on_time_installments: *u.on_time_installments.get_ref(),
                    on_time_months: u.on_time_months,
                })
            }
        };

        let mut provision: [Option<Decimal>; 5] = [None; 5];
        for (k, v) in f.provision_pct.get_ref() {
            let g = Grade::parse(k).ok_or_else(|| {
                Invalid::at(
                    v.span(),
                    format!(
                        "unknown grade {k:?} (expected one of {} or {})",
                        Grade::ALL.map(Grade::zh).join(" "),
                        Grade::ALL.map(Grade::en).join(", ")
                    ),
                )
                .key(format!("provision_pct.{k}"))
            })?;
            let slot = &mut provision[g.rank() as usize];
            if slot.is_some() {
                return Err(Invalid::at(v.span(), format!("grade {g} is given twice"))
                    .key(format!("provision_pct.{k}")));
            }
            *slot = Some(percent_of(v)?);
        }
        let mut provision_pct = [Decimal::ZERO; 5];
        for g in Grade::ALL {
            provision_pct[g.rank() as usize] = provision[g.rank() as usize].ok_or_else(|| {
                Invalid::at(
                    f.provision_pct.span(),
                    format!("no rate for grade {g} ({})", g.en()),
                )
                .key("provision_pct")
            })?;
        }

        Ok(RuleSet {
            name,
            description: f.description.unwrap_or_default(),
            dpd,
            events,
            restructure,
            contagion,
            upgrade,
            provision_pct,
            segment: SegmentRules::from_file(f.segment)?,
        })
    }

    /// The built-in rule set `name`.
    pub fn builtin(name: &str) -> Result<RuleSet> {
        let text = builtin_text(name)?;
        rulefile::parse_with(&format!("built-in rules {name}"), text, RuleSet::from_file)
    }

    /// Reads a bank's rules file.
    pub fn load(path: &Path) -> Result<RuleSet> {
        rulefile::load_with(path, RuleSet::from_file)
    }

    /// A built-in name, else a file (a value ending `.toml` or naming a path is always a file).
    pub fn resolve(name_or_path: &str) -> Result<RuleSet> {
        if BUILTIN.iter().any(|(n, _)| *n == name_or_path) {
            return RuleSet::builtin(name_or_path);
        }
        let p = Path::new(name_or_path);
        if looks_like_path(name_or_path) || p.exists() {
            return RuleSet::load(p);
        }
        Err(exit::config(format!(
            "unknown rule set {name_or_path:?} (expected {} or a TOML file)",
            BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Provision rate for `g` as a fraction (1.5 % → 0.015).
    pub fn provision_rate(&self, g: Grade) -> Decimal {
        self.provision_pct[g.rank() as usize] / Decimal::ONE_HUNDRED
    }

    /// The DPD rule that fires at `dpd` (the highest `over` below it).
    pub fn dpd_rule(&self, dpd: u32) -> Option<&DpdRule> {
        self.dpd.iter().rev().find(|r| dpd > r.over)
    }
}

/// The restructure rule of the built-in cn2023 rule set (parsed once).
pub fn cn2023_restructure() -> &'static RestructureRule {
    static RULE: std::sync::OnceLock<RestructureRule> = std::sync::OnceLock::new();
    RULE.get_or_init(|| {
        RuleSet::builtin("cn2023")
            .ok()
            .and_then(|r| r.restructure)
            .expect("the built-in cn2023 rule set parses and has a [restructure] table (tested)")
    })
}

/// The TOML text of a built-in rule set (for `--print-rules`).
pub fn builtin_text(name: &str) -> Result<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            exit::config(format!(
                "unknown rule set {name:?} (expected {})",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

pub(crate) fn looks_like_path(s: &str) -> bool {
    s.ends_with(".toml") || s.contains('/') || s.contains(std::path::MAIN_SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::m;

    #[test]
    fn builtins_parse_and_name_themselves() {
        for (name, _) in BUILTIN {
            let r = RuleSet::builtin(name).unwrap();
            assert_eq!(r.name, *name);
        }
        let r = RuleSet::builtin("cn2023").unwrap();
        assert_eq!(
            r.provision_pct,
            [m("1.5"), m("3"), m("30"), m("60"), m("100")]
        );
        assert_eq!(r.provision_rate(Grade::Pass), m("0.015"));
        assert!(RuleSet::builtin("cn2099").is_err());
    }

    #[test]
    fn dpd_ladders_at_every_boundary() {
        use Grade::*;
        let cases: &[(&str, &[(u32, Grade)])] = &[
            (
                "cn2023",
                &[
                    (0, Pass),
                    (1, SpecialMention),
                    (90, SpecialMention),
                    (91, Substandard),
                    (270, Substandard),
                    (271, Doubtful),
                    (360, Doubtful),
                    (361, Loss),
                ],
            ),
            (
                "cn2007",
                &[
                    (0, Pass),
                    (1, SpecialMention),
                    (90, SpecialMention),
                    (91, Substandard),
                    (180, Substandard),
                    (181, Doubtful),
                    (360, Doubtful),
                    (361, Loss),
                ],
            ),
            (
                "cn-card",
                &[
                    (0, Pass),
                    (1, SpecialMention),
                    (90, SpecialMention),
                    (91, Substandard),
                    (120, Substandard),
                    (121, Doubtful),
                    (180, Doubtful),
                    (181, Loss),
                ],
            ),
        ];
        for (name, table) in cases {
            let r = RuleSet::builtin(name).unwrap();
            for &(dpd, want) in *table {
                let got = r.dpd_rule(dpd).map_or(Pass, |x| x.grade);
                assert_eq!(got, want, "{name} dpd {dpd}");
            }
        }
    }

    fn cn2023_with(edit: impl Fn(&str) -> String) -> String {
        edit(builtin_text("cn2023").unwrap())
    }

    #[test]
    fn validation_names_line_and_key() {
        let cases: Vec<(String, &str)> = vec![
            (
                cn2023_with(|t| t.replacen("grade = \"次级\"", "grade = \"坏\"", 1)),
                "unknown grade \"坏\"",
            ),
            (
                cn2023_with(|t| t.replacen("over = 270", "over = 90", 1)),
                "overlapping DPD ranges: rules C5 and C10 both start at dpd > 90",
            ),
            (
                cn2023_with(|t| t.replacen("grade = \"损失\"", "grade = \"次级\"", 1)),
                "unreachable rule C13: dpd > 360 → 次级 is not worse than rule C10",
            ),
            (
                cn2023_with(|t| {
                    t.replacen(
                        "code = \"fund_misuse\"",
                        "code = \"fund_misuse\"\ncolour = 1",
                        1,
                    )
                }),
                "unknown field `colour`",
            ),
            (
                cn2023_with(|t| t.replacen("code = \"debt_evasion\"", "code = \"fund_misuse\"", 1)),
                "event fund_misuse already has rule C2",
            ),
            (
                cn2023_with(|t| t.replacen("code = \"debt_evasion\"", "code = \"evasion\"", 1)),
                "unknown event code \"evasion\"",
            ),
            (
                cn2023_with(|t| t.replacen("missed = \"次级\"", "missed = \"关注\"", 1)),
                "unreachable rule C17: missed grade 关注 is not worse than during 关注",
            ),
            (
                cn2023_with(|t| t.replacen("\"损失\" = \"100\"", "", 1)),
                "no rate for grade 损失",
            ),
            (
                cn2023_with(|t| t.replacen("\"损失\" = \"100\"", "\"lost\" = \"100\"", 1)),
                "unknown grade \"lost\"",
            ),
            (
                cn2023_with(|t| {
                    t.replacen("share_over_pct = \"10\"", "share_over_pct = \"ten\"", 1)
                }),
                "\"ten\" is not a percentage",
            ),
        ];
        for (text, want) in cases {
            let e = rulefile::parse_with("r.toml", &text, RuleSet::from_file).unwrap_err();
            let msg = format!("{e:#}");
            assert_eq!(exit::code_for(&e), 78, "{msg}");
            assert!(msg.contains(want), "{msg}\nwanted: {want}");
            assert!(msg.starts_with("r.toml line "), "{msg}");
        }
        // The line is the offending value's.
        let text = cn2023_with(|t| t.replacen("over = 270", "over = 90", 1));
        let line = text.lines().position(|l| l.contains("over = 90")).unwrap();
        let second = text
            .lines()
            .skip(line + 1)
            .position(|l| l.contains("over = 90"))
            .unwrap();
        let want = format!("r.toml line {}, column 8, key dpd.over:", line + second + 2);
        let e = rulefile::parse_with("r.toml", &text, RuleSet::from_file).unwrap_err();
        assert!(format!("{e:#}").starts_with(&want), "{e:#}\nwanted: {want}");
    }

    #[test]
    fn resolve_names_and_files() {
        assert_eq!(RuleSet::resolve("cn-card").unwrap().name, "cn-card");
        let e = RuleSet::resolve("cn2099").unwrap_err();
        assert_eq!(exit::code_for(&e), 78);
        let e = RuleSet::resolve("no/such.toml").unwrap_err();
        assert_eq!(exit::code_for(&e), 66);
    }
}
