//! The public status page, no token needed and public targets only: `/status` (HTML),
//! `/api/v1/status` (the same as JSON), its live stream of status changes, its assets, and
//! badges (ours and Gatus's paths). `HEALTHMON_STATUS_PAGE=false` turns all of them into 404s.

mod badge;
mod badges;
pub mod build;
pub mod cache;
pub mod figures;
mod page;

use std::convert::Infallible;

use axum::extract::State;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use healthmon_domain::events::decode_health;
use healthmon_wire::StatusTransition;
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::extract::Query;
use crate::pages;
use crate::routes::events::board_stream;
use crate::routes::table::{Access, RouteTable};
use crate::state::AppState;
use build::StatusFilter;
use cache::{Inputs, PageKey, Rendered};

/// What the status page needs to know of its own.
#[derive(Debug, Clone)]
pub struct StatusPageConfig {
    pub title: String,
}

impl Default for StatusPageConfig {
    fn default() -> Self {
        Self { title: "Status".into() }
    }
}

/// The event name of the public stream's status changes.
pub const STATUS_CHANGED: &str = "status.changed";

#[derive(RustEmbed)]
#[folder = "assets/status"]
struct Assets;

pub fn routes(table: RouteTable) -> RouteTable {
    let table = table
        .route(Method::GET, "/status", Access::Public, "The public status page (HTML)", html_page)
        .route(Method::GET, "/api/v1/status", Access::Public, "The public status page as JSON", json_page)
        .route(
            Method::GET,
            "/api/v1/status/events",
            Access::Public,
            "Public targets' status changes as Server-Sent Events",
            stream,
        )
        .route(Method::GET, page::STYLESHEET, Access::Public, "The status page's stylesheet", stylesheet)
        .route(Method::GET, page::SCRIPT, Access::Public, "The status page's script (live updates)", script);
    badges::routes(table)
}

/// The page's settings, or a 404 when it is turned off.
pub(crate) fn enabled(state: &AppState) -> Result<&StatusPageConfig, ApiError> {
    state.config.status_page.as_ref().ok_or_else(|| ApiError::NotFound("the status page is turned off".into()))
}

#[tracing::instrument(skip_all)]
async fn json_page(
    State(state): State<AppState>,
    Query(filter): Query<StatusFilter>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rendered = rendered(&state, &filter, true).await?;
    Ok(respond(&rendered, &headers, "application/json", None))
}

#[tracing::instrument(skip_all)]
async fn html_page(
    State(state): State<AppState>,
    Query(filter): Query<StatusFilter>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rendered = rendered(&state, &filter, false).await?;
    Ok(respond(&rendered, &headers, "text/html; charset=utf-8", Some(pages::PAGE_POLICY)))
}

/// The page (or its JSON) as `filter` narrows it: the kept rendering while it still stands,
/// else rendered now, by one request at a time.
async fn rendered(state: &AppState, filter: &StatusFilter, json: bool) -> Result<Arc<Rendered>, ApiError> {
    let config = enabled(state)?;
    let key = PageKey { json, tag: filter.tag.clone(), group: filter.group.clone() };
    let kept = || {
        let figures = state.status_figures.peek()?;
        state.status_pages.current(&key, &Inputs { board: state.board.load(), figures })
    };
    if let Some(rendered) = kept() {
        return Ok(rendered);
    }
    let _one_at_a_time = state.status_pages.rendering().await;
    if let Some(rendered) = kept() {
        return Ok(rendered);
    }
    // Taken before the store is read: a change arriving meanwhile makes this rendering stale.
    let board = state.board.load();
    let (page, figures) = build::status_page(state, &config.title, filter).await?;
    let body = if json {
        serde_json::to_vec(&page).map_err(anyhow::Error::from)?
    } else {
        page::render(&page, filter).into_string().into_bytes()
    };
    let rendered = Arc::new(Rendered::new(Inputs { board, figures }, body));
    state.status_pages.keep(key, rendered.clone());
    Ok(rendered)
}

/// The rendering, gzip-compressed when the client takes it.
fn respond(
    rendered: &Rendered,
    request: &HeaderMap,
    content_type: &'static str,
    policy: Option<&'static str>,
) -> Response {
    let accepts_gzip = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| coding.split(';').next().is_some_and(|name| name.trim().eq_ignore_ascii_case("gzip")));
    let gzip = accepts_gzip && !rendered.gzip().is_empty();
    let mut response = if gzip { rendered.gzip().clone() } else { rendered.plain.clone() }.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Some(policy) = policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    response
}

async fn stylesheet(State(state): State<AppState>) -> Result<Response, ApiError> {
    enabled(&state)?;
    pages::asset(Assets::get("status.css"), pages::CSS)
}

async fn script(State(state): State<AppState>) -> Result<Response, ApiError> {
    enabled(&state)?;
    pages::asset(Assets::get("status.js"), pages::JAVASCRIPT)
}

/// Health changes of public targets only, each as a [`StatusTransition`] (no reason: it may name
/// internal hosts).
async fn stream(State(state): State<AppState>) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    enabled(&state)?;
    let board = state.board.clone();
    Ok(board_stream(&state, "status changes follow", move |event| {
        let change = decode_health(&event.json).ok()?;
        if !board.load().public.contains(&change.target_id) {
            return None;
        }
        let shown = StatusTransition {
            target_id: change.target_id,
            name: change.name,
            from: change.from.into(),
            to: change.to.into(),
            at: change.at,
        };
        let data = serde_json::to_string(&shown).ok()?;
        Some(Event::default().event(STATUS_CHANGED).id(event.id).data(data))
    }))
}
