use serde_json::json;

use super::*;
use crate::target::Target;

fn minimal() -> serde_json::Value {
    json!({"name": "orders-api", "kind": "http", "url": "http://127.0.0.1:8000/health"})
}

#[test]
fn given_a_minimal_http_target_when_parsed_then_defaults_apply() {
    let spec = parse_spec(&minimal()).unwrap();
    assert_eq!(spec.interval_s, 60);
    assert_eq!(spec.timeout_s, 60);
    assert_eq!((spec.healthy_threshold, spec.unhealthy_threshold), (5, 3));
    assert!(spec.enabled);
    let Check::Http(http) = spec.check else { panic!("an http check") };
    assert_eq!(http.method, HttpMethod::Get);
    assert_eq!(http.expected_status.as_str(), "2xx");
    assert!(!http.keepalive);
}

#[test]
fn given_many_bad_fields_when_parsed_then_each_is_named() {
    let errors = parse_spec(&json!({
        "name": "", "kind": "http", "url": "ftp://x", "interval_s": 0, "timeout_s": 301,
        "healthy_threshold": 101, "unhealthy_threshold": "3", "expected_status": "abc",
        "method": "POST", "tags": [""], "enabled": "yes", "headers": {"bad header": "x"},
        "surprise": 1
    }))
    .unwrap_err();
    for field in [
        "name",
        "url",
        "interval_s",
        "timeout_s",
        "healthy_threshold",
        "unhealthy_threshold",
        "expected_status",
        "method",
        "tags",
        "enabled",
        "headers.bad header",
        "surprise",
    ] {
        assert!(errors.fields().contains_key(field), "{field} missing from {errors}");
    }
}

#[test]
fn given_no_kind_or_an_unknown_kind_when_parsed_then_kind_is_reported() {
    let missing = parse_spec(&json!({"name": "x", "url": "http://a"})).unwrap_err();
    assert_eq!(missing.fields()["kind"], "is required");
    let unknown = parse_spec(&json!({"name": "x", "kind": "smtp"})).unwrap_err();
    assert!(unknown.fields()["kind"].contains("not a supported kind"));
}

#[test]
fn given_a_non_object_body_when_parsed_then_it_is_refused() {
    assert!(parse_spec(&json!([1, 2])).unwrap_err().fields().contains_key("body"));
}

#[test]
fn given_credentials_in_a_url_when_parsed_then_they_are_refused() {
    let mut doc = minimal();
    doc["url"] = json!("http://user:pw@example.com/");
    assert!(parse_spec(&doc).unwrap_err().fields().contains_key("url"));
}

#[test]
fn given_body_contains_with_head_when_parsed_then_it_is_refused() {
    let mut doc = minimal();
    doc["method"] = json!("head");
    doc["body_contains"] = json!("ok");
    assert!(parse_spec(&doc).unwrap_err().fields().contains_key("body_contains"));
}

#[test]
fn given_read_only_fields_echoed_back_when_parsed_then_they_are_ignored() {
    let mut doc = minimal();
    doc["id"] = json!("00000000-0000-0000-0000-000000000000");
    doc["health"] = json!({"status": "healthy"});
    assert!(parse_spec(&doc).is_ok());
}

#[test]
fn given_a_merge_patch_when_applied_then_only_named_fields_change() {
    let mut doc = minimal();
    doc["tags"] = json!(["a"]);
    apply_merge_patch(&mut doc, &json!({"name": "renamed", "tags": null}));
    assert_eq!(doc["name"], "renamed");
    assert!(doc.get("tags").is_none());
    assert_eq!(doc["url"], "http://127.0.0.1:8000/health");
}

#[test]
fn given_a_url_edit_when_replaced_then_the_check_version_moves_but_a_rename_does_not() {
    let now = chrono::Utc::now();
    let target = Target::create(parse_spec(&minimal()).unwrap(), now);
    let mut renamed = target.spec.clone();
    renamed.name = "other".into();
    renamed.interval_s = 5;
    let after_rename = target.replaced(renamed, now);
    assert_eq!(after_rename.check_version, target.check_version);
    assert_eq!(after_rename.revision, target.revision + 1);

    let mut moved = minimal();
    moved["url"] = json!("http://127.0.0.1:9000/");
    let after_move = after_rename.replaced(parse_spec(&moved).unwrap(), now);
    assert_eq!(after_move.check_version, target.check_version + 1);
}

#[test]
fn a_target_serializes_flat_with_its_kind() {
    let target = Target::create(parse_spec(&minimal()).unwrap(), chrono::Utc::now());
    let value = serde_json::to_value(&target).unwrap();
    assert_eq!(value["kind"], "http");
    assert_eq!(value["url"], "http://127.0.0.1:8000/health");
    let back: Target = serde_json::from_value(value).unwrap();
    assert_eq!(back, target);
}
