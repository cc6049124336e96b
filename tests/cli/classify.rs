//! `daihou classify`: grades of the example tape under each built-in rule set, a bank's own rule
//! file, --print-rules round trip, saved history and --changed, corporate contagion, errors.

use std::collections::HashMap;

use crate::common::*;

fn example_env() -> Env {
    let env = Env::new();
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    env
}

fn by_loan(out: &str) -> HashMap<String, HashMap<String, String>> {
    csv_rows(out)
        .into_iter()
        .map(|r| (r["loan_id"].clone(), r))
        .collect()
}

fn classify(env: &Env, extra: &[&str]) -> HashMap<String, HashMap<String, String>> {
    let mut args = vec!["classify", "--as-of", "2026-06-30", "--format", "csv"];
    args.extend_from_slice(extra);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    by_loan(&out)
}

#[test]
fn example_tape_under_each_built_in_rule_set() {
    let env = example_env();
    // (loan_id, dpd, cn2023, cn2007, cn-card)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // A technical delay (events.csv) excuses DPD 5; cn2007 has no such rule.
        ("LN2025000029", "5", "正常", "关注", "正常"),
        ("LN2024000019", "20", "关注", "关注", "关注"),
        ("LN2024000013", "45", "关注", "关注", "关注"),
        // An analyst's override to 次级 (overrides.csv).
        ("LN2025000025", "75", "次级", "次级", "次级"),
        ("LN2024000023", "100", "次级", "次级", "次级"),
        // An override to 关注 cannot lift it above the DPD floor.
        ("LN2024000015", "207", "次级", "可疑", "损失"),
        // Its override to 关注 expired on 2026-04-10.
        ("LN2024000017", "0", "正常", "正常", "正常"),
        // Fund misuse (events.csv).
        ("LN2025000037", "0", "关注", "关注", "关注"),
    ];
    let sets = ["cn2023", "cn2007", "cn-card"];
    let results: Vec<_> = sets
        .iter()
        .map(|r| classify(&env, &["--rules", r]))
        .collect();
    for &(loan, dpd, a, b, c) in cases {
        for (k, want) in [a, b, c].iter().enumerate() {
            let row = &results[k][loan];
            assert_eq!(row["dpd"], dpd, "{loan}");
            assert_eq!(&row["grade"], want, "{loan} under {}", sets[k]);
        }
    }
    let r = &results[0];
    // Every active loan is listed (closed ones are not), worst grade first.
    assert!(!r.contains_key("LN2024000016"), "closed by prepayment");
    assert_eq!(r["LN2024000015"]["grade_rule"], "C5");
    assert_eq!(
        r["LN2024000015"]["reasons"],
        "C5: dpd 207 > 90 → 次级; override 关注 not applied: hard floor C5 次级 holds; \
         stage 3: dpd 207 > 90, grade 次级"
    );
    assert!(r["LN2024000015"]["override"].starts_with("关注 from 2026-06-28 by 审查岗王芳"));
    assert_eq!(r["LN2025000025"]["grade_rule"], "override");
    assert_eq!(
        r["LN2025000025"]["reasons"],
        "C1: dpd 75 > 0 → 关注; override → 次级; stage 3: grade 次级"
    );
    assert_eq!(
        r["LN2025000029"]["reasons"],
        "C1: dpd 5 ≤ 7 excused by technical_delay 2026-06-26 (no 关注 floor)"
    );
    assert_eq!(
        r["LN2024000017"]["reasons"],
        "override 关注 from 2026-01-10 expired 2026-04-10"
    );
    assert_eq!(r["LN2024000017"]["override"], "");
    // Restructured loans (restructures.csv): in observation (关注), and a miss during it (次级,
    // restarted), on the restructured schedule.
    assert_eq!(r["LN2025000043"]["grade"], "关注");
    assert_eq!(
        r["LN2025000043"]["reasons"],
        "C16: restructured 2026-01-20, observation 2026-02-15 to 2027-02-15 → 关注; \
         stage 2: forborne (in observation), grade 关注 from C16"
    );
    assert_eq!(r["LN2025000044"]["grade"], "次级");
    assert_eq!(r["LN2025000044"]["grade_rule"], "C17");
    assert!(r["LN2025000044"]["reasons"].contains("missed in observation, restarted"));
    assert_eq!(r["LN2025000037"]["grade_rule"], "C2");
    assert_eq!(
        r["LN2025000037"]["stage"], "2",
        "关注 from a rule other than DPD"
    );
    assert!(
        r["LN2024000013"]["reasons"].contains("C4: borrower event npl_elsewhere 2026-04-15 → 关注")
    );
    assert_eq!(r["LN2024000015"]["stage"], "3");
    assert_eq!(r["LN2024000015"]["provision_rate"], "0.3");
    assert_eq!(r["LN2024000015"]["provision"], "8921.09"); // 29736.97 × 30 %, half-up
    assert_eq!(r["LN2025000025"]["stage"], "3", "the override's 次级");
    assert_eq!(r["LN2024000019"]["stage"], "1", "dpd 20");
    assert_eq!(r["LN2024000013"]["stage"], "2", "dpd 45");
    assert_eq!(r["LN2025000029"]["stage"], "1");
    assert_eq!(r["LN2024000017"]["provision_rate"], "0.015");
    assert_eq!(r["LN2024000013"]["borrower_type"], "corporate");
    assert_eq!(r["LN2024000015"]["borrower"], "徐*");
    assert_eq!(results[2]["LN2024000015"]["grade_rule"], "K4");
    // Segments from follow-ups: LN2024000015 broke a promise and had letter/legal follow-ups;
    // LN2025000025 was never contacted.
    assert_eq!(r["LN2025000025"]["segment"], "unknown");
    let segs = ["willing_able", "willing_unable", "unwilling", "unknown"];
    assert!(r
        .values()
        .all(|row| segs.contains(&row["segment"].as_str())));
    // English labels.
    let en = classify(&env, &["--grade-labels", "en"]);
    assert_eq!(en["LN2024000015"]["grade"], "substandard");
    assert_eq!(en["LN2024000017"]["grade"], "pass");
    // The contract columns, in order.
    let (_, out, _) = env.run(&["classify", "--as-of", "2026-06-30", "--format", "csv"]);
    assert_eq!(
        out.lines().next().unwrap(),
        "loan_id,borrower,borrower_id,borrower_type,officer,branch,region,product,dpd,\
         outstanding_principal,grade,stage,previous_grade,previous_stage,grade_rule,reasons,\
         override,eligible_for_upgrade_review,segment,provision_rate,provision"
    );
    // Sorted worst first.
    let first = csv_rows(&out).into_iter().next().unwrap();
    assert_eq!(first["loan_id"], "LN2024000015");
}

