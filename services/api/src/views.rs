//! JSON representations of stored things, as API.md describes them.

use healthmon_domain::{Check, HealthState, Sample, Target};
use healthmon_store::TargetRecord;
use serde_json::{Value, json};

pub fn target(record: &TargetRecord) -> Value {
    let mut value = serde_json::to_value(&record.target).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("check_version");
        // Credentials are write-only: a response says only whether one is set.
        if let Check::Ssh(ssh) = &record.target.spec.check {
            object.retain(|key, _| !key.ends_with("_sealed"));
            object.insert("has_password".into(), json!(ssh.password.is_some()));
            object.insert("has_private_key".into(), json!(ssh.private_key.is_some()));
        }
        object.insert("health".into(), health(record));
    }
    value
}

pub fn new_target(target: &Target) -> Value {
    self::target(&TargetRecord { target: target.clone(), health: HealthState::new(target.check_version) })
}

fn health(record: &TargetRecord) -> Value {
    let health = &record.health;
    json!({
        "status": record.visible_status(),
        "since": health.since,
        "reason": health.reason,
        "consecutive_successes": health.consecutive_successes,
        "consecutive_failures": health.consecutive_failures,
        "last_sample_at": health.last_sample_at,
    })
}

pub fn sample(sample: &Sample) -> Value {
    json!({
        "id": sample.id,
        "at": sample.at,
        "success": sample.success,
        "status_code": sample.status_code,
        "latency_ms": sample.latency_ms,
        "error": sample.error,
        "prober": sample.prober,
    })
}
