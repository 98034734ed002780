//! Target configuration: create, list, read, replace, patch and delete.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use healthmon_domain::target::{CREDENTIAL_FIELDS, parse_spec, patched_document};
use healthmon_domain::{Check, Credential, HealthStatus, SshCheck, Target, TargetSpec, TcpCheck};
use healthmon_runtime::address_policy::vet_url;
use healthmon_store::{TargetFilter, TargetRecord, WriteOutcome};
use healthmon_wire::{TargetPage, TargetView};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params;
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{JsonBody, Query, Reader, TargetId, Writer};
use crate::resync::{Republished, republish};
use crate::state::AppState;
use crate::views;

/// Attempts at a read-modify-write before reporting a conflict to the client.
const WRITE_ATTEMPTS: usize = 5;
const RECENT_SAMPLES: u32 = 10;

pub fn routes(table: RouteTable) -> RouteTable {
    let one = "/api/v1/targets/{id}";
    table
        .route(Method::GET, "/api/v1/targets", Access::Reader, "List targets with their health", list)
        .route(Method::POST, "/api/v1/targets", Access::Admin, "Create a target", create)
        .route(Method::GET, one, Access::Reader, "A target with its health and 10 newest samples", read)
        .route(Method::PUT, one, Access::Admin, "Replace a target", replace)
        .route(Method::PATCH, one, Access::Admin, "Change some fields of a target", patch)
        .route(Method::DELETE, one, Access::Admin, "Delete a target (and its history unless kept)", remove)
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    status: Option<String>,
    tag: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    _: Reader,
    Query(query): Query<ListParams>,
) -> Result<Json<TargetPage>, ApiError> {
    let filter = TargetFilter {
        status: params::parsed::<HealthStatus>(
            "status",
            query.status.as_deref(),
            "one of unknown, healthy, unhealthy, stale, paused",
        )?,
        tag: query.tag,
        kind: query.kind,
        q: query.q,
        limit: params::limit(query.limit.as_deref())?,
        cursor: params::parsed("cursor", query.cursor.as_deref(), "a cursor from a previous page")?,
    };
    let page = state.store.list_targets(&filter).await?;
    Ok(Json(views::target_page(&page, &windows_now(&state).await?)))
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let spec = parse_spec(&body).map_err(ApiError::Validation)?;
    let target = create_target(&state, spec).await?;
    Ok(created(&target, views::new_target(&target, &windows_now(&state).await?)))
}

/// Every target of one kind, read page by page (the compatibility lists return everything).
pub async fn all_of_kind(state: &AppState, kind: &str) -> Result<Vec<TargetRecord>, ApiError> {
    let mut filter = TargetFilter { kind: Some(kind.into()), limit: params::MAX_LIMIT, ..TargetFilter::default() };
    let mut records = Vec::new();
    loop {
        let page = state.store.list_targets(&filter).await?;
        records.extend(page.items);
        match page.next_cursor.and_then(|cursor| cursor.parse().ok()) {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return Ok(records),
        }
    }
}

/// Republishes the store's view of every target (re-planning every prober), rebuilds the health
/// board from the store and relays anything pending; history stays.
pub async fn resync(state: &AppState) -> Result<Republished, ApiError> {
    let failed = |error: anyhow::Error| ApiError::Unavailable(format!("resync failed: {error:#}"));
    let republished = republish(state.store.as_ref(), state.bus.as_ref(), &state.source).await.map_err(failed)?;
    state.board.resync().await.map_err(failed)?;
    state.relay.kick();
    Ok(republished)
}

/// The maintenance windows, read once for a request that shows targets with their health.
pub async fn windows_now(state: &AppState) -> Result<views::WindowsNow, ApiError> {
    let windows = state.store.list_maintenance().await?;
    Ok(views::WindowsNow::new(&windows, healthmon_store::now()))
}

/// Refuses a target whose address the policy refuses (after resolving its name), as a 422.
async fn vet_addresses(state: &AppState, spec: &TargetSpec) -> Result<(), ApiError> {
    let (field, url) = match &spec.check {
        Check::Http(check) => ("url", check.url.clone()),
        Check::Ssh(SshCheck { host, port, .. }) | Check::Tcp(TcpCheck { host, port }) => {
            let host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
            ("host", format!("http://{host}:{port}/"))
        }
    };
    vet_url(&state.config.address_policy, &url).await.map_err(|reason| ApiError::invalid(field, reason))
}

/// Seals every plain credential with the probers' public key, bound to this target's id.
fn seal_credentials(state: &AppState, target: &mut Target) -> Result<(), ApiError> {
    let target_id = target.id;
    for credential in target.spec.check.credentials_mut() {
        if let Credential::Plain(plain) = credential {
            let key = state.config.sealing_key.as_ref().ok_or_else(|| {
                ApiError::Unavailable("this API instance has no sealing key, so it cannot store credentials".into())
            })?;
            let sealed = key.seal(plain.as_bytes(), target_id).map_err(anyhow::Error::from)?;
            *credential = Credential::Sealed(sealed.into_string());
        }
    }
    Ok(())
}

