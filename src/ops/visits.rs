//! The `schedule-visits` op: one consumer of the portfolio stream ([`portfolio::scan`]) that
//! groups the open loans of one date by borrower (positions, promises and the follow-up log
//! with its conduct columns), then closes the items of earlier plans against what was logged
//! since, plans the working days ([`visits::plan`]), and saves the plan in one transaction.
//!
//! Grades and segments come from a saved `classify` run for the date when there is one
//! (`classify --save`); otherwise the grade is the DPD rule of the built-in cn2023 rule set and
//! the segment is computed from the follow-ups and payments by the classify segment rules, as
//! `classify` computes it. The rule set is the request's (`--rules`, the profile's, as
//! `classify` takes it). A loan is in observation when `classify` would say so under that rule
//! set ([`eval::observation`]: from the latest restructure in force for the rule set's
//! `min_periods` and `min_months`, restarted at a miss); never under a rule set without a
//! `[restructure]` rule.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::{NaiveDate, NaiveTime};
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::classify::rules::RuleSet;
use crate::classify::{eval, segment as cseg, FollowupSummary, InstallmentRecord, Restructure};
use crate::collection::{self, Ladder, Party, PromiseState};
use crate::context::Ctx;
use crate::db::{self, grades, visits as store};
use crate::engine;
use crate::ops::portfolio::{self, Consumer, LoanAssessment, Setup};
use crate::profile;
use crate::restructure;
use crate::visits::{
    self, Borrower, Contact, Detail, Grade, Item, Kind, LoanFacts, Outcome, PlanInput, Policy,
    Segment, Status,
};

/// Which items a listing shows: the borrowers of one officer, branch or region (their largest
/// loan's). The plan itself is always made and saved for the whole book.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub officer: Option<String>,
    pub branch: Option<String>,
    pub region: Option<String>,
}

impl Filters {
    pub fn admit(&self, i: &Item) -> bool {
        self.admits(&i.officer, &i.branch, &i.region)
    }

    fn admits(&self, officer: &str, branch: &str, region: &str) -> bool {
        self.officer.as_deref().is_none_or(|x| x == officer)
            && self.branch.as_deref().is_none_or(|x| x == branch)
            && self.region.as_deref().is_none_or(|x| x == region)
    }

    /// For each filter no borrower matches: "no borrower has officer 'x' (did you mean …?)".
    pub fn unmatched(&self, book: &Book) -> Vec<String> {
        if self.officer.is_none() && self.branch.is_none() && self.region.is_none() {
            return Vec::new();
        }
        let as_overdue = crate::ops::overdue::Filters {
            officer: self.officer.clone(),
            branch: self.branch.clone(),
            region: self.region.clone(),
            ..Default::default()
        };
        let mut seen = crate::ops::overdue::Seen::default();
        for b in &book.borrowers {
            seen.officers.insert(b.officer.clone());
            seen.branches.insert(b.branch.clone());
            seen.regions.insert(b.region.clone());
        }
        seen.unmatched(&as_overdue)
            .into_iter()
            .map(|l| l.replacen("no loan has", "no borrower has", 1))
            .collect()
    }
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct Request {
    pub as_of: NaiveDate,
    /// The working days of the plan, ascending, not empty.
    pub days: Vec<NaiveDate>,
    pub policy: Policy,
    /// The policy as written (saved with the plan).
    pub policy_text: String,
    /// The conventions and the ladder (`dates` holds the as-of date alone).
    pub setup: Setup,
    /// The classification rule set: its restructure observation always; its DPD rules grade a
    /// loan and its segment rules segment a borrower when no `classify` run is saved for the date.
    pub rules: RuleSet,
    /// Plan and roll back.
    pub dry_run: bool,
}

/// Where the grades and segments came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grading {
    /// A `classify --save` run for the date.
    Saved,
    /// The DPD rules and segment rules of the request's rule set.
    Computed,
}

/// What the op made.
pub struct Planned {
    pub book: Book,
    /// The items listed and saved, in plan order: planned, late, and unplanned items due
    /// within the horizon.
    items: Vec<Item>,
    /// The unplanned items with a deadline after the horizon, deferred to a later plan: only
    /// counted, by (officer, branch, region) (at a million loans they are ~100k items).
    deferred: BTreeMap<(String, String, String), u64>,
    pub closed: Closed,
    pub grading: Grading,
}

impl Planned {
    pub fn listed(&self) -> &[Item] {
        &self.items
    }
}

