//! Loan classification: five-tier grades (五级分类), IFRS 9 stages, collection segments and
//! reference provisions, from rule sets that are data.
//!
//! Pure like the engine: plain values in ([`LoanFacts`], one per loan, as of one date), values out
//! ([`Assessment`]); no SQL, no files, no clock. A rule set is a TOML file ([`rules::RuleSet`];
//! `cn2023`, `cn2007`, `cn-card` are compiled in from `rules/*.toml`), IFRS 9 staging another
//! ([`stage::Staging`], `ifrs9`). One evaluator ([`eval::assess`]) runs every rule set: a new rule
//! set adds a file, not code.
//!
//! # Conventions (each pinned by a test in `eval.rs` / `stage.rs` / `segment.rs`)
//!
//! * **Every rule is a floor.** The grade is the worst of the floors that fired and the analyst's
//!   override in force, in this order of precedence:
//!   1. *per-loan hard floors*: the DPD ladder (`dpd > over`, strictly: DPD 90 is 关注, 91 is 次级
//!      under cn2023; the same `>` at 270 and 360; only the highest threshold passed fires),
//!      risk events of the loan or of its borrower dated on or before `as_of`, restructure
//!      observation;
//!   2. *the NPL hold* (soft): once DPD has reached an NPL grade (`upgrade_review.hold_from`,
//!      次级 under cn2023), the loan stays at the worst DPD grade reached since the last analyst
//!      override, even after the arrears are paid: upgrades out of NPL are never automatic. The
//!      loan is flagged `eligible_for_upgrade_review` instead (below);
//!   3. *the analyst override* in force (`effective_date <= as_of < expires_on`; on `expires_on`
//!      itself it has expired; the latest `effective_date` wins). It may worsen the grade freely
//!      and may lift it above soft floors, never above a hard floor: then the hard floor holds
//!      and the trace says so;
//!   4. *corporate contagion* ([`eval::contagion`], a second step over all loans of a borrower):
//!      when more than `share_over_pct` (10 %) of a corporate borrower's outstanding principal is
//!      graded `counts_from` (次级) or worse after steps 1-3, every loan of that borrower gets a
//!      hard floor of `floor` (次级). Exactly 10 % does not trigger it. Individuals are graded
//!      loan by loan.
//! * **Technical delay.** An event whose rule has `excuses_dpd_up_to = N` (`technical_delay`,
//!   N = 7) dated within the current overdue spell (`overdue_since <= event_date <= as_of`)
//!   removes the DPD floor while `dpd <= N`. It is never inferred from DPD.
//! * **Restructure observation** ([`eval::observation`], the period is [`Observation`]): starts
//!   at the first due date after the restructure's `effective_date` and ends at the later of the
//!   due date `min_periods` repayment periods after the start (the installment `min_periods`
//!   places on, or the last one: two periods from a start on 03-15, monthly, end on 05-15) and
//!   `start + min_months`. It is in force
//!   through that end date (inclusive) and over from the next day, provided every installment
//!   due in it was settled on or before its due date. An installment not settled by its due date (known once `as_of` is past
//!   the due date) is a miss: the floor becomes `missed` (次级) and the observation restarts at
//!   the first due date after the missed one. A second restructure while an observation is in
//!   force also sets `missed` and restarts from its own effective date. A restructure whose
//!   observation cannot start yet (no due date after it) is in observation.
//! * **Upgrade review.** A loan graded NPL is `eligible_for_upgrade_review` when its DPD is 0,
//!   its arrears were cleared on a date C (the last day an installment was settled late), at
//!   least `on_time_installments` (2) installments fell due after C, all settled on time, and
//!   `as_of >= C + on_time_months` (6): both conditions, i.e. the longer of the two.
//! * **Provision** = outstanding principal × the rule set's rate for the final grade, rounded
//!   half-up to the fen.
//! * Dates: months are added by calendar month, clamped to the month end (2024-01-31 + 1 month
//!   = 2024-02-29).

