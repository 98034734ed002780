//! The threshold state machine that turns an ordered stream of samples into a health status.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Sample;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    #[default]
    Unknown,
    Healthy,
    Unhealthy,
    Stale,
    Paused,
}

impl HealthStatus {
    pub const ALL: [HealthStatus; 5] = [Self::Healthy, Self::Unhealthy, Self::Unknown, Self::Stale, Self::Paused];

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

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HealthStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("\"{text}\" is not one of unknown, healthy, unhealthy, stale, paused"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub healthy: u32,
    pub unhealthy: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { healthy: 5, unhealthy: 3 }
    }
}

/// What the projector remembers per target between samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthState {
    pub status: HealthStatus,
    pub since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// When the newest counted sample's probe finished.
    pub last_sample_at: Option<DateTime<Utc>>,
    /// The slot of the newest sample counted; samples at or before it never move the counters.
    pub last_slot: Option<i64>,
    pub check_version: i64,
}

/// A status change, named in the past tense because it has happened by the time anyone sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub slot: i64,
}

impl HealthState {
    pub fn new(check_version: i64) -> Self {
        Self { check_version, ..Self::default() }
    }

    /// Counts `sample` if it is newer than everything counted so far and was produced by the
    /// current check; returns the status change it causes, if any.
    pub fn observe(&mut self, sample: &Sample, thresholds: Thresholds) -> Option<Transition> {
        if sample.check_version < self.check_version || self.last_slot.is_some_and(|slot| sample.slot <= slot) {
            return None;
        }
        if sample.check_version > self.check_version {
            // The check changed and we had not heard yet: nothing counted so far applies to it.
            *self = Self {
                status: self.status,
                since: self.since,
                reason: self.reason.clone(),
                ..Self::new(sample.check_version)
            };
        }
        self.last_slot = Some(sample.slot);
        // When the probe finished: a slow probe's news is as fresh as its answer, not its start.
        self.last_sample_at = Some(sample.at + chrono::Duration::microseconds((sample.latency_ms * 1000.0) as i64));
        // Samples again after a silence: the target starts over from unknown.
        let resumed = self.status == HealthStatus::Stale;
        if resumed {
            self.status = HealthStatus::Unknown;
        }
        let crossed = self.count(sample, thresholds);
        match (crossed, resumed) {
            (Some(mut transition), true) => {
                transition.from = HealthStatus::Stale;
                Some(transition)
            }
            (None, true) => {
                let mut transition = self.move_to(HealthStatus::Unknown, "samples arrived again".to_owned(), sample);
                transition.from = HealthStatus::Stale;
                Some(transition)
            }
            (crossed, false) => crossed,
        }
    }

    /// Marks the target stale: no sample for too long. Counters restart, so the next samples take it
    /// through unknown and the thresholds again. The transition sorts after every sample counted.
    pub fn mark_stale(&mut self, at: DateTime<Utc>, reason: String) -> Option<Transition> {
        if self.status == HealthStatus::Stale {
            return None;
        }
        let from = self.status;
        self.status = HealthStatus::Stale;
        self.consecutive_successes = 0;
        self.consecutive_failures = 0;
        self.since = Some(at);
        self.reason = Some(reason.clone());
        Some(Transition { from, to: HealthStatus::Stale, at, reason, slot: self.last_slot.unwrap_or(0) + 1 })
    }

    fn count(&mut self, sample: &Sample, thresholds: Thresholds) -> Option<Transition> {
        if sample.success {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
            if self.status != HealthStatus::Healthy && self.consecutive_successes >= thresholds.healthy {
                let reason = format!("{} consecutive successful checks", self.consecutive_successes);
                return Some(self.move_to(HealthStatus::Healthy, reason, sample));
            }
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
            if self.status != HealthStatus::Unhealthy && self.consecutive_failures >= thresholds.unhealthy {
                let cause = sample.error.clone().unwrap_or_else(|| "check failed".to_owned());
                let reason = format!("{} consecutive failed checks; last: {cause}", self.consecutive_failures);
                return Some(self.move_to(HealthStatus::Unhealthy, reason, sample));
            }
        }
        None
    }

    /// Forgets all counting after what is checked changed; the caller publishes the transition.
    pub fn reset_for_new_check(&mut self, check_version: i64, at: DateTime<Utc>) -> Option<Transition> {
        let from = self.status;
        *self = Self::new(check_version);
        self.since = Some(at);
        let reason = "the check changed".to_owned();
        self.reason = Some(reason.clone());
        (from != HealthStatus::Unknown).then_some(Transition { from, to: HealthStatus::Unknown, at, reason, slot: 0 })
    }

    fn move_to(&mut self, to: HealthStatus, reason: String, sample: &Sample) -> Transition {
        let from = self.status;
        self.status = to;
        self.since = Some(sample.at);
        self.reason = Some(reason.clone());
        Transition { from, to, at: sample.at, reason, slot: sample.slot }
    }
}

#[cfg(test)]
mod tests;
