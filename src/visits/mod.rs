//! Visit and call plans (走访/电话计划) for loan officers: what each borrower needs, in what
//! order, on which working day, within capacity and the conduct rules.
//!
//! Pure: plain values in, plain values out; `as_of` and the working days are parameters. The
//! command loads the book, masks PII and renders; nothing here knows a name or a phone.
//!
//! # What is needed (one [`Need`] per rule that fires; see [`needs`])
//!
//! * **routine** visit: every active borrower at least every `routine_months[grade]` months
//!   (worst grade of its loans; restructured loans in observation `restructured_months`),
//!   counted from the last logged visit, or from the first origination when there is none.
//!   Due on that day, may be made `window_days` early. Routine visits already late are spread
//!   evenly over the next `catch_up_days` per officer (in order of due date, then borrower_id),
//!   not bunched on the first day.
//! * **first_check** visit: within `first_check_days` of a loan's origination when no visit is
//!   logged since (dropped `catch_up_days` after its deadline: the routine visit takes over).
//! * **verify_overdue** visit: each ladder step with `require_channel = "visit"` (default from
//!   DPD 31), due within its allowance (14 days) of the day the step is reached, unless a
//!   visit is logged since. Steps the loan will reach within the horizon (still unpaid) count.
//! * **broken_promise** visit: within `broken_promise_days` after a broken promise to pay,
//!   unless a visit is logged after the promise date.
//! * **ladder_contact** call: each ladder step with `contact_within_days = N` (default: the
//!   first contact within 7 days of falling overdue), unless a contact is logged since.
//! * **reminder** call: while overdue, `reminder_every_days` after the last contact.
//! * **promise_followup** call: on a pending promise date (or `promise_followup_days` after).
//! * **before_visit** call: on the working day before each planned visit (same day when the
//!   visit is on the first day).
//!
//! # How it is planned ([`plan`])
//!
//! * One visit per borrower covers all of its loans: every visit need of a borrower merges into
//!   one item (earliest of the earliest days, nearest deadline). Call needs of a borrower merge
//!   when their windows meet; a borrower gets at most one call task per day.
//! * Each item gets a [`Score`] whose parts are shown; items are placed in order of score
//!   (ties: nearest deadline, then borrower_id, then visits before calls — so the same input
//!   gives the same plan byte for byte). Visits first, then calls.
//! * An item goes on the first working day from its earliest day that has capacity for the
//!   officer (visits and calls per day), passes every conduct rule ([`conduct::check`]) and, for
//!   a visit, keeps the officer's visits that day in the region/branch of the first visit
//!   placed there — unless only another area's day is left before the deadline. Past the
//!   deadline it is planned `late`; when no day is left it is `unplanned`, and `held_by` names
//!   the rule (capacity or conduct) that held it back.
//! * Items planned in an earlier plan and not done ([`close`]) come back with the `rollover`
//!   score part.

pub mod conduct;
pub mod policy;
pub mod sheets;

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{Datelike, Days, NaiveDate, NaiveTime};
use rust_decimal::Decimal;

use crate::collection::Ladder;
pub use policy::{Policy, DEFAULT_POLICY_TOML};

/// The five-tier grade (五级分类) and the collection segment are `classify`'s; the plan reads
/// them from a saved classify run (or computes them the same way, see `ops::visits`). What the
/// visit policy adds: its key names and the day sheet's talking points.
pub use crate::classify::segment::Segment;
pub use crate::classify::Grade;

impl Grade {
    /// The policy key (`normal` for 正常, then `special_mention` … `loss`).
    pub fn key(self) -> &'static str {
        match self {
            Grade::Pass => "normal",
            g => g.en(),
        }
    }

    /// From a policy key (`normal`), or either of classify's names (`pass`, 关注, …).
    pub fn from_key(s: &str) -> Option<Grade> {
        match s.trim() {
            "normal" => Some(Grade::Pass),
            t => Grade::parse(t),
        }
    }
}

impl Segment {
    /// The policy key (classify's name).
    pub fn key(self) -> &'static str {
        self.as_str()
    }

    /// From its name; empty is `unknown`.
    pub fn parse(s: &str) -> Option<Segment> {
        Some(match s.trim() {
            "willing_able" => Segment::WillingAble,
            "willing_unable" => Segment::WillingUnable,
            "unwilling" => Segment::Unwilling,
            "unknown" | "" => Segment::Unknown,
            _ => return None,
        })
    }

    /// What to say at the door (the day sheet's talking points).
    pub fn talking_points(self) -> &'static str {
        match self {
            Segment::WillingAble => {
                "confirm the amount and a payment date; offer the repayment channels"
            }
            Segment::WillingUnable => {
                "verify income and hardship; discuss a plan within policy (no promises of waivers)"
            }
            Segment::Unwilling => {
                "state the contract and the consequences calmly; record refusals exactly"
            }
            Segment::Unknown => {
                "verify the situation in person: contact details, income, collateral"
            }
        }
    }
}

