//! Hidden hooks for the test suite, read from the environment and never shown in `--help`.
//! Each one lets a test reach a state it could otherwise only reach by luck or by root:
//!
//! - `DAIHOU_TEST_MAX_PAGES=N`: `PRAGMA max_page_count = N` on every ledger connection, so a
//!   test can fill "the disk" (SQLITE_FULL) portably.
//!
//! Unset, each costs one environment lookup per process.

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
