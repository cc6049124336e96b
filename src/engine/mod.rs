//! The overdue engine: replays a loan's repayments against its schedule and
//! answers "where does this loan stand as of date D" — DPD, overdue amounts,
//! penalty interest (罚息), settlement history.
//!
//! Pure: plain values in, values out. No I/O, no clock (`as_of` is always a
//! parameter), never panics on any input (bad input becomes a warning on the
//! [`Position`]). Money is [`Decimal`]; the only rounding is
//! [`crate::money::round_fen`] (half-up to the fen), applied to the final
//! penalty total only.
//!
//! # Conventions (all deliberate; tests pin each one)
//!
//! * **Ordering.** Installments are sorted by `(due_date, installment_no)`,
//!   payments by `(paid_on, input order)`. Money is applied oldest
//!   installment first; within an installment in [`Conventions::order`]
//!   (default fee, interest, principal — 先息后本). `Component::Penalty` in
//!   `order` is ignored (penalty placement is `penalty_first`), and any
//!   component missing from `order` is appended in the default order, so
//!   money is never stranded.
//! * **DPD as of D** = `D − due_date` of the oldest installment not settled
//!   by the end of D, when that installment is overdue, else 0. A payment
//!   ON the due date is on time; the day after the due date unpaid is DPD 1.
//!   Payments are effective for the whole day they are dated (end-of-day
//!   view). There is **no business-day shift**: a due date or payment on a
//!   weekend/holiday counts on its calendar date.
//! * **max_dpd** is the worst DPD on any day up to D, where on a payment
//!   day the DPD just before that day's payments counts: paid one day late
//!   gives `max_dpd = 1` and `days_late = 1` though every end-of-day DPD was 0.
//! * **Grace** (`grace_days` g): an installment is overdue as of D only when
//!   `D > due_date + g`. Once overdue, DPD is counted from the due date, not
//!   from the end of grace (so with g = 3 DPD jumps 0 → 4). Penalty follows
//!   the same rule: an installment settled within grace never accrues
//!   penalty; one still unsettled after grace accrues from `due_date + 1`.
//! * **Tolerance**: an installment whose unpaid remainder (principal +
//!   interest + fee) is `<= tolerance` counts as settled: it does not move
//!   DPD, is excluded from `overdue_*` / `installments_overdue`, stops
//!   accruing penalty, is `Settled` in `installments`, and counts towards
//!   `closed`.
//!   The remainder is still real money: it stays in `outstanding_principal`
//!   and later payments still pay it first (the waterfall uses the true
//!   remainder). An installment that is `<= tolerance` from the start (e.g.
//!   an all-zero row) is settled on its own due date.
//! * **Relative materiality** (`tolerance_pct` r, percent): when r > 0 the
//!   loan's arrears (overdue principal + interest + fee of its overdue
//!   installments, penalty not included) are material only when they exceed
//!   r % of the outstanding principal as well; while they do not, DPD is 0
//!   (and `overdue_since` empty) though the installments and amounts still
//!   show what is unpaid. As with `tolerance`, once material the DPD is
//!   counted from the oldest unpaid due date. Both thresholds must be
//!   exceeded (the EU default definition's absolute and relative test): a
//!   tape with installments rounded to whole units, short 0.30 a month,
//!   stays at DPD 0 instead of drifting into arrears.
//! * **Penalty interest** (actual/360): for each day t in `due_date+1 ..= D`
//!   an overdue installment accrues `balance × annual_rate_pct/100 ×
//!   penalty_multiplier / 360`, where balance is its unpaid principal (plus
//!   unpaid interest when `compound_interest`, 复利) at the end of day t−1 —
//!   so a payment on day t still pays that day's penalty, and an installment
//!   paid k days late accrues exactly k days. Accrual is by segments between
//!   events (exact balance-days), and only the final total is rounded.
//!   `penalty_interest` = round_fen(accrued to D) − penalty paid. By default
//!   penalty is reported but not owed as part of any installment, so it
//!   never moves DPD; with `penalty_first` each payment first pays the
//!   penalty accrued to its date (round_fen(accrued) − already paid).
//! * **Prepayment.** `NextInstallments`: money beyond what is due pays the
//!   next installments in schedule order. `ReducePrincipalLast`: money beyond
//!   what is due (installments due on or before the payment date) pays
//!   principal of the not-yet-due installments from the last one backwards
//!   (缩期); only when all that principal is gone does it pay their interest
//!   and fee oldest first. Interest is NOT re-amortised — import the bank's
//!   new schedule for that. `prepaid_amount` = money applied to installments
//!   not yet due on the payment date; money beyond the whole schedule is
//!   `overpaid`.
//! * **Reversals** (`reverses_txn_id = Some(t)`): as of any D on or after
//!   the reversal's date, payment `t` is treated as never made (history,
//!   `max_dpd`, settlement dates are all recomputed without it); before that
//!   date the original stands. A reversal's own amount is ignored. A
//!   reversal of an unknown txn, of a reversal, or a second reversal of the
//!   same txn is ignored with a warning. If several payments share the txn
//!   id, the earliest-dated one is reversed.
//! * **Bad input** never panics: negative installment components become 0,
//!   payments with amount <= 0 are ignored, amounts above 10^15 are capped,
//!   amounts with digits below the fen (which the ledger cannot hold) are
//!   rounded half up to the fen, a negative rate/multiplier/tolerance is
//!   taken as 0 — each with a warning. A schedule whose principal differs
//!   from `LoanTerms::principal` by more than max(tolerance, 0.01) is warned
//!   about.
//! * `closed` = every installment settled (tolerance-aware; penalty not
//!   considered). `matured` = every installment's due date `<= as_of` (true
//!   for an empty schedule).
//!
//! # Performance
//!
//! [`positions`] sorts once and replays once per "reversal epoch" (the set
//! of reversals in force changes only on reversal dates, usually never),
//! taking a snapshot at each as-of date in one sweep: per date the cost is
//! O(1) plus building the `installments` list. Per loan it allocates a handful of
//! vectors, nothing per installment or per payment.
//!
//! The replay runs on integers: amounts in whole fen (`i64` per amount,
//! `i128` for sums, so any schedule the ledger can hold is exact), dates as
//! day numbers, penalty accrual as exact fen-days (`i128`), turned into
//! money once per snapshot exactly as the Decimal formula would
//! (`round_fen(acc × rate × multiplier / 36000)`). Output amounts have
//! scale 2. The original all-Decimal engine is kept for the tests only
//! (`reference`), as the oracle of a differential test.
//!
//! # Layout
//!
//! * `mod.rs` — this specification and the public types;
//! * `prepare` — once per loan: amounts to fen, sorting, reversals, warnings;
//! * `sweep` — the replay per reversal epoch and the snapshots;
//! * `penalty` — fen-days to rounded penalty;
//! * `reference` (tests) — the Decimal engine; `differential` (tests) —
//!   the two compared; `tests` — the conventions above, one test each.
//!
//! Benchmarks: `cargo bench --bench engine`.