/// Visit or call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Visit,
    Call,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Visit => "visit",
            Kind::Call => "call",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "visit" => Some(Kind::Visit),
            "call" => Some(Kind::Call),
            _ => None,
        }
    }
}

/// One logged contact with the borrower (any of its loans, any channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub date: NaiveDate,
    /// `contact_time` when logged.
    pub time: Option<NaiveTime>,
    /// phone|sms|visit|letter|legal
    pub channel: String,
    /// A conversation took place (`connected`, or an outcome other than no_answer).
    pub connected: bool,
    /// Who was contacted; empty means the borrower.
    pub party: String,
}

impl Contact {
    pub fn is_call(&self) -> bool {
        self.channel == "phone"
    }

    pub fn is_visit(&self) -> bool {
        self.channel == "visit"
    }

    fn matches(&self, kind: Kind) -> bool {
        match kind {
            Kind::Visit => self.is_visit(),
            Kind::Call => self.is_call(),
        }
    }
}

/// What the plan needs to know about one loan as of the plan's date.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanFacts {
    pub loan_id: String,
    pub origination_date: NaiveDate,
    pub dpd: u32,
    pub overdue_since: Option<NaiveDate>,
    pub outstanding: Decimal,
    pub overdue_amount: Decimal,
    /// From a saved `classify` run, or the DPD rule of the built-in rule set.
    pub grade: Grade,
    pub restructured_in_observation: bool,
    pub broken_promises: u32,
    pub last_broken_promise: Option<NaiveDate>,
    /// Promise dates not yet due or due today, unpaid.
    pub pending_promises: Vec<NaiveDate>,
}

impl LoanFacts {
    fn since(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        if self.dpd == 0 {
            return None;
        }
        self.overdue_since
            .or_else(|| as_of.checked_sub_days(Days::new(u64::from(self.dpd))))
    }
}

/// One borrower with its active loans and its contact log.
#[derive(Debug, Clone, PartialEq)]
pub struct Borrower {
    pub borrower_id: String,
    pub officer: String,
    pub region: String,
    pub branch: String,
    pub segment: Option<Segment>,
    pub loans: Vec<LoanFacts>,
    /// Every logged contact on or before as_of, across loans and channels.
    pub contacts: Vec<Contact>,
    /// The borrower agreed to be contacted in this window (may reach into the night).
    pub consent_window: Option<(NaiveTime, NaiveTime)>,
    /// Plans in a row in which a visit / a call for this borrower was planned and not done.
    pub rolled_visits: u32,
    pub rolled_calls: u32,
}

impl Borrower {
    fn area(&self) -> (&str, &str) {
        (self.region.as_str(), self.branch.as_str())
    }

    fn last(&self, kind: Option<Kind>, as_of: NaiveDate) -> Option<NaiveDate> {
        self.contacts
            .iter()
            .filter(|c| c.date <= as_of && kind.is_none_or(|k| c.matches(k)))
            .map(|c| c.date)
            .max()
    }

    fn any_in(&self, kind: Option<Kind>, from: NaiveDate, to: NaiveDate) -> bool {
        self.contacts
            .iter()
            .any(|c| c.date >= from && c.date <= to && kind.is_none_or(|k| c.matches(k)))
    }

    /// Worst grade of the loans.
    pub fn grade(&self) -> Grade {
        self.loans
            .iter()
            .map(|l| l.grade)
            .max()
            .unwrap_or(Grade::Pass)
    }

    pub fn max_dpd(&self) -> u32 {
        self.loans.iter().map(|l| l.dpd).max().unwrap_or(0)
    }
}

/// What a day sheet shows about a borrower beyond the plan row (PII unmasked here; the
/// renderers mask it unless asked not to).
#[derive(Clone, Debug, Default)]
pub struct Detail {
    pub name: String,
    pub phone: String,
    pub overdue_amount: Decimal,
    pub outstanding: Decimal,
    pub max_dpd: u32,
    /// (date, channel, outcome) of the last logged contact.
    pub last_contact: Option<(NaiveDate, String, String)>,
    /// (made on, promised for, amount, state) of every promise, oldest first.
    pub promises: Vec<(NaiveDate, NaiveDate, Option<Decimal>, &'static str)>,
}

/// Why an item is planned: a rule and, when it concerns one loan, the loan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reason {
    pub code: &'static str,
    pub loan_id: Option<String>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loan_id {
            Some(l) => write!(f, "{} {l}", self.code),
            None => f.write_str(self.code),
        }
    }
}

