//! The HealthChecker predecessor's `/Resource` family, mapped onto SSH targets named after their
//! host (at most one per host: the store refuses a second). Unlike the original, an unpinned host
//! key is never accepted silently: pin it with `host_key_sha256`, or opt into `trust_on_first_use`.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Check, TargetSpec};
use healthmon_store::TargetRecord;
use healthmon_wire::compat::ResourceView;
use serde_json::{Map, Value, json};

use super::table::{Access, RouteTable};
use super::targets::{all_of_kind, create_target, created, delete_target, edit_target, merge, with_kept_credentials};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, Reader, Writer};
use crate::state::AppState;
use crate::views::compat as views;

/// Fields of the original's resource documents, mapped to target fields.
const RENAMED: &[(&str, &str)] = &[("hostname", "host"), ("user", "username")];

pub fn routes(table: RouteTable) -> RouteTable {
    let one = "/Resource/{hostname}";
    table
        .route(Method::GET, "/Resource", Access::Reader, "List SSH resources with their state", list)
        .route(
            Method::POST,
            "/Resource",
            Access::Admin,
            "Add an SSH resource {hostname, username, password|private_key}",
            create,
        )
        .route(Method::GET, one, Access::Reader, "An SSH resource by host name", read)
        .route(Method::PUT, one, Access::Admin, "Replace an SSH resource", replace)
        .route(Method::PATCH, one, Access::Admin, "Change some fields of an SSH resource", patch)
        .route(Method::DELETE, one, Access::Admin, "Delete an SSH resource", remove)
}

/// The original's document as a target document: `hostname` names and addresses it; `os: windows`
/// means PowerShell.
fn target_document(body: &Value, full: bool) -> Result<Value, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    let mut document = Map::new();
    for (key, value) in object {
        let renamed = RENAMED.iter().find(|(old, _)| old == key).map_or(key.as_str(), |(_, new)| new);
        match (renamed, value.as_str()) {
            ("os", Some(os)) => {
                let shell = if os.eq_ignore_ascii_case("windows") { "powershell" } else { "sh" };
                document.insert("shell".into(), json!(shell));
            }
            ("os", None) => return Err(ApiError::invalid("os", "must be linux or windows")),
            _ => {
                document.insert(renamed.to_owned(), value.clone());
            }
        }
    }
    if let Some(name) = document.get("name") {
        let host = document.get("host").and_then(Value::as_str);
        if !name.as_str().zip(host).is_some_and(|(name, host)| name.trim().eq_ignore_ascii_case(host.trim())) {
            return Err(ApiError::invalid("name", "a resource is named after its hostname; leave name out"));
        }
    }
    if full {
        document.insert("kind".into(), json!("ssh"));
        if let Some(host) = document.get("host").cloned() {
            document.insert("name".into(), host);
        }
    }
    Ok(Value::Object(document))
}

/// The spec named after its host as parsed (trimmed, an IPv6 address without brackets), which is
/// what makes it the host's resource.
fn named_after_host(mut spec: TargetSpec) -> TargetSpec {
    if let Check::Ssh(ssh) = &spec.check {
        spec.name = ssh.host.clone();
    }
    spec
}

/// The resource `/Resource/{hostname}` names: the SSH target named after that host, or else the
/// only SSH target checking it. Several checking it and none named after it is ambiguous: a 409
/// rather than one of them picked at random.
async fn find(state: &AppState, hostname: &str) -> Result<TargetRecord, ApiError> {
    let resource = hostname.trim().to_ascii_lowercase();
    let mut checking: Vec<TargetRecord> = all_of_kind(state, "ssh")
        .await?
        .into_iter()
        .filter(
            |record| matches!(&record.target.spec.check, Check::Ssh(ssh) if ssh.host.eq_ignore_ascii_case(&resource)),
        )
        .collect();
    if let Some(named) =
        checking.iter().position(|record| record.target.spec.resource_hostname().as_deref() == Some(resource.as_str()))
    {
        return Ok(checking.swap_remove(named));
    }
    match checking.len() {
        0 => Err(ApiError::NotFound("no resource with that host name".into())),
        1 => Ok(checking.swap_remove(0)),
        _ => Err(ApiError::Conflict(
            "several SSH targets check that host and none is named after it; use /api/v1/targets/{id}".into(),
        )),
    }
}

/// The resource after an edit; null in the odd case that the edit made it another kind.
async fn current_view(state: &AppState, id: uuid::Uuid) -> Result<Json<Option<ResourceView>>, ApiError> {
    let record = state.store.get_target(id).await?.ok_or_else(ApiError::target_not_found)?;
    Ok(Json(views::resource(&record)))
}

async fn list(State(state): State<AppState>, _: Reader) -> Result<Json<Vec<ResourceView>>, ApiError> {
    Ok(Json(all_of_kind(&state, "ssh").await?.iter().filter_map(views::resource).collect()))
}

async fn create(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let spec = named_after_host(parse_spec(&target_document(&body, true)?).map_err(ApiError::Validation)?);
    let Check::Ssh(ssh) = &spec.check else { return Err(ApiError::invalid("kind", "must be ssh")) };
    // A friendlier answer than the store's for the usual case; the store's unique index settles
    // concurrent creates of one host.
    if find(&state, &ssh.host).await.is_ok() {
        return Err(ApiError::Conflict("a resource with that host name exists".into()));
    }
    let target = create_target(&state, spec).await?;
    let record = state.store.get_target(target.id).await?.ok_or_else(ApiError::target_not_found)?;
    Ok(created(&target, views::resource(&record)))
}

async fn read(
    State(state): State<AppState>,
    _: Reader,
    PathParam(hostname): PathParam<String>,
) -> Result<Json<Option<ResourceView>>, ApiError> {
    Ok(Json(views::resource(&find(&state, &hostname).await?)))
}

async fn replace(
    State(state): State<AppState>,
    _: Writer,
    PathParam(hostname): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Option<ResourceView>>, ApiError> {
    let id = find(&state, &hostname).await?.target.id;
    let document = target_document(&body, true)?;
    edit_target(&state, id, |current| {
        parse_spec(&with_kept_credentials(&document, current)).map(named_after_host).map_err(ApiError::Validation)
    })
    .await?;
    current_view(&state, id).await
}

async fn patch(
    State(state): State<AppState>,
    _: Writer,
    PathParam(hostname): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Option<ResourceView>>, ApiError> {
    let id = find(&state, &hostname).await?.target.id;
    let document = target_document(&body, false)?;
    // A resource moved to another host is named after its new one.
    let moves = document.get("host").is_some();
    edit_target(&state, id, |current| {
        merge(current, &document).map(|spec| if moves { named_after_host(spec) } else { spec })
    })
    .await?;
    current_view(&state, id).await
}

async fn remove(
    State(state): State<AppState>,
    _: Writer,
    PathParam(hostname): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let id = find(&state, &hostname).await?.target.id;
    delete_target(&state, id, false).await
}
