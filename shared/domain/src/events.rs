//! Event payloads and their CloudEvents 1.0 envelopes (structured JSON mode).

use chrono::{DateTime, Utc};
use cloudevents::event::ExtensionValue;
use cloudevents::{AttributesReader, Data, Event, EventBuilder, EventBuilderV10};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{HealthStatus, Sample, Target, TraceParent, Transition};

pub const SAMPLE_SAMPLED: &str = "io.healthmon.probe.sampled.v1";
pub const HEALTH_CHANGED: &str = "io.healthmon.health.changed.v1";
pub const TARGET_CREATED: &str = "io.healthmon.target.created.v1";
pub const TARGET_UPDATED: &str = "io.healthmon.target.updated.v1";
pub const TARGET_DELETED: &str = "io.healthmon.target.deleted.v1";
pub const TARGET_RESYNCED: &str = "io.healthmon.target.resynced.v1";
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

/// The latest word on a target's configuration; the newest revision wins, except that a resync
/// (the store's word) wins whatever the revisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum TargetChanged {
    Created {
        target: Target,
    },
    Updated {
        target: Target,
    },
    Deleted {
        id: Uuid,
        revision: i64,
        keep_history: bool,
    },
    /// What the store holds for `id`, republished by a resync to bring followers that drifted from
    /// the store back in line: `target` as stored, or `None` when the store has no such target.
    Resynced {
        id: Uuid,
        target: Option<Target>,
    },
}

impl TargetChanged {
    pub fn target_id(&self) -> Uuid {
        match self {
            Self::Created { target } | Self::Updated { target } => target.id,
            Self::Deleted { id, .. } | Self::Resynced { id, .. } => *id,
        }
    }

    /// The revision this event speaks for; `None` for a resync saying the target is absent, which
    /// has none (the store has no row to take it from).
    pub fn revision(&self) -> Option<i64> {
        match self {
            Self::Created { target } | Self::Updated { target } => Some(target.revision),
            Self::Deleted { revision, .. } => Some(*revision),
            Self::Resynced { target, .. } => target.as_ref().map(|target| target.revision),
        }
    }

    /// The target as it now stands, when this event says it exists.
    pub fn present(&self) -> Option<&Target> {
        match self {
            Self::Created { target } | Self::Updated { target } => Some(target),
            Self::Resynced { target, .. } => target.as_ref(),
            Self::Deleted { .. } => None,
        }
    }

    /// Whether followers take this event even when they know an equal or newer revision: the
    /// store is the source of truth, and a resync is its word.
    pub fn is_authoritative(&self) -> bool {
        matches!(self, Self::Resynced { .. })
    }

    /// Whether a follower that knows `known` (the revision it applied last for this target, if
    /// any) should apply this event.
    pub fn supersedes(&self, known: Option<i64>) -> bool {
        if self.is_authoritative() {
            return true;
        }
        match (known, self.revision()) {
            (Some(known), Some(revision)) => revision > known,
            _ => true,
        }
    }

    /// The store's word on one target, for a resync.
    pub fn resynced(id: Uuid, stored: Option<Target>) -> Self {
        Self::Resynced { id, target: stored }
    }

    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => TARGET_CREATED,
            Self::Updated { .. } => TARGET_UPDATED,
            Self::Deleted { .. } => TARGET_DELETED,
            Self::Resynced { .. } => TARGET_RESYNCED,
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
    encode_traced(id, event_type, source, subject, time, data, None)
}

/// The CloudEvents Distributed Tracing extension attribute.
pub const TRACEPARENT: &str = "traceparent";

