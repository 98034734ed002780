-- The fencing token of the active projector: each projector that takes the lease claims the next
-- epoch, and every health write checks it still holds the newest one. Times in microseconds.

CREATE TABLE projector_fence (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch      INTEGER NOT NULL,
    holder     TEXT    NOT NULL,
    claimed_at INTEGER NOT NULL
);

INSERT INTO projector_fence (id, epoch, holder, claimed_at) VALUES (1, 0, '', 0);
