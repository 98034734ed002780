//! Alerting's half of the store on PostgreSQL: configuration in `alerting_config.rs`, the turn in
//! `turn.rs`, the delivery queue in `deliveries.rs`.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::alerting::{AlertRuleSpec, MaintenanceSpec, NotifierSpec};
use uuid::Uuid;

use super::alerting_config as config;
use super::{PostgresStore, deliveries, turn};
use crate::Page;
use crate::alerting::*;

#[async_trait]
impl Alerting for PostgresStore {
    async fn incidents_of(&self, target_ids: &[Uuid]) -> anyhow::Result<Vec<crate::alerting::IncidentRecord>> {
        let rows = sqlx::query("SELECT rule_id, target_id, state FROM incidents WHERE target_id = ANY($1)")
            .bind(target_ids)
            .fetch_all(self.pool())
            .await
            .context("read the targets' incidents")?;
        rows.iter().map(super::turn::incident_from_row).collect()
    }

    async fn create_notifier(&self, id: Uuid, spec: &NotifierSpec) -> anyhow::Result<NotifierRecord> {
        config::insert(self.pool(), id, spec).await.map_err(|error| error.into_anyhow("notifier"))
    }

    async fn get_notifier(&self, id: Uuid) -> anyhow::Result<Option<NotifierRecord>> {
        config::get(self.pool(), id).await
    }

    async fn list_notifiers(&self) -> anyhow::Result<Vec<NotifierRecord>> {
        config::list(self.pool()).await
    }

    async fn update_notifier(&self, id: Uuid, spec: &NotifierSpec) -> anyhow::Result<ConfigWrite<NotifierRecord>> {
        Ok(config::update(self.pool(), id, spec).await?.map_or(ConfigWrite::NotFound, ConfigWrite::Done))
    }

    async fn delete_notifier(&self, id: Uuid) -> anyhow::Result<ConfigWrite<()>> {
        config::delete_notifier(self.pool(), id).await
    }

    async fn create_alert_rule(&self, id: Uuid, spec: &AlertRuleSpec) -> anyhow::Result<ConfigWrite<AlertRuleRecord>> {
        config::write_rule(self.pool(), id, spec, true).await
    }

    async fn get_alert_rule(&self, id: Uuid) -> anyhow::Result<Option<AlertRuleRecord>> {
        config::get(self.pool(), id).await
    }

    async fn list_alert_rules(&self) -> anyhow::Result<Vec<AlertRuleRecord>> {
        config::list(self.pool()).await
    }

    async fn update_alert_rule(&self, id: Uuid, spec: &AlertRuleSpec) -> anyhow::Result<ConfigWrite<AlertRuleRecord>> {
        config::write_rule(self.pool(), id, spec, false).await
    }

    async fn delete_alert_rule(&self, id: Uuid) -> anyhow::Result<bool> {
        config::delete::<AlertRuleRecord>(self.pool(), id).await
    }

    async fn create_maintenance(&self, id: Uuid, spec: &MaintenanceSpec) -> anyhow::Result<MaintenanceRecord> {
        config::insert(self.pool(), id, spec).await.map_err(|error| error.into_anyhow("maintenance window"))
    }

    async fn get_maintenance(&self, id: Uuid) -> anyhow::Result<Option<MaintenanceRecord>> {
        config::get(self.pool(), id).await
    }

    async fn list_maintenance(&self) -> anyhow::Result<Vec<MaintenanceRecord>> {
        config::list(self.pool()).await
    }

    async fn update_maintenance(&self, id: Uuid, spec: &MaintenanceSpec) -> anyhow::Result<Option<MaintenanceRecord>> {
        config::update(self.pool(), id, spec).await
    }

    async fn delete_maintenance(&self, id: Uuid) -> anyhow::Result<bool> {
        config::delete::<MaintenanceRecord>(self.pool(), id).await
    }

    async fn alerting_turn(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        decide: &Decide<'_>,
    ) -> anyhow::Result<Option<TurnOutput>> {
        let tx = self.pool().begin().await.context("begin the notifier's turn")?;
        crate::alerting_turn::run(turn::PgTurn { tx, pool: self.pool().clone() }, now, limit, decide).await
    }

    async fn enqueue_delivery(&self, delivery: &NewDelivery) -> anyhow::Result<()> {
        deliveries::insert(self.pool(), std::slice::from_ref(delivery)).await
    }

    async fn claim_deliveries(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DeliveryRecord>> {
        deliveries::claim(self.pool(), holder, now, lease_until, limit).await
    }

    async fn record_attempts(&self, holder: &str, attempts: &[(Uuid, AttemptOutcome)]) -> anyhow::Result<Vec<Uuid>> {
        deliveries::record_attempts(self.pool(), holder, attempts).await
    }

    async fn get_delivery(&self, id: Uuid) -> anyhow::Result<Option<DeliveryRecord>> {
        deliveries::get(self.pool(), id).await
    }

    async fn list_deliveries(&self, filter: &DeliveryFilter) -> anyhow::Result<Page<DeliveryRecord>> {
        deliveries::list(self.pool(), filter).await
    }

    async fn queue_stats(&self) -> anyhow::Result<QueueStats> {
        deliveries::stats(self.pool()).await
    }
}
