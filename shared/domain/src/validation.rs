//! Field-by-field validation errors, so a client learns about every bad field in one round trip.

use std::collections::BTreeMap;
use std::fmt;

/// Messages keyed by the (dotted) name of the field they concern.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ValidationErrors(BTreeMap<String, String>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records the first problem found for a field; later ones for the same field add nothing.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// The string field `field` of a client object: absent or null is `None`; any other type is
/// recorded in `errors`. Shared by every document parser, so each reads its fields alike.
pub(crate) fn optional_str(
    object: &serde_json::Map<String, serde_json::Value>,
    errors: &mut ValidationErrors,
    field: &str,
) -> Option<String> {
    match object.get(field) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text.clone()),
        Some(_) => {
            errors.add(field, "must be a string");
            None
        }
    }
}

/// The boolean field `field` of a client object: absent or null is `default`; any other type is
/// recorded in `errors` (and `default` taken).
pub(crate) fn flag(
    object: &serde_json::Map<String, serde_json::Value>,
    errors: &mut ValidationErrors,
    field: &str,
    default: bool,
) -> bool {
    match object.get(field) {
        None | Some(serde_json::Value::Null) => default,
        Some(serde_json::Value::Bool(flag)) => *flag,
        Some(_) => {
            errors.add(field, "must be true or false");
            default
        }
    }
}

/// At most this many NULs are reported: enough to find them, not a reply larger than the request.
const MAX_NULS_REPORTED: usize = 20;

/// Every string of a client's JSON document (values and field names alike) that holds a NUL
/// (U+0000), keyed by its dotted path (`headers.X-Api-Key`, `tags.0`; `body` for the document
/// itself). No store takes NUL in text: PostgreSQL refuses it and SQLite cuts the text there.
pub fn nul_characters(document: &serde_json::Value) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    find_nuls(document, None, &mut errors);
    errors
}

fn find_nuls(value: &serde_json::Value, path: Option<&str>, errors: &mut ValidationErrors) {
    use serde_json::Value;
    let inside = |step: &str| match path {
        Some(path) => format!("{path}.{}", step.replace('\0', "\\0")),
        None => step.replace('\0', "\\0"),
    };
    if errors.0.len() >= MAX_NULS_REPORTED {
        return;
    }
    match value {
        Value::String(text) if text.contains('\0') => {
            errors.add(path.unwrap_or("body"), "must not contain the NUL character (U+0000)");
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                find_nuls(item, Some(&inside(&index.to_string())), errors);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let field = inside(name);
                if name.contains('\0') {
                    errors.add(field.clone(), "field names must not contain the NUL character (U+0000)");
                }
                find_nuls(item, Some(&field), errors);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn given_nul_in_values_or_names_anywhere_then_each_is_reported_by_its_path() {
        let document = json!({
            "name": "ok", "body_contains": "a\u{0}b", "tags": ["x", "\u{0}"],
            "headers": {"X-Key": "v\u{0}"}, "bad\u{0}name": 1,
        });
        let found = nul_characters(&document);
        let paths: Vec<&str> = found.fields().keys().map(String::as_str).collect();
        assert_eq!(paths, ["bad\\0name", "body_contains", "headers.X-Key", "tags.1"]);
        assert_eq!(nul_characters(&json!("\u{0}")).fields().keys().next().map(String::as_str), Some("body"));
    }

    #[test]
    fn given_no_nul_then_nothing_is_reported_and_a_flood_is_reported_only_in_part() {
        assert!(nul_characters(&json!({"a": ["b", {"c": "d\te\n"}], "n": 1})).is_empty());
        let flood: Vec<String> = (0..1000).map(|_| "\u{0}".to_owned()).collect();
        assert_eq!(nul_characters(&json!(flood)).fields().len(), MAX_NULS_REPORTED);
    }
}