pub mod eval;
pub mod rules;
pub mod segment;
pub mod stage;

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The five grades, best first. `Ord` follows risk: `Pass < SpecialMention < … < Loss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    Pass,
    SpecialMention,
    Substandard,
    Doubtful,
    Loss,
}

impl Grade {
    pub const ALL: [Grade; 5] = [
        Grade::Pass,
        Grade::SpecialMention,
        Grade::Substandard,
        Grade::Doubtful,
        Grade::Loss,
    ];

    /// 正常 关注 次级 可疑 损失.
    pub fn zh(self) -> &'static str {
        match self {
            Grade::Pass => "正常",
            Grade::SpecialMention => "关注",
            Grade::Substandard => "次级",
            Grade::Doubtful => "可疑",
            Grade::Loss => "损失",
        }
    }

    /// pass special_mention substandard doubtful loss.
    pub fn en(self) -> &'static str {
        match self {
            Grade::Pass => "pass",
            Grade::SpecialMention => "special_mention",
            Grade::Substandard => "substandard",
            Grade::Doubtful => "doubtful",
            Grade::Loss => "loss",
        }
    }

    /// Either name (Chinese or English, case-insensitive for English).
    pub fn parse(s: &str) -> Option<Grade> {
        let t = s.trim();
        Grade::ALL
            .into_iter()
            .find(|g| g.zh() == t || g.en().eq_ignore_ascii_case(t))
    }

    /// 次级, 可疑, 损失: non-performing (不良).
    pub fn is_npl(self) -> bool {
        self >= Grade::Substandard
    }

    /// 0..=4, the order stored in the ledger.
    pub fn rank(self) -> u8 {
        self as u8
    }

    pub fn from_rank(r: u8) -> Option<Grade> {
        Grade::ALL.get(r as usize).copied()
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.zh())
    }
}

/// Individuals are graded loan by loan; corporate borrowers by debtor (contagion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BorrowerType {
    Individual,
    Corporate,
}

impl BorrowerType {
    /// `individual` / `corporate` (also 个人 / 对公 / 企业); anything else is `None`.
    pub fn parse(s: &str) -> Option<BorrowerType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "individual" | "personal" | "retail" | "个人" => Some(BorrowerType::Individual),
            "corporate" | "company" | "business" | "对公" | "企业" => {
                Some(BorrowerType::Corporate)
            }
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BorrowerType::Individual => "individual",
            BorrowerType::Corporate => "corporate",
        }
    }
}

/// The documented event codes (the `events` import accepts these; rule files may only name
/// these). A rule set gives each the floor it sets, or none.
pub const EVENT_CODES: &[(&str, &str)] = &[
    (
        "fund_misuse",
        "funds used for another purpose without consent (C2)",
    ),
    (
        "new_debt_repayment",
        "repaid by 借新还旧 or other new debt (C3)",
    ),
    (
        "npl_elsewhere",
        "non-retail debtor has NPL debt at this or another bank (C4)",
    ),
    ("credit_impaired", "credit-impaired, IFRS 9 stage 3 (C6)"),
    (
        "rating_downgrade",
        "external rating cut sharply, ability to pay materially weaker (C7)",
    ),
    (
        "overdue_share_elsewhere",
        "non-retail: > 20 % of the debtor's debt across banks > 90 DPD (C8)",
    ),
    ("needs_restructuring", "needs restructuring (cn2007)"),
    ("debt_evasion", "debtor evades bank debt, 逃废债 (C11)"),
    (
        "bankruptcy_liquidation",
        "debtor in bankruptcy liquidation (C14)",
    ),
    (
        "technical_delay",
        "operational/technical delay; excuses the DPD 关注 floor while DPD <= 7 (C1)",
    ),
];

/// Whether `code` is one of [`EVENT_CODES`].
pub fn is_event_code(code: &str) -> bool {
    EVENT_CODES.iter().any(|(c, _)| *c == code)
}

/// One installment of the current schedule and when it was settled (as of the date assessed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallmentRecord {
    pub installment_no: u32,
    pub due_date: NaiveDate,
    /// None: not settled by `as_of`.
    pub settled_on: Option<NaiveDate>,
}

impl InstallmentRecord {
    /// Settled on or before its due date.
    pub fn on_time(&self) -> bool {
        self.settled_on.is_some_and(|s| s <= self.due_date)
    }

    /// Not settled by its due date, and `as_of` is past the due date (so the miss is known).
    pub fn missed_by(&self, as_of: NaiveDate) -> bool {
        as_of > self.due_date && !self.on_time()
    }
}

impl From<&crate::engine::InstallmentState> for InstallmentRecord {
    fn from(s: &crate::engine::InstallmentState) -> Self {
        InstallmentRecord {
            installment_no: s.installment_no,
            due_date: s.due_date,
            settled_on: s.settled_on,
        }
    }
}

/// A restructure (展期, new plan, …) as classification reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restructure {
    pub effective_date: NaiveDate,
    pub kind: String,
}

/// The observation period of a restructured loan (RULES.md §1), the one definition that
/// `classify` (the C16/C17 floors) and `restructure` (a proposal's grade consequence) share.
///
/// It starts at `start`, the first due date after the restructure (or after a missed
/// installment, when it restarts), and ends at `end`, the later of the due date `min_periods`
/// repayment periods after the start (the installment `min_periods` places on, or the last one)
/// and `start + min_months`. It is in force from the restructure through `end` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Observation {
    /// From the due dates of the schedule from the start on (ascending: the first is the
    /// start); None when there is none.
    pub fn from_due_dates(
        rule: &rules::RestructureRule,
        due: impl IntoIterator<Item = NaiveDate>,
    ) -> Option<Observation> {
        Observation::spanning(rule.min_periods, rule.min_months, due)
    }

    /// At least `periods` repayment periods from the first due date (to the due date of the
    /// installment `periods` places on, or the last) and at least `months`.
    pub fn spanning(
        periods: u32,
        months: u32,
        due: impl IntoIterator<Item = NaiveDate>,
    ) -> Option<Observation> {
        let mut due = due.into_iter();
        let start = due.next()?;
        let by_periods = due.take(periods as usize).last().unwrap_or(start);
        Some(Observation {
            start,
            end: by_periods.max(add_months(start, months)),
        })
    }

    /// Of a new schedule version: at least `periods` periods and `months` months.
    pub fn lasting(
        installments: &[crate::engine::Installment],
        periods: u32,
        months: u32,
    ) -> Option<Observation> {
        Observation::spanning(periods, months, installments.iter().map(|i| i.due_date))
    }

    /// Of a new schedule version under a rule set: its restructure rule, else cn2023's.
    pub fn under(
        rules: &rules::RuleSet,
        installments: &[crate::engine::Installment],
    ) -> Option<Observation> {
        match &rules.restructure {
            Some(r) => Observation::from_due_dates(r, installments.iter().map(|i| i.due_date)),
            None => Observation::of(installments),
        }
    }

    /// The observation of a new schedule version under the built-in cn2023 rule (a proposal's,
    /// before any rule set is chosen); None for an empty version.
    pub fn of(installments: &[crate::engine::Installment]) -> Option<Observation> {
        let rule = rules::cn2023_restructure();
        Observation::from_due_dates(rule, installments.iter().map(|i| i.due_date))
    }

    /// In force on `d` (through `end` inclusive).
    pub fn running_on(&self, d: NaiveDate) -> bool {
        d <= self.end
    }
}

/// A risk event of the loan or of its borrower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_date: NaiveDate,
    pub code: String,
    /// The event was recorded against the borrower (applies to every loan of theirs).
    pub borrower_level: bool,
}

/// An analyst's judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub effective_date: NaiveDate,
    /// In force before this date; expired on it.
    pub expires_on: Option<NaiveDate>,
    pub grade: Grade,
    pub reason: String,
    pub analyst: String,
}

impl Override {
    pub fn in_force(&self, as_of: NaiveDate) -> bool {
        self.effective_date <= as_of && self.expires_on.is_none_or(|e| as_of < e)
    }
}

/// The follow-up and payment behaviour the collection segment reads (see [`segment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowupSummary {
    /// Follow-ups logged within the look-back window.
    pub contacts: u32,
    /// Of those, the ones that reached the borrower (any outcome but `no_answer`).
    pub reached: u32,
    /// `no_answer` follow-ups since the last one that reached the borrower.
    pub unanswered_streak: u32,
    pub refusals: u32,
    pub promises_kept: u32,
    pub promises_broken: u32,
    pub promises_pending: u32,
    /// Payments made within `paid_within_days` after a follow-up.
    pub paid_after_contact: u32,
    /// Payments that left the loan overdue (partial payments).
    pub partial_payments: u32,
}

