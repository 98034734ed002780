//! Shared fixtures for the prober's integration tests: an SSH checker with its own key ring, and
//! checks of the real sshd from `healthmon-testing`.

#![allow(dead_code)]

use std::sync::Arc;

use healthmon_crypto::KeyRing;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::{Credential, Shell, SshCheck};
use healthmon_prober::check::Outcome;
use healthmon_prober::check::ssh::credentials::Unsealer;
use healthmon_prober::check::ssh::{SshChecker, SshSettings};
use healthmon_testing::sshd::{Sshd, TEST_PASSWORD, TEST_USER};
use tempfile::TempDir;
use uuid::Uuid;

/// An SSH checker whose key ring lives in a temp dir the test can seal with.
pub struct Prober {
    pub keys: TempDir,
    pub checker: SshChecker,
}

impl Prober {
    pub fn new() -> Prober {
        Self::with(AddressPolicy::default(), SshSettings::default())
    }

    pub fn with(policy: AddressPolicy, settings: SshSettings) -> Prober {
        let keys = tempfile::tempdir().expect("temp dir");
        KeyRing::load_or_create(keys.path()).expect("key ring");
        let unsealer = Arc::new(Unsealer::open_dir(keys.path()).expect("unsealer"));
        Prober { checker: SshChecker::new(Arc::new(policy), unsealer, settings), keys }
    }

    pub fn ring(&self) -> KeyRing {
        KeyRing::load(self.keys.path()).expect("key ring")
    }

    /// `secret` sealed for `target_id`, as the API stores it.
    pub fn seal(&self, secret: &str, target_id: Uuid) -> Credential {
        Credential::Sealed(self.ring().seal(secret.as_bytes(), target_id).expect("seal").into_string())
    }

    pub async fn probe(&self, target_id: Uuid, check: &SshCheck, timeout_s: u32) -> Outcome {
        self.checker.check(target_id, check, timeout_s).await
    }

    /// A check of `sshd` logging in with the test password, its host key pinned.
    pub fn password_check(&self, sshd: &Sshd, target_id: Uuid) -> SshCheck {
        SshCheck {
            password: Some(self.seal(TEST_PASSWORD, target_id)),
            host_key_sha256: Some(sshd.host_key_fingerprint()),
            ..bare_check(sshd.port)
        }
    }
}

/// A check of 127.0.0.1:`port` as the test user with no credential and nothing pinned.
pub fn bare_check(port: u16) -> SshCheck {
    SshCheck {
        host: "127.0.0.1".into(),
        port,
        username: TEST_USER.into(),
        password: None,
        private_key: None,
        private_key_passphrase: None,
        command: None,
        expect_output: None,
        min_free_disk_mb: 0,
        host_key_sha256: None,
        trust_on_first_use: false,
        shell: Shell::Sh,
    }
}

/// The failure reason, or a panic naming the unexpected success.
pub fn reason(outcome: &Outcome) -> &str {
    assert!(!outcome.success, "expected a failure, got {outcome:?}");
    outcome.error.as_deref().expect("a failure has a reason")
}

pub fn assert_success(outcome: &Outcome) {
    assert!(outcome.success, "expected success, got {outcome:?}");
    assert_eq!(outcome.error, None);
}
