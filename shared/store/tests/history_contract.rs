//! History's contract, on both backends: uptime and series read from rollups and raw edges equal
//! a recomputation from the raw samples, a replay changes nothing, and retention removes exactly
//! what expired while rollups keep answering.

mod support;

use chrono::{DateTime, Duration, Utc};
use healthmon_domain::history::{Cover, Range, Rollup, SlotSpan, bucket_of_slot};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Sample, Target};
use healthmon_store::SampleQuery;
use healthmon_store::history::PurgeStep;
use serde_json::json;
use support::Backend;

contract_tests!(
    totals_and_series_equal_a_recomputation_from_raw_samples,
    a_replayed_batch_changes_no_rollup,
    retention_removes_exactly_the_expired_samples_and_rollups_outlive_them,
    rollups_stay_exact_when_two_processes_take_turns,
    many_targets_rollups_and_newest_transitions_are_read_at_once,
    a_deleted_targets_kept_history_still_counts_its_newest_bucket,
);

const SOURCE: &str = "/healthmon/test/history";

/// A small deterministic generator (xorshift), so that a failure can be replayed from its seed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

async fn created_target(backend: &Backend, name: &str) -> Target {
    let spec = parse_spec(&json!({"name": name, "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 60}))
        .expect("spec");
    let target = Target::create(spec, Utc::now());
    backend.store.create_target(&target, SOURCE).await.expect("create");
    target
}

fn sample(target: &Target, slot: i64, success: bool, latency_ms: f64) -> Sample {
    Sample {
        id: sample_id(target.id, slot),
        target_id: target.id,
        slot,
        at: DateTime::from_timestamp_millis(slot).expect("time"),
        success,
        status_code: Some(if success { 200 } else { 500 }),
        latency_ms,
        error: (!success).then(|| "status 500".to_owned()),
        prober: "p".into(),
        check_version: target.check_version,
        pin_host_key: None,
    }
}

/// Random samples of `target` over the `days` days before `end`, about one every few minutes.
fn random_history(seeded: &mut Seeded, target: &Target, end: i64, days: i64) -> Vec<Sample> {
    let mut slot = end - days * 86_400_000;
    let mut samples = Vec::new();
    while slot < end {
        let latency = (seeded.below(400_000) as f64) / 100.0 + 0.05;
        samples.push(sample(target, slot, seeded.below(10) < 8, latency));
        slot += 1 + seeded.below(400_000) as i64;
    }
    samples
}

fn rollup_between(samples: &[Sample], from_ms: i64, to_ms: i64) -> Rollup {
    Rollup::of(samples.iter().filter(|sample| from_ms <= sample.slot && sample.slot < to_ms))
}

fn assert_same(read: &Rollup, expected: &Rollup, what: &str) {
    assert_eq!((read.samples, read.successes), (expected.samples, expected.successes), "{what}: counts");
    assert_eq!(read.histogram, expected.histogram, "{what}: histogram");
    if expected.samples > 0 {
        assert!((read.latency_sum_ms - expected.latency_sum_ms).abs() < 1e-6 * expected.latency_sum_ms.max(1.0));
        assert_eq!((read.latency_min_ms, read.latency_max_ms), (expected.latency_min_ms, expected.latency_max_ms));
    }
}

async fn ingest_in_batches(backend: &Backend, seeded: &mut Seeded, samples: &[Sample]) {
    let mut rest = samples;
    while !rest.is_empty() {
        let (batch, after) = rest.split_at((1 + seeded.below(300) as usize).min(rest.len()));
        backend.store.ingest(batch, SOURCE).await.expect("ingest");
        rest = after;
    }
}

/// Each process remembers the rollups it wrote last and merges the next batch into them; when
/// the other process wrote them in between, the remembered copy is stale and must not be used.
async fn rollups_stay_exact_when_two_processes_take_turns(backend: &Backend) {
    let target = created_target(backend, "turns").await;
    // Its own handle on both backends (a SQLite file opens twice), so its own memory.
    let other = healthmon_store::connect(&backend.url).await.expect("a second handle");
    let start = bucket_of_slot(Utc::now().timestamp_millis(), 86_400) - 2 * 86_400_000;
    let samples: Vec<Sample> =
        (0..120).map(|i| sample(&target, start + i * 61_000, i % 7 != 0, 1.0 + (i % 13) as f64 * 3.7)).collect();
    // Runs of one, two and three batches per process, so each sometimes merges into its own last
    // write and sometimes into the other's.
    let mut turn = 0;
    for (index, batch) in samples.chunks(4).enumerate() {
        let store = if turn % 2 == 0 { &backend.store } else { &other };
        store.ingest(batch, SOURCE).await.expect("ingest");
        if index % 3 != 1 {
            turn += 1;
        }
    }
    let day = start + 86_400_000;
    for (from, to) in [(start, day), (start, start + 300_000), (start + 3_600_000, start + 7_200_000)] {
        let span = SlotSpan { from_ms: from, to_ms: to };
        let read = backend.store.totals(target.id, &Cover::of_all(&[span]), i64::MIN).await.expect("totals");
        assert_same(&read, &rollup_between(&samples, from, to), &format!("{from}..{to}"));
    }
}

async fn totals_and_series_equal_a_recomputation_from_raw_samples(backend: &Backend) {
    let now = Utc::now();
    let end = now.timestamp_millis();
    let (first, second) = (created_target(backend, "first").await, created_target(backend, "second").await);
    for seed in [7, 1_234_567, 0x9e37_79b9] {
        let mut seeded = Seeded(seed);
        let history = [random_history(&mut seeded, &first, end, 3), random_history(&mut seeded, &second, end, 2)];
        // Every ninth sample comes late, after newer ones (from a prober that fell behind): it
        // lands in buckets already closed, and in hours and days already folded.
        let in_order = history.concat();
        let late = |index: &usize| index % 9 == 4;
        let mut all: Vec<Sample> = (0..in_order.len())
            .filter(|index| !late(index))
            .chain((0..in_order.len()).filter(late))
            .map(|index| in_order[index].clone())
            .collect();
        // A sample already stored comes again, as after a redelivery.
        all.extend(history[0].iter().take(50).cloned());
        ingest_in_batches(backend, &mut seeded, &all).await;
        for _ in 0..12 {
            let length = 1 + seeded.below(4 * 86_400_000) as i64;
            let from = end - seeded.below(4 * 86_400_000) as i64;
            let range = Range {
                from: DateTime::from_timestamp_millis(from).expect("from"),
                to: DateTime::from_timestamp_millis(from + length).expect("to"),
            };
            let cover = Cover::of(&range);
            let (from, to) = (range.from.timestamp_millis(), range.to.timestamp_millis());
            let read = backend.store.totals(first.id, &cover, i64::MIN).await.expect("totals");
            assert_same(&read, &rollup_between(&history[0], from, to), &format!("seed {seed}, {range:?}"));

            let counts = backend.store.uptime_counts(&[first.id, second.id], &cover, i64::MIN).await.expect("counts");
            for (target, samples) in [&first, &second].into_iter().zip(&history) {
                let expected = rollup_between(samples, from, to);
                let got = counts.get(&target.id).copied().unwrap_or_default();
                assert_eq!((got.samples, got.successes), (expected.samples, expected.successes), "seed {seed}");
            }

            for step_s in [60u32, 300, 3600, 86_400] {
                let step_ms = i64::from(step_s) * 1000;
                let span =
                    SlotSpan { from_ms: bucket_of_slot(from, step_s), to_ms: bucket_of_slot(to - 1, step_s) + step_ms };
                let series = backend.store.series(first.id, step_s, span, i64::MIN).await.expect("series");
                let mut expected: Vec<(i64, u64, u64)> = Vec::new();
                let mut start = span.from_ms;
                while start < span.to_ms {
                    let bucket = rollup_between(&history[0], start, start + step_ms);
                    if bucket.samples > 0 {
                        expected.push((start, bucket.samples, bucket.successes));
                    }
                    start += step_ms;
                }
                let got: Vec<(i64, u64, u64)> =
                    series.iter().map(|bucket| (bucket.start_ms, bucket.samples, bucket.successes)).collect();
                assert_eq!(got, expected, "seed {seed}, step {step_s}");
            }
        }
        // The next seed's samples come on top of these: clear them by starting over with new slots.
        backend.store.delete_target(first.id, false, SOURCE).await.expect("delete");
        backend.store.delete_target(second.id, false, SOURCE).await.expect("delete");
        backend.store.create_target(&first, SOURCE).await.expect("recreate");
        backend.store.create_target(&second, SOURCE).await.expect("recreate");
    }
}

async fn a_replayed_batch_changes_no_rollup(backend: &Backend) {
    let target = created_target(backend, "replayed").await;
    let end = Utc::now().timestamp_millis();
    let samples = random_history(&mut Seeded(42), &target, end, 1);
    backend.store.ingest(&samples, SOURCE).await.expect("ingest");
    let day = Cover::of(&Range { from: Utc::now() - Duration::days(2), to: Utc::now() });
    let before = backend.store.totals(target.id, &day, i64::MIN).await.expect("totals");
    let outcome = backend.store.ingest(&samples, SOURCE).await.expect("replay");
    assert_eq!(outcome.stored, 0, "nothing new in a replay");
    let after = backend.store.totals(target.id, &day, i64::MIN).await.expect("totals");
    assert_eq!(after, before);
    assert_eq!(after.samples, samples.len() as u64);
}

async fn retention_removes_exactly_the_expired_samples_and_rollups_outlive_them(backend: &Backend) {
    let target = created_target(backend, "kept").await;
    let now = Utc::now();
    let today = bucket_of_slot(now.timestamp_millis(), 86_400);
    if backend.kind == "postgres" {
        // Days of their own, as a store that ran through them would have made.
        let pool = sqlx::PgPool::connect(&backend.url).await.expect("connect");
        sqlx::query("SELECT healthmon_create_sample_partitions($1, 12)")
            .bind(today / 86_400_000 - 10)
            .execute(&pool)
            .await
            .expect("partitions");
    }
    // Ten days of a sample every ten minutes, ending an hour ago.
    let samples: Vec<Sample> = (0..10 * 144)
        .map(|index| sample(&target, today - 9 * 86_400_000 + index * 600_000, index % 5 != 0, 10.0))
        .filter(|sample| sample.slot < now.timestamp_millis())
        .collect();
    backend.store.ingest(&samples, SOURCE).await.expect("ingest");

    // Raw samples expire after 3 days and a half; rollups after 8 days.
    let samples_before = now.timestamp_millis() - 84 * 3_600_000;
    let rollups_before = today - 8 * 86_400_000;
    let step = PurgeStep {
        now,
        samples_before_slot: Some(samples_before),
        rollups_before_bucket: Some(rollups_before),
        batch: 100,
    };
    let mut steps = 0;
    while backend.store.purge_history(&step).await.expect("purge").more {
        steps += 1;
        assert!(steps < 1000, "the purge ends");
    }
    assert!(steps >= 2, "it went in small steps: {steps}");

    let mut kept = Vec::new();
    let mut query = SampleQuery { target_id: target.id, limit: 1000, ..Default::default() };
    loop {
        let page = backend.store.samples(&query).await.expect("samples");
        kept.extend(page.items.iter().map(|sample| sample.slot));
        let Some(cursor) = page.next_cursor else { break };
        query.before_slot = Some(cursor.parse().expect("cursor"));
    }
    kept.reverse();
    let expected: Vec<i64> = samples.iter().map(|sample| sample.slot).filter(|slot| *slot >= samples_before).collect();
    // Postgres drops whole days only; samples of the day the horizon falls in stay until it has
    // passed, and reads leave them out by their slot.
    let visible: Vec<i64> = kept.iter().copied().filter(|slot| *slot >= samples_before).collect();
    assert_eq!(visible, expected, "every unexpired sample is kept");
    assert!(
        kept.iter().all(|slot| *slot >= today - 4 * 86_400_000),
        "every day wholly expired is gone ({} kept, oldest {:?})",
        kept.len(),
        kept.first()
    );

    // Rollups answer for the days whose raw samples are gone, and not before their own horizon.
    let span = SlotSpan { from_ms: rollups_before, to_ms: today };
    let read = backend.store.totals(target.id, &Cover::of_all(&[span]), samples_before).await.expect("totals");
    assert_same(&read, &rollup_between(&samples, rollups_before, today), "rollups outlive raw samples");
    let old = SlotSpan { from_ms: today - 9 * 86_400_000, to_ms: rollups_before };
    let gone = backend.store.totals(target.id, &Cover::of_all(&[old]), samples_before).await.expect("totals");
    assert_eq!(gone.samples, 0, "expired rollups are gone");

    // A retention of seconds ends its purge too: no day is made again once it has expired.
    let short = PurgeStep { samples_before_slot: Some(now.timestamp_millis() - 6_000), ..step };
    let mut steps = 0;
    while backend.store.purge_history(&short).await.expect("purge").more {
        steps += 1;
        assert!(steps < 50, "a purge with a retention of seconds ends");
    }
}

async fn many_targets_rollups_and_newest_transitions_are_read_at_once(backend: &Backend) {
    let (first, second, other) = (
        created_target(backend, "first").await,
        created_target(backend, "second").await,
        created_target(backend, "other").await,
    );
    let hour = bucket_of_slot(Utc::now().timestamp_millis(), 3600) - 3 * 3_600_000;
    // first: three successes in one hour, then five failures (unhealthy after three); second:
    // one slow success two hours later; other: samples that no read below asks for.
    let mut samples: Vec<Sample> =
        (0..3).map(|i| sample(&first, hour + i * 60_000, true, 10.0 * (i + 1) as f64)).collect();
    samples.extend((3..8).map(|i| sample(&first, hour + i * 60_000, false, 5.0)));
    samples.push(sample(&second, hour + 2 * 3_600_000, true, 400.0));
    samples.push(sample(&other, hour, false, 1.0));
    backend.store.ingest(&samples, SOURCE).await.expect("ingest");

    let span = SlotSpan { from_ms: hour, to_ms: hour + 3 * 3_600_000 };
    let mut rows = backend.store.rollup_buckets(&[first.id, second.id], 3600, span).await.expect("rollups");
    rows.sort_by_key(|(id, bucket)| (bucket.start_ms, *id));
    let read: Vec<_> = rows.iter().map(|(id, b)| (*id, b.start_ms, b.samples, b.successes, b.latency_max_ms)).collect();
    assert_eq!(read, [(first.id, hour, 8, 3, 30.0), (second.id, hour + 2 * 3_600_000, 1, 1, 400.0)]);
    let sum: f64 = rows[0].1.latency_sum_ms;
    assert!((sum - 85.0).abs() < 1e-9, "10 + 20 + 30 + 5 × 5: {sum}");
    let later = SlotSpan { from_ms: hour + 3_600_000, to_ms: hour + 3 * 3_600_000 };
    let rows = backend.store.rollup_buckets(&[first.id, second.id], 3600, later).await.expect("rollups");
    assert_eq!(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [second.id], "the span bounds the buckets");
    assert!(backend.store.rollup_buckets(&[], 3600, span).await.expect("none").is_empty());

    let newest = backend.store.recent_transitions(&[first.id, second.id], 10).await.expect("transitions");
    let moves: Vec<_> = newest.iter().map(|t| (t.target_id, t.to)).collect();
    assert!(moves.contains(&(first.id, healthmon_domain::HealthStatus::Unhealthy)), "{moves:?}");
    assert!(newest.iter().all(|t| t.target_id != other.id), "{moves:?}");
    assert!(newest.windows(2).all(|pair| pair[0].seq > pair[1].seq), "newest first: {moves:?}");
    let one = backend.store.recent_transitions(&[first.id, second.id], 1).await.expect("transitions");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].seq, newest[0].seq);
}

/// The newest five-minute bucket is open (counted in its hour only by readers, through the
/// health row); deleting the target with its history kept folds it first.
async fn a_deleted_targets_kept_history_still_counts_its_newest_bucket(backend: &Backend) {
    let target = created_target(backend, "kept").await;
    let hour = bucket_of_slot(Utc::now().timestamp_millis(), 3600) - 3 * 3_600_000;
    let samples: Vec<Sample> = (0..30).map(|i| sample(&target, hour + i * 60_000, i % 4 != 0, 2.0)).collect();
    backend.store.ingest(&samples, SOURCE).await.expect("ingest");
    let the_hour = Cover::of_all(&[SlotSpan { from_ms: hour, to_ms: hour + 3_600_000 }]);
    assert_eq!(the_hour.raw, Vec::new(), "the hour is read from its rollup alone");
    let before = backend.store.totals(target.id, &the_hour, i64::MIN).await.expect("totals");
    assert_same(&before, &Rollup::of(samples.iter()), "before the delete");

    assert!(backend.store.delete_target(target.id, true, SOURCE).await.expect("delete"));
    let after = backend.store.totals(target.id, &the_hour, i64::MIN).await.expect("totals");
    assert_same(&after, &Rollup::of(samples.iter()), "after the delete, history kept");
}
