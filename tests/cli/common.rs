//! Shared helpers: a temp folder per test, a clean environment, and a command builder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
        let mut c = Command::cargo_bin("daihou").unwrap();
        for (k, _) in std::env::vars() {
            if k.starts_with("DAIHOU_") {
                c.env_remove(k);
            }
        }
        c.env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(self.db())
            .args(args);
        c
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
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
            "SELECT count(*) FROM imports",
        ] {
            out.extend(self.sql(q));
        }
        out
    }
}

pub fn example_tape() -> PathBuf {
    root().join("examples/tape")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
