//! The API role: the REST API over targets, history and health, the aggregate health check
//! served from memory, Server-Sent Events, and the predecessors' compatibility routes.

pub mod board;
pub mod error;
pub mod extract;
pub mod routes;
pub mod state;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use healthmon_bus::EventBus;
use healthmon_domain::events::source;
use healthmon_runtime::ops::{self, Readiness};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

pub use board::HealthBoard;
pub use state::AppState;

use crate::error::ApiError;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Builds the state and starts the board keeper and the outbox relay; returns the state to serve.
pub fn start(
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    relay: OutboxRelay,
    instance: &str,
    shutdown: CancellationToken,
) -> AppState {
    let (board, resync_requests) = HealthBoard::new();
    tokio::spawn(board::run_keeper(board.clone(), resync_requests, store.clone(), bus.clone(), shutdown.clone()));
    let readiness = Readiness { store: Some(store.clone()), bus };
    AppState { store, board, relay, readiness, source: Arc::from(source("api", instance)), shutdown }
}

/// Every route, with errors, limits and tracing; compatibility paths match in any letter case.
pub fn router(state: AppState) -> Router {
    let readiness = state.readiness.clone();
    let traced = Router::new()
        .merge(routes::targets::router())
        .merge(routes::history::router())
        .merge(routes::health::router())
        .merge(routes::events::router())
        .merge(routes::compat::router())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }));
    let api = traced.merge(routes::health::probe_router()).with_state(state).merge(ops::router(readiness));
    let case_insensitive = ServiceBuilder::new().map_request(routes::compat::canonical_case).service(api);
    Router::new().fallback_service(case_insensitive)
}
