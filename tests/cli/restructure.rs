//! Restructures: `import restructures` (versions, cancellation, bad rows), `overdue` across
//! versions, and `daihou restructure` (the menu, one option, the round trip into import).
//!
//! The loan is the hand-worked example of src/restructure: 120,000 at 6 % over 36 months,
//! annuity 3650.63, drawn 2025-01-15; installments 1-9 paid on their due dates, 10-12 unpaid.

use crate::common::*;

const LOANS: &str = "loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,principal,annual_rate,origination_date,term_months,repayment_method,collateral,phone,id_number
L1,B1,张三,individual,浙江省杭州市,西湖支行,陈立新,个人经营贷款,CNY,120000.00,6,2025-01-15,36,annuity,信用,13800000000,330106198304234540
L2,B2,李四,individual,浙江省杭州市,西湖支行,陈立新,个人消费贷款,CNY,1200.00,0,2025-01-15,2,annuity,信用,13800000001,330106198304234541
";

const RESTRUCTURE_HEADER: &str = "loan_id,restructure_id,effective_date,kind,reason,new_principal,new_annual_rate,new_term_months,new_method,holiday_months,interest_only_months\n";

/// Due dates of L1's installments 1-9 (the 15th of 2025-02 .. 2025-10) and L2's two.
fn repayments() -> String {
    let mut s = String::from("txn_id,loan_id,paid_on,amount,channel,reverses_txn_id\n");
    for m in 2..=10 {
        s.push_str(&format!("T{m},L1,2025-{m:02}-15,3650.63,代扣,\n"));
    }
    s.push_str("U1,L2,2025-02-15,600.00,代扣,\nU2,L2,2025-03-15,600.00,代扣,\n");
    s
}

fn setup() -> Env {
    let env = Env::new();
    env.write("tape/loans.csv", LOANS);
    env.write("tape/repayments.csv", repayments());
    let (code, _, err) = env.run(&["import", "tape", s(&env.path("tape"))]);
    assert_eq!(code, 0, "{err}");
    env
}

fn import_restructures(env: &Env, name: &str, rows: &str) -> (i32, String, String) {
    let p = env.write(name, format!("{RESTRUCTURE_HEADER}{rows}"));
    env.run(&["import", "restructures", s(&p)])
}

/// `overdue --as-of D --all --format csv`, the row of `loan`.
/// `overdue --installments --all` as of `as_of`: the CSV rows of `loan`.
fn installment_rows(
    env: &Env,
    as_of: &str,
    loan: &str,
) -> Vec<std::collections::HashMap<String, String>> {
    let args = [
        "overdue",
        "--as-of",
        as_of,
        "--installments",
        "--all",
        "--format",
        "csv",
    ];
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    csv_rows(&out)
        .into_iter()
        .filter(|r| r["loan_id"] == loan)
        .collect()
}

fn overdue_row(env: &Env, as_of: &str, loan: &str) -> std::collections::HashMap<String, String> {
    let (code, out, err) = env.run(&["overdue", "--as-of", as_of, "--all", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    csv_rows(&out)
        .into_iter()
        .find(|r| r["loan_id"] == loan)
        .unwrap_or_else(|| panic!("{loan} not listed at {as_of}:\n{out}"))
}

#[test]
fn import_a_restructure_then_overdue_counts_on_the_new_version() {
    let env = setup();
    let before = overdue_row(&env, "2026-01-20", "L1");
    // 2026-01-20 − 2025-11-15 (installment 10) = 66 days.
    assert_eq!(before["dpd"], "66");

    let row = "L1,R1,2026-01-20,capitalisation,hardship,,,36,,,\n";
    let (code, _, err) = import_restructures(&env, "r.csv", row);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("r.csv: 1 rows, 1 new, 0 changed, 0 unchanged"),
        "{err}"
    );
    // 82368.77 not yet due + 9620.00 + 1331.89 arrears = 93320.66 capitalised over 36 months.
    assert_eq!(
        env.sql("SELECT transfer, count(*), sum(s.principal_due) FROM restructures r JOIN restructure_schedule s USING (loan_id, restructure_id)"),
        ["1095189|36|9332066"]
    );
    // The day before E: exactly the old answer. On E: the arrears were capitalised.
    assert_eq!(overdue_row(&env, "2026-01-19", "L1")["dpd"], "65");
    let on = overdue_row(&env, "2026-01-20", "L1");
    assert_eq!(on["dpd"], "0");
    assert_eq!(on["outstanding_principal"], "93320.66");
    assert_eq!(on["max_dpd"], "66");
    // The first new installment (2839.00, 2026-02-15) unpaid: DPD 1 the next day.
    assert_eq!(overdue_row(&env, "2026-02-16", "L1")["dpd"], "1");

    // --installments shows the version of each installment.
    let rows = installment_rows(&env, "2026-02-16", "L1");
    assert_eq!(rows.len(), 12 + 36);
    assert_eq!(
        (rows[11]["version"].as_str(), rows[11]["status"].as_str()),
        ("0", "settled")
    );
    assert_eq!(rows[11]["settled_on"], "2026-01-20");
    assert_eq!(
        (rows[12]["version"].as_str(), rows[12]["status"].as_str()),
        ("1", "overdue")
    );
    assert_eq!(rows[12]["due_date"], "2026-02-15");

    // The same file again: unchanged, nothing written (but the import log).
    let (code, _, err) = import_restructures(&env, "r.csv", row);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 rows, 0 new, 0 changed, 1 unchanged"),
        "{err}"
    );
    assert_eq!(env.sql("SELECT count(*) FROM restructure_log"), ["1"]);
    assert_eq!(env.sql("SELECT count(*) FROM restructure_schedule"), ["36"]);
}

