//! The follow-up log as collectors keep it (issue 10 part 1): identical rows are separate
//! contacts, `followup_id` as key, the new optional columns, the v2 → v3 upgrade; and rows
//! repeated byte for byte in the other tapes.

use crate::common::*;

const FU_H: &str =
    "loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note\n";
const NO_ANSWER: &str = "LN2023000001,2026-06-01,phone,陈立新,no_answer,,,\n";

fn count(env: &Env, sql: &str) -> String {
    env.sql(sql)[0].clone()
}

#[test]
fn identical_followups_are_separate_contacts_and_a_rerun_adds_nothing() {
    let env = Env::new();
    env.preload_example();
    let before = count(&env, "SELECT count(*) FROM followups");
    let two = env.write("calls.csv", format!("{FU_H}{NO_ANSWER}{NO_ANSWER}"));
    let (code, _, err) = env.run(&["import", "followups", s(&two)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("calls.csv: 2 rows, 2 new, 0 changed, 0 unchanged"),
        "{err}"
    );
    let (code, _, err) = env.run(&["import", "followups", s(&two)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("calls.csv: 2 rows, 0 new, 0 changed, 2 unchanged"),
        "{err}"
    );

    // The next day's export holds one more identical dial: exactly one contact more.
    let three = env.write(
        "calls.csv",
        format!("{FU_H}{NO_ANSWER}{NO_ANSWER}{NO_ANSWER}"),
    );
    let (code, _, err) = env.run(&["import", "followups", s(&three)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("calls.csv: 3 rows, 1 new, 0 changed, 2 unchanged"),
        "{err}"
    );
    let n: i64 = count(&env, "SELECT count(*) FROM followups")
        .parse()
        .unwrap();
    assert_eq!(n, before.parse::<i64>().unwrap() + 3);
    assert_eq!(
        env.sql(
            "SELECT count(*) || ' ' || group_concat(DISTINCT connected) FROM followups_v \
             WHERE loan_id = 'LN2023000001' AND contact_date = '2026-06-01'"
        ),
        ["3 false"],
        "an unanswered dial is not connected"
    );
}

#[test]
fn followup_id_is_the_key_when_present() {
    let env = Env::new();
    env.preload_example();
    let h = "followup_id,loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note\n";
    let rows = "D1,LN2023000001,2026-06-01,phone,陈立新,no_answer,,,\n\
                D2,LN2023000001,2026-06-01,phone,陈立新,no_answer,,,\n";
    let f = env.write("dialer.csv", format!("{h}{rows}"));
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("dialer.csv: 2 rows, 2 new"), "{err}");
    assert_eq!(
        env.sql("SELECT followup_id FROM followups WHERE followup_id GLOB 'D*' ORDER BY 1"),
        ["D1", "D2"]
    );
    // The dialer corrects D2: the same key, a changed row.
    let fixed = rows.replace(
        "D2,LN2023000001,2026-06-01,phone,陈立新,no_answer,,,",
        "D2,LN2023000001,2026-06-01,phone,陈立新,contacted,,,回电",
    );
    let f = env.write("dialer.csv", format!("{h}{fixed}"));
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("dialer.csv: 2 rows, 0 new, 1 changed, 1 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT outcome || ' ' || note FROM followups WHERE followup_id = 'D2'"),
        ["contacted 回电"]
    );

    // One id on two different rows of a file is refused, naming both lines and the columns.
    let before = env.snapshot();
    let clash = env.write(
        "clash.csv",
        format!("{h}D7,LN2023000001,2026-06-02,phone,陈立新,no_answer,,,\nD7,LN2023000001,2026-06-03,sms,陈立新,no_answer,,,\n"),
    );
    let (code, _, err) = env.run(&["import", "followups", s(&clash)]);
    let err = unpath(&err, &clash);
    assert_eq!(code, 65, "{err}");
    assert_eq!(
        error_lines(&err),
        [
            "daihou: error: clash.csv line 2: duplicate key (followup_id D7) with different content on line 3 (different contact_date, channel)",
            "daihou: error: 1 bad row; nothing was imported",
        ]
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn the_new_columns_round_trip_through_followups_v() {
    let env = Env::new();
    env.preload_example();
    let f = env.write(
        "log.csv",
        "loan_id,contact_date,contact_time,channel,contact_party,connected,consent_window,officer,outcome,promise_date,promise_amount,note\n\
         LN2023000001,2026-06-01,21:45,wechat,guarantor,true,18:00-21:00,陈立新,promise_to_pay,2026-06-10,500,担保人代为承诺\n\
         LN2023000001,2026-06-02,08:05,app,debtor,,,陈立新,no_answer,,,\n\
         LN2023000001,2026-06-03,,微信,联系人,false,,陈立新,contacted,,,\n",
    );
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql(
            "SELECT contact_date || '|' || ifnull(contact_time, '') || '|' || channel || '|' \
             || ifnull(contact_party, '') || '|' || ifnull(connected, '') || '|' \
             || ifnull(consent_window, '') || '|' || ifnull(promise_amount, '') \
             FROM followups_v WHERE loan_id = 'LN2023000001' AND contact_date BETWEEN '2026-06-01' AND '2026-06-03' ORDER BY contact_date"
        ),
        [
            "2026-06-01|21:45|wechat|guarantor|true|18:00-21:00|500.00",
            "2026-06-02|08:05|app|debtor|false||",
            "2026-06-03||wechat|contact|false||",
        ]
    );
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("log.csv: 3 rows, 0 new, 0 changed, 3 unchanged"),
        "{err}"
    );
    // overdue reads the new channels.
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
}

/// A ledger at schema version 2 (the v1 fixture after its step) with followups, upgraded in
/// place by the first command that opens it (here a reader): every row kept, the new columns there.
#[test]
fn a_version_2_ledger_is_upgraded_in_place_keeping_every_row() {
    let env = Env::new();
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch(&std::fs::read_to_string(fixture("ledger-v1.sql")).unwrap())
        .unwrap();
    conn.execute_batch(daihou::db::migrations::STEPS[0])
        .unwrap();
    conn.execute_batch(
        "PRAGMA user_version = 2;
         INSERT INTO followups (followup_id, loan_id, contact_date, channel, officer, outcome, note)
         VALUES ('x1', 'V1LN0001', '2022-03-21', 'phone', '陈立新', 'no_answer', ''),
                ('x2', 'V1LN0001', '2022-03-21', 'phone', '陈立新', 'no_answer', '');",
    )
    .unwrap();
    drop(conn);
    let facts = |env: &Env| {
        env.sql(
            "SELECT followup_id || '|' || loan_id || '|' || contact_date || '|' || channel || '|' \
             || outcome || '|' || note FROM followups ORDER BY followup_id",
        )
    };
    let before = facts(&env);
    let counts = "SELECT (SELECT count(*) FROM loans) || ' ' || (SELECT count(*) FROM schedule) \
                  || ' ' || (SELECT count(*) FROM repayments) || ' ' || (SELECT count(*) FROM imports)";
    let counts_before = env.sql(counts);
    let (code, _, err) = env.run(&["overdue", "--as-of", "2022-04-01"]);
    assert_eq!(code, 0, "a reader upgrades, then reads: {err}");
    assert!(
        err.contains("from schema version 2 to"),
        "the upgrade is said: {err}"
    );
    assert_eq!(
        env.sql(counts),
        counts_before,
        "the upgrade keeps every row"
    );
    let f = env.write(
        "more.csv",
        format!("{FU_H}V1LN0001,2022-03-22,wechat,陈立新,contacted,,,\n"),
    );
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql("PRAGMA user_version"),
        [daihou::db::migrations::CURRENT.to_string()]
    );
    let after = facts(&env);
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        before.iter().all(|r| after.contains(r)),
        "{before:?} {after:?}"
    );
    let imports_after: Vec<String> = env.sql(counts);
    let (b, a): (Vec<&str>, Vec<&str>) = (
        counts_before[0].split(' ').collect(),
        imports_after[0].split(' ').collect(),
    );
    assert_eq!(&a[..3], &b[..3], "loans, schedule and repayments untouched");
    assert_eq!(
        env.sql("SELECT followup_id || ' ' || ifnull(connected, 'null') FROM followups_v WHERE followup_id GLOB 'x*' ORDER BY 1"),
        ["x1 false", "x2 false"]
    );
}

