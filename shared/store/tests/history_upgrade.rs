//! Upgrading a store that holds history from before rollups: the migration moves every sample to
//! the keyed table and rolls up all of them, on both backends, so uptime over the old days is
//! what it was before the upgrade.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use healthmon_domain::Sample;
use healthmon_domain::history::{Cover, Range, Rollup, SlotSpan};
use healthmon_domain::sample::sample_id;
use healthmon_store::SampleQuery;
use healthmon_testing::{drop_postgres_database, fresh_postgres_database, fresh_sqlite_url};
use uuid::Uuid;

/// The first migration of the history schema in each dialect.
const POSTGRES_HISTORY_MIGRATION: &str = "0008";
const SQLITE_HISTORY_MIGRATION: &str = "0007";
const SAMPLES: i64 = 700;

fn migrations(dialect: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dialect)
}

/// A directory with the dialect's migrations before `first_new`, as an older release shipped them.
fn older_migrations(dialect: &str, first_new: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for entry in std::fs::read_dir(migrations(dialect)).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
        if name.as_str() < first_new {
            std::fs::copy(&path, dir.path().join(name)).expect("copy a migration");
        }
    }
    dir
}

/// Old history (each row with the random id it had): a sample every 7 minutes over two days,
/// ending now, some failing, latencies spread.
fn old_history() -> Vec<(Uuid, i64, bool, f64)> {
    let end = Utc::now().timestamp_millis();
    (0..SAMPLES)
        .map(|i| (Uuid::new_v4(), end - (SAMPLES - i) * 420_000, i % 9 != 0, 0.5 + (i * 37 % 900) as f64))
        .collect()
}

fn as_samples(target: Uuid, rows: &[(Uuid, i64, bool, f64)]) -> Vec<Sample> {
    rows.iter()
        .map(|(_, slot, success, latency)| Sample {
            id: sample_id(target, *slot),
            target_id: target,
            slot: *slot,
            at: DateTime::from_timestamp_millis(*slot).expect("time"),
            success: *success,
            status_code: None,
            latency_ms: *latency,
            error: None,
            prober: "old".into(),
            check_version: 1,
            pin_host_key: None,
        })
        .collect()
}

async fn assert_upgraded(url: &str, target: Uuid, rows: &[(Uuid, i64, bool, f64)]) {
    let store = healthmon_store::connect(url).await.expect("open and migrate");
    let query = SampleQuery { target_id: target, limit: 1000, ..Default::default() };
    let page = store.samples(&query).await.expect("samples");
    assert_eq!(page.items.len(), rows.len(), "every sample moved");
    assert!(page.items.iter().all(|sample| sample.id == sample_id(target, sample.slot)), "ids are the key's");
    let expected = Rollup::of(&as_samples(target, rows));
    let (first, last) = (rows[0].1, rows[rows.len() - 1].1);
    // Aligned to days, so that the answer comes from the backfilled rollups alone.
    let span =
        SlotSpan { from_ms: first.div_euclid(86_400_000) * 86_400_000, to_ms: (last / 86_400_000 + 1) * 86_400_000 };
    let cover = Cover::of_all(&[span]);
    assert!(cover.raw.is_empty());
    let read = store.totals(target, &cover, i64::MAX).await.expect("totals");
    assert_eq!((read.samples, read.successes), (expected.samples, expected.successes));
    assert_eq!((read.latency_min_ms, read.latency_max_ms), (expected.latency_min_ms, expected.latency_max_ms));
    assert_eq!(read.histogram, expected.histogram, "the backfill buckets latencies as the domain does");
    let day = Range { from: Utc::now() - chrono::Duration::days(1), to: Utc::now() };
    let recent = store.totals(target, &Cover::of(&day), i64::MIN).await.expect("totals");
    let in_day = rows.iter().filter(|row| row.1 >= day.from.timestamp_millis()).count() as u64;
    assert_eq!(recent.samples, in_day);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_history_from_before_rollups_is_moved_and_rolled_up() {
    let url = fresh_postgres_database().await.expect("database");
    let older = older_migrations("postgres", POSTGRES_HISTORY_MIGRATION);
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    sqlx::migrate::Migrator::new(older.path()).await.expect("migrator").run(&pool).await.expect("older schema");
    let target = Uuid::new_v4();
    let rows = old_history();
    for (id, slot, success, latency) in &rows {
        sqlx::query(
            "INSERT INTO samples (id, target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
             VALUES ($1, $2, $3, to_timestamp($3 / 1000.0), $4, NULL, $5, NULL, 'old', 1)",
        )
        .bind(id)
        .bind(target)
        .bind(slot)
        .bind(success)
        .bind(latency)
        .execute(&pool)
        .await
        .expect("an old sample");
    }
    pool.close().await;
    assert_upgraded(&url, target, &rows).await;
    drop_postgres_database(&url).await.expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_history_from_before_rollups_is_moved_and_rolled_up() {
    let dir = tempfile::tempdir().expect("directory");
    let url = fresh_sqlite_url(dir.path());
    let older = older_migrations("sqlite", SQLITE_HISTORY_MIGRATION);
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("url");
    let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.expect("open");
    sqlx::migrate::Migrator::new(older.path()).await.expect("migrator").run(&pool).await.expect("older schema");
    let target = Uuid::new_v4();
    let rows = old_history();
    for (id, slot, success, latency) in &rows {
        sqlx::query(
            "INSERT INTO samples (id, target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
             VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, 'old', 1)",
        )
        .bind(id.hyphenated().to_string())
        .bind(target.hyphenated().to_string())
        .bind(slot)
        .bind(slot * 1000)
        .bind(success)
        .bind(latency)
        .execute(&pool)
        .await
        .expect("an old sample");
    }
    pool.close().await;
    assert_upgraded(&url, target, &rows).await;
}
