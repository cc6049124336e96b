use super::*;
use crate::calendar::Calendar;
use crate::test_support::{d, m};

const AS_OF: &str = "2026-03-02"; // a Monday

fn loan(id: &str, orig: &str, dpd: u32) -> LoanFacts {
    LoanFacts {
        loan_id: id.into(),
        origination_date: d(orig),
        dpd,
        overdue_since: None,
        outstanding: m("100000"),
        overdue_amount: if dpd > 0 { m("5000") } else { m("0") },
        grade: dpd_grade(dpd),
        restructured_in_observation: false,
        broken_promises: 0,
        last_broken_promise: None,
        pending_promises: Vec::new(),
    }
}

/// The grade `ops::visits` gives a loan without a saved classify run: the DPD rule of the
/// built-in cn2023 rule set.
fn dpd_grade(dpd: u32) -> Grade {
    crate::classify::rules::RuleSet::builtin("cn2023")
        .unwrap()
        .dpd_rule(dpd)
        .map_or(Grade::Pass, |r| r.grade)
}

fn visit(on: &str) -> Contact {
    Contact {
        date: d(on),
        time: None,
        channel: "visit".into(),
        connected: true,
        party: String::new(),
    }
}

fn call(on: &str, connected: bool) -> Contact {
    Contact {
        channel: "phone".into(),
        connected,
        ..visit(on)
    }
}

fn borrower(id: &str, loans: Vec<LoanFacts>, contacts: Vec<Contact>) -> Borrower {
    Borrower {
        borrower_id: id.into(),
        officer: "王芳".into(),
        region: "杭州".into(),
        branch: "西湖支行".into(),
        segment: None,
        loans,
        contacts,
        consent_window: None,
        rolled_visits: 0,
        rolled_calls: 0,
    }
}

fn days(n: usize) -> Vec<NaiveDate> {
    Calendar::default().next_working_days(d(AS_OF), n)
}

fn run(bs: &[Borrower], policy: &Policy, n: usize) -> Vec<Item> {
    let ds = days(n);
    plan(&PlanInput {
        as_of: d(AS_OF),
        days: &ds,
        policy,
        ladder: &Ladder::default(),
        borrowers: bs,
    })
}

fn of<'a>(items: &'a [Item], id: &str, kind: Kind) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|i| i.borrower_id == id && i.kind == kind)
        .collect()
}

fn codes(i: &Item) -> Vec<&'static str> {
    i.reasons.iter().map(|r| r.code).collect()
}

#[test]
fn annual_routine_counted_from_last_visit() {
    let p = Policy::default();
    let bs = vec![
        // Last visited 2025-03-20: due 2026-03-20, may be made from 03-06 (14 days early).
        borrower(
            "B1",
            vec![loan("L1", "2024-01-10", 0)],
            vec![visit("2025-03-20")],
        ),
        // Visited 2025-03-28: may be made from 03-14, after the horizon (03-02..03-13).
        borrower(
            "B2",
            vec![loan("L2", "2024-01-10", 0)],
            vec![visit("2025-03-28")],
        ),
        // Never visited: counted from origination 2025-03-27 → earliest 03-13, the last day.
        borrower("B3", vec![loan("L3", "2025-03-27", 0)], vec![]),
    ];
    let items = run(&bs, &p, 10);
    let b1 = of(&items, "B1", Kind::Visit);
    assert_eq!(b1.len(), 1);
    assert_eq!(b1[0].date, Some(d("2026-03-06")));
    assert_eq!(b1[0].deadline, d("2026-03-20"));
    assert_eq!(codes(b1[0]), vec!["routine"]);
    assert!(of(&items, "B2", Kind::Visit).is_empty());
    let b3 = of(&items, "B3", Kind::Visit);
    assert_eq!(b3[0].date, Some(d("2026-03-13")));
    assert_eq!(b3[0].deadline, d("2026-03-27"));
}

