//! Drains the sample buffer to the bus: many publishes in flight while the bus takes them; while
//! it is away, none, and the samples wait (a failed one goes back to the front) until a retry
//! after a growing pause finds it back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use healthmon_bus::{EventBus, Stream};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::{OutgoingSample, SampleBuffer};

/// Publishes awaiting their ack at once: enough to keep a local NATS busy at well over 10,000
/// samples a second, far below the JetStream context's own limit on pending acks (5,000).
pub const MAX_IN_FLIGHT: usize = 512;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Short, because while the connection is down a retry only looks at its state, which is free.
const LAST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long a stopping prober keeps trying to publish what it holds.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(5);
/// How often drops not yet logged are logged.
const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

type Publishing = Pin<Box<dyn Future<Output = (OutgoingSample, anyhow::Result<()>)> + Send>>;

/// Publishes what `buffer` receives until `shutdown` fires, then for at most `flush_limit` more
/// while anything is left, and logs how many samples it gave up on.
pub async fn publish_until_flushed(
    buffer: SampleBuffer,
    bus: Arc<dyn EventBus>,
    shutdown: CancellationToken,
    flush_limit: Duration,
) {
    let mut in_flight: FuturesUnordered<Publishing> = FuturesUnordered::new();
    let mut backoff = Backoff::new(FIRST_RETRY_DELAY, LAST_RETRY_DELAY);
    // Set while the bus is away: nothing is published before then.
    let mut retry_at: Option<Instant> = None;
    let mut bus_away = false;
    let mut flush_deadline: Option<Instant> = None;
    let mut drop_reports = tokio::time::interval(DROP_REPORT_EVERY);
    loop {
        if retry_at.is_none() {
            if bus.is_connected() {
                while in_flight.len() < MAX_IN_FLIGHT {
                    let Some(sample) = buffer.take() else { break };
                    in_flight.push(publish(bus.clone(), sample));
                }
            } else if !buffer.is_empty() {
                // Publishing now would only queue the samples in the client, past our bound.
                retry_at = Some(Instant::now() + backoff.next_delay());
                if !bus_away {
                    bus_away = true;
                    tracing::warn!("the bus is disconnected; buffering samples until it returns");
                }
            }
        }
        if flush_deadline.is_some() && in_flight.is_empty() && buffer.is_empty() {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled(), if flush_deadline.is_none() => {
                flush_deadline = Some(Instant::now() + flush_limit);
            }
            Some((sample, result)) = in_flight.next(), if !in_flight.is_empty() => match result {
                Ok(()) => {
                    buffer.published();
                    backoff.reset();
                    if bus_away {
                        bus_away = false;
                        tracing::info!(waiting = buffer.stats().waiting, "the bus is back; publishing buffered samples");
                    }
                }
                Err(error) => {
                    buffer.put_back(sample);
                    if retry_at.is_none() {
                        retry_at = Some(Instant::now() + backoff.next_delay());
                    }
                    if !bus_away {
                        bus_away = true;
                        tracing::warn!(error = %format!("{error:#}"), "could not publish a sample; buffering samples and retrying");
                    }
                }
            },
            _ = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => retry_at = None,
            _ = buffer.arrived(), if retry_at.is_none() && in_flight.len() < MAX_IN_FLIGHT => {}
            _ = drop_reports.tick() => buffer.report_drops(),
            _ = sleep_until(flush_deadline.unwrap_or_else(Instant::now)), if flush_deadline.is_some() => break,
        }
    }
    buffer.report_drops();
    let left = buffer.stats().waiting + in_flight.len();
    if left > 0 {
        tracing::warn!(left, "stopping with samples the bus has not taken; they are lost");
    }
}

