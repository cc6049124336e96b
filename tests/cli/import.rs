//! `daihou import`: happy path, idempotent rerun, dry run, bad rows, encodings, mappings.

use std::path::Path;

use crate::common::*;

const TAPE_FILES: [&str; 7] = [
    "loans.csv",
    "schedule.csv",
    "repayments.csv",
    "followups.csv",
    "restructures.csv",
    "overrides.csv",
    "events.csv",
];

/// The two loans whose schedule examples/tape/schedule.csv supplies (see its README).
const SUPPLIED: [&str; 2] = ["LN2024000013", "LN2025000027"];

fn import_fixture(name: &str) -> std::path::PathBuf {
    fixture("import").join(name)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// examples/tape/loans.csv with the officer of LN2023000001 changed.
fn loans_with_new_officer() -> String {
    let text = read(&example_tape().join("loans.csv"));
    let old = "LN2023000001,BR000018,何志刚,individual,浙江省杭州市,杭州西湖支行,陈立新,";
    let new = "LN2023000001,BR000018,何志刚,individual,浙江省杭州市,杭州西湖支行,林晓燕,";
    assert!(
        text.contains(old),
        "examples/tape/loans.csv changed; update this test"
    );
    text.replace(old, new)
}

#[test]
fn imports_the_example_tape_with_counts_and_generated_schedules() {
    let env = Env::new();
    let (code, out, err) = env.run(&["import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "import writes no data to stdout");
    for (file, n) in [
        ("loans.csv", 44),
        ("schedule.csv", 44),
        ("repayments.csv", 742),
        ("followups.csv", 27),
        ("restructures.csv", 2),
    ] {
        let want = format!("{file}: {n} rows, {n} new, 0 changed, 0 unchanged");
        assert!(err.contains(&want), "missing `{want}` in:\n{err}");
    }
    assert!(
        err.contains("import: generated repayment schedules for 42 loans"),
        "{err}"
    );
    assert!(!err.contains("error"), "{err}");

    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["44"]);
    assert_eq!(env.sql("SELECT count(*) FROM repayments"), ["742"]);
    assert_eq!(env.sql("SELECT count(*) FROM followups"), ["27"]);
    // The supplied schedules are kept as imported, and only they.
    assert_eq!(
        env.sql(
            "SELECT loan_id, count(*) FROM schedule_v WHERE source = 'imported' \
             GROUP BY loan_id ORDER BY loan_id"
        ),
        ["LN2024000013|36", "LN2025000027|8"]
    );
    // Every other loan has a generated schedule, and no loan mixes the two sources.
    assert_eq!(
        env.sql(
            "SELECT count(DISTINCT loan_id), count(*) FROM schedule_v WHERE source = 'generated'"
        ),
        ["42|3779"]
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT count(*) FROM schedule_v WHERE source = 'generated' AND loan_id IN ('{}', '{}')",
            SUPPLIED[0], SUPPLIED[1]
        )),
        ["0"]
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM loans WHERE loan_id NOT IN (SELECT loan_id FROM schedule)"),
        ["0"]
    );
    // The quarterly loan gets 8 installments for its 24 months.
    assert_eq!(
        env.sql("SELECT count(*) FROM schedule WHERE loan_id = 'LN2025000024'"),
        ["8"]
    );
}

#[test]
fn imports_the_example_tape_and_a_rerun_changes_nothing() {
    let env = Env::new();
    let tape = example_tape();
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("loans.csv: 44 rows, 44 new, 0 changed"),
        "{err}"
    );
    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["44"]);
    let before = env.snapshot();
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("loans.csv: 44 rows, 0 new, 0 changed, 44 unchanged"),
        "{err}"
    );
    assert!(
        err.contains("repayments.csv: 742 rows, 0 new, 0 changed, 742 unchanged"),
        "{err}"
    );
    let after = env.snapshot();
    // Only the import log grows.
    assert_eq!(before[..before.len() - 1], after[..after.len() - 1]);
}