#[test]
fn frequency_by_grade_and_restructuring() {
    let p = Policy::default();
    let last = "2025-12-10"; // + 3 months = 2026-03-10, in the horizon; + 12 months is not
    let mut special = loan("L1", "2024-01-10", 0);
    special.grade = Grade::SpecialMention;
    let mut restructured = loan("L3", "2024-01-10", 0);
    restructured.restructured_in_observation = true;
    let bs = vec![
        borrower("B1", vec![special], vec![visit(last)]),
        borrower("B2", vec![loan("L2", "2024-01-10", 0)], vec![visit(last)]),
        borrower("B3", vec![restructured], vec![visit("2026-02-15")]), // monthly → 03-15
    ];
    assert_eq!(routine_months(&bs[0], &p), 3);
    assert_eq!(routine_months(&bs[1], &p), 12);
    assert_eq!(routine_months(&bs[2], &p), 1);
    assert_eq!(routine_due(&bs[0], &p, d(AS_OF)), Some(d("2026-03-10")));
    let items = run(&bs, &p, 10);
    assert_eq!(of(&items, "B1", Kind::Visit)[0].deadline, d("2026-03-10"));
    assert!(of(&items, "B2", Kind::Visit).is_empty());
    assert_eq!(of(&items, "B3", Kind::Visit)[0].deadline, d("2026-03-15"));
    // Without a saved classify run, cn2023's DPD rules grade: 91 → 次级 → monthly.
    assert_eq!(dpd_grade(90), Grade::SpecialMention);
    assert_eq!(dpd_grade(91), Grade::Substandard);
    assert_eq!(dpd_grade(271), Grade::Doubtful);
    assert_eq!(dpd_grade(361), Grade::Loss);
    let b = borrower("B4", vec![loan("L4", "2024-01-10", 91)], vec![]);
    assert_eq!(routine_months(&b, &p), 1);
}

#[test]
fn late_routine_visits_are_spread_evenly() {
    let p = Policy::default(); // catch_up_days 30
    let bs: Vec<Borrower> = (0..30)
        .map(|k| {
            borrower(
                &format!("B{k:02}"),
                vec![loan(&format!("L{k:02}"), "2024-01-10", 0)],
                vec![visit("2024-06-01")],
            )
        })
        .collect();
    let ds = days(30);
    let items = plan(&PlanInput {
        as_of: d(AS_OF),
        days: &ds,
        policy: &p,
        ladder: &Ladder::default(),
        borrowers: &bs,
    });
    let mut deadlines: Vec<NaiveDate> = items
        .iter()
        .filter(|i| i.kind == Kind::Visit)
        .map(|i| i.deadline)
        .collect();
    deadlines.sort();
    deadlines.dedup();
    assert_eq!(deadlines.len(), 30, "one deadline per day, not bunched");
    assert_eq!(deadlines[0], d("2026-03-03"));
    assert_eq!(deadlines[29], d("2026-04-01"));
    // Capacity 6 a day: the first day holds 6 visits, not 30.
    let first_day = items
        .iter()
        .filter(|i| i.kind == Kind::Visit && i.date == Some(d(AS_OF)))
        .count();
    assert_eq!(first_day, 6);
}

#[test]
fn first_check_within_30_days_of_origination() {
    let p = Policy::default();
    let ns = |orig: &str, contacts: Vec<Contact>| {
        let b = borrower("B", vec![loan("L", orig, 0)], contacts);
        needs(&b, d(AS_OF), d("2026-03-13"), &p, &Ladder::default())
    };
    let n = ns("2026-02-20", vec![]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].reason.code, "first_check");
    assert_eq!(
        (n[0].earliest, n[0].deadline),
        (d("2026-02-20"), d("2026-03-22"))
    );
    // Deadline 01-31 + 30 catch-up days = 03-02: still listed (late) on 03-02 ...
    assert_eq!(ns("2026-01-01", vec![]).len(), 1);
    // ... one day older and the routine visit takes over.
    assert!(ns("2025-12-31", vec![]).is_empty());
    // A visit on or after origination is the check; one before does not count.
    assert!(ns("2026-02-20", vec![visit("2026-02-20")]).is_empty());
    assert_eq!(ns("2026-02-20", vec![visit("2026-02-19")]).len(), 1);
}