#[test]
fn print_rules_round_trips_and_a_bank_file_changes_the_grades() {
    let env = example_env();
    for name in ["cn2023", "cn2007", "cn-card", "ifrs9"] {
        let (code, out, err) = env.run(&["classify", "--print-rules", name]);
        assert_eq!(code, 0, "{err}");
        let built_in = std::fs::read_to_string(root().join(format!("rules/{name}.toml"))).unwrap();
        assert_eq!(out, built_in, "{name}");
    }
    let (_, text, _) = env.run(&["classify", "--print-rules", "cn2023"]);
    let copy = env.write("copy.toml", &text);
    let (_, a, _) = env.run(&["classify", "--as-of", "2026-06-30", "--format", "csv"]);
    let (code, b, err) = env.run(&[
        "classify",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "--rules",
        s(&copy),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(a, b, "the printed rules grade exactly as the built-in ones");

    // A bank that calls 30+ days 次级.
    let bank = env.write(
        "bank.toml",
        text.replacen("name = \"cn2023\"", "name = \"bank\"", 1)
            .replacen("over = 90", "over = 30", 1),
    );
    let r = classify(&env, &["--rules", s(&bank)]);
    assert_eq!(r["LN2024000013"]["grade"], "次级");
    assert_eq!(
        r["LN2024000013"]["reasons"].split(';').next().unwrap(),
        "C5: dpd 45 > 30 → 次级"
    );
    assert_eq!(r["LN2024000019"]["grade"], "关注");

    // Bad files: 78 with file, line and key; a missing one 66; an unknown name 78.
    let cases: &[(&str, String, i32, &str)] = &[
        (
            "unknown_key.toml",
            text.replacen("[contagion]", "[contagion]\ncolour = 1", 1),
            78,
            "key contagion.colour: unknown field `colour`",
        ),
        (
            "unknown_grade.toml",
            text.replacen("grade = \"可疑\"", "grade = \"很差\"", 1),
            78,
            "key dpd.grade: unknown grade \"很差\"",
        ),
        (
            "overlap.toml",
            text.replacen("over = 270", "over = 90", 1),
            78,
            "overlapping DPD ranges",
        ),
        (
            "unreachable.toml",
            text.replacen("grade = \"损失\"", "grade = \"可疑\"", 1),
            78,
            "unreachable rule C13",
        ),
    ];
    for (name, body, code_want, msg) in cases {
        let p = env.write(name, body);
        let (code, out, err) = env.run(&["classify", "--as-of", "2026-06-30", "--rules", s(&p)]);
        assert_eq!(code, *code_want, "{name}: {err}");
        assert!(out.is_empty());
        assert!(
            err.contains(name) && err.contains(" line "),
            "{name}: {err}"
        );
        assert!(err.contains(msg), "{name}: {err}");
    }
    let (code, _, err) = env.run(&["classify", "--as-of", "2026-06-30", "--rules", "nope.toml"]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("nope.toml: no such file"), "{err}");
    let (code, _, err) = env.run(&["classify", "--as-of", "2026-06-30", "--rules", "cn1999"]);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("unknown rule set \"cn1999\""), "{err}");
}

#[test]
fn save_keeps_history_and_changed_lists_the_moves() {
    let env = example_env();
    let run = |args: &[&str]| {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 0, "{err}");
        (out, err)
    };
    run(&["classify", "--as-of", "2026-03-31", "--save"]);
    let (_, err) = run(&["classify", "--as-of", "2026-06-30", "--save"]);
    assert!(err.contains("saved"), "{err}");
    assert!(err.contains("since 2026-03-31:"), "{err}");
    let count = |d: &str| env.sql(&format!("SELECT count(*) FROM grades WHERE as_of = '{d}'"));
    let n = count("2026-06-30");
    // A rerun replaces the date.
    run(&["classify", "--as-of", "2026-06-30", "--save"]);
    assert_eq!(count("2026-06-30"), n);
    assert_eq!(
        env.sql("SELECT as_of, rules, staging FROM grade_runs ORDER BY as_of"),
        ["2026-03-31|cn2023|ifrs9", "2026-06-30|cn2023|ifrs9"]
    );
    // previous_grade and --changed against 2026-03-31. LN2024000023 stopped paying on
    // 2026-03-22 (DPD 9 on 03-31, 100 on 06-30): 关注 → 次级.
    let (out, _) = run(&["classify", "--as-of", "2026-06-30", "--format", "csv"]);
    let r = by_loan(&out);
    assert_eq!(r["LN2024000023"]["previous_grade"], "关注");
    assert_eq!(r["LN2024000023"]["grade"], "次级");
    let (out, _) = run(&[
        "classify",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "--changed",
    ]);
    let changed = by_loan(&out);
    assert!(changed.contains_key("LN2024000023"));
    assert!(changed
        .values()
        .all(|x| x["grade"] != x["previous_grade"] || x["stage"] != x["previous_stage"]));
    // LN2024000017 was 关注 by an override until 2026-04-10; it is 正常 again.
    assert_eq!(changed["LN2024000017"]["previous_grade"], "关注");
    assert_eq!(changed["LN2024000017"]["grade"], "正常");
    assert!(!changed.contains_key("LN2023000002"));
    // Filters.
    let (out, _) = run(&[
        "classify",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "--grade",
        "substandard",
    ]);
    let sub = by_loan(&out);
    assert!(sub.len() >= 2 && sub.values().all(|x| x["grade"] == "次级"));
    let (out, _) = run(&[
        "classify",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "--stage",
        "3",
    ]);
    assert!(csv_rows(&out).iter().all(|x| x["stage"] == "3"));
    // --dry-run leaves the ledger as it was.
    let before = env.snapshot();
    run(&["classify", "--as-of", "2026-05-31", "--save", "--dry-run"]);
    assert_eq!(env.snapshot(), before);
    // A range in one pass: every month end saved, a summary row each.
    let (out, _) = run(&[
        "classify",
        "--from",
        "2026-01-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--format",
        "csv",
    ]);
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[5]["as_of"], "2026-06-30");
    assert_eq!(
        env.sql("SELECT count(*) FROM grade_runs"),
        ["6"],
        "the range replaced 03-31 and 06-30 and added four"
    );
    assert_eq!(count("2026-06-30"), n);
}

