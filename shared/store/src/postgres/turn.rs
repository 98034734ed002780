//! Postgres: the notifier turn's statements (see `crate::alerting_turn`). The turn is the lock on
//! the cursor's row, taken with SKIP LOCKED so that a second process skips instead of waiting.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::{alerting_config, deliveries, outbox, reads};
use crate::alerting::{AlertRuleRecord, IncidentRecord, MaintenanceRecord, NewDelivery};
use crate::alerting_rows::to_json;
use crate::alerting_turn::TurnTx;
use crate::common::PendingOutbox;
use crate::{TargetRecord, TransitionRecord};

pub(super) struct PgTurn {
    pub tx: Transaction<'static, Postgres>,
    /// For the horizon, read in a transaction of its own (see [`PgTurn::horizon`]).
    pub pool: PgPool,
}

#[async_trait]
impl TurnTx for PgTurn {
    async fn take_turn(&mut self) -> anyhow::Result<Option<Option<i64>>> {
        sqlx::query_scalar("SELECT seq FROM notifier_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED")
            .fetch_optional(&mut *self.tx)
            .await
            .context("take the notifier's turn")
    }

    /// A share lock on `transitions` waits for every transaction that has written to it to end
    /// (and holds off new writers for the moment it takes to read the newest seq): every seq up
    /// to that one is then committed or rolled back for good. Its own short transaction, so that
    /// the projector waits only for this read, never for the turn.
    async fn horizon(&mut self) -> anyhow::Result<i64> {
        let mut tx = self.pool.begin().await.context("begin the transitions horizon read")?;
        sqlx::query("LOCK TABLE transitions IN SHARE MODE")
            .execute(&mut *tx)
            .await
            .context("wait for the transitions in flight")?;
        let horizon: i64 = sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM transitions")
            .fetch_one(&mut *tx)
            .await
            .context("read the newest transition")?;
        tx.commit().await.context("end the transitions horizon read")?;
        Ok(horizon)
    }

    async fn transitions(&mut self, cursor: i64, horizon: i64, limit: u32) -> anyhow::Result<Vec<TransitionRecord>> {
        let rows = sqlx::query(
            "SELECT seq, target_id, from_status, to_status, at, reason FROM transitions \
             WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
        )
        .bind(cursor)
        .bind(horizon)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .context("read the transitions after the cursor")?;
        rows.iter().map(reads::transition_from_row).collect()
    }

    async fn incidents(&mut self, target_ids: &[Uuid], now: DateTime<Utc>) -> anyhow::Result<Vec<IncidentRecord>> {
        let rows = sqlx::query(
            "SELECT rule_id, target_id, state FROM incidents WHERE target_id = ANY($1) OR due_at <= $2 \
             ORDER BY rule_id, target_id",
        )
        .bind(target_ids)
        .bind(now)
        .fetch_all(&mut *self.tx)
        .await
        .context("read the turn's incidents")?;
        rows.iter().map(incident_from_row).collect()
    }

    async fn targets(&mut self, ids: &[Uuid]) -> anyhow::Result<Vec<TargetRecord>> {
        reads::targets_by_ids(&mut *self.tx, ids).await
    }

    async fn rules(&mut self) -> anyhow::Result<Vec<AlertRuleRecord>> {
        alerting_config::list(&mut *self.tx).await
    }

    async fn windows(&mut self) -> anyhow::Result<Vec<MaintenanceRecord>> {
        alerting_config::list(&mut *self.tx).await
    }

    async fn close_incidents(&mut self, keys: &[(Uuid, Uuid)]) -> anyhow::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let rule_ids: Vec<Uuid> = keys.iter().map(|(rule, _)| *rule).collect();
        let target_ids: Vec<Uuid> = keys.iter().map(|(_, target)| *target).collect();
        sqlx::query(
            "DELETE FROM incidents i USING UNNEST($1::uuid[], $2::uuid[]) AS u(rule_id, target_id) \
             WHERE i.rule_id = u.rule_id AND i.target_id = u.target_id",
        )
        .bind(&rule_ids)
        .bind(&target_ids)
        .execute(&mut *self.tx)
        .await
        .context("close incidents")?;
        Ok(())
    }

    /// A rule deleted while the turn ran fails its incidents' foreign key: the turn fails, writing
    /// nothing, and the next one decides again without the rule.
    async fn upsert_incidents(&mut self, incidents: &[IncidentRecord]) -> anyhow::Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        let rule_ids: Vec<Uuid> = incidents.iter().map(|record| record.rule_id).collect();
        let target_ids: Vec<Uuid> = incidents.iter().map(|record| record.target_id).collect();
        let ids: Vec<Uuid> = incidents.iter().map(|record| record.incident.id).collect();
        let due_ats: Vec<Option<DateTime<Utc>>> = incidents.iter().map(|record| record.incident.due_at).collect();
        let states =
            incidents.iter().map(|record| to_json(&record.incident, "incident")).collect::<anyhow::Result<Vec<_>>>()?;
        sqlx::query(
            "INSERT INTO incidents (rule_id, target_id, id, state, due_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::jsonb[], $5::timestamptz[]) \
             ON CONFLICT (rule_id, target_id) DO UPDATE SET id = EXCLUDED.id, state = EXCLUDED.state, \
             due_at = EXCLUDED.due_at",
        )
        .bind(&rule_ids)
        .bind(&target_ids)
        .bind(&ids)
        .bind(&states)
        .bind(&due_ats)
        .execute(&mut *self.tx)
        .await
        .context("store incidents")?;
        Ok(())
    }

    async fn insert_deliveries(&mut self, deliveries: &[NewDelivery]) -> anyhow::Result<()> {
        deliveries::insert(&mut *self.tx, deliveries).await
    }

    async fn insert_events(&mut self, events: &[PendingOutbox]) -> anyhow::Result<()> {
        outbox::insert_events(&mut self.tx, events).await
    }

    async fn set_cursor(&mut self, cursor: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE notifier_cursor SET seq = $1 WHERE id = 1")
            .bind(cursor)
            .execute(&mut *self.tx)
            .await
            .context("move the notifier's cursor")?;
        Ok(())
    }

    async fn commit(self) -> anyhow::Result<()> {
        self.tx.commit().await.context("commit the notifier's turn")
    }
}

/// An incident row (`rule_id`, `target_id`, `state`).
pub(super) fn incident_from_row(row: &sqlx::postgres::PgRow) -> anyhow::Result<IncidentRecord> {
    let Json(incident) = row.try_get("state").context("decode a stored incident")?;
    Ok(IncidentRecord {
        rule_id: row.try_get("rule_id").context("read the incident's rule")?,
        target_id: row.try_get("target_id").context("read the incident's target")?,
        incident,
    })
}
