//! Server-Sent Events: every health change as a CloudEvent, live.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::Method;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::table::{Access, RouteTable};
use crate::board::HealthEvent;
use crate::extract::Reader;
use crate::state::AppState;

pub fn routes(table: RouteTable) -> RouteTable {
    table.route(Method::GET, "/api/v1/events", Access::Reader, "Health changes as Server-Sent Events", stream)
}

async fn stream(State(state): State<AppState>, _: Reader) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    board_stream(&state, "health changes follow", |event| {
        let data = String::from_utf8_lossy(&event.json).into_owned();
        Some(Event::default().event(healthmon_domain::events::HEALTH_CHANGED).id(event.id).data(data))
    })
}

/// The board's health changes as Server-Sent Events, each turned into an event by `to_event`
/// (`None` leaves it out), until shutdown. A client too slow to keep up skips what it missed
/// rather than holding memory; an opening comment flushes the headers at once, so clients and
/// proxies see the stream open.
pub(crate) fn board_stream<F>(
    state: &AppState,
    opening: &'static str,
    mut to_event: F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<F>>
where
    F: FnMut(HealthEvent) -> Option<Event> + Send + 'static,
{
    let events = BroadcastStream::new(state.board.subscribe()).filter_map(move |event| to_event(event.ok()?).map(Ok));
    let opened = tokio_stream::once(Ok(Event::default().comment(opening)));
    let until_shutdown = state.shutdown.clone().cancelled_owned();
    Sse::new(futures::StreamExt::take_until(opened.chain(events), until_shutdown)).keep_alive(KeepAlive::default())
}