#[test]
fn overdue_verification_from_dpd_31_within_14_days() {
    let p = Policy::default();
    let horizon = d("2026-03-13");
    let verify = |dpd: u32, contacts: Vec<Contact>| -> Vec<Need> {
        let b = borrower("B", vec![loan("L", "2024-01-10", dpd)], contacts);
        needs(&b, d(AS_OF), horizon, &p, &Ladder::default())
            .into_iter()
            .filter(|n| n.reason.code == "verify_overdue")
            .collect()
    };
    // The ladder's convention (collection.rs): a step is reached on overdue_since + from_dpd − 1,
    // overdue_since being the due date. DPD 31 today: reached yesterday, due within 14 days.
    let n = verify(31, vec![]);
    assert_eq!(
        (n[0].earliest, n[0].deadline),
        (d("2026-03-01"), d("2026-03-15"))
    );
    // DPD 30: reached today; DPD 29: tomorrow.
    assert_eq!(verify(30, vec![])[0].earliest, d(AS_OF));
    assert_eq!(verify(29, vec![])[0].earliest, d("2026-03-03"));
    // DPD 20 reaches 31 on 03-12, inside the horizon; DPD 18 on 03-14, outside.
    assert_eq!(verify(20, vec![])[0].earliest, d("2026-03-12"));
    assert!(verify(18, vec![]).is_empty());
    // A visit since the step was reached settles it; one before does not.
    // (DPD 40: overdue since 01-21, step reached 02-20.)
    assert!(verify(40, vec![visit("2026-02-20")]).is_empty());
    assert_eq!(verify(40, vec![visit("2026-02-19")]).len(), 1);
    // The plan places it (with the loan) and the ladder's first contact as a call.
    let bs = vec![borrower("B", vec![loan("L", "2024-01-10", 31)], vec![])];
    let items = run(&bs, &p, 10);
    let v = of(&items, "B", Kind::Visit);
    assert_eq!(v.len(), 1);
    assert!(codes(v[0]).contains(&"verify_overdue"));
    assert_eq!(v[0].loans, vec!["L".to_string()]);
    assert_eq!(v[0].status, Status::Planned);
}

#[test]
fn ladder_first_contact_and_reminders() {
    let p = Policy::default();
    let h = d("2026-03-13");
    let calls = |dpd: u32, contacts: Vec<Contact>| -> Vec<Need> {
        let b = borrower("B", vec![loan("L", "2024-01-10", dpd)], contacts);
        needs(&b, d(AS_OF), h, &p, &Ladder::default())
            .into_iter()
            .filter(|n| n.kind == Kind::Call)
            .collect()
    };
    // DPD 3, no contact: first contact due within 7 days of falling overdue (02-27 → 03-06).
    let n = calls(3, vec![]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].reason.code, "ladder_contact");
    assert_eq!(
        (n[0].earliest, n[0].deadline),
        (d("2026-02-27"), d("2026-03-06"))
    );
    // Contacted on 02-28: no ladder call; a reminder 7 days later (03-07, within 3 days).
    let n = calls(3, vec![call("2026-02-28", false)]);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].reason.code, "reminder");
    assert_eq!(
        (n[0].earliest, n[0].deadline),
        (d("2026-03-07"), d("2026-03-10"))
    );
    // Not overdue: no calls.
    assert!(calls(0, vec![]).is_empty());
}

#[test]
fn promise_followup_and_broken_promise() {
    let p = Policy::default();
    let mut l = loan("L", "2024-01-10", 10);
    l.pending_promises = vec![d("2026-03-05"), d("2026-03-20")];
    l.broken_promises = 1;
    l.last_broken_promise = Some(d("2026-02-25"));
    // The promise was made in a conversation on 03-01 (quiet until 03-03).
    let b = borrower("B", vec![l], vec![call("2026-03-01", true)]);
    let ns = needs(&b, d(AS_OF), d("2026-03-13"), &p, &Ladder::default());
    let pf: Vec<&Need> = ns
        .iter()
        .filter(|n| n.reason.code == "promise_followup")
        .collect();
    assert_eq!(pf.len(), 1, "only the promise date inside the horizon");
    assert_eq!(
        (pf[0].earliest, pf[0].deadline),
        (d("2026-03-05"), d("2026-03-06"))
    );
    let bp: Vec<&Need> = ns
        .iter()
        .filter(|n| n.reason.code == "broken_promise")
        .collect();
    assert_eq!(
        (bp[0].earliest, bp[0].deadline),
        (d("2026-02-26"), d("2026-03-04"))
    );
    let items = run(&[b], &p, 10);
    let calls = of(&items, "B", Kind::Call);
    let on_promise = calls
        .iter()
        .find(|i| codes(i).contains(&"promise_followup"))
        .unwrap();
    assert_eq!(on_promise.date, Some(d("2026-03-05")));
    // The broken-promise visit (promise broken before the conversation) waits out the quiet
    // period; the promise date itself (after the conversation) did not.
    let v = of(&items, "B", Kind::Visit);
    assert_eq!(v[0].date, Some(d("2026-03-04")));
    assert_eq!(
        v[0].held_by.as_deref(),
        Some("quiet_days_after_conversation")
    );
    assert!(codes(v[0]).contains(&"broken_promise"));
}

