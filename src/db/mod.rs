//! The only place that opens the ledger: pragmas, schema creation and migrations.
//! All SQL lives under `db/`, one file per area.

pub mod book;
pub mod grades;
pub mod ledger;
pub mod migrations;
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
    let flags = match mode {
        Mode::Read => OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        _ => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    };
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("cannot open ledger {}", path.display()))?;
    conn.busy_timeout(busy_timeout)?;
    // Refuse a newer ledger before anything (even the journal mode) is written to it.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| not_a_ledger(path, e))?;
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
        return Err(exit::config(format!(
            "ledger {} has schema version {version}; run any writing command (e.g. `daihou import`) to upgrade it",
            path.display()
        )));
    }
    Ok(conn)
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

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        // Another run created it a moment ago: use that one.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(exit::fail(
            exit::Code::CantCreate,
            format!("cannot create ledger {}: {e}", path.display()),
        )),
    }
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        // Another run created it a moment ago: use that one.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(exit::fail(
            exit::Code::CantCreate,
            format!("cannot create ledger {}: {e}", path.display()),
        )),
    }
}

/// Starts the one write transaction of a command. IMMEDIATE takes the write lock now, so a
/// concurrent run waits up to the busy timeout here instead of failing half-way (exit 75).
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
