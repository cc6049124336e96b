//! Schema versions. A new ledger runs `schema.sql` whole; an older one runs the v → v+1 steps
//! below in one transaction (a failing step rolls everything back).

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::Connection;

use crate::exit;

/// The schema version `schema.sql` describes.
pub const CURRENT: i64 = 10;

/// Upgrade steps: `STEPS[i]` takes a ledger from version i+1 to i+2.
pub const STEPS: &[&str] = &[
    // 1 → 2: schedule.source (text) becomes schedule.generated (0/1, no bytes on disk);
    // saved overdue positions.
    "CREATE TABLE schedule_new (
        loan_id        TEXT NOT NULL REFERENCES loans (loan_id),
        installment_no INTEGER NOT NULL CHECK (installment_no > 0),
        due_date       TEXT NOT NULL,
        principal_due  INTEGER NOT NULL CHECK (principal_due >= 0),
        interest_due   INTEGER NOT NULL CHECK (interest_due >= 0),
        fee_due        INTEGER NOT NULL DEFAULT 0 CHECK (fee_due >= 0),
        generated      INTEGER NOT NULL DEFAULT 0 CHECK (generated IN (0, 1)),
        PRIMARY KEY (loan_id, installment_no)
    ) WITHOUT ROWID;
    INSERT INTO schedule_new
        SELECT loan_id, installment_no, due_date, principal_due, interest_due, fee_due,
               source = 'generated'
        FROM schedule;
    DROP VIEW schedule_v;
    DROP TABLE schedule;
    ALTER TABLE schedule_new RENAME TO schedule;
    CREATE VIEW schedule_v AS
    SELECT loan_id, installment_no, due_date,
           (principal_due / 100) || '.' || printf('%02d', principal_due % 100) AS principal_due,
           (interest_due / 100) || '.' || printf('%02d', interest_due % 100) AS interest_due,
           (fee_due / 100) || '.' || printf('%02d', fee_due % 100) AS fee_due,
           CASE generated WHEN 1 THEN 'generated' ELSE 'imported' END AS source
    FROM schedule;
    CREATE TABLE positions (
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
    // 2 → 3: saved visit plans (schedule-visits).
    "CREATE TABLE visit_plans (
    as_of       TEXT PRIMARY KEY NOT NULL,
    computed_at TEXT NOT NULL,                             -- UTC, ISO 8601
    first_day   TEXT NOT NULL,
    last_day    TEXT NOT NULL,
    policy      TEXT NOT NULL,                             -- the policy TOML in effect
    planned     INTEGER NOT NULL,
    unplanned   INTEGER NOT NULL
);

