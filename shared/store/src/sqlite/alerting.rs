//! Alerting's half of the store on Sqlite.
#![allow(unused_variables)] // stubs until the store implements alerting

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::alerting::{AlertRuleSpec, MaintenanceSpec, NotifierSpec};
use uuid::Uuid;

use super::SqliteStore;
use crate::Page;
use crate::alerting::*;

#[async_trait]
impl Alerting for SqliteStore {
    async fn create_notifier(&self, id: Uuid, spec: &NotifierSpec) -> anyhow::Result<NotifierRecord> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn get_notifier(&self, id: Uuid) -> anyhow::Result<Option<NotifierRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn list_notifiers(&self) -> anyhow::Result<Vec<NotifierRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn update_notifier(&self, id: Uuid, spec: &NotifierSpec) -> anyhow::Result<ConfigWrite<NotifierRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn delete_notifier(&self, id: Uuid) -> anyhow::Result<ConfigWrite<()>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn create_alert_rule(&self, id: Uuid, spec: &AlertRuleSpec) -> anyhow::Result<ConfigWrite<AlertRuleRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn get_alert_rule(&self, id: Uuid) -> anyhow::Result<Option<AlertRuleRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn list_alert_rules(&self) -> anyhow::Result<Vec<AlertRuleRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn update_alert_rule(&self, id: Uuid, spec: &AlertRuleSpec) -> anyhow::Result<ConfigWrite<AlertRuleRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn delete_alert_rule(&self, id: Uuid) -> anyhow::Result<bool> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn create_maintenance(&self, id: Uuid, spec: &MaintenanceSpec) -> anyhow::Result<MaintenanceRecord> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn get_maintenance(&self, id: Uuid) -> anyhow::Result<Option<MaintenanceRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn list_maintenance(&self) -> anyhow::Result<Vec<MaintenanceRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn update_maintenance(&self, id: Uuid, spec: &MaintenanceSpec) -> anyhow::Result<Option<MaintenanceRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn delete_maintenance(&self, id: Uuid) -> anyhow::Result<bool> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn alerting_turn(&self, now: DateTime<Utc>, limit: u32, decide: &Decide<'_>) -> anyhow::Result<Option<TurnOutput>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn enqueue_delivery(&self, delivery: &NewDelivery) -> anyhow::Result<()> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn claim_deliveries(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        ) -> anyhow::Result<Vec<DeliveryRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn record_attempt(&self, id: Uuid, holder: &str, outcome: &AttemptOutcome) -> anyhow::Result<bool> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn get_delivery(&self, id: Uuid) -> anyhow::Result<Option<DeliveryRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn list_deliveries(&self, filter: &DeliveryFilter) -> anyhow::Result<Page<DeliveryRecord>> {
        anyhow::bail!("alerting is not stored yet")
    }

    async fn queue_stats(&self) -> anyhow::Result<QueueStats> {
        anyhow::bail!("alerting is not stored yet")
    }
}
