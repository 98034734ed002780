//! Reading a target's history as slots on its grid, and finding the slots it misses.

/// The slots between the first and the last of `slots` (any order) that are not among them, on a
/// grid of `interval_ms`, oldest first.
pub fn missing_slots(slots: &[i64], interval_ms: i64) -> Vec<i64> {
    let mut sorted = slots.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .windows(2)
        .flat_map(|pair| (1..(pair[1] - pair[0]) / interval_ms).map(move |step| pair[0] + step * interval_ms))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_slot_skipped_between_the_first_and_the_last() {
        assert_eq!(missing_slots(&[5000, 1000, 2000, 6000, 2000], 1000), vec![3000, 4000]);
        assert!(missing_slots(&[1500, 2500, 3500], 1000).is_empty());
        assert!(missing_slots(&[], 1000).is_empty());
    }
}