CREATE TABLE visit_plan_items (
    as_of       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    date        TEXT,                                      -- NULL when unplanned
    officer     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('visit', 'call')),
    borrower_id TEXT NOT NULL,
    loans       TEXT NOT NULL,                             -- loan_ids, comma-separated
    reason      TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    score_parts TEXT NOT NULL,
    earliest    TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('planned', 'late', 'unplanned')),
    held_by     TEXT,
    rollover    INTEGER NOT NULL,
    outcome     TEXT NOT NULL DEFAULT 'open' CHECK (outcome IN ('open', 'done', 'late', 'missed')),
    done_on     TEXT,
    PRIMARY KEY (as_of, seq)
) WITHOUT ROWID;
CREATE INDEX visit_plan_items_open ON visit_plan_items (outcome, as_of);
",
    // 3 → 4: restructures, their schedule versions and their log.
    "CREATE TABLE restructures (
        loan_id              TEXT NOT NULL REFERENCES loans (loan_id),
        restructure_id       TEXT NOT NULL UNIQUE CHECK (restructure_id <> ''),
        effective_date       TEXT NOT NULL,
        kind                 TEXT NOT NULL CHECK (kind IN ('extension', 'interest_only', 'holiday',
                                 'capitalisation', 'rate_cut', 'method_change')),
        reason               TEXT NOT NULL DEFAULT '',
        new_principal        INTEGER CHECK (new_principal > 0),
        new_annual_rate      TEXT,
        new_term_months      INTEGER CHECK (new_term_months > 0),
        new_method           TEXT,
        holiday_months       INTEGER NOT NULL DEFAULT 0 CHECK (holiday_months >= 0),
        interest_only_months INTEGER NOT NULL DEFAULT 0 CHECK (interest_only_months >= 0),
        transfer             INTEGER NOT NULL DEFAULT 0 CHECK (transfer >= 0),
        cancelled            INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
        PRIMARY KEY (loan_id, restructure_id)
    ) WITHOUT ROWID;
    CREATE TABLE restructure_schedule (
        loan_id        TEXT NOT NULL,
        restructure_id TEXT NOT NULL,
        installment_no INTEGER NOT NULL CHECK (installment_no > 0),
        due_date       TEXT NOT NULL,
        principal_due  INTEGER NOT NULL CHECK (principal_due >= 0),
        interest_due   INTEGER NOT NULL CHECK (interest_due >= 0),
        fee_due        INTEGER NOT NULL DEFAULT 0 CHECK (fee_due >= 0),
        generated      INTEGER NOT NULL DEFAULT 0 CHECK (generated IN (0, 1)),
        PRIMARY KEY (loan_id, restructure_id, installment_no),
        FOREIGN KEY (loan_id, restructure_id) REFERENCES restructures (loan_id, restructure_id)
    ) WITHOUT ROWID;
    CREATE TABLE restructure_log (
        loan_id        TEXT NOT NULL,
        restructure_id TEXT NOT NULL,
        event          TEXT NOT NULL CHECK (event IN ('imported', 'cancelled')),
        reason         TEXT NOT NULL DEFAULT '',
        logged_at      TEXT NOT NULL
    );",
    // 4 → 5: classification: analyst overrides, risk events, saved grades and their runs.
    "CREATE TABLE overrides (
    loan_id        TEXT NOT NULL REFERENCES loans (loan_id),
    effective_date TEXT NOT NULL,
    grade          TEXT NOT NULL CHECK (grade IN ('正常', '关注', '次级', '可疑', '损失')),
    reason         TEXT NOT NULL DEFAULT '',
    analyst        TEXT NOT NULL DEFAULT '',
    expires_on     TEXT,
    PRIMARY KEY (loan_id, effective_date)
) WITHOUT ROWID;

CREATE TABLE events (
    event_id    TEXT PRIMARY KEY NOT NULL,
    loan_id     TEXT REFERENCES loans (loan_id),
    borrower_id TEXT,
    event_date  TEXT NOT NULL,
    code        TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    CHECK (loan_id IS NOT NULL OR (borrower_id IS NOT NULL AND borrower_id <> ''))
);
CREATE INDEX events_by_loan ON events (loan_id);

CREATE TABLE grades (
    as_of                       TEXT NOT NULL,
    loan_id                     TEXT NOT NULL,
    borrower_id                 TEXT NOT NULL,
    borrower_type               TEXT NOT NULL,
    dpd                         INTEGER NOT NULL,
    outstanding_principal       INTEGER NOT NULL,
    grade                       TEXT NOT NULL,             -- 正常 关注 次级 可疑 损失
    stage                       INTEGER NOT NULL,          -- IFRS 9: 1, 2, 3
    grade_rule                  TEXT NOT NULL,
    reasons                     TEXT NOT NULL,
    override                    TEXT,
    override_grade              TEXT,
    eligible_for_upgrade_review INTEGER NOT NULL,
    segment                     TEXT NOT NULL,
    provision_rate              TEXT NOT NULL,             -- a fraction, e.g. '0.3'
    provision                   INTEGER NOT NULL,
    PRIMARY KEY (as_of, loan_id)
) WITHOUT ROWID;
CREATE INDEX grades_by_borrower ON grades (as_of, borrower_id);