/// Plans the days of `req` for the whole book and saves the plan (unless a dry run).
pub fn run(ctx: &Ctx, req: &Request) -> Result<Planned> {
    let conn = db::open(&ctx.db, db::Mode::Write, ctx.busy_timeout)?;
    let tx = db::begin_shared(&conn)?;
    let rules = &req.rules;
    let saved = grades::saved_segments(&conn, req.as_of)?.map(|run| {
        let by = &run.rules;
        if *by != rules.name {
            ctx.note(&format!(
                "schedule-visits: the grades are the saved classify run of {} under rule set {by}; \
                 restructure observation is counted under {} (--rules {by} to match)",
                req.as_of, rules.name
            ));
        }
        // Grades and segments come from that run: say so once when it counted another way.
        let recorded = [(req.as_of, run.conventions)];
        let active = req.setup.conventions_json();
        profile::note_other_conventions(ctx, "schedule-visits", "grades", &recorded, &active);
        run.by_loan
    });
    let t0 = std::time::Instant::now();
    let lap = |what: &str| {
        ctx.debug(&format!(
            "schedule-visits: {what} at {:.2} s",
            t0.elapsed().as_secs_f64()
        ))
    };
    let collected = portfolio::scan(ctx, &req.setup, |_| Collect::new(rules, saved.as_ref()))?;
    lap("book scanned");
    let grading = if saved.is_some() {
        Grading::Saved
    } else {
        Grading::Computed
    };
    let mut book = collected.into_book(rules, grading);
    lap("borrowers grouped");
    let closed = close_and_roll(&conn, req.as_of, &mut book)?;
    lap("earlier plans closed");
    let mut items = plan(&book, req.as_of, &req.days, &req.policy, &req.setup.ladder);
    lap("planned");
    // Unplanned items whose deadline lies after the horizon are deferred to a later plan:
    // moved after the listed ones, each part in plan order (in place but for the deferred).
    let last = req.days[req.days.len() - 1];
    let mut deferred: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    items.retain(|i| {
        let listed = i.date.is_some() || i.deadline <= last;
        if !listed {
            let area = (i.officer.clone(), i.branch.clone(), i.region.clone());
            *deferred.entry(area).or_default() += 1;
        }
        listed
    });
    save(&conn, req.as_of, &req.days, &req.policy_text, &items)?;
    if req.dry_run {
        tx.rollback()?;
    } else {
        tx.commit().context("committing the visit plan")?;
    }
    lap("saved");
    Ok(Planned {
        book,
        items,
        deferred,
        closed,
        grading,
    })
}

/// The stderr summary, one line per officer of the listed items: visits and calls planned,
/// unplanned, deadlines missed (late or unplanned), deferred to a later plan.
pub fn officer_lines(out: &Planned, filters: &Filters) -> Vec<String> {
    let mut per: BTreeMap<&str, [u64; 5]> = BTreeMap::new();
    for i in out.listed().iter().filter(|i| filters.admit(i)) {
        let e = per.entry(i.officer.as_str()).or_default();
        match (i.status, i.kind) {
            (Status::Unplanned, _) => e[2] += 1,
            (_, Kind::Visit) => e[0] += 1,
            (_, Kind::Call) => e[1] += 1,
        }
        if i.status != Status::Planned {
            e[3] += 1;
        }
    }
    for ((officer, branch, region), n) in &out.deferred {
        if filters.admits(officer, branch, region) {
            per.entry(officer.as_str()).or_default()[4] += n;
        }
    }
    per.into_iter()
        .map(|(officer, [v, c, u, missed, def])| {
            let who = if officer.is_empty() { "(no officer)" } else { officer };
            format!(
                "schedule-visits {who}: {v} visits and {c} calls planned, {u} unplanned, {missed} deadlines missed, {def} deferred"
            )
        })
        .collect()
}

/// `HH:MM-HH:MM` (also with `–`, `~`, `～` or `至`); None when it is not a window.
pub fn parse_window(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let s = s.trim();
    let (a, b) = ['-', '–', '~', '～', '至']
        .iter()
        .find_map(|sep| s.split_once(*sep))?;
    let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").ok();
    Some((t(a)?, t(b)?))
}