#[test]
fn one_visit_per_borrower_covers_all_loans_and_one_call_a_day() {
    let p = Policy::default();
    let mut l2 = loan("L2", "2024-01-10", 40);
    l2.pending_promises = vec![d("2026-03-04")];
    let b = borrower("B", vec![loan("L1", "2024-01-10", 45), l2], vec![]);
    let items = run(&[b], &p, 10);
    let v = of(&items, "B", Kind::Visit);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].loans, vec!["L1".to_string(), "L2".to_string()]);
    // Never visited since 2024: the late routine visit rides along.
    assert_eq!(
        v[0].reason_text(),
        "routine; verify_overdue L1; verify_overdue L2"
    );
    let calls = of(&items, "B", Kind::Call);
    let mut dates: Vec<NaiveDate> = calls.iter().filter_map(|i| i.date).collect();
    let n = dates.len();
    dates.sort();
    dates.dedup();
    assert_eq!(dates.len(), n, "at most one call task per borrower per day");
    // The ladder calls of both loans and the call before the visit share one task.
    let first = calls.iter().find(|i| i.date == Some(d(AS_OF))).unwrap();
    assert_eq!(
        codes(first),
        vec!["before_visit", "ladder_contact", "ladder_contact"]
    );
}

#[test]
fn capacity_per_officer_and_day() {
    let p = Policy::default();
    let bs: Vec<Borrower> = (0..8)
        .map(|k| {
            borrower(
                &format!("B{k}"),
                vec![loan(&format!("L{k}"), "2024-01-10", 31)],
                vec![],
            )
        })
        .collect();
    let items = run(&bs, &p, 2);
    let visits: Vec<&Item> = items.iter().filter(|i| i.kind == Kind::Visit).collect();
    let on = |day: &str| visits.iter().filter(|i| i.date == Some(d(day))).count();
    assert_eq!(on("2026-03-02"), 6);
    assert_eq!(on("2026-03-03"), 2);
    assert!(visits
        .iter()
        .filter(|i| i.date == Some(d("2026-03-03")))
        .all(|i| i.held_by.as_deref() == Some("visits_per_day")));
    // One day only: two do not fit and say why; a second officer has their own capacity.
    let items = run(&bs, &p, 1);
    let un: Vec<&Item> = items
        .iter()
        .filter(|i| i.kind == Kind::Visit && i.status == Status::Unplanned)
        .collect();
    assert_eq!(un.len(), 2);
    assert!(un
        .iter()
        .all(|i| i.held_by.as_deref() == Some("visits_per_day") && i.date.is_none()));
    let mut bs2 = bs.clone();
    for b in bs2.iter_mut().take(4) {
        b.officer = "李强".into();
    }
    let items = run(&bs2, &p, 1);
    assert!(items.iter().all(|i| i.status != Status::Unplanned));
    // Calls: capacity 2 a day.
    let p2 = Policy::from_toml("p.toml", "[capacity]\ncalls_per_day = 2\n").unwrap();
    let items = run(&bs, &p2, 1);
    let planned_calls = items
        .iter()
        .filter(|i| i.kind == Kind::Call && i.date.is_some())
        .count();
    assert_eq!(planned_calls, 2);
}