#[test]
fn a_changed_row_is_updated_and_counted() {
    let env = Env::new();
    env.preload_example();
    let schedule_before = env.sql("SELECT * FROM schedule ORDER BY loan_id, installment_no");
    let loans = env.write("changed/loans.csv", loans_with_new_officer());
    let (code, out, err) = env.run(&["import", "loans", s(&loans)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("loans.csv: 44 rows, 0 new, 1 changed, 43 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT officer FROM loans WHERE loan_id = 'LN2023000001'"),
        ["林晓燕"]
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM loans WHERE officer = '林晓燕'"),
        ["1"]
    );
    // The contract terms did not change, so the regenerated schedule is the same.
    assert_eq!(
        env.sql("SELECT * FROM schedule ORDER BY loan_id, installment_no"),
        schedule_before
    );
    // And importing the changed file again is a no-op.
    let (code, _, err) = env.run(&["import", "loans", s(&loans)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("loans.csv: 44 rows, 0 new, 0 changed, 44 unchanged"),
        "{err}"
    );
}

#[test]
fn dry_run_leaves_an_existing_ledger_unchanged_and_prints_the_counts() {
    let env = Env::new();
    env.preload_example();
    // A tape with one changed loan and one new repayment.
    let tape = env.copy_dir(&example_tape(), "tape");
    std::fs::write(tape.join("loans.csv"), loans_with_new_officer()).unwrap();
    let mut rep = read(&tape.join("repayments.csv"));
    rep.push_str("T9000000001,LN2023000001,2026-06-30,100.00,代扣,\n");
    std::fs::write(tape.join("repayments.csv"), rep).unwrap();

    let before = env.snapshot();
    let (code, out, err) = env.run(&["--format", "csv", "import", "--dry-run", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.snapshot(), before, "a dry run changed the ledger");
    let t = s(&tape);
    assert_eq!(
        out,
        format!(
            "file,kind,rows,new,changed,unchanged,skipped\n\
             {t}/loans.csv,loans,44,0,1,43,0\n\
             {t}/schedule.csv,schedule,44,0,0,44,0\n\
             {t}/repayments.csv,repayments,743,1,0,742,0\n\
             {t}/followups.csv,followups,27,0,0,27,0\n\
             {t}/restructures.csv,restructures,2,0,0,2,0\n\
             {t}/overrides.csv,overrides,3,0,0,3,0\n\
             {t}/events.csv,events,3,0,0,3,0\n"
        )
    );
    assert!(
        err.contains("import (dry run) ") && err.contains("loans.csv: 44 rows, 0 new, 1 changed"),
        "{err}"
    );
    assert!(
        err.contains("dry run: rolled back, the ledger was not changed"),
        "{err}"
    );

    // The default format is a table on stdout, with the same numbers.
    let (code, out, err) = env.run(&["import", "--dry-run", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.snapshot(), before);
    for word in ["file", "kind", "changed", "repayments", "743"] {
        assert!(out.contains(word), "no `{word}` in table:\n{out}");
    }

    // Without --dry-run the same tape does change it.
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(env.snapshot(), before);
}

#[test]
fn dry_run_without_a_ledger_leaves_no_loans() {
    let env = Env::new();
    assert!(!env.db().exists());
    let (code, out, err) = env.run(&[
        "--format",
        "csv",
        "import",
        "--dry-run",
        "loans",
        s(&example_tape().join("loans.csv")),
    ]);
    assert_eq!(code, 0, "{err}");
    let loans = example_tape().join("loans.csv");
    assert_eq!(
        out,
        format!(
            "file,kind,rows,new,changed,unchanged,skipped\n{},loans,44,44,0,0,0\n",
            s(&loans)
        )
    );
    // The ledger may have been created, but empty.
    if env.db().exists() {
        assert_eq!(env.sql("SELECT count(*) FROM loans"), ["0"]);
        assert_eq!(env.sql("SELECT count(*) FROM schedule"), ["0"]);
        assert_eq!(env.sql("SELECT count(*) FROM imports"), ["0"]);
    }
}

#[test]
fn a_bad_row_exits_65_names_file_line_column_and_writes_nothing() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let bad = import_fixture("bad_amount/repayments.csv");
    let (code, out, err) = env.run(&["import", "repayments", s(&bad)]);
    assert!(
        err.contains(&format!("{} line ", s(&bad))),
        "the file is named by the path given, not its base name: {err}"
    );
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &bad);
    assert_eq!(code, 65, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "daihou: error: repayments.csv line 4, column amount: \"12,3x\" is not a decimal amount\n\
         daihou: error: 1 bad row; nothing was imported\n"
    );
    assert_eq!(env.snapshot(), before);
}

/// Copies examples/tape with good changes in the first files and a bad last row in the last file.
fn tape_with_bad_last_row(env: &Env) -> std::path::PathBuf {
    let tape = env.copy_dir(&example_tape(), "tape");
    std::fs::write(tape.join("loans.csv"), loans_with_new_officer()).unwrap();
    let mut rep = read(&tape.join("repayments.csv"));
    rep.push_str("T9000000001,LN2023000001,2026-06-30,100.00,代扣,\n");
    std::fs::write(tape.join("repayments.csv"), rep).unwrap();
    let mut fu = read(&tape.join("followups.csv"));
    assert_eq!(fu.lines().count(), 28);
    fu.push_str("LN2025000029,2026-06-30,phone,刘敏,promise_to_pay,2026-07-40,100.00,last row\n");
    std::fs::write(tape.join("followups.csv"), fu).unwrap();
    tape
}

#[test]
fn a_bad_last_row_of_the_last_tape_file_rolls_back_everything() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let tape = tape_with_bad_last_row(&env);
    let (code, out, err) = env.run(&["import", "tape", s(&tape)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &tape);
    assert_eq!(code, 65, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "daihou: error: followups.csv line 29, column promise_date: \"2026-07-40\" is not a real date (expected YYYY-MM-DD)\n\
         daihou: error: 1 bad row; nothing was imported\n"
    );
    assert_eq!(env.snapshot(), before, "the good files were committed");
    assert_eq!(
        env.sql("SELECT officer FROM loans WHERE loan_id = 'LN2023000001'"),
        ["陈立新"]
    );
}

#[test]
fn a_bad_last_row_into_a_new_ledger_leaves_no_loans() {
    let env = Env::new();
    let tape = tape_with_bad_last_row(&env);
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("followups.csv line 29, column promise_date"),
        "{err}"
    );
    if env.db().exists() {
        for t in ["loans", "schedule", "repayments", "followups", "imports"] {
            assert_eq!(env.sql(&format!("SELECT count(*) FROM {t}")), ["0"], "{t}");
        }
    }
}

#[test]
fn max_errors_stops_after_that_many() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let bad = import_fixture("repayments_ten_bad.csv");
    let (code, out, err) = env.run(&["import", "--max-errors", "3", "repayments", s(&bad)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &bad);
    assert_eq!(code, 65, "{err}");
    assert_eq!(out, "");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 4, "{err}");
    for (i, l) in lines[..3].iter().enumerate() {
        let want = format!(
            "daihou: error: repayments_ten_bad.csv line {}, column amount: \"{}x\" is not a decimal amount",
            i + 2,
            i + 1
        );
        assert_eq!(*l, want);
    }
    // Issue 15: the rows not shown are counted (was "stopped after 3 errors").
    assert_eq!(
        lines[3],
        "daihou: error: 10 bad rows, 7 more not shown (--max-errors 3); nothing was imported"
    );
    assert_eq!(env.snapshot(), before);

    // The default (20) reports all ten.
    let (code, _, err) = env.run(&["import", "repayments", s(&bad)]);
    assert_eq!(code, 65);
    assert_eq!(error_lines(&err).len(), 11, "{err}");
    assert!(err.contains("line 11, column amount: \"10x\""), "{err}");
    assert!(err.contains("10 bad rows; nothing was imported"), "{err}");
}

