//! The API role: the REST API over targets, history, health and accounts, the aggregate health
//! check served from memory, Server-Sent Events, and the predecessors' compatibility routes.

pub mod auth;
pub mod board;
pub mod console;
pub mod error;
pub mod extract;
pub mod healthz;

pub use healthz::shortcut as healthz_shortcut;
pub mod http_metrics;
pub mod openapi;
pub mod pages;
pub mod request_guard;
pub mod request_id;
pub mod resync;
pub mod routes;
pub mod state;
pub mod status;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use healthmon_bus::EventBus;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::events::source;
use healthmon_runtime::ops::{self, Readiness};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use board::HealthBoard;
pub use state::AppState;

use crate::error::ApiError;
use crate::routes::table::RouteTable;

/// Responses larger than this are compressed for clients that accept gzip.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The API's own settings.
#[derive(Clone)]
pub struct ApiConfig {
    pub instance: String,
    /// For the first admin on first start; a random one is logged once when absent.
    pub admin_password: Option<String>,
    pub protect_healthz: bool,
    pub session_ttl: chrono::Duration,
    pub request_timeout: Duration,
    /// Browser origins allowed by CORS; none: no CORS headers at all.
    pub cors_origins: Vec<HeaderValue>,
    /// Which addresses targets may point at; a refused URL is a 422.
    pub address_policy: AddressPolicy,
    /// Seals credentials for the probers; without it, targets with credentials cannot be written.
    pub sealing_key: Option<healthmon_crypto::PublicKey>,
    /// How long raw samples are kept: older ones are never answered, even before the purge.
    pub raw_retention: healthmon_domain::history::Retention,
    /// The public status page and badges; `None` serves neither (404).
    pub status_page: Option<status::StatusPageConfig>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            instance: "api".into(),
            admin_password: None,
            protect_healthz: false,
            session_ttl: chrono::Duration::hours(12),
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            address_policy: AddressPolicy::default(),
            sealing_key: None,
            raw_retention: healthmon_domain::history::Retention::For(chrono::Duration::days(90)),
            status_page: Some(status::StatusPageConfig::default()),
        }
    }
}

/// Creates the first admin if there are no users, starts the board keeper, and returns the state.
pub async fn start(
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    relay: OutboxRelay,
    config: ApiConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<AppState> {
    auth::bootstrap::ensure_admin(store.as_ref(), config.admin_password.as_deref()).await?;
    let (board, resync_requests) = HealthBoard::new();
    tokio::spawn(board::run_keeper(board.clone(), resync_requests, store.clone(), bus.clone(), shutdown.clone()));
    let readiness = Readiness { store: Some(store.clone()), bus: bus.clone() };
    Ok(AppState::new(state::Shared {
        store,
        bus,
        board,
        relay,
        readiness,
        source: Arc::from(source("api", &config.instance)),
        shutdown,
        limiter: Arc::default(),
        config: Arc::new(config),
        routes: Arc::default(),
        status_figures: Arc::default(),
        status_pages: Arc::default(),
    }))
}

/// Every route the API serves, with its access rule and summary.
pub fn table() -> RouteTable {
    let table = RouteTable::default();
    let table = routes::targets::routes(table);
    let table = routes::history::routes(table);
    let table = routes::uptime::routes(table);
    let table = routes::health::routes(table);
    let table = routes::events::routes(table);
    let table = routes::notifiers::routes(table);
    let table = routes::notifier_test::routes(table);
    let table = routes::alerts::routes(table);
    let table = routes::maintenance::routes(table);
    let table = routes::deliveries::routes(table);
    let table = auth::routes::routes(table);
    let table = status::routes(table);
    let table = console::routes(table);
    let table = routes::compat::routes(table);
    let table = routes::legacy::routes(table);
    let table = routes::resource::routes(table);
    openapi::routes(table)
}

/// Every route, with errors, limits, timeouts, security headers and tracing; compatibility paths
/// match in any letter case. Plain `GET /healthz` takes a shorter way with the same headers when
/// served with [`healthz_shortcut`].
pub fn router(state: AppState) -> Router {
    let (routes, docs) = table().into_parts();
    let state = state.with_routes(docs);
    let readiness = state.readiness.clone();
    let config = state.config.clone();
    let timeout = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            ApiError::Unavailable("the request took too long".into())
        }))
        .timeout(config.request_timeout);
    let traced = routes
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(timeout)
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id::of(request),
            )
        }));
    http_metrics::register();
    let measured = traced
        .merge(healthz::router())
        .with_state(state.clone())
        .merge(ops::router(readiness))
        // Again after the merges: a fallback set earlier reaches only the routes added before it.
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(request_guard::refuse_unservable))
        .layer(axum::middleware::from_fn(http_metrics::record));
    // Pages and large JSON (a status page of a thousand targets) travel compressed to clients
    // that ask; small answers such as /healthz are not worth it, nor are streams and images.
    let compression = CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE_BYTES)));
    let mut api = with_security_headers(measured.layer(compression));
    if !config.cors_origins.is_empty() {
        api = api.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(config.cors_origins.clone()))
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    let (set_request_id, propagate_request_id) = request_id::layers();
    let outer = ServiceBuilder::new()
        .map_request(request_id::drop_unfit)
        .layer(set_request_id)
        .layer(propagate_request_id)
        .map_request(routes::compat::canonical_case)
        .service(api);
    Router::new().fallback_service(outer)
}

/// Headers that keep browsers from sniffing, framing or leaking what the API returns.
pub(crate) const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
];

fn with_security_headers(router: Router) -> Router {
    SECURITY_HEADERS.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}