mod penalty;
mod prepare;
#[cfg(test)]
mod reference;
mod sweep;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The loan-level terms the engine needs: principal and rate, the `loan` part of the contract
/// terms (defined once, with the generator's [`crate::schedule::Terms`]).
pub use crate::schedule::LoanTerms;

/// One row of the repayment schedule (the one schedule row type, defined with the generator).
pub use crate::schedule::Installment;

/// One repayment transaction, or a reversal of one.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub txn_id: String,
    pub paid_on: NaiveDate,
    pub amount: Decimal,
    /// `Some(t)`: this row reverses payment `t` (its own amount is ignored).
    pub reverses_txn_id: Option<String>,
}

/// A component of what is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    Penalty,
    Fee,
    Interest,
    Principal,
}

impl Component {
    /// Parses `penalty|fee|interest|principal` (also 罚息/费用/利息/本金).
    pub fn parse(s: &str) -> Result<Component, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "penalty" | "罚息" => Ok(Component::Penalty),
            "fee" | "费用" => Ok(Component::Fee),
            "interest" | "利息" => Ok(Component::Interest),
            "principal" | "本金" => Ok(Component::Principal),
            other => Err(format!(
                "unknown component {other:?} (expected fee, interest, principal or penalty)"
            )),
        }
    }

    /// `penalty`, `fee`, `interest` or `principal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Penalty => "penalty",
            Component::Fee => "fee",
            Component::Interest => "interest",
            Component::Principal => "principal",
        }
    }

    /// Parses a comma-separated order such as `"fee,interest,principal"`.
    pub fn parse_order(s: &str) -> Result<Vec<Component>, String> {
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let c = Component::parse(part)?;
            if out.contains(&c) {
                return Err(format!("component {:?} listed twice", part.trim()));
            }
            out.push(c);
        }
        if out.is_empty() {
            return Err("empty component order".to_string());
        }
        Ok(out)
    }
}

