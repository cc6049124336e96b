//! Collection KPIs per officer over a period `from..=to` (both days included).
//!
//! * **Contacts** are the follow-ups logged in the period, counted for the officer who logged
//!   them (the loan's officer when the row names none), by channel; `connected` counts those that
//!   reached someone.
//! * **First contact within N days** (N = 7): every overdue episode that began in the period —
//!   the day the loan fell overdue (an installment's first day late, with the previous ones
//!   settled by then) — whose N-day window has closed by `to`, or that was already contacted,
//!   is due; it is on time when the loan has a contact (any channel, any party) from that day to
//!   N days after. Counted for the loan's officer.
//! * **Promises**: promises to pay made in the period, and what became of them by `to`
//!   (kept, broken, pending), counted for the loan's officer.
//! * **Recovered after contact**: payments in force received in the period on a loan on or after
//!   a contact logged on it in the period.
//! * **Cures**: loans overdue at the start (`from`) that are current or paid off at `to`.
//! * **Visit plan**: items that `schedule-visits` planned for days in the period, and what the
//!   next plan recorded of them (done on time, late, missed, still open); completion =
//!   done on time / (planned − still open).
//!
//! A last row, `officer` = `all`, totals the team.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::ratio;

/// A logged contact.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactRow {
    pub officer: String,
    pub channel: String,
    pub connected: bool,
}

/// One installment as the engine saw it at `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    pub due_date: NaiveDate,
    /// Days late (settled late, or still overdue at `to`); 0 when on time or not due.
    pub days_late: u32,
    /// The day it was settled, if it was.
    pub settled_on: Option<NaiveDate>,
}

/// What became of a promise by `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Promise {
    Kept,
    Broken,
    Pending,
}

/// One loan in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct LoanFacts {
    pub officer: String,
    /// DPD at `from`; None when not in the book then.
    pub dpd_start: Option<u32>,
    /// DPD at `to`; None when closed (paid off) or not in the book.
    pub dpd_end: Option<u32>,
    /// The installments at `to`, in due-date order.
    pub dues: Vec<Due>,
    /// Days of contacts logged on the loan (any period), ascending.
    pub contacts: Vec<NaiveDate>,
    /// Promises made in the period: (day made, state at `to`).
    pub promises: Vec<(NaiveDate, Promise)>,
    /// Payments in force: (day, amount).
    pub payments: Vec<(NaiveDate, Decimal)>,
}

/// Planned items of one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub planned: u64,
    pub done: u64,
    pub late: u64,
    pub missed: u64,
    pub open: u64,
}

impl Plan {
    fn add(&mut self, o: &Plan) {
        self.planned += o.planned;
        self.done += o.done;
        self.late += o.late;
        self.missed += o.missed;
        self.open += o.open;
    }

    /// done on time / (planned − still open).
    pub fn completion(&self) -> Option<Decimal> {
        ratio(
            Decimal::from(self.done),
            Decimal::from(self.planned - self.open.min(self.planned)),
        )
    }
}

/// The KPIs of one officer (or of the team: `officer` = `all`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OfficerKpis {
    pub officer: String,
    pub contacts: u64,
    pub connected: u64,
    /// Contacts per channel, by channel name.
    pub by_channel: BTreeMap<String, u64>,
    pub first_contact_due: u64,
    pub first_contact_on_time: u64,
    pub promises_made: u64,
    pub promises_kept: u64,
    pub promises_broken: u64,
    pub promises_pending: u64,
    pub recovered_after_contact: Decimal,
    pub overdue_at_start: u64,
    pub cured: u64,
    pub visits: Plan,
    pub calls: Plan,
}

impl OfficerKpis {
    pub fn first_contact_rate(&self) -> Option<Decimal> {
        ratio(
            Decimal::from(self.first_contact_on_time),
            Decimal::from(self.first_contact_due),
        )
    }

    /// kept / (kept + broken): promises whose outcome is known.
    pub fn promise_kept_rate(&self) -> Option<Decimal> {
        ratio(
            Decimal::from(self.promises_kept),
            Decimal::from(self.promises_kept + self.promises_broken),
        )
    }

    pub fn cure_rate(&self) -> Option<Decimal> {
        ratio(
            Decimal::from(self.cured),
            Decimal::from(self.overdue_at_start),
        )
    }

    fn add(&mut self, o: &OfficerKpis) {
        self.contacts += o.contacts;
        self.connected += o.connected;
        for (k, v) in &o.by_channel {
            *self.by_channel.entry(k.clone()).or_default() += v;
        }
        self.first_contact_due += o.first_contact_due;
        self.first_contact_on_time += o.first_contact_on_time;
        self.promises_made += o.promises_made;
        self.promises_kept += o.promises_kept;
        self.promises_broken += o.promises_broken;
        self.promises_pending += o.promises_pending;
        self.recovered_after_contact += o.recovered_after_contact;
        self.overdue_at_start += o.overdue_at_start;
        self.cured += o.cured;
        self.visits.add(&o.visits);
        self.calls.add(&o.calls);
    }
}