/// One rule that fired for a borrower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub kind: Kind,
    pub reason: Reason,
    pub earliest: NaiveDate,
    pub deadline: NaiveDate,
    /// The day a ladder step is reached or a promise date falls (lifts the quiet period of
    /// conversations before it).
    pub escalation: Option<NaiveDate>,
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs())).unwrap_or(d)
    }
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    crate::dates::add_months_clamped(d, months, d.day()).unwrap_or(d)
}

/// Months between routine visits for this borrower.
pub fn routine_months(b: &Borrower, policy: &Policy) -> u32 {
    let mut m = policy.visits.months_for(b.grade());
    if b.loans.iter().any(|l| l.restructured_in_observation) {
        m = m.min(policy.visits.restructured_months);
    }
    m
}

/// The day the next routine visit falls due: last visit (or first origination) + months.
pub fn routine_due(b: &Borrower, policy: &Policy, as_of: NaiveDate) -> Option<NaiveDate> {
    let anchor = b
        .last(Some(Kind::Visit), as_of)
        .or_else(|| b.loans.iter().map(|l| l.origination_date).min())?;
    Some(add_months(anchor, routine_months(b, policy)))
}

/// Every need of a borrower whose earliest day is on or before `horizon_end`, except the
/// routine visit (see [`plan`], which spreads late ones). In rule order, then loan order.
pub fn needs(
    b: &Borrower,
    as_of: NaiveDate,
    horizon_end: NaiveDate,
    policy: &Policy,
    ladder: &Ladder,
) -> Vec<Need> {
    let v = &policy.visits;
    let c = &policy.calls;
    let mut out = Vec::new();
    let reason = |code, l: &LoanFacts| Reason {
        code,
        loan_id: Some(l.loan_id.clone()),
    };
    for l in &b.loans {
        // First check after disbursement.
        let deadline = add_days(l.origination_date, i64::from(v.first_check_days));
        if !b.any_in(Some(Kind::Visit), l.origination_date, as_of)
            && as_of <= add_days(deadline, i64::from(v.catch_up_days))
        {
            out.push(Need {
                kind: Kind::Visit,
                reason: reason("first_check", l),
                earliest: l.origination_date,
                deadline,
                escalation: None,
            });
        }
        // The ladder: contact and channel requirements of every step reached by horizon_end.
        if let Some(since) = l.since(as_of) {
            for s in &ladder.steps {
                let reached = add_days(since, i64::from(s.from_dpd) - 1);
                if reached > horizon_end {
                    continue;
                }
                if let Some(n) = s.contact_within_days {
                    if !b.any_in(None, reached, as_of) {
                        out.push(Need {
                            kind: Kind::Call,
                            reason: reason("ladder_contact", l),
                            earliest: reached,
                            deadline: add_days(reached, i64::from(n)),
                            escalation: Some(reached),
                        });
                    }
                }
                let kind = match s.require_channel.as_deref() {
                    Some("visit") => Some(Kind::Visit),
                    Some("phone") => Some(Kind::Call),
                    _ => None,
                };
                if let Some(kind) = kind {
                    if !b.any_in(Some(kind), reached, as_of) {
                        let allowance = s
                            .channel_within_days
                            .unwrap_or(crate::collection::DEFAULT_CHANNEL_ALLOWANCE_DAYS);
                        out.push(Need {
                            kind,
                            reason: reason(
                                if kind == Kind::Visit {
                                    "verify_overdue"
                                } else {
                                    "ladder_contact"
                                },
                                l,
                            ),
                            earliest: reached,
                            deadline: add_days(reached, i64::from(allowance)),
                            escalation: Some(reached),
                        });
                    }
                }
            }
            // Reminder calls while overdue.
            if let Some(last) = b.last(None, as_of).filter(|d| *d >= since) {
                let due = add_days(last, i64::from(c.reminder_every_days));
                if due <= horizon_end {
                    out.push(Need {
                        kind: Kind::Call,
                        reason: reason("reminder", l),
                        earliest: due,
                        deadline: add_days(due, i64::from(c.reminder_within_days)),
                        escalation: None,
                    });
                }
            }
        }
        // A broken promise: a visit, unless one was made after the promise date.
        if let Some(p) = l.last_broken_promise {
            let deadline = add_days(p, i64::from(v.broken_promise_days));
            if !b.any_in(Some(Kind::Visit), add_days(p, 1), as_of)
                && as_of <= add_days(deadline, i64::from(v.catch_up_days))
            {
                out.push(Need {
                    kind: Kind::Visit,
                    reason: reason("broken_promise", l),
                    earliest: add_days(p, 1),
                    deadline,
                    escalation: Some(add_days(p, 1)),
                });
            }
        }
        // Promise dates: a follow-up call.
        for &pd in &l.pending_promises {
            if pd >= as_of && pd <= horizon_end {
                out.push(Need {
                    kind: Kind::Call,
                    reason: reason("promise_followup", l),
                    earliest: pd,
                    deadline: add_days(pd, i64::from(c.promise_followup_days)),
                    escalation: Some(pd),
                });
            }
        }
    }
    out
}

