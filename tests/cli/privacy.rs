//! Privacy of outputs: whose names are masked, and files that hold unmasked PII.

use crate::common::*;

fn example_env() -> Env {
    let env = Env::new();
    env.preload_example();
    env
}

/// Company names are not personal information (对公 collection needs them): shown whole. An
/// individual's name is masked, and every borrower's phone is masked.
#[test]
fn only_individual_names_are_masked() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--all",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out);
    let (mut corporate, mut individual) = (0, 0);
    for row in &rows {
        let id = &row["loan_id"];
        let facts = env.sql(&format!(
            "SELECT borrower_type, borrower_name, phone FROM loans WHERE loan_id = '{id}'"
        ));
        let facts: Vec<&str> = facts[0].split('|').collect();
        let (kind, name, phone) = (facts[0], facts[1], facts[2]);
        match kind {
            "corporate" => {
                corporate += 1;
                assert_eq!(row["borrower"], name, "{id}");
            }
            _ => {
                individual += 1;
                assert_ne!(row["borrower"], name, "{id}");
                assert!(row["borrower"].contains('*'), "{id}");
            }
        }
        assert_ne!(
            row["phone"], phone,
            "{id}: phones are masked for every borrower"
        );
        assert!(row["phone"].contains("****"), "{id}");
    }
    assert!(
        corporate >= 3 && individual >= 20,
        "{corporate} / {individual}"
    );
}

/// `--show-pii -o FILE` writes a file only its owner can read, also over an existing file.
#[cfg(unix)]
#[test]
fn an_output_file_with_unmasked_pii_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let env = example_env();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let pii = env.path("pii.csv");
    std::fs::write(&pii, "old").unwrap();
    chmod(&pii, 0o644);
    std::fs::write(with_suffix(&pii, ".tmp"), "left over").unwrap();
    chmod(&with_suffix(&pii, ".tmp"), 0o644);
    let real_name =
        env.sql("SELECT borrower_name FROM loans WHERE loan_id = 'LN2024000015'")[0].clone();
    for format in ["csv", "json", "table"] {
        let (code, _, err) = env.run(&[
            "overdue",
            "--as-of",
            "2026-06-30",
            "--show-pii",
            "--format",
            format,
            "-o",
            s(&pii),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(std::fs::read_to_string(&pii).unwrap().contains(&real_name));
        assert_eq!(mode(&pii), 0o600, "{format}");
        assert!(!with_suffix(&pii, ".tmp").exists());
    }
    // A masked file keeps the usual mode (the umask's), so this test can tell the two apart.
    let masked = env.path("masked.csv");
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30", "-o", s(&masked)]);
    assert_eq!(code, 0, "{err}");
    assert!(!std::fs::read_to_string(&masked)
        .unwrap()
        .contains(&real_name));
    assert_ne!(mode(&masked), 0o600);
}
