//! Telling a write the database refuses for what it holds (it will be refused however often it is
//! retried) from one that failed for the moment (a lost connection, a restart, a lock timeout).

use sqlx::error::DatabaseError;

/// Whether `error` says the database refused the data itself: PostgreSQL's class 22 "data
/// exception" (a NUL in text, a time out of range, a number too large), SQLite's TOOBIG, MISMATCH
/// and RANGE, or a value sqlx could not encode. Retrying such a write can never succeed, so the
/// caller should set the data aside rather than retry it.
pub fn is_unstorable(error: &anyhow::Error) -> bool {
    error.chain().filter_map(|cause| cause.downcast_ref::<sqlx::Error>()).any(|error| match error {
        sqlx::Error::Encode(_) => true,
        sqlx::Error::Database(database) => refuses_the_data(database.as_ref()),
        _ => false,
    })
}

/// SQLite's primary result codes for data it will not take.
const SQLITE_TOOBIG: i64 = 18;
const SQLITE_MISMATCH: i64 = 20;
const SQLITE_RANGE: i64 = 25;

fn refuses_the_data(error: &dyn DatabaseError) -> bool {
    if let Some(postgres) = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return postgres.code().starts_with("22");
    }
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLite reports its extended result code; the primary code is its low byte.
        let extended = error.code().and_then(|code| code.parse::<i64>().ok());
        return extended.is_some_and(|code| matches!(code & 0xff, SQLITE_TOOBIG | SQLITE_MISMATCH | SQLITE_RANGE));
    }
    false
}
