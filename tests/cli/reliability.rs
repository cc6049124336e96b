//! Reliability: killed runs leave the ledger as it was, concurrent runs wait for each other,
//! old ledgers upgrade to exactly the fresh schema, newer ones are refused untouched, and no
//! failing run quotes borrower PII.

use std::path::Path;
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::common::*;

/// `daihou --db DB ARGS…` as a plain child process (so the test can kill it), with DAIHOU_*
/// cleared, NO_COLOR set and no standard input.
fn child(env: &Env, db: &Path, args: &[&str], capture: bool) -> Child {
    let mut c = StdCommand::new(env!("CARGO_BIN_EXE_daihou"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DAIHOU_") {
            c.env_remove(k);
        }
    }
    let out = || {
        if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    c.env("NO_COLOR", "1")
        .current_dir(env.dir.path())
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out())
        .stderr(out())
        .spawn()
        .expect("spawn daihou")
}

/// Runs `args` to completion (and checks that it succeeded).
fn run_ok(env: &Env, db: &Path, args: &[&str]) {
    let out = child(env, db, args, true).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `args` with the hidden hook `DAIHOU_TEST_PAUSE_AT=POINT` (see src/hooks.rs), waits
/// until the run says it is paused there, SIGKILLs it and reaps it. Deterministic: the kill
/// lands exactly at the point whatever the machine's speed. Panics if the run never gets there.
fn kill_at(env: &Env, db: &Path, args: &[&str], point: &str) -> ExitStatus {
    use std::io::BufRead;
    let mut c = StdCommand::new(env!("CARGO_BIN_EXE_daihou"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DAIHOU_") {
            c.env_remove(k);
        }
    }
    let mut c = c
        .env("NO_COLOR", "1")
        .env("LANG", "C")
        .env("DAIHOU_TEST_PAUSE_AT", point)
        .current_dir(env.dir.path())
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn daihou");
    let marker = format!("daihou: test pause at {point}");
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(c.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == marker {
            c.kill().unwrap(); // SIGKILL on unix
            return c.wait().unwrap();
        }
        seen.push(line);
    }
    let status = c.wait().unwrap();
    panic!("{args:?} ended ({status}) without reaching {point}: {seen:?}");
}

fn integrity(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// The saved positions and runs, with computed_at, as rows of text.
fn positions_snapshot(env: &Env) -> Vec<String> {
    let mut v = env.sql("SELECT * FROM position_runs ORDER BY as_of");
    v.extend(env.sql(
        "SELECT as_of, count(*), sum(dpd), sum(overdue_principal), sum(penalty_interest), \
                sum(max_dpd), group_concat(next_action) FROM positions GROUP BY as_of ORDER BY as_of",
    ));
    v
}

/// SIGKILL `daihou import tape BIG` at 20 points across its rows and just before its commit,
/// then `overdue --save` over a range at 8 points across its positions and at its first and
/// last run records: each killed run leaves the ledger exactly as it was, never corrupt. The
/// kills land at named points (the hidden DAIHOU_TEST_PAUSE_AT hook), not after guessed sleeps.
#[test]
fn a_killed_import_or_overdue_save_leaves_the_ledger_as_it_was() {
    let env = Env::new();
    env.preload_example();
    let s0 = env.snapshot();
    let big = write_tape(&env, "BIG", 5000, 36, 12);
    let import: &[&str] = &["-q", "import", "tape", s(&big)];

    // One uninterrupted run on a copy: the state it leaves (S1) and its number of CSV rows.
    let full = Env::new();
    full.copy_ledger_from(&env);
    run_ok(&full, &full.db(), import);
    let s1 = full.snapshot();
    assert_ne!(s0, s1);
    let rows: u64 = ["loans.csv", "schedule.csv", "repayments.csv"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(big.join(f))
                .unwrap()
                .lines()
                .count() as u64
                - 1
        })
        .sum();

    // 20 kills spread over every file of the run (rows read), then one just before the commit
    // (the import log is its last write): each leaves exactly S0.
    let mut points: Vec<String> = (1..=20u64)
        .map(|k| format!("import-row:{}", rows * k / 21))
        .collect();
    points.push("import-log:1".into());
    for (k, point) in points.iter().enumerate() {
        kill_at(&env, &env.db(), import, point);
        #[cfg(unix)]
        if k == 0 {
            // The killed run's -wal and -shm are left behind: as private as the ledger.
            use std::os::unix::fs::PermissionsExt;
            for suffix in ["", "-wal", "-shm"] {
                let p = with_suffix(&env.db(), suffix);
                assert!(p.exists(), "{suffix}");
                let mode = std::fs::metadata(&p).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "ledger{suffix} mode {mode:o}");
            }
        }
        assert_eq!(integrity(&env.db()), "ok", "kill at {point}");
        assert!(
            env.snapshot() == s0,
            "the kill at {point} left a changed ledger"
        );
    }

    // A normal run afterwards imports everything cleanly.
    run_ok(&env, &env.db(), import);
    assert_eq!(env.snapshot(), s1);
    assert_eq!(integrity(&env.db()), "ok");

    // overdue --save over a range: saved positions exist (other conventions), then kills.
    let range: &[&str] = &[
        "--from",
        "2024-01-31",
        "--to",
        "2025-12-31",
        "--every",
        "week",
    ];
    let mut first = vec![
        "-q",
        "overdue",
        "--save",
        "--grace-days",
        "3",
        "--format",
        "csv",
    ];
    first.extend_from_slice(range);
    run_ok(&env, &env.db(), &first);
    let p0 = positions_snapshot(&env);
    // Weekly dates over two years: ~104 saved dates.
    let dates = env.sql("SELECT count(*) FROM position_runs")[0].clone();
    assert!(dates.parse::<usize>().unwrap() > 100, "{dates}");
    assert_eq!(p0.len(), 2 * dates.parse::<usize>().unwrap(), "{p0:?}");
    let positions: u64 = env.sql("SELECT count(*) FROM positions")[0]
        .parse()
        .unwrap();
    let mut save = vec!["-q", "overdue", "--save", "--format", "csv"];
    save.extend_from_slice(range);
    // Kills while positions stream in, at the first date's run record (all positions written)
    // and at the last one's (just before the commit): the old positions stay, all of them.
    let mut points: Vec<String> = (1..=8u64)
        .map(|k| format!("save-position:{}", positions * k / 9))
        .collect();
    points.push("save-run:1".into());
    points.push(format!("save-run:{dates}"));
    for point in &points {
        kill_at(&env, &env.db(), &save, point);
        assert_eq!(integrity(&env.db()), "ok", "overdue kill at {point}");
        assert!(
            positions_snapshot(&env) == p0,
            "the kill at {point} changed the saved positions"
        );
        assert_eq!(env.snapshot(), s1, "the facts never change");
    }
    run_ok(&env, &env.db(), &save);
    assert_ne!(
        positions_snapshot(&env),
        p0,
        "an uninterrupted run replaces them"
    );
}

