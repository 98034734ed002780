//! The public status page as JSON (`GET /api/v1/status`): public targets only, grouped, each with
//! its status, uptimes, 90-day bar and 24-hour response times, and the latest transitions. Nothing
//! here says how a target is checked (no URL, host or reason), since anyone may read it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::health::{HealthStatus, StatusCounts};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusPage {
    pub title: String,
    /// When the history figures (uptimes, bar, chart) were read; statuses are current.
    pub generated_at: DateTime<Utc>,
    /// How many of the shown targets are in each status.
    pub counts: StatusCounts,
    /// Groups by name, the targets with no group last (`name` null).
    pub groups: Vec<StatusGroup>,
    /// The shown targets' newest transitions, newest first.
    pub transitions: Vec<StatusTransition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusGroup {
    #[schema(required = true)]
    pub name: Option<String>,
    pub targets: Vec<StatusTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusTarget {
    pub id: Uuid,
    pub name: String,
    /// Gatus's key for it, as its badge paths use: `<group>_<name>`.
    pub key: String,
    pub status: HealthStatus,
    #[schema(required = true)]
    pub since: Option<DateTime<Utc>>,
    /// Inside a maintenance window now.
    pub maintenance: bool,
    /// Its open incident (the earliest, if several alert rules have one); null when none.
    #[schema(required = true)]
    pub incident: Option<StatusIncident>,
    pub uptime: StatusUptime,
    /// One cell a day for the last 90 days (UTC), oldest first, today last.
    pub days: Vec<StatusDay>,
    /// Hourly mean response times of the last 24 hours, oldest first; hours with no sample left out.
    pub response_times: Vec<ResponseTimePoint>,
}

/// An alert rule's incident that has triggered: the target has not been healthy since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusIncident {
    pub since: DateTime<Utc>,
    #[schema(required = true)]
    pub triggered_at: Option<DateTime<Utc>>,
}

/// Uptime (0 … 1) over the last 24 hours, 7 days and 30 days; null with no sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusUptime {
    #[serde(rename = "24h")]
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub day: Option<f64>,
    #[serde(rename = "7d")]
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub week: Option<f64>,
    #[serde(rename = "30d")]
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub month: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusDay {
    pub date: NaiveDate,
    pub samples: u64,
    /// 0 … 1; null with no sample that day.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub uptime: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResponseTimePoint {
    /// The hour's start.
    pub at: DateTime<Utc>,
    pub mean_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusTransition {
    pub target_id: Uuid,
    pub name: String,
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub at: DateTime<Utc>,
}
