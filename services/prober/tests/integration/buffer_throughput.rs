//! How many samples a second the sample buffer gets into the real NATS at
//! `HEALTHMON_TEST_NATS_URL` (default nats://127.0.0.1:4222). A measurement, not a check run every
//! time: `cargo test -p healthmon-prober --test integration buffer_throughput -- --ignored
//! --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use healthmon_bus::{EventBus, Naming, NatsBus, Stream};
use healthmon_prober::buffer::{self, OutgoingSample, SampleBuffer};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const SAMPLES: usize = 30_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run on demand"]
async fn measure_publish_rate() {
    let url = std::env::var("HEALTHMON_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let naming = Naming::new(format!("t{}", Uuid::new_v4().simple()));
    let nats = NatsBus::connect(&url, naming, Default::default()).await.expect("connect to NATS");
    let buffer = SampleBuffer::new(SAMPLES);
    let payload = Bytes::from(vec![b'x'; 400]);
    let started = Instant::now();
    let shutdown = CancellationToken::new();
    let bus: Arc<dyn EventBus> = Arc::new(nats.clone());
    let publisher =
        tokio::spawn(buffer::publish_until_flushed(buffer.clone(), bus, shutdown.clone(), Duration::from_secs(60)));
    for n in 0..SAMPLES {
        let key = format!("{}", Uuid::from_u128(n as u128 % 10_000));
        buffer.push(OutgoingSample { key, msg_id: Uuid::new_v4().to_string(), payload: payload.clone() });
    }
    shutdown.cancel();
    publisher.await.expect("publisher");
    let elapsed = started.elapsed();
    let stats = buffer.stats();
    let rate = stats.published as f64 / elapsed.as_secs_f64();
    println!("{} samples published in {elapsed:?}: {rate:.0} a second", stats.published);
    for stream in Stream::ALL {
        let _ = nats.jetstream().delete_stream(nats.naming().stream_name(stream)).await;
    }
    assert_eq!(stats.published, SAMPLES as u64);
    assert!(rate >= 10_000.0, "{rate:.0} samples a second");
}
