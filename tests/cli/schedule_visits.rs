//! `daihou schedule-visits`: the plan from the example tape in every format, saving and reruns,
//! follow-ups closing planned items and roll-over, the iCalendar file, day sheets, policy and
//! calendar files, bad input.

use std::collections::{BTreeSet, HashMap};

use crate::common::*;

const AS_OF: &str = "2026-06-30"; // a Tuesday; the tape's as-of date

fn example_env() -> Env {
    let env = Env::new();
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    env
}

fn plan_csv(env: &Env, extra: &[&str]) -> (Vec<HashMap<String, String>>, String, String) {
    let mut args = vec!["schedule-visits", "--as-of", AS_OF, "--format", "csv"];
    if !extra.contains(&"--to") {
        args.extend_from_slice(&["--days", "5"]);
    }
    args.extend_from_slice(extra);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    (csv_rows(&out), out, err)
}

const COLUMNS: &str = "date,officer,kind,borrower_id,borrower,region,branch,loans,reason,priority,\
score_parts,earliest,deadline,status,held_by,window,rollover";

#[test]
fn a_week_of_the_example_tape_in_csv() {
    let env = example_env();
    let (rows, out, err) = plan_csv(&env, &[]);
    assert_eq!(out.lines().next().unwrap(), COLUMNS);
    assert!(!rows.is_empty());
    let days: BTreeSet<&str> = [
        "2026-06-30",
        "2026-07-01",
        "2026-07-02",
        "2026-07-03",
        "2026-07-06",
    ]
    .into_iter()
    .collect();
    for r in &rows {
        if r["date"].is_empty() {
            assert_eq!(r["status"], "unplanned");
            assert!(r["deadline"].as_str() <= "2026-07-06", "{r:?}");
        } else {
            assert!(
                days.contains(r["date"].as_str()),
                "not a working day of the plan: {r:?}"
            );
        }
        // Priority is the sum of its parts.
        let sum: i64 = r["score_parts"]
            .split(' ')
            .map(|p| p.split_once('=').unwrap().1.parse::<i64>().unwrap())
            .sum();
        assert_eq!(sum.to_string(), r["priority"], "{r:?}");
        assert_eq!(r["window"], "08:00-22:00");
    }
    // 梁雪 (BR000023): DPD 75, never contacted — verification visit and ladder call today.
    let liang: Vec<_> = rows
        .iter()
        .filter(|r| r["borrower_id"] == "BR000023")
        .collect();
    let visit = liang
        .iter()
        .find(|r| r["kind"] == "visit")
        .expect("a visit");
    assert_eq!(visit["date"], AS_OF);
    assert!(
        visit["reason"].contains("verify_overdue LN2025000025"),
        "{visit:?}"
    );
    assert_eq!(visit["borrower"], "梁*", "masked");
    assert_eq!(visit["officer"], "陈立新");
    let call = liang
        .iter()
        .find(|r| r["kind"] == "call" && r["date"] == AS_OF)
        .unwrap();
    assert!(
        call["reason"].contains("ladder_contact LN2025000025"),
        "{call:?}"
    );
    // One visit per borrower; at most one call per borrower per day.
    let mut seen = BTreeSet::new();
    for r in rows.iter().filter(|r| !r["date"].is_empty()) {
        let key = if r["kind"] == "visit" {
            (r["borrower_id"].clone(), "visit".to_string(), String::new())
        } else {
            (
                r["borrower_id"].clone(),
                "call".to_string(),
                r["date"].clone(),
            )
        };
        assert!(seen.insert(key), "duplicate task {r:?}");
    }
    // Capacity: at most 6 visits per officer and day.
    let mut per: HashMap<(String, String), usize> = HashMap::new();
    for r in rows
        .iter()
        .filter(|r| r["kind"] == "visit" && !r["date"].is_empty())
    {
        *per.entry((r["officer"].clone(), r["date"].clone()))
            .or_default() += 1;
    }
    assert!(per.values().all(|&n| n <= 6), "{per:?}");
    // No PII: neither a full name nor a phone number.
    for raw in ["梁雪", "何志刚", "13641016150"] {
        assert!(!out.contains(raw) && !err.contains(raw), "{raw}");
    }
    // The stderr summary: a line per officer, then the totals.
    assert!(err.contains("schedule-visits 陈立新: "), "{err}");
    assert!(err.contains("deadlines missed"), "{err}");
    assert!(
        err.contains("schedule-visits as of 2026-06-30: 5 working days 2026-06-30..2026-07-06"),
        "{err}"
    );
    assert!(!err.contains("no follow-ups in the ledger"), "{err}");
}

