//! The only place that opens the ledger: pragmas, schema creation and migrations.
//! All SQL lives under `db/`, one file per area.

pub mod book;
pub mod grades;
pub mod ledger;
pub mod migrations;
pub mod report;
pub mod restructures;
pub mod visits;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

use crate::exit;

/// The whole current schema, compiled in.
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// The page size of a new ledger.
pub const PAGE_SIZE: u32 = 16384;

/// How a command needs the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Create the ledger when it does not exist (import).
    Create,
    /// The ledger must exist; the command writes to it.
    Write,
    /// The ledger must exist; the command only reads.
    Read,
}

/// Opens the ledger at `path`, refusing one written by a newer daihou (exit 78, untouched),
/// upgrading an older one in one transaction, and creating a new one (mode 0600) when allowed.
pub fn open(path: &Path, mode: Mode, busy_timeout: Duration) -> Result<Connection> {
    let exists = path.exists();
    if path.is_dir() {
        return Err(exit::no_input(format!(
            "ledger {}: is a directory, expected a SQLite file",
            path.display()
        )));
    }
    if !exists {
        if mode != Mode::Create {
            return Err(exit::no_input(format!(
                "ledger {} not found; create it with `daihou import` (or pass --db)",
                path.display()
            )));
        }
        create_private_file(path)?;
    }
    // Refuse a newer ledger before SQLite opens it: opening a WAL ledger creates its -wal and
    // -shm files (and a read-only connection leaves them behind). Without a -wal file the
    // header on disk is the whole truth; with one, SQLite's own check below decides.
    if exists && !wal_path(path).exists() {
        if let Some(version) = header_user_version(path) {
            if version > migrations::CURRENT {
                return Err(too_new(path, version));
            }
        }
    }
    let (conn, version) = match mode {
        Mode::Read => open_for_reading(path, busy_timeout)?,
        _ => {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("cannot open ledger {}", path.display()))?;
            // SQLite opens a write-protected file read-only without a word; say so now rather
            // than at the first row written.
            if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
                return Err(not_writable(path, "the file is read-only for this user"));
            }
            conn.busy_timeout(busy_timeout)?;
            let version = user_version(&conn).map_err(|e| match readonly_reason(path, &e) {
                Some(why) => not_writable(path, &why),
                None => not_a_ledger(path, e),
            })?;
            (conn, version)
        }
    };
    crate::hooks::limit_pages(&conn)?;
    // Refuse a newer ledger before anything (even the journal mode) is written to it.
    if version > migrations::CURRENT {
        return Err(too_new(path, version));
    }
    if mode != Mode::Read {
        // A new, still empty file: choose the page size before WAL fixes it. Larger pages
        // suit a ledger of tens of millions of short rows read in key order.
        if std::fs::metadata(path)
            .map(|m| m.len() == 0)
            .unwrap_or(false)
        {
            conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))?;
        }
        let jm = switch_to_wal(&conn, busy_timeout)?;
        if !jm.eq_ignore_ascii_case("wal") {
            return Err(exit::config(format!(
                "ledger {}: could not switch to WAL journal mode (got {jm}); keep the ledger on a local disk",
                path.display()
            )));
        }
    }
    conn.execute_batch(
        "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
    )?;
    if mode != Mode::Read {
        migrations::bring_up_to_date(&conn, path)?;
    } else if version < migrations::CURRENT {
        drop(conn);
        return upgrade_then_read(path, version, busy_timeout);
    }
    Ok(conn)
}