/// True when the loan is in a restructure observation on `as_of` as `classify` counts it under
/// `rules` ([`eval::observation`] over the replayed installments and the restructures in force);
/// never under a rule set without a `[restructure]` rule.
fn in_observation(
    rules: &RuleSet,
    versions: &[restructure::replay::VersionFacts],
    installments: &[engine::InstallmentState],
    as_of: NaiveDate,
) -> bool {
    let Some(rule) = &rules.restructure else {
        return false;
    };
    if versions.is_empty() {
        return false;
    }
    let restructures: Vec<Restructure> = versions
        .iter()
        .map(|v| Restructure {
            effective_date: v.effective,
            kind: String::new(),
        })
        .collect();
    let inst: Vec<InstallmentRecord> = installments.iter().map(Into::into).collect();
    eval::observation(rule, &inst, &restructures, as_of).is_some()
}

/// The book read for planning.
pub struct Book {
    /// Sorted by borrower_id.
    pub borrowers: Vec<Borrower>,
    /// The day-sheet details of `borrowers[i]`, at the same index.
    details: Vec<Detail>,
    /// Some loan has a follow-up logged.
    pub followups: bool,
}

impl Book {
    /// Where the borrower is in `borrowers` (sorted by borrower_id: no index to hold).
    fn position(&self, id: &str) -> Option<usize> {
        self.borrowers
            .binary_search_by(|b| b.borrower_id.as_str().cmp(id))
            .ok()
    }

    pub fn borrower(&self, id: &str) -> Option<&Borrower> {
        self.position(id).map(|i| &self.borrowers[i])
    }

    /// The borrower at index `i` of `borrowers` (an item's [`Item::borrower`]) and its details.
    pub fn at(&self, i: usize) -> (&Borrower, &Detail) {
        (&self.borrowers[i], &self.details[i])
    }
}

/// One borrower being gathered (its loans may lie in several key ranges of the scan).
struct Gathered {
    b: Borrower,
    d: Detail,
    /// Outstanding principal of the loan whose officer/region/branch the borrower takes.
    largest: Decimal,
    /// The classify segment inputs of the loans.
    summary: FollowupSummary,
    overdue: bool,
    /// (contact date, window) of the latest consent logged.
    consent: Option<(NaiveDate, (NaiveTime, NaiveTime))>,
    saved_segment: Option<Segment>,
}

impl Gathered {
    /// Takes in the same borrower's loans met later (in a later loan or key range); `o` is
    /// left empty.
    fn absorb(&mut self, o: &mut Gathered) {
        // Later key ranges hold later loan_ids: ties keep the earlier loan.
        if o.largest > self.largest {
            self.largest = o.largest;
            self.b.officer = std::mem::take(&mut o.b.officer);
            self.b.region = std::mem::take(&mut o.b.region);
            self.b.branch = std::mem::take(&mut o.b.branch);
        }
        self.b.loans.append(&mut o.b.loans);
        self.b.contacts.append(&mut o.b.contacts);
        self.d.overdue_amount += o.d.overdue_amount;
        self.d.outstanding += o.d.outstanding;
        self.d.max_dpd = self.d.max_dpd.max(o.d.max_dpd);
        if let Some(lc) = o.d.last_contact.take() {
            if self
                .d
                .last_contact
                .as_ref()
                .is_none_or(|(d, _, _)| lc.0 >= *d)
            {
                self.d.last_contact = Some(lc);
            }
        }
        self.d.promises.append(&mut o.d.promises);
        self.summary.add(&o.summary);
        self.overdue |= o.overdue;
        if let Some(c) = o.consent {
            if self.consent.is_none_or(|x| c.0 >= x.0) {
                self.consent = Some(c);
            }
        }
        self.saved_segment = self.saved_segment.or(o.saved_segment);
    }

    /// Puts the borrower's lists in order: contacts (the same contact logged against several
    /// loans of the borrower counts once), loans by loan_id, promises.
    fn settle(&mut self) {
        self.b.contacts.sort_by(|x, y| {
            (x.date, x.time, &x.channel, x.connected, &x.party).cmp(&(
                y.date,
                y.time,
                &y.channel,
                y.connected,
                &y.party,
            ))
        });
        self.b.contacts.dedup();
        self.b.loans.sort_by(|x, y| x.loan_id.cmp(&y.loan_id));
        self.d.promises.sort();
        self.d.promises.dedup();
    }

    /// borrower_id, then the first loan_id (settled): a borrower's entries from several key
    /// ranges in key-range order.
    fn key(&self) -> (&str, Option<&str>) {
        (
            self.b.borrower_id.as_str(),
            self.b.loans.first().map(|l| l.loan_id.as_str()),
        )
    }
}