#[test]
fn header_problems_are_listed_in_one_message_before_any_row() {
    let env = Env::new();
    let f = import_fixture("loans_bad_header.csv");
    let (code, out, err) = env.run(&["import", "loans", s(&f)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &f);
    assert_eq!(code, 65, "{err}");
    assert_eq!(out, "");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "one message: {err}");
    let l = lines[0];
    assert!(
        l.starts_with(
            "daihou: error: loans_bad_header.csv: header does not match the loans contract: "
        ),
        "{l}"
    );
    assert!(l.contains("missing column(s) region, phone"), "{l}");
    assert!(l.contains("unknown column(s) email"), "{l}");
    // The rows were never looked at.
    for v in [
        "person",
        "oops",
        "2023-02-30",
        "someone@example.com",
        "测试人",
    ] {
        assert!(!err.contains(v), "row value {v} in: {err}");
    }
    if env.db().exists() {
        assert_eq!(env.sql("SELECT count(*) FROM loans"), ["0"]);
    }
}

#[test]
fn a_repayment_for_an_unknown_loan_is_refused() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let f = import_fixture("repayments_unknown_loan.csv");
    let (code, out, err) = env.run(&["import", "repayments", s(&f)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &f);
    assert_eq!(code, 65, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        error_lines(&err),
        [
            "daihou: error: repayments_unknown_loan.csv line 3, column loan_id: \"LN2099999999\" is not a loan in the ledger (import its loans row first)",
            "daihou: error: 1 bad row; nothing was imported",
        ]
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn duplicate_keys_within_a_file_are_refused_naming_both_lines_and_the_columns() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    for (kind, file, msg) in [
        (
            "repayments",
            "repayments_dup_txn.csv",
            "repayments_dup_txn.csv line 2: duplicate key (txn_id T9000000001) with different content on line 5 (different loan_id, paid_on, amount)",
        ),
        (
            "loans",
            "loans_dup.csv",
            "loans_dup.csv line 2: duplicate key (loan_id LN2099000001) with different content on line 4 (different borrower_id, borrower_name, principal, term_months, phone, id_number)",
        ),
    ] {
        let (code, out, err) = env.run(&["import", kind, s(&import_fixture(file))]);
        // Messages name the file as given; compared here without its folder.
        let err = unpath(&err, &import_fixture(file));
        assert_eq!(code, 65, "{file}: {err}");
        assert_eq!(out, "");
        assert_eq!(
            error_lines(&err),
            [
                format!("daihou: error: {msg}"),
                "daihou: error: 1 bad row; nothing was imported".to_string()
            ],
            "{file}"
        );
        assert_eq!(env.snapshot(), before, "{file}");
    }
}

/// Issue 10: a schedule row repeated byte for byte (lines 2 and 4 of the fixture) is imported
/// once, with one warning naming its lines. (Before, it was refused as a duplicate key.)
#[test]
fn a_schedule_row_repeated_byte_for_byte_is_imported_once() {
    let env = Env::new();
    env.preload_example();
    let (code, _, err) = env.run(&["import", "schedule", s(&import_fixture("schedule_dup.csv"))]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &import_fixture("schedule_dup.csv"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("import: warning: schedule_dup.csv lines 2, 4: the same row (loan_id LN2023000001, installment_no 1) repeated; imported once"),
        "{err}"
    );
    assert_eq!(
        env.sql(
            "SELECT count(*) FROM schedule WHERE loan_id = 'LN2023000001' AND installment_no = 1"
        ),
        ["1"]
    );
}

/// Issue 10: two identical follow-ups are two contacts (collectors dial several times a day).
/// (Before, the file was refused as holding a duplicate.)
#[test]
fn two_different_followups_on_one_day_and_two_identical_ones_are_all_contacts() {
    let env = Env::new();
    env.preload_example();
    let f = import_fixture("followups_quoted.csv");
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("followups_quoted.csv: 2 rows, 2 new"), "{err}");

    let text = read(&f);
    let (_, first) = text.split_once('\n').unwrap();
    let row = &first[..first.find("\nLN2023000001,2026-06-01,sms").unwrap() + 1];
    let twice = env.write("twice.csv", format!("{text}{row}"));
    let (code, _, err) = env.run(&["import", "followups", s(&twice)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("twice.csv: 3 rows, 1 new, 0 changed, 2 unchanged"),
        "{err}"
    );
    let (code, _, err) = env.run(&["import", "followups", s(&twice)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("twice.csv: 3 rows, 0 new, 0 changed, 3 unchanged"),
        "{err}"
    );
}

fn gbk_loans() -> Vec<u8> {
    let text = read(&example_tape().join("loans.csv"));
    let head: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&head);
    assert!(!unmappable);
    assert_ne!(
        &bytes[..],
        head.as_bytes(),
        "the fixture must not be plain ASCII"
    );
    bytes.into_owned()
}

#[test]
fn gbk_tapes_need_the_encoding_flag() {
    let env = Env::new();
    let f = env.write("loans_gbk.csv", gbk_loans());

    let (code, out, err) = env.run(&["import", "loans", s(&f)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &f);
    assert_eq!(code, 65, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        error_lines(&err),
        ["daihou: error: loans_gbk.csv line 2, field 3: not valid UTF-8; if the tape comes from a GBK system, pass --encoding gbk"]
    );
    if env.db().exists() {
        assert_eq!(env.sql("SELECT count(*) FROM loans"), ["0"]);
    }

    let (code, _, err) = env.run(&["import", "--encoding", "gbk", "loans", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("loans_gbk.csv: 3 rows, 3 new"), "{err}");
    assert_eq!(
        env.sql("SELECT loan_id, borrower_name, branch, officer, product, collateral FROM loans ORDER BY loan_id"),
        [
            "LN2023000001|何志刚|杭州西湖支行|陈立新|个人消费贷款|信用",
            "LN2023000002|张伟|杭州西湖支行|陈立新|个人住房贷款|房产抵押",
            "LN2023000003|林涛|苏州工业园区支行|王建国|汽车贷款|车辆抵押",
        ]
    );
    // gb18030 reads GBK too, and the rerun changes nothing.
    let (code, _, err) = env.run(&["import", "--encoding", "gb18030", "loans", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 rows, 0 new, 0 changed, 3 unchanged"),
        "{err}"
    );
}

#[test]
fn bom_crlf_and_quoted_multiline_fields_import() {
    let env = Env::new();
    // UTF-8 with a byte-order mark.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(std::fs::read(example_tape().join("loans.csv")).unwrap());
    let f = env.write("bom/loans.csv", bom);
    let (code, _, err) = env.run(&["import", "loans", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("loans.csv: 44 rows, 44 new"), "{err}");
    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["44"]);

    // CRLF line endings.
    let crlf = read(&example_tape().join("repayments.csv")).replace('\n', "\r\n");
    let f = env.write("crlf/repayments.csv", crlf);
    let (code, _, err) = env.run(&["import", "repayments", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("repayments.csv: 742 rows, 742 new"), "{err}");
    assert_eq!(
        env.sql("SELECT count(*) FROM repayments WHERE channel LIKE '%' || char(13) || '%' OR reverses_txn_id LIKE '%' || char(13) || '%'"),
        ["0"]
    );
    assert_eq!(
        env.sql("SELECT reverses_txn_id FROM repayments WHERE txn_id = 'T2025000428'"),
        ["T2025000422"]
    );

    // A quoted field holding a comma, a newline and a doubled quote.
    let f = import_fixture("followups_quoted.csv");
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql("SELECT note FROM followups ORDER BY channel"),
        [
            "first call, no answer\nsecond line of the note",
            "sms sent, \"read\""
        ]
    );
}

#[test]
fn reads_standard_input_when_the_file_is_a_dash() {
    let env = Env::new();
    let (code, _, err) = env.run(&["import", "loans", s(&example_tape().join("loans.csv"))]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(example_tape().join("repayments.csv")).unwrap();
    let (code, out, err) = env.run_stdin(&["import", "repayments", "-"], bytes.clone());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("import stdin: 742 rows, 742 new, 0 changed, 0 unchanged"),
        "{err}"
    );
    assert_eq!(env.sql("SELECT count(*) FROM repayments"), ["742"]);
    assert_eq!(
        env.sql("SELECT kind, file, sha256 FROM imports WHERE file = 'stdin'"),
        [format!("repayments|stdin|{}", sha256_hex(&bytes))]
    );
}

#[test]
fn loan_payments_2016_through_its_mapping() {
    let env = Env::new();
    let csv = fixture("real/loan_payments_data_2016.csv");
    let map = root().join("examples/maps/loan_payments_2016.toml");
    let args = ["import", "tape", "--map", s(&map), s(&csv)];
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].contains(": 500 rows, 500 new, 0 changed, 0 unchanged, "),
        "{err}"
    );
    assert!(
        lines[1].contains(": 500 rows, 500 new, 0 changed, 0 unchanged, "),
        "{err}"
    );
    assert!(
        lines[2].contains(": 400 rows, 400 new, 0 changed, 0 unchanged, 100 skipped, "),
        "{err}"
    );
    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["500"]);
    assert_eq!(
        env.sql("SELECT source, count(*), count(DISTINCT loan_id) FROM schedule_v GROUP BY source"),
        ["imported|500|500"]
    );
    assert_eq!(env.sql("SELECT count(*) FROM repayments"), ["400"]);
    assert_eq!(
        env.sql("SELECT kind, rows, new, skipped FROM imports ORDER BY import_id"),
        [
            "loans|500|500|0",
            "schedule|500|500|0",
            "repayments|400|400|100"
        ]
    );
    // Spot-check one row: xqd20166231,PAIDOFF,1000,30,09/08/2016,10/07/2016,9/14/2016 19:31
    assert_eq!(
        env.sql(
            "SELECT principal, origination_date, maturity_date, term_days, repayment_method, status, currency \
             FROM loans WHERE loan_id = 'xqd20166231'"
        ),
        ["100000|2016-09-08|2016-10-07|30|bullet|PAIDOFF|USD"]
    );
    assert_eq!(
        env.sql("SELECT txn_id, paid_on, amount FROM repayments WHERE loan_id = 'xqd20166231'"),
        ["xqd20166231-payoff|2016-09-14|100000"]
    );

    let before = env.snapshot();
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches(" 0 new, 0 changed").count(), 3, "{err}");
    let after = env.snapshot();
    assert_eq!(before[..before.len() - 1], after[..after.len() - 1]);
}

#[test]
fn berka_through_its_mapping_generates_equal_installments() {
    let env = Env::new();
    let path = fixture("real/berka_pkdd99_loan.csv");
    let map = root().join("examples/maps/berka_pkdd99.toml");
    let args = ["import", "loans", "--map", s(&map), s(&path)];
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains(": 682 rows, 682 new, 0 changed, 0 unchanged"),
        "{err}"
    );
    assert!(
        err.contains("generated repayment schedules for 682 loans"),
        "{err}"
    );
    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["682"]);

    // What the ledger holds per loan: installments, min and max installment, first due date.
    let got: std::collections::HashMap<String, String> = env
        .sql(
            "SELECT loan_id, count(*), min(principal_due + interest_due + fee_due), \
             max(principal_due + interest_due + fee_due), min(due_date), \
             sum(generated <> 1), max(installment_no) \
             FROM schedule GROUP BY loan_id",
        )
        .into_iter()
        .map(|r| {
            let (id, rest) = r.split_once('|').unwrap();
            (id.to_string(), rest.to_string())
        })
        .collect();
    assert_eq!(got.len(), 682);

    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(&path)
        .unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let (loan_id, date, amount, duration, payments) =
            (&rec[0], &rec[2], &rec[3], &rec[4], &rec[5]);
        let date = chrono::NaiveDate::parse_from_str(date, "%y%m%d").unwrap();
        let first_due = date.checked_add_months(chrono::Months::new(1)).unwrap();
        let duration: u32 = duration.parse().unwrap();
        let fen: i64 = (payments.parse::<f64>().unwrap() * 100.0).round() as i64;
        assert_eq!(
            i64::from(duration) * fen,
            amount.parse::<i64>().unwrap() * 100,
            "loan {loan_id}: the fixture no longer has amount == duration × payments"
        );
        let want = format!("{duration}|{fen}|{fen}|{first_due}|0|{duration}");
        assert_eq!(got[loan_id], want, "loan {loan_id}");
        n += 1;
    }
    assert_eq!(n, 682);

    let before = env.snapshot();
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(": 682 rows, 0 new, 0 changed, 682 unchanged"),
        "{err}"
    );
    let after = env.snapshot();
    assert_eq!(before[..before.len() - 1], after[..after.len() - 1]);
}