#[test]
fn a_tape_with_restructures_imports_in_one_run() {
    // New loans, their repayments and a restructure in one transaction: the generated schedules
    // are built before the restructure is priced on them.
    let env = Env::new();
    env.write("tape/loans.csv", LOANS);
    env.write("tape/repayments.csv", repayments());
    env.write(
        "tape/restructures.csv",
        format!("{RESTRUCTURE_HEADER}L1,R1,2026-01-20,capitalisation,hardship,,,36,,,\n"),
    );
    let (code, _, err) = env.run(&["import", "tape", s(&env.path("tape"))]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("restructures.csv: 1 rows, 1 new"), "{err}");
    assert_eq!(env.sql("SELECT transfer FROM restructures"), ["1095189"]);
    assert_eq!(
        overdue_row(&env, "2026-01-20", "L1")["outstanding_principal"],
        "93320.66"
    );
}

#[test]
fn a_dry_run_changes_nothing() {
    let env = setup();
    let before = env.snapshot();
    let p = env.write(
        "r.csv",
        format!("{RESTRUCTURE_HEADER}L1,R1,2026-01-20,capitalisation,hardship,,,36,,,\n"),
    );
    let (code, out, err) = env.run(&[
        "--format",
        "csv",
        "import",
        "--dry-run",
        "restructures",
        s(&p),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with(",restructures,1,1,0,0,0\n"), "{out}");
    assert_eq!(env.snapshot(), before, "a dry run changed the ledger");
    assert_eq!(env.sql("SELECT count(*) FROM restructure_schedule"), ["0"]);
}

#[test]
fn a_cancelled_restructure_is_logged_and_the_loan_is_as_before() {
    let env = setup();
    let (code, _, err) = import_restructures(
        &env,
        "r.csv",
        "L1,R1,2026-01-20,extension,hardship,,,36,,,\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(overdue_row(&env, "2026-01-20", "L1")["dpd"], "0");
    let (code, _, err) = import_restructures(
        &env,
        "c.csv",
        "L1,R1,2026-01-20,cancelled,entered by mistake,,,,,,\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 rows, 0 new, 1 changed, 0 unchanged"),
        "{err}"
    );
    assert_eq!(overdue_row(&env, "2026-01-20", "L1")["dpd"], "66");
    // Never deleted: the row and its version stay, flagged, and the log has both events.
    assert_eq!(
        env.sql("SELECT kind, cancelled FROM restructures"),
        ["extension|1"]
    );
    assert_eq!(
        env.sql("SELECT event, reason FROM restructure_log ORDER BY rowid"),
        ["imported|hardship", "cancelled|entered by mistake"]
    );
    // Each event names the file and line it came from.
    assert_eq!(
        env.sql("SELECT file, first_line, last_line FROM restructure_log ORDER BY rowid"),
        [
            format!("{}|2|2", env.path("r.csv").display()),
            format!("{}|2|2", env.path("c.csv").display())
        ]
    );
    // Cancelling again changes nothing.
    let (code, _, err) = import_restructures(
        &env,
        "c.csv",
        "L1,R1,2026-01-20,cancelled,entered by mistake,,,,,,\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 changed, 1 unchanged"), "{err}");
}

