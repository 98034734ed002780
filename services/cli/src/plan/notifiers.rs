//! A notifier's comparable form: its non-secret fields with the server's defaults filled in,
//! and, for each write-only value the file gives, only whether it is set. The API never shows a
//! secret, so a file and a stored notifier agree when these agree; the secrets themselves are sent
//! on every create and update and never compared (nor printed).

use std::collections::BTreeSet;

use anyhow::{Context, anyhow, bail};
use healthmon_domain::alerting::notifier::PAGERDUTY_EVENTS_URL;
use healthmon_wire::NotifierView;
use serde_json::{Map, Value, json};

/// How a set secret is shown, in place of its value.
pub const SET: &str = "(set)";

/// Each kind's write-only fields, as a client writes them (a webhook's header values are
/// write-only too, but their names are not: `headers` compares the names).
fn secret_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "webhook" => &["secret"],
        "slack" | "discord" | "teams" => &["webhook_url"],
        "pagerduty" => &["routing_key"],
        "email" => &["password"],
        "ntfy" => &["token"],
        _ => &[],
    }
}

/// Whether the file's entry names a write-only value (so "unchanged" says they were not compared).
pub fn names_a_secret(entry: &Value) -> bool {
    let kind = entry["kind"].as_str().unwrap_or_default();
    let headers = entry.get("headers").and_then(Value::as_object).is_some_and(|headers| !headers.is_empty());
    headers || secret_fields(kind).iter().any(|field| entry.get(*field).is_some_and(|value| !value.is_null()))
}

fn text(entry: &Value, field: &str) -> anyhow::Result<Value> {
    match entry.get(field) {
        Some(Value::String(text)) => Ok(Value::String(text.clone())),
        Some(_) => bail!("{field} must be a string"),
        None => bail!("{field} is required"),
    }
}

fn or_default(entry: &Value, field: &str, default: Value) -> Value {
    entry.get(field).filter(|value| !value.is_null()).cloned().unwrap_or(default)
}

/// The file's entry in comparable form (`kind`, then that kind's fields).
pub fn desired(entry: &Value) -> anyhow::Result<Map<String, Value>> {
    let kind = entry["kind"].as_str().context("kind is required")?;
    let mut out = Map::new();
    out.insert("name".into(), text(entry, "name")?);
    out.insert("kind".into(), json!(kind));
    match kind {
        "webhook" => {
            out.insert("url".into(), text(entry, "url")?);
            let method = or_default(entry, "method", json!("POST"));
            out.insert("method".into(), json!(method.as_str().map(str::to_ascii_uppercase)));
            let headers: BTreeSet<String> = match entry.get("headers") {
                None | Some(Value::Null) => BTreeSet::new(),
                Some(Value::Object(headers)) => headers.keys().map(|name| name.to_ascii_lowercase()).collect(),
                Some(_) => bail!("headers must be a mapping of names to values"),
            };
            out.insert("headers".into(), json!(headers));
            out.insert("body".into(), or_default(entry, "body", Value::Null));
        }
        "slack" | "discord" | "teams" => {}
        "pagerduty" => {
            out.insert("url".into(), or_default(entry, "url", json!(PAGERDUTY_EVENTS_URL)));
        }
        "email" => {
            out.insert("smtp_host".into(), text(entry, "smtp_host")?);
            let tls = or_default(entry, "tls", json!("starttls"));
            let default_port = match tls.as_str() {
                Some("tls") => 465,
                Some("none") => 25,
                _ => 587,
            };
            out.insert("smtp_port".into(), or_default(entry, "smtp_port", json!(default_port)));
            out.insert("tls".into(), tls);
            out.insert("username".into(), or_default(entry, "username", Value::Null));
            out.insert("from".into(), text(entry, "from")?);
            out.insert("to".into(), or_default(entry, "to", json!([])));
        }
        "ntfy" => {
            out.insert("url".into(), text(entry, "url")?);
        }
        other => bail!("kind {other:?} is not one of webhook, slack, discord, teams, pagerduty, email, ntfy"),
    }
    for field in secret_fields(kind) {
        if entry.get(*field).is_some_and(|value| !value.is_null()) {
            out.insert((*field).into(), json!(SET));
        }
    }
    Ok(out)
}

