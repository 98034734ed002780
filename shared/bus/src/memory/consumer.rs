//! Durable consumers of the in-process bus: their state lives in the stream (cursor, pending
//! deliveries with deadlines, delivery counts), so handles with one name compete and a dropped
//! handle's unacked messages go to whichever handle fetches after their ack wait.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::StreamShared;
use super::log::Log;
use crate::{Acknowledge, ConsumerStats, Delivery, DurableConsumer, Message};

/// Like JetStream's `max_ack_pending`: no new messages are delivered while this many are unacked.
const MAX_ACK_PENDING: usize = 20_000;

struct PendingDelivery {
    /// When it becomes due again: its ack deadline, or the end of its nak delay.
    due_at: Instant,
    delivered: u64,
}

pub(super) struct ConsumerState {
    ack_wait: Duration,
    /// The highest sequence ever delivered; new messages come after it.
    cursor: u64,
    pending: BTreeMap<u64, PendingDelivery>,
}

impl ConsumerState {
    pub fn new(ack_wait: Duration) -> Self {
        Self { ack_wait, cursor: 0, pending: BTreeMap::new() }
    }

    pub fn set_ack_wait(&mut self, ack_wait: Duration) {
        self.ack_wait = ack_wait;
    }

    /// Due redeliveries first, then new messages; each one becomes pending until `now + ack_wait`.
    fn take(&mut self, log: &Log, max: usize, now: Instant) -> Vec<(Message, u64)> {
        let mut taken = Vec::new();
        let due: Vec<u64> =
            self.pending.iter().filter(|(_, pending)| pending.due_at <= now).map(|(&seq, _)| seq).take(max).collect();
        for sequence in due {
            match (log.message(sequence), self.pending.get_mut(&sequence)) {
                (Some(message), Some(pending)) => {
                    pending.delivered += 1;
                    pending.due_at = now + self.ack_wait;
                    taken.push((message, pending.delivered));
                }
                // Dropped from the log by retention or superseded in the targets stream: nothing to redeliver.
                _ => {
                    self.pending.remove(&sequence);
                }
            }
        }
        let room = max.saturating_sub(taken.len()).min(MAX_ACK_PENDING.saturating_sub(self.pending.len()));
        for message in log.after(self.cursor, room) {
            self.cursor = message.sequence;
            self.pending.insert(message.sequence, PendingDelivery { due_at: now + self.ack_wait, delivered: 1 });
            taken.push((message, 1));
        }
        taken
    }

    fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|pending| pending.due_at).min()
    }

    /// Whether removing one pending delivery may let new messages flow again.
    fn at_pending_limit(&self) -> bool {
        self.pending.len() >= MAX_ACK_PENDING
    }
}

pub(super) struct MemoryConsumer {
    pub shared: Arc<StreamShared>,
    pub name: String,
    pub ack_wait: Duration,
}

#[async_trait]
impl DurableConsumer for MemoryConsumer {
    async fn fetch(&mut self, max: usize, wait: Duration) -> anyhow::Result<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let give_up_at = Instant::now() + wait;
        // Subscribed before each look at the state, so a change made after the look still wakes us.
        let mut appended = self.shared.appended.subscribe();
        let mut consumers_changed = self.shared.consumers_changed.subscribe();
        loop {
            appended.borrow_and_update();
            consumers_changed.borrow_and_update();
            let (taken, next_due) = {
                let mut state = self.shared.lock();
                let state = &mut *state;
                let consumer =
                    state.consumers.entry(self.name.clone()).or_insert_with(|| ConsumerState::new(self.ack_wait));
                (consumer.take(&state.log, max, Instant::now()), consumer.next_due())
            };
            if !taken.is_empty() {
                return Ok(taken.into_iter().map(|(message, delivered)| self.delivery(message, delivered)).collect());
            }
            if Instant::now() >= give_up_at {
                return Ok(Vec::new());
            }
            let wake_at = next_due.map_or(give_up_at, |due| due.min(give_up_at));
            tokio::select! {
                _ = appended.changed() => {}
                _ = consumers_changed.changed() => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    /// Due redeliveries come before new messages in [`ConsumerState::take`], in sequence order.
    async fn reclaim_unacked(&mut self) -> anyhow::Result<()> {
        self.reclaim().await;
        Ok(())
    }

    async fn stats(&mut self) -> anyhow::Result<ConsumerStats> {
        let state = self.shared.lock();
        let Some(consumer) = state.consumers.get(&self.name) else { return Ok(ConsumerStats::default()) };
        let to_u64 = |count: usize| u64::try_from(count).unwrap_or(u64::MAX);
        Ok(ConsumerStats {
            pending: state.log.count_after(consumer.cursor),
            ack_pending: to_u64(consumer.pending.len()),
            redelivered: to_u64(consumer.pending.values().filter(|pending| pending.delivered > 1).count()),
        })
    }
}

impl MemoryConsumer {
    async fn reclaim(&self) {
        let now = Instant::now();
        {
            let mut state = self.shared.lock();
            if let Some(consumer) = state.consumers.get_mut(&self.name) {
                for pending in consumer.pending.values_mut() {
                    pending.due_at = now;
                }
            }
        }
        self.shared.consumers_changed.send_modify(|version| *version += 1);
    }

    fn delivery(&self, message: Message, delivered: u64) -> Delivery {
        let acker = MemoryAcker {
            shared: self.shared.clone(),
            consumer: self.name.clone(),
            sequence: message.sequence,
            delivered,
        };
        Delivery::new(message, delivered, Box::new(acker))
    }
}

struct MemoryAcker {
    shared: Arc<StreamShared>,
    consumer: String,
    sequence: u64,
    /// Tells this delivery from a later redelivery of the same message.
    delivered: u64,
}

impl MemoryAcker {
    /// Settles the message for good; a late ack from an earlier delivery counts too.
    fn settle(&self) {
        let freed_room = {
            let mut state = self.shared.lock();
            match state.consumers.get_mut(&self.consumer) {
                Some(consumer) => {
                    let was_at_limit = consumer.at_pending_limit();
                    consumer.pending.remove(&self.sequence).is_some() && was_at_limit
                }
                None => false,
            }
        };
        if freed_room {
            self.shared.consumers_changed.send_modify(|version| *version += 1);
        }
    }
}

#[async_trait]
impl Acknowledge for MemoryAcker {
    async fn ack(&self) -> anyhow::Result<()> {
        self.settle();
        Ok(())
    }

    async fn nak(&self, delay: Duration) -> anyhow::Result<()> {
        let rescheduled = {
            let mut state = self.shared.lock();
            let pending =
                state.consumers.get_mut(&self.consumer).and_then(|consumer| consumer.pending.get_mut(&self.sequence));
            match pending {
                // A nak from a superseded delivery must not disturb the current one.
                Some(pending) if pending.delivered == self.delivered => {
                    pending.due_at = Instant::now() + delay;
                    true
                }
                _ => false,
            }
        };
        if rescheduled {
            // Waiting fetches computed their wake-up time from the old deadline.
            self.shared.consumers_changed.send_modify(|version| *version += 1);
        }
        Ok(())
    }

    async fn term(&self) -> anyhow::Result<()> {
        self.settle();
        Ok(())
    }
}