/// What money beyond everything due does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prepay {
    /// Pays the next installments in schedule order (default).
    #[default]
    NextInstallments,
    /// Pays principal of the last installments first (shortens the term).
    ReducePrincipalLast,
}

impl Prepay {
    /// `next_installments` or `reduce_principal_last`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prepay::NextInstallments => "next_installments",
            Prepay::ReducePrincipalLast => "reduce_principal_last",
        }
    }

    /// Parses `next` / `next_installments` or `reduce_last` /
    /// `reduce_principal_last`.
    pub fn parse(s: &str) -> Result<Prepay, String> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "next" | "next_installments" => Ok(Prepay::NextInstallments),
            "reduce_last" | "reduce_principal_last" => Ok(Prepay::ReducePrincipalLast),
            other => Err(format!(
                "unknown prepay mode {other:?} (expected next_installments or reduce_principal_last)"
            )),
        }
    }
}

/// The bank's accounting conventions. See the module doc.
#[derive(Debug, Clone, PartialEq)]
pub struct Conventions {
    pub grace_days: u32,
    pub tolerance: Decimal,
    /// Relative materiality, percent of the outstanding principal (0: none). See the module doc.
    pub tolerance_pct: Decimal,
    /// Within an installment; default fee, interest, principal.
    pub order: Vec<Component>,
    pub penalty_first: bool,
    /// Default 1.5 (penalty rate = contract rate × 1.5).
    pub penalty_multiplier: Decimal,
    /// 复利 on overdue interest; default true.
    pub compound_interest: bool,
    pub prepay: Prepay,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            grace_days: 0,
            tolerance: Decimal::ZERO,
            tolerance_pct: Decimal::ZERO,
            order: vec![Component::Fee, Component::Interest, Component::Principal],
            penalty_first: false,
            penalty_multiplier: Decimal::new(15, 1),
            compound_interest: true,
            prepay: Prepay::NextInstallments,
        }
    }
}

/// Where one installment stands as of the position's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallmentStatus {
    /// Not settled and not overdue: before its due date, or within grace.
    NotDue,
    /// Not settled, and `as_of > due_date + grace_days`.
    Overdue,
    /// Remainder <= tolerance by `as_of` (an installment owing nothing from
    /// the start counts from its due date).
    Settled,
}

impl InstallmentStatus {
    /// `not_due`, `overdue` or `settled` (the output contract's words).
    pub fn as_str(self) -> &'static str {
        match self {
            InstallmentStatus::NotDue => "not_due",
            InstallmentStatus::Overdue => "overdue",
            InstallmentStatus::Settled => "settled",
        }
    }
}

/// One installment of a [`Position`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallmentState {
    /// Index of this installment in the schedule slice given to the engine.
    pub index: usize,
    /// The schedule version it belongs to: 0 for the original schedule (always, from
    /// [`positions`]); across restructures, k for the k-th version in force, as
    /// [`crate::restructure::replay::positions`] replays them.
    pub version: u32,
    pub installment_no: u32,
    pub due_date: NaiveDate,
    pub status: InstallmentStatus,
    /// The day it was settled (Settled only).
    pub settled_on: Option<NaiveDate>,
    /// Settled: max(0, settled_on − due_date); Overdue: as_of − due_date
    /// (its own days past due); NotDue: 0.
    pub days_late: u32,
}

/// An installment settled (remainder <= tolerance) by the as-of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub installment_no: u32,
    pub due_date: NaiveDate,
    pub settled_on: NaiveDate,
    /// max(0, settled_on − due_date).
    pub days_late: u32,
}

/// Where a loan stands as of one date.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub as_of: NaiveDate,
    pub dpd: u32,
    /// Due date of the oldest unpaid overdue installment (None when dpd == 0).
    pub overdue_since: Option<NaiveDate>,
    pub overdue_principal: Decimal,
    pub overdue_interest: Decimal,
    pub overdue_fee: Decimal,
    /// Accrued to as_of, rounded to the fen, minus penalty already paid.
    pub penalty_interest: Decimal,
    /// Principal not yet repaid, due or not.
    pub outstanding_principal: Decimal,
    pub installments_overdue: u32,
    pub last_payment_date: Option<NaiveDate>,
    pub paid_total: Decimal,
    pub prepaid_amount: Decimal,
    pub overpaid: Decimal,
    /// Worst DPD reached on any day up to as_of. On a payment day the DPD
    /// just before that day's payments counts, so an installment settled k
    /// days late (k > grace) makes max_dpd >= k although no end-of-day DPD
    /// was ever k. Reversals rewrite this history like everything else.
    pub max_dpd: u32,
    /// Every installment, in schedule order (due date, then number).
    pub installments: Vec<InstallmentState>,
    /// Every installment is due.
    pub matured: bool,
    /// Every installment is settled.
    pub closed: bool,
    pub warnings: Vec<String>,
}

