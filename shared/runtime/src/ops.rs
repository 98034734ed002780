//! The operational endpoints every process serves: liveness, readiness and Prometheus metrics.

mod front;
mod parse_errors;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use healthmon_bus::EventBus;
use healthmon_store::Store;
use serde_json::json;

/// What a process depends on to do its work.
#[derive(Clone)]
pub struct Readiness {
    pub store: Option<Arc<dyn Store>>,
    pub bus: Arc<dyn EventBus>,
}

impl Readiness {
    /// Each dependency's state. Ready when every one is `ok`; `degraded` (still serving, so still
    /// ready) when only the bus is away: the API answers from its last snapshot and the database,
    /// and the other roles catch up when the bus returns. Without its database a process is not ready.
    pub async fn report(&self) -> (bool, serde_json::Value) {
        let bus = self.bus.check().await;
        let store = match &self.store {
            Some(store) => Some(store.check().await),
            None => None,
        };
        let describe = |result: &anyhow::Result<()>| match result {
            Ok(()) => "ok".to_owned(),
            Err(_) => "unavailable".to_owned(),
        };
        let database_ok = store.as_ref().is_none_or(Result::is_ok);
        let status = match (database_ok, bus.is_ok()) {
            (true, true) => "ready",
            (true, false) => "degraded",
            (false, _) => "not_ready",
        };
        let mut checks = json!({ "bus": describe(&bus) });
        if let Some(store) = &store {
            checks["database"] = json!(describe(store));
        }
        (database_ok, json!({ "status": status, "checks": checks }))
    }
}

/// The operational routes, to merge into a router that has a fallback of its own (the API's).
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed")
        })
        .with_state(readiness)
}

/// What a role-only process serves: the operational routes, and a JSON 404 for any other path.
pub fn standalone_router(readiness: Readiness) -> Router {
    router(readiness).fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route") })
}

/// The API's error body (`{"error": {"code", "message", "details"}}`), for processes without the API.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "details": {} } });
    (status, Json(body)).into_response()
}

/// The content type Prometheus scrapes the text exposition format with.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics() -> Response {
    ([(axum::http::header::CONTENT_TYPE, PROMETHEUS_TEXT)], crate::metrics::render()).into_response()
}

async fn livez() -> Json<serde_json::Value> {
    Json(json!({ "status": "alive" }))
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    let (ready, body) = readiness.report().await;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// A running HTTP server.
pub struct Server {
    pub addr: std::net::SocketAddr,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Waits for the server to finish (after the shutdown token fired).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.handle.await??;
        Ok(())
    }
}

/// How long in-flight requests may take to finish once shutdown has begun.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Answers some requests itself, before the router and its per-request extensions (say the
/// client address), or hands them on with `None`: for the health check that is called thousands
/// of times a second and needs none of it.
pub type Shortcut = Arc<dyn Fn(&axum::extract::Request) -> Option<Response> + Send + Sync>;

/// Binds `listen` and serves `router` (after `shortcut`, when given) until `shutdown` fires,
/// giving in-flight requests [`DRAIN`] to finish. Requests hyper cannot parse are answered with
/// the JSON error body too (see `parse_errors`).
pub async fn serve(
    listen: &str,
    router: Router,
    shortcut: Option<Shortcut>,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Server> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "listening");
    let handle = tokio::spawn(async move {
        let drain_started = shutdown.clone();
        let serving = axum::serve(parse_errors::Listener(listener), front::MakeFront { router, shortcut })
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .into_future();
        tokio::pin!(serving);
        tokio::select! {
            result = &mut serving => result,
            () = async { drain_started.cancelled().await; tokio::time::sleep(DRAIN).await } => {
                tracing::warn!("requests still open after the drain period were cut off");
                Ok(())
            }
        }
    });
    Ok(Server { addr, handle })
}
