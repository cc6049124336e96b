//! The visit-planning pipeline: read the book as of a date into borrowers (positions from the
//! engine, promises and contacts from the follow-up log), close the items of earlier plans
//! against what was logged since, plan, and save the plan in one transaction.
//!
//! Until the ops/portfolio layer lands, positions come straight from the engine (across
//! restructure versions, `restructure::replay::positions`) with the default conventions, as
//! `daihou overdue` computes them without flags. A loan is in observation from the effective
//! date of its latest restructure in force to the end of that version's observation period
//! (`restructure::proposal::Observation`: at least a year and two installments); a missed
//! payment restarting it is not modelled here yet.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::collection::{self, Ladder, PromiseState};
use crate::db::{book, visits as store};
use crate::engine::{self, Conventions};
use crate::restructure;
use crate::visits::{self, Borrower, Contact, Item, Kind, LoanFacts, Outcome, PlanInput, Policy};

/// What a day sheet shows about a borrower beyond the plan row (PII unmasked here; the
/// command masks it).
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

/// The book read for planning.
pub struct Book {
    pub borrowers: Vec<Borrower>,
    pub details: HashMap<String, Detail>,
    pub followups: bool,
}

fn effective_payments(pays: &[engine::Payment], as_of: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
    let reversed: std::collections::HashSet<&str> = pays
        .iter()
        .filter(|p| p.paid_on <= as_of)
        .filter_map(|p| p.reverses_txn_id.as_deref())
        .collect();
    pays.iter()
        .filter(|p| {
            p.reverses_txn_id.is_none()
                && p.paid_on <= as_of
                && !reversed.contains(p.txn_id.as_str())
        })
        .map(|p| (p.paid_on, p.amount))
        .collect()
}

/// True when the latest restructure in force on `as_of` is still in its observation period.
fn in_observation(versions: &[restructure::replay::VersionFacts], as_of: NaiveDate) -> bool {
    versions
        .iter()
        .rev()
        .find(|v| v.effective <= as_of)
        .and_then(|v| restructure::proposal::Observation::of(&v.installments))
        .is_some_and(|o| as_of <= o.end)
}

