//! The SQLite pool retires a connection that sqlx still counts as inside a transaction, so one
//! failed COMMIT or ROLLBACK cannot make every later write on that connection fail.

use healthmon_store::Store;
use healthmon_store::sqlite::SqliteStore;
use sqlx::Connection;

#[tokio::test]
async fn a_connection_left_counted_in_a_transaction_is_not_lent_out_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::connect(&healthmon_testing::fresh_sqlite_url(dir.path())).await.expect("store");

    // SQLite ends the transaction behind sqlx's back, so the rollback sqlx queues on drop fails
    // and its count stays at one: the state a COMMIT that failed with SQLITE_BUSY leaves.
    let mut connection = store.pool().acquire().await.expect("connection");
    let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await.expect("begin");
    sqlx::query("ROLLBACK").execute(&mut *transaction).await.expect("rollback behind sqlx's back");
    drop(transaction);
    drop(connection);

    // More writes than the pool has connections, one after another: each would meet that
    // connection in turn if it were lent out again.
    for write in 0..20 {
        store
            .mark_stale_fenced(healthmon_store::now(), "/healthmon/test", None)
            .await
            .unwrap_or_else(|error| panic!("write transaction {write}: {error:#}"));
    }
}