#[test]
fn the_import_log_has_one_row_per_file_with_its_sha256() {
    let env = Env::new();
    env.preload_example();
    let want: Vec<String> = TAPE_FILES
        .iter()
        .map(|f| {
            let p = example_tape().join(f);
            let kind = f.trim_end_matches(".csv");
            let rows = read(&p).lines().count() - 1;
            format!("{kind}|{}|{}|{rows}|{rows}", s(&p), file_sha256(&p))
        })
        .collect();
    assert_eq!(
        env.sql("SELECT kind, file, sha256, rows, new FROM imports ORDER BY import_id"),
        want
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM imports WHERE started_at NOT LIKE '____-__-__T__:__:__Z' OR duration_ms < 0 OR daihou_version = ''"),
        ["0"]
    );
    // A failed import logs nothing.
    let (code, _, _) = env.run(&[
        "import",
        "repayments",
        s(&import_fixture("bad_amount/repayments.csv")),
    ]);
    assert_eq!(code, 65);
    assert_eq!(env.sql("SELECT count(*) FROM imports"), ["7"]);
}

#[cfg(unix)]
#[test]
fn a_ledger_created_by_import_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.preload_example();
    let mode = std::fs::metadata(env.db()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
}

#[test]
fn a_ledger_from_a_newer_daihou_is_refused_and_untouched() {
    let env = Env::new();
    env.preload_example();
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let wal = env.path("ledger.db-wal");
    let had_wal = wal.exists();
    let sha = file_sha256(&env.db());
    let (code, out, err) = env.run(&["import", "tape", s(&example_tape())]);
    assert_eq!(code, 78, "{err}");
    assert_eq!(out, "");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("has schema version 99, newer than this daihou"),
        "{err}"
    );
    assert!(lines[0].contains("the ledger was left untouched"), "{err}");
    assert_eq!(file_sha256(&env.db()), sha, "the ledger's bytes changed");
    assert_eq!(wal.exists(), had_wal);
}

