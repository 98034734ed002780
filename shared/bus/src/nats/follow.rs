//! Followers on JetStream: ordered consumers, re-created from the last sequence passed on when
//! async-nats gives up on one (it does not after a server restart drops the consumer).

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::{NatsBus, nats_error};
use crate::{Message, StartAt, Stream};

const FIRST_RECREATE_DELAY: Duration = Duration::from_millis(100);
const LONGEST_RECREATE_DELAY: Duration = Duration::from_secs(5);

pub(super) async fn follow(
    bus: &NatsBus,
    stream: Stream,
    start: StartAt,
) -> anyhow::Result<BoxStream<'static, anyhow::Result<Message>>> {
    let stream_name = bus.inner.naming.stream_name(stream);
    let last_passed_on = match start {
        StartAt::Beginning => 0,
        StartAt::New => {
            let js_stream = bus
                .inner
                .jetstream
                .get_stream(&stream_name)
                .await
                .with_context(|| format!("reading state of stream {stream_name}"))?;
            js_stream.cached_info().state.last_sequence
        }
    };
    let mut follower =
        Follower { bus: bus.clone(), stream, last_passed_on, messages: None, recreate_delay: FIRST_RECREATE_DELAY };
    // Created now, not on first poll, so a follow that cannot start fails right away.
    follower.messages = Some(Follower::open(bus, stream, last_passed_on).await?);
    Ok(futures::stream::unfold(follower, |mut follower| async move {
        let item = follower.next().await;
        Some((item, follower))
    })
    .boxed())
}

struct Follower {
    bus: NatsBus,
    stream: Stream,
    /// Only higher sequences are passed on: no repeats when a consumer is re-created, and none of
    /// the history when following from `New`.
    last_passed_on: u64,
    messages: Option<Ordered>,
    recreate_delay: Duration,
}

impl Follower {
    /// Takes no `&self`: `Ordered` is not `Sync`, so a borrowed follower cannot be held across an await.
    async fn open(bus: &NatsBus, stream: Stream, last_passed_on: u64) -> anyhow::Result<Ordered> {
        let stream_name = bus.inner.naming.stream_name(stream);
        let config = OrderedConfig {
            filter_subject: bus.inner.naming.wildcard(stream),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: last_passed_on + 1 },
            ..Default::default()
        };
        bus.inner
            .jetstream
            .create_consumer_on_stream(config, &stream_name)
            .await
            .with_context(|| format!("creating ordered consumer on stream {stream_name}"))?
            .messages()
            .await
            .with_context(|| format!("starting ordered consumer on stream {stream_name}"))
    }

    /// A stream the server created anew (it restarted without its data) numbers from 1 again:
    /// following on from the old sequence would skip everything up to it, so start over.
    async fn notice_a_reset_stream(&mut self) {
        let stream_name = self.bus.inner.naming.stream_name(self.stream);
        if let Ok(js_stream) = self.bus.inner.jetstream.get_stream(&stream_name).await
            && js_stream.cached_info().state.last_sequence < self.last_passed_on
        {
            tracing::warn!(stream = %self.stream, last_passed_on = self.last_passed_on, "the stream was created anew; following it from its start");
            self.last_passed_on = 0;
        }
    }

    /// The next message, or one passing failure; the follower goes on after it.
    async fn next(&mut self) -> anyhow::Result<Message> {
        loop {
            let messages = match self.messages.as_mut() {
                Some(messages) => messages,
                None => {
                    // Only after a failure: pace the attempts while the server is away.
                    tokio::time::sleep(self.recreate_delay).await;
                    self.recreate_delay = (self.recreate_delay * 2).min(LONGEST_RECREATE_DELAY);
                    self.notice_a_reset_stream().await;
                    self.messages.insert(Self::open(&self.bus, self.stream, self.last_passed_on).await?)
                }
            };
            let failure = match messages.next().await {
                Some(Ok(message)) => match message.info().map_err(nats_error) {
                    Ok(info) if info.stream_sequence <= self.last_passed_on => continue,
                    Ok(info) => {
                        let sequence = info.stream_sequence;
                        self.last_passed_on = sequence;
                        self.recreate_delay = FIRST_RECREATE_DELAY;
                        let message = message.message;
                        return Ok(Message {
                            subject: message.subject.to_string(),
                            payload: message.payload,
                            sequence,
                        });
                    }
                    // Skipping it would leave a gap; a new consumer delivers it again.
                    Err(error) => error.context("reading JetStream message metadata"),
                },
                Some(Err(error)) => anyhow::Error::new(error).context("following the stream"),
                None => anyhow::anyhow!("the ordered consumer ended"),
            };
            tracing::warn!(error = format!("{failure:#}"), stream = %self.stream, "follower will re-create its consumer");
            self.messages = None;
            return Err(failure);
        }
    }
}
