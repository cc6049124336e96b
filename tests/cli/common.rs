//! Shared helpers: a temp folder per test, a clean environment, and a command builder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use std::collections::HashMap;

use assert_cmd::Command;
use tempfile::TempDir;

/// The repository root (for examples/ and tests/fixtures/).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// A test's own folder and ledger.
pub struct Env {
    pub dir: TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("ledger.db")
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// `daihou --db <ledger> ARGS…` with DAIHOU_* cleared and NO_COLOR set.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_db(&self.db(), args)
    }

    /// Like [`Env::cmd`] with another ledger path.
    pub fn cmd_db(&self, db: &Path, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("daihou").unwrap();
        for (k, _) in std::env::vars() {
            if k.starts_with("DAIHOU_") {
                c.env_remove(k);
            }
        }
        c.env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(db)
            .args(args);
        c
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        output_of(&mut self.cmd(args))
    }

    /// Runs with `input` on standard input.
    pub fn run_stdin(&self, args: &[&str], input: impl Into<Vec<u8>>) -> (i32, String, String) {
        output_of(self.cmd(args).write_stdin(input))
    }

    /// Imports examples/tape into the ledger (and checks that it worked).
    pub fn preload_example(&self) {
        let (code, _, err) = self.run(&["import", "tape", s(&example_tape())]);
        assert_eq!(code, 0, "preloading examples/tape: {err}");
    }

    /// Copies a folder of files (not recursive) into the test folder under `name`.
    pub fn copy_dir(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.path(name);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        to
    }

    /// Copies another test's ledger (with its WAL, if any) to this test's ledger path.
    pub fn copy_ledger_from(&self, other: &Env) {
        std::fs::copy(other.db(), self.db()).unwrap();
        for suffix in ["-wal", "-shm"] {
            let mut src = other.db().into_os_string();
            src.push(suffix);
            let src = PathBuf::from(src);
            if src.exists() {
                let mut dst = self.db().into_os_string();
                dst.push(suffix);
                std::fs::copy(&src, PathBuf::from(dst)).unwrap();
            }
        }
    }

    /// Runs a SQL query against the ledger and returns the rows as text joined by '|'.
    pub fn sql(&self, query: &str) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut stmt = conn.prepare(query).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                        rusqlite::types::ValueRef::Real(f) => f.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Blob(_) => "<blob>".into(),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// A digest of every fact table, to compare a ledger before and after a command.
    pub fn snapshot(&self) -> Vec<String> {
        if !self.db().exists() {
            return vec!["<no ledger>".into()];
        }
        let mut out = Vec::new();
        for q in [
            "SELECT * FROM loans ORDER BY loan_id",
            "SELECT * FROM schedule ORDER BY loan_id, installment_no",
            "SELECT * FROM repayments ORDER BY txn_id",
            "SELECT * FROM followups ORDER BY followup_id",
        ] {
            out.extend(self.sql(q));
        }
        // Restructures (schema v4 on): only where the ledger has them.
        for t in ["restructures", "restructure_schedule", "restructure_log"] {
            let exists = self.sql(&format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{t}'"
            ));
            if exists == ["1"] {
                out.extend(self.sql(&format!("SELECT * FROM {t} ORDER BY 1, 2, 3")));
            }
        }
        // Last, so a test can compare everything but the import log.
        out.extend(self.sql("SELECT count(*) FROM imports"));
        out
    }
}

/// (exit code, stdout, stderr) of a finished command.
pub fn output_of(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The sha256 of some bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sha256 of a file's bytes, as lowercase hex.
pub fn file_sha256(p: &Path) -> String {
    sha256_hex(&std::fs::read(p).unwrap())
}

/// The lines of stderr that `main` printed as errors.
pub fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("daihou: error: "))
        .collect()
}

pub fn example_tape() -> PathBuf {
    root().join("examples/tape")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A CSV text as rows keyed by header name.
pub fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}
