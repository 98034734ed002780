-- healthmon schema, Postgres dialect. Targets keep their full definition in `spec` (the source of
-- truth when read back); the other target columns exist only to filter and index on.

CREATE TABLE targets (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL,
    kind          text        NOT NULL,
    enabled       boolean     NOT NULL,
    tags          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    spec          jsonb       NOT NULL,
    revision      bigint      NOT NULL,
    check_version bigint      NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX targets_kind_id ON targets (kind, id);
CREATE INDEX targets_lower_name ON targets (lower(name));
CREATE INDEX targets_tags ON targets USING gin (tags jsonb_path_ops);

CREATE TABLE target_health (
    target_id             uuid        PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    status                text        NOT NULL,
    since                 timestamptz,
    reason                text,
    -- bigint so that every u32 counter value fits.
    consecutive_successes bigint      NOT NULL DEFAULT 0,
    consecutive_failures  bigint      NOT NULL DEFAULT 0,
    last_sample_at        timestamptz,
    last_slot             bigint,
    check_version         bigint      NOT NULL
-- Rewritten on almost every ingested sample: free room on each page and no index on a column that
-- changes let Postgres update in place (HOT) instead of touching the index too.
) WITH (fillfactor = 50);

-- No foreign key: history may outlive its target (DELETE … ?keep_history=true).
CREATE TABLE samples (
    id            uuid             PRIMARY KEY,
    target_id     uuid             NOT NULL,
    slot          bigint           NOT NULL,
    at            timestamptz      NOT NULL,
    success       boolean          NOT NULL,
    status_code   integer,
    latency_ms    double precision NOT NULL,
    error         text,
    prober        text             NOT NULL,
    check_version bigint           NOT NULL
);

CREATE INDEX samples_target_slot ON samples (target_id, slot DESC);

CREATE TABLE transitions (
    seq         bigserial   PRIMARY KEY,
    target_id   uuid        NOT NULL,
    from_status text        NOT NULL,
    to_status   text        NOT NULL,
    at          timestamptz NOT NULL,
    reason      text        NOT NULL,
    slot        bigint      NOT NULL
);

CREATE INDEX transitions_target_seq ON transitions (target_id, seq DESC);

CREATE TABLE outbox (
    seq        bigserial   PRIMARY KEY,
    stream     text        NOT NULL,
    key        uuid        NOT NULL,
    msg_id     uuid        NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
