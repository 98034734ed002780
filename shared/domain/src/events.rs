//! Event payloads and their CloudEvents 1.0 envelopes (structured JSON mode).

use chrono::{DateTime, Utc};
use cloudevents::{AttributesReader, Data, Event, EventBuilder, EventBuilderV10};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{HealthStatus, Sample, Target, Transition};

pub const SAMPLE_SAMPLED: &str = "io.healthmon.probe.sampled.v1";
pub const HEALTH_CHANGED: &str = "io.healthmon.health.changed.v1";
pub const TARGET_CREATED: &str = "io.healthmon.target.created.v1";
pub const TARGET_UPDATED: &str = "io.healthmon.target.updated.v1";
pub const TARGET_DELETED: &str = "io.healthmon.target.deleted.v1";
pub const CONTENT_TYPE: &str = "application/cloudevents+json";

/// Namespace for health-change event ids, derived so that a replayed change keeps its id.
const HEALTH_NAMESPACE: Uuid = Uuid::from_u128(0x2b7e_9c41_55d0_4f3a_8e62_c1a9_04d7_5e21);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthChanged {
    pub target_id: Uuid,
    pub name: String,
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// The slot of the sample that caused the change (0 when a configuration change caused it).
    pub slot: i64,
    pub check_version: i64,
}

impl HealthChanged {
    pub fn new(target: &Target, transition: &Transition, successes: u32, failures: u32) -> Self {
        Self {
            target_id: target.id,
            name: target.spec.name.clone(),
            from: transition.from,
            to: transition.to,
            at: transition.at,
            reason: transition.reason.clone(),
            consecutive_successes: successes,
            consecutive_failures: failures,
            slot: transition.slot,
            check_version: target.check_version,
        }
    }

    pub fn event_id(&self) -> Uuid {
        let name = format!("{}:{}:{}:{}", self.target_id, self.check_version, self.slot, self.to);
        Uuid::new_v5(&HEALTH_NAMESPACE, name.as_bytes())
    }
}

/// The latest word on a target's configuration; the newest revision wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum TargetChanged {
    Created { target: Target },
    Updated { target: Target },
    Deleted { id: Uuid, revision: i64, keep_history: bool },
}

impl TargetChanged {
    pub fn target_id(&self) -> Uuid {
        match self {
            Self::Created { target } | Self::Updated { target } => target.id,
            Self::Deleted { id, .. } => *id,
        }
    }

    pub fn revision(&self) -> i64 {
        match self {
            Self::Created { target } | Self::Updated { target } => target.revision,
            Self::Deleted { revision, .. } => *revision,
        }
    }

    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => TARGET_CREATED,
            Self::Updated { .. } => TARGET_UPDATED,
            Self::Deleted { .. } => TARGET_DELETED,
        }
    }
}

/// Who emitted an event: `/healthmon/<role>/<instance>`.
pub fn source(role: &str, instance: &str) -> String {
    format!("/healthmon/{role}/{instance}")
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not a CloudEvent: {0}")]
    Malformed(String),
    #[error("unexpected event type {0}")]
    UnexpectedType(String),
}

/// Builds the JSON bytes of a structured-mode CloudEvent.
pub fn encode(id: Uuid, event_type: &str, source: &str, subject: Uuid, time: DateTime<Utc>, data: Value) -> Vec<u8> {
    let event = EventBuilderV10::new()
        .id(id.to_string())
        .ty(event_type)
        .source(source)
        .subject(subject.to_string())
        .time(time)
        .data("application/json", data)
        .build();
    match event {
        Ok(event) => serde_json::to_vec(&event).unwrap_or_default(),
        // Every attribute above is always present and well-formed, so building cannot fail.
        Err(error) => unreachable!("a CloudEvent with every required attribute failed to build: {error}"),
    }
}

pub fn encode_sample(sample: &Sample, source: &str) -> Vec<u8> {
    let data = serde_json::to_value(sample).unwrap_or(Value::Null);
    encode(sample.id, SAMPLE_SAMPLED, source, sample.target_id, sample.at, data)
}

pub fn encode_health(change: &HealthChanged, source: &str) -> Vec<u8> {
    let data = serde_json::to_value(change).unwrap_or(Value::Null);
    encode(change.event_id(), HEALTH_CHANGED, source, change.target_id, change.at, data)
}

pub fn encode_target(change: &TargetChanged, event_id: Uuid, source: &str, time: DateTime<Utc>) -> Vec<u8> {
    let data = serde_json::to_value(change).unwrap_or(Value::Null);
    encode(event_id, change.event_type(), source, change.target_id(), time, data)
}

/// Parses a CloudEvent and returns its type and JSON data.
pub fn decode(bytes: &[u8]) -> Result<(String, Value), EnvelopeError> {
    let event: Event = serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    let data = match event.data() {
        Some(Data::Json(value)) => value.clone(),
        Some(Data::String(text)) => serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?,
        Some(Data::Binary(bytes)) => {
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?
        }
        None => return Err(EnvelopeError::Malformed("event has no data".into())),
    };
    Ok((event.ty().to_owned(), data))
}

fn decode_as<T: serde::de::DeserializeOwned>(bytes: &[u8], accept: &[&str]) -> Result<T, EnvelopeError> {
    let (event_type, data) = decode(bytes)?;
    if !accept.contains(&event_type.as_str()) {
        return Err(EnvelopeError::UnexpectedType(event_type));
    }
    serde_json::from_value(data).map_err(|e| EnvelopeError::Malformed(e.to_string()))
}

pub fn decode_sample(bytes: &[u8]) -> Result<Sample, EnvelopeError> {
    decode_as(bytes, &[SAMPLE_SAMPLED])
}

pub fn decode_health(bytes: &[u8]) -> Result<HealthChanged, EnvelopeError> {
    decode_as(bytes, &[HEALTH_CHANGED])
}

pub fn decode_target(bytes: &[u8]) -> Result<TargetChanged, EnvelopeError> {
    decode_as(bytes, &[TARGET_CREATED, TARGET_UPDATED, TARGET_DELETED])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::sample_id;

    #[test]
    fn a_sample_round_trips_through_its_cloudevent() {
        let target_id = Uuid::now_v7();
        let sample = Sample {
            id: sample_id(target_id, 42),
            target_id,
            slot: 42,
            at: Utc::now(),
            success: true,
            status_code: Some(200),
            latency_ms: 3.5,
            error: None,
            prober: "p1".into(),
            check_version: 1,
            pin_host_key: None,
        };
        let bytes = encode_sample(&sample, &source("prober", "p1"));
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["specversion"], "1.0");
        assert_eq!(value["type"], SAMPLE_SAMPLED);
        assert_eq!(value["id"], sample.id.to_string());
        assert_eq!(value["subject"], target_id.to_string());
        assert_eq!(value["source"], "/healthmon/prober/p1");
        assert_eq!(decode_sample(&bytes).unwrap(), sample);
        assert!(matches!(decode_health(&bytes), Err(EnvelopeError::UnexpectedType(_))));
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert!(decode(b"not json").is_err());
        assert!(decode(br#"{"specversion":"1.0"}"#).is_err());
    }
}
