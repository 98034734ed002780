//! The bound on password hashing: each argon2id hash holds 19 MiB while it runs, so unbounded
//! concurrent logins (from many addresses, each under its own limits) grew the process by
//! gigabytes. At most one hash per core runs; a few more wait their turn, briefly; the rest are
//! turned away at once, to come back after `Retry-After`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hashes running at once, whatever the cores: each keeps 19 MiB of working memory for reuse, and
/// more would not make a login faster.
const MAX_RUNNING: usize = 8;
/// Waiting hashes per running one: a queue a few hashes deep absorbs a burst of honest logins
/// (a hash takes tens of milliseconds) without letting a storm pile up.
const WAITERS_PER_PERMIT: usize = 4;
/// How long a hash may wait for its turn; a full queue drains well within it.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// What a turned-away caller is told to wait.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// No turn to hash: the running and waiting places are all taken, or the wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many passwords are being checked at once")]
pub struct Busy;

pub struct HashingGate {
    permits: Arc<Semaphore>,
    /// Hashes running or waiting, at most `places`.
    taken: Arc<AtomicUsize>,
    places: usize,
    max_wait: Duration,
}

impl HashingGate {
    pub fn new(running: usize, waiting: usize, max_wait: Duration) -> Self {
        let running = running.max(1);
        Self { permits: Arc::new(Semaphore::new(running)), taken: Arc::default(), places: running + waiting, max_wait }
    }

    /// The process-wide gate: one running hash per core the process may use, up to [`MAX_RUNNING`].
    pub fn global() -> &'static HashingGate {
        static GATE: std::sync::OnceLock<HashingGate> = std::sync::OnceLock::new();
        GATE.get_or_init(|| {
            let running = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(MAX_RUNNING);
            HashingGate::new(running, running * WAITERS_PER_PERMIT, MAX_WAIT)
        })
    }

    /// A turn to hash, once one is free; [`Busy`] at once when every place is taken, or when none
    /// frees up within the wait. The turn lasts until it is dropped.
    pub async fn turn(&self) -> Result<Turn, Busy> {
        let place = self.take_place().ok_or(Busy)?;
        match tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn { _permit: permit, _place: place }),
            // The semaphore is never closed; a timeout is the only way here.
            Ok(Err(_)) | Err(_) => Err(Busy),
        }
    }

    /// A place among the running and waiting hashes, given back when dropped.
    fn take_place(&self) -> Option<Place> {
        let taken = self.taken.fetch_add(1, Ordering::AcqRel);
        let place = Place(self.taken.clone());
        (taken < self.places).then_some(place)
    }
}

/// A running hash's permit and place: held until the hash ends, so the permits bound the memory
/// in use and the places bound the queue.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    _place: Place,
}

struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_running_and_waiting_places_callers_are_turned_away_at_once() {
        // Given a gate for one running and two waiting hashes
        let gate = Arc::new(HashingGate::new(1, 2, Duration::from_secs(5)));
        let running = gate.turn().await.expect("the first turn");
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.turn().await.map(drop) })
            })
            .collect();
        while gate.taken.load(Ordering::Acquire) < 3 {
            tokio::task::yield_now().await;
        }
        // When a fourth asks, it is refused without waiting
        let started = tokio::time::Instant::now();
        assert_eq!(gate.turn().await.map(drop), Err(Busy));
        assert!(started.elapsed() < Duration::from_secs(1));
        // And once the running hash ends, the waiters get their turns in order
        drop(running);
        for waiter in waiters {
            assert_eq!(waiter.await.expect("waiter"), Ok(()));
        }
        assert_eq!(gate.taken.load(Ordering::Acquire), 0, "every place is given back");
        assert!(gate.turn().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gives_up_after_the_wait() {
        let gate = HashingGate::new(1, 4, Duration::from_millis(500));
        let _running = gate.turn().await.expect("the first turn");
        assert_eq!(gate.turn().await.map(drop), Err(Busy));
        assert_eq!(gate.taken.load(Ordering::Acquire), 1, "the waiter's place is given back, the running one kept");
    }

    #[test]
    fn the_global_gate_has_places_for_one_running_hash_per_core_up_to_a_cap_and_their_waiters() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        assert_eq!(HashingGate::global().places, cores.min(MAX_RUNNING) * (1 + WAITERS_PER_PERMIT));
    }
}
