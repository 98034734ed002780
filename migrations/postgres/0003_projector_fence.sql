-- The fencing token of the active projector: each projector that takes the lease claims the next
-- epoch, and every health write checks it still holds the newest one, so a deposed projector that
-- has not noticed yet cannot write.

CREATE TABLE projector_fence (
    id         INTEGER     PRIMARY KEY CHECK (id = 1),
    epoch      BIGINT      NOT NULL,
    holder     TEXT        NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL
);

INSERT INTO projector_fence (id, epoch, holder, claimed_at) VALUES (1, 0, '', now());