impl Position {
    /// The installments settled by as_of, in schedule order.
    pub fn settled(&self) -> Vec<Settled> {
        self.installments
            .iter()
            .filter_map(|x| {
                Some(Settled {
                    installment_no: x.installment_no,
                    due_date: x.due_date,
                    settled_on: x.settled_on?,
                    days_late: x.days_late,
                })
            })
            .collect()
    }

    fn empty(as_of: NaiveDate) -> Position {
        Position {
            as_of,
            dpd: 0,
            overdue_since: None,
            overdue_principal: Decimal::ZERO,
            overdue_interest: Decimal::ZERO,
            overdue_fee: Decimal::ZERO,
            penalty_interest: Decimal::ZERO,
            outstanding_principal: Decimal::ZERO,
            installments_overdue: 0,
            last_payment_date: None,
            paid_total: Decimal::ZERO,
            prepaid_amount: Decimal::ZERO,
            overpaid: Decimal::ZERO,
            max_dpd: 0,
            installments: Vec::new(),
            matured: true,
            closed: true,
            warnings: Vec::new(),
        }
    }
}

/// The loan's position as of one date.
pub fn position(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_of: NaiveDate,
    conv: &Conventions,
) -> Position {
    positions(terms, inst, pays, &[as_of], conv)
        .into_iter()
        .next()
        .unwrap_or_else(|| Position::empty(as_of))
}

/// What a [`Position`] holds besides its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Every installment's status in [`Position::installments`] (the default).
    #[default]
    Installments,
    /// The figures only: `installments` is left empty (so is [`Position::settled`]). Every
    /// other field is identical; it saves building a list per loan and date for callers that
    /// read neither (most of a portfolio scan).
    Figures,
}

/// The loan's positions as of several dates in one pass. `as_ofs` should be
/// ascending; any order is accepted and the result is in the order given
/// (`result[k].as_of == as_ofs[k]`), identical to calling [`position`] for
/// each date.
pub fn positions(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
) -> Vec<Position> {
    positions_with(terms, inst, pays, as_ofs, conv, Detail::Installments)
}

/// [`positions`], holding the installments' statuses or not ([`Detail`]).
pub fn positions_with(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
    detail: Detail,
) -> Vec<Position> {
    if as_ofs.is_empty() {
        return Vec::new();
    }
    sweep::positions(terms, inst, pays, as_ofs, conv, detail)
}

/// The payments in force as of `as_of`, in date order, as (paid_on, amount):
/// those dated on or before `as_of`, less the ones reversed by a reversal
/// dated on or before `as_of` (the reversal rule above, as the replay applies
/// it), less ignored rows (amount <= 0). Promise tracking sums these.
pub fn payments_in_force(pays: &[Payment], as_of: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
    prepare::payments_in_force(pays, as_of)
}

// ---------------------------------------------------------------------------
// Shared by the engine and its Decimal reference
// ---------------------------------------------------------------------------

/// A warning and the date from which it applies (None: always).
type Warnings = Vec<(Option<NaiveDate>, String)>;

/// 10^15 yuan: the cap on any one amount.
fn max_amount() -> Decimal {
    Decimal::new(1_000_000_000_000_000, 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    NotDue,
    /// Past due, within grace: accrues penalty provisionally.
    Grace,
    Overdue,
    Settled,
}

/// Negative amounts become 0 and amounts above [`max_amount`] are capped,
/// each with a warning.
fn clamp_amount(
    v: Decimal,
    what: impl Fn() -> String,
    warnings: &mut Warnings,
    date: Option<NaiveDate>,
) -> Decimal {
    if v.is_sign_negative() && !v.is_zero() {
        warnings.push((date, format!("{} is negative ({v}); taken as 0", what())));
        Decimal::ZERO
    } else if v > max_amount() {
        warnings.push((
            date,
            format!("{} is implausibly large ({v}); capped", what()),
        ));
        max_amount()
    } else {
        v
    }
}

fn days_u32(days: i64) -> u32 {
    u32::try_from(days.max(0)).unwrap_or(u32::MAX)
}

/// Fen as an amount with scale 2, saturating at `Decimal`'s range (about
/// 7.9 × 10^26 yuan, which no sum of a ledger's amounts reaches).
fn money(fen: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(fen, 2).unwrap_or(if fen < 0 {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}
