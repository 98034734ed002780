//! Given a span, when it is covered, then the pieces are disjoint, aligned and exactly the span.

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::*;

fn at(text: &str) -> i64 {
    text.parse::<DateTime<Utc>>().expect("time").timestamp_millis()
}

/// Every piece as (from, to), sorted.
fn pieces(cover: &Cover) -> Vec<(i64, i64)> {
    let mut all: Vec<(i64, i64)> = cover
        .rollups
        .iter()
        .map(|piece| (piece.span.from_ms, piece.span.to_ms))
        .chain(cover.raw.iter().map(|span| (span.from_ms, span.to_ms)))
        .collect();
    all.sort_unstable();
    all
}

#[test]
fn a_thirty_day_window_is_whole_days_with_hours_minutes_and_raw_at_its_edges() {
    let span = SlotSpan { from_ms: at("2026-11-02T12:34:56.789Z"), to_ms: at("2026-12-02T12:34:56.789Z") };
    let cover = Cover::of_all(&[span]);
    let days: Vec<_> = cover.rollups.iter().filter(|piece| piece.step_s == 86_400).collect();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].span, SlotSpan { from_ms: at("2026-11-03T00:00:00Z"), to_ms: at("2026-12-02T00:00:00Z") });
    assert_eq!(
        cover.raw,
        [
            SlotSpan { from_ms: span.from_ms, to_ms: at("2026-11-02T12:35:00Z") },
            SlotSpan { from_ms: at("2026-12-02T12:30:00Z"), to_ms: span.to_ms },
        ]
    );
    assert_eq!(cover.rollups.len(), 5, "hours and minutes on each side, days between: {cover:?}");
}

#[test]
fn a_span_inside_one_bucket_is_raw_only() {
    let span = SlotSpan { from_ms: at("2026-12-02T12:01:00Z"), to_ms: at("2026-12-02T12:04:00Z") };
    assert_eq!(Cover::of_all(&[span]), Cover { rollups: vec![], raw: vec![span] });
}

#[test]
fn an_aligned_day_is_one_rollup_row_range() {
    let span = SlotSpan { from_ms: at("2026-12-01T00:00:00Z"), to_ms: at("2026-12-02T00:00:00Z") };
    assert_eq!(Cover::of_all(&[span]), Cover { rollups: vec![RollupPiece { step_s: 86_400, span }], raw: vec![] });
}

#[test]
fn slots_before_the_epoch_fall_in_the_bucket_below_them() {
    assert_eq!(bucket_of_slot(-1, 300), -300_000);
    assert_eq!(bucket_of_slot(299_999, 300), 0);
    assert_eq!(bucket_of_slot(300_000, 300), 300_000);
}

proptest! {
    #[test]
    fn the_pieces_tile_the_span_each_on_its_own_boundaries(
        from in -10_000_000_000i64..10_000_000_000,
        length in 1i64..40_000_000_000,
    ) {
        let span = SlotSpan { from_ms: from, to_ms: from + length };
        let cover = Cover::of_all(&[span]);
        let tiles = pieces(&cover);
        prop_assert_eq!(tiles.first().map(|tile| tile.0), Some(span.from_ms));
        prop_assert_eq!(tiles.last().map(|tile| tile.1), Some(span.to_ms));
        for pair in tiles.windows(2) {
            prop_assert_eq!(pair[0].1, pair[1].0, "touching, never overlapping");
        }
        for piece in &cover.rollups {
            let step_ms = i64::from(piece.step_s) * 1000;
            prop_assert_eq!(piece.span.from_ms.rem_euclid(step_ms), 0);
            prop_assert_eq!(piece.span.to_ms.rem_euclid(step_ms), 0);
        }
        for raw in &cover.raw {
            prop_assert!(raw.to_ms - raw.from_ms < 300_000, "an edge is under five minutes");
        }
        prop_assert!(cover.raw.len() <= 2);
    }
}

#[test]
fn an_edge_whose_raw_samples_expired_is_answered_by_its_five_minute_bucket() {
    let span = SlotSpan { from_ms: at("2026-12-02T11:02:00Z"), to_ms: at("2026-12-02T12:33:00Z") };
    let cover = Cover::of_all(&[span]).answerable(at("2026-12-02T12:32:30Z"));
    assert_eq!(cover.raw, [], "both edges reach before the horizon");
    let five_minutes: Vec<SlotSpan> =
        cover.rollups.iter().filter(|piece| piece.step_s == 300).map(|piece| piece.span).collect();
    assert!(
        five_minutes.contains(&SlotSpan { from_ms: at("2026-12-02T11:00:00Z"), to_ms: at("2026-12-02T11:05:00Z") })
    );
    assert!(
        five_minutes.contains(&SlotSpan { from_ms: at("2026-12-02T12:30:00Z"), to_ms: at("2026-12-02T12:35:00Z") })
    );
    let kept = Cover::of_all(&[span]).answerable(at("2026-12-02T11:00:00Z"));
    assert_eq!(kept, Cover::of_all(&[span]), "nothing expired, nothing changes");
}
