//! Targets (monitored resources), what they check, and the validation of client input.

mod parse;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ExpectedStatus;
use crate::health::Thresholds;

pub use parse::{apply_merge_patch, parse_spec};

pub const DEFAULT_INTERVAL_S: u32 = 60;
pub const DEFAULT_TIMEOUT_S: u32 = 60;
pub const INTERVAL_RANGE: (u32, u32) = (1, 3600);
pub const TIMEOUT_RANGE: (u32, u32) = (1, 300);
pub const THRESHOLD_RANGE: (u32, u32) = (1, 100);

/// Everything a client may write about a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSpec {
    pub name: String,
    #[serde(flatten)]
    pub check: Check,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub enabled: bool,
    pub tags: Vec<String>,
}

impl TargetSpec {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds { healthy: self.healthy_threshold, unhealthy: self.unhealthy_threshold }
    }

    /// Whether moving from `self` to `next` changes what is checked, which resets health to unknown.
    /// Name, tags, interval, thresholds and pausing do not.
    pub fn check_differs(&self, next: &TargetSpec) -> bool {
        self.check != next.check || self.timeout_s != next.timeout_s
    }
}

/// A stored target: its spec plus identity and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub id: Uuid,
    #[serde(flatten)]
    pub spec: TargetSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; consumers apply a target event only if it is newer than what they hold.
    pub revision: i64,
    /// Bumped whenever what is checked changes; samples carry it so older probes no longer count.
    pub check_version: i64,
}

impl Target {
    pub fn create(spec: TargetSpec, now: DateTime<Utc>) -> Self {
        Self { id: Uuid::now_v7(), spec, created_at: now, updated_at: now, revision: 1, check_version: 1 }
    }

    /// The target after a full replacement of its spec.
    pub fn replaced(&self, spec: TargetSpec, now: DateTime<Utc>) -> Self {
        let check_version = self.check_version + i64::from(self.spec.check_differs(&spec));
        Self {
            id: self.id,
            spec,
            created_at: self.created_at,
            updated_at: now,
            revision: self.revision + 1,
            check_version,
        }
    }

    pub fn kind(&self) -> &'static str {
        self.spec.check.kind()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    Http(HttpCheck),
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Http(_) => "http",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Head,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCheck {
    pub url: String,
    pub method: HttpMethod,
    pub expected_status: ExpectedStatus,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body_contains: Option<String>,
    /// Off by default: a probe on a pooled connection misses a server that stopped accepting.
    pub keepalive: bool,
}
