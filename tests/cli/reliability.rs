//! Reliability: killed runs leave the ledger as it was, concurrent runs wait for each other,
//! old ledgers upgrade to exactly the fresh schema, newer ones are refused untouched, and no
//! failing run quotes borrower PII.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::common::*;

/// A tape of `loans` loans, each with `installments` schedule rows and `payments` repayments.
/// Phone numbers are `139` + 8 digits and ID numbers `3301061990` + 8 digits (see [`phone`]).
fn write_tape(env: &Env, name: &str, loans: usize, installments: u32, payments: u32) -> PathBuf {
    let mut l = String::from(
        "loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,\
         principal,annual_rate,origination_date,term_months,repayment_method,repayment_frequency,\
         collateral,phone,id_number\n",
    );
    let mut sch = String::from("loan_id,installment_no,due_date,principal_due,interest_due\n");
    let mut rep = String::from("txn_id,loan_id,paid_on,amount,channel,reverses_txn_id\n");
    let due = |k: u32| {
        let m = k; // months after 2023-01
        format!("{}-{:02}-15", 2023 + m / 12, m % 12 + 1)
    };
    for i in 0..loans {
        l.push_str(&format!(
            "{name}{i:06},B{name}{i:06},借款人{i},individual,浙江省杭州市,杭州西湖支行,陈立新,\
             个人消费贷款,CNY,{}.00,6.0,2023-01-15,{installments},equal_principal,monthly,信用,{},{}\n",
            1000 * installments,
            phone(i),
            id_number(i)
        ));
        for k in 1..=installments {
            sch.push_str(&format!("{name}{i:06},{k},{},1000.00,180.00\n", due(k)));
        }
        // Loan i pays (i % (payments + 1)) installments late, so the portfolio has every DPD.
        for k in 1..=payments.saturating_sub(i as u32 % (payments + 1)) {
            rep.push_str(&format!(
                "T{name}{i:06}{k:03},{name}{i:06},{},1180.00,代扣,\n",
                due(k)
            ));
        }
    }
    let dir = env.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("loans.csv"), l).unwrap();
    std::fs::write(dir.join("schedule.csv"), sch).unwrap();
    std::fs::write(dir.join("repayments.csv"), rep).unwrap();
    dir
}

fn phone(i: usize) -> String {
    format!("139{:08}", 40_000_000 + i)
}

fn id_number(i: usize) -> String {
    format!("3301061990{:08}", 71_000_000 + i)
}

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

