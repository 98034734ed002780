//! The predecessors' typed views against the JSON values the routes built before them, kept here
//! as they were: for the same record, the same JSON.

use chrono::{TimeZone, Utc};
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Check, HealthState, HealthStatus, Sample, Shell, Target};
use healthmon_store::TargetRecord;
use serde_json::{Value, json};
use uuid::Uuid;

fn old_summary(record: &TargetRecord) -> Option<Value> {
    let Check::Http(check) = &record.target.spec.check else { return None };
    let status = match record.visible_status() {
        HealthStatus::Healthy => json!("Healthy"),
        HealthStatus::Unhealthy => json!("Unhealthy"),
        _ => Value::Null,
    };
    Some(json!({"id": record.target.id, "name": record.target.spec.name, "url": check.url, "status": status}))
}

fn old_resource(record: &TargetRecord) -> Option<Value> {
    let Check::Ssh(ssh) = &record.target.spec.check else { return None };
    Some(json!({
        "id": record.target.id,
        "hostname": ssh.host,
        "port": ssh.port,
        "username": ssh.username,
        "os": if ssh.shell == Shell::Powershell { "windows" } else { "linux" },
        "state": record.visible_status(),
        "reason": record.health.reason,
        "has_password": ssh.password.is_some(),
        "has_private_key": ssh.private_key.is_some(),
        "host_key_sha256": ssh.host_key_sha256,
    }))
}

fn old_resource_state(record: &TargetRecord) -> Value {
    let status = record.visible_status();
    let word = match status {
        HealthStatus::Healthy => "Healthy",
        HealthStatus::Unhealthy => "Unhealthy",
        HealthStatus::Unknown => "Unknown",
        HealthStatus::Stale => "Stale",
        HealthStatus::Paused => "Paused",
    };
    let down = matches!(status, HealthStatus::Unhealthy | HealthStatus::Stale);
    json!({
        "id": record.target.id,
        "name": record.target.spec.name,
        "kind": record.target.kind(),
        "state": word,
        "reason": if down { record.health.reason.clone() } else { None },
        "since": record.health.since,
    })
}

fn json_of(view: impl serde::Serialize) -> Value {
    serde_json::to_value(view).expect("a view serializes")
}

fn records() -> Vec<TargetRecord> {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("a time");
    let bodies = [
        json!({"name": "web", "kind": "http", "url": "http://127.0.0.1:9/"}),
        json!({"name": "web-off", "kind": "http", "url": "http://127.0.0.1:9/", "enabled": false}),
        json!({"name": "10.0.0.1", "kind": "ssh", "host": "10.0.0.1", "username": "monitor", "password_sealed": "as-stored",
               "host_key_sha256": "SHA256:q8xWpN20y8klQWLy6UBbSHE6cfbZZwIamLkoH2xI0pA"}),
        json!({"name": "win", "kind": "ssh", "host": "10.0.0.3", "port": 2222, "username": "monitor",
               "private_key_sealed": "as-stored", "shell": "powershell"}),
        json!({"name": "db", "kind": "tcp", "host": "10.0.0.2", "port": 5432}),
    ];
    let statuses = [HealthStatus::Unknown, HealthStatus::Healthy, HealthStatus::Unhealthy, HealthStatus::Stale];
    bodies
        .iter()
        .flat_map(|body| {
            let target = Target::create(parse_spec(body).expect("a valid target"), at);
            statuses.map(|status| TargetRecord {
                target: target.clone(),
                health: HealthState {
                    status,
                    since: Some(at),
                    reason: Some("why".into()),
                    consecutive_failures: 2,
                    ..HealthState::new(1)
                },
            })
        })
        .collect()
}

#[test]
fn compatibility_views_are_the_json_the_routes_sent_before() {
    for record in records() {
        assert_eq!(super::webserver(&record).map(json_of), old_summary(&record));
        assert_eq!(super::resource(&record).map(json_of), old_resource(&record));
        assert_eq!(json_of(super::resource_state(&record)), old_resource_state(&record));
    }
    let sample = Sample {
        id: Uuid::now_v7(),
        target_id: Uuid::now_v7(),
        slot: 1,
        at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("a time"),
        success: false,
        status_code: Some(503),
        latency_ms: 1250.0,
        error: Some("status 503".into()),
        prober: "p1".into(),
        check_version: 1,
        pin_host_key: None,
    };
    assert_eq!(
        json_of(super::webserver_request(&sample)),
        json!({"status_code": 503, "latency": 1.25, "timestamp": sample.at, "success": false})
    );
}