fn publish(bus: Arc<dyn EventBus>, sample: OutgoingSample) -> Publishing {
    Box::pin(async move {
        let result = bus.publish(Stream::Samples, &sample.key, &sample.msg_id, sample.payload.clone()).await;
        (sample, result)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use async_trait::async_trait;
    use bytes::Bytes;
    use futures::stream::BoxStream;
    use healthmon_bus::{DurableConsumer, Message, Naming, StartAt};

    use super::*;

    /// A bus whose connection and failures the test switches, recording what it stored.
    #[derive(Default)]
    struct FakeBus {
        naming: Naming,
        disconnected: AtomicBool,
        failures_left: AtomicUsize,
        stored: Mutex<Vec<String>>,
    }

    impl FakeBus {
        fn stored(&self) -> Vec<String> {
            self.stored.lock().expect("stored").clone()
        }
    }

    #[async_trait]
    impl EventBus for FakeBus {
        fn naming(&self) -> &Naming {
            &self.naming
        }

        async fn publish(&self, _: Stream, _: &str, msg_id: &str, _: Bytes) -> anyhow::Result<()> {
            let failed = self.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            anyhow::ensure!(failed.is_err(), "no responders");
            self.stored.lock().expect("stored").push(msg_id.to_owned());
            Ok(())
        }

        async fn durable_consumer(&self, _: Stream, _: &str, _: Duration) -> anyhow::Result<Box<dyn DurableConsumer>> {
            anyhow::bail!("not in this fake")
        }

        async fn follow(&self, _: Stream, _: StartAt) -> anyhow::Result<BoxStream<'static, anyhow::Result<Message>>> {
            anyhow::bail!("not in this fake")
        }

        async fn keys(&self, _: Stream) -> anyhow::Result<Vec<String>> {
            anyhow::bail!("not in this fake")
        }

        async fn check(&self) -> anyhow::Result<()> {
            Ok(())
        }

        fn is_connected(&self) -> bool {
            !self.disconnected.load(Ordering::SeqCst)
        }
    }

    fn sample(n: usize) -> OutgoingSample {
        OutgoingSample { key: "target".into(), msg_id: n.to_string(), payload: Bytes::from_static(b"{}") }
    }

    fn names(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
        range.map(|n| n.to_string()).collect()
    }

    /// Polls `done` until it holds, failing after a few seconds.
    async fn wait_for(what: &str, done: impl Fn() -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting for {what}");
    }

    fn start(buffer: &SampleBuffer, bus: &Arc<FakeBus>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(publish_until_flushed(
            buffer.clone(),
            bus.clone(),
            shutdown.clone(),
            Duration::from_millis(300),
        ));
        (shutdown, task)
    }

    #[tokio::test]
    async fn samples_wait_out_a_disconnection_and_the_newest_are_published_in_order() {
        let bus = Arc::new(FakeBus { disconnected: AtomicBool::new(true), ..FakeBus::default() });
        let buffer = SampleBuffer::new(3);
        let (shutdown, task) = start(&buffer, &bus);
        for n in 1..=5 {
            buffer.push(sample(n));
        }
        // Absence cannot be waited for: give the publisher two retry rounds to misbehave in.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(bus.stored().is_empty(), "nothing is published while disconnected");
        assert_eq!((buffer.stats().dropped, buffer.stats().waiting), (2, 3));

        bus.disconnected.store(false, Ordering::SeqCst);
        wait_for("the buffered samples to be published", || buffer.stats().published == 3).await;
        assert_eq!(bus.stored(), names(3..=5), "the oldest were dropped, the rest kept their order");
        shutdown.cancel();
        task.await.expect("publisher");
    }

    #[tokio::test]
    async fn failed_publishes_are_retried_until_every_sample_is_stored() {
        let bus = Arc::new(FakeBus { failures_left: AtomicUsize::new(4), ..FakeBus::default() });
        let buffer = SampleBuffer::new(100);
        let (shutdown, task) = start(&buffer, &bus);
        for n in 1..=20 {
            buffer.push(sample(n));
        }
        wait_for("every sample to be published", || buffer.stats().published == 20).await;
        let mut stored = bus.stored();
        assert_eq!(stored.len(), 20, "each stored once: {stored:?}");
        stored.sort_by_key(|id| id.parse::<usize>().expect("a number"));
        assert_eq!(stored, names(1..=20));
        assert_eq!(buffer.stats().dropped, 0);
        shutdown.cancel();
        task.await.expect("publisher");
    }

    #[tokio::test]
    async fn a_stopping_publisher_flushes_what_it_can_then_gives_up_in_time() {
        let bus = Arc::new(FakeBus::default());
        let buffer = SampleBuffer::new(100);
        let (shutdown, task) = start(&buffer, &bus);
        bus.disconnected.store(true, Ordering::SeqCst);
        buffer.push(sample(1));
        buffer.push(sample(2));
        shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(3), task).await;
        assert!(stopped.is_ok(), "the flush is bounded");
        assert_eq!(buffer.stats().waiting, 2, "what the bus never took is left");

        let buffer = SampleBuffer::new(100);
        buffer.push(sample(3));
        let connected = Arc::new(FakeBus::default());
        let (shutdown, task) = start(&buffer, &connected);
        shutdown.cancel();
        task.await.expect("publisher");
        assert_eq!(connected.stored(), names(3..=3), "a reachable bus gets everything before the stop");
    }
}
