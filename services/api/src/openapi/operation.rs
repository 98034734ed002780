//! One table route as an OpenAPI operation: summary, tag, security from its access rule,
//! parameters, request body and responses.

use axum::http::StatusCode;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema};

use super::BEARER;
use super::operations::{Body, Details, ParamKind, QueryParam, details};
use crate::routes::table::{Access, RouteDoc};

const JSON: &str = "application/json";

pub fn build(route: &RouteDoc) -> Operation {
    let details = details(route.method, route.path);
    let mut operation = OperationBuilder::new()
        .summary(Some(route.summary))
        .operation_id(Some(operation_id(route)))
        .tags(Some([tag(route.path)]))
        .securities(Some(security(route.access)));
    let path_params = path_params(route.path);
    for name in &path_params {
        operation = operation.parameter(path_param(name));
    }
    let query = details.map_or(&[][..], |details| details.query);
    for param in query {
        operation = operation.parameter(query_param(param));
    }
    let request = details.and_then(|details| details.request);
    if let Some(schema) = request {
        let body =
            RequestBodyBuilder::new().required(Some(Required::True)).content(JSON, json(schema_ref(schema))).build();
        operation = operation.request_body(Some(body));
    }
    operation = match details {
        Some(details) => operation.response(details.status.to_string(), success(details)),
        None => operation.response("200", with_request_id(ResponseBuilder::new().description("OK")).build()),
    };
    let mut errors = error_statuses(route, !path_params.is_empty(), !query.is_empty(), request.is_some());
    errors.extend(details.map_or(&[][..], |details| details.errors));
    let hashes_passwords = details.is_some_and(|details| details.hashes_passwords);
    if hashes_passwords {
        errors.push(503);
    }
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        let retry_after = status == 429 || (status == 503 && hashes_passwords);
        operation = operation.response(status.to_string(), error(status, route, retry_after));
    }
    operation.build()
}

/// The compatibility routes (everything outside `/api/v1` but the service's own endpoints) get
/// their own tag, so the reference shows them apart.
pub fn tag(path: &str) -> &'static str {
    match path {
        "/healthz" => "health",
        "/livez" | "/readyz" | "/metrics" => "operations",
        "/openapi.json" | "/docs" | "/docs/docs.css" => "reference",
        "/status" => "status",
        _ if path == "/ui" || path.starts_with("/ui/") => "console",
        _ if path.starts_with("/status/") || path.starts_with("/badge/") => "status",
        _ if path.starts_with("/api/v1/status") || path.starts_with("/api/v1/endpoints/") => "status",
        _ if path.starts_with("/api/v1/targets/{id}/") => "history",
        _ if path.starts_with("/api/v1/targets") => "targets",
        _ if path.starts_with("/api/v1/health") => "health",
        _ if path.starts_with("/api/v1/events") => "events",
        _ if path.starts_with("/api/v1/admin") => "operations",
        _ if ["/api/v1/notifiers", "/api/v1/alerts", "/api/v1/maintenance", "/api/v1/deliveries"]
            .iter()
            .any(|area| path.starts_with(area)) =>
        {
            "alerting"
        }
        _ if path.starts_with("/api/v1/") => "auth",
        _ => "compat",
    }
}

/// No requirement for public routes; either none or a bearer token for the health check (it takes
/// one when `HEALTHMON_PROTECT_HEALTHZ` is set); a bearer token for everything else.
fn security(access: Access) -> Vec<SecurityRequirement> {
    let bearer = || SecurityRequirement::new(BEARER, Vec::<String>::new());
    match access {
        Access::Public => Vec::new(),
        Access::HealthCheck => vec![SecurityRequirement::default(), bearer()],
        Access::Reader | Access::Admin => vec![bearer()],
    }
}

fn operation_id(route: &RouteDoc) -> String {
    operation_id_of(route.method, route.path)
}

pub fn operation_id_of(method: &str, path: &str) -> String {
    let path: String =
        path.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let words: Vec<&str> = path.split('_').filter(|word| !word.is_empty()).collect();
    format!("{}_{}", method.to_ascii_lowercase(), words.join("_"))
}

/// The `{name}` segments of a path template (axum 0.8 and OpenAPI write them alike).
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

