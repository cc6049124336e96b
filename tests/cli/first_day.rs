//! A new analyst's first day (issue 15): the totals row, `overdue_total`, `--columns`,
//! `--group-by`, `--as-of latest` and the hint when the as-of date is past the tape.

use crate::common::*;

fn example_env() -> Env {
    let env = Env::new();
    env.preload_example();
    env
}

fn csv_rows(out: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let mut rows = vec![r.headers().unwrap().iter().map(String::from).collect()];
    rows.extend(
        r.records()
            .map(|x| x.unwrap().iter().map(String::from).collect::<Vec<_>>()),
    );
    rows
}

fn money(s: &str) -> i64 {
    let (a, b) = s.split_once('.').unwrap_or((s, "00"));
    a.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap()
}

#[test]
fn overdue_total_is_principal_plus_interest_in_the_contract() {
    let env = example_env();
    let (code, out, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out);
    let col = |n: &str| rows[0].iter().position(|c| c == n).unwrap();
    let (p, i, t) = (
        col("overdue_principal"),
        col("overdue_interest"),
        col("overdue_total"),
    );
    assert_eq!(t, i + 1, "overdue_total follows overdue_interest");
    assert_eq!(rows.len(), 7, "6 overdue loans: {out}");
    for r in &rows[1..] {
        assert_eq!(money(&r[t]), money(&r[p]) + money(&r[i]), "{r:?}");
    }
    // CSV carries no totals row: its rows are the contract.
    assert!(!out.lines().any(|l| l.starts_with("total")), "{out}");
}

#[test]
fn the_table_ends_with_a_totals_row() {
    let env = example_env();
    let (code, out, err) = env.run(&["overdue", "--as-of", "2026-06-30"]);
    assert_eq!(code, 0, "{err}");
    let total = out
        .lines()
        .find(|l| l.contains("total (6 rows)"))
        .unwrap_or_else(|| panic!("{out}"));
    // The overdue principal, interest and their sum over the six overdue loans.
    for amount in ["140,388.31", "18,505.36", "158,893.67", "1,477,004.80"] {
        assert!(total.contains(amount), "{amount}: {total}");
    }
    let (_, zh, _) = env.run(&["overdue", "--as-of", "2026-06-30", "--lang", "zh"]);
    assert!(zh.contains("合计（6 行）"), "{zh}");
}

#[test]
fn columns_chooses_and_orders_the_columns_in_every_format() {
    let env = example_env();
    let args = [
        "overdue",
        "--as-of",
        "2026-06-30",
        "--columns",
        "dpd,loan_id",
    ];
    let (code, out, err) = env.run(&[&args[..], &["--format", "csv"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().next(), Some("dpd,loan_id"));
    assert_eq!(out.lines().nth(1), Some("207,LN2024000015"));
    let (_, json, _) = env.run(&[&args[..], &["--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0].as_object().unwrap().len(), 2, "{json}");
    let (_, table, _) = env.run(&args);
    assert!(
        table.contains("loan_id") && !table.contains("borrower"),
        "{table}"
    );

    let (code, _, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--columns",
        "loan_id,nope",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no column \"nope\"") && err.contains("overdue_total"),
        "{err}"
    );
}

#[test]
fn group_by_officer_sums_to_the_book_and_gives_the_overdue_ratio() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--group-by",
        "officer",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("overdue_group_by_officer_csv", out);
    let rows = csv_rows(&out);
    assert_eq!(
        rows[0],
        [
            "as_of",
            "officer",
            "loans",
            "overdue_loans",
            "outstanding_principal",
            "overdue_balance",
            "overdue_principal",
            "overdue_interest",
            "overdue_ratio"
        ]
    );
    let sum = |k: usize| rows[1..].iter().map(|r| money(&r[k])).sum::<i64>();
    assert_eq!(sum(2), 3600, "36 active loans");
    assert_eq!(sum(3), 600, "6 overdue");
    assert_eq!(sum(5), money("1477004.80"));
    let chen = rows.iter().find(|r| r[1] == "陈立新").unwrap();
    assert_eq!((chen[2].as_str(), chen[3].as_str()), ("8", "2"));
    // 1,266,666.64 overdue of 3,848,448.77 outstanding.
    assert!(chen[8].starts_with("0.3291"), "{chen:?}");

    // Filters apply to the groups: one officer's loans per branch.
    let (_, one, _) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--group-by",
        "branch",
        "--officer",
        "陈立新",
        "--format",
        "csv",
    ]);
    let one = csv_rows(&one);
    assert_eq!(
        one[1..].iter().map(|r| money(&r[2])).sum::<i64>(),
        800,
        "{one:?}"
    );
}

#[test]
fn group_by_in_chinese_is_a_table_a_manager_reads() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--group-by",
        "officer",
        "--lang",
        "zh",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("overdue_group_by_officer_zh", out);
    assert!(
        err.contains("截至 2026-06-30：在贷 36 笔，逾期 6 笔"),
        "{err}"
    );
}

#[test]
fn group_by_over_a_range_gives_one_row_per_date_and_group() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--from",
        "2026-05-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--group-by",
        "region",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out);
    assert!(rows[1..].iter().any(|r| r[0] == "2026-05-31"), "{out}");
    assert!(rows[1..].iter().any(|r| r[0] == "2026-06-30"), "{out}");
    assert_eq!(rows[0][1], "region");
}

