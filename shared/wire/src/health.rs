//! A target's health: its status, the view inside a target, and the `/api/v1/health` breakdown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A target's health as clients see it (`paused` when it is disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Unknown,
    Healthy,
    Unhealthy,
    Stale,
    Paused,
}

impl From<healthmon_domain::HealthStatus> for HealthStatus {
    fn from(status: healthmon_domain::HealthStatus) -> Self {
        use healthmon_domain::HealthStatus as Domain;
        match status {
            Domain::Unknown => Self::Unknown,
            Domain::Healthy => Self::Healthy,
            Domain::Unhealthy => Self::Unhealthy,
            Domain::Stale => Self::Stale,
            Domain::Paused => Self::Paused,
        }
    }
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Stale => "stale",
            Self::Paused => "paused",
        }
    }
}

/// A target's health; `paused` when the target is disabled, whatever its counters say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthView {
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
    /// Whether a maintenance window covers the target now (its notifications are held back; it
    /// is still probed and its health kept).
    #[serde(default)]
    #[schema(required = true)]
    pub maintenance: bool,
}

/// One target's line of `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetHealth {
    pub id: Uuid,
    pub name: String,
    pub status: HealthStatus,
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthBreakdown {
    pub items: Vec<TargetHealth>,
}

/// What `POST /api/v1/admin/resync` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResyncResult {
    #[schema(example = "resynced")]
    pub status: String,
    /// Stored targets republished.
    pub targets: u64,
    /// Targets the stream held but the store lacks.
    pub removed: u64,
}

/// Whether the aggregate check passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

/// How many targets are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusCounts {
    pub healthy: u64,
    pub unhealthy: u64,
    pub unknown: u64,
    pub stale: u64,
    pub paused: u64,
}

/// What `GET /healthz` (and `/IsHealthy`) answers: 200 with `pass` when every enabled target is
/// healthy, else 503 with `fail`. In the moments before the first snapshot is loaded it is 503
/// with `reason: "starting"` and no counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AggregateHealth {
    pub status: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<StatusCounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AggregateHealth {
    /// The answer before the first snapshot is loaded.
    pub fn starting() -> Self {
        Self { status: Verdict::Fail, total: None, counts: None, reason: Some("starting".to_owned()) }
    }
}