fn path_param(name: &str) -> Parameter {
    let (schema, description) = match name {
        "id" => (text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))), "The id"),
        "username" => (text(), "The user's name"),
        "hostname" => (text(), "The resource's host name (any letter case)"),
        "key" => (text(), "Gatus's endpoint key, `<group>_<name>`"),
        "window" => (text().enum_values(Some(["1h", "24h", "7d", "30d"])), "The span the figure covers"),
        "file" => (text().enum_values(Some(["24h.svg", "7d.svg", "30d.svg"])), "The span, as a file name"),
        _ => (text(), "A path parameter"),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn query_param(param: &QueryParam) -> Parameter {
    let schema = match param.kind {
        ParamKind::Text => text(),
        ParamKind::OneOf(words) => text().enum_values(Some(words.iter().copied())),
        ParamKind::PageSize => ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(1000)),
        ParamKind::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
        ParamKind::Time => text().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
    };
    ParameterBuilder::new()
        .name(param.name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(param.description))
        .schema(Some(schema))
        .build()
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn json(schema: RefOr<Schema>) -> Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status).ok().and_then(|status| status.canonical_reason()).unwrap_or("Error")
}

/// `x-request-id`, on every response: the caller's own id when it is fit to log, else a new one.
fn with_request_id(response: ResponseBuilder) -> ResponseBuilder {
    response.header(
        REQUEST_ID_HEADER,
        header("The request's id: the caller's `x-request-id` when at most 128 printable characters, else a new UUID"),
    )
}

/// A text header. Every header the document names is always sent: `super::served` marks
/// them all `required` (utoipa's header type has no such field).
fn header(description: &str) -> Header {
    HeaderBuilder::new().schema(text().min_length(Some(1))).description(Some(description)).build()
}

/// The response headers of an error status, besides the request id: `WWW-Authenticate` on a 401,
/// `Retry-After` on a 429 and on the 503 of a route that hashes passwords.
fn error_headers(status: u16, retry_after: bool, response: ResponseBuilder) -> ResponseBuilder {
    let response = match status {
        401 => response.header("www-authenticate", header("`Bearer`: the scheme a token is presented in")),
        _ => response,
    };
    if !retry_after {
        return response;
    }
    let seconds = ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[1-9][0-9]*$"));
    response.header(
        "retry-after",
        HeaderBuilder::new().schema(seconds).description(Some("Whole seconds to wait before trying again")).build(),
    )
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn success(details: &Details) -> Response {
    let mut response = with_request_id(ResponseBuilder::new().description(reason(details.status)));
    if details.location {
        response = response.header("location", header("The path of what was created"));
    }
    // Its links, if any, are added by `super::served`.

    let response = match details.response {
        Body::Empty => response,
        Body::Json(name) => response.content(JSON, json(schema_ref(name))),
        Body::JsonList(name) => {
            response.content(JSON, json(ArrayBuilder::new().items(schema_ref(name)).build().into()))
        }
        Body::AnyJson => response.content(JSON, json(ObjectBuilder::new().schema_type(Type::Object).build().into())),
        Body::Text(media_type) => response.content(media_type, json(text().build().into())),
        Body::EventStream(name) => response.content("text/event-stream", json(schema_ref(name))),
    };
    response.build()
}

/// The errors every route of this shape can answer, whatever its handler does.
fn error_statuses(route: &RouteDoc, has_path_params: bool, has_query: bool, has_body: bool) -> Vec<u16> {
    let mut statuses = Vec::new();
    if route.access != Access::Public {
        statuses.push(401);
    }
    if route.access == Access::Admin {
        statuses.push(403);
    }
    // A path segment or query parameter no route can take (one holding a NUL), a query parameter
    // given twice, and a body that is not well-formed JSON.
    if has_path_params || has_query || has_body {
        statuses.push(400);
    }
    if has_path_params {
        statuses.push(404);
    }
    if has_query || has_body {
        statuses.push(422);
    }
    if has_body {
        statuses.extend([413, 415]);
    }
    statuses
}

fn error(status: u16, route: &RouteDoc, retry_after: bool) -> Response {
    let description = match (status, route.access) {
        (401, Access::HealthCheck) => "Unauthorized (only when HEALTHMON_PROTECT_HEALTHZ is set)",
        (403, _) => "Forbidden (admins only)",
        (503, Access::HealthCheck) => "Service Unavailable: some enabled target is not healthy",
        (503, _) if retry_after => "Service Unavailable: too many passwords are being checked at once",
        _ => reason(status),
    };
    let schema = match (status, route.access, route.path) {
        (503, Access::HealthCheck, _) => schema_ref("AggregateHealth"),
        // Readiness answers its checks either way, not an error body.
        (503, _, "/readyz") => ObjectBuilder::new().schema_type(Type::Object).build().into(),
        _ => schema_ref("ErrorBody"),
    };
    let response = with_request_id(ResponseBuilder::new().description(description).content(JSON, json(schema)));
    error_headers(status, retry_after, response).build()
}