#[test]
fn visits_of_a_day_stay_in_one_area_where_possible() {
    let p = Policy::default();
    let mut bs = Vec::new();
    for k in 0..3 {
        let mut b = borrower(
            &format!("A{k}"),
            vec![loan(&format!("LA{k}"), "2024-01-10", 60)],
            vec![],
        );
        b.region = "杭州".into();
        bs.push(b);
        // Lower priority (smaller DPD), another region, due in 14 days: waits for tomorrow.
        let mut b = borrower(
            &format!("C{k}"),
            vec![loan(&format!("LC{k}"), "2024-01-10", 31)],
            vec![],
        );
        b.region = "宁波".into();
        bs.push(b);
    }
    let items = run(&bs, &p, 5);
    for i in items.iter().filter(|i| i.kind == Kind::Visit) {
        let want = if i.borrower_id.starts_with('A') {
            "2026-03-02"
        } else {
            "2026-03-03"
        };
        assert_eq!(i.date, Some(d(want)), "{}", i.borrower_id);
    }
    // When the other area's only day before the deadline is today, it shares the day.
    let items = run(&bs, &p, 1);
    assert_eq!(
        items
            .iter()
            .filter(|i| i.kind == Kind::Visit && i.date == Some(d(AS_OF)))
            .count(),
        6
    );
}

#[test]
fn holidays_and_tiaoxiu_shape_the_days() {
    let cal = Calendar::from_toml(
        "cn-2026.toml",
        include_str!("../../examples/calendars/cn-2026.toml"),
    )
    .unwrap();
    let ds = cal.next_working_days(d("2026-02-13"), 3);
    assert_eq!(ds, vec![d("2026-02-13"), d("2026-02-14"), d("2026-02-24")]);
    let p = Policy::from_toml("p.toml", "[capacity]\nvisits_per_day = 1\n").unwrap();
    let bs: Vec<Borrower> = (0..3)
        .map(|k| {
            borrower(
                &format!("B{k}"),
                vec![loan(&format!("L{k}"), "2024-01-10", 31 + k)],
                vec![],
            )
        })
        .collect();
    let items = plan(&PlanInput {
        as_of: d("2026-02-13"),
        days: &ds,
        policy: &p,
        ladder: &Ladder::default(),
        borrowers: &bs,
    });
    let mut visit_days: Vec<NaiveDate> = items
        .iter()
        .filter(|i| i.kind == Kind::Visit)
        .filter_map(|i| i.date)
        .collect();
    visit_days.sort();
    // The make-up Saturday is worked; the Spring Festival is not.
    assert_eq!(visit_days, ds);
}

#[test]
fn conduct_holds_are_shown() {
    let p = Policy::default();
    // A conversation on 03-02 (today): the reminder is due 03-09; a broken promise visit is not
    // planned — but the ladder call for DPD 3 was settled. Use a routine-only borrower instead.
    let b = borrower(
        "B",
        vec![loan("L", "2025-03-10", 0)],
        vec![call("2026-03-02", true)],
    );
    // Routine (never visited; origination + 12 months = 03-10, earliest 02-24): quiet until 03-04.
    let items = run(std::slice::from_ref(&b), &p, 10);
    let v = of(&items, "B", Kind::Visit)[0];
    assert_eq!(v.date, Some(d("2026-03-05")));
    assert_eq!(v.held_by.as_deref(), Some("quiet_days_after_conversation"));
    // Seven attempts in the last week: held by the 7-day cap until they age out.
    let log: Vec<Contact> = (24..=28)
        .map(|k| call(&format!("2026-02-{k}"), false))
        .chain([call("2026-03-01", false), call("2026-03-02", false)])
        .collect();
    let b2 = Borrower { contacts: log, ..b };
    let items = run(&[b2], &p, 10);
    let v = of(&items, "B", Kind::Visit)[0];
    // Window 02-25..03-03 still holds 6 logged + this one = 7: allowed on 03-03.
    assert_eq!(v.date, Some(d("2026-03-03")));
    assert_eq!(v.held_by.as_deref(), Some("contacts_per_7_days"));
}

