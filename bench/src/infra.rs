//! Per-run isolation: a fresh Postgres database and NATS prefix for every scenario, the settings
//! healthmon's roles start with, and the cleanup that drops both again.

use std::str::FromStr;

use anyhow::Context;
use healthmon::Components;
use healthmon_bus::{Naming, Stream};
use healthmon_runtime::Settings;
use healthmon_runtime::settings::Secret;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The Postgres server every run creates its database on (trust auth, loopback only).
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The NATS JetStream server every run uses under a prefix of its own.
pub const NATS_URL: &str = "nats://127.0.0.1:4222";
/// The first admin's password in every benchmark run.
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// One scenario's database, NATS prefix and key directory.
pub struct Infra {
    pub database_url: String,
    database: String,
    pub prefix: String,
    keys: tempfile::TempDir,
}

impl Infra {
    /// Creates `bench_<uuid>` and picks the prefix `b<uuid>`; the store migrates it on first open.
    pub async fn create() -> anyhow::Result<Self> {
        let run = Uuid::new_v4().simple().to_string();
        let database = format!("bench_{run}");
        let mut admin = PgConnection::connect(POSTGRES_URL).await.context("connect to Postgres at 127.0.0.1:5432")?;
        sqlx::query(&format!("CREATE DATABASE \"{database}\""))
            .execute(&mut admin)
            .await
            .with_context(|| format!("create database {database}"))?;
        admin.close().await.context("close the admin connection")?;
        let keys = tempfile::Builder::new().prefix("bench-keys-").tempdir().context("create a key directory")?;
        Ok(Self {
            database_url: format!("postgres://postgres@127.0.0.1:5432/{database}"),
            database,
            prefix: format!("b{run}"),
            keys,
        })
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
    pub fn settings(&self, roles: &str, instance: &str) -> Settings {
        let password = Secret::from_str(ADMIN_PASSWORD).unwrap_or_else(|never| match never {});
        Settings {
            listen: "127.0.0.1:0".into(),
            database_url: self.database_url.clone(),
            nats_url: Some(NATS_URL.into()),
            nats_prefix: self.prefix.clone(),
            roles: roles.into(),
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
        Components::connect(&self.settings("api", "bench")).await.context("connect to Postgres and NATS")
    }

    /// A raw NATS client for subscriptions and stream bookkeeping.
    pub async fn nats(&self) -> anyhow::Result<async_nats::Client> {
        async_nats::connect(NATS_URL).await.context("connect to NATS at 127.0.0.1:4222")
    }

    /// A connection to this run's database, for bulk SQL and row counts.
    pub async fn pg(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect(&self.database_url).await.context("connect to the run's database")
    }

    /// Drops the database and deletes every stream and bucket carrying the prefix.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(POSTGRES_URL).await.context("connect to Postgres")?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database))
            .execute(&mut admin)
            .await
            .context("drop the run's database")?;
        admin.close().await.context("close the admin connection")?;
        let jetstream = async_nats::jetstream::new(self.nats().await?);
        let naming = self.naming();
        let mut streams: Vec<String> = Stream::ALL.iter().map(|stream| naming.stream_name(*stream)).collect();
        for bucket in ["probers", healthmon_projector::lease::BUCKET] {
            streams.push(format!("KV_{}", naming.durable_name(bucket)));
        }
        for stream in streams {
            // Absent streams (a scenario that never made one) are fine.
            let _ = jetstream.delete_stream(&stream).await;
        }
        Ok(())
    }
}
