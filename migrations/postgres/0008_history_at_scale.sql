-- History for append-heavy time series. A sample's id is a function of (target, slot), so that
-- pair is the key: no random-UUID column and no second index, one B-tree written per insert, in
-- slot order within a target. The table is partitioned by day of slot, so retention drops whole
-- partitions instead of deleting rows; samples outside every day partition land in the default.
-- Columns are ordered widest first so that no padding falls between them.
ALTER TABLE samples RENAME TO samples_unpartitioned;
ALTER INDEX samples_target_slot RENAME TO samples_unpartitioned_target_slot;
ALTER TABLE samples_unpartitioned RENAME CONSTRAINT samples_pkey TO samples_unpartitioned_pkey;

CREATE TABLE samples (
    target_id     uuid             NOT NULL,
    slot          bigint           NOT NULL,
    at            timestamptz      NOT NULL,
    latency_ms    double precision NOT NULL,
    check_version bigint           NOT NULL,
    status_code   integer,
    success       boolean          NOT NULL,
    prober        text             NOT NULL,
    error         text,
    PRIMARY KEY (target_id, slot)
) PARTITION BY RANGE (slot);

CREATE TABLE samples_default PARTITION OF samples DEFAULT;

-- Creates the day partitions of `days` days from `first_day` (days since the Unix epoch) that
-- do not exist yet. A day whose rows already sit in the default partition is left there (and
-- reported by the notice), since attaching it would fail; retention still deletes them.
CREATE FUNCTION healthmon_create_sample_partitions(first_day bigint, days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day bigint := first_day;
    created integer := 0;
BEGIN
    WHILE day < first_day + days LOOP
        IF to_regclass(format('samples_d%s', day)) IS NULL THEN
            BEGIN
                EXECUTE format('CREATE TABLE samples_d%s PARTITION OF samples FOR VALUES FROM (%s) TO (%s)',
                               day, day * 86400000, (day + 1) * 86400000);
                created := created + 1;
            EXCEPTION WHEN check_violation THEN
                RAISE NOTICE 'samples of day % stay in the default partition', day;
            END;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END
$$;

SELECT healthmon_create_sample_partitions(d, 1)
FROM (SELECT DISTINCT slot / 86400000 AS d FROM samples_unpartitioned WHERE slot >= 0) AS days;
SELECT healthmon_create_sample_partitions((extract(epoch FROM now())::bigint / 86400) - 1, 5);

INSERT INTO samples (target_id, slot, at, latency_ms, check_version, status_code, success, prober, error)
SELECT target_id, slot, at, latency_ms, check_version, status_code, success, prober, error
FROM samples_unpartitioned
ON CONFLICT (target_id, slot) DO NOTHING;

-- What buckets of samples come to, per target, at 5 minutes, an hour and a day (step_s), keyed
-- by the bucket's first slot. The histogram is JSON [[bucket, count], …] of the non-empty
-- latency buckets (the domain's 88 buckets, each 1.2 times the one before from 0.1 ms).
CREATE TABLE rollups (
    target_id   uuid             NOT NULL,
    bucket      bigint           NOT NULL,
    samples     bigint           NOT NULL,
    successes   bigint           NOT NULL,
    latency_sum double precision NOT NULL,
    latency_min double precision NOT NULL,
    latency_max double precision NOT NULL,
    step_s      integer          NOT NULL,
    histogram   text             NOT NULL,
    PRIMARY KEY (target_id, step_s, bucket)
);

-- Retention deletes expired rollups by bucket through this index: BRIN, a few pages for the whole
-- table, since rollups are written in roughly bucket order. (A B-tree on the bucket would tempt
-- the planner away from the primary key for the ingest's lookups, every target sharing the
-- current buckets.) An update of a rollup changes no indexed column, so with room on the page it
-- stays there (a HOT update) and writes no index.
CREATE INDEX rollups_bucket ON rollups USING brin (bucket);
ALTER TABLE rollups SET (fillfactor = 80);

-- The rollups of the history there already is, with the same bucket bounds as the domain's.
CREATE TEMPORARY TABLE latency_bounds (bucket integer NOT NULL, upper double precision) ON COMMIT DROP;
INSERT INTO latency_bounds VALUES
    (0, 0.1),
    (1, 0.12),
    (2, 0.144),
    (3, 0.17279999999999998),
    (4, 0.20736),
    (5, 0.24883199999999994),
    (6, 0.29859839999999993),
    (7, 0.3583180799999999),
    (8, 0.42998169599999986),
    (9, 0.5159780351999999),
    (10, 0.6191736422399998),
    (11, 0.7430083706879997),
    (12, 0.8916100448255997),
    (13, 1.0699320537907195),
    (14, 1.2839184645488633),
    (15, 1.540702157458636),
    (16, 1.8488425889503632),
    (17, 2.2186111067404357),
    (18, 2.662333328088523),
    (19, 3.1947999937062272),
    (20, 3.8337599924474723),
    (21, 4.600511990936967),
    (22, 5.52061438912436),
    (23, 6.624737266949231),
    (24, 7.949684720339078),
    (25, 9.539621664406893),
    (26, 11.447545997288271),
    (27, 13.737055196745926),
    (28, 16.48446623609511),
    (29, 19.78135948331413),
    (30, 23.737631379976957),
    (31, 28.485157655972348),
    (32, 34.18218918716681),
    (33, 41.01862702460017),
    (34, 49.22235242952021),
    (35, 59.06682291542425),
    (36, 70.88018749850909),
    (37, 85.05622499821091),
    (38, 102.0674699978531),
    (39, 122.4809639974237),
    (40, 146.97715679690845),
    (41, 176.37258815629013),
    (42, 211.64710578754813),
    (43, 253.97652694505774),
    (44, 304.7718323340693),
    (45, 365.72619880088314),
    (46, 438.8714385610597),
    (47, 526.6457262732716),
    (48, 631.974871527926),
    (49, 758.3698458335111),
    (50, 910.0438150002134),
    (51, 1092.052578000256),
    (52, 1310.463093600307),
    (53, 1572.5557123203685),
    (54, 1887.066854784442),
    (55, 2264.4802257413303),
    (56, 2717.3762708895965),
    (57, 3260.8515250675155),
    (58, 3913.021830081019),
    (59, 4695.6261960972215),
    (60, 5634.751435316666),
    (61, 6761.701722379999),
    (62, 8114.042066855998),
    (63, 9736.850480227198),
    (64, 11684.220576272637),
    (65, 14021.064691527165),
    (66, 16825.277629832595),
    (67, 20190.33315579912),
    (68, 24228.399786958937),
    (69, 29074.079744350725),
    (70, 34888.89569322087),
    (71, 41866.674831865035),
    (72, 50240.00979823805),
    (73, 60288.01175788566),
    (74, 72345.61410946278),
    (75, 86814.73693135534),
    (76, 104177.6843176264),
    (77, 125013.22118115168),
    (78, 150015.86541738198),
    (79, 180019.03850085838),
    (80, 216022.84620103007),
    (81, 259227.41544123605),
    (82, 311072.89852948324),
    (83, 373287.4782353799),
    (84, 447944.97388245584),
    (85, 537533.968658947),
    (86, 645040.7623907365),
    (87, NULL);

WITH steps(step_s) AS (VALUES (300), (3600), (86400)),
bucketed AS (
    SELECT s.target_id, st.step_s,
           s.slot - (((s.slot % (st.step_s * 1000::bigint)) + st.step_s * 1000::bigint) % (st.step_s * 1000::bigint)) AS bucket,
           s.success, s.latency_ms,
           (SELECT min(b.bucket) FROM latency_bounds b WHERE b.upper IS NULL OR s.latency_ms <= b.upper) AS latency_bucket
    FROM samples s CROSS JOIN steps st
),
histograms AS (
    SELECT target_id, step_s, bucket, jsonb_agg(jsonb_build_array(latency_bucket, n) ORDER BY latency_bucket)::text AS histogram
    FROM (SELECT target_id, step_s, bucket, latency_bucket, count(*) AS n FROM bucketed
          GROUP BY target_id, step_s, bucket, latency_bucket) AS counted
    GROUP BY target_id, step_s, bucket
)
INSERT INTO rollups (target_id, step_s, bucket, samples, successes, latency_sum, latency_min, latency_max, histogram)
SELECT b.target_id, b.step_s, b.bucket, count(*), count(*) FILTER (WHERE b.success), sum(b.latency_ms),
       min(b.latency_ms), max(b.latency_ms), h.histogram
FROM bucketed b JOIN histograms h USING (target_id, step_s, bucket)
GROUP BY b.target_id, b.step_s, b.bucket, h.histogram;

DROP TABLE samples_unpartitioned;
