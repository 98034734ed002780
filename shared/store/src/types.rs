//! Values that cross the store boundary.

use chrono::{DateTime, Utc};
use healthmon_domain::{HealthState, HealthStatus, Target};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct TargetRecord {
    pub target: Target,
    pub health: HealthState,
}

impl TargetRecord {
    /// The status clients see: a paused target is `paused` whatever its last health.
    pub fn visible_status(&self) -> HealthStatus {
        if self.target.spec.enabled { self.health.status } else { HealthStatus::Paused }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Done,
    NotFound,
    /// The stored revision is not the one the write was based on.
    Conflict,
}

#[derive(Debug, Clone, Default)]
pub struct TargetFilter {
    /// Matches the visible status (so `paused` finds disabled targets).
    pub status: Option<HealthStatus>,
    pub tag: Option<String>,
    pub kind: Option<String>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    pub limit: u32,
    /// Only targets with an id greater than this.
    pub cursor: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow; opaque to clients.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SampleQuery {
    pub target_id: Uuid,
    pub limit: u32,
    /// Only samples with a slot lower than this (the previous page's cursor).
    pub before_slot: Option<i64>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// Samples before this slot have expired under retention and are never returned, even
    /// before the purge removes them.
    pub kept_from_slot: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRecord {
    #[serde(skip)]
    pub seq: i64,
    pub target_id: Uuid,
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStream {
    Targets,
    Health,
    /// Incident changes, keyed by alert rule id.
    Alerts,
}

impl OutboxStream {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Targets => "targets",
            Self::Health => "health",
            Self::Alerts => "alerts",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "targets" => Some(Self::Targets),
            "health" => Some(Self::Health),
            "alerts" => Some(Self::Alerts),
            _ => None,
        }
    }
}

/// An event committed with the change it describes, waiting to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub stream: OutboxStream,
    /// The subject key: the target id (the alert rule id on the alerts stream).
    pub key: Uuid,
    /// The bus de-duplication id (the CloudEvent id).
    pub msg_id: Uuid,
    /// The CloudEvent JSON.
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct IngestOutcome {
    /// Samples newly stored (duplicates and samples of unknown targets are not).
    pub stored: usize,
    pub changes: Vec<healthmon_domain::events::HealthChanged>,
}

/// A write refused because another projector has claimed the fence since this one did: this one
/// has been deposed and must stop writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("fenced off: this projector holds epoch {ours}, the current epoch is {current}")]
pub struct Fenced {
    pub ours: i64,
    pub current: i64,
}

/// A target write refused because another SSH target is already named after this host: it would
/// make `/Resource/{hostname}` ambiguous (see [`healthmon_domain::TargetSpec::resource_hostname`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an SSH target named after host {host} exists (the /Resource of that host)")]
pub struct DuplicateResource {
    pub host: String,
}