/// Reads every active loan as of `as_of` and groups it by borrower (sorted by borrower_id).
pub fn read_book(c: &Connection, as_of: NaiveDate) -> Result<Book> {
    let conv = Conventions::default();
    let mut by: BTreeMap<String, (Borrower, Detail, Decimal)> = BTreeMap::new();
    let mut any_followups = false;
    let mut scan = book::Scan::prepare(c, &book::KeyRange::default())?;
    scan.for_each(|b| {
        if b.info.origination_date.is_none_or(|o| o > as_of) {
            return Ok(());
        }
        let Some(p) = restructure::replay::positions(
            &b.terms,
            &b.installments,
            &b.versions,
            &b.payments,
            &[as_of],
            &conv,
        )
        .pop() else {
            return Ok(());
        };
        if p.closed {
            return Ok(());
        }
        any_followups |= !b.followups.is_empty();
        let pays = effective_payments(&b.payments, as_of);
        let promises = collection::promises(&b.followups, &pays, as_of);
        let summary = collection::promise_summary(&promises);
        let facts = LoanFacts {
            loan_id: b.info.loan_id.clone(),
            origination_date: b.info.origination_date.unwrap_or(as_of),
            dpd: p.dpd,
            overdue_since: p.overdue_since,
            outstanding: p.outstanding_principal,
            overdue_amount: p.overdue_principal + p.overdue_interest + p.overdue_fee,
            grade: None,
            restructured_in_observation: in_observation(&b.versions, as_of),
            broken_promises: summary.broken,
            last_broken_promise: summary.last_broken,
            pending_promises: promises
                .iter()
                .filter(|x| x.state == PromiseState::Pending)
                .map(|x| x.promise_date)
                .collect(),
        };
        let entry = by.entry(b.info.borrower_id.clone()).or_insert_with(|| {
            (
                Borrower {
                    borrower_id: b.info.borrower_id.clone(),
                    officer: b.info.officer.clone(),
                    region: b.info.region.clone(),
                    branch: b.info.branch.clone(),
                    segment: None,
                    loans: Vec::new(),
                    contacts: Vec::new(),
                    consent_window: None,
                    rolled_visits: 0,
                    rolled_calls: 0,
                },
                Detail {
                    name: b.info.borrower_name.clone(),
                    phone: b.info.phone.clone(),
                    ..Detail::default()
                },
                Decimal::MIN,
            )
        });
        let (bw, detail, largest) = entry;
        // The officer, region and branch of the borrower's largest loan (ties: first loan_id).
        if facts.outstanding > *largest {
            *largest = facts.outstanding;
            bw.officer = b.info.officer.clone();
            bw.region = b.info.region.clone();
            bw.branch = b.info.branch.clone();
        }
        detail.overdue_amount += facts.overdue_amount;
        detail.outstanding += facts.outstanding;
        detail.max_dpd = detail.max_dpd.max(facts.dpd);
        for f in b.followups.iter().filter(|f| f.contact_date <= as_of) {
            let channel = f.channel.as_str().to_string();
            let outcome = f.outcome.as_str().to_string();
            if detail
                .last_contact
                .as_ref()
                .is_none_or(|(d, _, _)| f.contact_date >= *d)
            {
                detail.last_contact = Some((f.contact_date, channel.clone(), outcome.clone()));
            }
            bw.contacts.push(Contact {
                date: f.contact_date,
                time: None,
                connected: outcome != "no_answer",
                channel,
                party: String::new(),
            });
        }
        for x in &promises {
            detail.promises.push((
                x.contact_date,
                x.promise_date,
                x.promise_amount,
                x.state.as_str(),
            ));
        }
        bw.loans.push(facts);
        Ok(())
    })?;
    let mut borrowers = Vec::with_capacity(by.len());
    let mut details = HashMap::with_capacity(by.len());
    for (id, (mut b, mut d, _)) in by {
        // The same contact logged against several loans of the borrower counts once.
        b.contacts.sort_by(|x, y| {
            (x.date, x.time, &x.channel, x.connected, &x.party).cmp(&(
                y.date,
                y.time,
                &y.channel,
                y.connected,
                &y.party,
            ))
        });
        b.contacts.dedup();
        d.promises.sort();
        d.promises.dedup();
        borrowers.push(b);
        details.insert(id, d);
    }
    Ok(Book {
        borrowers,
        details,
        followups: any_followups,
    })
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
    let index: HashMap<String, usize> = book
        .borrowers
        .iter()
        .enumerate()
        .map(|(i, b)| (b.borrower_id.clone(), i))
        .collect();
    let mut closed = Closed::default();
    for it in store::open_items_before(c, as_of)? {
        let kind = Kind::parse(&it.kind).unwrap_or(Kind::Call);
        let log: &[Contact] = index
            .get(it.borrower_id.as_str())
            .map_or(&[], |&i| &book.borrowers[i].contacts);
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
            if let Some(&i) = index.get(id.as_str()) {
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
    items: &[&Item],
) -> Result<()> {
    store::clear_plan(c, as_of)?;
    let (Some(&first_day), Some(&last_day)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let saved: Vec<store::SavedItem> = items
        .iter()
        .enumerate()
        .map(|(k, i)| store::SavedItem {
            seq: k as u32 + 1,
            date: i.date,
            officer: i.officer.clone(),
            kind: i.kind.as_str().to_string(),
            borrower_id: i.borrower_id.clone(),
            loans: i.loans.join(","),
            reason: i.reason_text(),
            priority: i.score.total(),
            score_parts: i.score.parts(),
            earliest: i.earliest,
            deadline: i.deadline,
            status: i.status.as_str().to_string(),
            held_by: i.held_by.clone(),
            rollover: i.rollover,
        })
        .collect();
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
        &saved,
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
    fn observation_runs_from_the_restructure_to_a_year_after_its_first_due_date() {
        let v = vec![version(
            "2026-01-20",
            &["2026-02-15", "2026-03-15", "2026-04-15", "2027-06-15"],
        )];
        assert!(
            !in_observation(&v, d("2026-01-19")),
            "before it takes effect"
        );
        assert!(in_observation(&v, d("2026-01-20")));
        assert!(
            in_observation(&v, d("2027-02-15")),
            "the last day of the year"
        );
        assert!(!in_observation(&v, d("2027-02-16")));
        assert!(!in_observation(&[], d("2026-06-30")));
        // A later restructure restarts it.
        let mut two = v.clone();
        two.push(version(
            "2027-03-01",
            &["2027-03-15", "2027-04-15", "2027-05-15"],
        ));
        assert!(in_observation(&two, d("2027-06-30")));
        assert!(!in_observation(&two, d("2028-03-16")));
    }
}
