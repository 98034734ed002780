//! What the route table does not say about each operation: its query parameters, request body,
//! success response and route-specific errors. Keyed by method and path; tests check that every
//! entry names a table route and every table route has an entry.

/// How a query parameter is typed in the document (the handlers parse them all from text).
#[derive(Debug, Clone, Copy)]
pub enum ParamKind {
    Text,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A whole number from 1 to 1000.
    PageSize,
    Boolean,
    Time,
}

#[derive(Debug)]
pub struct QueryParam {
    pub name: &'static str,
    pub kind: ParamKind,
    pub description: &'static str,
}

/// A success response's body.
#[derive(Debug)]
pub enum Body {
    /// No body (204).
    Empty,
    /// A JSON body described by the named component schema.
    Json(&'static str),
    /// A JSON array of the named component schema.
    JsonList(&'static str),
    /// A JSON object whose shape the document leaves open.
    AnyJson,
    /// Another media type, such as HTML.
    Text(&'static str),
    /// Server-Sent Events, each described by the named component schema (before OpenAPI 3.2, an
    /// event stream's `schema` describes one event).
    EventStream(&'static str),
}

/// An OpenAPI link from a success response to another operation on what it answered with: the
/// named path parameter of the operation (`method`, `path`) is taken from the response body.
#[derive(Debug)]
pub struct Link {
    pub method: &'static str,
    pub path: &'static str,
    pub parameter: &'static str,
    /// A JSON pointer into the response body.
    pub from_body: &'static str,
}

#[derive(Debug)]
pub struct Details {
    pub method: &'static str,
    pub path: &'static str,
    pub query: &'static [QueryParam],
    /// The named component schema of the JSON request body.
    pub request: Option<&'static str>,
    pub status: u16,
    pub response: Body,
    /// Error statuses particular to this route, besides those its access rule, path parameters
    /// and body imply.
    pub errors: &'static [u16],
    /// The success response carries a `Location` header naming what was created.
    pub location: bool,
    /// It hashes a password, so it answers 503 with `Retry-After` when every hashing place is taken.
    pub hashes_passwords: bool,
    /// Operations on what the success response describes, for clients (and schemathesis) to follow.
    pub links: &'static [Link],
}

const fn query(name: &'static str, kind: ParamKind, description: &'static str) -> QueryParam {
    QueryParam { name, kind, description }
}

const LIMIT: QueryParam = query("limit", ParamKind::PageSize, "Page size, 1 … 1000 (default 100)");
const CURSOR: QueryParam = query("cursor", ParamKind::Text, "`next_cursor` of the previous page");
const PAGE: &[QueryParam] = &[LIMIT, CURSOR];
const TARGET_FILTERS: &[QueryParam] = &[
    query(
        "status",
        ParamKind::OneOf(&["unknown", "healthy", "unhealthy", "stale", "paused"]),
        "Only targets with this status",
    ),
    query("tag", ParamKind::Text, "Only targets with this tag"),
    query("kind", ParamKind::Text, "Only targets of this kind (http, ssh, tcp)"),
    query("q", ParamKind::Text, "Only targets whose name contains this text"),
    LIMIT,
    CURSOR,
];
const SAMPLE_RANGE: &[QueryParam] = &[
    LIMIT,
    CURSOR,
    query("from", ParamKind::Time, "Samples at or after this RFC 3339 time"),
    query("to", ParamKind::Time, "Samples before this RFC 3339 time"),
];
const SPAN_WINDOW: QueryParam = query(
    "window",
    ParamKind::OneOf(&["1h", "24h", "7d", "30d", "90d", "365d"]),
    "A span ending now (default 24h); not with from and to",
);
const SPAN_FROM: QueryParam = query("from", ParamKind::Time, "The span's start, RFC 3339 (instead of window)");
const SPAN_TO: QueryParam = query("to", ParamKind::Time, "The span's end, RFC 3339 (default now; needs from)");
const UPTIME_SPAN: &[QueryParam] = &[SPAN_WINDOW, SPAN_FROM, SPAN_TO];
const EVERY_UPTIME: &[QueryParam] = &[
    SPAN_WINDOW,
    SPAN_FROM,
    SPAN_TO,
    query("tag", ParamKind::Text, "Only the targets with this tag"),
    query("group", ParamKind::Text, "Only the targets in this group"),
];
const SERIES_SPAN: &[QueryParam] = &[
    SPAN_WINDOW,
    SPAN_FROM,
    SPAN_TO,
    query(
        "step_s",
        ParamKind::OneOf(&["60", "300", "3600", "86400"]),
        "Bucket width in seconds (default: the narrowest giving at most 500 buckets)",
    ),
];
const HEALTH_TAG: &[QueryParam] = &[query("tag", ParamKind::Text, "Only the targets with this tag")];
const KEEP_HISTORY: &[QueryParam] =
    &[query("keep_history", ParamKind::Boolean, "Keep the target's history readable (default false)")];

const fn route(method: &'static str, path: &'static str, status: u16, response: Body) -> Details {
    Details {
        method,
        path,
        query: &[],
        request: None,
        status,
        response,
        errors: &[],
        location: false,
        hashes_passwords: false,
        links: &[],
    }
}

const fn with_query(details: Details, query: &'static [QueryParam]) -> Details {
    Details { query, ..details }
}

const fn with_body(details: Details, request: &'static str) -> Details {
    Details { request: Some(request), ..details }
}

const fn with_errors(details: Details, errors: &'static [u16]) -> Details {
    Details { errors, ..details }
}

const fn with_location(details: Details) -> Details {
    Details { location: true, ..details }
}

const fn hashing_passwords(details: Details) -> Details {
    Details { hashes_passwords: true, ..details }
}

const fn with_links(details: Details, links: &'static [Link]) -> Details {
    Details { links, ..details }
}

const fn by_hostname(method: &'static str) -> Link {
    Link { method, path: RESOURCE, parameter: "hostname", from_body: "/hostname" }
}

/// A created resource is addressed by its host name, which no `Location` header carries.
const RESOURCE_LINKS: &[Link] = &[by_hostname("GET"), by_hostname("PUT"), by_hostname("PATCH"), by_hostname("DELETE")];

/// What the login routes answer besides success: a wrong user or password (401) and too many
/// attempts (429, with `Retry-After`); 503 comes with their password hashing.
const LOGIN_ERRORS: &[u16] = &[401, 429];
/// Writes that may carry SSH credentials: another target (or resource) with that name or host
/// (409), and an API instance without the probers' public key to seal them with (503).
const CREDENTIAL_WRITE_ERRORS: &[u16] = &[409, 503];
/// A legacy `/Resource/{hostname}` that several SSH targets check, none named after it.
const AMBIGUOUS_HOST: &[u16] = &[409];

const TARGET: &str = "/api/v1/targets/{id}";
const NOTIFIER: &str = "/api/v1/notifiers/{id}";
const ALERT: &str = "/api/v1/alerts/{id}";
const WINDOW: &str = "/api/v1/maintenance/{id}";

const fn by_id(method: &'static str, path: &'static str) -> Link {
    Link { method, path, parameter: "id", from_body: "/id" }
}

/// What a created notifier, rule or window can be done with next, by its id.
const NOTIFIER_LINKS: &[Link] = &[
    by_id("GET", NOTIFIER),
    by_id("PUT", NOTIFIER),
    by_id("PATCH", NOTIFIER),
    by_id("POST", "/api/v1/notifiers/{id}/test"),
    by_id("DELETE", NOTIFIER),
];
const ALERT_LINKS: &[Link] = &[by_id("GET", ALERT), by_id("PUT", ALERT), by_id("PATCH", ALERT), by_id("DELETE", ALERT)];
const WINDOW_LINKS: &[Link] =
    &[by_id("GET", WINDOW), by_id("PUT", WINDOW), by_id("PATCH", WINDOW), by_id("DELETE", WINDOW)];
/// Notifier writes seal their write-only values: an API instance without the sealing key is 503.
const NOTIFIER_WRITE_ERRORS: &[u16] = &[503];
const DELIVERY_FILTERS: &[QueryParam] = &[
    query("alert", ParamKind::Text, "Only deliveries of this alert rule (its id)"),
    query("notifier", ParamKind::Text, "Only deliveries to this notifier (its id)"),
    query("target", ParamKind::Text, "Only deliveries about this target (its id)"),
    query(
        "status",
        ParamKind::OneOf(&["pending", "delivered", "failed", "suppressed"]),
        "Only deliveries with this status",
    ),
    LIMIT,
    CURSOR,
];
const STATUS_FILTERS: &[QueryParam] = &[
    query("tag", ParamKind::Text, "Only public targets with this tag"),
    query("group", ParamKind::Text, "Only public targets in this group"),
];
const WEBSERVER: &str = "/webservers/{id}";
const RESOURCE: &str = "/Resource/{hostname}";

pub const DETAILS: &[Details] = &[
    with_query(route("GET", "/api/v1/targets", 200, Body::Json("TargetPage")), TARGET_FILTERS),
    // 409: another target has that name.
    with_location(with_errors(
        with_body(route("POST", "/api/v1/targets", 201, Body::Json("TargetView")), "TargetBody"),
        CREDENTIAL_WRITE_ERRORS,
    )),
    route("GET", TARGET, 200, Body::Json("TargetView")),
    with_errors(with_body(route("PUT", TARGET, 200, Body::Json("TargetView")), "TargetBody"), CREDENTIAL_WRITE_ERRORS),
    with_errors(
        with_body(route("PATCH", TARGET, 200, Body::Json("TargetView")), "TargetPatch"),
        CREDENTIAL_WRITE_ERRORS,
    ),
    with_query(route("DELETE", TARGET, 204, Body::Empty), KEEP_HISTORY),
    with_query(route("GET", "/api/v1/targets/{id}/samples", 200, Body::Json("SamplePage")), SAMPLE_RANGE),
    with_query(route("GET", "/api/v1/targets/{id}/transitions", 200, Body::Json("TransitionPage")), PAGE),
    with_query(route("GET", "/api/v1/targets/{id}/uptime", 200, Body::Json("UptimeView")), UPTIME_SPAN),
    with_query(route("GET", "/api/v1/uptime", 200, Body::Json("UptimeList")), EVERY_UPTIME),
    with_query(route("GET", "/api/v1/targets/{id}/series", 200, Body::Json("SeriesView")), SERIES_SPAN),
    route("GET", "/api/v1/health", 200, Body::Json("HealthBreakdown")),
    with_errors(route("POST", "/api/v1/admin/resync", 200, Body::Json("ResyncResult")), &[503]),
    with_errors(with_query(route("GET", "/healthz", 200, Body::Json("AggregateHealth")), HEALTH_TAG), &[503]),
    route("GET", "/livez", 200, Body::AnyJson),
    with_errors(route("GET", "/readyz", 200, Body::AnyJson), &[503]),
    route("GET", "/metrics", 200, Body::Text("text/plain; version=0.0.4")),
    route("GET", "/api/v1/events", 200, Body::EventStream("HealthChangeEvent")),
    hashing_passwords(with_errors(
        with_body(route("POST", "/api/v1/auth/login", 200, Body::Json("LoginResponse")), "LoginRequest"),
        LOGIN_ERRORS,
    )),
    route("POST", "/api/v1/auth/logout", 204, Body::Empty),
    route("GET", "/api/v1/users", 200, Body::Json("UserList")),
    hashing_passwords(with_location(with_errors(
        with_body(route("POST", "/api/v1/users", 201, Body::Json("UserView")), "UserCreate"),
        &[409],
    ))),
    with_errors(route("DELETE", "/api/v1/users/{username}", 204, Body::Empty), &[409]),
    route("GET", "/api/v1/tokens", 200, Body::Json("TokenList")),
    with_body(route("POST", "/api/v1/tokens", 201, Body::Json("TokenCreated")), "TokenCreate"),
    route("DELETE", "/api/v1/tokens/{id}", 204, Body::Empty),
    route("GET", "/api/v1/notifiers", 200, Body::Json("NotifierList")),
    with_links(
        with_location(with_errors(
            with_body(route("POST", "/api/v1/notifiers", 201, Body::Json("NotifierView")), "NotifierBody"),
            NOTIFIER_WRITE_ERRORS,
        )),
        NOTIFIER_LINKS,
    ),
    route("GET", NOTIFIER, 200, Body::Json("NotifierView")),
    with_errors(
        with_body(route("PUT", NOTIFIER, 200, Body::Json("NotifierView")), "NotifierBody"),
        NOTIFIER_WRITE_ERRORS,
    ),
    with_errors(
        with_body(route("PATCH", NOTIFIER, 200, Body::Json("NotifierView")), "NotifierPatch"),
        NOTIFIER_WRITE_ERRORS,
    ),
    // 409: an alert rule still names it.
    with_errors(route("DELETE", NOTIFIER, 204, Body::Empty), &[409]),
    route("POST", "/api/v1/notifiers/{id}/test", 200, Body::Json("NotifierTestResult")),
    route("GET", "/api/v1/alerts", 200, Body::Json("AlertRuleList")),
    with_links(
        with_location(with_body(route("POST", "/api/v1/alerts", 201, Body::Json("AlertRuleView")), "AlertRuleBody")),
        ALERT_LINKS,
    ),
    route("GET", ALERT, 200, Body::Json("AlertRuleView")),
    with_body(route("PUT", ALERT, 200, Body::Json("AlertRuleView")), "AlertRuleBody"),
    with_body(route("PATCH", ALERT, 200, Body::Json("AlertRuleView")), "AlertRulePatch"),
    route("DELETE", ALERT, 204, Body::Empty),
    route("GET", "/api/v1/maintenance", 200, Body::Json("MaintenanceList")),
    with_links(
        with_location(with_body(
            route("POST", "/api/v1/maintenance", 201, Body::Json("MaintenanceView")),
            "MaintenanceBody",
        )),
        WINDOW_LINKS,
    ),
    route("GET", WINDOW, 200, Body::Json("MaintenanceView")),
    with_body(route("PUT", WINDOW, 200, Body::Json("MaintenanceView")), "MaintenanceBody"),
    with_body(route("PATCH", WINDOW, 200, Body::Json("MaintenanceView")), "MaintenancePatch"),
    route("DELETE", WINDOW, 204, Body::Empty),
    with_query(route("GET", "/api/v1/deliveries", 200, Body::Json("DeliveryPage")), DELIVERY_FILTERS),
    route("GET", "/webservers", 200, Body::JsonList("WebserverSummary")),
    with_location(with_errors(
        with_body(route("POST", "/webservers", 201, Body::Json("WebserverSummary")), "WebserverBody"),
        &[409],
    )),
    route("GET", WEBSERVER, 200, Body::Json("WebserverDetail")),
    with_errors(with_body(route("PUT", WEBSERVER, 200, Body::Json("WebserverSummary")), "WebserverBody"), &[409]),
    route("DELETE", WEBSERVER, 204, Body::Empty),
    route("GET", "/webservers/{id}/requests", 200, Body::JsonList("WebserverRequest")),
    with_errors(with_query(route("GET", "/IsHealthy", 200, Body::Json("AggregateHealth")), HEALTH_TAG), &[503]),
    hashing_passwords(with_errors(
        with_body(route("POST", "/Login", 200, Body::Json("LegacyToken")), "LoginRequest"),
        LOGIN_ERRORS,
    )),
    route("GET", "/ResourceState", 200, Body::JsonList("ResourceState")),
    with_errors(route("POST", "/Reset", 200, Body::Json("ResetResult")), &[503]),
    route("GET", "/Routes", 200, Body::JsonList("RouteInfo")),
    route("GET", "/Resource", 200, Body::JsonList("ResourceView")),
    with_links(
        with_location(with_errors(
            with_body(route("POST", "/Resource", 201, Body::Json("ResourceView")), "ResourceBody"),
            CREDENTIAL_WRITE_ERRORS,
        )),
        RESOURCE_LINKS,
    ),
    with_errors(route("GET", RESOURCE, 200, Body::Json("ResourceView")), AMBIGUOUS_HOST),
    with_errors(
        with_body(route("PUT", RESOURCE, 200, Body::Json("ResourceView")), "ResourceBody"),
        CREDENTIAL_WRITE_ERRORS,
    ),
    with_errors(
        with_body(route("PATCH", RESOURCE, 200, Body::Json("ResourceView")), "ResourceBody"),
        CREDENTIAL_WRITE_ERRORS,
    ),
    with_errors(route("DELETE", RESOURCE, 204, Body::Empty), AMBIGUOUS_HOST),
    route("GET", "/openapi.json", 200, Body::AnyJson),
    route("GET", "/docs", 200, Body::Text("text/html")),
    route("GET", "/docs/docs.css", 200, Body::Text("text/css")),
    route("GET", "/ui", 200, Body::Text("text/html")),
    route("GET", "/ui/console.js", 200, Body::Text("text/javascript")),
    route("GET", "/ui/console.css", 200, Body::Text("text/css")),
    // Each of the status page's routes is a 404 while HEALTHMON_STATUS_PAGE is false.
    with_errors(with_query(route("GET", "/status", 200, Body::Text("text/html")), STATUS_FILTERS), &[404]),
    with_errors(with_query(route("GET", "/api/v1/status", 200, Body::Json("StatusPage")), STATUS_FILTERS), &[404]),
    with_errors(route("GET", "/api/v1/status/events", 200, Body::EventStream("StatusChangeEvent")), &[404]),
    with_errors(route("GET", "/status/assets/status.css", 200, Body::Text("text/css")), &[404]),
    with_errors(route("GET", "/status/assets/status.js", 200, Body::Text("text/javascript")), &[404]),
    route("GET", "/badge/{id}/status.svg", 200, Body::Text("image/svg+xml")),
    route("GET", "/badge/{id}/uptime/{file}", 200, Body::Text("image/svg+xml")),
    route("GET", "/badge/{id}/response-time/{file}", 200, Body::Text("image/svg+xml")),
    route("GET", "/api/v1/endpoints/{key}/health/badge.svg", 200, Body::Text("image/svg+xml")),
    route("GET", "/api/v1/endpoints/{key}/uptimes/{window}/badge.svg", 200, Body::Text("image/svg+xml")),
    route("GET", "/api/v1/endpoints/{key}/response-times/{window}/badge.svg", 200, Body::Text("image/svg+xml")),
];

pub fn details(method: &str, path: &str) -> Option<&'static Details> {
    DETAILS.iter().find(|details| details.method == method && details.path == path)
}
