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

impl Sample {
    /// The sample with every text field made storable ([`crate::text::storable`]): applied where
    /// samples are made, whatever the check kind, so no probe's output can make a batch unstorable.
    pub fn storable(self) -> Self {
        Self {
            error: self.error.map(crate::text::storable_owned),
            prober: crate::text::storable_owned(self.prober),
            pin_host_key: self.pin_host_key.map(crate::text::storable_owned),
            ..self
        }
    }

    /// Whether every text field can be stored as it is.
    pub fn is_storable(&self) -> bool {
        let texts = [self.error.as_deref(), Some(self.prober.as_str()), self.pin_host_key.as_deref()];
        texts.into_iter().flatten().all(crate::text::is_storable)
    }
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
    fn given_a_probe_whose_error_and_names_carry_nul_when_made_storable_then_every_text_field_is_clean() {
        let target = Uuid::new_v4();
        let dirty = Sample {
            id: sample_id(target, 0),
            target_id: target,
            slot: 0,
            at: Utc::now(),
            success: false,
            status_code: None,
            latency_ms: 1.0,
            error: Some("exit status 1: \0 in stderr\0".to_owned()),
            prober: "p\0".to_owned(),
            check_version: 1,
            pin_host_key: Some("SHA256:\0".to_owned()),
        };
        assert!(!dirty.is_storable());
        let clean = dirty.clone().storable();
        assert!(clean.is_storable());
        assert_eq!(clean.error.as_deref(), Some("exit status 1: \\0 in stderr\\0"));
        assert_eq!((clean.id, clean.slot, clean.success), (dirty.id, dirty.slot, dirty.success));
    }

    #[test]
    fn the_same_slot_of_the_same_target_always_has_the_same_id() {
        let target = Uuid::new_v4();
        assert_eq!(sample_id(target, 1_000), sample_id(target, 1_000));
        assert_ne!(sample_id(target, 1_000), sample_id(target, 2_000));
        assert_ne!(sample_id(target, 1_000), sample_id(Uuid::new_v4(), 1_000));
    }
}