CREATE TABLE grade_runs (
    as_of       TEXT PRIMARY KEY NOT NULL,
    computed_at TEXT NOT NULL,                             -- UTC, ISO 8601
    rules       TEXT NOT NULL,
    staging     TEXT NOT NULL,
    conventions TEXT NOT NULL,                             -- JSON
    loans       INTEGER NOT NULL,
    npl         INTEGER NOT NULL
);",
    // 5 → 6: followups take the wechat and app channels and four optional columns; every row
    // is kept (a no_answer is not connected); the followups_v view.
    "CREATE TABLE followups_new (
        followup_id    TEXT PRIMARY KEY NOT NULL,
        loan_id        TEXT NOT NULL REFERENCES loans (loan_id),
        contact_date   TEXT NOT NULL,
        channel        TEXT NOT NULL
            CHECK (channel IN ('phone', 'sms', 'visit', 'letter', 'legal', 'wechat', 'app')),
        officer        TEXT NOT NULL DEFAULT '',
        outcome        TEXT NOT NULL
            CHECK (outcome IN ('no_answer', 'contacted', 'promise_to_pay', 'refused', 'paid', 'other')),
        promise_date   TEXT,
        promise_amount INTEGER CHECK (promise_amount > 0),
        note           TEXT NOT NULL DEFAULT '',
        contact_time   TEXT,
        contact_party  TEXT CHECK (contact_party IN ('debtor', 'guarantor', 'contact', 'third_party')),
        connected      INTEGER CHECK (connected IN (0, 1)),
        consent_window TEXT
    );
    INSERT INTO followups_new (followup_id, loan_id, contact_date, channel, officer, outcome,
                               promise_date, promise_amount, note, connected)
        SELECT followup_id, loan_id, contact_date, channel, officer, outcome, promise_date,
               promise_amount, note, CASE outcome WHEN 'no_answer' THEN 0 END
        FROM followups;
    DROP TABLE followups;
    ALTER TABLE followups_new RENAME TO followups;
    CREATE INDEX followups_by_loan ON followups (loan_id, contact_date);
    CREATE VIEW followups_v AS
    SELECT followup_id, loan_id, contact_date, contact_time, channel, contact_party,
           CASE connected WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS connected,
           officer, outcome, promise_date,
           CASE WHEN promise_amount IS NOT NULL
                THEN (promise_amount / 100) || '.' || printf('%02d', promise_amount % 100) END AS promise_amount,
           consent_window, note
    FROM followups;",
    // 6 → 7: the positions_v view (saved positions with amounts as decimals).
    "CREATE VIEW positions_v AS
    SELECT as_of, loan_id, dpd, bucket, overdue_since,
           (overdue_principal / 100) || '.' || printf('%02d', overdue_principal % 100) AS overdue_principal,
           (overdue_interest / 100) || '.' || printf('%02d', overdue_interest % 100) AS overdue_interest,
           ((overdue_principal + overdue_interest) / 100) || '.'
               || printf('%02d', (overdue_principal + overdue_interest) % 100) AS overdue_total,
           (overdue_fee / 100) || '.' || printf('%02d', overdue_fee % 100) AS overdue_fee,
           (penalty_interest / 100) || '.' || printf('%02d', penalty_interest % 100) AS penalty_interest,
           (outstanding_principal / 100) || '.' || printf('%02d', outstanding_principal % 100) AS outstanding_principal,
           installments_overdue, last_payment_date, max_dpd, next_action,
           CASE sla_breached WHEN 1 THEN 'true' ELSE 'false' END AS sla_breached,
           promises_broken
    FROM positions;",
    // 7 → 8: a saved grade remembers the last day its loan was in IFRS 9 stage 3 by a trigger
    // (the probation of a stage 3 from a grade, an event or contagion).
    "ALTER TABLE grades ADD COLUMN stage3_last TEXT;",
    // 8 → 9: restructure_log takes the 'schedule_replaced' event (an imported schedule version
    // replacing the generated one) and the file, lines and detail of every event. SQLite cannot
    // change a CHECK: the table is rebuilt, its rows kept in their order.
    "CREATE TABLE restructure_log_new (
        loan_id        TEXT NOT NULL,
        restructure_id TEXT NOT NULL,
        event          TEXT NOT NULL CHECK (event IN ('imported', 'cancelled', 'schedule_replaced')),
        reason         TEXT NOT NULL DEFAULT '',
        logged_at      TEXT NOT NULL,
        file           TEXT,
        first_line     INTEGER CHECK (first_line > 0),
        last_line      INTEGER CHECK (last_line >= first_line),
        detail         TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO restructure_log_new (loan_id, restructure_id, event, reason, logged_at)
        SELECT loan_id, restructure_id, event, reason, logged_at FROM restructure_log ORDER BY rowid;
    DROP TABLE restructure_log;
    ALTER TABLE restructure_log_new RENAME TO restructure_log;",
    // 9 → 10: saved grades are no longer indexed by borrower: classify finds a borrower's rows
    // by their key (as_of, loan_id), and keeping the index up cost a 12-month-end run at a
    // million loans more than the rest of its writes.
    "DROP INDEX IF EXISTS grades_by_borrower;",
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

#[cfg(test)]
mod prop_tests {
    //! A failing upgrade step leaves the ledger exactly as it was.

    use super::*;

    /// A version-1 ledger with a few rows (the fixture the CLI migration test also uses).
    const V1: &str = include_str!("../../tests/fixtures/ledger-v1.sql");

