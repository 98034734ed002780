//! Incidents: one per (alert rule, target), from the trigger to the resolve. A pure state machine
//! fed the target's health changes and the passing of time; it says which notices to send and
//! when it next needs to be woken up (`due_at`).
//!
//! - A change to `unhealthy` or `stale` opens a *pending* incident; if the target is still not
//!   healthy `trigger_after_s` later it is *open* and the trigger is noticed. A return to
//!   `healthy` before then drops it silently (a flap shorter than the delay).
//! - While open, a reminder is noticed every `remind_every_s` (0 = never).
//! - A return to `healthy` ends an open incident, with a resolve notice when `send_on_resolved`.
//! - Inside a maintenance window, a trigger or reminder is noticed as *suppressed*; the incident
//!   is due again at the window's end, when the trigger is noticed for real if the target is still
//!   not healthy. A resolve is sent exactly when its trigger was (so no receiver ever hears of an
//!   end without its beginning, nor is left with a beginning that never ends).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::HealthStatus;

/// The parts of a rule that shape its incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulePolicy {
    pub trigger_after_s: u32,
    pub send_on_resolved: bool,
    pub remind_every_s: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentPhase {
    /// Not healthy, waiting out `trigger_after_s`.
    Pending,
    /// Triggered (told, or suppressed and waiting for its window to end).
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable for the incident's life: the receivers' de-duplication key.
    pub id: Uuid,
    pub phase: IncidentPhase,
    /// The target's newest status as the incident knows it.
    pub status: HealthStatus,
    pub reason: String,
    /// When the target stopped being healthy.
    pub since: DateTime<Utc>,
    pub triggered_at: Option<DateTime<Utc>>,
    /// Whether the trigger went out (not suppressed): then, and only then, a resolve goes out.
    pub told: bool,
    /// When the incident next needs a tick; `None` when only a health change can move it.
    pub due_at: Option<DateTime<Utc>>,
}

/// What moves an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentInput {
    /// The target's health changed to `status` at `at`.
    Became { status: HealthStatus, at: DateTime<Utc>, reason: String },
    /// Time passed; only does something when the incident is due.
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Triggered,
    Reminder,
    Resolved,
}

/// One notification the incident calls for: sent to every notifier of the rule, or only recorded
/// (`suppressed`) inside a maintenance window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub suppressed: bool,
}

/// The incident after an input (`None`: there is none, or it ended) and the notices, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub incident: Option<Incident>,
    pub notices: Vec<Notice>,
}

/// Applies `input` at `now`. `maintenance_until` is the end of the maintenance window covering the
/// target at `now` (`None` outside any); `new_id` names an incident this input opens.
pub fn step(
    current: Option<&Incident>,
    input: &IncidentInput,
    policy: &RulePolicy,
    maintenance_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    new_id: Uuid,
) -> Step {
    let _ = (input, policy, maintenance_until, now, new_id);
    Step { incident: current.cloned(), notices: Vec::new() }
}