#[test]
fn bad_restructure_rows_exit_65_with_file_line_column_and_write_nothing() {
    let env = setup();
    let (code, _, err) = import_restructures(
        &env,
        "ok.csv",
        "L1,R1,2026-01-20,extension,hardship,,,36,,,\n",
    );
    assert_eq!(code, 0, "{err}");
    let snap = env.snapshot();
    let cases: [(&str, &str); 7] = [
        (
            "L1,R2,2024-12-01,extension,x,,,,,,\n",
            "bad.csv line 2, column effective_date: \"2024-12-01\" is not after the loan's origination date 2025-01-15",
        ),
        (
            "L2,R3,2025-06-01,extension,x,,,,,,\n",
            "bad.csv line 2, column effective_date: \"2025-06-01\" is after the loan closed (on 2025-03-15): nothing is left to restructure",
        ),
        (
            "L1,R1,2026-01-20,extension,hardship,,,48,,,\n",
            "bad.csv line 2, column restructure_id: \"R1\" was imported before with other terms (effective 2026-01-20, kind extension)",
        ),
        (
            "L1,R4,2026-01-20,展期,x,,,,,,\n",
            "bad.csv line 2, column kind: \"展期\" is not one of extension, interest_only, holiday, capitalisation, rate_cut, method_change, cancelled",
        ),
        (
            "L1,R5,2026-03-01,capitalisation,x,1000.00,,,,,\n",
            "bad.csv line 2, column new_principal: the new schedule's principal 1000.00 does not cover the remaining principal",
        ),
        (
            "NOPE,R6,2026-03-01,extension,x,,,,,,\n",
            "bad.csv line 2, column loan_id: \"NOPE\" is not a loan in the ledger",
        ),
        (
            "L1,R7,2026-01-10,extension,x,,,,,,\n",
            "bad.csv line 2, column effective_date: \"2026-01-10\" is not after restructure R1 of this loan (effective 2026-01-20)",
        ),
    ];
    for (row, want) in cases {
        let (code, _, err) = import_restructures(&env, "bad.csv", row);
        assert_eq!(code, 65, "{row}: {err}");
        assert!(err.contains(want), "{row}: want `{want}` in:\n{err}");
        assert!(
            !err.contains("张三") && !err.contains("13800000000"),
            "{err}"
        );
        assert_eq!(env.snapshot(), snap, "{row}: the ledger changed");
    }
}

