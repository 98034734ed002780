//! The SSH check against a real OpenSSH server on loopback: authentication, host keys, sealed
//! credentials and session reuse.

use healthmon_crypto::KeyRing;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_prober::check::ssh::SshSettings;
use healthmon_testing::sshd::{Sshd, TEST_PASSWORD};
use uuid::Uuid;

use crate::support::{Prober, assert_success, bare_check, reason};

#[tokio::test]
async fn password_auth_passes_and_reports_the_host_key() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let outcome = prober.probe(id, &prober.password_check(&sshd, id), 10).await;
    assert_success(&outcome);
    assert_eq!(outcome.observed_host_key, Some(sshd.host_key_fingerprint()));
    assert!(outcome.latency_ms > 0.0);
}

#[tokio::test]
async fn key_auth_with_and_without_passphrase() {
    let (sshd, prober) = (Sshd::start(), Prober::new());
    for (name, passphrase, kind) in
        [("plain", "", "ed25519"), ("locked", "correct horse", "ed25519"), ("rsa", "", "rsa")]
    {
        let id = Uuid::new_v4();
        let key = sshd.authorize_new_key(name, passphrase, kind);
        let check = healthmon_domain::SshCheck {
            private_key: Some(prober.seal(&key, id)),
            private_key_passphrase: (!passphrase.is_empty()).then(|| prober.seal(passphrase, id)),
            host_key_sha256: Some(sshd.host_key_fingerprint()),
            ..bare_check(sshd.port)
        };
        let outcome = prober.probe(id, &check, 10).await;
        assert!(outcome.success, "{name} key: {outcome:?}\n{}", sshd.log());
    }
}

#[tokio::test]
async fn a_wrong_passphrase_or_password_fails_auth_without_leaking_it() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let key = sshd.authorize_new_key("locked", "the-right-one", "ed25519");
    let check = healthmon_domain::SshCheck {
        private_key: Some(prober.seal(&key, id)),
        private_key_passphrase: Some(prober.seal("not-the-passphrase", id)),
        ..prober.password_check(&sshd, id)
    };
    let check = healthmon_domain::SshCheck { password: Some(prober.seal("not-the-password", id)), ..check };
    let outcome = prober.probe(id, &check, 10).await;
    let why = reason(&outcome);
    assert!(why.starts_with("auth failed"), "{why}");
    assert!(!why.contains("not-the-p"), "{why}");
}

#[tokio::test]
async fn a_wrong_pinned_host_key_fails_before_auth() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let pinned = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
    let check = healthmon_domain::SshCheck { host_key_sha256: Some(pinned.into()), ..prober.password_check(&sshd, id) };
    let outcome = prober.probe(id, &check, 10).await;
    let actual = sshd.host_key_fingerprint();
    assert_eq!(reason(&outcome), format!("host key mismatch: expected {pinned}, got {actual}"));
    assert_eq!(sshd.accepted_logins(), 0, "no credential may reach an untrusted server");
}

#[tokio::test]
async fn an_unpinned_key_without_trust_on_first_use_fails_showing_the_fingerprint() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let check = healthmon_domain::SshCheck { host_key_sha256: None, ..prober.password_check(&sshd, id) };
    let outcome = prober.probe(id, &check, 10).await;
    let expected = sshd.host_key_fingerprint();
    assert_eq!(reason(&outcome), format!("host key not pinned: {expected} (set host_key_sha256 to this to trust it)"));
    assert_eq!(outcome.observed_host_key, Some(expected));
    assert_eq!(sshd.accepted_logins(), 0);
}

#[tokio::test]
async fn trust_on_first_use_pins_the_first_key_and_rejects_another() {
    let settings = SshSettings { reuse_sessions: false, ..SshSettings::default() };
    let (prober, id) = (Prober::with(AddressPolicy::default(), settings), Uuid::new_v4());
    let first = Sshd::start();
    let port = first.port;
    let check = healthmon_domain::SshCheck {
        host_key_sha256: None,
        trust_on_first_use: true,
        ..prober.password_check(&first, id)
    };
    let first_key = first.host_key_fingerprint();
    let outcome = prober.probe(id, &check, 10).await;
    assert_success(&outcome);
    assert_eq!(outcome.observed_host_key.as_deref(), Some(first_key.as_str()));
    assert_success(&prober.probe(id, &check, 10).await);
    drop(first);

    let second = Sshd::start_on(port);
    let second_key = second.host_key_fingerprint();
    assert_ne!(first_key, second_key);
    let outcome = prober.probe(id, &check, 10).await;
    assert_eq!(
        reason(&outcome),
        format!("host key mismatch: expected {first_key} (pinned on first use), got {second_key}")
    );
    assert_eq!(outcome.observed_host_key, Some(second_key));
}

