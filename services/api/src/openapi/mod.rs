//! The OpenAPI 3.1 document, generated at run time from the route table the router is built from:
//! each table route becomes an operation with its summary, tag and security requirement, completed
//! by `operations` (parameters, bodies, responses) and the schemas derived in `schemas`.

pub mod alerting_schemas;
pub mod compat_schemas;
mod operation;
pub mod operations;
mod reference;
#[cfg(test)]
mod rule_tests;
mod rules;
pub mod schemas;
mod serve;
mod served;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod view_tests;

use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::table::RouteDoc;
pub use serve::routes;
pub use served::document_json;

/// The name of the bearer-token security scheme in the document.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "healthmon",
        description = "Watches the resources an application depends on, keeps every probe in a queryable history, \
                       and answers the application's own health check. Errors are always JSON (`ErrorBody`), \
                       also a 405 for a method a path does not serve (with `Allow`) and a 404 for a path no \
                       route has."
    ),
    components(schemas(
        healthmon_wire::TargetKind,
        healthmon_wire::HttpMethod,
        healthmon_wire::Shell,
        healthmon_wire::HealthStatus,
        healthmon_wire::Role,
        schemas::TargetBody,
        schemas::HttpFields,
        schemas::SshFields,
        schemas::TargetPatch,
        healthmon_wire::TargetView,
        healthmon_wire::HealthView,
        healthmon_wire::TargetPage,
        healthmon_wire::SampleView,
        healthmon_wire::SamplePage,
        healthmon_wire::TransitionView,
        healthmon_wire::TransitionPage,
        healthmon_wire::LatencySummary,
        healthmon_wire::UptimeView,
        healthmon_wire::UptimeItem,
        healthmon_wire::UptimeList,
        healthmon_wire::SeriesLatency,
        healthmon_wire::SeriesItem,
        healthmon_wire::SeriesView,
        healthmon_wire::health::AggregateHealth,
        healthmon_wire::health::Verdict,
        healthmon_wire::health::StatusCounts,
        healthmon_wire::TargetHealth,
        healthmon_wire::HealthBreakdown,
        healthmon_wire::ResyncResult,
        schemas::HealthChangeEvent,
        schemas::StatusChangeEvent,
        healthmon_wire::StatusPage,
        healthmon_wire::StatusGroup,
        healthmon_wire::StatusTarget,
        healthmon_wire::StatusUptime,
        healthmon_wire::StatusDay,
        healthmon_wire::ResponseTimePoint,
        healthmon_wire::StatusTransition,
        healthmon_wire::StatusIncident,
        healthmon_wire::ErrorBody,
        healthmon_wire::ErrorDetail,
        healthmon_wire::ErrorDetails,
        schemas::LoginRequest,
        healthmon_wire::LoginResponse,
        schemas::UserCreate,
        healthmon_wire::UserView,
        healthmon_wire::UserList,
        schemas::TokenCreate,
        healthmon_wire::TokenView,
        healthmon_wire::TokenCreated,
        healthmon_wire::TokenList,
        healthmon_wire::NotifierKind,
        healthmon_wire::WebhookMethod,
        healthmon_wire::SmtpTls,
        alerting_schemas::NotifierBody,
        alerting_schemas::NotifierPatch,
        alerting_schemas::NotifierFields,
        healthmon_wire::NotifierView,
        healthmon_wire::NotifierList,
        healthmon_wire::NotifierTestResult,
        alerting_schemas::SelectorBody,
        healthmon_wire::SelectorView,
        alerting_schemas::AlertRuleBody,
        alerting_schemas::AlertRulePatch,
        alerting_schemas::AlertRuleFields,
        healthmon_wire::AlertRuleView,
        healthmon_wire::AlertRuleList,
        alerting_schemas::MaintenanceBody,
        alerting_schemas::MaintenancePatch,
        alerting_schemas::MaintenanceFields,
        healthmon_wire::MaintenanceView,
        healthmon_wire::MaintenanceList,
        healthmon_wire::DeliveryEvent,
        healthmon_wire::DeliveryState,
        healthmon_wire::DeliveryView,
        healthmon_wire::DeliveryPage,
        compat_schemas::WebserverBody,
        healthmon_wire::compat::WebserverSummary,
        healthmon_wire::compat::WebserverRequest,
        healthmon_wire::compat::WebserverDetail,
        healthmon_wire::compat::LegacyToken,
        healthmon_wire::compat::ResourceState,
        healthmon_wire::compat::ResetResult,
        healthmon_wire::compat::RouteInfo,
        compat_schemas::ResourceBody,
        healthmon_wire::compat::ResourceView,
        healthmon_wire::compat::WebserverStatus,
        healthmon_wire::compat::ResourceStateWord,
        healthmon_wire::compat::ResourceOs,
    ))
)]
struct Schemas;

/// The document of exactly these routes.
pub fn document(routes: &[RouteDoc]) -> utoipa::openapi::OpenApi {
    let mut document = Schemas::openapi();
    let mut paths = Paths::new();
    for route in routes {
        paths.add_path_operation(route.path, vec![http_method(route.method)], operation::build(route));
    }
    document.paths = paths;
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "A login token (`POST /api/v1/auth/login`) or an API token (`POST /api/v1/tokens`). \
             The compatibility routes also take it in a `token` header.",
        ))
        .build();
    document.components.get_or_insert_with(Default::default).add_security_scheme(BEARER, SecurityScheme::Http(bearer));
    document
}

fn http_method(method: &str) -> HttpMethod {
    match method {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "HEAD" => HttpMethod::Head,
        _ => HttpMethod::Get,
    }
}
