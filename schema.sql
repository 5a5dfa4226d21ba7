-- Ledgerguard baseline schema (schema version 1).
-- Later versions are migrations in src/store/migrations.rs; this file is never edited once a
-- release has shipped it. Times are RFC 3339 UTC text unless a column says `_ms` (Unix epoch
-- milliseconds) or `_minute` (Unix epoch minutes). Money is integer minor units.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    password_hash       TEXT NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    rotated_at  TEXT,
    revoked_at  TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  TEXT NOT NULL
);

CREATE TABLE login_failures (
    email       TEXT NOT NULL COLLATE NOCASE,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at_ms);

CREATE TABLE setup_tokens (
    token_hash  TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    per_minute    INTEGER,
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

-- Append-only and hash-chained: each row's `hash` is SHA-256 over its content and `prev_hash`.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    at           TEXT NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT,
    actor_label  TEXT,
    action       TEXT NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    ip           TEXT,
    details      TEXT NOT NULL DEFAULT '{}',
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log(action, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE accounts (
    account_ref    TEXT PRIMARY KEY,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
    frozen_reason  TEXT,
    frozen_at      TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    txn_count      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_status ON accounts(status, account_ref);

CREATE TABLE transactions (
    id                   TEXT PRIMARY KEY,
    sender               TEXT NOT NULL,
    external_id          TEXT NOT NULL,
    payload_hash         TEXT NOT NULL,
    account_ref          TEXT NOT NULL,
    amount_minor         INTEGER NOT NULL,
    currency             TEXT NOT NULL,
    occurred_at          TEXT NOT NULL,
    occurred_ms          INTEGER NOT NULL,
    received_at          TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    merchant             TEXT,
    merchant_category    TEXT,
    country              TEXT,
    channel              TEXT,
    device_id            TEXT,
    ip                   TEXT,
    email                TEXT,
    description          TEXT,
    category             TEXT,
    category_source      TEXT,
    category_confidence  REAL,
    department           TEXT,
    submitted_by         TEXT,
    metadata             TEXT,
    features             TEXT,
    score                INTEGER NOT NULL,
    decision             TEXT NOT NULL,
    severity             TEXT NOT NULL,
    reasons              TEXT NOT NULL,
    model_version        TEXT,
    alert_id             TEXT,
    label                TEXT CHECK (label IN ('fraud', 'legitimate')),
    label_source         TEXT,
    labelled_at          TEXT,
    UNIQUE (sender, external_id)
);
CREATE INDEX transactions_account ON transactions(account_ref, occurred_ms);
CREATE INDEX transactions_occurred ON transactions(occurred_ms, id);
CREATE INDEX transactions_external ON transactions(external_id);
CREATE INDEX transactions_kind ON transactions(kind, occurred_ms);
CREATE INDEX transactions_merchant ON transactions(merchant, occurred_ms) WHERE merchant IS NOT NULL;
CREATE INDEX transactions_labelled ON transactions(labelled_at) WHERE label IS NOT NULL;

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL CHECK (type IN ('transaction', 'budget')),
    severity        TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    severity_rank   INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'dismissed')),
    score           INTEGER NOT NULL,
    reasons         TEXT NOT NULL,
    transaction_id  TEXT REFERENCES transactions(id),
    account_ref     TEXT,
    budget_id       TEXT,
    assignee_id     TEXT,
    outcome         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX alerts_queue ON alerts(status, severity_rank DESC, created_at, id);
CREATE INDEX alerts_account ON alerts(account_ref);

CREATE TABLE alert_comments (
    id          TEXT PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    author_id   TEXT,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments(alert_id, created_at);

CREATE TABLE alert_history (
    id          TEXT PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    actor_id    TEXT,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    at          TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history(alert_id, at);

CREATE TABLE rules (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    expression   TEXT NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    action       TEXT NOT NULL CHECK (action IN ('flag', 'review', 'block', 'freeze')),
    enabled      INTEGER NOT NULL DEFAULT 1,
    version      INTEGER NOT NULL DEFAULT 1,
    builtin      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE rule_versions (
    rule_id      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    expression   TEXT NOT NULL,
    score        INTEGER NOT NULL,
    action       TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    changed_by   TEXT,
    changed_at   TEXT NOT NULL,
    PRIMARY KEY (rule_id, version)
);

CREATE TABLE lists (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('country', 'merchant', 'device', 'ip', 'account', 'email_domain')),
    mode        TEXT NOT NULL CHECK (mode IN ('block', 'allow')),
    created_at  TEXT NOT NULL
);

CREATE TABLE list_items (
    list_id     TEXT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (list_id, value)
);

CREATE TABLE budgets (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    category     TEXT,
    department   TEXT,
    period       TEXT NOT NULL CHECK (period IN ('monthly', 'quarterly', 'yearly')),
    limit_minor  INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    thresholds   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- One budget alert per budget, period and threshold.
CREATE TABLE budget_crossings (
    budget_id   TEXT NOT NULL REFERENCES budgets(id) ON DELETE CASCADE,
    period_key  TEXT NOT NULL,
    threshold   TEXT NOT NULL,
    alert_id    TEXT NOT NULL,
    crossed_at  TEXT NOT NULL,
    PRIMARY KEY (budget_id, period_key, threshold)
);

CREATE TABLE category_corrections (
    id           TEXT PRIMARY KEY,
    description  TEXT NOT NULL,
    merchant     TEXT,
    category     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- The durable outbox: written in the same transaction as the event's cause.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    -- Retries stop here (NULL: 24 h after created_at); a redelivery opens a new window.
    retry_until_ms   INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_ms);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);

CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    status_code  INTEGER,
    latency_ms   INTEGER,
    error        TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, at);

CREATE TABLE models (
    version     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    params      TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0
);

-- Roll-ups maintained on every write so dashboards never scan transactions.
CREATE TABLE stats_minute (
    minute        INTEGER PRIMARY KEY,
    transactions  INTEGER NOT NULL DEFAULT 0,
    allow         INTEGER NOT NULL DEFAULT 0,
    review        INTEGER NOT NULL DEFAULT 0,
    block         INTEGER NOT NULL DEFAULT 0,
    alerts        INTEGER NOT NULL DEFAULT 0,
    fraud_labels  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE stats_blocked_minute (
    minute        INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, currency)
);

CREATE TABLE backups (
    name        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    integrity   TEXT NOT NULL
);
