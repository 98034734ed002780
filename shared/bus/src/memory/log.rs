//! One stream's in-memory log: sequence numbers, msg-id de-duplication, retention limits and the
//! keep-only-the-newest-per-subject rule of the targets stream.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::Message;

/// JetStream's `duplicate_window` as configured for every healthmon stream.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// What a log keeps.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retention {
    /// The oldest messages are dropped beyond this count, so memory stays bounded.
    pub max_messages: usize,
    pub max_age: Option<Duration>,
    /// JetStream `max_messages_per_subject = 1`.
    pub newest_per_subject_only: bool,
}

struct StoredMessage {
    subject: String,
    payload: Bytes,
    stored_at: Instant,
}

pub(super) struct Log {
    retention: Retention,
    messages: BTreeMap<u64, StoredMessage>,
    last_sequence: u64,
    /// Filled only when `newest_per_subject_only`.
    sequence_by_subject: HashMap<String, u64>,
    recent_msg_ids: HashMap<String, Instant>,
    recent_msg_ids_by_age: VecDeque<(Instant, String)>,
}

impl Log {
    pub fn new(retention: Retention) -> Self {
        Self {
            retention,
            messages: BTreeMap::new(),
            last_sequence: 0,
            sequence_by_subject: HashMap::new(),
            recent_msg_ids: HashMap::new(),
            recent_msg_ids_by_age: VecDeque::new(),
        }
    }

    /// Stores the message and returns its sequence, or `None` when `msg_id` is a duplicate.
    pub fn append(&mut self, subject: String, msg_id: &str, payload: Bytes, now: Instant) -> Option<u64> {
        self.forget_msg_ids_older_than(now);
        if self.recent_msg_ids.contains_key(msg_id) {
            return None;
        }
        self.recent_msg_ids.insert(msg_id.to_owned(), now);
        self.recent_msg_ids_by_age.push_back((now, msg_id.to_owned()));

        self.last_sequence += 1;
        let sequence = self.last_sequence;
        if self.retention.newest_per_subject_only
            && let Some(superseded) = self.sequence_by_subject.insert(subject.clone(), sequence)
        {
            self.messages.remove(&superseded);
        }
        self.messages.insert(sequence, StoredMessage { subject, payload, stored_at: now });
        self.enforce_limits(now);
        Some(sequence)
    }

    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    pub fn message(&self, sequence: u64) -> Option<Message> {
        self.messages.get(&sequence).map(|stored| to_message(sequence, stored))
    }

    /// Up to `limit` stored messages with a sequence above `sequence`, in order.
    pub fn after(&self, sequence: u64, limit: usize) -> Vec<Message> {
        self.messages
            .range(sequence.saturating_add(1)..)
            .take(limit)
            .map(|(&seq, stored)| to_message(seq, stored))
            .collect()
    }

    /// How many stored messages have a sequence above `sequence`; walks them, which is fine at the
    /// in-process bus's sizes and a metrics scrape's pace.
    pub fn count_after(&self, sequence: u64) -> u64 {
        let count = self.messages.range(sequence.saturating_add(1)..).count();
        u64::try_from(count).unwrap_or(u64::MAX)
    }

    /// Every subject with at least one stored message, each once.
    pub fn subjects(&self) -> BTreeSet<&str> {
        self.messages.values().map(|stored| stored.subject.as_str()).collect()
    }

    fn forget_msg_ids_older_than(&mut self, now: Instant) {
        while let Some((seen_at, _)) = self.recent_msg_ids_by_age.front() {
            if now.saturating_duration_since(*seen_at) < DUPLICATE_WINDOW {
                break;
            }
            if let Some((_, msg_id)) = self.recent_msg_ids_by_age.pop_front() {
                self.recent_msg_ids.remove(&msg_id);
            }
        }
    }

    fn enforce_limits(&mut self, now: Instant) {
        while self.messages.len() > self.retention.max_messages {
            self.drop_oldest();
        }
        if let Some(max_age) = self.retention.max_age {
            while let Some((_, oldest)) = self.messages.first_key_value() {
                if now.saturating_duration_since(oldest.stored_at) < max_age {
                    break;
                }
                self.drop_oldest();
            }
        }
    }

    fn drop_oldest(&mut self) {
        if let Some((sequence, dropped)) = self.messages.pop_first()
            && self.sequence_by_subject.get(&dropped.subject) == Some(&sequence)
        {
            self.sequence_by_subject.remove(&dropped.subject);
        }
    }
}

fn to_message(sequence: u64, stored: &StoredMessage) -> Message {
    Message { subject: stored.subject.clone(), payload: stored.payload.clone(), sequence }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention(max_messages: usize) -> Retention {
        Retention { max_messages, max_age: None, newest_per_subject_only: false }
    }

    fn payloads(log: &Log) -> Vec<Bytes> {
        log.after(0, usize::MAX).into_iter().map(|message| message.payload).collect()
    }

    #[test]
    fn duplicate_msg_id_is_stored_once_within_the_window_and_again_after_it() {
        let mut log = Log::new(retention(10));
        let start = Instant::now();
        assert_eq!(log.append("s.a".into(), "id", Bytes::from("1"), start), Some(1));
        assert_eq!(log.append("s.a".into(), "id", Bytes::from("2"), start + Duration::from_secs(119)), None);
        assert_eq!(log.append("s.a".into(), "id", Bytes::from("3"), start + DUPLICATE_WINDOW), Some(2));
        assert_eq!(payloads(&log), vec![Bytes::from("1"), Bytes::from("3")]);
    }

    #[test]
    fn oldest_messages_are_dropped_beyond_the_cap() {
        let mut log = Log::new(retention(2));
        let now = Instant::now();
        for (n, payload) in ["1", "2", "3"].into_iter().enumerate() {
            log.append("s.a".into(), &n.to_string(), Bytes::from(payload), now);
        }
        assert_eq!(payloads(&log), vec![Bytes::from("2"), Bytes::from("3")]);
        assert_eq!(log.last_sequence(), 3);
        assert!(log.message(1).is_none());
    }

    #[test]
    fn messages_older_than_max_age_are_dropped() {
        let mut log = Log::new(Retention { max_age: Some(Duration::from_secs(60)), ..retention(10) });
        let start = Instant::now();
        log.append("s.a".into(), "1", Bytes::from("old"), start);
        log.append("s.a".into(), "2", Bytes::from("new"), start + Duration::from_secs(61));
        assert_eq!(payloads(&log), vec![Bytes::from("new")]);
    }

    #[test]
    fn newest_per_subject_replaces_the_older_message_of_that_subject() {
        let mut log = Log::new(Retention { newest_per_subject_only: true, ..retention(10) });
        let now = Instant::now();
        log.append("t.a".into(), "1", Bytes::from("a1"), now);
        log.append("t.b".into(), "2", Bytes::from("b1"), now);
        log.append("t.a".into(), "3", Bytes::from("a2"), now);
        assert_eq!(payloads(&log), vec![Bytes::from("b1"), Bytes::from("a2")]);
        assert_eq!(log.after(0, 10).iter().map(|message| message.sequence).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn subjects_are_those_still_held_each_once() {
        let mut log = Log::new(retention(2));
        let now = Instant::now();
        log.append("s.a".into(), "1", Bytes::from("dropped by the cap"), now);
        log.append("s.b".into(), "2", Bytes::from("b1"), now);
        log.append("s.b".into(), "3", Bytes::from("b2"), now);
        assert_eq!(log.subjects().into_iter().collect::<Vec<_>>(), vec!["s.b"]);
    }
}