/// Two writers started together both succeed: the second waits for the first's lock.
#[test]
fn two_writers_started_together_both_succeed() {
    let env = Env::new();
    env.preload_example();
    let medium = write_tape(&env, "MED", 300, 24, 6);
    let a = child(&env, &env.db(), &["import", "tape", s(&medium)], true);
    let b = child(
        &env,
        &env.db(),
        &[
            "overdue",
            "--save",
            "--as-of",
            "2025-06-30",
            "--format",
            "csv",
        ],
        true,
    );
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success(),
        "import: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert!(
        b.status.success(),
        "overdue: {}",
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(env.sql("SELECT count(*) FROM loans"), ["344"]);
    assert_eq!(env.sql("SELECT count(*) FROM position_runs"), ["1"]);
    assert_eq!(integrity(&env.db()), "ok");
}

/// Two imports into a ledger that does not exist yet, started together: one creates it, the
/// other waits and then finds the rows already there.
#[test]
fn two_imports_creating_the_same_ledger_both_succeed() {
    for round in 0..8 {
        let env = Env::new();
        let tape = example_tape();
        let a = child(&env, &env.db(), &["import", "tape", s(&tape)], true);
        let b = child(&env, &env.db(), &["import", "tape", s(&tape)], true);
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(
            a.status.success(),
            "round {round}, first: {}",
            String::from_utf8_lossy(&a.stderr)
        );
        assert!(
            b.status.success(),
            "round {round}, second: {}",
            String::from_utf8_lossy(&b.stderr)
        );
        assert_eq!(env.sql("SELECT count(*) FROM loans"), ["44"]);
        // Two runs of the seven tape files.
        assert_eq!(env.sql("SELECT count(*) FROM imports"), ["14"]);
    }
}

