//! Schemas of the predecessors' compatibility bodies (`/webservers`, `/Login`, `/Resource`, …),
//! for the OpenAPI document only; the handlers build these shapes as JSON values.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules;
use super::schemas::HealthStatus;

#[derive(Serialize, ToSchema)]
pub struct WebserverBody {
    #[schema(schema_with = rules::target_name)]
    pub name: String,
    #[schema(schema_with = rules::http_url)]
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebserverSummary {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    /// "Healthy", "Unhealthy", or null while undecided.
    pub status: Option<String>,
}

/// One probe as the predecessor reported it; `latency` in seconds.
#[derive(Serialize, ToSchema)]
pub struct WebserverRequest {
    pub status_code: Option<u16>,
    pub latency: f64,
    pub timestamp: DateTime<Utc>,
    pub success: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WebserverDetail {
    #[serde(flatten)]
    pub summary: WebserverSummary,
    /// The 10 newest, newest first.
    pub requests: Vec<WebserverRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct LegacyToken {
    /// Accepted in a `token` header as well as `Authorization: Bearer`.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResourceState {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    /// "Healthy", "Unhealthy", "Unknown", "Stale" or "Paused".
    pub state: String,
    /// Why it is down; null when it is not.
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ResetResult {
    #[schema(example = "reset")]
    pub status: String,
    #[schema(example = "kept")]
    pub history: String,
}

#[derive(Serialize, ToSchema)]
pub struct RouteInfo {
    pub method: String,
    pub path: String,
    pub description: String,
}

/// The predecessor's SSH resource document; `hostname` names and addresses it, `user` is an alias
/// of `username`, `os: windows` checks with PowerShell. Other target fields (`port`,
/// `host_key_sha256`, `trust_on_first_use`, …) pass through.
#[derive(Serialize, ToSchema)]
pub struct ResourceBody {
    #[schema(schema_with = rules::host)]
    pub hostname: String,
    #[schema(schema_with = rules::ssh_username_or_null)]
    pub username: Option<String>,
    #[schema(schema_with = rules::password_or_null)]
    pub password: Option<String>,
    #[schema(schema_with = rules::private_key_or_null)]
    pub private_key: Option<String>,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    /// "linux" (default) or "windows".
    pub os: Option<String>,
    #[schema(schema_with = rules::host_key_sha256_or_null)]
    pub host_key_sha256: Option<String>,
    pub trust_on_first_use: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ResourceView {
    pub id: Uuid,
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub os: String,
    pub state: HealthStatus,
    pub reason: Option<String>,
    pub has_password: bool,
    pub has_private_key: bool,
    pub host_key_sha256: Option<String>,
}
