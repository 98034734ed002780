//! Helpers for tests across the workspace that need to know the store's schema (feature
//! `testing`). Fresh databases themselves come from `healthmon-testing`.

use anyhow::Context;
use sqlx::{Connection, PgConnection, SqliteConnection};
use uuid::Uuid;

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
