//! What the database holds after a scenario: history counts, gaps in each target's slot grid,
//! who probed what, and whether stored health equals a recomputation from history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use healthmon_domain::{HealthState, Sample, Thresholds};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// History rows, and distinct (target, slot) pairs among them: equal when nothing is duplicated.
pub async fn counts(pool: &PgPool) -> (i64, i64) {
    let row = sqlx::query("SELECT count(*) AS total, count(DISTINCT (target_id, slot)) AS distinct_slots FROM samples")
        .fetch_one(pool)
        .await
        .expect("count samples");
    (row.get("total"), row.get("distinct_slots"))
}

/// Slots missing between each target's first and last stored slot, summed over targets.
pub async fn gaps(pool: &PgPool, interval_ms: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(missing), 0)::int8 FROM \
         (SELECT (max(slot) - min(slot)) / $1 + 1 - count(*) AS missing FROM samples GROUP BY target_id) g",
    )
    .bind(interval_ms)
    .fetch_one(pool)
    .await
    .expect("count gaps")
}

/// Per target, the probers whose samples finished in [from, to).
pub async fn probers_between(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<Uuid, BTreeSet<String>> {
    let rows = sqlx::query("SELECT DISTINCT target_id, prober FROM samples WHERE at >= $1 AND at < $2")
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .expect("probers per target");
    let mut owners: BTreeMap<Uuid, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        owners.entry(row.get("target_id")).or_default().insert(row.get("prober"));
    }
    owners
}

/// Per target, the first sample finished after `after` by a prober other than `not_by`.
pub async fn first_sample_after(pool: &PgPool, after: DateTime<Utc>, not_by: &str) -> BTreeMap<Uuid, DateTime<Utc>> {
    let rows = sqlx::query(
        "SELECT target_id, min(at) AS first FROM samples WHERE at > $1 AND prober <> $2 GROUP BY target_id",
    )
    .bind(after)
    .bind(not_by)
    .fetch_all(pool)
    .await
    .expect("first samples");
    rows.into_iter().map(|row| (row.get("target_id"), row.get("first"))).collect()
}

/// Samples that finished in [from, to).
pub async fn finished_between(pool: &PgPool, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM samples WHERE at >= $1 AND at < $2")
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await
        .expect("count samples")
}

/// Targets whose newest sample finished after `after`.
pub async fn targets_sampled_after(pool: &PgPool, after: DateTime<Utc>) -> usize {
    let count: i64 = sqlx::query_scalar("SELECT count(DISTINCT target_id) FROM samples WHERE at > $1")
        .bind(after)
        .fetch_one(pool)
        .await
        .expect("count sampled targets");
    usize::try_from(count).unwrap_or(0)
}

/// Everything a replay must leave as it was: each target's health row and transition count, and
/// the size of history.
pub async fn snapshot(pool: &PgPool) -> (Vec<String>, i64) {
    let rows = sqlx::query(
        "SELECT h.target_id, h.status, h.consecutive_successes, h.consecutive_failures, h.last_slot, \
         (SELECT count(*) FROM transitions t WHERE t.target_id = h.target_id) AS transitions \
         FROM target_health h ORDER BY h.target_id",
    )
    .fetch_all(pool)
    .await
    .expect("health rows");
    let health = rows
        .iter()
        .map(|row| {
            format!(
                "{} {} {} {} {:?} {}",
                row.get::<Uuid, _>("target_id"),
                row.get::<String, _>("status"),
                row.get::<i64, _>("consecutive_successes"),
                row.get::<i64, _>("consecutive_failures"),
                row.get::<Option<i64>, _>("last_slot"),
                row.get::<i64, _>("transitions"),
            )
        })
        .collect();
    (health, counts(pool).await.0)
}

/// Targets whose stored health or number of transitions differs from folding their history, in
/// slot order, through the threshold state machine (default thresholds).
pub async fn health_mismatches(pool: &PgPool) -> Vec<String> {
    let targets = sqlx::query(
        "SELECT h.target_id, h.status, h.consecutive_successes, h.consecutive_failures, h.check_version, \
         (SELECT count(*) FROM transitions t WHERE t.target_id = h.target_id) AS transitions \
         FROM target_health h",
    )
    .fetch_all(pool)
    .await
    .expect("health rows");
    let mut mismatches = Vec::new();
    for row in targets {
        let target_id: Uuid = row.get("target_id");
        let samples =
            sqlx::query("SELECT slot, at, success, check_version FROM samples WHERE target_id = $1 ORDER BY slot")
                .bind(target_id)
                .fetch_all(pool)
                .await
                .expect("history");
        let mut state = HealthState::new(row.get("check_version"));
        let mut transitions = 0_i64;
        for sample in samples {
            let slot: i64 = sample.get("slot");
            let sample = Sample {
                id: healthmon_domain::sample::sample_id(target_id, slot),
                target_id,
                slot,
                at: sample.get("at"),
                success: sample.get("success"),
                status_code: None,
                latency_ms: 0.0,
                error: None,
                prober: String::new(),
                check_version: sample.get("check_version"),
                pin_host_key: None,
            };
            transitions += i64::from(state.observe(&sample, Thresholds::default()).is_some());
        }
        let stored = (
            row.get::<String, _>("status"),
            row.get::<i64, _>("consecutive_successes"),
            row.get::<i64, _>("consecutive_failures"),
            row.get::<i64, _>("transitions"),
        );
        let recomputed = (
            state.status.as_str().to_string(),
            i64::from(state.consecutive_successes),
            i64::from(state.consecutive_failures),
            transitions,
        );
        if stored != recomputed {
            mismatches.push(format!("{target_id}: stored {stored:?}, recomputed {recomputed:?}"));
        }
    }
    mismatches
}
