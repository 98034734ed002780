//! Notifiers: where notifications go. Create, list, read, replace, patch and delete; write-only
//! values are sealed for the notifier role before they are stored, and every destination is
//! judged by the target address policy. The test route is in `notifier_test`.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use healthmon_domain::Credential;
use healthmon_domain::alerting::NotifierSpec;
use healthmon_domain::alerting::notifier::{Destination, parse_notifier, parse_notifier_edit};
use healthmon_runtime::address_policy::vet_url;
use healthmon_store::alerting::{ConfigWrite, NotifierRecord};
use healthmon_wire::{NotifierList, NotifierView};
use serde_json::Value;
use uuid::Uuid;

use super::alerting::{created, not_found, patch_object, patched_view, path_id};
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, Reader, Writer};
use crate::state::AppState;
use crate::views::alerting as views;

pub const COLLECTION: &str = "/api/v1/notifiers";
pub const WHAT: &str = "notifier";

pub fn routes(table: RouteTable) -> RouteTable {
    let one = "/api/v1/notifiers/{id}";
    table
        .route(Method::GET, COLLECTION, Access::Reader, "List notifiers", list)
        .route(Method::POST, COLLECTION, Access::Admin, "Create a notifier", create)
        .route(Method::GET, one, Access::Reader, "A notifier", read)
        .route(Method::PUT, one, Access::Admin, "Replace a notifier", replace)
        .route(Method::PATCH, one, Access::Admin, "Change some fields of a notifier", patch)
        .route(Method::DELETE, one, Access::Admin, "Delete a notifier no alert rule names", remove)
}

#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>, _: Reader) -> Result<Json<NotifierList>, ApiError> {
    let records = state.store.list_notifiers().await?;
    Ok(Json(NotifierList { items: records.iter().map(views::notifier).collect() }))
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let spec = parse_notifier(&body).map_err(ApiError::Validation)?;
    let id = Uuid::now_v7();
    let spec = vetted_and_sealed(&state, id, spec).await?;
    let record = state.store.create_notifier(id, &spec).await?;
    tracing::info!(notifier_id = %id, kind = spec.kind().as_str(), "notifier created");
    Ok(created(COLLECTION, id, views::notifier(&record)))
}

pub async fn stored(state: &AppState, raw_id: &str) -> Result<NotifierRecord, ApiError> {
    let id = path_id(raw_id, WHAT)?;
    state.store.get_notifier(id).await?.ok_or_else(|| not_found(WHAT))
}

#[tracing::instrument(skip_all)]
async fn read(
    State(state): State<AppState>,
    _: Reader,
    PathParam(id): PathParam<String>,
) -> Result<Json<NotifierView>, ApiError> {
    Ok(Json(views::notifier(&stored(&state, &id).await?)))
}

#[tracing::instrument(skip_all)]
async fn replace(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<NotifierView>, ApiError> {
    let current = stored(&state, &id).await?;
    let spec = parse_notifier_edit(&body, &current.spec).map_err(ApiError::Validation)?;
    write(&state, &current, spec).await
}

#[tracing::instrument(skip_all)]
async fn patch(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<NotifierView>, ApiError> {
    patch_object(&body)?;
    let current = stored(&state, &id).await?;
    let document = patched_view(views::notifier(&current), &body)?;
    let keepable = without_removed_credentials(&current.spec, &body);
    let spec = parse_notifier_edit(&document, &keepable).map_err(ApiError::Validation)?;
    write(&state, &current, spec).await
}

/// Stores `spec`, an edit of `current` that carries over the write-only values it omits (only
/// while their destination is unchanged: `parse_notifier_edit` refuses the others).
async fn write(state: &AppState, current: &NotifierRecord, spec: NotifierSpec) -> Result<Json<NotifierView>, ApiError> {
    let spec = vetted_and_sealed(state, current.id, spec).await?;
    match state.store.update_notifier(current.id, &spec).await? {
        ConfigWrite::Done(record) => {
            tracing::info!(notifier_id = %current.id, "notifier updated");
            Ok(Json(views::notifier(&record)))
        }
        ConfigWrite::NotFound => Err(not_found(WHAT)),
        ConfigWrite::UnknownNotifiers(_) | ConfigWrite::InUse(_) => {
            Err(ApiError::Internal(anyhow::anyhow!("the store answered a notifier update with a rule's outcome")))
        }
    }
}

/// The stored spec without the optional write-only values a PATCH removes (`"secret": null`), so
/// that they are not carried over: the merge drops the null, and the merged view never shows
/// them, so their absence there cannot tell a removal from an omission.
fn without_removed_credentials(stored: &NotifierSpec, patch: &Value) -> NotifierSpec {
    let removes = |field: &str| patch.get(field).is_some_and(Value::is_null);
    let mut spec = stored.clone();
    match &mut spec.destination {
        Destination::Webhook(webhook) if removes("secret") => webhook.secret = None,
        Destination::Email(email) if removes("password") => email.password = None,
        Destination::Ntfy(ntfy) if removes("token") => ntfy.token = None,
        _ => {}
    }
    spec
}

/// Refuses a destination the address policy refuses (422 naming the field), then seals every
/// plain write-only value bound to the notifier's id.
async fn vetted_and_sealed(state: &AppState, id: Uuid, mut spec: NotifierSpec) -> Result<NotifierSpec, ApiError> {
    let policy = &state.config.address_policy;
    for (field, url) in spec.public_urls() {
        vet_url(policy, url).await.map_err(|reason| ApiError::invalid(field, reason))?;
    }
    match &spec.destination {
        Destination::Slack(chat) | Destination::Discord(chat) | Destination::Teams(chat) => {
            if let Credential::Plain(url) = &chat.webhook_url {
                // The URL is the secret: the refusal must not repeat it, nor its host.
                vet_url(policy, url).await.map_err(|_| {
                    ApiError::invalid("webhook_url", "leads to an address the target address policy refuses")
                })?;
            }
        }
        Destination::Email(email) => {
            let host =
                if email.smtp_host.contains(':') { format!("[{}]", email.smtp_host) } else { email.smtp_host.clone() };
            let url = format!("http://{host}:{}/", email.smtp_port);
            vet_url(policy, &url).await.map_err(|reason| ApiError::invalid("smtp_host", reason))?;
        }
        _ => {}
    }
    for (_, credential) in spec.credentials_mut() {
        if let Credential::Plain(plain) = credential {
            let key = state.config.sealing_key.as_ref().ok_or_else(|| {
                ApiError::Unavailable("this API instance has no sealing key, so it cannot store secrets".into())
            })?;
            let sealed = key.seal(plain.as_bytes(), id).map_err(anyhow::Error::from)?;
            *credential = Credential::Sealed(sealed.into_string());
        }
    }
    Ok(spec)
}

#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, WHAT)?;
    match state.store.delete_notifier(id).await? {
        ConfigWrite::Done(()) => {
            tracing::info!(notifier_id = %id, "notifier deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        ConfigWrite::NotFound => Err(not_found(WHAT)),
        ConfigWrite::InUse(rules) => {
            let rules: Vec<String> = rules.iter().map(Uuid::to_string).collect();
            Err(ApiError::Conflict(format!("alert rules still name this notifier: {}", rules.join(", "))))
        }
        ConfigWrite::UnknownNotifiers(_) => {
            Err(ApiError::Internal(anyhow::anyhow!("the store answered a notifier delete with a rule's outcome")))
        }
    }
}