/// The parts of an item's priority; the priority is their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    pub dpd: i64,
    pub balance: i64,
    pub grade: i64,
    pub segment: i64,
    pub promises: i64,
    pub contact: i64,
    pub slack: i64,
    pub rollover: i64,
}

impl Score {
    pub fn total(&self) -> i64 {
        self.dpd
            + self.balance
            + self.grade
            + self.segment
            + self.promises
            + self.contact
            + self.slack
            + self.rollover
    }

    /// `dpd=45 balance=12 …`, every part, in a fixed order.
    pub fn parts(&self) -> String {
        format!(
            "dpd={} balance={} grade={} segment={} promises={} contact={} slack={} rollover={}",
            self.dpd,
            self.balance,
            self.grade,
            self.segment,
            self.promises,
            self.contact,
            self.slack,
            self.rollover
        )
    }
}

/// The score of an item for borrower `b` that is due by `deadline` and can start on `start`.
pub fn score(
    b: &Borrower,
    kind: Kind,
    start: NaiveDate,
    deadline: NaiveDate,
    as_of: NaiveDate,
    w: &policy::Weights,
) -> Score {
    let outstanding: Decimal = b.loans.iter().map(|l| l.outstanding).sum();
    let tenk = (outstanding / Decimal::from(10_000))
        .floor()
        .try_into()
        .unwrap_or(i64::MAX / 4);
    let broken: u32 = b.loans.iter().map(|l| l.broken_promises).sum();
    let since_contact = b
        .last(None, as_of)
        .map_or(i64::MAX / 4, |d| (as_of - d).num_days().max(0));
    let slack = (deadline - start)
        .num_days()
        .clamp(-w.slack_days, w.slack_days);
    let rolled = match kind {
        Kind::Visit => b.rolled_visits,
        Kind::Call => b.rolled_calls,
    };
    let seg = b.segment.unwrap_or(Segment::Unknown);
    Score {
        dpd: w.dpd_per_day * i64::from(b.max_dpd().min(w.dpd_cap)),
        balance: w.balance_per_10k.saturating_mul(tenk).min(w.balance_cap),
        grade: w.grade.get(b.grade().key()).copied().unwrap_or(0),
        segment: w.segment.get(seg.key()).copied().unwrap_or(0),
        promises: w.broken_promise * i64::from(broken.min(w.broken_promise_cap)),
        contact: w
            .since_contact_per_day
            .saturating_mul(since_contact)
            .min(w.since_contact_cap),
        slack: w.slack_per_day * (w.slack_days - slack) + w.slack_per_day * (-slack).max(0),
        rollover: w.rollover * i64::from(rolled.min(w.rollover_cap)),
    }
}

/// Planned on time, planned after its deadline, or not planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Planned,
    Late,
    Unplanned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Late => "late",
            Status::Unplanned => "unplanned",
        }
    }
}

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its borrower's index in [`PlanInput::borrowers`].
    pub borrower: usize,
    /// None when unplanned.
    pub date: Option<NaiveDate>,
    pub officer: String,
    pub kind: Kind,
    pub borrower_id: String,
    pub region: String,
    pub branch: String,
    pub loans: Vec<String>,
    pub reasons: Vec<Reason>,
    pub score: Score,
    pub earliest: NaiveDate,
    pub deadline: NaiveDate,
    pub status: Status,
    /// The rule that held the item back from an earlier day (or from the plan).
    pub held_by: Option<String>,
    /// Hours the contact may be made.
    pub window: String,
    /// Plans in a row in which it was planned and not done (0: new).
    pub rollover: u32,
}

