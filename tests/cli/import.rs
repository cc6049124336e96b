//! `daihou import`: happy path, idempotent rerun, dry run, bad rows, encodings, mappings.

use crate::common::*;

#[test]
fn imports_the_example_tape_and_a_rerun_changes_nothing() {
    let env = Env::new();
    let tape = example_tape();
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("loans.csv: 42 rows, 42 new, 0 changed"),
        "{err}"
    );
    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["42"]);
    let before = env.snapshot();
    let (code, _, err) = env.run(&["import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("loans.csv: 42 rows, 0 new, 0 changed, 42 unchanged"),
        "{err}"
    );
    assert!(
        err.contains("repayments.csv: 715 rows, 0 new, 0 changed, 715 unchanged"),
        "{err}"
    );
    let after = env.snapshot();
    // Only the import log grows.
    assert_eq!(before[..before.len() - 1], after[..after.len() - 1]);
}