#[tokio::test]
async fn a_credential_sealed_for_another_target_cannot_be_unsealed() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let check = prober.password_check(&sshd, Uuid::new_v4());
    let outcome = prober.probe(id, &check, 10).await;
    assert_eq!(reason(&outcome), "stored credential cannot be unsealed (sealed for another target or tampered with)");
    assert_eq!(sshd.accepted_logins(), 0);
}

#[tokio::test]
async fn a_key_rotated_in_while_running_is_found() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let rotated = KeyRing::rotate(prober.keys.path()).expect("rotate");
    let password = rotated.seal(TEST_PASSWORD.as_bytes(), id).expect("seal");
    let check = healthmon_domain::SshCheck {
        password: Some(healthmon_domain::Credential::Sealed(password.into_string())),
        ..prober.password_check(&sshd, id)
    };
    assert_success(&prober.probe(id, &check, 10).await);
}

#[tokio::test]
async fn a_kept_session_is_reused_and_replaced_when_it_drops() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let check = prober.password_check(&sshd, id);
    for _ in 0..3 {
        assert_success(&prober.probe(id, &check, 10).await);
    }
    assert_eq!(sshd.accepted_logins(), 1, "three probes, one login");
    sshd.drop_connections();
    assert_success(&prober.probe(id, &check, 10).await);
    assert_eq!(sshd.accepted_logins(), 2, "a dropped session is replaced");
    let edited = healthmon_domain::SshCheck { command: Some("true".into()), ..check };
    assert_success(&prober.probe(id, &edited, 10).await);
    assert_eq!(sshd.accepted_logins(), 3, "an edited check gets a session of its own");
}

#[tokio::test]
async fn a_refused_address_is_never_contacted() {
    let sshd = Sshd::start();
    let policy = AddressPolicy::from_lists("127.0.0.0/8", "").expect("policy");
    let (prober, id) = (Prober::with(policy, SshSettings::default()), Uuid::new_v4());
    let outcome = prober.probe(id, &prober.password_check(&sshd, id), 10).await;
    assert!(reason(&outcome).starts_with("refused by target policy: "), "{outcome:?}");
    assert_eq!(sshd.accepted_logins(), 0);
}

#[tokio::test]
async fn hosts_carrying_a_metadata_address_are_never_contacted() {
    let (prober, id) = (Prober::new(), Uuid::new_v4());
    // 6to4 and local-use NAT64 forms of 169.254.169.254, and Oracle Cloud's metadata address
    for host in ["2002:a9fe:a9fe::1", "64:ff9b:1::a9fe:a9fe", "192.0.0.192"] {
        let check = healthmon_domain::SshCheck {
            host: host.into(),
            password: Some(prober.seal("some-password", id)),
            trust_on_first_use: true,
            ..bare_check(22)
        };
        let outcome = prober.probe(id, &check, 5).await;
        let why = reason(&outcome);
        assert!(why.starts_with("refused by target policy: ") && why.contains("never probed"), "{host}: {why}");
    }
}

/// Prints the time per probe with and without session reuse against the local sshd:
/// `cargo test -p healthmon-prober --test integration ssh::measure -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn measure_session_reuse() {
    const PROBES: u32 = 50;
    let sshd = Sshd::start();
    for reuse_sessions in [false, true] {
        let settings = SshSettings { reuse_sessions, ..SshSettings::default() };
        let (prober, id) = (Prober::with(AddressPolicy::default(), settings), Uuid::new_v4());
        let check = prober.password_check(&sshd, id);
        let started = std::time::Instant::now();
        let mut failures = 0;
        for _ in 0..PROBES {
            failures += u32::from(!prober.probe(id, &check, 10).await.success);
        }
        let per_probe = started.elapsed().as_secs_f64() * 1000.0 / f64::from(PROBES);
        println!("reuse_sessions={reuse_sessions}: {per_probe:.1} ms per probe, {failures} failures in {PROBES}");
        assert_eq!(failures, 0);
    }
}