#[test]
fn the_proposal_menu_and_its_figures() {
    let env = setup();
    let (code, out, err) = env.run(&[
        "restructure",
        "L1",
        "--as-of",
        "2026-01-19",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("loan_id L1 at 2026-01-19: DPD 65, arrears 10951.89 (principal 9620.00, interest 1331.89, fee 0.00), outstanding principal 91988.77"),
        "{err}"
    );
    let rows = csv_rows(&out);
    let by = |o: &str| {
        rows.iter()
            .find(|r| r["option"] == o)
            .unwrap_or_else(|| panic!("{o}:\n{out}"))
    };
    assert_eq!(by("current terms")["total_interest"], "5246.44");
    // Hand-worked in src/restructure/proposal.rs.
    let e12 = by("extend 12m");
    assert_eq!(
        (
            e12["installment"].as_str(),
            e12["first_payment"].as_str(),
            e12["npv_given_up"].as_str()
        ),
        ("2505.82", "13457.71", "54.46")
    );
    assert_eq!(e12["arrears"], "carried");
    assert_eq!(by("rate 5%")["npv_given_up"], "834.84");
    assert_eq!(by("capitalise arrears")["kind"], "capitalisation");
    assert_eq!(by("extend 24m")["term_months"], "48");
    assert!(by("interest-only 6m")["grade"].starts_with("at least 关注"));
    // Table output works too.
    let (code, out, _) = env.run(&["restructure", "L1", "--as-of", "2026-01-19"]);
    assert_eq!(code, 0);
    assert!(out.contains("extend 12m"), "{out}");
}

#[test]
fn the_grade_comes_from_the_rule_set_and_the_position_from_the_conventions() {
    let env = setup();
    let menu = |extra: &[&str]| {
        let args = [
            &[
                "restructure",
                "L1",
                "--as-of",
                "2026-01-19",
                "--format",
                "csv",
            ][..],
            extra,
        ]
        .concat();
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 0, "{err}");
        (csv_rows(&out), err)
    };
    // cn2023 (the default): DPD 65 is 关注; restructured → at least 关注 (C16), a miss → 次级 (C17).
    let (rows, err) = menu(&[]);
    assert_eq!(
        rows[1]["grade"],
        "at least 关注 while restructured (cn2023 C16); observation 2026-02-15 to 2027-02-15; a miss in it → 次级 (C17) and a restart"
    );
    // 82368.77 principal overdue … the penalty to 2026-01-19 at 6 % × 1.5 (Σ over the unpaid
    // installments 10-12); without a multiplier there is none.
    assert!(!err.contains("penalty interest 0.00;"), "{err}");
    let (_, err) = menu(&["--penalty-multiplier", "0"]);
    assert!(err.contains("penalty interest 0.00;"), "{err}");
    // A bank's own rule set: observation of 3 periods and 18 months, 次级 during it, 可疑 on a miss.
    let (code, text, err) = env.run(&["classify", "--print-rules", "cn2023"]);
    assert_eq!(code, 0, "{err}");
    let bank = text
        .replace("name = \"cn2023\"", "name = \"bank\"")
        .replace("during = \"关注\"", "during = \"次级\"")
        .replace("missed = \"次级\"", "missed = \"可疑\"")
        .replace("min_periods = 2", "min_periods = 3")
        .replace("min_months = 12", "min_months = 18");
    let p = env.write("bank.toml", bank);
    let (rows, _) = menu(&["--rules", s(&p)]);
    assert_eq!(
        rows[1]["grade"],
        "at least 次级 while restructured (bank C16); observation 2026-02-15 to 2027-08-15; a miss in it → 可疑 (C17) and a restart"
    );
    assert_eq!(rows[1]["observation_end"], "2027-08-15");
    // A rules file that is not there: 66, as classify.
    let (code, _, err) = env.run(&[
        "restructure",
        "L1",
        "--as-of",
        "2026-01-19",
        "--rules",
        "missing.toml",
    ]);
    assert_eq!(code, 66, "{err}");
}

