//! Time a target spent down within a span, from its transitions: what `downtime_s` reports, and
//! the union of spans that maintenance time will be read from.

use chrono::{DateTime, Duration, Utc};

use super::Range;
use crate::HealthStatus;

/// Whether time in `status` is downtime. Only `unhealthy` is: `unknown` and `paused` say nothing
/// about the target, and `stale` means healthmon stopped hearing from it, which may be its own
/// fault (a stopped prober) rather than the target's.
pub fn is_down(status: HealthStatus) -> bool {
    status == HealthStatus::Unhealthy
}

/// Time within `range` spent down, given the status at `range.from` and the changes after it
/// (`(at, new status)`, ascending; changes outside the range are ignored).
pub fn downtime(status_at_start: HealthStatus, changes: &[(DateTime<Utc>, HealthStatus)], range: &Range) -> Duration {
    let down_spans = spans_in(status_at_start, changes, range, is_down);
    union_length(&down_spans, range)
}

/// The spans within `range` during which `status` satisfied `pick`.
fn spans_in(
    status_at_start: HealthStatus,
    changes: &[(DateTime<Utc>, HealthStatus)],
    range: &Range,
    pick: fn(HealthStatus) -> bool,
) -> Vec<Range> {
    let mut spans = Vec::new();
    let (mut status, mut since) = (status_at_start, range.from);
    for (at, next) in changes.iter().filter(|(at, _)| range.from < *at && *at < range.to) {
        if pick(status) {
            spans.push(Range { from: since, to: *at });
        }
        (status, since) = (*next, *at);
    }
    if pick(status) {
        spans.push(Range { from: since, to: range.to });
    }
    spans
}

/// How much of `range` the union of `spans` covers (spans may overlap, touch, or reach outside).
pub fn union_length(spans: &[Range], range: &Range) -> Duration {
    union_within(spans, range).iter().fold(Duration::zero(), |total, span| total + span.length())
}

/// The union of `spans` clipped to `range`: disjoint, not touching, in order.
pub fn union_within(spans: &[Range], range: &Range) -> Vec<Range> {
    let mut clipped: Vec<Range> = spans
        .iter()
        .map(|span| Range { from: span.from.max(range.from), to: span.to.min(range.to) })
        .filter(|span| span.from < span.to)
        .collect();
    clipped.sort_by_key(|span| span.from);
    let mut union: Vec<Range> = Vec::with_capacity(clipped.len());
    for span in clipped {
        match union.last_mut() {
            Some(open) if span.from <= open.to => open.to = open.to.max(span.to),
            _ => union.push(span),
        }
    }
    union
}

/// What is left of `range` once the union of `spans` is taken out of it, in order.
pub fn outside(spans: &[Range], range: &Range) -> Vec<Range> {
    let mut left = Vec::new();
    let mut from = range.from;
    for span in union_within(spans, range) {
        if from < span.from {
            left.push(Range { from, to: span.from });
        }
        from = span.to;
    }
    if from < range.to {
        left.push(Range { from, to: range.to });
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatus::{Healthy, Stale, Unhealthy};

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minute)
    }

    fn hour() -> Range {
        Range { from: at(0), to: at(60) }
    }

    #[test]
    fn a_target_down_all_along_was_down_the_whole_span() {
        assert_eq!(downtime(Unhealthy, &[], &hour()), Duration::minutes(60));
        assert_eq!(downtime(Healthy, &[], &hour()), Duration::zero());
    }

    #[test]
    fn each_outage_counts_from_its_change_to_the_next() {
        let changes = [(at(10), Unhealthy), (at(15), Healthy), (at(50), Unhealthy)];
        assert_eq!(downtime(Healthy, &changes, &hour()), Duration::minutes(5 + 10));
    }

    #[test]
    fn changes_outside_the_span_are_ignored_and_stale_is_not_down() {
        let changes = [(at(-5), Healthy), (at(20), Stale), (at(30), Unhealthy), (at(90), Healthy)];
        assert_eq!(downtime(Unhealthy, &changes, &hour()), Duration::minutes(20 + 30));
    }

    #[test]
    fn overlapping_and_touching_spans_count_once_and_only_inside_the_range() {
        let spans = [
            Range { from: at(-10), to: at(5) },
            Range { from: at(5), to: at(10) },
            Range { from: at(30), to: at(40) },
            Range { from: at(35), to: at(45) },
            Range { from: at(55), to: at(70) },
            Range { from: at(80), to: at(90) },
        ];
        assert_eq!(union_length(&spans, &hour()), Duration::minutes(10 + 15 + 5));
        assert_eq!(union_length(&[], &hour()), Duration::zero());
    }

    #[test]
    fn what_lies_outside_the_spans_is_the_rest_of_the_range_in_order() {
        let spans = [
            Range { from: at(-10), to: at(5) },
            Range { from: at(30), to: at(40) },
            Range { from: at(35), to: at(45) },
        ];
        let left = outside(&spans, &hour());
        assert_eq!(left, [Range { from: at(5), to: at(30) }, Range { from: at(45), to: at(60) }]);
        assert_eq!(outside(&[], &hour()), [hour()]);
        assert_eq!(outside(&[Range { from: at(-1), to: at(61) }], &hour()), []);
    }
}
