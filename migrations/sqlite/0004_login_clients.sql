-- The clients (an IPv4 address, or an IPv6 /64) each user has logged in from, newest kept: a login
-- from one of them is not held to the account's hourly login budget, which a guesser spread over
-- many addresses may have spent. Only a correct password adds a row. Times in microseconds.

CREATE TABLE login_clients (
    username      TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    client        TEXT    NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (username, client)
);