/// The days in `from..=to` on which the loan fell overdue: the first late day (due + 1) of an
/// installment paid late or still unpaid, unless an earlier late installment was still unsettled
/// on that day (the same episode).
pub fn fell_overdue(dues: &[Due], from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    // The day the running episode ends (None: it runs past `to`).
    let mut running_until: Option<Option<NaiveDate>> = None;
    for d in dues.iter().filter(|d| d.days_late > 0) {
        let start = d.due_date + Days::new(1);
        let within_running = match running_until {
            Some(None) => true,
            Some(Some(end)) => start <= end,
            None => false,
        };
        if !within_running && start >= from && start <= to {
            out.push(start);
        }
        let end = d.settled_on;
        running_until = Some(match (running_until, end) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) if within_running => Some(a.max(b)),
            (_, Some(b)) => Some(b),
        });
    }
    out
}

/// The KPIs per officer (sorted by officer), then the team row `all`, over `loans`.
pub fn kpis(
    from: NaiveDate,
    to: NaiveDate,
    window_days: u32,
    loans: &[LoanFacts],
    contacts: &[ContactRow],
    plans: &BTreeMap<(String, String), Plan>,
) -> Vec<OfficerKpis> {
    let mut acc = LoanKpis::new(from, to, window_days);
    for l in loans {
        acc.add(l);
    }
    acc.finish(contacts, plans)
}

/// The loans' part of the KPIs, accumulated one loan at a time by the loan's officer (the book
/// streams; workers merge; the order does not change the answer).
#[derive(Clone, Debug)]
pub struct LoanKpis {
    from: NaiveDate,
    to: NaiveDate,
    window_days: u32,
    by: BTreeMap<String, OfficerKpis>,
}