/// A corporate borrower with two loans: one small loan > 90 days past due (次级) and one current.
fn contagion_env(small: &str, large: &str) -> Env {
    let env = Env::new();
    let header = "loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,principal,annual_rate,origination_date,term_months,repayment_method,repayment_frequency,collateral,phone,id_number";
    let loans = format!(
        "{header}\n\
         LC1,BC1,甲公司,corporate,浙江省杭州市,杭州西湖支行,陈立新,流动资金贷款,CNY,{small},5.0,2026-01-01,1,bullet,monthly,信用,,\n\
         LC2,BC1,甲公司,corporate,浙江省杭州市,杭州西湖支行,陈立新,流动资金贷款,CNY,{large},5.0,2026-06-01,12,bullet,monthly,信用,,\n\
         LI1,BI1,乙某,individual,浙江省杭州市,杭州西湖支行,陈立新,个人消费贷款,CNY,{small},5.0,2026-01-01,1,bullet,monthly,信用,,\n\
         LI2,BI1,乙某,individual,浙江省杭州市,杭州西湖支行,陈立新,个人消费贷款,CNY,{large},5.0,2026-06-01,12,bullet,monthly,信用,,\n"
    );
    let p = env.write("loans.csv", loans);
    let (code, _, err) = env.run(&["-q", "import", "loans", s(&p)]);
    assert_eq!(code, 0, "{err}");
    env
}

