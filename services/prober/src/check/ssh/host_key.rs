//! Host key fingerprints and the decision whether a server's key is the one this target trusts.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use healthmon_domain::SshCheck;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// `SHA256:<base64 without padding>` of the raw key blob, exactly as `ssh-keygen -l -E sha256` prints.
pub fn fingerprint(key_blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(key_blob)))
}

/// Keys pinned in memory for targets that trust on first use, by target id. The observed key also
/// goes out with every outcome, so the pipeline can persist the pin across restarts.
#[derive(Default)]
pub struct TrustedOnFirstUse {
    pins: Mutex<HashMap<Uuid, String>>,
}

impl TrustedOnFirstUse {
    /// Accepts `observed` only if it is the key the target pins, or, under trust on first use, the
    /// first key seen for it (or the same one again). Every other case fails; a key is never
    /// accepted without one of those reasons.
    pub fn verify(&self, target_id: Uuid, check: &SshCheck, observed: &str) -> Result<(), String> {
        if let Some(pinned) = &check.host_key_sha256 {
            return if same_fingerprint(pinned, observed) {
                Ok(())
            } else {
                Err(format!("host key mismatch: expected {}, got {observed}", with_prefix(pinned)))
            };
        }
        if !check.trust_on_first_use {
            return Err(format!("host key not pinned: {observed} (set host_key_sha256 to this to trust it)"));
        }
        // A poisoned lock only means another probe panicked mid-insert; the map itself is intact.
        let mut pins = self.pins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match pins.get(&target_id) {
            Some(pinned) if same_fingerprint(pinned, observed) => Ok(()),
            Some(pinned) => Err(format!("host key mismatch: expected {pinned} (pinned on first use), got {observed}")),
            None => {
                tracing::info!(target_id = %target_id, host_key = %observed, "pinned the host key on first use");
                pins.insert(target_id, observed.to_owned());
                Ok(())
            }
        }
    }
}

fn bare(fingerprint: &str) -> &str {
    fingerprint.trim().strip_prefix("SHA256:").unwrap_or(fingerprint.trim()).trim_end_matches('=')
}

fn with_prefix(fingerprint: &str) -> String {
    format!("SHA256:{}", bare(fingerprint))
}

fn same_fingerprint(left: &str, right: &str) -> bool {
    bare(left) == bare(right)
}

#[cfg(test)]
mod tests {
    use healthmon_domain::Shell;

    use super::*;

    fn check(pinned: Option<&str>, trust_on_first_use: bool) -> SshCheck {
        SshCheck {
            host: "127.0.0.1".into(),
            port: 22,
            username: "u".into(),
            password: None,
            private_key: None,
            private_key_passphrase: None,
            command: None,
            expect_output: None,
            min_free_disk_mb: 0,
            host_key_sha256: pinned.map(str::to_owned),
            trust_on_first_use,
            shell: Shell::Sh,
        }
    }

    #[test]
    fn fingerprint_is_unpadded_base64_of_sha256() {
        // sha256("") = e3b0c442…; its base64 ends in '=' which ssh-keygen leaves off.
        assert_eq!(fingerprint(b""), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
    }

    #[test]
    fn a_pinned_key_accepts_only_itself_with_or_without_prefix() {
        let pins = TrustedOnFirstUse::default();
        let id = Uuid::new_v4();
        let key = fingerprint(b"key");
        assert!(pins.verify(id, &check(Some(&key), false), &key).is_ok());
        assert!(pins.verify(id, &check(Some(bare(&key)), false), &key).is_ok());
        let other = fingerprint(b"other");
        let error = pins.verify(id, &check(Some(&key), true), &other).unwrap_err();
        assert_eq!(error, format!("host key mismatch: expected {key}, got {other}"));
    }

    #[test]
    fn without_a_pin_or_trust_on_first_use_the_reason_shows_the_key() {
        let key = fingerprint(b"key");
        let error = TrustedOnFirstUse::default().verify(Uuid::new_v4(), &check(None, false), &key).unwrap_err();
        assert!(error.starts_with(&format!("host key not pinned: {key}")), "{error}");
    }

    #[test]
    fn trust_on_first_use_pins_per_target() {
        let pins = TrustedOnFirstUse::default();
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        let (key, other) = (fingerprint(b"key"), fingerprint(b"other"));
        assert!(pins.verify(first, &check(None, true), &key).is_ok());
        assert!(pins.verify(first, &check(None, true), &key).is_ok());
        assert!(pins.verify(first, &check(None, true), &other).unwrap_err().contains("host key mismatch"));
        assert!(pins.verify(second, &check(None, true), &other).is_ok(), "pins are per target");
    }
}
