//! A target's history: its samples (one per probe) and its health transitions, paged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::HealthStatus;

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SamplePage {
    pub items: Vec<SampleView>,
    pub next_cursor: Option<String>,
}

/// One health change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransitionView {
    pub target_id: Uuid,
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransitionPage {
    pub items: Vec<TransitionView>,
    pub next_cursor: Option<String>,
}