/// Holds the ledger's write lock (BEGIN IMMEDIATE) until dropped.
struct WriteLock(Connection);

impl WriteLock {
    fn take(db: &Path) -> WriteLock {
        let conn = Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        WriteLock(conn)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

#[test]
fn a_reader_is_not_blocked_by_a_writer() {
    let env = Env::new();
    env.preload_example();
    let (code, free_out, err) = env.run(&["overdue", "--as-of", "2025-06-30", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let lock = WriteLock::take(&env.db());
    let t = Instant::now();
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2025-06-30",
        "--format",
        "csv",
        "--busy-timeout",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, free_out);
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(lock);
}

#[test]
fn a_writer_gives_up_with_75_when_the_ledger_stays_locked() {
    let env = Env::new();
    env.preload_example();
    let before = env.snapshot();
    let lock = WriteLock::take(&env.db());
    let tape = write_tape(&env, "LCK", 20, 12, 3);
    for args in [
        &["--busy-timeout", "1", "import", "tape", s(&tape)][..],
        &[
            "--busy-timeout",
            "1",
            "overdue",
            "--save",
            "--as-of",
            "2025-06-30",
        ][..],
    ] {
        let t = Instant::now();
        let (code, out, err) = env.run(args);
        let took = t.elapsed();
        assert_eq!(code, 75, "{args:?}: {err}");
        assert!(took < Duration::from_secs(8), "{args:?} took {took:?}");
        assert!(
            took >= Duration::from_millis(900),
            "{args:?} did not wait: {took:?}"
        );
        assert!(err.contains("busy") || err.contains("locked"), "{err}");
        assert!(err.contains("retry"), "{err}");
        assert_eq!(out, "");
        assert_no_pii(&err, 20);
    }
    drop(lock);
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.sql("SELECT count(*) FROM position_runs"), ["0"]);
    assert_eq!(integrity(&env.db()), "ok");
}

// Migrations ---------------------------------------------------------------------------------

/// One schema, described through PRAGMAs rather than SQL text (whose whitespace differs).
fn schema_of(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let q = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(f) => f.to_string(),
                    ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => format!("x{b:?}"),
                })
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut out = Vec::new();
    let objects = q("SELECT type, name, tbl_name FROM sqlite_master ORDER BY type, name");
    out.extend(objects.iter().map(|o| format!("object {o}")));
    let tables = q("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name");
    for t in tables {
        let t = t.trim_matches('\'').to_string();
        for line in q(&format!("SELECT * FROM pragma_table_xinfo('{t}')")) {
            out.push(format!("{t} column {line}"));
        }
        for line in q(&format!("SELECT * FROM pragma_foreign_key_list('{t}')")) {
            out.push(format!("{t} fk {line}"));
        }
        for idx in q(&format!(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list('{t}') ORDER BY name"
        )) {
            out.push(format!("{t} index {idx}"));
            let name = idx.split('|').next().unwrap();
            let name = name.trim_matches('\'');
            for col in q(&format!("SELECT * FROM pragma_index_xinfo('{name}')")) {
                out.push(format!("{t} index {name} column {col}"));
            }
        }
    }
    out
}

