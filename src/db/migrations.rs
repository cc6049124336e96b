//! Schema versions. A new ledger runs `schema.sql` whole; an older one runs the v → v+1 steps
//! below in one transaction (a failing step rolls everything back).

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::Connection;

use crate::exit;

/// The schema version `schema.sql` describes.
pub const CURRENT: i64 = 2;

/// Upgrade steps: `STEPS[i]` takes a ledger from version i+1 to i+2.
pub const STEPS: &[&str] = &[
    // 1 → 2: saved overdue positions.
    "CREATE TABLE positions (
        as_of TEXT NOT NULL, loan_id TEXT NOT NULL, dpd INTEGER NOT NULL, bucket TEXT NOT NULL,
        overdue_since TEXT, overdue_principal INTEGER NOT NULL, overdue_interest INTEGER NOT NULL,
        overdue_fee INTEGER NOT NULL, penalty_interest INTEGER NOT NULL,
        outstanding_principal INTEGER NOT NULL, installments_overdue INTEGER NOT NULL,
        last_payment_date TEXT, max_dpd INTEGER NOT NULL, next_action TEXT,
        sla_breached INTEGER NOT NULL, promises_broken INTEGER NOT NULL,
        PRIMARY KEY (as_of, loan_id)
    ) WITHOUT ROWID;
    CREATE TABLE position_runs (
        as_of TEXT PRIMARY KEY NOT NULL, computed_at TEXT NOT NULL, conventions TEXT NOT NULL,
        loans INTEGER NOT NULL, overdue INTEGER NOT NULL
    );",
];

/// Creates the schema in an empty database or upgrades an older one.
pub fn bring_up_to_date(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == CURRENT {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<()> {
        // Read again under the lock: another process may have just created the schema.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            let tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            if tables > 0 {
                return Err(exit::config(format!(
                    "{} is a SQLite file but not a daihou ledger (it has tables and no daihou schema version)",
                    path.display()
                )));
            }
            conn.execute_batch(crate::db::SCHEMA)
                .context("creating the ledger schema")?;
        } else {
            upgrade(conn, version, CURRENT)?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {CURRENT}"))?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Runs the steps from `from` to `to` (inside the caller's transaction).
pub fn upgrade(conn: &Connection, from: i64, to: i64) -> Result<()> {
    for v in from..to {
        let step = STEPS
            .get((v - 1) as usize)
            .ok_or_else(|| exit::config(format!("no migration from schema version {v}")))?;
        conn.execute_batch(step).with_context(|| {
            format!("migrating the ledger from schema version {v} to {}", v + 1)
        })?;
    }
    Ok(())
}
