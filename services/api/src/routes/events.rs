//! Server-Sent Events: every health change as a CloudEvent, live.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::Method;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::table::{Access, RouteTable};
use crate::extract::Reader;
use crate::state::AppState;

pub fn routes(table: RouteTable) -> RouteTable {
    table.route(Method::GET, "/api/v1/events", Access::Reader, "Health changes as Server-Sent Events", stream)
}

async fn stream(State(state): State<AppState>, _: Reader) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // A client too slow to keep up skips what it missed rather than holding memory.
    let events = BroadcastStream::new(state.board.subscribe()).filter_map(|event| {
        let event = event.ok()?;
        let data = String::from_utf8_lossy(&event.json).into_owned();
        Some(Ok(Event::default().event(healthmon_domain::events::HEALTH_CHANGED).id(event.id).data(data)))
    });
    // An opening comment flushes the headers at once, so clients and proxies see the stream open.
    let opened = tokio_stream::once(Ok(Event::default().comment("health changes follow")));
    let until_shutdown = state.shutdown.clone().cancelled_owned();
    Sse::new(futures::StreamExt::take_until(opened.chain(events), until_shutdown)).keep_alive(KeepAlive::default())
}