impl Item {
    pub fn reason_text(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What to plan from.
pub struct PlanInput<'a> {
    pub as_of: NaiveDate,
    /// The working days of the horizon, ascending (first may be after as_of).
    pub days: &'a [NaiveDate],
    pub policy: &'a Policy,
    pub ladder: &'a Ladder,
    /// Ordered by borrower_id (the order only matters for speed, never for the result).
    pub borrowers: &'a [Borrower],
}

/// An item being placed.
struct Draft {
    b: usize,
    kind: Kind,
    reasons: Vec<Reason>,
    earliest: NaiveDate,
    deadline: NaiveDate,
    escalation: Option<NaiveDate>,
    score: Score,
}

#[derive(Default)]
struct Load<'a> {
    visits: u32,
    calls: u32,
    area: Option<(&'a str, &'a str)>,
}

/// The borrowers as the needs see them: only the contacts with parties that meet needs
/// (`conduct.meets_needs`; by default the debtor). Only the borrowers with another contact
/// are copied (a vector of views would hold a whole `Borrower` per borrower).
struct NeedsViews<'b> {
    all: &'b [Borrower],
    filtered: HashMap<usize, Borrower>,
}

impl<'b> NeedsViews<'b> {
    fn new(all: &'b [Borrower], policy: &Policy) -> Self {
        let meets = |c: &Contact| policy.conduct.meets_needs(&c.party);
        let filtered = all
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.contacts.iter().all(meets))
            .map(|(i, b)| {
                let mut v = b.clone();
                v.contacts.retain(meets);
                (i, v)
            })
            .collect();
        NeedsViews { all, filtered }
    }

    fn get(&self, i: usize) -> &Borrower {
        self.filtered.get(&i).unwrap_or(&self.all[i])
    }

    fn iter(&self) -> impl Iterator<Item = &Borrower> + '_ {
        (0..self.all.len()).map(|i| self.get(i))
    }
}

