//! Who owns a target: rendezvous (highest random weight) hashing over the live members, so every
//! prober that sees the same members picks the same owner, and a member leaving moves only its own
//! targets.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The member that probes `target_id`, or `None` when there are no members.
pub fn owner(target_id: Uuid, members: &BTreeSet<String>) -> Option<&str> {
    // Ties (astronomically unlikely) go to the greater name, so the choice never depends on order.
    members.iter().max_by_key(|member| (weight(member, target_id), member.as_str())).map(String::as_str)
}

/// A stable pseudo-random weight of (member, target); SHA-256 so it is the same in every process
/// and every build, which std's randomly seeded hasher is not.
fn weight(member: &str, target_id: Uuid) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(member.as_bytes());
    // The separator keeps ("ab", id) and ("a", "b" ++ id) apart.
    hasher.update([0u8]);
    hasher.update(target_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn members(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    fn ids(count: u128) -> Vec<Uuid> {
        (0..count).map(|n| Uuid::from_u128(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))).collect()
    }

    #[test]
    fn nobody_owns_anything_without_members() {
        assert_eq!(owner(Uuid::nil(), &BTreeSet::new()), None);
    }

    #[test]
    fn the_owner_is_deterministic_and_independent_of_insertion_order() {
        let forward = members(&["prober-a", "prober-b", "prober-c"]);
        let backward = members(&["prober-c", "prober-b", "prober-a"]);
        for id in ids(500) {
            assert_eq!(owner(id, &forward), owner(id, &backward));
            assert_eq!(owner(id, &forward), owner(id, &forward.clone()));
        }
        // Pinned, so a change of hash (which would reshuffle every deployment) fails loudly.
        let pinned: Vec<_> = ids(4).into_iter().map(|id| owner(id, &forward).map(str::to_owned)).collect();
        assert_eq!(pinned, pinned_owners());
    }

    fn pinned_owners() -> Vec<Option<String>> {
        ["prober-c", "prober-b", "prober-c", "prober-a"].iter().map(|name| Some(name.to_string())).collect()
    }

    #[test]
    fn targets_are_balanced_within_twenty_percent() {
        let live = members(&["prober-a", "prober-b", "prober-c"]);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for id in ids(3000) {
            *counts.entry(owner(id, &live).unwrap_or_default()).or_default() += 1;
        }
        assert_eq!(counts.len(), 3, "{counts:?}");
        for (member, count) in counts {
            assert!((800..=1200).contains(&count), "{member} owns {count} of 3000");
        }
    }

    #[test]
    fn a_leaving_member_hands_over_only_its_own_targets() {
        let before = members(&["prober-a", "prober-b", "prober-c"]);
        let after = members(&["prober-a", "prober-c"]);
        for id in ids(3000) {
            let (old, new) = (owner(id, &before), owner(id, &after));
            if old != Some("prober-b") {
                assert_eq!(old, new, "{id} moved although its owner stayed");
            }
        }
    }

    #[test]
    fn a_joining_member_takes_about_a_share() {
        let before = members(&["prober-a", "prober-b", "prober-c"]);
        let after = members(&["prober-a", "prober-b", "prober-c", "prober-d"]);
        let mut moved = 0;
        for id in ids(3000) {
            let (old, new) = (owner(id, &before), owner(id, &after));
            if old != new {
                assert_eq!(new, Some("prober-d"), "{id} moved between old members");
                moved += 1;
            }
        }
        assert!((600..=900).contains(&moved), "{moved} of 3000 moved to the new member, expected about 750");
    }
}
