-- daihou ledger schema. This file is the whole current schema; it is compiled into the binary.
-- A new ledger runs it and sets PRAGMA user_version; older ledgers are upgraded by
-- src/db/migrations.rs. Amounts are INTEGER fen (1/100 of the currency unit), dates ISO text,
-- rates decimal text in percent per year. The *_v views show amounts as decimals for sqlite3 users.

-- Facts: what the tapes say. ------------------------------------------------------------------

CREATE TABLE loans (
    loan_id             TEXT PRIMARY KEY NOT NULL CHECK (loan_id <> ''),
    borrower_id         TEXT NOT NULL,
    borrower_name       TEXT NOT NULL DEFAULT '',          -- PII
    borrower_type       TEXT NOT NULL CHECK (borrower_type IN ('individual', 'corporate')),
    region              TEXT NOT NULL DEFAULT '',
    branch              TEXT NOT NULL DEFAULT '',
    officer             TEXT NOT NULL DEFAULT '',
    product             TEXT NOT NULL DEFAULT '',
    currency            TEXT NOT NULL,
    principal           INTEGER NOT NULL CHECK (principal > 0),
    annual_rate         TEXT NOT NULL,                     -- percent per year, e.g. '4.9'
    origination_date    TEXT NOT NULL,
    term_months         INTEGER CHECK (term_months > 0),
    term_days           INTEGER CHECK (term_days > 0),
    repayment_method    TEXT NOT NULL
        CHECK (repayment_method IN ('annuity', 'equal_principal', 'interest_only', 'bullet')),
    repayment_frequency TEXT NOT NULL DEFAULT 'monthly'
        CHECK (repayment_frequency IN ('monthly', 'quarterly')),
    first_due_date      TEXT,
    maturity_date       TEXT,
    status              TEXT,                              -- as the core system reports it
    collateral          TEXT NOT NULL DEFAULT '',
    phone               TEXT NOT NULL DEFAULT '',          -- PII
    id_number           TEXT NOT NULL DEFAULT ''           -- PII
);
CREATE INDEX loans_by_borrower ON loans (borrower_id);

-- One row per installment. generated = 0: from a schedule tape (always wins); 1: computed by
-- daihou from the loan contract because no schedule was imported (schedule_v shows it as text).
CREATE TABLE schedule (
    loan_id        TEXT NOT NULL REFERENCES loans (loan_id),
    installment_no INTEGER NOT NULL CHECK (installment_no > 0),
    due_date       TEXT NOT NULL,
    principal_due  INTEGER NOT NULL CHECK (principal_due >= 0),
    interest_due   INTEGER NOT NULL CHECK (interest_due >= 0),
    fee_due        INTEGER NOT NULL DEFAULT 0 CHECK (fee_due >= 0),
    generated      INTEGER NOT NULL DEFAULT 0 CHECK (generated IN (0, 1)),
    PRIMARY KEY (loan_id, installment_no)
) WITHOUT ROWID;

-- Money received. A reversal row carries reverses_txn_id and undoes that transaction.
CREATE TABLE repayments (
    loan_id         TEXT NOT NULL REFERENCES loans (loan_id),
    txn_id          TEXT NOT NULL UNIQUE CHECK (txn_id <> ''),
    paid_on         TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    channel         TEXT NOT NULL DEFAULT '',
    reverses_txn_id TEXT,
    PRIMARY KEY (loan_id, txn_id)
) WITHOUT ROWID;

-- Collection contacts. followup_id is the tape's own id when it has one, else a stable hash of
-- the row (numbered `#k` for the k-th identical row of a file), so a re-import adds nothing.
CREATE TABLE followups (
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
    contact_time   TEXT,                                   -- HH:MM, local time
    contact_party  TEXT CHECK (contact_party IN ('debtor', 'guarantor', 'contact', 'third_party')),
    connected      INTEGER CHECK (connected IN (0, 1)),    -- no_answer is 0
    consent_window TEXT                                    -- as written, e.g. 18:00-21:00
);
CREATE INDEX followups_by_loan ON followups (loan_id, contact_date);