/// The consumer of one key range: open loans grouped by borrower. The borrowers lie in one
/// vector (in the order first met) with an index by borrower_id, not in a map of nodes: at a
/// million loans the book is held once. The range's borrowers are settled and the index let go
/// (`finish`), the ranges' vectors are concatenated (`merge`), and `into_book` sorts the whole
/// in place and gathers a borrower met in several ranges into one.
struct Collect<'a> {
    rules: &'a RuleSet,
    saved: Option<&'a HashMap<String, (Grade, Segment)>>,
    by: HashMap<String, usize>,
    gathered: Vec<Gathered>,
    followups: bool,
}

impl<'a> Collect<'a> {
    fn new(rules: &'a RuleSet, saved: Option<&'a HashMap<String, (Grade, Segment)>>) -> Self {
        Collect {
            rules,
            saved,
            by: HashMap::new(),
            gathered: Vec::new(),
            followups: false,
        }
    }

    /// Adds a borrower's loans met here, or a borrower first met here.
    fn add(&mut self, g: Gathered) {
        match self.by.get(&g.b.borrower_id) {
            Some(&i) => self.gathered[i].absorb(&mut { g }),
            None => {
                self.by.insert(g.b.borrower_id.clone(), self.gathered.len());
                self.gathered.push(g);
            }
        }
    }

    fn into_book(self, rules: &RuleSet, grading: Grading) -> Book {
        let Collect {
            by,
            mut gathered,
            followups,
            ..
        } = self;
        drop(by);
        // Unique keys: the unstable sort keeps a borrower's entries in key-range order.
        gathered.sort_unstable_by(|x, y| x.key().cmp(&y.key()));
        gathered.dedup_by(|later, earlier| {
            if later.b.borrower_id != earlier.b.borrower_id {
                return false;
            }
            earlier.absorb(later);
            earlier.settle();
            true
        });
        for g in &mut gathered {
            g.b.consent_window = g.consent.map(|c| c.1);
            g.b.segment = Some(match grading {
                Grading::Saved => g.saved_segment.unwrap_or(Segment::Unknown),
                Grading::Computed => cseg::segment(&rules.segment, &g.summary, g.overdue),
            });
        }
        let details = gathered
            .iter_mut()
            .map(|g| std::mem::take(&mut g.d))
            .collect();
        // Collected in place: the borrowers take the gathered vector's memory.
        let borrowers = gathered.into_iter().map(|g| g.b).collect();
        Book {
            borrowers,
            details,
            followups,
        }
    }
}

