//! The bounded queue behind the sample buffer, and the summary of what it dropped: pure logic,
//! no locks, clocks or I/O.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A FIFO queue of at most `bound` items that makes room for a new item by dropping the oldest.
#[derive(Debug)]
pub struct BoundedQueue<T> {
    items: VecDeque<T>,
    bound: usize,
}

impl<T> BoundedQueue<T> {
    /// A bound of zero is taken as one: a queue that holds nothing would drop every sample.
    pub fn new(bound: usize) -> Self {
        Self { items: VecDeque::new(), bound: bound.max(1) }
    }

    /// Adds the newest item; when the queue was full, returns the oldest one, which made room.
    pub fn push_newest(&mut self, item: T) -> Option<T> {
        let dropped = if self.items.len() >= self.bound { self.items.pop_front() } else { None };
        self.items.push_back(item);
        dropped
    }

    /// Puts back an item taken earlier (say a failed publish) in front of everything queued since,
    /// so order is roughly kept. Being older than all of them, it is the one dropped, and returned,
    /// when the queue is full.
    pub fn push_oldest(&mut self, item: T) -> Option<T> {
        if self.items.len() >= self.bound {
            return Some(item);
        }
        self.items.push_front(item);
        None
    }

    pub fn pop_oldest(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Turns a stream of drops into occasional log lines: the first drop is reported at once, later
/// ones at most once per `every`, as a count.
#[derive(Debug)]
pub struct DropSummary {
    every: Duration,
    unreported: u64,
    last_report: Option<Instant>,
}

impl DropSummary {
    pub fn new(every: Duration) -> Self {
        Self { every, unreported: 0, last_report: None }
    }

    /// Counts one drop at `now`; returns how many to report now, if a report is due.
    pub fn record(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        match self.last_report {
            Some(last) if now.duration_since(last) < self.every => None,
            _ => self.report(now),
        }
    }

    /// The drops not reported yet, if any (for a periodic or final report).
    pub fn report(&mut self, now: Instant) -> Option<u64> {
        if self.unreported == 0 {
            return None;
        }
        self.last_report = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<T>(queue: &mut BoundedQueue<T>) -> Vec<T> {
        std::iter::from_fn(|| queue.pop_oldest()).collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_keeps_the_newest_in_order() {
        let mut queue = BoundedQueue::new(3);
        let dropped: Vec<u32> = (1..=5).filter_map(|n| queue.push_newest(n)).collect();
        assert_eq!(dropped, vec![1, 2]);
        assert_eq!(queue.len(), 3);
        assert_eq!(drain(&mut queue), vec![3, 4, 5]);
        assert!(queue.is_empty());
    }

    #[test]
    fn an_item_put_back_goes_first_unless_the_queue_is_full() {
        let mut queue = BoundedQueue::new(3);
        queue.push_newest(2);
        queue.push_newest(3);
        assert_eq!(queue.push_oldest(1), None);
        assert_eq!(queue.push_oldest(0), Some(0), "full: the put-back item is the oldest, so it goes");
        assert_eq!(drain(&mut queue), vec![1, 2, 3]);
    }

    #[test]
    fn a_zero_bound_still_holds_the_newest_item() {
        let mut queue = BoundedQueue::new(0);
        assert_eq!(queue.push_newest('a'), None);
        assert_eq!(queue.push_newest('b'), Some('a'));
        assert_eq!(drain(&mut queue), vec!['b']);
    }

    #[test]
    fn drops_are_reported_first_at_once_then_summarised() {
        let start = Instant::now();
        let mut summary = DropSummary::new(Duration::from_secs(10));
        assert_eq!(summary.record(start), Some(1), "the first drop is news");
        let within: Vec<Option<u64>> =
            (1..=4).map(|second| summary.record(start + Duration::from_secs(second))).collect();
        assert_eq!(within, vec![None; 4], "then quiet for the period");
        assert_eq!(summary.record(start + Duration::from_secs(10)), Some(5), "then a count of all since");
        assert_eq!(summary.report(start + Duration::from_secs(11)), None, "nothing left to report");
        summary.record(start + Duration::from_secs(12));
        assert_eq!(summary.report(start + Duration::from_secs(13)), Some(1), "a final report takes the rest");
    }
}
