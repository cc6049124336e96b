//! The ledger file itself: read-only folders and files, a full disk, and no ledger left behind
//! by an import that wrote nothing. Permission tests run the binary as an unprivileged user
//! (`nobody` when the suite runs as root, as CI does), so they can fail.

use std::path::PathBuf;

use crate::common::*;

/// A folder `name` holding a ledger of examples/tape, all owned by the unprivileged user.
fn example_ledger_in(env: &Env, name: &str) -> PathBuf {
    let dir = env.path(name);
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("ledger.db");
    let (code, _, err) =
        output_of(&mut env.cmd_db(&db, &["-q", "import", "tape", s(&example_tape())]));
    assert_eq!(code, 0, "{err}");
    assert!(
        !with_suffix(&db, "-wal").exists(),
        "a clean close removes the -wal"
    );
    chown_nobody(&dir);
    chown_nobody(&db);
    db
}

/// The example tape, readable by everyone.
fn public_tape(env: &Env) -> PathBuf {
    let tape = env.copy_dir(&example_tape(), "tape");
    chmod(&tape, 0o755);
    for e in std::fs::read_dir(&tape).unwrap() {
        chmod(&e.unwrap().path(), 0o644);
    }
    tape
}

#[cfg(unix)]
#[test]
fn overdue_reads_a_ledger_in_a_read_only_folder_and_writes_give_73() {
    let env = Env::new();
    let db = example_ledger_in(&env, "ro");
    let args = ["overdue", "--as-of", "2026-06-30", "--format", "csv"];
    let (code, expected, err) = output_of(&mut env.cmd_db(&db, &args));
    assert_eq!(code, 0, "{err}");
    // That reader left an empty -wal and a -shm (given to the ledger's owner, who could then
    // write through them); a ledger copied to a share comes without them.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&db, suffix));
    }
    chmod(&env.path("ro"), 0o555);
    let before = file_sha256(&db);
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(env.path("ro"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let files = listing();

    let (code, out, err) = output_of(&mut env.cmd_unprivileged(&db, &args));
    assert_eq!(code, 0, "a reader must work in a read-only folder: {err}");
    assert_eq!(out, expected);
    assert!(!err.contains("SQLITE_"), "{err}");
    assert_eq!(listing(), files);

    // Writers: a clear "not writable" naming the ledger as given, exit 73, nothing blamed on
    // a CSV line, the ledger unchanged.
    let tape = public_tape(&env);
    for args in [
        vec!["overdue", "--as-of", "2026-06-30", "--save"],
        vec!["import", "tape", s(&tape)],
    ] {
        let (code, out, err) = output_of(&mut env.cmd_unprivileged(&db, &args));
        assert_eq!(code, 73, "{args:?}: {err}");
        assert_eq!(out, "");
        let lines = error_lines(&err);
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].starts_with(&format!(
                "daihou: error: ledger not writable: {} (its folder {} is not writable",
                db.display(),
                env.path("ro").display()
            )),
            "{err}"
        );
        assert!(!err.contains(" line "), "{err}");
    }
    chmod(&env.path("ro"), 0o755);
    assert_eq!(file_sha256(&db), before);
}

#[cfg(unix)]
#[test]
fn a_read_only_ledger_file_gives_73_for_import_and_save_and_still_reads() {
    let env = Env::new();
    let db = example_ledger_in(&env, "rf");
    chmod(&db, 0o444);
    let before = file_sha256(&db);
    let tape = public_tape(&env);
    for args in [
        vec!["import", "tape", s(&tape)],
        vec!["import", "loans", s(&tape.join("loans.csv"))],
        vec!["overdue", "--as-of", "2026-06-30", "--save"],
    ] {
        let (code, _, err) = output_of(&mut env.cmd_unprivileged(&db, &args));
        assert_eq!(code, 73, "{args:?}: {err}");
        assert_eq!(
            error_lines(&err),
            [format!(
                "daihou: error: ledger not writable: {} (the file is read-only for this user)",
                db.display()
            )],
            "{args:?}"
        );
    }
    let (code, out, err) =
        output_of(&mut env.cmd_unprivileged(&db, &["overdue", "--as-of", "2026-06-30"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("LN2024000015"), "{out}");
    assert_eq!(file_sha256(&db), before);
}

/// A ledger that cannot be created because its folder is read-only: exit 73, nothing created.
#[cfg(unix)]
#[test]
fn a_ledger_in_a_read_only_folder_cannot_be_created() {
    let env = Env::new();
    let ro = env.path("ro");
    std::fs::create_dir(&ro).unwrap();
    chown_nobody(&ro);
    chmod(&ro, 0o555);
    let tape = public_tape(&env);
    let db = ro.join("ledger.db");
    let (code, out, err) =
        output_of(&mut env.cmd_unprivileged(&db, &["import", "loans", s(&tape.join("loans.csv"))]));
    assert_eq!(code, 73, "{err}");
    assert_eq!(out, "");
    assert!(
        err.starts_with(&format!(
            "daihou: error: cannot create ledger {}",
            db.display()
        )),
        "{err}"
    );
    assert!(!db.exists());
}

/// The number of pages of a ledger.
fn pages(env: &Env) -> u64 {
    env.sql("PRAGMA page_count")[0].parse().unwrap()
}

#[test]
fn a_full_disk_gives_74_naming_the_ledger_and_changes_nothing() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let big = write_tape(&env, "BIG", 400, 36, 12);
    // Room for two more pages: the import fills them long before its last row.
    let limit = (pages(&env) + 2).to_string();
    let (code, out, err) = output_of(
        env.cmd(&["import", "tape", s(&big)])
            .env("DAIHOU_TEST_MAX_PAGES", &limit),
    );
    assert_eq!(code, 74, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        error_lines(&err),
        [format!(
            "daihou: error: no space left for the ledger {}; nothing was imported (free space on its disk, or move the ledger with --db)",
            env.db().display()
        )]
    );
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.sql("PRAGMA integrity_check"), ["ok"]);

    // overdue --save and classify --save (its rows go in 64 to a statement) into the same full
    // ledger: 74, and nothing of theirs is left.
    let every = |unit| {
        [
            "--from",
            "2024-01-31",
            "--to",
            "2026-06-30",
            "--every",
            unit,
            "--save",
        ]
    };
    saving_into_a_full_ledger_is_74(&env, "overdue", &every("day"));
    assert_eq!(env.sql("SELECT count(*) FROM positions"), ["0"]);
    saving_into_a_full_ledger_is_74(&env, "classify", &every("month-end"));
    assert_eq!(env.sql("SELECT count(*) FROM grades"), ["0"]);
    assert_eq!(env.sql("SELECT count(*) FROM grade_runs"), ["0"]);
    assert_eq!(env.sql("PRAGMA integrity_check"), ["ok"]);
}

