//! What every contract suite shares: a store on a fresh database per test, for each backend.
// Each suite uses a part of it.
#![allow(dead_code)]

use std::sync::Arc;

use healthmon_store::Store;
use healthmon_testing::{drop_postgres_database, fresh_postgres_database, fresh_sqlite_url};

/// A store on a database of its own.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub kind: &'static str,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub async fn postgres() -> Self {
        let url = fresh_postgres_database().await.expect("create a test database");
        let store = healthmon_store::connect(&url).await.expect("connect to Postgres");
        Self { store, url, kind: "postgres", _dir: None }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = fresh_sqlite_url(dir.path());
        let store = healthmon_store::connect(&url).await.expect("open SQLite");
        Self { store, url, kind: "sqlite", _dir: Some(dir) }
    }

    /// Drops a passed test's Postgres database (a failed one's stays for a look, and is dropped
    /// by a run some hours later).
    pub async fn finish(self) {
        if self.kind == "postgres" {
            drop(self.store);
            drop_postgres_database(&self.url).await.expect("drop the test database");
        }
    }

    /// What a second process would use: its own pool on Postgres. A SQLite database belongs to one
    /// process, so there it is the same store.
    pub async fn another_handle(&self) -> Arc<dyn Store> {
        match self.kind {
            "postgres" => healthmon_store::connect(&self.url).await.expect("connect again"),
            _ => self.store.clone(),
        }
    }
}

/// Instantiates each contract test once per backend.
#[macro_export]
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::support::Backend::postgres().await;
                    super::$name(&backend).await;
                    backend.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::support::Backend::sqlite().await;
                    super::$name(&backend).await;
                    backend.finish().await;
                }
            )*
        }
    };
}