/// A reader of a ledger an older daihou wrote (after the binary was upgraded, say): the ledger
/// is upgraded once, in the one transaction a writer would use, then read; the next command
/// finds it current. A ledger that cannot be written here (a read-only file or folder) is left
/// untouched and refused with the writer's reason (exit 73), since reading it as it is would
/// mean reading a schema this daihou does not know.
fn upgrade_then_read(path: &Path, version: i64, busy_timeout: Duration) -> Result<Connection> {
    match open(path, Mode::Write, busy_timeout) {
        Ok(writer) => drop(writer),
        Err(e) => {
            let code = match exit::code_for(&e) {
                c if c == exit::Code::CantCreate as i32 => exit::Code::CantCreate,
                c if c == exit::Code::Busy as i32 => exit::Code::Busy,
                c if c == exit::Code::IoErr as i32 => exit::Code::IoErr,
                _ => exit::Code::Config,
            };
            return Err(exit::fail(
                code,
                format!(
                    "ledger {} has schema version {version}, older than this daihou's ({}), and                      upgrading it failed: {e:#}; run daihou once where the ledger is writable",
                    path.display(),
                    migrations::CURRENT
                ),
            ));
        }
    }
    eprintln!(
        "daihou: upgraded ledger {} from schema version {version} to {}",
        path.display(),
        migrations::CURRENT
    );
    open(path, Mode::Read, busy_timeout)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Opens the ledger for reading. A WAL ledger normally needs its -wal and -shm files beside
/// it; in a folder this user cannot write (a share, a read-only mount, an auditor's copy) and
/// with no committed changes left in a -wal file, the ledger file is the whole truth and no
/// daihou can be writing to it (a writer needs the folder too), so it is opened as immutable
/// instead of failing.
fn open_for_reading(path: &Path, busy_timeout: Duration) -> Result<(Connection, i64)> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("cannot open ledger {}", path.display()))?;
    conn.busy_timeout(busy_timeout)?;
    let err = match user_version(&conn) {
        Ok(v) => return Ok((conn, v)),
        Err(e) => e,
    };
    if !matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    ) {
        return Err(not_a_ledger(path, err));
    }
    drop(conn);
    // An empty -wal (left by an earlier reader) holds nothing the file lacks.
    if std::fs::metadata(wal_path(path)).is_ok_and(|m| m.len() > 0) {
        return Err(exit::no_input(format!(
            "cannot read ledger {}: its folder is not writable and {} holds changes not yet in \
             the ledger file; run any daihou command once where the folder is writable (or copy \
             the ledger together with its -wal and -shm files)",
            path.display(),
            wal_path(path).display()
        )));
    }
    let conn = Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
        .with_context(|| format!("cannot open ledger {}", path.display()))?;
    let version = user_version(&conn).map_err(|e| not_a_ledger(path, e))?;
    Ok((conn, version))
}

/// `file:PATH?mode=ro&immutable=1`, the path percent-encoded where a URI needs it.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

/// Why SQLite refused to write the ledger, when that is what `e` says.
pub fn readonly_reason(path: &Path, e: &rusqlite::Error) -> Option<String> {
    const READONLY_DIRECTORY: i32 = 1544; // SQLITE_READONLY_DIRECTORY
    let rusqlite::Error::SqliteFailure(f, _) = e else {
        return None;
    };
    if f.code != rusqlite::ErrorCode::ReadOnly {
        return None;
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => ".".to_string(),
    };
    Some(if f.extended_code == READONLY_DIRECTORY {
        format!(
            "its folder {folder} is not writable, and SQLite needs to create {} and {}-shm beside it",
            wal_path(path).display(),
            path.display()
        )
    } else if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        "the file is read-only".to_string()
    } else {
        format!("SQLite: {e}")
    })
}

/// Rewrites a failed write to the ledger into what the user can act on: a ledger this user
/// cannot write (73) or a full disk (74), naming the ledger rather than the CSV line or step
/// that happened to hit it. `nothing` says what the rolled-back run did not do ("nothing was
/// imported"). Any other error is returned as it is.
pub fn explain_write_failure(err: anyhow::Error, path: &Path, nothing: &str) -> anyhow::Error {
    for cause in err.chain() {
        if cause.downcast_ref::<exit::Failure>().is_some() {
            return err;
        }
        let Some(e) = cause.downcast_ref::<rusqlite::Error>() else {
            continue;
        };
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => {
                return exit::fail(
                    exit::Code::IoErr,
                    format!(
                        "no space left for the ledger {}; {nothing} (free space on its disk, \
                         or move the ledger with --db)",
                        path.display()
                    ),
                )
            }
            Some(rusqlite::ErrorCode::ReadOnly) => {
                let why = readonly_reason(path, e).unwrap_or_else(|| format!("SQLite: {e}"));
                return not_writable(path, &format!("{why}; {nothing}"));
            }
            _ => {}
        }
    }
    err
}

