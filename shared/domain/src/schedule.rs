//! Scheduling math: every target probes on a fixed grid of slots, so probing never drifts and two
//! probers that own the same target during a hand-over pick the same slots.

use uuid::Uuid;

/// The target's phase within its interval: spreads first probes evenly across the interval, and is
/// derived from the id alone so that every prober agrees on it.
pub fn slot_offset_ms(target_id: Uuid, interval_ms: i64) -> i64 {
    let interval = interval_ms.max(1) as u64;
    let low_bits = target_id.as_u128() as u64;
    (low_bits % interval) as i64
}

/// The first slot strictly after `after_ms` on the grid `offset + k * interval`.
pub fn next_slot_after(after_ms: i64, interval_ms: i64, offset_ms: i64) -> i64 {
    let interval = interval_ms.max(1);
    let steps = (after_ms - offset_ms).div_euclid(interval) + 1;
    offset_ms + steps * interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_lie_on_the_grid_and_never_drift() {
        let (interval, offset) = (60_000, 12_345);
        let mut slot = next_slot_after(0, interval, offset);
        assert_eq!(slot, 12_345);
        for _ in 0..1000 {
            // Even if the probe took most of an interval, the next slot stays on the grid.
            let finished = slot + 59_000;
            let next = next_slot_after(finished, interval, offset);
            assert_eq!(next - slot, interval);
            slot = next;
        }
        assert_eq!((slot - offset) % interval, 0);
    }

    #[test]
    fn a_probe_longer_than_its_interval_skips_to_the_next_free_slot() {
        let next = next_slot_after(1_000 + 2_500, 1_000, 0);
        assert_eq!(next, 4_000);
    }

    #[test]
    fn offsets_are_stable_and_within_the_interval() {
        let id = Uuid::new_v4();
        let offset = slot_offset_ms(id, 30_000);
        assert_eq!(offset, slot_offset_ms(id, 30_000));
        assert!((0..30_000).contains(&offset));
    }
}