#[test]
fn the_summary_names_the_balance_of_overdue_loans_and_the_overdue_principal() {
    let env = example_env();
    let (_, _, err) = env.run(&["overdue", "--as-of", "2026-06-30"]);
    assert!(
        err.contains(
            "balance of overdue loans (逾期贷款余额) 1477004.80, overdue principal 140388.31"
        ),
        "{err}"
    );
    assert!(!err.contains("outstanding principal in arrears"), "{err}");
}

#[test]
fn as_of_latest_takes_the_latest_repayment_or_follow_up_and_a_stale_date_is_named() {
    let env = example_env();
    let (code, latest, err) = env.run(&["overdue", "--as-of", "latest", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("overdue as of 2026-06-30:"), "{err}");
    assert!(
        !err.contains("note:"),
        "the latest date is not stale: {err}"
    );
    let (_, explicit, _) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "csv"]);
    assert_eq!(latest, explicit);

    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-12-01"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "as-of 2026-12-01 is 154 days after the latest repayment in the ledger (2026-06-30)"
        ),
        "{err}"
    );
    // Within a week of the tape: no hint.
    let (_, _, err) = env.run(&["overdue", "--as-of", "2026-07-07"]);
    assert!(!err.contains("days after the latest"), "{err}");

    // An empty ledger has no latest date: a data error, not today's date.
    let empty = Env::new();
    let dir = empty.path("tape");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(example_tape().join("loans.csv"), dir.join("loans.csv")).unwrap();
    std::fs::copy(
        example_tape().join("schedule.csv"),
        dir.join("schedule.csv"),
    )
    .unwrap();
    let (code, _, err) = empty.run(&["import", "tape", s(&dir)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = empty.run(&["overdue", "--as-of", "latest"]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("--as-of latest") && err.contains("no repayment or follow-up"),
        "{err}"
    );
}

#[test]
fn positions_v_shows_saved_positions_with_decimals() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--save",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out);
    let first = &rows[1];
    let got = env.sql(&format!(
        "SELECT dpd || ',' || overdue_principal || ',' || overdue_interest || ',' || overdue_total \
         || ',' || sla_breached FROM positions_v WHERE as_of = '2026-06-30' AND loan_id = '{}'",
        first[0]
    ));
    let col = |n: &str| &first[rows[0].iter().position(|c| c == n).unwrap()];
    assert_eq!(
        got,
        [format!(
            "{},{},{},{},{}",
            col("dpd"),
            col("overdue_principal"),
            col("overdue_interest"),
            col("overdue_total"),
            col("sla_breached")
        )]
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM positions_v WHERE as_of = '2026-06-30'"),
        ["36"]
    );
}

#[test]
fn summary_lines_speak_chinese_with_lang_zh_and_english_without() {
    let env = Env::new();
    let (code, _, err) = env.run(&["--lang", "zh", "import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("导入 ") && err.contains("loans.csv：44 行，新增 44，变更 0，未变 0"),
        "{err}"
    );
    assert!(err.contains("按合同生成了 42 笔贷款的还款计划"), "{err}");
    let (_, _, err) = env.run(&["--lang", "en", "import", "tape", s(&example_tape())]);
    assert!(
        err.contains("loans.csv: 44 rows, 0 new, 0 changed, 44 unchanged"),
        "{err}"
    );
    let (_, _, err) = env.run(&[
        "--lang",
        "zh",
        "overdue",
        "--from",
        "2026-04-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
    ]);
    assert!(
        err.contains("逾期：2026-04-30 至 2026-06-30 共 3 个日期"),
        "{err}"
    );
}

#[test]
fn an_unknown_column_exits_2_before_any_work_is_done() {
    // Each of these saves what it computes; the check must come first, so nothing is saved
    // (before it did, the whole pass ran, was saved, and only the output failed).
    let env = example_env();
    for (args, saved) in [
        (&["overdue", "--save"][..], "position_runs"),
        (&["classify", "--save"][..], "grade_runs"),
        (&["schedule-visits"][..], "visit_plans"),
    ] {
        let asked = [args, &["--as-of", "2026-06-30", "--columns", "nope"]].concat();
        let (code, out, err) = env.run(&asked);
        assert_eq!(code, 2, "{asked:?}: {err}");
        assert!(err.contains("no column \"nope\""), "{asked:?}: {err}");
        assert!(out.is_empty(), "{asked:?}: {out}");
        assert_eq!(
            env.sql(&format!("SELECT count(*) FROM {saved}")),
            ["0"],
            "{asked:?} did its work before checking --columns"
        );
    }
    // A dry-run import lists its counts: the check comes before the import reads the tape.
    let tape = example_tape();
    let (code, _, err) = env.run(&[
        "import",
        "--dry-run",
        "--columns",
        "file,nope",
        "tape",
        s(&tape),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no column \"nope\"") && err.contains("unchanged"),
        "{err}"
    );
    assert_eq!(
        err.lines().count(),
        1,
        "the import ran before the check: {err}"
    );
}
