//! The predecessors' response bodies, as their clients expect them: the `/webservers` family,
//! HealthChecker's `/Login`, `/ResourceState`, `/Reset`, `/Routes` and its SSH `/Resource`s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::HealthStatus;

/// A web server's status as the predecessor named it; null while undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum WebserverStatus {
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebserverSummary {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    /// "Healthy", "Unhealthy", or null while undecided.
    pub status: Option<WebserverStatus>,
}

/// One probe as the predecessor reported it; `latency` in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebserverRequest {
    pub status_code: Option<u16>,
    pub latency: f64,
    pub timestamp: DateTime<Utc>,
    pub success: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebserverDetail {
    #[serde(flatten)]
    pub summary: WebserverSummary,
    /// The 10 newest, newest first.
    pub requests: Vec<WebserverRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LegacyToken {
    /// Accepted in a `token` header as well as `Authorization: Bearer`.
    pub token: String,
}

/// A resource's state as HealthChecker named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ResourceStateWord {
    Healthy,
    Unhealthy,
    Unknown,
    Stale,
    Paused,
}

impl From<HealthStatus> for ResourceStateWord {
    fn from(status: HealthStatus) -> Self {
        match status {
            HealthStatus::Healthy => Self::Healthy,
            HealthStatus::Unhealthy => Self::Unhealthy,
            HealthStatus::Unknown => Self::Unknown,
            HealthStatus::Stale => Self::Stale,
            HealthStatus::Paused => Self::Paused,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResourceState {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub state: ResourceStateWord,
    /// Why it is down; null when it is not.
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResetResult {
    #[schema(example = "reset")]
    pub status: String,
    #[schema(example = "kept")]
    pub history: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RouteInfo {
    pub method: String,
    pub path: String,
    pub description: String,
}

/// What a resource runs: `windows` is checked with PowerShell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceOs {
    Linux,
    Windows,
}

/// An SSH resource; its credentials appear only as `has_password`/`has_private_key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResourceView {
    pub id: Uuid,
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub os: ResourceOs,
    pub state: HealthStatus,
    pub reason: Option<String>,
    pub has_password: bool,
    pub has_private_key: bool,
    pub host_key_sha256: Option<String>,
}
