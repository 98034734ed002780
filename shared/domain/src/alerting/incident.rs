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
    /// The notifiers the trigger went out to: its reminders and its resolve go to these (and only
    /// these), even when the rule's list changes while the incident lasts. Kept by the notifier;
    /// the state machine carries it along.
    #[serde(default)]
    pub notified: Vec<Uuid>,
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
///
/// A change is judged at its own time `at`, not at `now`: a notifier catching up on old changes
/// must not trigger an incident whose outage ended before its delay ran out. A pending incident
/// whose delay ran out before a later change is triggered first, then the change applies.
pub fn step(
    current: Option<&Incident>,
    input: &IncidentInput,
    policy: &RulePolicy,
    maintenance_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    new_id: Uuid,
) -> Step {
    let mut notices = Vec::new();
    let incident = match input {
        IncidentInput::Tick => current.cloned().map(|incident| match incident.due_at {
            Some(due) if due <= now => fire(incident, now, policy, maintenance_until, &mut notices),
            _ => incident,
        }),
        IncidentInput::Became { status, at, reason } => {
            let opened = || Incident {
                id: new_id,
                phase: IncidentPhase::Pending,
                status: *status,
                reason: reason.clone(),
                since: *at,
                triggered_at: None,
                told: false,
                due_at: Some(*at + seconds(policy.trigger_after_s)),
                notified: Vec::new(),
            };
            let before = match current.cloned() {
                Some(incident)
                    if incident.phase == IncidentPhase::Pending && incident.due_at.is_some_and(|due| due <= *at) =>
                {
                    Some(fire(incident, *at, policy, maintenance_until, &mut notices))
                }
                other => other,
            };
            match before {
                None if is_failing(*status) => {
                    let incident = opened();
                    match incident.due_at {
                        Some(due) if due <= *at => Some(fire(incident, *at, policy, maintenance_until, &mut notices)),
                        _ => Some(incident),
                    }
                }
                None => None,
                Some(incident) if *status == HealthStatus::Healthy => {
                    if incident.phase == IncidentPhase::Open && policy.send_on_resolved {
                        notices.push(Notice { kind: NoticeKind::Resolved, suppressed: !incident.told });
                    }
                    None
                }
                Some(incident) => Some(Incident { status: *status, reason: reason.clone(), ..incident }),
            }
        }
    };
    Step { incident, notices }
}

/// Unhealthy and stale open incidents; unknown (a reset) and paused only carry news of no outage.
fn is_failing(status: HealthStatus) -> bool {
    matches!(status, HealthStatus::Unhealthy | HealthStatus::Stale)
}

fn seconds(count: u32) -> chrono::Duration {
    chrono::Duration::seconds(i64::from(count))
}

/// What a due incident does at `moment`: a pending one triggers (suppressed inside a window, and
/// then due again at its end); an open one whose trigger was held back sends it, unless another
/// window holds it still; a told one reminds.
fn fire(
    incident: Incident,
    moment: DateTime<Utc>,
    policy: &RulePolicy,
    maintenance_until: Option<DateTime<Utc>>,
    notices: &mut Vec<Notice>,
) -> Incident {
    let next_reminder = (policy.remind_every_s > 0).then(|| moment + seconds(policy.remind_every_s));
    match (incident.phase, incident.told, maintenance_until) {
        (IncidentPhase::Pending, _, Some(end)) => {
            notices.push(Notice { kind: NoticeKind::Triggered, suppressed: true });
            Incident {
                phase: IncidentPhase::Open,
                triggered_at: Some(moment),
                told: false,
                due_at: Some(end),
                ..incident
            }
        }
        (IncidentPhase::Pending, _, None) | (IncidentPhase::Open, false, None) => {
            notices.push(Notice { kind: NoticeKind::Triggered, suppressed: false });
            let triggered_at = incident.triggered_at.or(Some(moment));
            Incident { phase: IncidentPhase::Open, triggered_at, told: true, due_at: next_reminder, ..incident }
        }
        (IncidentPhase::Open, false, Some(end)) => Incident { due_at: Some(end), ..incident },
        (IncidentPhase::Open, true, window) => {
            if next_reminder.is_some() {
                notices.push(Notice { kind: NoticeKind::Reminder, suppressed: window.is_some() });
            }
            Incident { due_at: next_reminder, ..incident }
        }
    }
}

#[cfg(test)]
mod tests;