impl FollowupSummary {
    /// Adds another loan's summary (a borrower's loans together).
    pub fn add(&mut self, o: &FollowupSummary) {
        self.contacts += o.contacts;
        self.reached += o.reached;
        self.unanswered_streak = self.unanswered_streak.max(o.unanswered_streak);
        self.refusals += o.refusals;
        self.promises_kept += o.promises_kept;
        self.promises_broken += o.promises_broken;
        self.promises_pending += o.promises_pending;
        self.paid_after_contact += o.paid_after_contact;
        self.partial_payments += o.partial_payments;
    }
}

/// Everything the evaluator reads about one loan as of one date.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanFacts<'a> {
    pub as_of: NaiveDate,
    pub dpd: u32,
    /// Due date of the oldest unpaid overdue installment (None when dpd == 0).
    pub overdue_since: Option<NaiveDate>,
    pub outstanding_principal: Decimal,
    pub borrower_type: BorrowerType,
    /// The schedule in due-date order, with settlement dates as of `as_of`.
    pub installments: &'a [InstallmentRecord],
    pub restructures: &'a [Restructure],
    pub events: &'a [Event],
    pub overrides: &'a [Override],
}

/// Where a floor comes from (its step in the precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorKind {
    Dpd,
    Event,
    Restructure,
    Hold,
    Contagion,
}

