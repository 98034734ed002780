-- Alerting: notifiers, alert rules (and the notifiers each names), maintenance windows, the
-- notifier's incidents and cursor over `transitions`, and the delivery queue. Times in
-- microseconds, uuids as text. Each configuration keeps its full definition in `spec` (JSON text,
-- write-only values sealed); the other columns exist only to order, join and index on. The
-- connection turns foreign keys on (`PRAGMA foreign_keys`), which the join table relies on.

CREATE TABLE notifiers (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX notifiers_name_id ON notifiers (name, id);

CREATE TABLE alert_rules (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX alert_rules_name_id ON alert_rules (name, id);

-- The database itself refuses a rule naming a missing notifier and the delete of a named one.
CREATE TABLE alert_rule_notifiers (
    rule_id     TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    notifier_id TEXT NOT NULL REFERENCES notifiers (id) ON DELETE RESTRICT,
    PRIMARY KEY (rule_id, notifier_id)
);

CREATE INDEX alert_rule_notifiers_notifier ON alert_rule_notifiers (notifier_id);

CREATE TABLE maintenance_windows (
    id         TEXT    PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX maintenance_windows_name_id ON maintenance_windows (name, id);

-- One per (rule, target). No foreign key to targets: the notifier's turn closes the incidents of
-- a deleted target (and says so); a deleted rule's go with it.
CREATE TABLE incidents (
    rule_id   TEXT    NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    target_id TEXT    NOT NULL,
    id        TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    due_at    INTEGER,
    PRIMARY KEY (rule_id, target_id)
);

CREATE INDEX incidents_target ON incidents (target_id);
CREATE INDEX incidents_due_at ON incidents (due_at) WHERE due_at IS NOT NULL;

-- The seq of the last transition a turn handled; NULL until the first turn, which starts at the
-- newest transition rather than replaying the history from before alerting existed.
CREATE TABLE notifier_cursor (
    id  INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq INTEGER
);

INSERT INTO notifier_cursor (id, seq) VALUES (1, NULL);

-- Every notification, stored before it is attempted; kept as history after it is done. No foreign
-- keys: a delivery outlives its rule, notifier and target.
CREATE TABLE deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    incident_id      TEXT    NOT NULL,
    alert_id         TEXT,
    notifier_id      TEXT    NOT NULL,
    target_id        TEXT,
    event            TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'suppressed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    next_attempt_at  INTEGER,
    give_up_at       INTEGER NOT NULL,
    context          TEXT    NOT NULL,
    lease_holder     TEXT,
    lease_until      INTEGER
);

-- The claim: pending and due, oldest first; and "no earlier pending one of the same incident".
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX deliveries_incident_notifier ON deliveries (incident_id, notifier_id, seq);
-- The list's filters, newest first.
CREATE INDEX deliveries_alert_seq ON deliveries (alert_id, seq DESC);
CREATE INDEX deliveries_notifier_seq ON deliveries (notifier_id, seq DESC);
CREATE INDEX deliveries_target_seq ON deliveries (target_id, seq DESC);
CREATE INDEX deliveries_status_seq ON deliveries (status, seq DESC);
