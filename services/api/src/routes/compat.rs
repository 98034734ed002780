//! Compatibility with the predecessor systems' clients: the `/webservers` family and `/IsHealthy`.
//! `canonical_case` also serves the HealthChecker routes of `legacy`.
//! Their paths are matched case-insensitively, as the originals did.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Check, Target};
use healthmon_store::{SampleQuery, TargetRecord};
use healthmon_wire::compat::{WebserverDetail, WebserverRequest, WebserverSummary};
use serde_json::{Value, json};

use super::table::{Access, RouteTable};
use super::targets::{all_of_kind, create_target, created, delete_target, edit_target, merge};
use crate::error::ApiError;
use crate::extract::{JsonBody, Reader, TargetId, Writer};
use crate::state::AppState;
use crate::views::compat as views;

const RECENT_REQUESTS: u32 = 10;
const PAGE: u32 = 1000;

pub fn routes(table: RouteTable) -> RouteTable {
    let one = "/webservers/{id}";
    table
        .route(Method::GET, "/webservers", Access::Reader, "List web servers (HTTP targets) with their status", list)
        .route(Method::POST, "/webservers", Access::Admin, "Add a web server {name, url}", create)
        .route(Method::GET, one, Access::Reader, "A web server with its 10 newest requests", read)
        .route(Method::PUT, one, Access::Admin, "Change a web server's name and url", replace)
        .route(Method::DELETE, one, Access::Admin, "Delete a web server", remove)
        .route(Method::GET, "/webservers/{id}/requests", Access::Reader, "A web server's whole history", requests)
        // Served beside /healthz, outside request tracing: its 503 is an answer, not a failure.
        .document(Method::GET, "/IsHealthy", Access::HealthCheck, "Same answer as /healthz")
}

/// Rewrites a compatibility path written in any letter case to the case the router knows.
pub fn canonical_case(mut request: Request) -> Request {
    let path = request.uri().path();
    let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    let Some(first) = segments.get(1).map(|s| s.to_ascii_lowercase()) else { return request };
    let canonical = match first.as_str() {
        "webservers" => "webservers",
        "ishealthy" => "IsHealthy",
        "login" => "Login",
        "resourcestate" => "ResourceState",
        "reset" => "Reset",
        "routes" => "Routes",
        "resource" => "Resource",
        _ => return request,
    };
    segments[1] = canonical.to_owned();
    if canonical == "webservers" && segments.get(3).is_some_and(|s| s.eq_ignore_ascii_case("requests")) {
        segments[3] = "requests".to_owned();
    }
    let rewritten = segments.join("/");
    if rewritten != path {
        let with_query = match request.uri().query() {
            Some(query) => format!("{rewritten}?{query}"),
            None => rewritten,
        };
        if let Ok(uri) = with_query.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

async fn list(State(state): State<AppState>, _: Reader) -> Result<Json<Vec<WebserverSummary>>, ApiError> {
    Ok(Json(all_of_kind(&state, "http").await?.iter().filter_map(views::webserver).collect()))
}

fn webserver_document(body: &Value) -> Result<Value, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("body", "must be a JSON object with name and url"));
    };
    let mut document = json!({ "kind": "http" });
    for field in ["name", "url"] {
        if let Some(value) = object.get(field) {
            document[field] = value.clone();
        }
    }
    Ok(document)
}

async fn create(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let spec = parse_spec(&webserver_document(&body)?).map_err(ApiError::Validation)?;
    let target = create_target(&state, spec).await?;
    let url = match &target.spec.check {
        Check::Http(check) => check.url.clone(),
        _ => String::new(),
    };
    Ok(created(&target, WebserverSummary { id: target.id, name: target.spec.name.clone(), url, status: None }))
}

/// The web server with this id: the family sees HTTP targets only, so any other kind is a 404 to
/// it, as an absent id is (reading, changing and deleting alike).
async fn web_server(state: &AppState, id: uuid::Uuid) -> Result<TargetRecord, ApiError> {
    let record = state.store.get_target(id).await?.ok_or_else(no_web_server)?;
    if is_web_server(&record.target) { Ok(record) } else { Err(no_web_server()) }
}

fn is_web_server(target: &Target) -> bool {
    matches!(target.spec.check, Check::Http(_))
}

fn no_web_server() -> ApiError {
    ApiError::NotFound("no web server with that id".into())
}

async fn read(
    State(state): State<AppState>,
    _: Reader,
    TargetId(id): TargetId,
) -> Result<Json<WebserverDetail>, ApiError> {
    let record = web_server(&state, id).await?;
    let query = SampleQuery { target_id: id, limit: RECENT_REQUESTS, ..Default::default() };
    let recent = state.store.samples(&query).await?;
    let summary = views::webserver(&record).ok_or_else(no_web_server)?;
    Ok(Json(WebserverDetail { summary, requests: recent.items.iter().map(views::webserver_request).collect() }))
}

async fn replace(
    State(state): State<AppState>,
    _: Writer,
    TargetId(id): TargetId,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<WebserverSummary>, ApiError> {
    let mut patch = webserver_document(&body)?;
    if let Some(object) = patch.as_object_mut() {
        object.remove("kind");
    }
    // Checked on the very revision the edit replaces, so a target of another kind is never renamed.
    edit_target(
        &state,
        id,
        |current| if is_web_server(current) { merge(current, &patch) } else { Err(no_web_server()) },
    )
    .await?;
    let record = web_server(&state, id).await?;
    Ok(Json(views::webserver(&record).ok_or_else(no_web_server)?))
}

async fn remove(State(state): State<AppState>, _: Writer, TargetId(id): TargetId) -> Result<StatusCode, ApiError> {
    web_server(&state, id).await?;
    delete_target(&state, id, false).await
}

/// The whole history, newest first.
async fn requests(
    State(state): State<AppState>,
    _: Reader,
    TargetId(id): TargetId,
) -> Result<Json<Vec<WebserverRequest>>, ApiError> {
    web_server(&state, id).await?;
    let mut query = SampleQuery { target_id: id, limit: PAGE, ..Default::default() };
    let mut items = Vec::new();
    loop {
        let page = state.store.samples(&query).await?;
        items.extend(page.items.iter().map(views::webserver_request));
        match page.next_cursor.and_then(|cursor| cursor.parse().ok()) {
            Some(cursor) => query.before_slot = Some(cursor),
            None => break,
        }
    }
    Ok(Json(items))
}