#[test]
fn subcommands_not_built_yet_exit_2() {
    let env = Env::new();
    // classify is built: without a ledger it is 66, and it creates none.
    let (code, _, err) = env.run(&["classify", "--as-of", "2026-06-30"]);
    assert_eq!(code, 66, "{err}");
    // `report` is built, every one of its reports: without a ledger each is 66 and creates none.
    for name in [
        "portfolio",
        "migration",
        "vintage",
        "collections",
        "conduct",
        "management",
    ] {
        let (code, out, err) = env.run(&["report", name, "--from", "2026-01-31"]);
        let want = if matches!(name, "migration" | "collections" | "conduct") {
            66
        } else {
            2 // --from is refused before the ledger is opened
        };
        assert_eq!(code, want, "report {name}: {err}");
        assert_eq!(out, "", "report {name}");
        let (code, _, err) = env.run(&["report", name, "--as-of", "2026-03-31"]);
        let want = if name == "migration" { 2 } else { 66 }; // migration needs --from
        assert_eq!(code, want, "report {name}: {err}");
    }
    assert!(
        !env.db().exists(),
        "a subcommand not built created the ledger"
    );
}

#[test]
fn help_lists_the_subcommands_and_the_exit_codes() {
    let env = Env::new();
    let (code, out, err) = env.run(&["--help"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    for sub in ["import", "classify", "schedule-visits", "overdue", "report"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(sub)),
            "`{sub}` not listed in:\n{out}"
        );
    }
    assert!(out.contains("Exit codes:"), "{out}");
    for code in [
        "0 success",
        "1 unexpected",
        "2 usage",
        "65 invalid input data",
        "66 input or ledger missing",
        "73 cannot create output",
        "75 ledger busy",
        "78 configuration",
    ] {
        assert!(out.contains(code), "no `{code}` in:\n{out}");
    }
}