impl Consumer for Collect<'_> {
    /// The installments' statuses only where [`in_observation`] reads them: a restructured loan
    /// under a rule set with a `[restructure]` rule (the other loans need the figures alone).
    fn loan_detail(&self, loan: &db::book::LoanBook) -> engine::Detail {
        if self.rules.restructure.is_some() && !loan.versions.is_empty() {
            engine::Detail::Installments
        } else {
            engine::Detail::Figures
        }
    }

    fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
        let Some(x) = a.dates.first() else {
            return Ok(());
        };
        let (b, p) = (a.book, &x.position);
        if p.closed {
            return Ok(());
        }
        let as_of = p.as_of;
        self.followups |= !b.followups.is_empty();
        let pays = engine::payments_in_force(&b.payments, as_of);
        let promises = if b.followups.is_empty() {
            Vec::new()
        } else {
            collection::promises(&b.followups, &pays, as_of)
        };
        let saved = self.saved.and_then(|s| s.get(&b.info.loan_id)).copied();
        let grade = match saved {
            Some((g, _)) => g,
            None => self.rules.dpd_rule(p.dpd).map_or(Grade::Pass, |r| r.grade),
        };
        // Classify's segment inputs, as `classify` computes them per loan.
        let summary = if self.saved.is_none() {
            cseg::summarize(
                &self.rules.segment,
                &b.followups,
                &pays,
                p.overdue_since,
                as_of,
            )
        } else {
            FollowupSummary::default()
        };
        let facts = LoanFacts {
            loan_id: b.info.loan_id.clone(),
            origination_date: b.info.origination_date.unwrap_or(as_of),
            dpd: p.dpd,
            overdue_since: p.overdue_since,
            outstanding: p.outstanding_principal,
            overdue_amount: p.overdue_principal + p.overdue_interest + p.overdue_fee,
            grade,
            restructured_in_observation: in_observation(
                self.rules,
                &b.versions,
                &p.installments,
                as_of,
            ),
            broken_promises: x.promises.broken,
            last_broken_promise: x.promises.last_broken,
            pending_promises: promises
                .iter()
                .filter(|x| x.state == PromiseState::Pending)
                .map(|x| x.promise_date)
                .collect(),
        };
        let mut g = Gathered {
            b: Borrower {
                borrower_id: b.info.borrower_id.clone(),
                officer: b.info.officer.clone(),
                region: b.info.region.clone(),
                branch: b.info.branch.clone(),
                segment: None,
                loans: Vec::new(),
                contacts: Vec::with_capacity(b.followups.len()),
                consent_window: None,
                rolled_visits: 0,
                rolled_calls: 0,
            },
            d: Detail {
                name: b.info.borrower_name.clone(),
                phone: b.info.phone.clone(),
                overdue_amount: facts.overdue_amount,
                outstanding: facts.outstanding,
                max_dpd: facts.dpd,
                ..Detail::default()
            },
            largest: facts.outstanding,
            summary,
            overdue: p.dpd > 0,
            consent: None,
            saved_segment: saved.map(|(_, s)| s),
        };
        for (k, f) in b.followups.iter().enumerate() {
            if f.contact_date > as_of {
                continue;
            }
            let detail = b.followup_details.get(k).cloned().unwrap_or_default();
            let channel = f.channel.as_str().to_string();
            let outcome = f.outcome.as_str().to_string();
            if g.d
                .last_contact
                .as_ref()
                .is_none_or(|(d, _, _)| f.contact_date >= *d)
            {
                g.d.last_contact = Some((f.contact_date, channel.clone(), outcome.clone()));
            }
            if let Some(w) = detail.consent_window.as_deref().and_then(parse_window) {
                if g.consent.is_none_or(|c| f.contact_date >= c.0) {
                    g.consent = Some((f.contact_date, w));
                }
            }
            g.b.contacts.push(Contact {
                date: f.contact_date,
                time: detail.time,
                connected: detail
                    .connected
                    .unwrap_or(f.outcome != collection::Outcome::NoAnswer),
                channel,
                party: match detail.party {
                    None | Some(Party::Debtor) => String::new(),
                    Some(p) => p.as_str().to_string(),
                },
            });
        }
        g.d.promises.reserve_exact(promises.len());
        for x in &promises {
            g.d.promises.push((
                x.contact_date,
                x.promise_date,
                x.promise_amount,
                x.state.as_str(),
            ));
        }
        // One loan for most borrowers: no room for more until a second one comes.
        g.b.loans = vec![facts];
        self.add(g);
        Ok(())
    }

    /// In the worker's thread: each borrower's lists put in order and the index let go, so
    /// that merging the ranges is a concatenation.
    fn finish(&mut self) -> Result<()> {
        self.by = HashMap::new();
        for g in &mut self.gathered {
            g.settle();
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        self.followups |= later.followups;
        self.gathered.extend(later.gathered);
    }
}

/// Counts of what became of earlier plans' items this run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Closed {
    pub done: u64,
    pub late: u64,
    pub missed: u64,
}

/// Closes the open items of plans made before `as_of` against the contacts logged since, and
/// marks the borrowers whose items of the latest earlier plan were missed (roll-over).
pub fn close_and_roll(c: &Connection, as_of: NaiveDate, book: &mut Book) -> Result<Closed> {
    let mut closed = Closed::default();
    for it in store::open_items_before(c, as_of)? {
        let kind = Kind::parse(&it.kind).unwrap_or(Kind::Call);
        let log: &[Contact] = book
            .borrower(it.borrower_id.as_str())
            .map_or(&[], |b| &b.contacts);
        let outcome = visits::close(kind, it.date, it.deadline, it.plan_as_of, log, as_of);
        let done_on = match outcome {
            Outcome::Open => continue,
            Outcome::Done(d) => {
                closed.done += 1;
                Some(d)
            }
            Outcome::Late(d) => {
                closed.late += 1;
                Some(d)
            }
            Outcome::Missed => {
                closed.missed += 1;
                None
            }
        };
        store::set_outcome(c, it.plan_as_of, it.seq, outcome.as_str(), done_on)?;
    }
    if let Some(prev) = store::latest_plan_before(c, as_of)? {
        for (id, kind, rollover) in store::missed_items(c, prev)? {
            if let Some(i) = book.position(id.as_str()) {
                let b = &mut book.borrowers[i];
                match Kind::parse(&kind) {
                    Some(Kind::Visit) => b.rolled_visits = rollover + 1,
                    Some(Kind::Call) => b.rolled_calls = rollover + 1,
                    None => {}
                }
            }
        }
    }
    Ok(closed)
}