/// `command args` with no page to spare exits 74, naming the ledger.
fn saving_into_a_full_ledger_is_74(env: &Env, command: &str, args: &[&str]) {
    let mut all = vec![command];
    all.extend_from_slice(args);
    let (code, _, err) = output_of(
        env.cmd(&all)
            .env("DAIHOU_TEST_MAX_PAGES", pages(env).to_string()),
    );
    assert_eq!(code, 74, "{command}: {err}");
    assert!(
        err.starts_with(&format!(
            "daihou: error: no space left for the ledger {}; nothing was saved",
            env.db().display()
        )),
        "{command}: {err}"
    );
}

#[test]
fn a_full_disk_on_a_new_ledger_leaves_no_file() {
    let env = Env::new();
    let big = write_tape(&env, "BIG", 400, 36, 12);
    let (code, _, err) = output_of(
        env.cmd(&["import", "tape", s(&big)])
            .env("DAIHOU_TEST_MAX_PAGES", "40"),
    );
    assert_eq!(code, 74, "{err}");
    assert!(err.contains("no space left for the ledger"), "{err}");
    for suffix in ["", "-wal", "-shm"] {
        assert!(
            !with_suffix(&env.db(), suffix).exists(),
            "ledger{suffix} left behind"
        );
    }
}

/// A failed import, or a dry run, where no ledger existed leaves none: the next command still
/// says the ledger is missing (66) instead of answering from an empty book.
#[test]
fn an_import_that_writes_nothing_leaves_no_new_ledger() {
    let env = Env::new();
    let bad = env.write(
        "loans.csv",
        std::fs::read_to_string(example_tape().join("loans.csv"))
            .unwrap()
            .replacen(",2023-01-16,", ",2023-02-30,", 1),
    );
    let (code, _, err) = env.run(&["import", "loans", s(&bad)]);
    assert_eq!(code, 65, "{err}");
    assert!(!env.db().exists(), "a failed import left a ledger");

    let (code, out, err) = env.run(&["import", "--dry-run", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("loans"), "{out}");
    for suffix in ["", "-wal", "-shm"] {
        assert!(
            !with_suffix(&env.db(), suffix).exists(),
            "dry run left ledger{suffix}"
        );
    }

    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30"]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("not found"), "{err}");

    // An existing ledger is kept by a failed import and a dry run alike.
    env.preload_example();
    let before = env.snapshot();
    assert_eq!(env.run(&["import", "loans", s(&bad)]).0, 65);
    assert_eq!(
        env.run(&["import", "--dry-run", "tape", s(&example_tape())])
            .0,
        0
    );
    assert_eq!(env.snapshot(), before);
}

/// A ledger an older daihou wrote (the version-1 fixture), opened by a reading command (the
/// binary was upgraded and the nightly `overdue` runs before any import): it is upgraded once,
/// said once, then read; the same ledger read-only for this user is left untouched and refused
/// with exit 73.
#[test]
#[cfg(unix)]
fn a_reader_upgrades_an_older_ledger_once_or_refuses_one_it_cannot_write() {
    let env = Env::new();
    let dir = env.path("old");
    std::fs::create_dir(&dir).unwrap();
    let v1 = std::fs::read_to_string(fixture("ledger-v1.sql")).unwrap();
    let make = |name: &str| {
        let db = dir.join(name);
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(&v1)
            .unwrap();
        chown_nobody(&db);
        db
    };
    let (db, read_only) = (make("ledger.db"), make("ro.db"));
    chown_nobody(&dir);
    chmod(&read_only, 0o444);
    let current = {
        let fresh = Env::new();
        fresh.preload_example();
        fresh.sql("PRAGMA user_version")[0].clone()
    };

    let (code, _, err) =
        output_of(&mut env.cmd_unprivileged(&db, &["overdue", "--as-of", "2026-06-30"]));
    assert_eq!(code, 0, "{err}");
    let note = format!(
        "daihou: upgraded ledger {} from schema version 1 to {current}",
        db.display()
    );
    assert_eq!(err.lines().filter(|l| *l == note).count(), 1, "{err}");
    let (code, _, err) =
        output_of(&mut env.cmd_unprivileged(&db, &["overdue", "--as-of", "2026-06-30"]));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("upgraded ledger"), "once only: {err}");

    let before = file_sha256(&read_only);
    let (code, _, err) =
        output_of(&mut env.cmd_unprivileged(&read_only, &["overdue", "--as-of", "2026-06-30"]));
    assert_eq!(code, 73, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "daihou: error: ledger {} has schema version 1, older than this daihou's ({current})",
            read_only.display()
        )) && lines[0].contains("not writable"),
        "{err}"
    );
    assert_eq!(file_sha256(&read_only), before);
}
