//! Import reports what it did and did not do (issue 15 points 3, 8, 11): every bad row up to
//! --max-errors with a count of the rest, unknown loans included; files of a tape folder that
//! are not imported; with -v, the changed keys and columns.

use crate::common::*;

const REP_H: &str = "txn_id,loan_id,paid_on,amount\n";

#[test]
fn every_bad_row_is_reported_unknown_loans_included_and_the_rest_counted() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let f = env.write(
        "rep.csv",
        format!(
            "{REP_H}T9000000001,LNX0000001,2026-06-01,5.00\n\
             T9000000002,LNX0000002,2026-06-01,5.00\n\
             T9000000003,LN2023000001,2026-06-01,1x\n\
             T9000000004,LNX0000003,2026-06-01,5.00\n"
        ),
    );
    let (code, _, err) = env.run(&["import", "repayments", s(&f)]);
    assert_eq!(code, 65, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 5, "{err}");
    for want in [
        "rep.csv line 2, column loan_id: \"LNX0000001\" is not a loan in the ledger",
        "rep.csv line 3, column loan_id: \"LNX0000002\" is not a loan in the ledger",
        "rep.csv line 4, column amount: \"1x\" is not a decimal amount",
        "rep.csv line 5, column loan_id: \"LNX0000003\" is not a loan in the ledger",
    ] {
        assert!(lines.iter().any(|l| l.contains(want)), "{want}: {err}");
    }
    assert_eq!(lines[4], "daihou: error: 4 bad rows; nothing was imported");
    assert_eq!(env.snapshot(), before);

    let (code, _, err) = env.run(&["import", "--max-errors", "2", "repayments", s(&f)]);
    assert_eq!(code, 65, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 3, "{err}");
    assert_eq!(
        lines[2],
        "daihou: error: 4 bad rows, 2 more not shown (--max-errors 2); nothing was imported"
    );
    assert_eq!(env.snapshot(), before);
}

/// A bad loans row is reported once: the rows of other files naming that loan are not
/// reported again as naming an unknown loan.
#[test]
fn a_bad_loan_row_is_not_reported_again_through_its_schedule() {
    let env = Env::new();
    let (code, err) = import_tape_with_loans_edited(
        &env,
        "LN2023000001,BR000018,何志刚,individual,浙江省杭州市,杭州西湖支行,陈立新,个人消费贷款,CNY,",
        "LN2023000001,BR000018,何志刚,individual,浙江省杭州市,杭州西湖支行,陈立新,个人消费贷款,CNYX,",
    );
    assert_eq!(code, 65, "{err}");
    assert_eq!(
        error_lines(&err),
        [
            "daihou: error: loans.csv line 2, column currency: \"CNYX\" is not a three-letter ISO 4217 code such as CNY",
            "daihou: error: 1 bad row; nothing was imported",
        ]
    );
}

#[test]
fn files_of_a_tape_folder_that_are_not_imported_are_named_and_strict_refuses_them() {
    let env = Env::new();
    let tape = env.copy_dir(&example_tape(), "tape");
    let repayments = std::fs::read(tape.join("repayments.csv")).unwrap();
    std::fs::write(tape.join("repayment.csv"), &repayments).unwrap();
    std::fs::write(tape.join("notes.txt"), "hello").unwrap();
    std::fs::write(tape.join(".done"), "x").unwrap();

    let (code, _, err) = env.run(&["import", "--strict", "tape", s(&tape)]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("--strict: not a tape file, would not be imported:")
            && err.contains("repayment.csv")
            && err.contains("notes.txt")
            && !err.contains(".done"),
        "{err}"
    );
    assert!(
        !env.db().exists(),
        "nothing was imported, no ledger created"
    );

    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings[0].contains("notes.txt is not a tape file"),
        "{err}"
    );
    assert!(
        warnings[1].contains("repayment.csv is not a tape file (loans.csv, schedule.csv, repayments.csv, followups.csv, restructures.csv, overrides.csv, events.csv); not imported"),
        "{err}"
    );
    assert!(err.contains("repayments.csv: 742 rows, 742 new"), "{err}");

    // A folder with none of the expected files is an error.
    let other = env.path("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("repayment.csv"), &repayments).unwrap();
    let (code, _, err) = env.run(&["import", "tape", s(&other)]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("no tape files found"), "{err}");
}