#[test]
fn corporate_contagion_at_exactly_10_percent_and_just_over() {
    // 10000 of 100000 is exactly 10 %: no contagion.
    let env = contagion_env("10000.00", "90000.00");
    let r = classify(&env, &[]);
    assert_eq!(r["LC1"]["grade"], "次级");
    assert_eq!(r["LC2"]["grade"], "正常");
    // 10000.01 of 100000 is just over: every loan of the corporate borrower is 次级; an
    // individual's loans are graded one by one.
    let env = contagion_env("10000.01", "89999.99");
    let r = classify(&env, &[]);
    assert_eq!(r["LC1"]["grade"], "次级");
    assert_eq!(r["LC2"]["grade"], "次级");
    assert_eq!(r["LC2"]["grade_rule"], "C9");
    assert_eq!(
        r["LC2"]["reasons"],
        "C9: borrower: 10.00001% of outstanding principal graded 次级 or worse > 10% → 次级; \
         stage 3: grade 次级"
    );
    assert_eq!(r["LC2"]["stage"], "3");
    assert_eq!(r["LI1"]["grade"], "次级");
    assert_eq!(r["LI2"]["grade"], "正常");
}

/// `report` grading in its own pass applies contagion as classify does: the corporate
/// borrower's current loan raised to 次级, the individual's left alone.
#[test]
fn report_computes_contagion_as_classify_saves_it() {
    let env = contagion_env("10000.01", "89999.99");
    let report = |env: &Env| {
        let (code, out, err) = env.run(&[
            "report",
            "portfolio",
            "--as-of",
            "2026-06-30",
            "--format",
            "csv",
        ]);
        assert_eq!(code, 0, "{err}");
        (out, err)
    };
    let (computed, err) = report(&env);
    assert!(err.contains("grades computed for 2026-06-30"), "{err}");
    let rows = csv_rows(&computed);
    let cell = |grade: &str| {
        rows.iter()
            .find(|r| {
                r["table"] == "by_grade_bucket"
                    && r["classification"] == grade
                    && r["bucket"] == "current"
            })
            .map(|r| (r["loans"].clone(), r["balance"].clone()))
    };
    // 次级 and current: LC2 by contagion (89999.99); 正常 and current: LI2 (89999.99) alone
    assert_eq!(cell("次级"), Some(("1".into(), "89999.99".into())));
    assert_eq!(cell("正常"), Some(("1".into(), "89999.99".into())));
    let h = rows.iter().find(|r| r["table"] == "headline").unwrap();
    // NPL: LC1 10000.01 + LC2 89999.99 + LI1 10000.01 = 110000.01
    assert_eq!(h["npl_balance"], "110000.01");
    let (code, _, err) = env.run(&["-q", "classify", "--as-of", "2026-06-30", "--save"]);
    assert_eq!(code, 0, "{err}");
    env.sql("UPDATE imports SET started_at = '2000-01-01T00:00:00Z'");
    let (read, err) = report(&env);
    assert!(!err.contains("grades computed"), "{err}");
    assert_eq!(read, computed);
}

