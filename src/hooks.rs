//! Hidden hooks for the test suite, read from the environment and never shown in `--help`.
//! Each one lets a test reach a state it could otherwise only reach by luck or by root:
//!
//! - `DAIHOU_TEST_MAX_PAGES=N`: `PRAGMA max_page_count = N` on every ledger connection, so a
//!   test can fill "the disk" (SQLITE_FULL) portably.
//! - `DAIHOU_TEST_PAUSE_AT=POINT:N`: the Nth time the run passes the named point, it prints
//!   `daihou: test pause at POINT:N` on stderr and waits there (ten minutes at most, then
//!   aborts), so a test can SIGKILL
//!   it at exactly that point instead of guessing with sleeps. Points: `import-row` (each CSV
//!   row read), `import-log` (the import log, written just before the commit), `save-position`
//!   (each position `overdue --save` stores), `save-run` (each saved date's run record, after
//!   all its positions, before the commit).
//!
//! Unset, each costs one environment lookup per process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use anyhow::Result;
use rusqlite::Connection;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Applies `DAIHOU_TEST_MAX_PAGES` to a new connection.
pub fn limit_pages(conn: &Connection) -> Result<()> {
    static MAX_PAGES: OnceLock<Option<u64>> = OnceLock::new();
    let max =
        MAX_PAGES.get_or_init(|| var("DAIHOU_TEST_MAX_PAGES").and_then(|v| v.trim().parse().ok()));
    if let Some(n) = max {
        conn.query_row(&format!("PRAGMA max_page_count = {n}"), [], |_| Ok(()))?;
    }
    Ok(())
}

/// The `DAIHOU_TEST_PAUSE_AT` hook: call at a named point; free when the variable is unset.
#[inline]
pub fn pause_at(point: &str) {
    static AT: OnceLock<Option<(String, u64)>> = OnceLock::new();
    let Some((name, n)) = AT
        .get_or_init(|| {
            let v = var("DAIHOU_TEST_PAUSE_AT")?;
            let (name, n) = match v.trim().rsplit_once(':') {
                Some((name, n)) => (name.to_string(), n.parse().ok()?),
                None => (v.trim().to_string(), 1),
            };
            Some((name, n))
        })
        .as_ref()
    else {
        return;
    };
    if name != point {
        return;
    }
    static PASSED: AtomicU64 = AtomicU64::new(0);
    if PASSED.fetch_add(1, Ordering::Relaxed) + 1 == *n {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "daihou: test pause at {point}:{n}");
        let _ = err.flush();
        drop(err);
        // Waits for the test's SIGKILL; a test that died first leaves no process behind for
        // long: after ten minutes the run aborts (as abruptly as a kill).
        std::thread::sleep(std::time::Duration::from_secs(600));
        std::process::abort();
    }
}