/// Plans the horizon. Returns planned and late items by date, officer, kind, priority; then
/// the unplanned ones by officer, deadline, priority. Unplanned items include those whose
/// deadline lies beyond the horizon (the caller may count them as deferred).
pub fn plan(input: &PlanInput<'_>) -> Vec<Item> {
    let days = input.days;
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return Vec::new();
    };
    let as_of = input.as_of;
    let policy = input.policy;
    let bs = input.borrowers;

    // Needs and scores read the contacts that meet the borrower's needs (by party); the
    // conduct limits, in `place`, read every contact.
    let views = NeedsViews::new(bs, policy);
    // Needs per borrower, with late routine visits spread per officer.
    let mut per: Vec<Vec<Need>> = views
        .iter()
        .map(|b| needs(b, as_of, last, policy, input.ladder))
        .collect();
    // Officers and borrowers compared by rank, not by name (see `Ranks`).
    let ranks = Ranks::of(bs);
    let mut late_routine: Vec<Vec<(NaiveDate, u32, usize)>> = vec![Vec::new(); ranks.officers];
    for (i, b) in views.iter().enumerate() {
        let Some(due) = routine_due(b, policy, as_of) else {
            continue;
        };
        if due <= as_of {
            late_routine[ranks.officer[i] as usize].push((due, ranks.borrower[i], i));
        } else {
            let earliest = add_days(due, -i64::from(policy.visits.window_days));
            if earliest <= last {
                per[i].push(Need {
                    kind: Kind::Visit,
                    reason: Reason {
                        code: "routine",
                        loan_id: None,
                    },
                    earliest,
                    deadline: due,
                    escalation: None,
                });
            }
        }
    }
    let spread = i64::from(policy.visits.catch_up_days);
    for list in &mut late_routine {
        list.sort();
        let n = list.len() as i64;
        for (k, &(_, _, i)) in list.iter().enumerate() {
            // Evenly over (as_of, as_of + catch_up_days]: the k-th of n is due on day ⌈(k+1)·D/n⌉.
            let offset = ((k as i64 + 1) * spread + n - 1) / n;
            per[i].push(Need {
                kind: Kind::Visit,
                reason: Reason {
                    code: "routine",
                    loan_id: None,
                },
                earliest: as_of,
                deadline: add_days(as_of, offset),
                escalation: None,
            });
        }
    }

    drop(late_routine);
    let mut placed = Placed {
        loads: Vec::new(),
        contact_days: vec![Vec::new(); bs.len()],
        call_days: HashSet::new(),
        night_window: conduct::window(&policy.conduct, None),
    };
    placed
        .loads
        .resize_with(ranks.officers * days.len(), Load::default);
    let mut items: Vec<Item> = Vec::new();

    // Visits: one per borrower.
    let mut drafts: Vec<Draft> = Vec::new();
    for (i, ns) in per.iter().enumerate() {
        let vs: Vec<&Need> = ns.iter().filter(|n| n.kind == Kind::Visit).collect();
        if vs.is_empty() {
            continue;
        }
        let earliest = vs.iter().map(|n| n.earliest).min().unwrap_or(first);
        let deadline = vs.iter().map(|n| n.deadline).min().unwrap_or(last);
        drafts.push(draft(
            views.get(i),
            i,
            Kind::Visit,
            &vs,
            earliest,
            deadline,
            first,
            input,
        ));
    }
    sort_drafts(&mut drafts, &ranks);
    let mut visit_days: Vec<(usize, usize, Option<NaiveDate>)> = Vec::new();
    items.reserve_exact(drafts.len());
    // Each draft is spent on its item: at a million loans every step's leftovers count.
    for d in drafts {
        let (b, escalation) = (d.b, d.escalation);
        let item = place(d, input, &ranks, &mut placed);
        if let Some(date) = item.date {
            let di = days.iter().position(|x| *x == date).unwrap_or(0);
            visit_days.push((b, di, escalation));
        }
        items.push(item);
    }

    // Calls: the call before each planned visit, then merge per borrower.
    if policy.calls.call_before_visit {
        for &(b, di, esc) in &visit_days {
            let day = days[di];
            let before = if di > 0 { days[di - 1] } else { day };
            per[b].push(Need {
                kind: Kind::Call,
                reason: Reason {
                    code: "before_visit",
                    loan_id: None,
                },
                earliest: before.max(first),
                deadline: day,
                escalation: esc.or(Some(before)),
            });
        }
    }
    let mut drafts: Vec<Draft> = Vec::new();
    for (i, ns) in per.iter().enumerate() {
        let mut cs: Vec<&Need> = ns.iter().filter(|n| n.kind == Kind::Call).collect();
        if cs.is_empty() {
            continue;
        }
        let eff = |n: &Need| n.earliest.max(first);
        cs.sort_by(|a, b| {
            eff(a)
                .cmp(&eff(b))
                .then(a.deadline.cmp(&b.deadline))
                .then(a.reason.cmp(&b.reason))
        });
        // Calls whose windows overlap become one call: (needs, earliest, deadline) per call.
        let mut groups: Vec<(Vec<&Need>, NaiveDate, NaiveDate)> = Vec::new();
        for n in cs {
            match groups.last_mut() {
                Some((g, e, dl)) if eff(n) <= (*dl).max(first) => {
                    *e = (*e).max(eff(n));
                    *dl = (*dl).min(n.deadline);
                    g.push(n);
                }
                _ => groups.push((vec![n], eff(n), n.deadline)),
            }
        }
        for (group, e, dl) in groups {
            drafts.push(draft(
                views.get(i),
                i,
                Kind::Call,
                &group,
                e,
                dl,
                first,
                input,
            ));
        }
    }
    drop(per);
    drop(views);
    sort_drafts(&mut drafts, &ranks);
    items.reserve_exact(drafts.len());
    for d in drafts {
        let item = place(d, input, &ranks, &mut placed);
        items.push(item);
    }
    drop(placed);

    // The plan order as a compact key per item (the item's own index last, so an unstable
    // sort keeps the order of equal items), then the items moved into place: a stable sort
    // of the items themselves would take a scratch copy of half of them.
    let mut keys: Vec<(PlanOrder, u32)> = items
        .iter()
        .enumerate()
        .map(|(k, i)| (PlanOrder::of(i, &ranks), k as u32))
        .collect();
    keys.sort_unstable();
    let mut order: Vec<usize> = keys.into_iter().map(|(_, k)| k as usize).collect();
    permute(&mut items, &mut order);
    items
}

/// Where an item goes in the plan: planned and late ones by date, officer, kind; unplanned
/// ones by officer, deadline, kind; then by priority (highest first), deadline, borrower_id
/// and earliest day. Officers and borrowers by rank ([`Ranks`]), ordered as their names.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct PlanOrder {
    unplanned: bool,
    date: Option<NaiveDate>,
    officer: u32,
    unplanned_deadline: Option<NaiveDate>,
    kind: Kind,
    priority: std::cmp::Reverse<i64>,
    deadline: NaiveDate,
    borrower: u32,
    earliest: NaiveDate,
}