/// A re-import compares each loan's rows with the ledger; one changed amount is found and
/// counted, the rest of that loan's rows stay unchanged.
#[test]
fn a_changed_repayment_amount_is_found_among_unchanged_rows() {
    let env = Env::new();
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(example_tape().join("repayments.csv")).unwrap();
    let patched = text.replacen(
        "T2023000004,LN2023000001,2023-04-16,3654.78,",
        "T2023000004,LN2023000001,2023-04-16,999.99,",
        1,
    );
    assert_ne!(text, patched);
    let f = env.write("repayments.csv", patched);
    let (code, _, err) = env.run(&["import", "repayments", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("742 rows, 0 new, 1 changed, 741 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT amount FROM repayments WHERE txn_id = 'T2023000004'"),
        ["99999"]
    );
    // Sorted by loan, as core systems usually export: same answer.
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.sort_by_key(|l| l.split(',').nth(1).unwrap_or("").to_string());
    let sorted = format!("{header}\n{}\n", lines.join("\n"));
    let f = env.write("sorted.csv", sorted);
    let (code, _, err) = env.run(&["import", "repayments", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("742 rows, 0 new, 1 changed, 741 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT amount FROM repayments WHERE txn_id = 'T2023000004'"),
        ["365478"]
    );
}

#[test]
fn overrides_and_events_import_idempotently_and_bad_rows_name_line_and_column() {
    let env = Env::new();
    env.preload_example();
    assert_eq!(env.sql("SELECT count(*) FROM overrides"), ["3"]);
    assert_eq!(
        env.sql("SELECT event_id, loan_id IS NULL, borrower_id FROM events ORDER BY event_id"),
        [
            "borrower:BR000031|2026-04-15|npl_elsewhere|1|BR000031",
            "loan:LN2025000029|2026-06-26|technical_delay|0|",
            "loan:LN2025000037|2026-05-20|fund_misuse|0|",
        ]
    );
    // A rerun changes nothing; a changed reason is counted as changed.
    for kind in ["overrides", "events"] {
        let p = example_tape().join(format!("{kind}.csv"));
        let (code, _, err) = env.run(&["import", kind, s(&p)]);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(": 3 rows, 0 new, 0 changed, 3 unchanged"),
            "{err}"
        );
    }
    let changed = env.write(
        "overrides.csv",
        "loan_id,effective_date,grade,reason,analyst,expires_on\n\
         LN2025000025,2026-06-20,substandard,复核后维持,审查岗李明,\n",
    );
    let (code, _, err) = env.run(&["import", "overrides", s(&changed)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(": 1 rows, 0 new, 1 changed, 0 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT grade, reason FROM overrides WHERE loan_id = 'LN2025000025'"),
        ["次级|复核后维持"]
    );

    let before = env.snapshot();
    let cases: &[(&str, &str, &str)] = &[
        (
            "overrides",
            "loan_id,effective_date,grade,reason,analyst\nLN9999,2026-06-01,次级,x,y\n",
            "overrides.csv line 2, column loan_id: \"LN9999\" is not a loan in the ledger",
        ),
        (
            "overrides",
            "loan_id,effective_date,grade,reason,analyst\nLN2025000025,2026-06-01,坏,x,y\n",
            "overrides.csv line 2, column grade: \"坏\" is not a grade",
        ),
        (
            "overrides",
            "loan_id,effective_date,grade,reason,analyst,expires_on\nLN2025000025,2026-06-01,次级,x,y,2026-05-01\n",
            "overrides.csv line 2, column expires_on: \"2026-05-01\" is not after effective_date",
        ),
        (
            "events",
            "loan_id,borrower_id,event_date,code,note\n,BR9999,2026-06-01,fund_misuse,x\n",
            "events.csv line 2, column borrower_id: \"BR9999\" is not a borrower of any loan in the ledger",
        ),
        (
            "events",
            "loan_id,borrower_id,event_date,code,note\nLN2025000025,,2026-06-01,alien_invasion,x\n",
            "events.csv line 2, column code: \"alien_invasion\" is not an event code",
        ),
        (
            "events",
            "loan_id,borrower_id,event_date,code,note\nLN2025000025,BR000023,2026-06-01,fund_misuse,x\n",
            "events.csv line 2, column loan_id: \"LN2025000025\" and borrower_id are both given",
        ),
    ];
    for (kind, body, want) in cases {
        let p = env.write(&format!("{kind}.csv"), body);
        let (code, _, err) = env.run(&["import", kind, s(&p)]);
        assert_eq!(code, 65, "{kind}: {err}");
        assert!(err.contains(want), "{err}\nwanted: {want}");
        assert_eq!(env.snapshot(), before, "nothing written");
    }
}