/// One rule that fired: a floor with its place in the precedence and its trace text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    /// The rule's id from the rule set (e.g. `C5`).
    pub rule: String,
    pub kind: FloorKind,
    pub grade: Grade,
    /// An override cannot lift the grade above a hard floor.
    pub hard: bool,
    /// e.g. `dpd 95 > 90 → 次级`.
    pub reason: String,
}

/// The outcome of grading one loan.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub grade: Grade,
    /// The rule that decided the grade (`override` when the analyst's grade stands, empty when
    /// nothing fired).
    pub grade_rule: String,
    /// Every floor that fired, in precedence order.
    pub floors: Vec<Floor>,
    /// Notes that are not floors: an excused DPD, an expired override, …
    pub notes: Vec<String>,
    /// What the override in force did (applied, or held back by a hard floor).
    pub override_note: Option<String>,
    /// Why the loan could be put to an upgrade review (shown when it is NPL).
    pub upgrade_note: Option<String>,
    pub outstanding_principal: Decimal,
    /// The override in force, as text (`可疑 from 2026-05-01 by …: reason`).
    pub override_text: Option<String>,
    pub override_grade: Option<Grade>,
    pub eligible_for_upgrade_review: bool,
    pub provision_rate: Decimal,
    pub provision: Decimal,
    /// The restructure observation in force (for IFRS 9 forbearance).
    pub in_observation: bool,
}

impl Assessment {
    /// The readable trace: every floor that fired and every note, `; `-separated.
    pub fn reasons(&self) -> String {
        self.floors
            .iter()
            .map(|f| format!("{}: {}", f.rule, f.reason))
            .chain(self.notes.iter().cloned())
            .chain(self.override_note.iter().cloned())
            .chain(
                self.upgrade_note
                    .iter()
                    .filter(|_| self.eligible_for_upgrade_review)
                    .cloned(),
            )
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Worst hard floor (Pass when none).
    pub fn hard_floor(&self) -> Grade {
        self.floors
            .iter()
            .filter(|f| f.hard)
            .map(|f| f.grade)
            .max()
            .unwrap_or(Grade::Pass)
    }
}

/// Adds `months` calendar months, clamped to the month end.
pub fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    #[test]
    fn grade_names_and_order() {
        for g in Grade::ALL {
            assert_eq!(Grade::parse(g.zh()), Some(g));
            assert_eq!(Grade::parse(g.en()), Some(g));
            assert_eq!(Grade::from_rank(g.rank()), Some(g));
        }
        assert_eq!(Grade::parse("Special_Mention"), Some(Grade::SpecialMention));
        assert_eq!(Grade::parse("bad"), None);
        assert!(Grade::Pass < Grade::Loss);
        assert!(!Grade::SpecialMention.is_npl() && Grade::Substandard.is_npl());
    }

    #[test]
    fn override_in_force_until_the_day_before_expiry() {
        let o = Override {
            effective_date: d("2026-05-01"),
            expires_on: Some(d("2026-07-01")),
            grade: Grade::Doubtful,
            reason: String::new(),
            analyst: String::new(),
        };
        let cases = [
            ("2026-04-30", false),
            ("2026-05-01", true),
            ("2026-06-30", true),
            ("2026-07-01", false),
        ];
        for (on, want) in cases {
            assert_eq!(o.in_force(d(on)), want, "{on}");
        }
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(add_months(d("2024-01-31"), 1), d("2024-02-29"));
        assert_eq!(add_months(d("2025-03-15"), 12), d("2026-03-15"));
    }
}
