-- Users (argon2id hashes only) and their tokens (SHA-256 of the secret only). Times in microseconds.

CREATE TABLE users (
    username      TEXT    PRIMARY KEY NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    username     TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    kind         TEXT    NOT NULL CHECK (kind IN ('session', 'api')),
    name         TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);

CREATE INDEX tokens_username ON tokens (username);
