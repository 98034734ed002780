//! One probe's outcome, and its deterministic identity.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Namespace for the UUIDv5 ids derived from (target, slot); fixed forever so ids stay stable.
const SAMPLE_NAMESPACE: Uuid = Uuid::from_u128(0x6d1f_3b8e_4c1a_4e7b_9a51_2f0c_8d3e_7b10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: Uuid,
    pub target_id: Uuid,
    /// The scheduled slot, in milliseconds since the Unix epoch.
    pub slot: i64,
    /// When the probe actually started.
    pub at: DateTime<Utc>,
    pub success: bool,
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub prober: String,
    /// Which version of the target's check produced this sample; older versions do not count.
    #[serde(default)]
    pub check_version: i64,
    /// The SSH host key a trust-on-first-use target met while it had no pin: the projector pins it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_host_key: Option<String>,
}

/// Two probers probing the same slot during a hand-over produce the same id, so the bus and the
/// store each keep only one of them.
pub fn sample_id(target_id: Uuid, slot: i64) -> Uuid {
    let mut name = [0u8; 24];
    name[..16].copy_from_slice(target_id.as_bytes());
    name[16..].copy_from_slice(&slot.to_be_bytes());
    Uuid::new_v5(&SAMPLE_NAMESPACE, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_slot_of_the_same_target_always_has_the_same_id() {
        let target = Uuid::new_v4();
        assert_eq!(sample_id(target, 1_000), sample_id(target, 1_000));
        assert_ne!(sample_id(target, 1_000), sample_id(target, 2_000));
        assert_ne!(sample_id(target, 1_000), sample_id(Uuid::new_v4(), 1_000));
    }
}
