//! Plain-text tables for notifiers, alert rules and deliveries, and a notifier test's outcome.
//! Nothing a notifier keeps secret is shown: not even a URL's path or query, which may carry a
//! token; only the host it sends to.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use healthmon_wire::{
    AlertRuleView, DeliveryEvent, DeliveryState, DeliveryView, NotifierTestResult, NotifierView, TargetView,
};
use uuid::Uuid;

use crate::render::table;

/// Where a notifier sends, as far as it can be told without a secret: the host (and port) of its
/// URL or SMTP server; `-` for the chat kinds, whose URL is itself the secret.
pub fn destination(notifier: &NotifierView) -> String {
    if let Some(host) = &notifier.smtp_host {
        return match notifier.smtp_port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
    }
    let Some(url) = &notifier.url else {
        return if notifier.has_webhook_url == Some(true) { "(webhook URL set)".to_owned() } else { "-".to_owned() };
    };
    match reqwest::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => "-".to_owned(),
        },
        Err(_) => "-".to_owned(),
    }
}

fn kind(notifier: &NotifierView) -> String {
    serde_json::to_value(notifier.kind).ok().and_then(|kind| kind.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn notifiers(notifiers: &[NotifierView]) -> String {
    let rows: Vec<Vec<String>> = notifiers
        .iter()
        .map(|notifier| vec![notifier.name.clone(), kind(notifier), destination(notifier), notifier.id.to_string()])
        .collect();
    table(&["NAME", "KIND", "DESTINATION", "ID"], &rows)
}

/// Names by id, for showing what a rule refers to; an unknown id is shown as itself.
fn names<'a>(pairs: impl Iterator<Item = (Uuid, &'a str)>) -> BTreeMap<Uuid, &'a str> {
    pairs.collect()
}

fn named(ids: &[Uuid], names: &BTreeMap<Uuid, &str>) -> Vec<String> {
    ids.iter().map(|id| names.get(id).map_or_else(|| id.to_string(), |name| (*name).to_owned())).collect()
}

pub fn alerts(alerts: &[AlertRuleView], notifiers: &[NotifierView], targets: &[TargetView]) -> String {
    let notifier_names = names(notifiers.iter().map(|notifier| (notifier.id, notifier.name.as_str())));
    let target_names = names(targets.iter().map(|target| (target.id, target.name.as_str())));
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|alert| {
            let mut selector = Vec::new();
            if !alert.selector.tags.is_empty() {
                selector.push(format!("tags {}", alert.selector.tags.join(",")));
            }
            if !alert.selector.targets.is_empty() {
                selector.push(format!("targets {}", named(&alert.selector.targets, &target_names).join(",")));
            }
            vec![
                alert.name.clone(),
                named(&alert.notifiers, &notifier_names).join(","),
                if selector.is_empty() { "every target".to_owned() } else { selector.join("; ") },
                format!("{}s", alert.trigger_after_s),
                if alert.enabled { "yes" } else { "no" }.to_owned(),
                alert.id.to_string(),
            ]
        })
        .collect();
    table(&["NAME", "NOTIFIERS", "SELECTOR", "AFTER", "ENABLED", "ID"], &rows)
}

fn event(event: DeliveryEvent) -> &'static str {
    match event {
        DeliveryEvent::Triggered => "triggered",
        DeliveryEvent::Resolved => "resolved",
        DeliveryEvent::Reminder => "reminder",
        DeliveryEvent::Test => "test",
    }
}

fn state(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
        DeliveryState::Suppressed => "suppressed",
    }
}

pub fn deliveries(deliveries: &[DeliveryView], notifiers: &[NotifierView], alerts: &[AlertRuleView]) -> String {
    let notifier_names = names(notifiers.iter().map(|notifier| (notifier.id, notifier.name.as_str())));
    let alert_names = names(alerts.iter().map(|alert| (alert.id, alert.name.as_str())));
    let dash = || "-".to_owned();
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|delivery| {
            vec![
                delivery.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                event(delivery.event).to_owned(),
                state(delivery.status).to_owned(),
                delivery.attempts.to_string(),
                delivery.last_status_code.map_or_else(dash, |code| code.to_string()),
                delivery.alert_id.map_or_else(dash, |id| named(&[id], &alert_names).concat()),
                named(&[delivery.notifier_id], &notifier_names).concat(),
                delivery.target_id.map_or_else(dash, |id| id.to_string()),
                delivery.last_error.clone().unwrap_or_else(dash),
            ]
        })
        .collect();
    table(&["CREATED", "EVENT", "STATUS", "ATTEMPTS", "CODE", "ALERT", "NOTIFIER", "TARGET", "ERROR"], &rows)
}

pub fn test_result(name: &str, result: &NotifierTestResult) -> String {
    let code = result.status_code.map(|code| format!(" (HTTP {code})")).unwrap_or_default();
    if result.delivered {
        format!("{name}: delivered{code} in {} ms", result.latency_ms)
    } else {
        let error = result.error.as_deref().unwrap_or("no reason given");
        format!("{name}: not delivered{code} after {} ms: {error}", result.latency_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notifier(fields: serde_json::Value) -> NotifierView {
        let mut view = json!({"id": "0193b6a0-0000-7000-8000-000000000001", "created_at": "2026-01-01T00:00:00Z",
                              "updated_at": "2026-01-01T00:00:00Z"});
        for (key, value) in fields.as_object().expect("fields") {
            view[key] = value.clone();
        }
        serde_json::from_value(view).expect("a notifier view")
    }

    #[test]
    fn a_destination_is_only_the_host_never_a_path_query_or_user() {
        // given a webhook whose URL carries a user, a path and a token in its query
        let hook = notifier(json!({"name": "hook", "kind": "webhook",
                                   "url": "https://user:pw@hooks.example.com:8443/t/abc?token=s3cret"}));
        // when its destination is shown, then only the host and port are
        assert_eq!(destination(&hook), "hooks.example.com:8443");
        // given a Slack notifier (its URL is the secret) and an email one
        let slack = notifier(json!({"name": "chat", "kind": "slack", "has_webhook_url": true}));
        let email = notifier(json!({"name": "mail", "kind": "email", "smtp_host": "smtp.example.com",
                                    "smtp_port": 587, "tls": "starttls", "from": "a@b.c", "to": ["d@e.f"]}));
        // then neither shows anything secret
        assert_eq!(destination(&slack), "(webhook URL set)");
        assert_eq!(destination(&email), "smtp.example.com:587");
        let out = notifiers(&[hook, slack]);
        assert!(out.starts_with("NAME  KIND     DESTINATION"), "{out}");
        assert!(!out.contains("s3cret") && !out.contains("pw@"), "{out}");
    }

    #[test]
    fn a_test_outcome_says_whether_it_was_delivered() {
        // given a delivered and a failed test, when shown, then each says so with its code and time
        let good = NotifierTestResult { delivered: true, status_code: Some(200), error: None, latency_ms: 12 };
        assert_eq!(test_result("hook", &good), "hook: delivered (HTTP 200) in 12 ms");
        let bad = NotifierTestResult {
            delivered: false,
            status_code: None,
            error: Some("connection refused".into()),
            latency_ms: 3,
        };
        assert_eq!(test_result("hook", &bad), "hook: not delivered after 3 ms: connection refused");
    }
}
