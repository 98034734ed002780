//! What the alerting routes (notifiers, alert rules, maintenance windows) share: ids from the
//! path, the 201 of a create, and the document a PATCH gives (the stored client view with an RFC
//! 7396 merge patch applied, validated as a whole like a full body).

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use healthmon_domain::target::apply_merge_patch;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// Fields of a view a client may echo back that no body writes.
const READ_ONLY_FIELDS: [&str; 5] = ["id", "created_at", "updated_at", "active", "active_until"];

/// An id from the path; anything that is not a UUID names nothing (`what`: "no notifier …").
pub fn path_id(raw: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| not_found(what))
}

pub fn not_found(what: &'static str) -> ApiError {
    ApiError::NotFound(format!("no {what} with that id"))
}

/// A PATCH body must be an object of the fields to change.
pub fn patch_object(patch: &Value) -> Result<(), ApiError> {
    if patch.is_object() {
        Ok(())
    } else {
        Err(ApiError::invalid("body", "must be a JSON object of the fields to change"))
    }
}

/// The stored view without its read-only fields, with `patch` merged in.
pub fn patched_view(view: impl Serialize, patch: &Value) -> Result<Value, ApiError> {
    let mut document = serde_json::to_value(view).map_err(anyhow::Error::from)?;
    if let Some(object) = document.as_object_mut() {
        for field in READ_ONLY_FIELDS {
            object.remove(field);
        }
    }
    apply_merge_patch(&mut document, patch);
    Ok(document)
}

/// 201 with `Location: <collection>/<id>` and the created thing's view.
pub fn created(collection: &str, id: Uuid, body: impl Serialize) -> Response {
    (StatusCode::CREATED, [(header::LOCATION, format!("{collection}/{id}"))], Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_patch_merges_into_the_view_without_its_read_only_fields() {
        let view = json!({"id": "x", "name": "a", "created_at": "t", "active": true, "selector": {"tags": ["a"]}});
        let patched = patched_view(view, &json!({"name": "b", "selector": {"tags": null}})).expect("merged");
        assert_eq!(patched, json!({"name": "b", "selector": {}}));
    }

    #[test]
    fn an_id_that_is_not_a_uuid_names_nothing() {
        assert!(matches!(path_id("not-a-uuid", "notifier"), Err(ApiError::NotFound(_))));
        assert!(path_id("0193b6a0-0000-7000-8000-000000000001", "notifier").is_ok());
    }
}
