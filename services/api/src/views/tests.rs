//! The typed views against the JSON the API sent before they existed: each old view is kept here
//! as it was (a domain type serialized, then keys deleted and added), and for the same record the
//! typed view must serialize to the same JSON.

use chrono::{TimeZone, Utc};
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Check, HealthState, HealthStatus, Sample, Target};
use healthmon_store::{Page, TargetRecord, TransitionRecord};
use serde_json::{Value, json};
use uuid::Uuid;

/// The target view before the wire types: the stored target's JSON without `check_version`, an
/// SSH target's without the keys ending in `_sealed` and with `has_password`/`has_private_key`.
fn old_target(record: &TargetRecord) -> Value {
    let mut value = serde_json::to_value(&record.target).expect("a target serializes");
    let object = value.as_object_mut().expect("an object");
    object.remove("check_version");
    if let Check::Ssh(ssh) = &record.target.spec.check {
        object.retain(|key, _| !key.ends_with("_sealed"));
        object.insert("has_password".into(), json!(ssh.password.is_some()));
        object.insert("has_private_key".into(), json!(ssh.private_key.is_some()));
    }
    // Added with the status page: always shown, null and false when unset.
    object.insert("group".into(), json!(record.target.spec.group));
    object.insert("public".into(), json!(record.target.spec.public));
    let health = &record.health;
    object.insert(
        "health".into(),
        json!({
            "status": record.visible_status(),
            "since": health.since,
            "reason": health.reason,
            "consecutive_successes": health.consecutive_successes,
            "consecutive_failures": health.consecutive_failures,
            "last_sample_at": health.last_sample_at,
            // Added with maintenance windows (none here).
            "maintenance": false,
        }),
    );
    value
}

fn old_sample(sample: &Sample) -> Value {
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

fn json_of(view: impl serde::Serialize) -> Value {
    serde_json::to_value(view).expect("a view serializes")
}

fn record(body: Value, health: HealthState) -> TargetRecord {
    let spec = parse_spec(&body).expect("a valid target");
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("a time");
    TargetRecord { target: Target::create(spec, at), health }
}

fn records() -> Vec<TargetRecord> {
    let seen = Utc.with_ymd_and_hms(2026, 1, 2, 3, 5, 0).single().expect("a time");
    let unhealthy = HealthState {
        status: HealthStatus::Unhealthy,
        since: Some(seen),
        reason: Some("connection refused".into()),
        consecutive_successes: 0,
        consecutive_failures: 4,
        last_sample_at: Some(seen),
        last_slot: Some(7),
        check_version: 1,
    };
    let bodies = [
        json!({"name": "web", "kind": "http", "url": "http://127.0.0.1:9/"}),
        json!({"name": "web-full", "kind": "http", "url": "https://example.com/health", "method": "HEAD",
               "expected_status": "200-399,404", "headers": {"x-a": "b"}, "keepalive": true, "tags": ["a", "b"], "group": "Core", "public": true,
               "interval_s": 5, "timeout_s": 2, "healthy_threshold": 2, "unhealthy_threshold": 1}),
        json!({"name": "web-body", "kind": "http", "url": "http://127.0.0.1:9/", "body_contains": "ok", "enabled": false}),
        json!({"name": "files", "kind": "ssh", "host": "10.0.0.1", "username": "monitor", "password_sealed": "as-stored",
               "host_key_sha256": "SHA256:q8xWpN20y8klQWLy6UBbSHE6cfbZZwIamLkoH2xI0pA"}),
        json!({"name": "win", "kind": "ssh", "host": "10.0.0.3", "port": 2222, "username": "monitor",
               "private_key_sealed": "as-stored", "private_key_passphrase_sealed": "as-stored",
               "command": "Get-Date", "expect_output": "\\d+", "shell": "powershell", "trust_on_first_use": true}),
        json!({"name": "db", "kind": "tcp", "host": "10.0.0.2", "port": 5432}),
    ];
    bodies
        .into_iter()
        .flat_map(|body| [record(body.clone(), HealthState::new(1)), record(body, unhealthy.clone())])
        .collect()
}

#[test]
fn a_target_view_is_the_json_the_api_sent_before() {
    for record in records() {
        let old = old_target(&record);
        assert_eq!(json_of(super::target(&record, &super::WindowsNow::none())), old, "{}", record.target.spec.name);
        assert_eq!(
            json_of(super::new_target(&record.target, &super::WindowsNow::none())),
            old_target(&TargetRecord { target: record.target.clone(), health: HealthState::new(1) })
        );
    }
}

#[test]
fn no_target_view_carries_a_credential() {
    for record in records() {
        let text =
            serde_json::to_string(&super::target(&record, &super::WindowsNow::none())).expect("a view serializes");
        assert!(!text.contains("as-stored") && !text.contains("_sealed"), "{text}");
    }
}

#[test]
fn pages_samples_transitions_and_the_breakdown_are_the_json_the_api_sent_before() {
    let records = records();
    let page = Page { items: records.clone(), next_cursor: Some("42".into()) };
    let items: Vec<Value> = records.iter().map(old_target).collect();
    assert_eq!(
        json_of(super::target_page(&page, &super::WindowsNow::none())),
        json!({"items": items, "next_cursor": "42"})
    );

    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("a time");
    let sample = |success: bool| Sample {
        id: Uuid::now_v7(),
        target_id: Uuid::now_v7(),
        slot: 1,
        at,
        success,
        status_code: success.then_some(200),
        latency_ms: 12.5,
        error: (!success).then(|| "timed out".to_owned()),
        prober: "p1".into(),
        check_version: 1,
        pin_host_key: None,
    };
    let samples = Page { items: vec![sample(true), sample(false)], next_cursor: None };
    let items: Vec<Value> = samples.items.iter().map(old_sample).collect();
    assert_eq!(json_of(super::sample_page(&samples)), json!({"items": items, "next_cursor": null}));

    let transitions = Page {
        items: vec![TransitionRecord {
            seq: 3,
            target_id: Uuid::now_v7(),
            from: HealthStatus::Unknown,
            to: HealthStatus::Healthy,
            at,
            reason: "5 successes in a row".into(),
        }],
        next_cursor: Some("3".into()),
    };
    assert_eq!(
        json_of(super::transition_page(&transitions)),
        json!({"items": transitions.items, "next_cursor": transitions.next_cursor})
    );

    for record in &records {
        assert_eq!(
            json_of(super::target_health(record)),
            json!({
                "id": record.target.id,
                "name": record.target.spec.name,
                "status": record.visible_status(),
                "reason": record.health.reason,
                "since": record.health.since,
            })
        );
    }
}
