//! The benchmark's pipeline at a small size (20,000 loans): generate, import, re-import,
//! overdue for one date and for a range. Asserts correctness only; scripts/bench.sh times it.

use std::collections::HashSet;

use crate::common::*;

#[test]
fn generated_tape_of_20000_loans_runs_through_import_and_overdue() {
    let env = Env::new();
    let tape = env.path("tape");
    let args = daihou::synth::parse_args(
        [
            "--loans",
            "20000",
            "--seed",
            "7",
            "--as-of",
            "2026-06-30",
            tape.to_str().unwrap(),
        ]
        .map(String::from),
    )
    .unwrap();
    daihou::synth::run(&args).unwrap();

    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("loans.csv: 20000 rows, 20000 new"), "{err}");
    let loans_without_schedule: i64 = env.sql(
        "SELECT count(*) FROM loans l WHERE NOT EXISTS \
         (SELECT 1 FROM schedule s WHERE s.loan_id = l.loan_id AND s.generated = 0)",
    )[0]
    .parse()
    .unwrap();
    assert!(
        loans_without_schedule > 0,
        "the generator leaves ~1 % of loans without a schedule"
    );
    assert_eq!(
        env.sql("SELECT count(DISTINCT loan_id) FROM schedule WHERE generated = 1")[0],
        loans_without_schedule.to_string(),
        "and the import generates exactly those"
    );

    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    for line in err.lines().filter(|l| l.starts_with("import ")) {
        assert!(
            line.contains(" 0 new, 0 changed"),
            "re-import not a no-op: {line}"
        );
    }

    // The loans the generator's own simulation left overdue (status 逾期) are exactly the ones
    // daihou lists.
    let loans = std::fs::read_to_string(tape.join("loans.csv")).unwrap();
    let expected: HashSet<String> = csv_rows(&loans)
        .into_iter()
        .filter(|r| r["status"] == "逾期")
        .map(|r| r["loan_id"].clone())
        .collect();
    assert!(expected.len() > 100, "{}", expected.len());
    let (code, out, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let got: HashSet<String> = csv_rows(&out)
        .into_iter()
        .map(|r| r["loan_id"].clone())
        .collect();
    assert_eq!(got, expected);

    let (code, _, err) = env.run(&[
        "overdue",
        "--from",
        "2025-07-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--save",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.sql("SELECT count(*) FROM position_runs"), ["12"]);
    assert_eq!(
        env.sql("SELECT count(*) FROM positions WHERE as_of = '2026-06-30' AND dpd > 0"),
        [expected.len().to_string()]
    );
}
