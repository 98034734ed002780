-- healthmon schema, SQLite dialect. Timestamps are INTEGER microseconds since the Unix epoch (exact
-- ordering and range filters), uuids are hyphenated lower-case TEXT (their text order is their byte
-- order), booleans are 0/1. Targets keep their full definition in `spec` (the source of truth when
-- read back); the other target columns exist only to filter and index on.

CREATE TABLE targets (
    id            TEXT    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    enabled       INTEGER NOT NULL,
    tags          TEXT    NOT NULL DEFAULT '[]',
    spec          TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    check_version INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE INDEX targets_kind_id ON targets (kind, id);
CREATE INDEX targets_lower_name ON targets (lower(name));

CREATE TABLE target_health (
    target_id             TEXT    PRIMARY KEY NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    status                TEXT    NOT NULL,
    since                 INTEGER,
    reason                TEXT,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_sample_at        INTEGER,
    last_slot             INTEGER,
    check_version         INTEGER NOT NULL
);

-- No foreign key: history may outlive its target (DELETE … ?keep_history=true).
CREATE TABLE samples (
    id            TEXT    PRIMARY KEY NOT NULL,
    target_id     TEXT    NOT NULL,
    slot          INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    success       INTEGER NOT NULL,
    status_code   INTEGER,
    latency_ms    REAL    NOT NULL,
    error         TEXT,
    prober        TEXT    NOT NULL,
    check_version INTEGER NOT NULL
);

CREATE INDEX samples_target_slot ON samples (target_id, slot DESC);

CREATE TABLE transitions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id   TEXT    NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    slot        INTEGER NOT NULL
);

CREATE INDEX transitions_target_seq ON transitions (target_id, seq DESC);

CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    stream     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    msg_id     TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