-- Restructures (贷款重组): from effective_date the loan follows a new schedule version, held in
-- restructure_schedule. transfer is the arrears (fen) the restructure took over at effective_date
-- (capitalised or carried kinds; 0 when they are left overdue). A re-import with kind
-- 'cancelled' sets cancelled = 1 and logs it in restructure_log: rows are never deleted.
CREATE TABLE restructures (
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

-- The schedule version of each restructure (generated = 1: from its terms at import).
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

-- Every change of a restructure, in the order made (UTC, ISO 8601): 'imported', 'cancelled', and
-- 'schedule_replaced' (the bank's own schedule version, schedule.csv rows carrying the
-- restructure_id, replaced the version generated from the restructure's terms; detail states
-- both). file and first_line..last_line: the import file (by the path given) and the lines the
-- change came from; NULL on events logged before schema version 9.
CREATE TABLE restructure_log (
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

-- The log of successful imports (written in the same transaction, so only on success).
CREATE TABLE imports (
    import_id      INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    file           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    rows           INTEGER NOT NULL,
    new            INTEGER NOT NULL,
    changed        INTEGER NOT NULL,
    unchanged      INTEGER NOT NULL,
    skipped        INTEGER NOT NULL,
    started_at     TEXT NOT NULL,                          -- UTC, ISO 8601
    duration_ms    INTEGER NOT NULL,
    daihou_version TEXT NOT NULL
);

-- Derived results: recomputable from the facts for any date, keyed by as_of. ---------------------

-- `overdue --save`: the position of every loan originated on or before as_of and not yet closed.
-- A rerun for the same as_of replaces that date's rows in one transaction.
CREATE TABLE positions (
    as_of                 TEXT NOT NULL,
    loan_id               TEXT NOT NULL,
    dpd                   INTEGER NOT NULL,
    bucket                TEXT NOT NULL,
    overdue_since         TEXT,
    overdue_principal     INTEGER NOT NULL,
    overdue_interest      INTEGER NOT NULL,
    overdue_fee           INTEGER NOT NULL,
    penalty_interest      INTEGER NOT NULL,
    outstanding_principal INTEGER NOT NULL,
    installments_overdue  INTEGER NOT NULL,
    last_payment_date     TEXT,
    max_dpd               INTEGER NOT NULL,
    next_action           TEXT,
    sla_breached          INTEGER NOT NULL,
    promises_broken       INTEGER NOT NULL,
    PRIMARY KEY (as_of, loan_id)
) WITHOUT ROWID;

-- One row per saved as_of: when and under which conventions it was computed.
CREATE TABLE position_runs (
    as_of       TEXT PRIMARY KEY NOT NULL,
    computed_at TEXT NOT NULL,                             -- UTC, ISO 8601
    conventions TEXT NOT NULL,                             -- the options used, as JSON
    loans       INTEGER NOT NULL,
    overdue     INTEGER NOT NULL
);

-- `schedule-visits`: one plan per as_of (a rerun replaces it) and its items. Later runs record
-- what became of each item (outcome, done_on) from the follow-ups logged since.
CREATE TABLE visit_plans (
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

-- Analyst judgement (import overrides): a grade for a loan from effective_date; in force before
-- expires_on (expired on it). It can worsen a grade freely, never lift it above a hard floor.
CREATE TABLE overrides (
    loan_id        TEXT NOT NULL REFERENCES loans (loan_id),
    effective_date TEXT NOT NULL,
    grade          TEXT NOT NULL CHECK (grade IN ('正常', '关注', '次级', '可疑', '损失')),
    reason         TEXT NOT NULL DEFAULT '',
    analyst        TEXT NOT NULL DEFAULT '',
    expires_on     TEXT,
    PRIMARY KEY (loan_id, effective_date)
) WITHOUT ROWID;

-- Risk events (import events) of a loan, or of a borrower when loan_id is NULL (then they apply
-- to every loan of that borrower). event_id is the natural key as text: loan:ID|date|code or
-- borrower:ID|date|code.
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

-- `classify --save`: the grade of every active loan on as_of. A rerun replaces that date.
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
    stage3_last                 TEXT,                      -- last day a stage-3 trigger held
    PRIMARY KEY (as_of, loan_id)
) WITHOUT ROWID;

-- One row per saved classification date: when, under which rule set, staging and conventions.
CREATE TABLE grade_runs (
    as_of       TEXT PRIMARY KEY NOT NULL,
    computed_at TEXT NOT NULL,                             -- UTC, ISO 8601
    rules       TEXT NOT NULL,
    staging     TEXT NOT NULL,
    conventions TEXT NOT NULL,                             -- JSON
    loans       INTEGER NOT NULL,
    npl         INTEGER NOT NULL
);

-- Views for people reading the ledger with sqlite3: amounts as exact decimal text. --------------

CREATE VIEW loans_v AS
SELECT loan_id, borrower_id, borrower_type, region, branch, officer, product, currency,
       (CASE WHEN principal < 0 THEN '-' ELSE '' END) || (abs(principal) / 100) || '.'
           || printf('%02d', abs(principal) % 100) AS principal,
       annual_rate, origination_date, term_months, term_days, repayment_method,
       repayment_frequency, first_due_date, maturity_date, status, collateral
FROM loans;

CREATE VIEW schedule_v AS
SELECT loan_id, installment_no, due_date,
       (principal_due / 100) || '.' || printf('%02d', principal_due % 100) AS principal_due,
       (interest_due / 100) || '.' || printf('%02d', interest_due % 100) AS interest_due,
       (fee_due / 100) || '.' || printf('%02d', fee_due % 100) AS fee_due,
       CASE generated WHEN 1 THEN 'generated' ELSE 'imported' END AS source
FROM schedule;

CREATE VIEW repayments_v AS
SELECT txn_id, loan_id, paid_on,
       (amount / 100) || '.' || printf('%02d', amount % 100) AS amount,
       channel, reverses_txn_id
FROM repayments;

CREATE VIEW followups_v AS
SELECT followup_id, loan_id, contact_date, contact_time, channel, contact_party,
       CASE connected WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS connected,
       officer, outcome, promise_date,
       CASE WHEN promise_amount IS NOT NULL
            THEN (promise_amount / 100) || '.' || printf('%02d', promise_amount % 100) END AS promise_amount,
       consent_window, note
FROM followups;

CREATE VIEW positions_v AS
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
FROM positions;