impl LoanKpis {
    /// The period `from..=to`; a first contact is due within `window_days`.
    pub fn new(from: NaiveDate, to: NaiveDate, window_days: u32) -> LoanKpis {
        LoanKpis {
            from,
            to,
            window_days,
            by: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, l: &LoanFacts) {
        let (from, to) = (self.from, self.to);
        let k = get(&mut self.by, &l.officer);
        for start in fell_overdue(&l.dues, from, to) {
            let deadline = start + Days::new(u64::from(self.window_days));
            let on_time = l.contacts.iter().any(|c| *c >= start && *c <= deadline);
            if on_time || deadline <= to {
                k.first_contact_due += 1;
                k.first_contact_on_time += u64::from(on_time);
            }
        }
        for (_, p) in &l.promises {
            k.promises_made += 1;
            match p {
                Promise::Kept => k.promises_kept += 1,
                Promise::Broken => k.promises_broken += 1,
                Promise::Pending => k.promises_pending += 1,
            }
        }
        let first_contact = l.contacts.iter().copied().find(|c| *c >= from && *c <= to);
        if let Some(fc) = first_contact {
            k.recovered_after_contact += l
                .payments
                .iter()
                .filter(|(d, _)| *d >= fc && *d <= to)
                .map(|(_, a)| *a)
                .sum::<Decimal>();
        }
        if l.dpd_start.is_some_and(|d| d > 0) {
            k.overdue_at_start += 1;
            if l.dpd_end.is_none_or(|d| d == 0) {
                k.cured += 1;
            }
        }
    }

    /// Adds another worker's loans.
    pub fn merge(&mut self, o: &LoanKpis) {
        for (officer, k) in &o.by {
            get(&mut self.by, officer).add(k);
        }
    }

    /// The KPIs per officer (sorted by officer), then the team row `all`: the loans', the
    /// logged contacts' and the visit plans'.
    pub fn finish(
        self,
        contacts: &[ContactRow],
        plans: &BTreeMap<(String, String), Plan>,
    ) -> Vec<OfficerKpis> {
        let mut by = self.by;
        for c in contacts {
            let k = get(&mut by, &c.officer);
            k.contacts += 1;
            k.connected += u64::from(c.connected);
            *k.by_channel.entry(c.channel.clone()).or_default() += 1;
        }
        for ((officer, kind), p) in plans {
            let k = get(&mut by, officer);
            match kind.as_str() {
                "visit" => k.visits.add(p),
                _ => k.calls.add(p),
            }
        }
        let mut all = OfficerKpis {
            officer: "all".into(),
            ..OfficerKpis::default()
        };
        let mut out: Vec<OfficerKpis> = by.into_values().collect();
        for k in &out {
            all.add(k);
        }
        out.push(all);
        out
    }
}

fn get<'a>(by: &'a mut BTreeMap<String, OfficerKpis>, officer: &str) -> &'a mut OfficerKpis {
    by.entry(officer.to_string())
        .or_insert_with(|| OfficerKpis {
            officer: officer.to_string(),
            ..OfficerKpis::default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{d, m};

    fn due(date: &str, days_late: u32, settled: Option<&str>) -> Due {
        Due {
            due_date: d(date),
            days_late,
            settled_on: settled.map(d),
        }
    }

    #[test]
    fn episodes_start_the_day_after_a_missed_due_date() {
        let dues = [
            due("2026-02-05", 0, Some("2026-02-05")), // on time
            due("2026-03-05", 3, Some("2026-03-08")), // late: episode from 03-06
            due("2026-03-20", 11, None),              // unpaid at 03-31: episode from 03-21
            due("2026-03-25", 6, None),               // same episode (03-21 still running)
        ];
        assert_eq!(
            fell_overdue(&dues, d("2026-03-01"), d("2026-03-31")),
            vec![d("2026-03-06"), d("2026-03-21")]
        );
        // An episode that began before the period is not counted, nor its later installments.
        let dues = [due("2026-02-20", 39, None), due("2026-03-20", 11, None)];
        assert!(fell_overdue(&dues, d("2026-03-01"), d("2026-03-31")).is_empty());
    }

    fn loan(officer: &str) -> LoanFacts {
        LoanFacts {
            officer: officer.into(),
            dpd_start: Some(0),
            dpd_end: Some(0),
            dues: vec![],
            contacts: vec![],
            promises: vec![],
            payments: vec![],
        }
    }

    #[test]
    fn officer_kpis_by_hand() {
        let (from, to) = (d("2026-03-01"), d("2026-03-31"));
        // O1/L1: fell overdue 03-06, contacted 03-10 (4 days: on time), promised on 03-10 and
        // paid 300 on 03-12 (after the contact: recovered), kept.
        let mut l1 = loan("O1");
        l1.dues = vec![due("2026-03-05", 7, Some("2026-03-12"))];
        l1.contacts = vec![d("2026-03-10")];
        l1.promises = vec![(d("2026-03-10"), Promise::Kept)];
        l1.payments = vec![(d("2026-02-05"), m("100")), (d("2026-03-12"), m("300"))];
        // O1/L2: fell overdue 03-11, first contact 03-20 (9 days: late); overdue at the start?
        // no. Promise broken.
        let mut l2 = loan("O1");
        l2.dues = vec![due("2026-03-10", 21, None)];
        l2.contacts = vec![d("2026-03-20")];
        l2.promises = vec![(d("2026-03-20"), Promise::Broken)];
        l2.dpd_end = Some(21);
        // O1/L3: fell overdue 03-28: window open until 04-04 and no contact yet: not due.
        let mut l3 = loan("O1");
        l3.dues = vec![due("2026-03-27", 4, None)];
        // O2/L4: overdue at the start (DPD 40) and paid off by the end: a cure.
        let mut l4 = loan("O2");
        l4.dpd_start = Some(40);
        l4.dpd_end = None;
        // O2/L5: overdue at the start, still overdue: not a cure.
        let mut l5 = loan("O2");
        l5.dpd_start = Some(10);
        l5.dpd_end = Some(41);
        let contacts = vec![
            ContactRow {
                officer: "O1".into(),
                channel: "phone".into(),
                connected: true,
            },
            ContactRow {
                officer: "O1".into(),
                channel: "phone".into(),
                connected: false,
            },
            ContactRow {
                officer: "O3".into(),
                channel: "visit".into(),
                connected: true,
            },
        ];
        let mut plans = BTreeMap::new();
        plans.insert(
            ("O2".to_string(), "visit".to_string()),
            Plan {
                planned: 4,
                done: 2,
                late: 1,
                missed: 0,
                open: 1,
            },
        );
        let k = kpis(from, to, 7, &[l1, l2, l3, l4, l5], &contacts, &plans);
        let names: Vec<&str> = k.iter().map(|x| x.officer.as_str()).collect();
        assert_eq!(names, ["O1", "O2", "O3", "all"]);
        let o1 = &k[0];
        assert_eq!((o1.contacts, o1.connected), (2, 1));
        assert_eq!(o1.by_channel["phone"], 2);
        // L1 on time, L2 late, L3 not yet due: 1 of 2
        assert_eq!((o1.first_contact_due, o1.first_contact_on_time), (2, 1));
        assert_eq!(o1.first_contact_rate(), Some(m("0.500000")));
        assert_eq!(
            (o1.promises_made, o1.promises_kept, o1.promises_broken),
            (2, 1, 1)
        );
        // 300 of L1 (the 02-05 payment is before the period)
        assert_eq!(o1.recovered_after_contact, m("300"));
        let o2 = &k[1];
        assert_eq!((o2.overdue_at_start, o2.cured), (2, 1));
        assert_eq!(o2.cure_rate(), Some(m("0.500000")));
        // visits: 2 done on time / (4 planned − 1 open) = 0.666667
        assert_eq!(o2.visits.completion(), Some(m("0.666667")));
        let all = &k[3];
        assert_eq!((all.contacts, all.first_contact_due, all.cured), (3, 2, 1));
        assert_eq!(all.by_channel["visit"], 1);
    }
}