/// A stored notifier in the same form. A secret the file does not name is left out: a
/// replacement keeps the stored one, so its presence is no difference.
pub fn stored(view: &NotifierView, desired: &Map<String, Value>) -> anyhow::Result<Map<String, Value>> {
    let kind = serde_json::to_value(view.kind)?;
    let kind = kind.as_str().ok_or_else(|| anyhow!("a notifier kind serialized as {kind}"))?.to_owned();
    let mut out = Map::new();
    out.insert("name".into(), json!(view.name));
    out.insert("kind".into(), json!(kind));
    let shown = |value: Option<Value>| value.unwrap_or(Value::Null);
    match kind.as_str() {
        "webhook" => {
            out.insert("url".into(), json!(view.url));
            out.insert("method".into(), shown(view.method.map(serde_json::to_value).transpose()?));
            let headers: BTreeSet<String> =
                view.headers.iter().flatten().map(|name| name.to_ascii_lowercase()).collect();
            out.insert("headers".into(), json!(headers));
            out.insert("body".into(), json!(view.body.clone().flatten()));
        }
        "pagerduty" | "ntfy" => {
            out.insert("url".into(), json!(view.url));
        }
        "email" => {
            out.insert("smtp_host".into(), json!(view.smtp_host));
            out.insert("smtp_port".into(), json!(view.smtp_port));
            out.insert("tls".into(), shown(view.tls.map(serde_json::to_value).transpose()?));
            out.insert("username".into(), json!(view.username.clone().flatten()));
            out.insert("from".into(), json!(view.from));
            out.insert("to".into(), json!(view.to));
        }
        _ => {}
    }
    let set = [
        ("secret", view.has_secret),
        ("webhook_url", view.has_webhook_url),
        ("routing_key", view.has_routing_key),
        ("password", view.has_password),
        ("token", view.has_token),
    ];
    for (field, has) in set {
        if desired.contains_key(field) && secret_fields(&kind).contains(&field) && has == Some(true) {
            out.insert(field.into(), json!(SET));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(fields: Value) -> NotifierView {
        let mut view = json!({"id": "0193b6a0-0000-7000-8000-000000000001", "created_at": "2026-01-01T00:00:00Z",
                              "updated_at": "2026-01-01T00:00:00Z"});
        for (key, value) in fields.as_object().expect("fields") {
            view[key] = value.clone();
        }
        serde_json::from_value(view).expect("a notifier view")
    }

    #[test]
    fn a_minimal_webhook_entry_compares_equal_to_its_stored_form() {
        // given a webhook entry with a secret and a header, and the notifier the server made of it
        let entry = json!({"name": "hook", "kind": "webhook", "url": "https://h/x", "secret": "s3cret",
                           "headers": {"X-Token": "t0ken"}});
        let stored_view = view(json!({"name": "hook", "kind": "webhook", "url": "https://h/x", "method": "POST",
                                      "headers": ["x-token"], "body": null, "has_secret": true}));
        // when both are made comparable
        let wanted = desired(&entry).expect("comparable");
        let have = stored(&stored_view, &wanted).expect("comparable");
        // then they agree, and no secret value is in either
        assert_eq!(wanted, have);
        let text = serde_json::to_string(&wanted).expect("JSON");
        assert!(!text.contains("s3cret") && !text.contains("t0ken"), "{text}");
    }

    #[test]
    fn a_secret_the_file_adds_is_a_difference_and_one_it_omits_is_not() {
        // given a stored webhook without a secret, and the same entry with one
        let stored_view = view(json!({"name": "hook", "kind": "webhook", "url": "https://h/x", "method": "POST",
                                      "headers": [], "body": null, "has_secret": false}));
        let with_secret = desired(&json!({"name": "hook", "kind": "webhook", "url": "https://h/x", "secret": "s"}))
            .expect("comparable");
        // then the secret's presence differs
        assert_ne!(with_secret, stored(&stored_view, &with_secret).expect("comparable"));
        // given a stored one with a secret and an entry without (a replacement keeps it)
        let kept = view(json!({"name": "hook", "kind": "webhook", "url": "https://h/x", "method": "POST",
                               "headers": [], "body": null, "has_secret": true}));
        let without = desired(&json!({"name": "hook", "kind": "webhook", "url": "https://h/x"})).expect("comparable");
        // then they agree
        assert_eq!(without, stored(&kept, &without).expect("comparable"));
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        // given an email entry with only what is required, and a pagerduty one without a URL
        let email = desired(&json!({"name": "m", "kind": "email", "smtp_host": "smtp", "tls": "tls",
                                    "from": "a@b.c", "to": ["d@e.f"]}))
        .expect("comparable");
        let pager = desired(&json!({"name": "p", "kind": "pagerduty", "routing_key": "k"})).expect("comparable");
        // then the port follows the TLS mode and the URL is the Events API's
        assert_eq!((email["smtp_port"].clone(), email["username"].clone()), (json!(465), Value::Null));
        assert_eq!(pager["url"], json!(PAGERDUTY_EVENTS_URL));
        assert_eq!(pager["routing_key"], json!(SET));
    }

    #[test]
    fn an_unknown_kind_is_named() {
        let error = desired(&json!({"name": "x", "kind": "pigeon"})).expect_err("unknown");
        assert!(error.to_string().contains("\"pigeon\""), "{error}");
    }
}
