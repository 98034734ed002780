//! Questions over a target's history: its uptime over a span, every target's uptime, and a
//! series of buckets for a chart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Latency over a span, in milliseconds; all null with no sample. p95 and p99 are read from
/// histograms and are within 10 % of the exact value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LatencySummary {
    #[schema(required = true)]
    pub mean: Option<f64>,
    #[schema(required = true)]
    pub min: Option<f64>,
    #[schema(required = true)]
    pub max: Option<f64>,
    #[schema(required = true)]
    pub p95: Option<f64>,
    #[schema(required = true)]
    pub p99: Option<f64>,
}

/// A target's uptime over `from` … `to`: successes / samples, samples taken inside maintenance
/// left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UptimeView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub samples: u64,
    pub successes: u64,
    pub failures: u64,
    /// 0 … 1; null with no sample.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub uptime: Option<f64>,
    /// Seconds spent unhealthy, from the transitions.
    pub downtime_s: f64,
    /// Seconds of the span inside the target's maintenance windows.
    pub maintenance_s: f64,
    pub latency_ms: LatencySummary,
}

/// One target's uptime in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UptimeItem {
    pub id: Uuid,
    pub name: String,
    #[schema(required = true)]
    pub group: Option<String>,
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub uptime: Option<f64>,
    pub samples: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UptimeList {
    pub items: Vec<UptimeItem>,
}

/// A bucket's latency in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesLatency {
    pub mean: f64,
    pub max: f64,
}

/// One bucket of a series; empty buckets are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesItem {
    /// The bucket's start (buckets are aligned to the Unix epoch).
    pub start: DateTime<Utc>,
    pub samples: u64,
    pub successes: u64,
    pub latency_ms: SeriesLatency,
}

/// A target's history in buckets of `step_s` seconds, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesView {
    pub step_s: u32,
    pub items: Vec<SeriesItem>,
}