    fn v1_ledger(extra: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(extra).unwrap();
        conn
    }

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    /// Every schema object and the row counts of the fact tables.
    fn state(conn: &Connection) -> Vec<String> {
        let mut st = conn
            .prepare("SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_master ORDER BY name")
            .unwrap();
        let mut out: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for t in ["loans", "schedule", "repayments", "followups", "imports"] {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            out.push(format!("{t}: {n} rows"));
        }
        out
    }

    #[test]
    fn the_fixture_is_version_1_and_upgrades_cleanly() {
        let conn = v1_ledger("");
        assert_eq!(version(&conn), 1);
        bring_up_to_date(&conn, Path::new("v1.db")).unwrap();
        assert_eq!(version(&conn), CURRENT);
        assert!(conn.is_autocommit());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM positions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    /// `upgrade` inside a transaction that is then rolled back: nothing of the step remains.
    #[test]
    fn a_failing_step_inside_a_transaction_rolls_back() {
        // position_runs is already there, so the step creates positions and then fails.
        let mut conn = v1_ledger("CREATE TABLE position_runs (x);");
        let before = state(&conn);
        let tx = conn.transaction().unwrap();
        let err = upgrade(&tx, 1, CURRENT).unwrap_err();
        assert!(
            format!("{err:#}").contains("from schema version 1 to 2"),
            "{err:#}"
        );
        tx.rollback().unwrap();
        assert_eq!(version(&conn), 1);
        assert_eq!(state(&conn), before);
    }

    /// Through `bring_up_to_date`, as `db::open` runs it: an error, version and schema unchanged,
    /// no transaction left open, and a later fixed ledger still upgrades.
    #[test]
    fn a_failing_step_in_bring_up_to_date_leaves_the_ledger_unchanged() {
        for clash in [
            "CREATE TABLE positions (x);",
            "CREATE TABLE position_runs (x);",
            "CREATE VIEW position_runs AS SELECT 1;",
        ] {
            let conn = v1_ledger(clash);
            let before = state(&conn);
            let err = bring_up_to_date(&conn, Path::new("bogus.db")).unwrap_err();
            assert!(
                format!("{err:#}").contains("migrating the ledger from schema version 1 to 2"),
                "{clash}: {err:#}"
            );
            assert!(conn.is_autocommit(), "{clash}: a transaction was left open");
            assert_eq!(version(&conn), 1, "{clash}");
            assert_eq!(state(&conn), before, "{clash}");
        }
        let conn = v1_ledger("CREATE TABLE position_runs (x); DROP TABLE position_runs;");
        bring_up_to_date(&conn, Path::new("fixed.db")).unwrap();
        assert_eq!(version(&conn), CURRENT);
    }

    /// Every step taken from version 1 gives the objects (tables, views, indexes) of a ledger
    /// created fresh from schema.sql: a view or index added to one and not the other fails.
    #[test]
    fn an_upgraded_ledger_has_the_objects_of_a_fresh_one() {
        let objects = |conn: &Connection| {
            column(
                conn,
                "SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1",
            )
        };
        let upgraded = v1_ledger("");
        bring_up_to_date(&upgraded, Path::new("v1.db")).unwrap();
        let fresh = Connection::open_in_memory().unwrap();
        bring_up_to_date(&fresh, Path::new("fresh.db")).unwrap();
        assert_eq!(objects(&upgraded), objects(&fresh));
        assert!(objects(&fresh).contains(&"view positions_v".to_string()));
    }

    /// 8 → 9: the restructure log keeps its rows in their order (file and lines unknown), and
    /// then takes the schedule_replaced event; an unknown event is still refused.
    #[test]
    fn a_version_8_restructure_log_upgrades_keeping_its_rows() {
        let conn = v1_ledger("");
        upgrade(&conn, 1, 8).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 8;
             INSERT INTO restructure_log (loan_id, restructure_id, event, reason, logged_at)
             VALUES ('V1LN0001', 'R2', 'imported', 'hardship', '2026-01-02T00:00:00Z'),
                    ('V1LN0001', 'R1', 'cancelled', 'by mistake', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        assert!(conn
            .execute_batch(
                "INSERT INTO restructure_log (loan_id, restructure_id, event, logged_at)
                 VALUES ('V1LN0001', 'R2', 'schedule_replaced', 'x')"
            )
            .is_err());
        bring_up_to_date(&conn, Path::new("v8.db")).unwrap();
        assert_eq!(version(&conn), CURRENT);
        let rows =
            "SELECT restructure_id || '|' || event || '|' || reason || '|' || logged_at || '|' \
                    || ifnull(file, '-') || '|' || ifnull(first_line, '-') || '|' || detail \
                    FROM restructure_log ORDER BY rowid";
        assert_eq!(
            column(&conn, rows),
            [
                "R2|imported|hardship|2026-01-02T00:00:00Z|-|-|",
                "R1|cancelled|by mistake|2026-01-01T00:00:00Z|-|-|"
            ]
        );
        conn.execute_batch(
            "INSERT INTO restructure_log (loan_id, restructure_id, event, logged_at, file, first_line, last_line, detail)
             VALUES ('V1LN0001', 'R2', 'schedule_replaced', 'x', 's.csv', 2, 3, 'generated … replaced')",
        )
        .unwrap();
        for bad in [
            "('V1LN0001', 'R2', 'deleted', 'x', 's.csv', 2, 3, '')",
            "('V1LN0001', 'R2', 'schedule_replaced', 'x', 's.csv', 3, 2, '')",
        ] {
            assert!(
                conn.execute_batch(&format!(
                    "INSERT INTO restructure_log (loan_id, restructure_id, event, logged_at, file, first_line, last_line, detail) VALUES {bad}"
                ))
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn versions_without_steps_are_refused() {
        for v in [-3, i64::from(i32::MIN)] {
            let conn = v1_ledger(&format!("PRAGMA user_version = {v};"));
            let before = state(&conn);
            let err = bring_up_to_date(&conn, Path::new("odd.db")).unwrap_err();
            assert_eq!(crate::exit::code_for(&err), 78, "{err:#}");
            assert!(conn.is_autocommit());
            assert_eq!(version(&conn), v);
            assert_eq!(state(&conn), before);
        }
    }

    fn column(conn: &Connection, sql: &str) -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// A version-2 ledger (the v1 fixture after its step, plus followups of each kind) keeps
    /// every row through 2 → 3; a no_answer becomes not connected; wechat is then allowed.
    #[test]
    fn a_version_2_ledger_upgrades_keeping_every_followup() {
        let conn = v1_ledger("");
        upgrade(&conn, 1, 2).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO followups (followup_id, loan_id, contact_date, channel, officer, outcome, note)
             VALUES ('a', 'V1LN0001', '2022-03-21', 'phone', '陈立新', 'no_answer', ''),
                    ('b', 'V1LN0001', '2022-03-21', 'phone', '陈立新', 'no_answer', ''),
                    ('c', 'V1LN0002', '2022-07-05', 'visit', '赵婷', 'refused', '拒绝');",
        )
        .unwrap();
        let facts = "SELECT followup_id || '|' || loan_id || '|' || contact_date || '|' || channel || '|' \
                     || officer || '|' || outcome || '|' || ifnull(promise_date, '') || '|' \
                     || ifnull(promise_amount, '') || '|' || note FROM followups ORDER BY followup_id";
        let before = column(&conn, facts);
        assert_eq!(before.len(), 4);
        let other = state(&conn);
        bring_up_to_date(&conn, Path::new("v2.db")).unwrap();
        assert_eq!(version(&conn), CURRENT);
        assert_eq!(column(&conn, facts), before);
        // Nothing else changed: the other tables and their row counts.
        let keep = |st: Vec<String>| -> Vec<String> {
            st.into_iter()
                .filter(|l| l.ends_with(" rows") && !l.starts_with("followups"))
                .collect()
        };
        assert_eq!(keep(state(&conn)), keep(other));
        assert_eq!(
            column(
                &conn,
                "SELECT followup_id || ':' || ifnull(connected, 'null') || ':' || ifnull(promise_amount, '') \
                 FROM followups_v ORDER BY followup_id"
            ),
            ["a:false:", "b:false:", "c:null:", "v1-followup-0001:null:1055.00"]
        );
        conn.execute_batch(
            "INSERT INTO followups (followup_id, loan_id, contact_date, channel, outcome, contact_time, contact_party, connected)
             VALUES ('d', 'V1LN0001', '2022-03-22', 'wechat', 'contacted', '09:30', 'guarantor', 1)",
        )
        .unwrap();
        assert!(conn
            .execute_batch(
                "INSERT INTO followups (followup_id, loan_id, contact_date, channel, outcome, contact_party)
                 VALUES ('e', 'V1LN0001', '2022-03-22', 'app', 'contacted', 'neighbour')"
            )
            .is_err());
    }
}
