//! The schemas the document derives from the wire types against what those types really serialize
//! to (serde attributes utoipa reads differently, such as a skipped field, would show here).

use std::collections::BTreeSet;

use healthmon_domain::Target;
use healthmon_domain::target::parse_spec;
use serde_json::{Value, json};

use super::document;

fn schemas() -> Value {
    let text = document(&crate::table().into_parts().1).to_json().expect("the document serializes");
    let json: Value = serde_json::from_str(&text).expect("the document is JSON");
    json["components"]["schemas"].clone()
}

/// A schema's properties and required fields, through `$ref`s and `allOf` parts.
fn shape(schemas: &Value, schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        return shape(schemas, &schemas[name]);
    }
    let mut properties: BTreeSet<String> =
        schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    let mut required: BTreeSet<String> =
        schema["required"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_owned)).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (more, needed) = shape(schemas, part);
        properties.extend(more);
        required.extend(needed);
    }
    (properties, required)
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().expect("an object").keys().cloned().collect()
}

/// A target as stored (credentials sealed) and shown.
fn view_of(body: Value) -> Value {
    let spec = parse_spec(&body).expect("a valid target");
    serde_json::to_value(crate::views::new_target(
        &Target::create(spec, chrono::Utc::now()),
        &crate::views::WindowsNow::none(),
    ))
    .expect("a view serializes")
}

#[test]
fn target_views_show_exactly_what_their_schemas_describe() {
    let schemas = schemas();
    let (properties, required) = shape(&schemas, &schemas["TargetView"]);
    let (health_properties, health_required) = shape(&schemas, &schemas["HealthView"]);
    let targets = [
        json!({"name": "web", "kind": "http", "url": "http://127.0.0.1:9/", "headers": {"x-a": "b"}}),
        json!({"name": "files", "kind": "ssh", "host": "10.0.0.1", "username": "monitor", "password_sealed": "as-stored",
               "host_key_sha256": "SHA256:q8xWpN20y8klQWLy6UBbSHE6cfbZZwIamLkoH2xI0pA"}),
        json!({"name": "db", "kind": "tcp", "host": "10.0.0.2", "port": 5432}),
    ];
    for body in targets {
        let view = view_of(body);
        let shown = keys(&view);
        let undescribed: Vec<_> = shown.difference(&properties).collect();
        assert!(undescribed.is_empty(), "{} shows fields TargetView lacks: {undescribed:?}", view["kind"]);
        let missing: Vec<_> = required.difference(&shown).collect();
        assert!(missing.is_empty(), "{} lacks required fields: {missing:?}", view["kind"]);
        let health = keys(&view["health"]);
        assert_eq!(health, health_properties, "health");
        assert!(health_required.is_subset(&health));
    }
}

#[test]
fn target_bodies_describe_every_field_a_full_body_may_carry() {
    let schemas = schemas();
    let (body, _) = shape(&schemas, &schemas["TargetBody"]);
    let (patch, _) = shape(&schemas, &schemas["TargetPatch"]);
    for field in ["name", "kind", "url", "headers", "host", "port", "password", "private_key", "shell", "tags"] {
        assert!(body.contains(field), "TargetBody.{field}");
    }
    assert_eq!(patch.union(&["kind".to_owned()].into()).cloned().collect::<BTreeSet<_>>(), body);
}
