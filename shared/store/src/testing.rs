//! Helpers for tests across the workspace: a fresh, empty database per test (feature `testing`).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection, SqliteConnection};
use uuid::Uuid;

/// The server tests create their databases on; override with `HEALTHMON_TEST_POSTGRES_URL`.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const DATABASE_PREFIX: &str = "hm_test_";

/// Test databases older than this are dropped by later runs, so they do not pile up on disk.
const ABANDONED_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// Creates an empty database named `hm_test_<uuid>` and returns its URL; the store's migrations
/// run when it is first opened.
pub async fn fresh_postgres_database() -> anyhow::Result<String> {
    let admin_url =
        std::env::var("HEALTHMON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned());
    let mut connection = PgConnection::connect(&admin_url).await.context("connect to the test Postgres server")?;
    drop_abandoned_databases(&mut connection).await;
    // A v7 uuid carries its creation time, which is how later runs tell abandoned databases apart.
    let name = format!("{DATABASE_PREFIX}{}", Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut connection)
        .await
        .context("create a test database")?;
    connection.close().await.context("close the admin connection")?;

    let mut url = url::Url::parse(&admin_url).context("parse HEALTHMON_TEST_POSTGRES_URL")?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Drops a database made by [`fresh_postgres_database`], closing any connection still open to it.
pub async fn drop_postgres_database(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).context("parse the test database URL")?;
    let name = parsed.path().trim_start_matches('/');
    anyhow::ensure!(
        name.starts_with(DATABASE_PREFIX) && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'),
        "only test databases are dropped"
    );
    let admin_url =
        std::env::var("HEALTHMON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned());
    let mut connection = PgConnection::connect(&admin_url).await.context("connect to the test Postgres server")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut connection)
        .await
        .context("drop the test database")?;
    connection.close().await.context("close the admin connection")?;
    Ok(())
}

/// A `sqlite://` URL of a new database file inside `dir` (created when the store opens it).
pub fn fresh_sqlite_url(dir: &Path) -> String {
    let path = dir.join(format!("{DATABASE_PREFIX}{}.db", Uuid::now_v7().simple()));
    // sqlx percent-decodes the path and cuts it at `?`.
    let escaped = path.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
    format!("sqlite://{escaped}")
}

/// Deletes a target's rows (target, health, samples, transitions) straight from the database at
/// `database_url`, bypassing the store and its outbox, as a hand edit or a restored backup would:
/// no event says the target is gone.
pub async fn erase_target_rows(database_url: &str, id: Uuid) -> anyhow::Result<()> {
    const TABLES: [(&str, &str); 4] =
        [("samples", "target_id"), ("transitions", "target_id"), ("target_health", "target_id"), ("targets", "id")];
    if database_url.starts_with("sqlite:") {
        let mut connection =
            SqliteConnection::connect(database_url).await.context("connect to the test SQLite file")?;
        for (table, column) in TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} = ?"))
                .bind(id.hyphenated().to_string())
                .execute(&mut connection)
                .await
                .with_context(|| format!("delete from {table}"))?;
        }
        connection.close().await.context("close the SQLite connection")?;
    } else {
        let mut connection = PgConnection::connect(database_url).await.context("connect to the test database")?;
        for (table, column) in TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
                .bind(id)
                .execute(&mut connection)
                .await
                .with_context(|| format!("delete from {table}"))?;
        }
        connection.close().await.context("close the test database connection")?;
    }
    Ok(())
}

/// Best effort: a failure here must not fail the test that is only asking for a database.
async fn drop_abandoned_databases(connection: &mut PgConnection) {
    let names: Vec<String> =
        match sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'hm\\_test\\_%'")
            .fetch_all(&mut *connection)
            .await
        {
            Ok(names) => names,
            Err(_) => return,
        };
    let cutoff = std::time::SystemTime::now() - ABANDONED_AFTER;
    for name in names {
        let Some(created) = creation_time(&name) else { continue };
        if created < cutoff {
            // Another test may be dropping the same database right now; either outcome is fine.
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *connection)
                .await;
        }
    }
}

fn creation_time(name: &str) -> Option<std::time::SystemTime> {
    let id = Uuid::try_parse(name.strip_prefix(DATABASE_PREFIX)?).ok()?;
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    Some(std::time::UNIX_EPOCH + Duration::new(seconds, nanos))
}