/// Runs `args` to completion, returning how long it took.
fn timed_run(env: &Env, db: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = child(env, db, args, true).wait_with_output().unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// Starts `args`, SIGKILLs it after `after` (unless it finished first) and reaps it.
/// Returns the exit status and whether the kill came while the run was still going.
fn kill_after(env: &Env, db: &Path, args: &[&str], after: Duration) -> (ExitStatus, bool) {
    let mut c = child(env, db, args, false);
    std::thread::sleep(after);
    let running = c.try_wait().unwrap().is_none();
    if running {
        c.kill().unwrap(); // SIGKILL on unix
    }
    (c.wait().unwrap(), running)
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

/// Copies `env`'s ledger (with its -wal and -shm, if any) to `to`.
fn copy_ledger(env: &Env, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut dst = to.as_os_str().to_owned();
        dst.push(suffix);
        let _ = std::fs::remove_file(&dst);
        let mut src = env.db().into_os_string();
        src.push(suffix);
        if Path::new(&src).exists() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn restore_ledger(env: &Env, from: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut dst = env.db().into_os_string();
        dst.push(suffix);
        let _ = std::fs::remove_file(&dst);
        let mut src = from.as_os_str().to_owned();
        src.push(suffix);
        if Path::new(&src).exists() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Kill `daihou import tape BIG` at 20 points across its run, then `overdue --save` over a range
/// at 8 points: each killed run leaves the ledger exactly as it was (or, if the kill came after
/// the commit, exactly as a finished run leaves it), never a mix, and never corrupt.
#[test]
fn a_killed_import_or_overdue_save_leaves_the_ledger_as_it_was() {
    let env = Env::new();
    env.preload_example();
    let s0 = env.snapshot();
    let pristine = env.path("s0.db");
    copy_ledger(&env, &pristine);
    let big = write_tape(&env, "BIG", 5000, 36, 12);
    let import: &[&str] = &["-q", "import", "tape", s(&big)];

    // One uninterrupted run on a copy: its duration and the state it leaves (S1).
    let full = Env::new();
    full.copy_ledger_from(&env);
    let took = timed_run(&full, &full.db(), import);
    let s1 = full.snapshot();
    // Twice, keeping the shorter: other tests share the CPU, and a slow measurement would put
    // the late kill points after the end of a faster run.
    let again = Env::new();
    again.copy_ledger_from(&env);
    let took = took.min(timed_run(&again, &again.db(), import));
    assert_ne!(s0, s1);

    let mut observed = Vec::new();
    let mut mid_run = 0;
    for k in 1..=20u32 {
        // Spread over the first 80 % of the shorter run, leaving room for a machine that gets
        // faster between the measurement and the kills.
        let at = took * k / 25;
        let (status, was_running) = kill_after(&env, &env.db(), import, at);
        #[cfg(unix)]
        if k == 1 {
            // The killed run's -wal and -shm are left behind: as private as the ledger.
            use std::os::unix::fs::PermissionsExt;
            for suffix in ["", "-wal", "-shm"] {
                let p = with_suffix(&env.db(), suffix);
                assert!(p.exists(), "{suffix}");
                let mode = std::fs::metadata(&p).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "ledger{suffix} mode {mode:o}");
            }
        }
        assert_eq!(integrity(&env.db()), "ok", "kill {k} at {at:?}");
        let now = env.snapshot();
        let state = if now == s0 {
            "S0"
        } else if now == s1 {
            "S1"
        } else {
            panic!(
                "kill {k} at {at:?} ({status}) left a mix: {} rows vs S0 {} / S1 {}",
                now.len(),
                s0.len(),
                s1.len()
            )
        };
        if was_running && state == "S0" {
            mid_run += 1;
        }
        if state == "S1" {
            // Committed before the kill: start the next kill from S0 again.
            restore_ledger(&env, &pristine);
        }
        observed.push(format!(
            "{k}:{at:.2?}:{state}:{}",
            if was_running { "killed" } else { "finished" }
        ));
    }
    eprintln!(
        "import ran {took:.2?} uninterrupted; kills: {}",
        observed.join(" ")
    );
    assert!(
        mid_run >= 12,
        "only {mid_run} of 20 kills hit a running import; {observed:?}"
    );

    // A normal run afterwards imports everything cleanly.
    timed_run(&env, &env.db(), import);
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
    timed_run(&env, &env.db(), &first);
    let p0 = positions_snapshot(&env);
    // Weekly dates over two years: ~104 saved dates, a run long enough to be killed mid-way.
    let dates = env.sql("SELECT count(*) FROM position_runs")[0].clone();
    assert!(dates.parse::<usize>().unwrap() > 100, "{dates}");
    assert_eq!(p0.len(), 2 * dates.parse::<usize>().unwrap(), "{p0:?}");
    let mut save = vec!["-q", "overdue", "--save", "--format", "csv"];
    save.extend_from_slice(range);
    let probe = Env::new();
    probe.copy_ledger_from(&env);
    let took = timed_run(&probe, &probe.db(), &save);
    let mut observed = Vec::new();
    let mut mid_run = 0;
    for k in 1..=8u32 {
        let at = took * k / 11;
        let (_, was_running) = kill_after(&env, &env.db(), &save, at);
        assert_eq!(integrity(&env.db()), "ok", "overdue kill {k} at {at:?}");
        let now = positions_snapshot(&env);
        if now == p0 {
            if was_running {
                mid_run += 1;
            }
        } else {
            // The run committed before the kill (possibly while it was still printing): the
            // whole new run is there, nothing of the old — every date under the new conventions.
            assert_eq!(now.len(), p0.len());
            let old_runs = env.sql(
                "SELECT count(*) FROM position_runs WHERE conventions LIKE '%\"grace_days\":3%'",
            );
            assert_eq!(
                old_runs,
                ["0"],
                "overdue kill {k} at {at:?} left a mix of old and new dates"
            );
            assert_eq!(env.sql("SELECT count(*) FROM position_runs")[0], dates);
            // Back to P0 for the next kill.
            timed_run(&env, &env.db(), &first);
        }
        assert_eq!(env.snapshot(), s1, "the facts never change");
        observed.push(format!(
            "{k}:{at:.2?}:{}",
            if was_running { "killed" } else { "finished" }
        ));
    }
    eprintln!(
        "overdue --save ran {took:.2?} uninterrupted; kills: {}",
        observed.join(" ")
    );
    assert!(
        mid_run >= 6,
        "only {mid_run} of 8 kills hit a running overdue; {observed:?}"
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
        assert_eq!(env.sql("SELECT count(*) FROM imports"), ["10"]);
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

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
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