/// Deletes the ledger at `path` (with its -wal and -shm) when it holds no loan and no import:
/// what a failed or dry-run import leaves when there was no ledger before it, so that a later
/// command still says "ledger not found" instead of answering from an empty book. The check
/// runs under the write lock, so a ledger another run is filling at the same moment is kept.
pub fn remove_if_unused(path: &Path, busy_timeout: Duration) {
    let unused = (|| -> rusqlite::Result<bool> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy_timeout)?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables == 0 {
            return Ok(true);
        }
        tx.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM loans) AND NOT EXISTS (SELECT 1 FROM imports)",
            [],
            |r| r.get(0),
        )
    })();
    if unused.unwrap_or(false) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(p));
        }
    }
}

/// "ledger not writable: PATH (why)", exit 73.
pub fn not_writable(path: &Path, why: &str) -> anyhow::Error {
    exit::fail(
        exit::Code::CantCreate,
        format!("ledger not writable: {} ({why})", path.display()),
    )
}

/// `PRAGMA journal_mode=WAL`. Switching a new ledger to WAL takes an exclusive lock without
/// calling the busy handler, so a run racing another one that is creating the same ledger
/// retries here for up to the busy timeout instead of failing at once.
fn switch_to_wal(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    let start = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && start.elapsed() < busy_timeout =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn too_new(path: &Path, version: i64) -> anyhow::Error {
    exit::config(format!(
        "ledger {} has schema version {version}, newer than this daihou ({}) knows ({}); \
         upgrade daihou — the ledger was left untouched",
        path.display(),
        env!("CARGO_PKG_VERSION"),
        migrations::CURRENT
    ))
}

fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    p.into()
}

/// `PRAGMA user_version` read from the file's 100-byte header (big-endian at offset 60), when
/// the file is a SQLite database; `None` otherwise (SQLite then reports what it is).
fn header_user_version(path: &Path) -> Option<i64> {
    use std::io::Read;
    let mut header = [0u8; 100];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[..16] != b"SQLite format 3\0" {
        return None;
    }
    let v = i32::from_be_bytes([header[60], header[61], header[62], header[63]]);
    Some(i64::from(v))
}

fn not_a_ledger(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => exit::config(format!(
            "{} is not a SQLite file, so not a daihou ledger",
            path.display()
        )),
        _ => anyhow::Error::new(e).context(format!("cannot read ledger {}", path.display())),
    }
}

/// Creates the ledger file empty, owner-only (0600) on unix; one created a moment ago by another
/// run is used as it is.
fn create_private_file(path: &Path) -> Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        // Another run created it a moment ago: use that one.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(exit::fail(
            exit::Code::CantCreate,
            format!("cannot create ledger {}: {e}", path.display()),
        )),
    }
}

/// Whether the ledger has table `name` (a saved-run table is absent from a ledger older than
/// the command that writes it).
pub(crate) fn table_exists(c: &Connection, name: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// A date column as stored (`YYYY-MM-DD`); anything else is a data error naming the column.
pub(crate) fn date_col(s: &str, table: &str, col: &str) -> Result<chrono::NaiveDate> {
    crate::dates::from_ledger(s).ok_or_else(|| {
        exit::data(format!(
            "the ledger's {table}.{col} holds {s:?}, which is not a YYYY-MM-DD date"
        ))
    })
}

/// Starts the one write transaction of a command. IMMEDIATE takes the write lock now, so a
/// concurrent run waits up to the busy timeout here instead of failing half-way (exit 75).
/// The latest date of a fact that happens over a loan's life: a repayment or a follow-up
/// (None in a ledger with neither). One pass over each table.
pub fn latest_fact_date(conn: &Connection) -> Result<Option<chrono::NaiveDate>> {
    let d: Option<String> = conn.query_row(
        "SELECT max(d) FROM (SELECT max(paid_on) AS d FROM repayments
                             UNION ALL SELECT max(contact_date) FROM followups)",
        [],
        |r| r.get(0),
    )?;
    d.map(|s| crate::dates::parse_iso(&s).map_err(|e| anyhow::anyhow!("ledger date {s:?}: {e}")))
        .transpose()
}

pub fn begin(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .context("cannot start a write transaction on the ledger")
}

/// [`begin`] for a shared connection (the caller keeps reading through it inside the transaction).
pub fn begin_shared(conn: &Connection) -> Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
        .context("cannot start a write transaction on the ledger")
}

