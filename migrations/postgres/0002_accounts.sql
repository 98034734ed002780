-- Users (argon2id hashes only) and their tokens (SHA-256 of the secret only).

CREATE TABLE users (
    username      TEXT        PRIMARY KEY,
    password_hash TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE tokens (
    id           UUID        PRIMARY KEY,
    hash         TEXT        NOT NULL UNIQUE,
    username     TEXT        NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    role         TEXT        NOT NULL CHECK (role IN ('admin', 'viewer')),
    kind         TEXT        NOT NULL CHECK (kind IN ('session', 'api')),
    name         TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);

CREATE INDEX tokens_username ON tokens (username);