fn user_version(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_version_1_ledger_upgrades_to_the_fresh_schema_and_keeps_its_rows() {
    let env = Env::new();
    let conn = Connection::open(env.db()).unwrap();
    conn.execute_batch(&std::fs::read_to_string(fixture("ledger-v1.sql")).unwrap())
        .unwrap();
    drop(conn);
    assert_eq!(user_version(&env.db()), 1);
    let old_rows = env.snapshot();
    assert_eq!(old_rows.len(), 2 + 3 + 3 + 1 + 1, "{old_rows:?}");

    let (code, _, err) = env.run(&["import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");

    let fresh = Env::new();
    fresh.preload_example();
    assert_eq!(user_version(&env.db()), user_version(&fresh.db()));
    assert!(user_version(&env.db()) > 1);
    let (upgraded, expected) = (schema_of(&env.db()), schema_of(&fresh.db()));
    assert!(expected.iter().any(|l| l.starts_with("positions column")));
    assert!(expected
        .iter()
        .any(|l| l.contains(" index loans_by_borrower column")));
    assert!(expected.iter().any(|l| l.starts_with("schedule fk")));
    assert_eq!(upgraded, expected);

    // The version-1 rows are all still there, as they were.
    for row in &old_rows[..old_rows.len() - 1] {
        let table_has = |t: &str, key: &str| {
            !env.sql(&format!("SELECT 1 FROM {t} WHERE {key}"))
                .is_empty()
        };
        let id = row.split('|').next().unwrap();
        assert!(
            table_has("loans", &format!("loan_id = '{id}'"))
                || table_has("schedule", &format!("loan_id = '{id}'"))
                || table_has("repayments", &format!("loan_id = '{id}'"))
                || table_has("followups", &format!("followup_id = '{id}'")),
            "{row}"
        );
    }
    let now = env.snapshot();
    for row in &old_rows[..old_rows.len() - 1] {
        // Version 2 turned schedule.source ('imported'/'generated') into generated (0/1);
        // version 4 gave followups four optional columns (contact_time, contact_party,
        // connected, consent_window), NULL on an old promise_to_pay row.
        let row = match row.rsplit_once('|') {
            Some((head, "generated")) => format!("{head}|1"),
            Some((head, "imported")) => format!("{head}|0"),
            _ if row.starts_with("v1-followup-") => format!("{row}||||"),
            _ => row.clone(),
        };
        assert!(now.contains(&row), "lost or changed: {row}");
    }
    assert_eq!(
        env.sql("SELECT source FROM schedule_v WHERE loan_id = 'V1LN0001' LIMIT 1"),
        ["generated"]
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM imports WHERE file = 'v1/loans.csv'"),
        ["1"]
    );
    assert_eq!(integrity(&env.db()), "ok");
    // And the upgraded ledger is usable by the new tables.
    let (code, _, err) = env.run(&[
        "overdue",
        "--save",
        "--as-of",
        "2022-04-30",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_ledger_from_a_newer_daihou_is_refused_and_left_untouched() {
    for journal in ["wal", "delete"] {
        let env = Env::new();
        env.preload_example();
        {
            let conn = Connection::open(env.db()).unwrap();
            conn.execute_batch(&format!(
                "PRAGMA journal_mode={journal}; PRAGMA user_version = 99;"
            ))
            .unwrap();
        }
        assert!(!with_suffix(&env.db(), "-wal").exists(), "{journal}");
        let bytes = std::fs::read(env.db()).unwrap();
        for args in [
            &["import", "tape", s(&example_tape())][..],
            &["overdue", "--as-of", "2025-06-30"][..],
            &["overdue", "--save", "--as-of", "2025-06-30"][..],
        ] {
            let (code, out, err) = env.run(args);
            assert_eq!(code, 78, "{journal} {args:?}: {err}");
            assert!(err.contains("99"), "{err}");
            assert!(err.contains("untouched"), "{err}");
            assert_eq!(out, "");
            assert!(
                std::fs::read(env.db()).unwrap() == bytes,
                "{journal} {args:?} wrote to it"
            );
            assert!(
                !with_suffix(&env.db(), "-wal").exists(),
                "{journal} {args:?} left a -wal"
            );
            assert!(
                !with_suffix(&env.db(), "-shm").exists(),
                "{journal} {args:?} left a -shm"
            );
            assert!(
                !with_suffix(&env.db(), "-journal").exists(),
                "{journal} {args:?} left a -journal"
            );
        }
    }
}

// Privacy ------------------------------------------------------------------------------------

/// No phone number or ID number of the first `loans` loans of a generated tape in `text`.
fn assert_no_pii(text: &str, loans: usize) {
    for i in 0..loans {
        assert!(!text.contains(&phone(i)), "phone of loan {i} in: {text}");
        assert!(
            !text.contains(&id_number(i)),
            "id_number of loan {i} in: {text}"
        );
        assert!(
            !text.contains(&format!("借款人{i},")),
            "name of loan {i} in: {text}"
        );
    }
}

/// Broken loans tapes of every kind fail without quoting a phone, ID number or name.
#[test]
fn failing_imports_never_quote_borrower_pii() {
    let env = Env::new();
    let good = write_tape(&env, "PII", 5, 3, 1);
    let loans = std::fs::read_to_string(good.join("loans.csv")).unwrap();
    let lines: Vec<&str> = loans.lines().collect();
    let with = |f: &dyn Fn(usize, &str) -> String| -> String {
        let mut s = String::from(lines[0]);
        s.push('\n');
        for (i, l) in lines[1..].iter().enumerate() {
            s.push_str(&f(i, l));
            s.push('\n');
        }
        s
    };
    let cases: Vec<(&str, String)> = vec![
        // A bad phone or id_number (NUL, too long) and a PII value quoted open.
        (
            "nul in phone",
            with(&|i, l| {
                if i == 1 {
                    l.replace(&phone(i), &format!("{}\0", phone(i)))
                } else {
                    l.to_string()
                }
            }),
        ),
        (
            "long id_number",
            with(&|i, l| {
                if i == 2 {
                    l.replace(&id_number(i), &id_number(i).repeat(20))
                } else {
                    l.to_string()
                }
            }),
        ),
        (
            "open quote before phone",
            with(&|i, l| {
                if i == 0 {
                    l.replace(&phone(i), &format!("\"{}", phone(i)))
                } else {
                    l.to_string()
                }
            }),
        ),
        (
            "ragged row",
            with(&|i, l| {
                if i == 3 {
                    format!("{l},{}", phone(i))
                } else {
                    l.to_string()
                }
            }),
        ),
        ("no header", lines[1..].join("\n")),
        (
            "bad principal",
            with(&|i, l| {
                if i == 4 {
                    l.replace(",3000.00,", ",3000.0x,")
                } else {
                    l.to_string()
                }
            }),
        ),
        (
            "bad utf-8",
            with(&|i, l| {
                if i == 2 {
                    l.replace("借款人2", "\u{fffd}")
                } else {
                    l.to_string()
                }
            }),
        ),
        (
            "duplicate key",
            with(&|i, l| {
                if i == 1 {
                    l.replace("PII000001", "PII000000")
                } else {
                    l.to_string()
                }
            }),
        ),
    ];
    for (what, text) in cases {
        let mut bytes = text.into_bytes();
        if what == "bad utf-8" {
            let pos = bytes
                .windows(3)
                .position(|w| w == "\u{fffd}".as_bytes())
                .unwrap();
            bytes.splice(pos..pos + 3, [0xC0, 0xFF]);
        }
        let dir = env.path(&format!("case-{}", what.replace(' ', "-")));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("loans.csv"), &bytes).unwrap();
        let (code, _, err) = env.run(&["import", "tape", s(&dir)]);
        assert_ne!(code, 0, "{what}: {err}");
        assert!(!error_lines(&err).is_empty(), "{what}: {err}");
        assert_no_pii(&err, 5);
        // The same through standard input.
        let (code, _, err) = env.run_stdin(&["import", "loans", "-"], bytes);
        assert_ne!(code, 0, "{what} (stdin): {err}");
        assert_no_pii(&err, 5);
    }
    if env.db().exists() {
        assert_eq!(env.sql("SELECT count(*) FROM loans"), ["0"]);
    }
}