impl PlanOrder {
    fn of(i: &Item, ranks: &Ranks) -> Self {
        PlanOrder {
            unplanned: i.date.is_none(),
            date: i.date,
            officer: ranks.officer[i.borrower],
            unplanned_deadline: i.date.is_none().then_some(i.deadline),
            kind: i.kind,
            priority: std::cmp::Reverse(i.score.total()),
            deadline: i.deadline,
            borrower: ranks.borrower[i.borrower],
            earliest: i.earliest,
        }
    }
}

/// Each borrower's officer and borrower_id as a rank among all of them (equal names, equal
/// ranks; the order of the ranks is the order of the names): the sorts and the officers' day
/// loads compare and index numbers rather than strings.
struct Ranks {
    officer: Vec<u32>,
    /// How many officers.
    officers: usize,
    borrower: Vec<u32>,
}

impl Ranks {
    fn of(bs: &[Borrower]) -> Self {
        // Officers: a few names, met in any order.
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let first: Vec<u32> = bs
            .iter()
            .map(|b| {
                let n = seen.len() as u32;
                *seen.entry(b.officer.as_str()).or_insert(n)
            })
            .collect();
        let mut names: Vec<(&str, u32)> = seen.into_iter().collect();
        names.sort_unstable();
        let mut rank = vec![0u32; names.len()];
        for (r, &(_, k)) in names.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        let officer = first.into_iter().map(|k| rank[k as usize]).collect();
        // Borrowers: one each, usually given in borrower_id order already (a stable sort of
        // a sorted run is one pass).
        let mut order: Vec<u32> = (0..bs.len() as u32).collect();
        order.sort_by(|&x, &y| bs[x as usize].borrower_id.cmp(&bs[y as usize].borrower_id));
        let mut borrower = vec![0u32; bs.len()];
        let mut r = 0u32;
        for k in 1..order.len() {
            let (prev, this) = (order[k - 1] as usize, order[k] as usize);
            if bs[this].borrower_id != bs[prev].borrower_id {
                r += 1;
            }
            borrower[this] = r;
        }
        Ranks {
            officer,
            officers: names.len(),
            borrower,
        }
    }
}