fn encode_traced(
    id: Uuid,
    event_type: &str,
    source: &str,
    subject: Uuid,
    time: DateTime<Utc>,
    data: Value,
    trace: Option<&TraceParent>,
) -> Vec<u8> {
    let mut builder = EventBuilderV10::new()
        .id(id.to_string())
        .ty(event_type)
        .source(source)
        .subject(subject.to_string())
        .time(time)
        .data("application/json", data);
    if let Some(trace) = trace {
        builder = builder.extension(TRACEPARENT, trace.to_string());
    }
    match builder.build() {
        Ok(event) => serde_json::to_vec(&event).unwrap_or_default(),
        // Every attribute above is always present and well-formed, so building cannot fail.
        Err(error) => unreachable!("a CloudEvent with every required attribute failed to build: {error}"),
    }
}

pub fn encode_sample(sample: &Sample, source: &str) -> Vec<u8> {
    encode_sample_traced(sample, source, None)
}

/// A sample event carrying the probe's trace context, so the projector can name the same trace.
pub fn encode_sample_traced(sample: &Sample, source: &str, trace: Option<&TraceParent>) -> Vec<u8> {
    let data = serde_json::to_value(sample).unwrap_or(Value::Null);
    encode_traced(sample.id, SAMPLE_SAMPLED, source, sample.target_id, sample.at, data, trace)
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
    let event = parse(bytes)?;
    Ok((event.ty().to_owned(), data_of(&event)?))
}

fn parse(bytes: &[u8]) -> Result<Event, EnvelopeError> {
    serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))
}

fn data_of(event: &Event) -> Result<Value, EnvelopeError> {
    match event.data() {
        Some(Data::Json(value)) => Ok(value.clone()),
        Some(Data::String(text)) => serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string())),
        Some(Data::Binary(bytes)) => serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string())),
        None => Err(EnvelopeError::Malformed("event has no data".into())),
    }
}

fn decode_as<T: serde::de::DeserializeOwned>(bytes: &[u8], accept: &[&str]) -> Result<T, EnvelopeError> {
    decode_event_as(&parse(bytes)?, accept)
}

fn decode_event_as<T: serde::de::DeserializeOwned>(event: &Event, accept: &[&str]) -> Result<T, EnvelopeError> {
    if !accept.contains(&event.ty()) {
        return Err(EnvelopeError::UnexpectedType(event.ty().to_owned()));
    }
    serde_json::from_value(data_of(event)?).map_err(|e| EnvelopeError::Malformed(e.to_string()))
}

pub fn decode_sample(bytes: &[u8]) -> Result<Sample, EnvelopeError> {
    decode_as(bytes, &[SAMPLE_SAMPLED])
}

/// A sample and its trace context. Events from before tracing, or with a `traceparent` that is not
/// valid, decode with none: tracing is a diagnostic and never costs a sample.
pub fn decode_sample_traced(bytes: &[u8]) -> Result<(Sample, Option<TraceParent>), EnvelopeError> {
    let event = parse(bytes)?;
    let sample = decode_event_as(&event, &[SAMPLE_SAMPLED])?;
    let trace = match event.extension(TRACEPARENT) {
        Some(ExtensionValue::String(text)) => text.parse().ok(),
        _ => None,
    };
    Ok((sample, trace))
}

pub fn decode_health(bytes: &[u8]) -> Result<HealthChanged, EnvelopeError> {
    decode_as(bytes, &[HEALTH_CHANGED])
}

