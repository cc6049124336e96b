//! Guards: everything in examples/ runs, the README names every subcommand, clap's own checks.

use crate::common::*;

#[test]
fn nightly_script_runs_and_is_idempotent() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("daihou");
    let out_dir = env.path("out");
    for round in 0..2 {
        let out = std::process::Command::new("bash")
            .arg(root().join("examples/nightly.sh"))
            .arg(example_tape())
            .arg("2026-06-30")
            .arg(&out_dir)
            .env("DAIHOU", &bin)
            .env("DAIHOU_DB", env.db())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round}: {err}");
        if round == 1 {
            assert!(err.contains("44 rows, 0 new, 0 changed"), "{err}");
        }
    }
    let list = std::fs::read_to_string(out_dir.join("overdue-2026-06-30.csv")).unwrap();
    assert_eq!(list.lines().count(), 7, "{list}");
    let visits = std::fs::read_to_string(out_dir.join("visits-needed-2026-06-30.csv")).unwrap();
    assert_eq!(visits.lines().count(), 5, "{visits}");
    assert!(!out_dir.join("overdue-2026-06-30.csv.tmp").exists());
    assert_eq!(
        env.sql("SELECT count(DISTINCT as_of) FROM positions"),
        ["1"]
    );
}

/// The script finds daihou without DAIHOU: on PATH, else in this checkout's target/; with no
/// output folder given it writes into nightly-out/ (which .gitignore lists).
#[test]
fn nightly_script_finds_the_binary_and_has_an_ignored_default_output_folder() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("daihou");
    let on_path = env.path("bin");
    std::fs::create_dir(&on_path).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&bin, on_path.join("daihou")).unwrap();
    for (round, path) in [
        format!("{}:/usr/bin:/bin", on_path.display()),
        "/usr/bin:/bin".to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        let out = std::process::Command::new("bash")
            .arg(root().join("examples/nightly.sh"))
            .arg(example_tape())
            .arg("2026-06-30")
            .current_dir(env.dir.path())
            .env_remove("DAIHOU")
            .env("PATH", &path)
            .env("DAIHOU_DB", env.db())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round} (PATH={path}): {err}");
        assert!(env.path("nightly-out/overdue-2026-06-30.csv").exists());
    }
    let ignore = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/nightly-out/"), "{ignore}");
}

#[test]
fn readme_documents_every_subcommand_and_exit_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    use clap::CommandFactory;
    let subcommands: Vec<String> = daihou::cli::Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(subcommands.len() >= 6, "{subcommands:?}");
    for sub in subcommands {
        assert!(
            readme.contains(&format!("daihou {sub}")),
            "README lacks `daihou {sub}`"
        );
    }
    for code in [
        "| 0 ", "| 1 ", "| 2 ", "| 65 ", "| 66 ", "| 73 ", "| 74 ", "| 75 ", "| 78 ", "| 130 ",
    ] {
        assert!(readme.contains(code), "README lacks exit code row {code}");
    }
    // The two set-up commands, and CI calls the same test command.
    assert!(readme.contains("cargo run --release -- --db demo.db import tape examples/tape"));
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(readme.contains("cargo test --locked") && ci.contains("cargo test --locked"));
}

#[test]
fn clap_definitions_are_consistent() {
    use clap::CommandFactory;
    daihou::cli::Cli::command().debug_assert();
}