#[test]
fn same_ledger_same_plan_in_table_and_json() {
    let env = example_env();
    let (rows, csv1, _) = plan_csv(&env, &[]);
    let (_, csv2, _) = plan_csv(&env, &[]);
    assert_eq!(csv1, csv2, "byte for byte");
    let (code, out, err) = env.run(&[
        "schedule-visits",
        "--as-of",
        AS_OF,
        "--days",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), rows.len());
    assert_eq!(arr[0]["date"], rows[0]["date"].as_str());
    assert!(arr[0]["priority"].is_i64());
    let keys: Vec<&str> = arr[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys.join(","), COLUMNS);
    let (code, out, err) = env.run(&["schedule-visits", "--as-of", AS_OF, "--days", "5"]);
    assert_eq!(code, 0, "{err}");
    let header = out.lines().nth(1).unwrap();
    for col in [
        "date", "officer", "kind", "borrower", "reason", "priority", "deadline", "held_by",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(out.contains("梁*"));
}

#[test]
fn the_plan_is_saved_a_rerun_replaces_it_and_followups_close_it() {
    let env = example_env();
    let (rows, _, _) = plan_csv(&env, &[]);
    let count = |as_of: &str| {
        env.sql(&format!(
            "SELECT count(*) FROM visit_plan_items WHERE as_of = '{as_of}'"
        ))[0]
            .clone()
    };
    assert_eq!(count(AS_OF), rows.len().to_string());
    plan_csv(&env, &[]);
    assert_eq!(
        count(AS_OF),
        rows.len().to_string(),
        "a rerun replaces the plan"
    );
    assert_eq!(env.sql("SELECT count(*) FROM visit_plans")[0], "1");

    // 陈立新 visits 梁雪 on 06-30 as planned and logs it; nothing else is done.
    let fu = env.write(
        "fu.csv",
        "loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note\n\
         LN2025000025,2026-06-30,visit,陈立新,contacted,,,上门核实\n",
    );
    let (code, _, err) = env.run(&["-q", "import", "followups", s(&fu)]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = env.run(&[
        "schedule-visits",
        "--as-of",
        "2026-07-03",
        "--days",
        "3",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let outcome = |borrower: &str, kind: &str| {
        env.sql(&format!(
            "SELECT outcome, coalesce(done_on, '') FROM visit_plan_items \
             WHERE as_of = '{AS_OF}' AND borrower_id = '{borrower}' AND kind = '{kind}'"
        ))
    };
    assert_eq!(outcome("BR000023", "visit"), vec!["done|2026-06-30"]);
    // A visit planned for 06-30 or 07-01 and not logged is missed; its borrower's next visit rolls over.
    let missed: Vec<String> = env.sql(&format!(
        "SELECT borrower_id FROM visit_plan_items WHERE as_of = '{AS_OF}' AND kind = 'visit' \
         AND outcome = 'missed' ORDER BY borrower_id"
    ));
    assert!(!missed.is_empty());
    let later = csv_rows(&out);
    let rolled: Vec<_> = later
        .iter()
        .filter(|r| r["kind"] == "visit" && missed.contains(&r["borrower_id"]))
        .collect();
    assert!(!rolled.is_empty());
    assert!(
        rolled
            .iter()
            .all(|r| r["rollover"] == "1" && r["score_parts"].contains("rollover=25")),
        "{rolled:?}"
    );
    // Items planned for days after 07-03 stay open.
    let open = env.sql(&format!(
        "SELECT count(*) FROM visit_plan_items WHERE as_of = '{AS_OF}' AND outcome = 'open' AND date < '2026-07-03'"
    ));
    assert_eq!(open[0], "0");
    assert!(err.contains("earlier plans: 1 done"), "{err}");
    // The visited borrower needs no verification visit any more.
    assert!(!later
        .iter()
        .any(|r| r["borrower_id"] == "BR000023" && r["reason"].contains("verify_overdue")));
}

#[test]
fn dry_run_saves_nothing() {
    let env = example_env();
    let before = env.snapshot();
    let (code, _, err) = env.run(&[
        "schedule-visits",
        "--as-of",
        AS_OF,
        "--dry-run",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("would save (dry run, rolled back)"), "{err}");
    assert_eq!(env.sql("SELECT count(*) FROM visit_plan_items")[0], "0");
    assert_eq!(env.snapshot(), before);
}

/// Unfolds RFC 5545 content lines and returns the events as property maps.
fn parse_ics(text: &str) -> Vec<HashMap<String, String>> {
    assert!(text.ends_with("\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a content line over 75 octets: {line:?}");
        assert!(!line.contains('\n'), "a bare LF");
    }
    let unfolded = text.replace("\r\n ", "");
    let mut events = Vec::new();
    let mut cur: Option<HashMap<String, String>> = None;
    let lines: Vec<&str> = unfolded.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0"));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    for l in lines {
        match l {
            "BEGIN:VEVENT" => cur = Some(HashMap::new()),
            "END:VEVENT" => events.push(cur.take().expect("END without BEGIN")),
            _ => {
                if let Some(ev) = cur.as_mut() {
                    let (name, value) = l.split_once(':').expect("NAME:value");
                    ev.insert(name.to_string(), value.to_string());
                }
            }
        }
    }
    events
}

#[test]
fn ics_holds_the_planned_visits_and_parses_back() {
    let env = example_env();
    let ics = env.path("visits.ics");
    let (rows, _, _) = plan_csv(&env, &["--ics", s(&ics)]);
    let text = std::fs::read_to_string(&ics).unwrap();
    let events = parse_ics(&text);
    let visits: Vec<_> = rows
        .iter()
        .filter(|r| r["kind"] == "visit" && !r["date"].is_empty())
        .collect();
    assert_eq!(events.len(), visits.len());
    let uids: BTreeSet<&String> = events.iter().map(|e| &e["UID"]).collect();
    assert_eq!(uids.len(), events.len(), "unique UIDs");
    for (e, r) in events.iter().zip(&visits) {
        assert_eq!(e["DTSTART;VALUE=DATE"], r["date"].replace('-', ""));
        assert!(e["SUMMARY"].contains(&r["borrower_id"]), "{e:?}");
        assert!(
            e["SUMMARY"].contains(&r["borrower"]),
            "masked name in {e:?}"
        );
        assert!(e["DESCRIPTION"].contains("reason: "), "{e:?}");
        assert_eq!(e["DTSTAMP"], "20260630T000000Z");
    }
    assert!(!text.contains("梁雪"));
}

#[test]
fn day_sheets_one_per_officer_and_day_masked_unless_show_pii() {
    let env = example_env();
    let dir = env.path("sheets");
    let (rows, _, _) = plan_csv(&env, &["--sheets", s(&dir)]);
    let want: BTreeSet<String> = rows
        .iter()
        .filter(|r| !r["date"].is_empty())
        .flat_map(|r| ["md", "html"].map(|ext| format!("{}-{}.{ext}", r["date"], r["officer"])))
        .collect();
    let got: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(got, want);
    let sheet = std::fs::read_to_string(dir.join("2026-06-30-陈立新.md")).unwrap();
    assert!(sheet.starts_with("# 2026-06-30 · 陈立新"), "{sheet}");
    assert!(sheet.contains("梁* (BR000023)"), "{sheet}");
    assert!(sheet.contains("DPD: 75"), "{sheet}");
    assert!(sheet.contains("overdue amount: 7,200.00"), "{sheet}");
    assert!(sheet.contains("last contact: none logged"), "{sheet}");
    assert!(sheet.contains("talking points"), "{sheet}");
    assert!(!sheet.contains("梁雪"));
    // The same sheet as a self-contained HTML page: a table of visits and one of calls.
    let page = std::fs::read_to_string(dir.join("2026-06-30-陈立新.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("<h1>2026-06-30 · 陈立新</h1>"), "{page}");
    assert!(page.contains("<h2 id=\"visit\">"), "{page}");
    assert!(page.contains("<td>梁*</td><td>BR000023</td>"), "{page}");
    assert!(page.contains("7,200.00"), "{page}");
    assert!(
        !page.contains("梁雪") && !page.contains("<script"),
        "{page}"
    );
    let dir2 = env.path("sheets-pii");
    let (code, _, err) = env.run(&[
        "schedule-visits",
        "--as-of",
        AS_OF,
        "--days",
        "5",
        "--dry-run",
        "--show-pii",
        "--sheets",
        s(&dir2),
    ]);
    assert_eq!(code, 0, "{err}");
    let sheet = std::fs::read_to_string(dir2.join("2026-06-30-陈立新.md")).unwrap();
    assert!(sheet.contains("梁雪 (BR000023)"), "{sheet}");
}

#[test]
fn print_policy_and_policy_files() {
    let env = Env::new();
    let (code, out, err) = env.run(&["schedule-visits", "--print-policy"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("visits_per_day = 6"));
    assert!(out.contains("contacts_per_7_days = 7"));
    assert!(!env.db().exists(), "printing the policy needs no ledger");
    // A partial policy changes the plan: one visit a day.
    let env = example_env();
    let pol = env.write("policy.toml", "[capacity]\nvisits_per_day = 1\n");
    let (rows, _, _) = plan_csv(&env, &["--policy", s(&pol)]);
    let mut per: HashMap<(String, String), usize> = HashMap::new();
    for r in rows
        .iter()
        .filter(|r| r["kind"] == "visit" && !r["date"].is_empty())
    {
        *per.entry((r["officer"].clone(), r["date"].clone()))
            .or_default() += 1;
    }
    assert!(per.values().all(|&n| n == 1), "{per:?}");
    assert!(rows.iter().any(|r| r["held_by"] == "visits_per_day"));
    let (code, out, _) = env.run(&["schedule-visits", "--print-policy", "--policy", s(&pol)]);
    assert_eq!(
        (code, out.as_str()),
        (0, "[capacity]\nvisits_per_day = 1\n")
    );
    // Bad policies: 78 with file, line and key; a missing one 66. Nothing saved.
    let before = env.sql("SELECT count(*) FROM visit_plan_items");
    for (text, want) in [
        (
            "[capacity]\nvisits_per_day = 0\n",
            "bad.toml line 2, column 1, key capacity.visits_per_day: must be at least 1",
        ),
        (
            "[capacity]\nvisitors = 3\n",
            "bad.toml line 2, column 1, key capacity.visitors: unknown field",
        ),
        (
            "[conduct]\nno_contact_from = \"25:00\"\n",
            "bad.toml line 2, column 1, key conduct.no_contact_from: expected a time",
        ),
    ] {
        let bad = env.write("bad.toml", text);
        let (code, _, err) = env.run(&["schedule-visits", "--as-of", AS_OF, "--policy", s(&bad)]);
        assert_eq!(code, 78, "{err}");
        assert!(err.contains(want), "{err}");
    }
    let (code, _, err) = env.run(&["schedule-visits", "--as-of", AS_OF, "--policy", "nope.toml"]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("nope.toml: no such file"), "{err}");
    assert_eq!(env.sql("SELECT count(*) FROM visit_plan_items"), before);
}

#[test]
fn calendar_files_shape_the_days() {
    let env = example_env();
    let cal = env.write(
        "cal.toml",
        "[[holiday]]\nname = \"test\"\ndate = \"2026-07-01\"\n[[workday]]\ndate = \"2026-07-04\"\n",
    );
    let (rows, _, err) = plan_csv(&env, &["--calendar", s(&cal)]);
    let dates: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["date"].as_str())
        .filter(|d| !d.is_empty())
        .collect();
    assert!(!dates.contains("2026-07-01"), "{dates:?}");
    assert!(dates.is_subset(
        &[
            "2026-06-30",
            "2026-07-02",
            "2026-07-03",
            "2026-07-04",
            "2026-07-06"
        ]
        .into_iter()
        .collect()
    ));
    assert!(
        err.contains("5 working days 2026-06-30..2026-07-06"),
        "{err}"
    );
    // The shipped 2026 calendar loads.
    let cn = root().join("examples/calendars/cn-2026.toml");
    let (code, _, err) = env.run(&[
        "schedule-visits",
        "--as-of",
        "2026-09-30",
        "--days",
        "3",
        "--dry-run",
        "--calendar",
        s(&cn),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 working days 2026-09-30..2026-10-09"),
        "{err}"
    );
    for (text, want) in [
        (
            "[[holiday]]\ndate = \"2026-02-30\"\n",
            "bad.toml line 2, column 8, key holiday.date: the value is not a real date",
        ),
        (
            "[[holiday]]\ndate = \"2026-02-01\"\nday = 3\n",
            "bad.toml line 3, column 1, key holiday.day: unknown field",
        ),
    ] {
        let bad = env.write("bad.toml", text);
        let (code, _, err) = env.run(&["schedule-visits", "--as-of", AS_OF, "--calendar", s(&bad)]);
        assert_eq!(code, 78, "{err}");
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn bad_ranges_exit_2_and_a_missing_ledger_66() {
    let env = example_env();
    for (args, want) in [
        (vec!["--days", "0"], "0 is not in 1..=260"),
        (
            vec!["--from", "2026-07-10", "--to", "2026-07-01"],
            "--to is before --from",
        ),
        (vec!["--from", "2026-06-01"], "--from is before --as-of"),
        (
            vec!["--days", "3", "--to", "2026-07-01"],
            "cannot be used with",
        ),
    ] {
        let mut a = vec!["schedule-visits", "--as-of", AS_OF];
        a.extend(args.iter().copied());
        let (code, _, err) = env.run(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (rows, _, err) = plan_csv(&env, &["--from", "2026-07-02", "--to", "2026-07-03"]);
    assert!(rows
        .iter()
        .all(|r| r["date"].is_empty() || r["date"].as_str() >= "2026-07-02"));
    assert!(
        err.contains("2 working days 2026-07-02..2026-07-03"),
        "{err}"
    );
    let other = Env::new();
    let (code, _, err) = other.run(&["schedule-visits", "--as-of", AS_OF]);
    assert_eq!(code, 66, "{err}");
    assert!(!other.db().exists());
}

#[test]
fn without_followups_it_says_so_once() {
    let env = Env::new();
    let tape = env.copy_dir(&example_tape(), "tape");
    std::fs::remove_file(tape.join("followups.csv")).unwrap();
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    let (rows, _, err) = plan_csv(&env, &[]);
    assert_eq!(
        err.matches("no follow-ups in the ledger: planning from DPD and grade alone")
            .count(),
        1,
        "{err}"
    );
    assert!(rows.iter().any(|r| r["reason"].contains("verify_overdue")));
}

#[test]
fn classify_grades_followup_columns_and_officer_filters() {
    let env = example_env();
    let liang_visit = |rows: &[HashMap<String, String>]| {
        rows.iter()
            .find(|r| r["borrower_id"] == "BR000023" && r["kind"] == "visit")
            .cloned()
            .expect("梁雪's visit")
    };
    // Without a saved classify run the grade is DPD's (75: 关注) and stderr says so.
    let (rows, _, err) = plan_csv(&env, &["--dry-run"]);
    assert!(
        err.contains("no saved classify run for 2026-06-30"),
        "{err}"
    );
    assert!(liang_visit(&rows)["score_parts"].contains("grade=20"));
    // classify grades LN2025000025 次级; saved, the plan uses it.
    let (code, _, err) = env.run(&["classify", "--as-of", AS_OF, "--save", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let (rows, _, err) = plan_csv(&env, &["--dry-run"]);
    assert!(!err.contains("no saved classify run"), "{err}");
    assert!(
        liang_visit(&rows)["score_parts"].contains("grade=40"),
        "{:?}",
        liang_visit(&rows)
    );

    // The follow-up columns: the borrower agreed in April to calls 19:00-21:00; on 06-29 only
    // a third party was reached, which does not make the first contact the ladder asks for.
    let fu = env.write(
        "fu.csv",
        "loan_id,contact_date,contact_time,channel,officer,outcome,promise_date,promise_amount,contact_party,connected,consent_window,note\n\
         LN2025000025,2026-04-10,19:30,phone,陈立新,contacted,,,debtor,true,19:00-21:00,约定晚间联系\n\
         LN2025000025,2026-06-29,10:00,phone,陈立新,contacted,,,third_party,true,,邻居接听\n",
    );
    let (code, _, err) = env.run(&["-q", "import", "followups", s(&fu)]);
    assert_eq!(code, 0, "{err}");
    let (rows, _, _) = plan_csv(&env, &["--dry-run"]);
    let liang: Vec<_> = rows
        .iter()
        .filter(|r| r["borrower_id"] == "BR000023")
        .collect();
    assert!(
        liang.iter().all(|r| r["window"] == "19:00-21:00"),
        "{liang:?}"
    );
    assert!(
        liang
            .iter()
            .any(|r| r["kind"] == "call" && r["reason"].contains("ladder_contact LN2025000025")),
        "{liang:?}"
    );

    // --officer shows that officer's part of the same plan; an unknown one is named.
    let (all, _, _) = plan_csv(&env, &["--dry-run"]);
    let (mine, _, err) = plan_csv(&env, &["--dry-run", "--officer", "陈立新"]);
    let want: Vec<_> = all.iter().filter(|r| r["officer"] == "陈立新").collect();
    assert_eq!(mine.iter().collect::<Vec<_>>(), want);
    assert!(err.contains("schedule-visits 陈立新: "), "{err}");
    assert!(!err.contains("schedule-visits 刘敏: "), "{err}");
    let (none, _, err) = plan_csv(&env, &["--dry-run", "--officer", "陈立心"]);
    assert!(none.is_empty());
    assert!(
        err.contains("no borrower has officer '陈立心' (did you mean: 陈立新"),
        "{err}"
    );
    // The positions follow overdue's convention flags: with 100 days of grace, 梁雪's loan
    // (75 days past due) is not overdue and needs no verification visit.
    let (graced, _, _) = plan_csv(&env, &["--dry-run", "--grace-days", "100"]);
    assert!(!graced
        .iter()
        .any(|r| r["reason"].contains("verify_overdue LN2025000025")));
    let (region, _, _) = plan_csv(&env, &["--dry-run", "--region", "浙江省杭州市"]);
    assert!(!region.is_empty() && region.iter().all(|r| r["region"] == "浙江省杭州市"));
}

#[test]
fn day_sheets_allow_third_parties_only_once_the_borrower_is_unreachable() {
    let env = example_env();
    let dir = env.path("sheets");
    plan_csv(&env, &["--dry-run", "--sheets", s(&dir)]);
    let sheet = std::fs::read_to_string(dir.join("2026-06-30-陈立新.md")).unwrap();
    let liang = &sheet[sheet.find("梁* (BR000023)").unwrap()..];
    let liang = &liang[..liang.find("\n### ").unwrap_or(liang.len())];
    assert!(liang.contains("- who: contact the borrower"), "{liang}");
    // Three unanswered calls to 梁雪 in a row: a guarantor or contact person may be asked to
    // reach her (never told of the debt).
    let fu = env.write(
        "fu.csv",
        "loan_id,contact_date,contact_time,channel,officer,outcome,promise_date,promise_amount,contact_party,connected,note\n\
         LN2025000025,2026-06-24,10:00,phone,陈立新,no_answer,,,debtor,false,\n\
         LN2025000025,2026-06-25,10:00,phone,陈立新,no_answer,,,debtor,false,\n\
         LN2025000025,2026-06-26,10:00,phone,陈立新,no_answer,,,debtor,false,\n",
    );
    let (code, _, err) = env.run(&["-q", "import", "followups", s(&fu)]);
    assert_eq!(code, 0, "{err}");
    let dir = env.path("sheets2");
    plan_csv(&env, &["--dry-run", "--sheets", s(&dir)]);
    let sheet = std::fs::read_to_string(dir.join("2026-06-30-陈立新.md")).unwrap();
    let liang = &sheet[sheet.find("梁* (BR000023)").unwrap()..];
    let liang = &liang[..liang.find("\n### ").unwrap_or(liang.len())];
    assert!(
        liang.contains(
            "a guarantor or contact person may be asked to reach them; never disclose the debt"
        ),
        "{liang}"
    );
    let page = std::fs::read_to_string(dir.join("2026-06-30-陈立新.html")).unwrap();
    assert!(page.contains("never disclose the debt"), "{page}");
}

/// The rule set's restructure observation decides which loans are visited monthly as
/// restructured (`restructured_months`), chosen as `classify` chooses it: `--rules`, else the
/// profile. LN2025000043 (restructured 2026-01-20, first new due date 2026-02-15, every new
/// installment paid on time), visited on 2026-06-03: under cn2023 its observation runs to
/// max(2026-04-15, 2026-02-15 + 12 months) = 2027-02-15, so the next visit is due a month
/// later, 2026-07-03, inside the plan; under a rule set of one period and three months it ended
/// on max(2026-03-15, 2026-05-15) = 2026-05-15, and the visit of a loan graded 正常 is not due
/// within the plan.
#[test]
fn the_rule_sets_observation_decides_which_restructured_loans_are_visited_monthly() {
    let env = example_env();
    let f = env.write(
        "visit.csv",
        "loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note\n\
         LN2025000043,2026-06-03,visit,刘芳,contacted,,,上门回访\n",
    );
    let (code, _, err) = env.run(&["-q", "import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    let (code, cn2023, err) = env.run(&["classify", "--print-rules", "cn2023"]);
    assert_eq!(code, 0, "{err}");
    assert!(cn2023.contains("\nmin_periods = 2\nmin_months = 12\n"));
    env.write(
        "short.toml",
        cn2023
            .replace("name = \"cn2023\"", "name = \"short\"")
            .replace(
                "\nmin_periods = 2\nmin_months = 12\n",
                "\nmin_periods = 1\nmin_months = 3\n",
            ),
    );
    let routine = |extra: &[&str]| -> Vec<(String, String)> {
        let (rows, _, _) = plan_csv(&env, &[&["--dry-run"], extra].concat());
        rows.into_iter()
            .filter(|r| r["loans"] == "LN2025000043" && r["reason"] == "routine")
            .map(|r| (r["date"].clone(), r["deadline"].clone()))
            .collect()
    };
    let monthly = vec![("2026-06-30".to_string(), "2026-07-03".to_string())];
    assert_eq!(routine(&[]), monthly, "cn2023 by default");
    let short = env.path("short.toml");
    assert_eq!(routine(&["--rules", s(&short)]), []);
    assert_eq!(routine(&["--rules", "cn2023"]), monthly);
    // The profile beside the ledger, for every command; a flag still beats it.
    env.write("daihou.toml", "[conventions]\nrules = \"short.toml\"\n");
    assert_eq!(routine(&[]), []);
    assert_eq!(routine(&["--rules", "cn2023"]), monthly);
    // Grades saved by classify under another rule set than the plan's: stderr says so once.
    let (code, _, err) = env.run(&[
        "classify", "--as-of", AS_OF, "--rules", "cn2023", "--save", "--format", "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, _, err) = plan_csv(&env, &["--dry-run"]);
    assert_eq!(
        err.matches("the grades are the saved classify run of 2026-06-30 under rule set cn2023; restructure observation is counted under short (--rules cn2023 to match)").count(),
        1,
        "{err}"
    );
    let (_, _, err) = plan_csv(&env, &["--dry-run", "--rules", "cn2023"]);
    assert!(!err.contains("under rule set"), "{err}");
}