pub fn decode_target(bytes: &[u8]) -> Result<TargetChanged, EnvelopeError> {
    decode_as(bytes, &[TARGET_CREATED, TARGET_UPDATED, TARGET_DELETED, TARGET_RESYNCED])
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

    fn a_sample(prober: &str) -> Sample {
        let target_id = Uuid::now_v7();
        Sample {
            id: sample_id(target_id, 7),
            target_id,
            slot: 7,
            at: Utc::now(),
            success: false,
            status_code: None,
            latency_ms: 1.0,
            error: Some("refused".into()),
            prober: prober.into(),
            check_version: 2,
            pin_host_key: None,
        }
    }

    #[test]
    fn a_traced_sample_carries_a_valid_traceparent_that_round_trips() {
        let sample = a_sample("p1");
        let trace = TraceParent::generate();
        let bytes = encode_sample_traced(&sample, &source("prober", "p1"), Some(&trace));
        let value: Value = serde_json::from_slice(&bytes).expect("JSON");
        let attribute = value[TRACEPARENT].as_str().expect("a traceparent attribute");
        assert_eq!(attribute.parse::<TraceParent>(), Ok(trace), "{attribute}");
        assert_eq!(decode_sample_traced(&bytes).expect("a sample"), (sample.clone(), Some(trace)));
        assert_eq!(decode_sample(&bytes).expect("a sample without asking for its trace"), sample);
    }

    #[test]
    fn a_sample_without_or_with_a_broken_traceparent_still_decodes() {
        let sample = a_sample("old");
        let untraced = encode_sample(&sample, &source("prober", "old"));
        let value: Value = serde_json::from_slice(&untraced).expect("JSON");
        assert!(value.get(TRACEPARENT).is_none(), "{value}");
        assert_eq!(decode_sample_traced(&untraced).expect("an old event"), (sample.clone(), None));

        let mut broken = value;
        broken[TRACEPARENT] = Value::from("00-nonsense");
        let bytes = serde_json::to_vec(&broken).expect("JSON");
        assert_eq!(decode_sample_traced(&bytes).expect("a sample"), (sample, None));
    }

    fn stored_target(revision: i64) -> Target {
        let spec =
            crate::target::parse_spec(&serde_json::json!({"name": "t", "kind": "tcp", "host": "db", "port": 5432}))
                .expect("a valid spec");
        Target { revision, ..Target::create(spec, Utc::now()) }
    }

    #[test]
    fn a_resync_round_trips_as_target_resynced_present_or_absent() {
        let target = stored_target(3);
        for change in
            [TargetChanged::resynced(target.id, Some(target.clone())), TargetChanged::resynced(target.id, None)]
        {
            let bytes = encode_target(&change, Uuid::new_v4(), &source("api", "a1"), Utc::now());
            let value: Value = serde_json::from_slice(&bytes).expect("JSON");
            assert_eq!(value["type"], TARGET_RESYNCED);
            assert_eq!(value["subject"], target.id.to_string());
            assert_eq!(value["data"]["change"], "resynced");
            assert_eq!(decode_target(&bytes).expect("a target event"), change);
        }
    }

    #[test]
    fn given_a_known_revision_when_events_arrive_then_only_newer_ones_or_resyncs_supersede_it() {
        let target = stored_target(5);
        let updated = |revision| TargetChanged::Updated { target: Target { revision, ..target.clone() } };
        assert!(updated(6).supersedes(Some(5)));
        assert!(!updated(5).supersedes(Some(5)), "a repeat is not news");
        assert!(!updated(4).supersedes(Some(5)), "an older event is not news");
        assert!(updated(1).supersedes(None), "anything is news about an unknown target");

        let resynced_lower = TargetChanged::resynced(target.id, Some(Target { revision: 2, ..target.clone() }));
        assert!(resynced_lower.supersedes(Some(5)), "the store wins even at a lower revision");
        assert!(TargetChanged::resynced(target.id, None).supersedes(Some(5)), "the store says it is gone");
    }

    #[test]
    fn only_events_that_say_a_target_exists_present_it() {
        let target = stored_target(2);
        assert_eq!(TargetChanged::Created { target: target.clone() }.present(), Some(&target));
        assert_eq!(TargetChanged::resynced(target.id, Some(target.clone())).present(), Some(&target));
        assert_eq!(TargetChanged::resynced(target.id, None).present(), None);
        assert_eq!(TargetChanged::Deleted { id: target.id, revision: 3, keep_history: false }.present(), None);
        assert_eq!(TargetChanged::resynced(target.id, None).revision(), None);
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert!(decode(b"not json").is_err());
        assert!(decode(br#"{"specversion":"1.0"}"#).is_err());
    }
}
