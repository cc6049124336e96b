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

    /// `daihou --db <ledger> ARGS…` with DAIHOU_* cleared, NO_COLOR set and LANG=C (so the
    /// machine's locale never changes the language of an answer).
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_db(&self.db(), args)
    }

    /// Like [`Env::cmd`] with another ledger path.
    pub fn cmd_db(&self, db: &Path, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("daihou").unwrap();
        self.clean(&mut c, db, args);
        c
    }

    fn clean(&self, c: &mut Command, db: &Path, args: &[&str]) {
        clean_env(c);
        c.current_dir(self.dir.path())
            .arg("--db")
            .arg(db)
            .args(args);
    }

    /// Like [`Env::cmd_db`], run as an unprivileged user: as `nobody` (through `setpriv` or
    /// `runuser`) when the tests run as root — as CI does, and root writes anywhere — else as
    /// the current user. The test folder is opened to everyone (mode 0755) so `nobody` reaches
    /// it; give `nobody` what it should own with [`chown_nobody`]. Panics when run as root with
    /// neither tool, so such a test can never pass without having checked anything.
    #[cfg(unix)]
    pub fn cmd_unprivileged(&self, db: &Path, args: &[&str]) -> Command {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = assert_cmd::cargo::cargo_bin("daihou");
        let mut c = if !running_as_root() {
            Command::new(bin)
        } else if let Some(setpriv) = find_tool("setpriv") {
            let mut c = Command::new(setpriv);
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
                .arg(bin);
            c
        } else if let Some(runuser) = find_tool("runuser") {
            let mut c = Command::new(runuser);
            c.args(["-u", "nobody", "--"]).arg(bin);
            c
        } else {
            panic!("running as root and neither setpriv nor runuser is installed: cannot drop privileges to test permissions (install util-linux)");
        };
        self.clean(&mut c, db, args);
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

/// DAIHOU_* cleared, NO_COLOR set, the locale pinned to LANG=C.
pub fn clean_env(c: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("DAIHOU_") {
            c.env_remove(k);
        }
    }
    c.env("NO_COLOR", "1")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES");
}

/// True when the tests run as root (uid 0).
#[cfg(unix)]
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // A file this process creates is owned by its effective uid.
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

#[cfg(unix)]
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Gives `p` to `nobody` (when running as root; an ordinary user keeps its own files).
#[cfg(unix)]
pub fn chown_nobody(p: &Path) {
    if running_as_root() {
        let id = |flag: &str| -> u32 {
            let out = std::process::Command::new("id")
                .args([flag, "nobody"])
                .output()
                .expect("id");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("nobody's id")
        };
        std::os::unix::fs::chown(p, Some(id("-u")), Some(id("-g"))).unwrap();
    }
}

/// Sets the permission bits of `p`.
#[cfg(unix)]
pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A tape of `loans` loans, each with `installments` schedule rows and `payments` repayments.
/// Phone numbers are `139` + 8 digits and ID numbers `3301061990` + 8 digits (see [`phone`]).
pub fn write_tape(
    env: &Env,
    name: &str,
    loans: usize,
    installments: u32,
    payments: u32,
) -> PathBuf {
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

pub fn phone(i: usize) -> String {
    format!("139{:08}", 40_000_000 + i)
}

pub fn id_number(i: usize) -> String {
    format!("3301061990{:08}", 71_000_000 + i)
}

/// `p` with `suffix` appended (ledger.db → ledger.db-wal).
pub fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    s.into()
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

/// The named columns of each row, in order: a table to compare with hand-worked rows.
pub fn columns<'a>(
    rows: impl IntoIterator<Item = &'a HashMap<String, String>>,
    names: &[&str],
) -> Vec<Vec<&'a str>> {
    rows.into_iter()
        .map(|r| names.iter().map(|n| r[*n].as_str()).collect())
        .collect()
}

/// `text` with the folder of `given` (or `given` itself when it is a folder) and its slash
/// removed: messages name files by the path the user gave, which in tests is a temp folder.
pub fn unpath(text: &str, given: &Path) -> String {
    let dir = if given.is_dir() {
        given
    } else {
        given.parent().unwrap_or(given)
    };
    text.replace(&format!("{}/", dir.display()), "")
}