#[test]
fn an_empty_ledger_prints_an_empty_table() {
    let env = Env::new();
    let header = "loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,principal,annual_rate,origination_date,term_months,repayment_method,repayment_frequency,collateral,phone,id_number\n";
    let p = env.write("loans.csv", header);
    let (code, _, err) = env.run(&["-q", "import", "loans", s(&p)]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = env.run(&["classify", "--as-of", "2026-06-30", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "[]");
    assert!(err.contains("classify 2026-06-30: 0 loans"), "{err}");
}

#[test]
fn a_stage_3_from_contagion_is_remembered_through_its_probation() {
    // LC2 is current; contagion from LC1 (over 90 DPD) puts it in stage 3 on 2026-06-30. LC1 is
    // paid off on 2026-07-10, so from 07-31 no trigger holds for LC2: the stage 3 it had is
    // remembered for six months (until 2026-12-30), from the saved grades or, within a range,
    // from the run's earlier date.
    let with_payoff = || {
        let env = contagion_env("10000.01", "89999.99");
        let p = env.write(
            "repayments.csv",
            "txn_id,loan_id,paid_on,amount,channel,reverses_txn_id\nT1,LC1,2026-07-10,20000.00,柜台,\n",
        );
        let (code, _, err) = env.run(&["-q", "import", "repayments", s(&p)]);
        assert_eq!(code, 0, "{err}");
        env
    };
    let at = |env: &Env, d: &str| {
        let (code, out, err) = env.run(&["classify", "--as-of", d, "--format", "csv"]);
        assert_eq!(code, 0, "{err}");
        by_loan(&out)
    };
    let remembered = "stage 3 (probation): stage 3 last on 2026-06-30, until 2026-12-30";

    // Without a saved history nothing says LC2 was ever in stage 3.
    let env = with_payoff();
    let r = at(&env, "2026-07-31");
    assert!(!r.contains_key("LC1"), "paid off");
    assert_eq!(
        (r["LC2"]["grade"].as_str(), r["LC2"]["stage"].as_str()),
        ("正常", "1")
    );

    // Saved on 06-30, the next run remembers it.
    let (code, _, err) = env.run(&["classify", "--as-of", "2026-06-30", "--save"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql("SELECT stage, stage3_last FROM grades WHERE loan_id = 'LC2'"),
        ["3|2026-06-30"]
    );
    let r = at(&env, "2026-07-31");
    assert_eq!(r["LC2"]["grade"], "正常");
    assert_eq!(r["LC2"]["stage"], "3");
    assert_eq!(r["LC2"]["reasons"], remembered);
    assert_eq!(r["LC2"]["previous_stage"], "3");
    // After six months stage 2, after three more stage 1.
    assert_eq!(at(&env, "2026-12-31")["LC2"]["stage"], "2");
    assert_eq!(at(&env, "2027-03-31")["LC2"]["stage"], "1");

    // In one range run, contagion on the first date (the borrower-level step) is remembered on
    // the later dates.
    let env = with_payoff();
    let (code, _, err) = env.run(&[
        "classify",
        "--from",
        "2026-06-01",
        "--to",
        "2026-08-31",
        "--every",
        "month-end",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql("SELECT as_of, grade, stage, stage3_last, reasons FROM grades WHERE loan_id = 'LC2' ORDER BY as_of"),
        [
            "2026-06-30|次级|3|2026-06-30|C9: borrower: 10.00001% of outstanding principal graded 次级 or worse > 10% → 次级; stage 3: grade 次级".to_string(),
            format!("2026-07-31|正常|3|2026-06-30|{remembered}"),
            format!("2026-08-31|正常|3|2026-06-30|{remembered}"),
        ]
    );
}

#[test]
fn a_bank_staging_file_and_typed_flags() {
    let env = example_env();
    // A bank that calls stage 3 only from DPD > 120 or 可疑: LN2024000023 (DPD 100, 次级) is
    // stage 2 under it, stage 3 under ifrs9; the run records the staging it used.
    let (_, text, _) = env.run(&["classify", "--print-rules", "ifrs9"]);
    let bank = env.write(
        "bank-staging.toml",
        text.replacen("name = \"ifrs9\"", "name = \"bank-s\"", 1)
            .replacen("dpd_over = 90", "dpd_over = 120", 1)
            .replacen("grade_from = \"次级\"", "grade_from = \"可疑\"", 1),
    );
    let r = classify(&env, &[]);
    assert_eq!(r["LN2024000023"]["stage"], "3");
    let r = classify(&env, &["--staging", s(&bank)]);
    assert_eq!(r["LN2024000023"]["grade"], "次级");
    assert_eq!(r["LN2024000023"]["stage"], "2");
    assert!(
        r["LN2024000023"]["reasons"].ends_with("stage 2: dpd 100 > 30"),
        "{}",
        r["LN2024000023"]["reasons"]
    );
    let (code, _, err) = env.run(&[
        "classify",
        "--as-of",
        "2026-06-30",
        "--staging",
        s(&bank),
        "--save",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("under cn2023 / bank-s"), "{err}");
    let runs = env.sql("SELECT staging, conventions FROM grade_runs");
    assert!(runs[0].starts_with("bank-s|{\"engine\":{"), "{runs:?}");
    assert!(runs[0].contains("\"grace_days\":0"), "{runs:?}");
    assert!(runs[0].contains("\"staging\":\"bank-s\""), "{runs:?}");

    // The engine's conventions are overdue's flags: with 7 days' grace LN2025000029 (5 days
    // late) is not overdue, so not 关注 even under cn2007; the run records them.
    let r = classify(&env, &["--rules", "cn2007"]);
    assert_eq!(r["LN2025000029"]["grade"], "关注");
    let r = classify(&env, &["--rules", "cn2007", "--grace-days", "7"]);
    assert_eq!(r["LN2025000029"]["dpd"], "0");
    assert_eq!(r["LN2025000029"]["grade"], "正常");
    let (code, _, err) = env.run(&[
        "classify",
        "--as-of",
        "2026-05-31",
        "--grace-days",
        "7",
        "--save",
    ]);
    assert_eq!(code, 0, "{err}");
    let conv = env.sql("SELECT conventions FROM grade_runs WHERE as_of = '2026-05-31'");
    assert!(conv[0].contains("\"grace_days\":7"), "{conv:?}");

    // Bad values exit 2 from the flag parser, before the ledger is read.
    for (args, msg) in [
        (&["--grade", "bad"][..], "not a grade"),
        (&["--stage", "4"][..], "--stage"),
        (
            &[
                "--from",
                "2026-13-01",
                "--to",
                "2026-12-31",
                "--every",
                "month-end",
            ][..],
            "--from",
        ),
        (
            &[
                "--from",
                "2026-06-30",
                "--to",
                "2026-01-31",
                "--every",
                "month-end",
            ][..],
            "--to is before --from",
        ),
    ] {
        let mut a = vec!["classify"];
        a.extend_from_slice(args);
        let (code, out, err) = env.run(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}