#[test]
fn verbose_lists_the_changed_keys_and_columns() {
    let env = Env::new();
    env.preload_example();
    let text = std::fs::read_to_string(example_tape().join("repayments.csv")).unwrap();
    let old = "T2023000002,LN2023000001,2023-03-16,3654.78,代扣,";
    assert!(
        text.contains(old),
        "examples/tape/repayments.csv changed; update this test"
    );
    let line = text.lines().position(|l| l == old).unwrap() + 1;
    let f = env.write(
        "repayments.csv",
        text.replace(old, "T2023000002,LN2023000001,2023-03-17,3654.79,代扣,"),
    );
    let (code, _, err) = env.run(&["-v", "import", "repayments", s(&f)]);
    // Messages name the file as given; compared here without its folder.
    let err = unpath(&err, &f);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 changed"), "{err}");
    assert!(
        err.contains(&format!(
            "daihou: repayments.csv line {line}: txn_id T2023000002 changed: paid_on, amount"
        )),
        "{err}"
    );
    // Without -v, only the counts; the import log keeps them.
    let f2 = env.write("again/repayments.csv", text);
    let (code, _, err) = env.run(&["import", "repayments", s(&f2)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 changed") && !err.contains("changed: "),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT changed FROM imports ORDER BY import_id DESC LIMIT 1"),
        ["1"]
    );
}

/// Loans and followups are written with SQLite's CHECK constraints off (their typed columns
/// are checked by the parser): a value outside a CHECK's list, or an amount that is not
/// positive, is still refused with its file, line and column (exit 65), and nothing is written.
#[test]
fn values_the_schema_checks_are_refused_by_the_import_itself() {
    let env = Env::new();
    let old = "CNY,80000.00,9.0,2023-01-16,24,annuity,monthly,";
    let (code, err) =
        import_tape_with_loans_edited(&env, old, "CNY,0.00,9.0,2023-01-16,24,balloon,monthly,");
    assert_eq!(code, 65, "{err}");
    assert_eq!(
        error_lines(&err),
        [
            "daihou: error: loans.csv line 2, column principal: \"0.00\" must be greater than zero",
            "daihou: error: 1 bad row; nothing was imported",
        ]
    );
    let (code, err) =
        import_tape_with_loans_edited(&env, old, "CNY,80000.00,9.0,2023-01-16,24,balloon,monthly,");
    assert_eq!(code, 65, "{err}");
    assert!(
        error_lines(&err)[0].starts_with(
            "daihou: error: loans.csv line 2, column repayment_method: \"balloon\" is not one of"
        ),
        "{err}"
    );
    assert!(
        !env.db().exists(),
        "nothing was imported, no ledger created"
    );

    env.preload_example();
    let before = env.snapshot();
    let f = env.write(
        "followups.csv",
        "loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note,contact_party\n\
         LN2023000001,2026-06-01,fax,O,contacted,,,,debtor\n\
         LN2023000001,2026-06-02,phone,O,maybe,,,,debtor\n\
         LN2023000001,2026-06-03,phone,O,promise_to_pay,2026-06-10,0.00,,debtor\n\
         LN2023000001,2026-06-04,phone,O,contacted,,,,boss\n\
         LN2023000001,2026-06-05,phone,O,contacted,,,,debtor\n",
    );
    let (code, _, err) = env.run(&["import", "followups", s(&f)]);
    let err = unpath(&err, &f);
    assert_eq!(code, 65, "{err}");
    let lines = error_lines(&err);
    for (i, want) in [
        "followups.csv line 2, column channel: \"fax\" is not one of",
        "followups.csv line 3, column outcome: \"maybe\" is not one of",
        "followups.csv line 4, column promise_amount: \"0.00\" must be greater than zero",
        "followups.csv line 5, column contact_party: \"boss\" is not one of",
    ]
    .into_iter()
    .enumerate()
    {
        assert!(lines[i].contains(want), "{want}: {err}");
    }
    assert_eq!(lines[4], "daihou: error: 4 bad rows; nothing was imported");
    assert_eq!(env.snapshot(), before);
}

/// Imports a copy of the example tape (folder `tape` of `env`, written afresh) whose loans.csv
/// has `old` replaced by `new`: the exit code and stderr, the messages' folder left out.
fn import_tape_with_loans_edited(env: &Env, old: &str, new: &str) -> (i32, String) {
    let tape = env.copy_dir(&example_tape(), "tape");
    let loans = std::fs::read_to_string(tape.join("loans.csv")).unwrap();
    assert!(
        loans.contains(old),
        "examples/tape/loans.csv changed; update this test"
    );
    std::fs::write(tape.join("loans.csv"), loans.replace(old, new)).unwrap();
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    // Messages name the file as given; compared here without its folder.
    (code, unpath(&err, &tape))
}
