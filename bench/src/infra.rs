//! Per-run isolation: a fresh Postgres database and NATS prefix for every scenario (made and
//! removed with the tests' own helpers, `healthmon-testing`), and the settings healthmon's roles
//! start with.

use std::str::FromStr;

use anyhow::Context;
use healthmon::Components;
use healthmon_bus::Naming;
use healthmon_runtime::Role;
use healthmon_runtime::Settings;
use healthmon_runtime::settings::{Roles, Secret};
use healthmon_testing::{drop_postgres_database, fresh_postgres_database, test_nats_url};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The first admin's password in every benchmark run.
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// One scenario's database, NATS prefix and key directory.
pub struct Infra {
    pub database_url: String,
    pub prefix: String,
    keys: tempfile::TempDir,
}

impl Infra {
    /// Creates a fresh database and picks the prefix `b<uuid>`; the store migrates it on first open.
    pub async fn create() -> anyhow::Result<Self> {
        let database_url = fresh_postgres_database().await.context("create the run's database")?;
        let keys = tempfile::Builder::new().prefix("bench-keys-").tempdir().context("create a key directory")?;
        Ok(Self { database_url, prefix: format!("b{}", Uuid::new_v4().simple()), keys })
    }

    /// Runs `body` on a fresh infrastructure and cleans up afterwards, whether it failed or not.
    pub async fn scope<T>(body: impl AsyncFnOnce(&Infra) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let infra = Self::create().await?;
        let outcome = body(&infra).await;
        if let Err(error) = infra.cleanup().await {
            eprintln!("   warning: cleanup failed: {error:#}");
        }
        outcome
    }

    pub fn naming(&self) -> Naming {
        Naming::new(self.prefix.clone())
    }

    /// Distributed-mode settings for a process running `roles` as `instance`.
    pub fn settings(&self, roles: Roles, instance: &str) -> Settings {
        let password = Secret::from_str(ADMIN_PASSWORD).unwrap_or_else(|never| match never {});
        Settings {
            listen: "127.0.0.1:0".into(),
            database_url: self.database_url.clone(),
            nats_url: Some(test_nats_url()),
            nats_prefix: self.prefix.clone(),
            roles,
            instance: instance.into(),
            log: "warn".into(),
            admin_password: Some(password),
            keys_dir: self.keys.path().join("keys").display().to_string(),
            ..Settings::default()
        }
    }

    /// Connections of the benchmark's own, for writing targets and publishing samples the way
    /// another healthmon process would.
    pub async fn components(&self) -> anyhow::Result<Components> {
        Components::connect(&self.settings(Roles::only(Role::Api), "bench"))
            .await
            .context("connect to Postgres and NATS")
    }

    /// A raw NATS client for subscriptions and stream bookkeeping.
    pub async fn nats(&self) -> anyhow::Result<async_nats::Client> {
        let url = test_nats_url();
        async_nats::connect(&url).await.with_context(|| format!("connect to NATS at {url}"))
    }

    /// A connection to this run's database, for bulk SQL and row counts.
    pub async fn pg(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect(&self.database_url).await.context("connect to the run's database")
    }

    /// Drops the database and deletes every stream and bucket carrying the prefix.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        drop_postgres_database(&self.database_url).await.context("drop the run's database")?;
        healthmon_testing::nats::delete_prefixed_streams(&test_nats_url(), &self.naming()).await;
        Ok(())
    }
}
