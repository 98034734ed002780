//! A fresh, empty database per test (or benchmark run): on the shared Postgres server, dropped
//! again by the test (or, abandoned, by a later run), or a new SQLite file in the test's own directory.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The server tests create their databases on; override with `HEALTHMON_TEST_POSTGRES_URL`.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const DATABASE_PREFIX: &str = "hm_test_";

/// Test databases older than this are dropped by later runs, so they do not pile up on disk.
const ABANDONED_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// `HEALTHMON_TEST_POSTGRES_URL`, or [`DEFAULT_TEST_POSTGRES_URL`].
pub fn test_postgres_url() -> String {
    std::env::var("HEALTHMON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned())
}

/// Creates an empty database named `hm_test_<uuid>` and returns its URL; the store's migrations
/// run when it is first opened.
pub async fn fresh_postgres_database() -> anyhow::Result<String> {
    let admin_url = test_postgres_url();
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
    let admin_url = test_postgres_url();
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn exists(name: &str) -> bool {
        let mut connection = PgConnection::connect(&test_postgres_url()).await.expect("connect");
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut connection)
            .await
            .expect("query")
            == 1
    }

    #[tokio::test]
    async fn a_fresh_database_is_made_and_dropped_and_only_test_databases_are_dropped() {
        let url = fresh_postgres_database().await.expect("a fresh database");
        let name = url::Url::parse(&url).expect("a URL").path().trim_start_matches('/').to_owned();
        assert!(name.starts_with(DATABASE_PREFIX), "{url}");
        assert!(exists(&name).await);
        drop_postgres_database(&url).await.expect("drop it");
        assert!(!exists(&name).await);
        let refused = drop_postgres_database(&test_postgres_url()).await.expect_err("not a test database");
        assert!(refused.to_string().contains("only test databases"), "{refused}");
    }

    #[test]
    fn a_sqlite_url_escapes_what_sqlx_would_cut() {
        let url = fresh_sqlite_url(Path::new("/tmp/a?b#c%d"));
        assert!(url.starts_with("sqlite:///tmp/a%3Fb%23c%25d/hm_test_"), "{url}");
    }
}