/// Puts `v[order[i]]` at `i` for every `i`, by swaps along the permutation's cycles (`order`
/// is spent: each entry is set to its own index once its place is filled).
fn permute<T>(v: &mut [T], order: &mut [usize]) {
    for start in 0..order.len() {
        let mut j = start;
        while order[j] != j {
            let k = order[j];
            order[j] = j;
            if k == start {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn draft(
    b: &Borrower,
    i: usize,
    kind: Kind,
    ns: &[&Need],
    earliest: NaiveDate,
    deadline: NaiveDate,
    first: NaiveDate,
    input: &PlanInput<'_>,
) -> Draft {
    let mut reasons: Vec<Reason> = ns.iter().map(|n| n.reason.clone()).collect();
    reasons.sort();
    reasons.dedup();
    Draft {
        b: i,
        kind,
        reasons,
        earliest,
        deadline,
        escalation: ns.iter().filter_map(|n| n.escalation).max(),
        score: score(
            b,
            kind,
            earliest.max(first),
            deadline,
            input.as_of,
            &input.policy.priority,
        ),
    }
}

fn sort_drafts(drafts: &mut [Draft], ranks: &Ranks) {
    drafts.sort_by(|a, b| {
        b.score
            .total()
            .cmp(&a.score.total())
            .then(a.deadline.cmp(&b.deadline))
            .then(ranks.borrower[a.b].cmp(&ranks.borrower[b.b]))
            .then(a.kind.cmp(&b.kind))
            .then(a.earliest.cmp(&b.earliest))
    });
}

/// What is placed so far: each officer's load per day (at `officer rank × days + day`), each
/// borrower's contact days and (borrower, day) calls.
struct Placed<'a> {
    loads: Vec<Load<'a>>,
    contact_days: Vec<Vec<NaiveDate>>,
    call_days: HashSet<(usize, usize)>,
    /// The contact window of a borrower without consent (outside the night hours).
    night_window: String,
}

fn place<'a>(d: Draft, input: &PlanInput<'a>, ranks: &Ranks, placed: &mut Placed<'a>) -> Item {
    let b: &'a Borrower = &input.borrowers[d.b];
    let days = input.days;
    let policy = input.policy;
    let loads = &mut placed.loads[ranks.officer[d.b] as usize * days.len()..][..days.len()];
    let (contact_days, call_days) = (&mut placed.contact_days, &mut placed.call_days);
    let mut held: Option<&'static str> = None;
    let mut fallback: Option<usize> = None;
    let mut chosen: Option<usize> = None;
    let start = days.partition_point(|x| *x < d.earliest);
    for (i, &day) in days.iter().enumerate().skip(start) {
        let late = day > d.deadline;
        if late && fallback.is_some() {
            break;
        }
        let load = &loads[i];
        let (v, c) = (load.visits, load.calls);
        let full = match d.kind {
            Kind::Visit => v >= policy.capacity.visits_per_day,
            Kind::Call => c >= policy.capacity.calls_per_day,
        };
        if full {
            held.get_or_insert(match d.kind {
                Kind::Visit => "visits_per_day",
                Kind::Call => "calls_per_day",
            });
            continue;
        }
        if d.kind == Kind::Call && call_days.contains(&(d.b, i)) {
            held.get_or_insert("one_call_per_day");
            continue;
        }
        if let Err(rule) = conduct::check(
            &policy.conduct,
            &b.contacts,
            &contact_days[d.b],
            day,
            d.kind,
            d.escalation,
        ) {
            held.get_or_insert(rule.key());
            continue;
        }
        if d.kind == Kind::Visit && !late {
            if let Some(area) = load.area {
                if area != b.area() {
                    fallback.get_or_insert(i);
                    continue;
                }
            }
        }
        chosen = Some(i);
        break;
    }
    let chosen = chosen.or(fallback);
    if let Some(i) = chosen {
        let l = &mut loads[i];
        match d.kind {
            Kind::Visit => {
                l.visits += 1;
                l.area.get_or_insert(b.area());
            }
            Kind::Call => {
                l.calls += 1;
                call_days.insert((d.b, i));
            }
        }
        contact_days[d.b].push(days[i]);
    }
    let date = chosen.map(|i| days[i]);
    let status = match date {
        None => Status::Unplanned,
        Some(x) if x > d.deadline => Status::Late,
        Some(_) => Status::Planned,
    };
    let mut loans: Vec<String> = b.loans.iter().map(|l| l.loan_id.clone()).collect();
    loans.sort();
    // A hold matters when the item did not go on its first possible day.
    let first_possible = days.get(start).copied();
    let held_by = match date {
        Some(x) if Some(x) == first_possible => None,
        Some(_) => held.map(str::to_string),
        None => Some(held.unwrap_or("horizon").to_string()),
    };
    Item {
        borrower: d.b,
        date,
        officer: b.officer.clone(),
        kind: d.kind,
        borrower_id: b.borrower_id.clone(),
        region: b.region.clone(),
        branch: b.branch.clone(),
        loans,
        reasons: d.reasons,
        score: d.score,
        earliest: d.earliest,
        deadline: d.deadline,
        status,
        held_by,
        window: match b.consent_window {
            None => placed.night_window.clone(),
            w => conduct::window(&policy.conduct, w),
        },
        rollover: match d.kind {
            Kind::Visit => b.rolled_visits,
            Kind::Call => b.rolled_calls,
        },
    }
}

/// What became of a planned item, judged from the contacts logged after its plan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not due yet and not done.
    Open,
    /// Done by its deadline or planned day, on that day.
    Done(NaiveDate),
    /// Done after both its deadline and its planned day.
    Late(NaiveDate),
    /// Its planned day (or, unplanned, its deadline) passed with nothing logged.
    Missed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Done(_) => "done",
            Outcome::Late(_) => "late",
            Outcome::Missed => "missed",
        }
    }
}

/// Closes an item of a plan made on `plan_as_of`: the first matching contact (a visit for a
/// visit, a phone call for a call) logged on or after `plan_as_of` and on or before `now`. It
/// is on time when made by the deadline or by the day it was planned for (an item planned late
/// and done as planned was done); later, it is late.
pub fn close(
    kind: Kind,
    date: Option<NaiveDate>,
    deadline: NaiveDate,
    plan_as_of: NaiveDate,
    log: &[Contact],
    now: NaiveDate,
) -> Outcome {
    let done = log
        .iter()
        .filter(|c| c.matches(kind) && c.date >= plan_as_of && c.date <= now)
        .map(|c| c.date)
        .min();
    let due = date.map_or(deadline, |d| d.max(deadline));
    match done {
        Some(x) if x <= due => Outcome::Done(x),
        Some(x) => Outcome::Late(x),
        None if date.unwrap_or(deadline) < now => Outcome::Missed,
        None => Outcome::Open,
    }
}

#[cfg(test)]
mod tests;