/// For the import, which checks every reference to a loan itself, once per loan rather than
/// once per row (the tape is read in loan order): turns SQLite's per-row foreign-key probe off
/// on this connection. The schema keeps its FOREIGN KEYs for every other writer. Must be called
/// outside a transaction.
pub fn checks_references_itself(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA foreign_keys=OFF")?;
    Ok(())
}

/// Runs `f` with SQLite's CHECK constraints off on this connection, for bulk inserts whose
/// every checked column Rust has already validated (typed enums, amounts and counts checked
/// at parse): SQLite checks a `CHECK (col IN ('a', 'b', 'c'))` of three or more values through
/// a temporary b-tree it opens, fills and closes for every row an INSERT writes (EXPLAIN:
/// `OpenEphemeral` per such list), and it checks them before an `ON CONFLICT DO NOTHING` finds
/// the row already there. The checks are set back on when `f` returns, failed or not (setting
/// the pragma expires the statements compiled meanwhile, so they are compiled again with the
/// checks); `f`'s error wins over one setting them back. Only `f`'s own writes may go through
/// here, never rows that come from elsewhere unchecked. Used by the import (loans, followups)
/// and schedule-visits' plan items.
pub fn with_checks_off<T>(c: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    c.execute_batch("PRAGMA ignore_check_constraints = ON")?;
    let r = f();
    let back = c.execute_batch("PRAGMA ignore_check_constraints = OFF");
    let v = r?;
    back?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutable_uri_escapes_what_a_uri_would_read() {
        assert_eq!(
            immutable_uri(Path::new("/srv/a b/贷#1?.db")),
            "file:/srv/a%20b/%E8%B4%B7%231%3F.db?mode=ro&immutable=1"
        );
        assert_eq!(
            immutable_uri(Path::new("l.db")),
            "file:l.db?mode=ro&immutable=1"
        );
    }

    #[test]
    fn a_full_disk_and_a_read_only_ledger_are_named_not_blamed_on_a_line() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let err = anyhow::Error::new(full).context("loans.csv line 7: writing to the ledger");
        let e = explain_write_failure(err, Path::new("x/l.db"), "nothing was imported");
        assert_eq!(exit::code_for(&e), 74);
        assert!(e
            .to_string()
            .starts_with("no space left for the ledger x/l.db; nothing was imported"));
        let ro = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(1544), // SQLITE_READONLY_DIRECTORY
            None,
        );
        let e = explain_write_failure(
            anyhow::Error::new(ro),
            Path::new("x/l.db"),
            "nothing was saved",
        );
        assert_eq!(exit::code_for(&e), 73);
        assert_eq!(
            e.to_string(),
            "ledger not writable: x/l.db (its folder x is not writable, and SQLite needs to \
             create x/l.db-wal and x/l.db-shm beside it; nothing was saved)"
        );
        let other = explain_write_failure(anyhow::anyhow!("boom"), Path::new("l.db"), "");
        assert_eq!(exit::code_for(&other), 1);
    }

    /// What `f` writes skips the CHECKs; after it, succeeded or failed, they hold again in the
    /// same transaction, for the statements compiled inside it too.
    #[test]
    fn checks_are_off_only_inside_with_checks_off() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(SCHEMA).unwrap();
        let tx = c.transaction().unwrap();
        let insert =
            "INSERT INTO loans (loan_id, borrower_id, borrower_type, currency, principal, \
                      annual_rate, origination_date, repayment_method) \
                      VALUES (?1, 'B', 'individual', 'CNY', 100, '4.9', '2026-01-01', ?2)";
        let put = |id: &str, method: &str| tx.prepare_cached(insert)?.execute([id, method]);
        with_checks_off(&tx, || Ok(put("L1", "weekly")?)).unwrap();
        assert!(
            put("L2", "weekly").is_err(),
            "checked again, the cached statement too"
        );
        put("L3", "annuity").unwrap();
        let e = with_checks_off(&tx, || -> Result<()> {
            put("L4", "weekly")?;
            anyhow::bail!("a bad row")
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "a bad row");
        assert!(
            put("L5", "weekly").is_err(),
            "checked again after a failure"
        );
        let ids: Vec<String> = tx
            .prepare("SELECT loan_id FROM loans ORDER BY loan_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids, ["L1", "L3", "L4"]);
    }
}