#[test]
fn ties_break_deterministically() {
    let p = Policy::default();
    let mk = |id: &str| borrower(id, vec![loan(&format!("L{id}"), "2024-01-10", 31)], vec![]);
    let a = vec![mk("B2"), mk("B1"), mk("B3")];
    let b = vec![mk("B3"), mk("B1"), mk("B2")];
    let pa = Policy::from_toml("p.toml", "[capacity]\nvisits_per_day = 1\n").unwrap();
    let ia = run(&a, &pa, 3);
    let ib = run(&b, &pa, 3);
    // The same plan but for each item's index into the borrowers given (their order differs).
    let same = |items: &[Item], bs: &[Borrower]| -> Vec<Item> {
        items
            .iter()
            .map(|i| {
                assert_eq!(bs[i.borrower].borrower_id, i.borrower_id);
                Item {
                    borrower: 0,
                    ..i.clone()
                }
            })
            .collect()
    };
    assert_eq!(same(&ia, &a), same(&ib, &b));
    let order: Vec<(&str, Option<NaiveDate>)> = ia
        .iter()
        .filter(|i| i.kind == Kind::Visit)
        .map(|i| (i.borrower_id.as_str(), i.date))
        .collect();
    assert_eq!(
        order,
        vec![
            ("B1", Some(d("2026-03-02"))),
            ("B2", Some(d("2026-03-03"))),
            ("B3", Some(d("2026-03-04")))
        ]
    );
    let _ = p;
}

#[test]
fn score_parts_and_priority_order() {
    let w = Policy::default().priority;
    let mut l = loan("L", "2024-01-10", 45);
    l.outstanding = m("250000");
    l.broken_promises = 5;
    l.grade = Grade::Substandard;
    let mut b = borrower("B", vec![l], vec![call("2026-02-20", false)]);
    b.segment = Some(Segment::WillingAble);
    b.rolled_visits = 1;
    let s = score(&b, Kind::Visit, d(AS_OF), d("2026-03-06"), d(AS_OF), &w);
    assert_eq!(
        s,
        Score {
            dpd: 45,
            balance: 50,
            grade: 40,
            segment: 40,
            promises: 90,
            contact: 10,
            slack: 50,
            rollover: 25,
        }
    );
    assert_eq!(s.total(), 350);
    assert_eq!(
        s.parts(),
        "dpd=45 balance=50 grade=40 segment=40 promises=90 contact=10 slack=50 rollover=25"
    );
    // Late by 3 days counts double: (14 + 3) × 5 + 3 × 5.
    let late = score(&b, Kind::Visit, d(AS_OF), d("2026-02-27"), d(AS_OF), &w);
    assert_eq!(late.slack, 100);
    // Caps: DPD 180, balance 100 points, contact 60.
    let mut big = borrower("C", vec![loan("L", "2024-01-10", 400)], vec![]);
    big.loans[0].outstanding = m("99999999");
    let s = score(&big, Kind::Call, d(AS_OF), d(AS_OF), d(AS_OF), &w);
    assert_eq!((s.dpd, s.balance, s.contact), (180, 100, 60));
    // A willing payer with a large balance goes before an unwilling one with a small balance.
    let mk = |id: &str, seg, amt: &str| {
        let mut l = loan(&format!("L{id}"), "2024-01-10", 31);
        l.outstanding = m(amt);
        let mut b = borrower(id, vec![l], vec![]);
        b.segment = Some(seg);
        b
    };
    let bs = vec![
        mk("B1", Segment::Unwilling, "20000"),
        mk("B2", Segment::WillingAble, "500000"),
    ];
    let p = Policy::from_toml("p.toml", "[capacity]\nvisits_per_day = 1\n").unwrap();
    let items = run(&bs, &p, 2);
    let first = items.iter().find(|i| i.kind == Kind::Visit).unwrap();
    assert_eq!(first.borrower_id, "B2");
}

