//! One `/Resource` per host, run against both Postgres and SQLite: the store refuses a second SSH
//! target named after a host however it comes (created or renamed), and the migration that brought
//! the rule in keeps the oldest of any duplicates a database already held and renames the rest.

mod support;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use healthmon_domain::Target;
use healthmon_domain::target::parse_spec;
use healthmon_store::{DuplicateResource, Store, WriteOutcome};
use serde_json::json;
use support::Backend;

contract_tests!(a_second_ssh_target_named_after_a_host_is_refused);

const SOURCE: &str = "/healthmon/test/resources";
const MIGRATION: &str = "0005_unique_resources.sql";

fn ssh(name: &str, host: &str) -> Target {
    let document = json!({"name": name, "kind": "ssh", "host": host, "username": "u", "password_sealed": "hm1.x"});
    Target::create(parse_spec(&document).expect("spec"), healthmon_store::now())
}

fn is_duplicate(error: &anyhow::Error) -> bool {
    error.downcast_ref::<DuplicateResource>().is_some()
}

async fn a_second_ssh_target_named_after_a_host_is_refused(backend: &Backend) {
    let store = &backend.store;
    store.create_target(&ssh("db1.internal", "db1.internal"), SOURCE).await.expect("the resource");
    let refused = store.create_target(&ssh("DB1.Internal", "db1.internal"), SOURCE).await.expect_err("a second");
    assert!(is_duplicate(&refused), "{refused:#}");

    // Other checks of the host, other kinds named after it, and shared names in general are fine.
    let other = ssh("db1 uptime", "db1.internal");
    store.create_target(&other, SOURCE).await.expect("another check of the host");
    let port = json!({"name": "db1.internal", "kind": "tcp", "host": "db1.internal", "port": 22});
    store
        .create_target(&Target::create(parse_spec(&port).expect("spec"), healthmon_store::now()), SOURCE)
        .await
        .expect("tcp");
    store.create_target(&ssh("db1 uptime", "db2.internal"), SOURCE).await.expect("a shared name");

    let mut renamed = other.clone();
    renamed.spec.name = "db1.internal".into();
    let renamed = other.replaced(renamed.spec, healthmon_store::now());
    let refused = store.update_target(&renamed, SOURCE).await.expect_err("renamed after the host");
    assert!(is_duplicate(&refused), "{refused:#}");
    let mut moved = other.spec.clone();
    moved.name = "db3.internal".into();
    if let healthmon_domain::Check::Ssh(check) = &mut moved.check {
        check.host = "db3.internal".into();
    }
    let outcome = store.update_target(&other.replaced(moved, healthmon_store::now()), SOURCE).await.expect("moved");
    assert_eq!(outcome, WriteOutcome::Done, "the resource of a host nobody else is named after");
}

/// Targets as a database from before the migration held them: three SSH targets named after one
/// host (inserted out of age order), and one after another host.
fn before_the_migration() -> Vec<Target> {
    let base = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    let aged = |target: Target, age_s: i64| Target { created_at: base - Duration::seconds(age_s), ..target };
    vec![
        aged(ssh("DB1.internal", "db1.internal"), 10),
        aged(ssh("db1.internal", "db1.internal"), 30),
        aged(ssh("db1.INTERNAL", "db1.internal"), 20),
        aged(ssh("db2.internal", "db2.internal"), 5),
    ]
}

/// A directory with every migration older than the one under test.
fn older_migrations(dialect: &str) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dialect);
    let dir = tempfile::tempdir().expect("temporary directory");
    for entry in std::fs::read_dir(&source).expect("the migrations") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|name| name.to_str()).expect("a file name").to_owned();
        if name.as_str() < MIGRATION {
            std::fs::copy(&path, dir.path().join(name)).expect("copy a migration");
        }
    }
    dir
}

/// After the migration: the oldest is still the host's resource, the others are renamed, nothing
/// is lost, and the store now refuses another.
async fn check_after_migration(store: &dyn Store, targets: &[Target]) {
    let mut names = Vec::new();
    for target in targets {
        names.push(store.get_target(target.id).await.expect("read").expect("kept").target.spec.name);
    }
    let renamed = |target: &Target| format!("{} (duplicate {})", target.spec.name, target.id);
    assert_eq!(
        names,
        [renamed(&targets[0]), "db1.internal".into(), renamed(&targets[2]), "db2.internal".into()],
        "the oldest stays the resource, the others are renamed"
    );
    assert_eq!(store.all_targets().await.expect("all").len(), 4);
    let refused = store.create_target(&ssh("db2.internal", "db2.internal"), SOURCE).await.expect_err("refused");
    assert!(is_duplicate(&refused), "{refused:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_duplicates_from_before_the_migration_are_renamed_not_refused() {
    let url = healthmon_testing::fresh_postgres_database().await.expect("a test database");
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let older = older_migrations("postgres");
    sqlx::migrate::Migrator::new(older.path()).await.expect("migrations").run(&pool).await.expect("migrate");
    let targets = before_the_migration();
    for target in &targets {
        sqlx::query(
            "INSERT INTO targets (id, name, kind, enabled, tags, spec, revision, check_version, created_at, updated_at) \
             VALUES ($1, $2, 'ssh', true, '[]', $3, 1, 1, $4, $4)",
        )
        .bind(target.id)
        .bind(&target.spec.name)
        .bind(sqlx::types::Json(target))
        .bind(target.created_at)
        .execute(&pool)
        .await
        .expect("insert a target");
        sqlx::query("INSERT INTO target_health (target_id, status, check_version) VALUES ($1, 'unknown', 1)")
            .bind(target.id)
            .execute(&pool)
            .await
            .expect("insert its health");
    }
    pool.close().await;
    let store = healthmon_store::connect(&url).await.expect("the migration runs on duplicates");
    check_after_migration(store.as_ref(), &targets).await;
    drop(store);
    healthmon_testing::drop_postgres_database(&url).await.expect("drop the test database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_duplicates_from_before_the_migration_are_renamed_not_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = healthmon_testing::fresh_sqlite_url(dir.path());
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("a SQLite URL");
    let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.expect("open");
    let older = older_migrations("sqlite");
    sqlx::migrate::Migrator::new(older.path()).await.expect("migrations").run(&pool).await.expect("migrate");
    let targets = before_the_migration();
    let micros = |at: DateTime<Utc>| at.timestamp_micros();
    for target in &targets {
        let id = target.id.hyphenated().to_string();
        sqlx::query(
            "INSERT INTO targets (id, name, kind, enabled, tags, spec, revision, check_version, created_at, updated_at) \
             VALUES (?, ?, 'ssh', 1, '[]', ?, 1, 1, ?, ?)",
        )
        .bind(&id)
        .bind(&target.spec.name)
        .bind(serde_json::to_string(target).expect("JSON"))
        .bind(micros(target.created_at))
        .bind(micros(target.created_at))
        .execute(&pool)
        .await
        .expect("insert a target");
        sqlx::query("INSERT INTO target_health (target_id, status, check_version) VALUES (?, 'unknown', 1)")
            .bind(&id)
            .execute(&pool)
            .await
            .expect("insert its health");
    }
    pool.close().await;
    let store = healthmon_store::connect(&url).await.expect("the migration runs on duplicates");
    check_after_migration(store.as_ref(), &targets).await;
}