/// A full replacement that names no credential keeps the stored ones: they are write-only, so a
/// client that PUTs back what it read has none to send. (Only to the same destination: see
/// [`edit_target`].)
pub fn with_kept_credentials(body: &Value, current: &Target) -> Value {
    let mut document = body.clone();
    let stored = serde_json::to_value(&current.spec).unwrap_or(Value::Null);
    let names_a_credential = CREDENTIAL_FIELDS.iter().any(|(plain, _)| body.get(plain).is_some());
    if let (Some(object), false) = (document.as_object_mut(), names_a_credential) {
        for (_, field) in CREDENTIAL_FIELDS {
            if let Some(sealed) = stored.get(field) {
                object.entry(field).or_insert_with(|| sealed.clone());
            }
        }
    }
    document
}

pub async fn create_target(state: &AppState, spec: TargetSpec) -> Result<Target, ApiError> {
    vet_addresses(state, &spec).await?;
    let mut target = Target::create(spec, healthmon_store::now());
    seal_credentials(state, &mut target)?;
    state.store.create_target(&target, &state.source).await?;
    state.relay.kick();
    tracing::info!(target_id = %target.id, "target created");
    Ok(target)
}

pub fn created(target: &Target, body: impl Serialize) -> Response {
    let location = format!("/api/v1/targets/{}", target.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response()
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn read(State(state): State<AppState>, _: Reader, TargetId(id): TargetId) -> Result<Json<TargetView>, ApiError> {
    let record = state.store.get_target(id).await?.ok_or_else(ApiError::target_not_found)?;
    let recent = state
        .store
        .samples(&healthmon_store::SampleQuery {
            target_id: id,
            limit: RECENT_SAMPLES,
            kept_from_slot: state.raw_kept_from_slot(),
            ..Default::default()
        })
        .await?;
    let mut view = views::target(&record, &windows_now(&state).await?);
    view.recent_samples = Some(recent.items.iter().map(views::sample).collect());
    Ok(Json(view))
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn replace(
    State(state): State<AppState>,
    _: Writer,
    TargetId(id): TargetId,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<TargetView>, ApiError> {
    Ok(Json(
        edit_target(&state, id, |current| {
            parse_spec(&with_kept_credentials(&body, current)).map_err(ApiError::Validation)
        })
        .await?,
    ))
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn patch(
    State(state): State<AppState>,
    _: Writer,
    TargetId(id): TargetId,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<TargetView>, ApiError> {
    if !body.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object of the fields to change"));
    }
    Ok(Json(edit_target(&state, id, |current| merge(current, &body)).await?))
}

/// The current spec with a JSON merge patch applied, validated as a whole.
pub fn merge(current: &Target, patch: &Value) -> Result<TargetSpec, ApiError> {
    let document = patched_document(&current.spec, patch).map_err(anyhow::Error::from)?;
    parse_spec(&document).map_err(ApiError::Validation)
}

/// Read-modify-write with optimistic concurrency; retried when another writer got in between.
/// Every edit of a stored target passes here, so every one keeps the rule that a stored credential
/// goes to no new destination (a new host, port or user needs the credential sent again: 422).
pub async fn edit_target(
    state: &AppState,
    id: uuid::Uuid,
    next_spec: impl Fn(&Target) -> Result<TargetSpec, ApiError>,
) -> Result<TargetView, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let record = state.store.get_target(id).await?.ok_or_else(ApiError::target_not_found)?;
        let spec = next_spec(&record.target)?;
        let refused = record.target.spec.credentials_refused_in(&spec);
        if !refused.is_empty() {
            return Err(ApiError::Validation(refused));
        }
        vet_addresses(state, &spec).await?;
        let mut next = record.target.replaced(spec, healthmon_store::now());
        seal_credentials(state, &mut next)?;
        match state.store.update_target(&next, &state.source).await? {
            WriteOutcome::Done => {
                state.relay.kick();
                let stored = state.store.get_target(id).await?.ok_or_else(ApiError::target_not_found)?;
                return Ok(views::target(&stored, &windows_now(state).await?));
            }
            WriteOutcome::NotFound => return Err(ApiError::target_not_found()),
            WriteOutcome::Conflict => continue,
        }
    }
    Err(ApiError::Conflict("the target kept changing under concurrent writes; try again".into()))
}

#[derive(Debug, Deserialize)]
pub struct DeleteParams {
    keep_history: Option<String>,
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn remove(
    State(state): State<AppState>,
    _: Writer,
    TargetId(id): TargetId,
    Query(query): Query<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    let keep_history =
        params::parsed::<bool>("keep_history", query.keep_history.as_deref(), "true or false")?.unwrap_or(false);
    delete_target(&state, id, keep_history).await
}

pub async fn delete_target(state: &AppState, id: uuid::Uuid, keep_history: bool) -> Result<StatusCode, ApiError> {
    if state.store.delete_target(id, keep_history, &state.source).await? {
        state.relay.kick();
        tracing::info!(target_id = %id, keep_history, "target deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::target_not_found())
    }
}
