//! JSON representations of stored things, as API.md describes them. The typed views here are
//! both what the handlers serialize and what the OpenAPI document derives its schemas from.

use chrono::{DateTime, Utc};
use healthmon_domain::{Check, HealthState, HealthStatus, Sample, Target};
use healthmon_store::TargetRecord;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn target(record: &TargetRecord) -> Value {
    let mut value = serde_json::to_value(&record.target).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("check_version");
        // Credentials are write-only: a response says only whether one is set.
        if let Check::Ssh(ssh) = &record.target.spec.check {
            object.retain(|key, _| !key.ends_with("_sealed"));
            object.insert("has_password".into(), json!(ssh.password.is_some()));
            object.insert("has_private_key".into(), json!(ssh.private_key.is_some()));
        }
        object.insert("health".into(), serde_json::to_value(HealthView::of(record)).unwrap_or(Value::Null));
    }
    value
}

pub fn new_target(target: &Target) -> Value {
    self::target(&TargetRecord { target: target.clone(), health: HealthState::new(target.check_version) })
}

/// A target's health; `paused` when the target is disabled, whatever its counters say.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    #[schema(value_type = crate::openapi::schemas::HealthStatus)]
    pub status: HealthStatus,
    #[schema(required = true)]
    pub since: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub reason: Option<String>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// When the newest counted probe finished.
    #[schema(required = true)]
    pub last_sample_at: Option<DateTime<Utc>>,
}

impl HealthView {
    pub fn of(record: &TargetRecord) -> Self {
        let health = &record.health;
        Self {
            status: record.visible_status(),
            since: health.since,
            reason: health.reason.clone(),
            consecutive_successes: health.consecutive_successes,
            consecutive_failures: health.consecutive_failures,
            last_sample_at: health.last_sample_at,
        }
    }
}

/// One probe's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleView {
    pub id: Uuid,
    /// When the probe started.
    pub at: DateTime<Utc>,
    pub success: bool,
    #[schema(required = true)]
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    #[schema(required = true)]
    pub error: Option<String>,
    /// The instance that probed.
    pub prober: String,
}

impl From<&Sample> for SampleView {
    fn from(sample: &Sample) -> Self {
        Self {
            id: sample.id,
            at: sample.at,
            success: sample.success,
            status_code: sample.status_code,
            latency_ms: sample.latency_ms,
            error: sample.error.clone(),
            prober: sample.prober.clone(),
        }
    }
}

pub fn sample(sample: &Sample) -> Value {
    serde_json::to_value(SampleView::from(sample)).unwrap_or(Value::Null)
}
