-- Each target's open five-minute bucket: the newest one, counted so far only in its five-minute
-- rollup and folded into its hour and day once a later bucket begins (so that ingest rewrites one
-- rollup per sample, not three). Readers of hours and days add it. NULL: nothing is open, every
-- sample is counted at every width (as every row written before this migration is).
ALTER TABLE target_health ADD COLUMN open_rollup_bucket INTEGER;
