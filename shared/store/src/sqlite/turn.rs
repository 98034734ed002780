//! SQLite: the notifier turn's statements (see `crate::alerting_turn`). The turn is the write
//! transaction itself (`BEGIN IMMEDIATE`): a second caller waits for it (up to the busy timeout)
//! and then runs its own turn after it, from the cursor the first one left.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{alerting_config, deliveries, micros, outbox, parse_uuid, reads, uuid_text};
use crate::alerting::{AlertRuleRecord, IncidentRecord, MaintenanceRecord, NewDelivery};
use crate::alerting_rows::{from_json_text, to_json_text};
use crate::alerting_turn::TurnTx;
use crate::common::PendingOutbox;
use crate::{TargetRecord, TransitionRecord};

pub(super) struct SqliteTurn(pub Transaction<'static, Sqlite>);

#[async_trait]
impl TurnTx for SqliteTurn {
    async fn take_turn(&mut self) -> anyhow::Result<Option<Option<i64>>> {
        let cursor: Option<i64> = sqlx::query_scalar("SELECT seq FROM notifier_cursor WHERE id = 1")
            .fetch_one(&mut *self.0)
            .await
            .context("read the notifier's cursor")?;
        Ok(Some(cursor))
    }

    /// Writes are serial here: every transition is committed once this transaction has begun.
    async fn horizon(&mut self) -> anyhow::Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM transitions")
            .fetch_one(&mut *self.0)
            .await
            .context("read the newest transition")
    }

    async fn transitions(&mut self, cursor: i64, horizon: i64, limit: u32) -> anyhow::Result<Vec<TransitionRecord>> {
        let rows = sqlx::query(
            "SELECT seq, target_id, from_status, to_status, at, reason FROM transitions \
             WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        )
        .bind(cursor)
        .bind(horizon)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.0)
        .await
        .context("read the transitions after the cursor")?;
        rows.iter().map(reads::transition_from_row).collect()
    }

    async fn incidents(&mut self, target_ids: &[Uuid], now: DateTime<Utc>) -> anyhow::Result<Vec<IncidentRecord>> {
        let rows = sqlx::query(
            "SELECT rule_id, target_id, state FROM incidents \
             WHERE target_id IN (SELECT value FROM json_each(?)) OR due_at <= ? ORDER BY rule_id, target_id",
        )
        .bind(reads::uuid_list(target_ids)?)
        .bind(micros(now))
        .fetch_all(&mut *self.0)
        .await
        .context("read the turn's incidents")?;
        rows.iter().map(incident_from_row).collect()
    }

    async fn targets(&mut self, ids: &[Uuid]) -> anyhow::Result<Vec<TargetRecord>> {
        reads::targets_by_ids(&mut *self.0, ids).await
    }

    async fn rules(&mut self) -> anyhow::Result<Vec<AlertRuleRecord>> {
        alerting_config::list(&mut *self.0).await
    }

    async fn windows(&mut self) -> anyhow::Result<Vec<MaintenanceRecord>> {
        alerting_config::list(&mut *self.0).await
    }

    async fn close_incidents(&mut self, keys: &[(Uuid, Uuid)]) -> anyhow::Result<()> {
        for (rule_id, target_id) in keys {
            sqlx::query("DELETE FROM incidents WHERE rule_id = ? AND target_id = ?")
                .bind(uuid_text(*rule_id))
                .bind(uuid_text(*target_id))
                .execute(&mut *self.0)
                .await
                .context("close an incident")?;
        }
        Ok(())
    }

    async fn upsert_incidents(&mut self, incidents: &[IncidentRecord]) -> anyhow::Result<()> {
        for record in incidents {
            sqlx::query(
                "INSERT INTO incidents (rule_id, target_id, id, state, due_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (rule_id, target_id) DO UPDATE SET id = excluded.id, state = excluded.state, \
                 due_at = excluded.due_at",
            )
            .bind(uuid_text(record.rule_id))
            .bind(uuid_text(record.target_id))
            .bind(uuid_text(record.incident.id))
            .bind(to_json_text(&record.incident, "incident")?)
            .bind(record.incident.due_at.map(micros))
            .execute(&mut *self.0)
            .await
            .context("store an incident")?;
        }
        Ok(())
    }

    async fn insert_deliveries(&mut self, deliveries: &[NewDelivery]) -> anyhow::Result<()> {
        deliveries::insert(&mut self.0, deliveries).await
    }

    async fn insert_events(&mut self, events: &[PendingOutbox]) -> anyhow::Result<()> {
        outbox::insert_events(&mut self.0, events).await
    }

    async fn set_cursor(&mut self, cursor: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE notifier_cursor SET seq = ? WHERE id = 1")
            .bind(cursor)
            .execute(&mut *self.0)
            .await
            .context("move the notifier's cursor")?;
        Ok(())
    }

    async fn commit(self) -> anyhow::Result<()> {
        self.0.commit().await.context("commit the notifier's turn")
    }
}

/// An incident row (`rule_id`, `target_id`, `state`).
pub(super) fn incident_from_row(row: &sqlx::sqlite::SqliteRow) -> anyhow::Result<IncidentRecord> {
    let rule_id: String = row.try_get("rule_id").context("read the incident's rule")?;
    let target_id: String = row.try_get("target_id").context("read the incident's target")?;
    let state: String = row.try_get("state").context("read a stored incident")?;
    Ok(IncidentRecord {
        rule_id: parse_uuid(&rule_id)?,
        target_id: parse_uuid(&target_id)?,
        incident: from_json_text(&state, "incident")?,
    })
}