#[test]
fn rollover_raises_priority_and_close_outcomes() {
    let p = Policy::from_toml("p.toml", "[capacity]\nvisits_per_day = 1\n").unwrap();
    let mk = |id: &str| borrower(id, vec![loan(&format!("L{id}"), "2024-01-10", 31)], vec![]);
    let mut b2 = mk("B2");
    b2.rolled_visits = 1;
    let items = run(&[mk("B1"), b2], &p, 1);
    let planned = items
        .iter()
        .find(|i| i.kind == Kind::Visit && i.date.is_some())
        .unwrap();
    assert_eq!(planned.borrower_id, "B2", "the rolled-over item goes first");
    assert_eq!((planned.rollover, planned.score.rollover), (1, 25));
    let missed = items
        .iter()
        .find(|i| i.kind == Kind::Visit && i.date.is_none())
        .unwrap();
    assert_eq!(missed.status, Status::Unplanned);

    // close(): done on time, late, missed, open — at the edges.
    let plan_as_of = d("2026-03-02");
    let day = Some(d("2026-03-04"));
    let deadline = d("2026-03-06");
    let c = |log: &[Contact], now: &str| close(Kind::Visit, day, deadline, plan_as_of, log, d(now));
    assert_eq!(
        c(&[visit("2026-03-06")], "2026-03-10"),
        Outcome::Done(d("2026-03-06"))
    );
    assert_eq!(
        c(&[visit("2026-03-07")], "2026-03-10"),
        Outcome::Late(d("2026-03-07"))
    );
    assert_eq!(
        c(&[visit("2026-03-01")], "2026-03-10"),
        Outcome::Missed,
        "before the plan"
    );
    assert_eq!(
        c(&[call("2026-03-04", true)], "2026-03-10"),
        Outcome::Missed,
        "a call is not a visit"
    );
    assert_eq!(
        c(&[], "2026-03-04"),
        Outcome::Open,
        "its day has not passed"
    );
    assert_eq!(c(&[], "2026-03-05"), Outcome::Missed);
    assert_eq!(
        c(&[visit("2026-03-07")], "2026-03-04"),
        Outcome::Open,
        "logged after now"
    );
    assert_eq!(
        close(Kind::Call, None, deadline, plan_as_of, &[], d("2026-03-07")),
        Outcome::Missed
    );
}

#[test]
fn third_party_contacts_do_not_meet_needs_but_count_against_the_limits() {
    // DPD 3 (overdue since 02-27); on 02-28 only the borrower's neighbour was reached.
    let neighbour = Contact {
        party: "third_party".into(),
        ..call("2026-02-28", true)
    };
    let b = borrower(
        "B",
        vec![loan("L", "2024-01-10", 3)],
        vec![neighbour.clone()],
    );
    let items = run(std::slice::from_ref(&b), &Policy::default(), 5);
    let calls = of(&items, "B", Kind::Call);
    assert!(
        calls.iter().any(|i| codes(i).contains(&"ladder_contact")),
        "the first contact is still owed: {items:?}"
    );
    // The conversation with the neighbour still counts against the 7-day cap.
    let mut tight = Policy::default();
    tight.conduct.contacts_per_7_days = 1;
    tight.conduct.quiet_days_after_conversation = 0;
    let items = run(std::slice::from_ref(&b), &tight, 5);
    assert!(
        items
            .iter()
            .all(|i| i.date.is_none() && i.held_by.as_deref() == Some("contacts_per_7_days")),
        "{items:?}"
    );
    // ... while the days since the last contact (a score part) count only the borrower's.
    assert_eq!(items[0].score.contact, 60, "{items:?}");
    // A policy that lets a guarantor's contact meet needs: a guarantor call meets the ladder.
    let mut p = Policy::default();
    p.conduct.meets_needs = vec!["debtor".into(), "guarantor".into()];
    let g = Contact {
        party: "guarantor".into(),
        ..neighbour
    };
    let b = borrower("B", vec![loan("L", "2024-01-10", 3)], vec![g]);
    let items = run(&[b], &p, 5);
    assert!(
        of(&items, "B", Kind::Call)
            .iter()
            .all(|i| !codes(i).contains(&"ladder_contact")),
        "{items:?}"
    );
    // Unknown parties are refused with the key.
    let e = Policy::from_toml("p.toml", "[conduct]\nmeets_needs = [\"neighbour\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("meets_needs") && e.contains("unknown party"),
        "{e}"
    );
}

#[test]
fn permute_puts_each_item_where_the_order_says() {
    for n in [0usize, 1, 2, 7, 50] {
        // A scrambled vector with repeated values, ordered by value (ties by index).
        let v0: Vec<usize> = (0..n).map(|i| (i * 37 + 11) % 13).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| v0[i]);
        let expect: Vec<(usize, usize)> = order.iter().map(|&i| (v0[i], i)).collect();
        let mut v: Vec<(usize, usize)> = v0.iter().copied().zip(0..).collect();
        permute(&mut v, &mut order);
        assert_eq!(v, expect, "n = {n}");
    }
}