#[test]
fn one_option_round_trips_through_import_into_overdue() {
    let env = setup();
    let args = [
        "restructure",
        "L1",
        "--as-of",
        "2026-01-19",
        "--extend-months",
        "12",
        "--capitalise-arrears",
    ];
    let (code, out, err) = env.run(&[&args[..], &["--schedule", "--format", "csv"]].concat());
    assert_eq!(code, 0, "{err}");
    let sched = csv_rows(&out);
    assert_eq!(sched.len(), 36);
    assert_eq!(sched[0]["due_date"], "2026-02-15");
    assert_eq!(sched[0]["principal_due"], "2372.40");
    assert_eq!(sched[0]["interest_due"], "466.60");

    let (code, out, err) = env.run(&[&args[..], &["--format", "csv"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(RESTRUCTURE_HEADER), "{out}");
    assert!(
        out.contains("L1,L1-R20260120,2026-01-20,capitalisation,negotiated restructure,,,36,,0,0"),
        "{out}"
    );
    let p = env.write("agreed.csv", &out);
    let (code, _, err) = env.run(&["import", "restructures", s(&p)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 new"), "{err}");
    let on = overdue_row(&env, "2026-01-20", "L1");
    assert_eq!(
        (on["dpd"].as_str(), on["outstanding_principal"].as_str()),
        ("0", "93320.66")
    );
    // The imported version is the schedule the proposal showed.
    assert_eq!(
        env.sql(
            "SELECT principal_due, interest_due FROM restructure_schedule WHERE installment_no = 1"
        ),
        ["237240|46660"]
    );
    // Proposing again at the same date ignores the restructure now imported for the next day;
    // a day later the loan is on its new version and current.
    let (code, out, err) = env.run(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"2839.00\"") && out.contains("capitalisation"),
        "{out}"
    );
    let (code, _, err) = env.run(&["restructure", "L1", "--as-of", "2026-01-20"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("DPD 0, arrears 0.00"), "{err}");
}

#[test]
fn unknown_loan_is_66_and_nothing_outstanding_is_0() {
    let env = setup();
    let (code, _, err) = env.run(&["restructure", "NOPE", "--as-of", "2026-01-19"]);
    assert_eq!(code, 66, "{err}");
    assert!(
        err.contains("loan_id NOPE: no such loan in the ledger"),
        "{err}"
    );
    let (code, out, err) = env.run(&["restructure", "L2", "--as-of", "2026-01-19"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("loan_id L2 has nothing outstanding at 2026-01-19 (repaid in full on 2025-03-15): nothing to restructure"),
        "{err}"
    );
    let (code, _, err) = env.run(&["restructure", "L1", "--as-of", "2026-01-19", "--schedule"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_example_tape_restructured_loans() {
    let env = Env::new();
    env.preload_example();
    // Before each effective date: exactly the answer without the restructure.
    assert_eq!(overdue_row(&env, "2026-01-19", "LN2025000043")["dpd"], "65");
    assert_eq!(overdue_row(&env, "2026-01-24", "LN2025000044")["dpd"], "45");
    assert_eq!(overdue_row(&env, "2026-01-25", "LN2025000044")["dpd"], "0");
    // The miss in observation: the new installment due 2026-03-10 unpaid until 2026-03-25.
    assert_eq!(overdue_row(&env, "2026-03-24", "LN2025000044")["dpd"], "14");
    for (loan, outstanding) in [("LN2025000043", "81339.46"), ("LN2025000044", "27431.83")] {
        let r = overdue_row(&env, "2026-06-30", loan);
        assert_eq!(
            (r["dpd"].as_str(), r["outstanding_principal"].as_str()),
            ("0", outstanding)
        );
    }
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--installments",
        "--all",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let late: Vec<String> = csv_rows(&out)
        .into_iter()
        .filter(|r| {
            r["loan_id"] == "LN2025000044"
                && r["version"] == "1"
                && r["days_late"] != "0"
                && r["status"] == "settled"
        })
        .map(|r| {
            format!(
                "{} {} {}",
                r["installment_no"], r["due_date"], r["days_late"]
            )
        })
        .collect();
    assert_eq!(late, ["2 2026-03-10 15"]);
}

const SCHEDULE_HEADER: &str =
    "loan_id,restructure_id,installment_no,due_date,principal_due,interest_due,fee_due\n";

/// The bank's own version of R1 (capitalisation at 2026-01-20): 93320.66 in two halves due
/// 2026-03-01 and 2026-04-01, where the generated version would fall due on the 15th from
/// 2026-02-15. 46660.33 × 2 = 93320.66 = 82368.77 not yet due + 10951.89 arrears.
const BANK_VERSION: &str =
    "L1,R1,1,2026-03-01,46660.33,466.60,0.00\nL1,R1,2,2026-04-01,46660.33,233.30,0.00\n";

#[test]
fn an_imported_schedule_version_wins_over_the_generated_one() {
    let env = setup();
    env.write(
        "r1/restructures.csv",
        format!("{RESTRUCTURE_HEADER}L1,R1,2026-01-20,capitalisation,hardship,,,36,,,\n"),
    );
    // A loan's original schedule row and the restructure's rows in one file.
    env.write(
        "r1/schedule.csv",
        format!("{SCHEDULE_HEADER}{BANK_VERSION}"),
    );
    let (code, _, err) = env.run(&["import", "tape", s(&env.path("r1"))]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("schedule.csv: 2 rows, 2 new"), "{err}");
    assert!(err.contains("restructures.csv: 1 rows, 1 new"), "{err}");
    // Kept as the restructure's version, imported (generated = 0); the original untouched.
    assert_eq!(
        env.sql("SELECT count(*), sum(principal_due), max(generated) FROM restructure_schedule"),
        ["2|9332066|0"]
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM schedule WHERE loan_id = 'L1'"),
        ["36"]
    );
    // The arrears were capitalised: 10951.89 taken over at E.
    assert_eq!(env.sql("SELECT transfer FROM restructures"), ["1095189"]);

    // Before E: the old answer. From E: counted on the bank's schedule.
    assert_eq!(overdue_row(&env, "2026-01-19", "L1")["dpd"], "65");
    // 2026-02-16: the generated version would be 1 day late; the bank's first is 2026-03-01.
    assert_eq!(overdue_row(&env, "2026-02-16", "L1")["dpd"], "0");
    let late = overdue_row(&env, "2026-03-02", "L1");
    assert_eq!(
        (
            late["dpd"].as_str(),
            late["overdue_principal"].as_str(),
            late["overdue_interest"].as_str()
        ),
        ("1", "46660.33", "466.60")
    );
    // --installments: 12 original (settled on E, version 0), then the bank's 2 (version 1).
    let rows = installment_rows(&env, "2026-03-02", "L1");
    assert_eq!(rows.len(), 12 + 2);
    assert_eq!(
        (rows[12]["version"].as_str(), rows[12]["due_date"].as_str()),
        ("1", "2026-03-01")
    );

    // The same tape again: nothing changes.
    let (code, _, err) = env.run(&["import", "tape", s(&env.path("r1"))]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("schedule.csv: 2 rows, 0 new, 0 changed, 2 unchanged"),
        "{err}"
    );
    // Other rows for a version imported before: a restructure cannot change.
    let p = env.write(
        "other.csv",
        format!("{SCHEDULE_HEADER}L1,R1,1,2026-03-01,93320.66,700.00,0.00\n"),
    );
    let before = env.snapshot();
    let (code, _, err) = env.run(&["import", "schedule", s(&p)]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("other.csv line 2, column restructure_id: \"R1\" already has an imported schedule version with other rows"),
        "{err}"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_schedule_imported_later_replaces_the_generated_version() {
    let env = setup();
    let (code, _, err) = import_restructures(
        &env,
        "r.csv",
        "L1,R1,2026-01-20,capitalisation,hardship,,,36,,,\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(overdue_row(&env, "2026-02-16", "L1")["dpd"], "1");
    // The generated version as stored: 36 installments of 2839.00 (the last, the residue,
    // 2838.84), so its interest is 35 × 2839.00 + 2838.84 − 93320.66 = 8883.18.
    assert_eq!(
        env.sql("SELECT count(*), sum(principal_due), sum(interest_due), max(generated) FROM restructure_schedule"),
        ["36|9332066|888318|1"]
    );
    let p = env.write("s.csv", format!("{SCHEDULE_HEADER}{BANK_VERSION}"));
    let (code, _, err) = env.run(&["import", "schedule", s(&p)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("s.csv: 2 rows, 0 new, 2 changed, 0 unchanged"),
        "{err}"
    );
    assert_eq!(
        env.sql("SELECT count(*), max(generated) FROM restructure_schedule"),
        ["2|0"]
    );
    // Logged: what replaced what, from which file and lines (2-3: the header is line 1).
    let log = "SELECT event, ifnull(file, ''), first_line, last_line, detail FROM restructure_log ORDER BY rowid";
    let imported = format!("imported|{}|2|2|", env.path("r.csv").display());
    let replaced = format!(
        "schedule_replaced|{}|2|3|generated version (36 installments due 2026-02-15..2029-01-15, \
         principal 93320.66, interest 8883.18, fee 0.00) replaced by the imported version \
         (2 installments due 2026-03-01..2026-04-01, principal 93320.66, interest 699.90, fee 0.00)",
        p.display()
    );
    assert_eq!(env.sql(log), [imported.clone(), replaced.clone()]);
    assert_eq!(
        env.sql("SELECT count(*) FROM restructure_log WHERE logged_at LIKE '20__-__-__T__:__:__Z'"),
        ["2"],
        "every event carries its UTC time (the two imports may fall in different seconds)"
    );
    // Nothing before E moves; from E the bank's schedule counts.
    assert_eq!(overdue_row(&env, "2026-01-19", "L1")["dpd"], "65");
    assert_eq!(overdue_row(&env, "2026-02-16", "L1")["dpd"], "0");
    // 2026-03-02: the bank's installment 1 (due 2026-03-01) is one day late: its principal is
    // half the capitalised 93320.66 = 46660.33, its interest a month on all of it,
    // round(93320.66 × 6 % / 12) = round(466.6033) = 466.60. (The generated version would have
    // had 2026-02-15's 2839.00 overdue, 15 days.)
    let late = overdue_row(&env, "2026-03-02", "L1");
    assert_eq!(
        (
            late["dpd"].as_str(),
            late["overdue_principal"].as_str(),
            late["overdue_interest"].as_str(),
            late["outstanding_principal"].as_str()
        ),
        ("1", "46660.33", "466.60", "93320.66")
    );
    // The same file again: unchanged, and nothing more in the log.
    let (code, _, err) = env.run(&["import", "schedule", s(&p)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("s.csv: 2 rows, 0 new, 0 changed, 2 unchanged"),
        "{err}"
    );
    assert_eq!(env.sql(log), [imported, replaced]);
}

#[test]
fn bad_restructure_schedule_rows_exit_65_naming_the_schedule_line() {
    let env = setup();
    let before = env.snapshot();
    let tape = |name: &str, rows: &str| {
        env.write(
            &format!("{name}/restructures.csv"),
            format!("{RESTRUCTURE_HEADER}L1,R1,2026-01-20,capitalisation,hardship,,,36,,,\n"),
        );
        env.write(
            &format!("{name}/schedule.csv"),
            format!("{SCHEDULE_HEADER}{rows}"),
        );
        let (code, out, err) = env.run(&["import", "tape", s(&env.path(name))]);
        // Messages name the files by the path given; compared without the folder.
        (code, out, unpath(&err, &env.path(name)))
    };
    // Short by 0.01: both sums stated.
    let (code, _, err) = tape(
        "short",
        "L1,R1,1,2026-03-01,46660.33,0,0\nL1,R1,2,2026-04-01,46660.32,0,0\n",
    );
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("schedule.csv line 2, column principal_due: the schedule version of restructure \"R1\" (2 rows): the new schedule's principal 93320.65 does not cover the remaining principal 93320.66"),
        "{err}"
    );
    // Due before the effective date.
    let (code, _, err) = tape(
        "early",
        "L1,R1,1,2026-03-01,46660.33,0,0\nL1,R1,2,2026-01-19,46660.33,0,0\n",
    );
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("schedule.csv line 3, column due_date: \"2026-01-19\" is before the effective date 2026-01-20 of restructure \"R1\""),
        "{err}"
    );
    // A restructure_id neither in the ledger nor in the import.
    let p = env.write(
        "s.csv",
        format!("{SCHEDULE_HEADER}L1,R9,1,2026-03-01,1.00,0,0\n"),
    );
    let (code, _, err) = env.run(&["import", "schedule", s(&p)]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("s.csv line 2, column restructure_id: \"R9\" is not a restructure in the ledger nor in this import"),
        "{err}"
    );
    // The version of R1 given for another loan than its restructures row names.
    let (code, _, err) = tape("other", "L2,R1,1,2026-03-01,93320.66,0,0\n");
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("restructures.csv line 2, column loan_id: \"L1\" is not the loan of the schedule version of restructure_id \"R1\" (L2 in schedule.csv line 2)"),
        "{err}"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_option_with_its_schedule_round_trips_through_a_tape() {
    let env = setup();
    let args = [
        "restructure",
        "L1",
        "--as-of",
        "2026-01-19",
        "--extend-months",
        "12",
        "--capitalise-arrears",
        "--restructure-id",
        "NEG1",
        "--format",
        "csv",
    ];
    let (code, row, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    let (code, sched, err) = env.run(&[&args[..], &["--schedule"]].concat());
    assert_eq!(code, 0, "{err}");
    // The schedule rows carry the restructure_id of the restructures row.
    assert!(
        sched.starts_with(
            "loan_id,restructure_id,installment_no,due_date,principal_due,interest_due,fee_due\n"
        ),
        "{sched}"
    );
    assert!(
        sched.contains("\nL1,NEG1,1,2026-02-15,2372.40,466.60,0.00\n"),
        "{sched}"
    );
    env.write("agreed/restructures.csv", &row);
    env.write("agreed/schedule.csv", &sched);
    let (code, _, err) = env.run(&["import", "tape", s(&env.path("agreed"))]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("schedule.csv: 36 rows, 36 new"), "{err}");
    assert!(err.contains("restructures.csv: 1 rows, 1 new"), "{err}");
    // Stored as the bank's own version, the rows the proposal showed.
    assert_eq!(
        env.sql("SELECT count(*), sum(principal_due), max(generated) FROM restructure_schedule WHERE restructure_id = 'NEG1'"),
        ["36|9332066|0"]
    );
    assert_eq!(overdue_row(&env, "2026-01-19", "L1")["dpd"], "65");
    let on = overdue_row(&env, "2026-01-20", "L1");
    assert_eq!(
        (on["dpd"].as_str(), on["outstanding_principal"].as_str()),
        ("0", "93320.66")
    );
    // 2839.00 = 2372.40 + 466.60 due 2026-02-15, unpaid: DPD 1 the next day.
    let late = overdue_row(&env, "2026-02-16", "L1");
    assert_eq!(
        (late["dpd"].as_str(), late["overdue_principal"].as_str()),
        ("1", "2372.40")
    );
}