#[test]
fn a_repayment_repeated_byte_for_byte_is_imported_once_with_one_warning() {
    let env = Env::new();
    env.preload_example();
    let h = "txn_id,loan_id,paid_on,amount\n";
    let row = "T9000000001,LN2023000001,2026-06-01,100.00\n";
    let f = env.write(
        "rep.csv",
        format!("{h}{row}T9000000002,LN2023000001,2026-06-02,100.00\n{row}{row}"),
    );
    let (code, _, err) = env.run(&["import", "repayments", s(&f)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &f);
    assert_eq!(code, 0, "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(
        warnings,
        ["import: warning: rep.csv lines 2, 4, 5: the same row (txn_id T9000000001) repeated; imported once"]
    );
    assert!(
        err.contains("rep.csv: 4 rows, 2 new, 0 changed, 2 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM repayments WHERE txn_id = 'T9000000001'"),
        ["1"]
    );

    // The same key with a different amount and date: refused, naming both lines and columns.
    let before = env.snapshot();
    let f = env.write(
        "rep2.csv",
        format!("{h}T9000000003,LN2023000001,2026-06-01,100.00\nT9000000003,LN2023000001,2026-06-05,120.00\n"),
    );
    let (code, _, err) = env.run(&["import", "repayments", s(&f)]);
    let err = unpath(&err, &f);
    assert_eq!(code, 65, "{err}");
    assert_eq!(
        error_lines(&err),
        [
            "daihou: error: rep2.csv line 2: duplicate key (txn_id T9000000003) with different content on line 3 (different paid_on, amount)",
            "daihou: error: 1 bad row; nothing was imported",
        ]
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn doubtful_identity_fields_are_warnings_that_never_show_the_value() {
    let env = Env::new();
    let text = std::fs::read_to_string(example_tape().join("loans.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (phone, id, kind) = (col("phone"), col("id_number"), col("borrower_type"));
    let mut bad = Vec::new();
    for (k, line) in lines.iter_mut().enumerate().skip(1) {
        let mut f: Vec<String> = line.split(',').map(String::from).collect();
        if f[kind] == "individual" && bad.len() < 2 {
            f[phone] = "0571-8888888".into();
            f[id] = "110105194912310021".into(); // GB 11643's example with a wrong check digit
            bad.push((k + 1, f[phone].clone(), f[id].clone()));
            *line = f.join(",");
        }
    }
    let f = env.write("loans.csv", lines.join("\n") + "\n");
    let (code, _, err) = env.run(&["import", "loans", s(&f)]);
    let err = unpath(&err, &f);
    assert_eq!(code, 0, "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    let (l1, l2) = (bad[0].0, bad[1].0);
    assert!(
        warnings.contains(&format!("import: warning: loans.csv lines {l1}, {l2}, column phone: the value is not an 11-digit mainland mobile number (imported as given)").as_str()),
        "{warnings:?}"
    );
    assert!(
        warnings.contains(&format!("import: warning: loans.csv lines {l1}, {l2}, column id_number: the value is not an 18-character 居民身份证 number with a valid check character (imported as given)").as_str()),
        "{warnings:?}"
    );
    for (_, p, i) in &bad {
        assert!(
            !err.contains(p.as_str()) && !err.contains(i.as_str()),
            "a value leaked: {err}"
        );
    }
    // The example tape itself is clean.
    let env = Env::new();
    let (code, _, err) = env.run(&["import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}