/// Plans the days for the book.
pub fn plan(
    book: &Book,
    as_of: NaiveDate,
    days: &[NaiveDate],
    policy: &Policy,
    ladder: &Ladder,
) -> Vec<Item> {
    visits::plan(&PlanInput {
        as_of,
        days,
        policy,
        ladder,
        borrowers: &book.borrowers,
    })
}

/// Replaces the plan of `as_of` with `items`.
pub fn save(
    c: &Connection,
    as_of: NaiveDate,
    days: &[NaiveDate],
    policy_text: &str,
    items: &[Item],
) -> Result<()> {
    store::clear_plan(c, as_of)?;
    let (Some(&first_day), Some(&last_day)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let saved = items.iter().enumerate().map(|(k, i)| store::SavedItem {
        seq: k as u32 + 1,
        date: i.date,
        officer: &i.officer,
        kind: i.kind,
        borrower_id: &i.borrower_id,
        loans: i.loans.join(","),
        reason: i.reason_text(),
        priority: i.score.total(),
        score_parts: i.score.parts(),
        earliest: i.earliest,
        deadline: i.deadline,
        status: i.status,
        held_by: i.held_by.as_deref(),
        rollover: i.rollover,
    });
    let planned = items.iter().filter(|i| i.date.is_some()).count() as u64;
    store::save_plan(
        c,
        &store::PlanRun {
            as_of,
            first_day,
            last_day,
            policy: policy_text,
            planned,
            unplanned: items.len() as u64 - planned,
        },
        saved,
    )
    .context("saving the visit plan")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Installment;
    use crate::test_support::{d, m};

    fn version(effective: &str, dues: &[&str]) -> restructure::replay::VersionFacts {
        restructure::replay::VersionFacts {
            effective: d(effective),
            transfer: m("0"),
            installments: dues
                .iter()
                .enumerate()
                .map(|(k, due)| Installment {
                    installment_no: k as u32 + 1,
                    due_date: d(due),
                    principal_due: m("100"),
                    interest_due: m("1"),
                    fee_due: m("0"),
                })
                .collect(),
        }
    }

    #[test]
    fn consent_windows_as_written() {
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert_eq!(parse_window("18:00-21:00"), Some((t("18:00"), t("21:00"))));
        assert_eq!(
            parse_window(" 21:30 至 07:00 "),
            Some((t("21:30"), t("07:00")))
        );
        assert_eq!(parse_window("19:00～20:00"), Some((t("19:00"), t("20:00"))));
        assert_eq!(parse_window("evenings"), None);
        assert_eq!(parse_window("25:00-26:00"), None);
    }

    fn gathered(loan: &str, outstanding: &str, officer: &str, consent: Option<&str>) -> Gathered {
        let facts = LoanFacts {
            loan_id: loan.into(),
            origination_date: d("2026-01-01"),
            dpd: 0,
            overdue_since: None,
            outstanding: m(outstanding),
            overdue_amount: m("0"),
            grade: Grade::Pass,
            restructured_in_observation: false,
            broken_promises: 0,
            last_broken_promise: None,
            pending_promises: Vec::new(),
        };
        Gathered {
            b: Borrower {
                borrower_id: "B".into(),
                officer: officer.into(),
                region: officer.into(),
                branch: officer.into(),
                segment: None,
                loans: vec![facts],
                contacts: Vec::new(),
                consent_window: None,
                rolled_visits: 0,
                rolled_calls: 0,
            },
            d: Detail {
                outstanding: m(outstanding),
                ..Detail::default()
            },
            largest: m(outstanding),
            summary: FollowupSummary::default(),
            overdue: false,
            consent: consent.map(|c| (d(c), parse_window("18:00-20:00").unwrap())),
            saved_segment: None,
        }
    }

    #[test]
    fn a_borrower_split_across_workers_merges_as_one() {
        // Loans in key order: L1 (worker 1), L2 and L3 (worker 2).
        let mut a = gathered("L1", "500", "a", Some("2026-03-01"));
        a.absorb(&mut gathered("L2", "500", "b", None));
        assert_eq!(a.b.officer, "a", "a tie keeps the earlier loan's officer");
        a.absorb(&mut gathered("L3", "900", "c", Some("2026-02-01")));
        assert_eq!(
            (a.b.officer.as_str(), a.b.region.as_str()),
            ("c", "c"),
            "the largest loan's"
        );
        assert_eq!(a.b.loans.len(), 3);
        assert_eq!(a.d.outstanding, m("1900"));
        assert_eq!(
            a.consent.map(|c| c.0),
            Some(d("2026-03-01")),
            "the latest consent"
        );
    }

    /// The replayed installments: `(due, settled_on)`, in due order.
    fn replayed(rows: &[(&str, Option<&str>)]) -> Vec<engine::InstallmentState> {
        rows.iter()
            .enumerate()
            .map(|(k, (due, settled))| engine::InstallmentState {
                index: k,
                version: 0,
                installment_no: k as u32 + 1,
                due_date: d(due),
                status: if settled.is_some() {
                    engine::InstallmentStatus::Settled
                } else {
                    engine::InstallmentStatus::NotDue
                },
                settled_on: settled.map(d),
                days_late: 0,
            })
            .collect()
    }

    /// Observation is the rule set's, as `classify` counts it: cn2023 two periods and a year
    /// from the first due date after the restructure, cn2007 one period and six months; a miss
    /// restarts it; a rule set without a [restructure] rule has none.
    #[test]
    fn observation_follows_the_rule_set() {
        let cn2023 = RuleSet::builtin("cn2023").unwrap();
        let cn2007 = RuleSet::builtin("cn2007").unwrap();
        let v = vec![version(
            "2026-01-20",
            &["2026-02-15", "2026-03-15", "2026-04-15", "2027-06-15"],
        )];
        // Paid on time: the last original installment, then the new ones.
        let on_time = replayed(&[
            ("2026-01-15", Some("2026-01-20")),
            ("2026-02-15", Some("2026-02-15")),
            ("2026-03-15", Some("2026-03-15")),
            ("2026-04-15", Some("2026-04-15")),
            ("2027-06-15", None),
        ]);
        let obs = |r: &RuleSet, on: &str| in_observation(r, &v, &on_time, d(on));
        assert!(!obs(&cn2023, "2026-01-19"), "before it takes effect");
        assert!(obs(&cn2023, "2026-01-20"));
        // cn2023: to max(2026-04-15, 2026-02-15 + 12 months) = 2027-02-15.
        assert!(obs(&cn2023, "2027-02-15"), "the last day of the year");
        assert!(!obs(&cn2023, "2027-02-16"));
        // cn2007: to max(2026-03-15, 2026-02-15 + 6 months) = 2026-08-15.
        assert!(obs(&cn2007, "2026-08-15"));
        assert!(!obs(&cn2007, "2026-08-16"));
        assert!(obs(&cn2023, "2026-08-16"));
        let mut none = cn2023.clone();
        none.restructure = None;
        assert!(!obs(&none, "2026-01-20"));
        assert!(!in_observation(&cn2023, &[], &on_time, d("2026-06-30")));
        // 2026-03-15 settled 5 days late: a miss, restarted from the next due date 2026-04-15,
        // so under cn2007 to max(2027-06-15, 2026-10-15) = 2027-06-15.
        let late = replayed(&[
            ("2026-01-15", Some("2026-01-20")),
            ("2026-02-15", Some("2026-02-15")),
            ("2026-03-15", Some("2026-03-20")),
            ("2026-04-15", Some("2026-04-15")),
            ("2027-06-15", None),
        ]);
        assert!(in_observation(&cn2007, &v, &late, d("2026-12-01")));
        assert!(!in_observation(&cn2007, &v, &on_time, d("2026-12-01")));
        // A later restructure restarts it.
        let mut two = v.clone();
        two.push(version("2027-03-01", &["2027-03-15", "2027-04-15"]));
        let two_inst = replayed(&[
            ("2026-02-15", Some("2026-02-15")),
            ("2027-03-15", Some("2027-03-15")),
            ("2027-04-15", Some("2027-04-15")),
        ]);
        assert!(in_observation(&cn2023, &two, &two_inst, d("2027-06-30")));
        assert!(!in_observation(&cn2023, &two, &two_inst, d("2028-03-16")));
    }
}
