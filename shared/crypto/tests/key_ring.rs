//! Sealing, opening, rotation and on-disk layout of key rings, exercised through the public API only.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use healthmon_crypto::{CryptoError, KeyRing, PublicKey, Sealed};
use uuid::Uuid;

const SECRET: &[u8] = b"correct horse battery staple";

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn key_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("keys");
    (temp, dir)
}

/// Rebuilds a sealed value with one field replaced, keeping it syntactically valid.
fn with_field(sealed: &Sealed, index: usize, field: &str) -> Sealed {
    let mut fields: Vec<String> = sealed.as_str().split('.').map(str::to_owned).collect();
    fields[index] = field.to_owned();
    Sealed::parse(&fields.join(".")).unwrap()
}

fn flip_bit_in_field(sealed: &Sealed, index: usize, byte: usize) -> Sealed {
    let field = sealed.as_str().split('.').nth(index).unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(field).unwrap();
    bytes[byte] ^= 0x01;
    with_field(sealed, index, &URL_SAFE_NO_PAD.encode(bytes))
}

#[test]
fn seal_then_open_round_trips() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let target = Uuid::new_v4();
    let sealed = ring.public().seal(SECRET, target).unwrap();
    assert_eq!(sealed.key_id(), ring.current_key_id());
    assert_eq!(ring.open(&sealed, target).unwrap().as_slice(), SECRET);

    let empty = ring.seal(b"", target).unwrap();
    assert!(ring.open(&empty, target).unwrap().is_empty());

    let reparsed = Sealed::parse(sealed.as_str()).unwrap();
    assert_eq!(ring.open(&reparsed, target).unwrap().as_slice(), SECRET);
}

#[test]
fn sealing_twice_gives_different_ciphertexts() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let target = Uuid::new_v4();
    let first = ring.seal(SECRET, target).unwrap();
    let second = ring.seal(SECRET, target).unwrap();
    assert_ne!(first.as_str(), second.as_str());
    assert!(!first.as_str().contains(&URL_SAFE_NO_PAD.encode(SECRET)));
}

#[test]
fn opening_for_another_target_fails() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let sealed = ring.seal(SECRET, Uuid::new_v4()).unwrap();
    let error = ring.open(&sealed, Uuid::new_v4()).unwrap_err();
    assert!(matches!(error, CryptoError::OpenFailed), "{error:?}");
    assert_eq!(error.to_string(), "sealed for another target or tampered with");
}

#[test]
fn tampered_values_fail_to_open() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let target = Uuid::new_v4();
    let sealed = ring.seal(SECRET, target).unwrap();
    let ciphertext_len = URL_SAFE_NO_PAD.decode(sealed.as_str().split('.').nth(3).unwrap()).unwrap().len();

    for tampered in [
        flip_bit_in_field(&sealed, 3, 0),
        flip_bit_in_field(&sealed, 3, ciphertext_len - 1),
        flip_bit_in_field(&sealed, 2, 5),
    ] {
        assert!(matches!(ring.open(&tampered, target), Err(CryptoError::OpenFailed)), "{tampered:?} opened");
    }

    let field = sealed.as_str().split('.').nth(3).unwrap();
    let mut truncated = URL_SAFE_NO_PAD.decode(field).unwrap();
    truncated.pop();
    let truncated = with_field(&sealed, 3, &URL_SAFE_NO_PAD.encode(truncated));
    assert!(matches!(ring.open(&truncated, target), Err(CryptoError::OpenFailed)));
}

#[test]
fn another_key_ring_cannot_open() {
    let (_temp, dir) = key_dir();
    let (_other_temp, other_dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let other = KeyRing::load_or_create(&other_dir).unwrap();
    assert_ne!(ring.current_key_id(), other.current_key_id());
    let target = Uuid::new_v4();
    let sealed = ring.seal(SECRET, target).unwrap();

    let error = other.open(&sealed, target).unwrap_err();
    assert!(matches!(&error, CryptoError::UnknownKey { key_id } if key_id == ring.current_key_id()), "{error:?}");
    assert_eq!(error.to_string(), format!("no key with id {}", ring.current_key_id()));

    // Relabelling the value with the other ring's key id must not help either.
    let relabelled = with_field(&sealed, 1, other.current_key_id());
    assert!(matches!(other.open(&relabelled, target), Err(CryptoError::OpenFailed)));
}

#[test]
fn files_and_directory_have_private_modes() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let key_id = ring.current_key_id();
    assert_eq!(mode_of(&dir), 0o700);
    assert_eq!(mode_of(&dir.join(format!("{key_id}.key"))), 0o600);
    assert_eq!(mode_of(&dir.join(format!("{key_id}.pub"))), 0o644);
    assert_eq!(fs::read_to_string(dir.join("current")).unwrap().trim(), key_id);

    let rotated = KeyRing::rotate(&dir).unwrap();
    assert_eq!(mode_of(&dir.join(format!("{}.key", rotated.current_key_id()))), 0o600);
}

#[test]
fn load_or_create_twice_yields_the_same_key() {
    let (_temp, dir) = key_dir();
    let first = KeyRing::load_or_create(&dir).unwrap();
    let second = KeyRing::load_or_create(&dir).unwrap();
    let loaded = KeyRing::load(&dir).unwrap();
    assert_eq!(first.current_key_id(), second.current_key_id());
    assert_eq!(first.public(), loaded.public());
    let target = Uuid::new_v4();
    assert_eq!(second.open(&first.seal(SECRET, target).unwrap(), target).unwrap().as_slice(), SECRET);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 3, "expected current, one .key and one .pub");
}

#[test]
fn load_requires_an_existing_ring_and_names_the_path() {
    let (_temp, dir) = key_dir();
    let error = KeyRing::load(&dir).unwrap_err();
    assert!(matches!(error, CryptoError::KeyRingNotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&dir.display().to_string()), "{error}");
    assert!(!dir.exists(), "load must not create anything");
}

#[test]
fn load_rejects_a_key_file_that_does_not_match_its_name() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let (_other_temp, other_dir) = key_dir();
    let other = KeyRing::load_or_create(&other_dir).unwrap();
    let own_key = dir.join(format!("{}.key", ring.current_key_id()));
    fs::remove_file(&own_key).unwrap();
    fs::copy(other_dir.join(format!("{}.key", other.current_key_id())), &own_key).unwrap();
    let error = KeyRing::load(&dir).unwrap_err();
    assert!(matches!(error, CryptoError::InvalidKeyFile { .. }), "{error:?}");
    assert!(error.to_string().contains(&own_key.display().to_string()), "{error}");
}

#[test]
fn rotation_keeps_old_values_open_until_retired_keys_are_removed() {
    let (_temp, dir) = key_dir();
    let original = KeyRing::load_or_create(&dir).unwrap();
    let old_key_id = original.current_key_id().to_owned();
    let target = Uuid::new_v4();
    let old_value = original.seal(SECRET, target).unwrap();

    let rotated = KeyRing::rotate(&dir).unwrap();
    assert_ne!(rotated.current_key_id(), old_key_id);
    assert_eq!(rotated.retired_key_ids().collect::<Vec<_>>(), vec![old_key_id.as_str()]);
    assert_eq!(rotated.open(&old_value, target).unwrap().as_slice(), SECRET);
    let new_value = rotated.public().seal(SECRET, target).unwrap();
    assert_eq!(new_value.key_id(), rotated.current_key_id());

    // What another process sees after the rotation.
    let reloaded = KeyRing::load(&dir).unwrap();
    assert_eq!(reloaded.current_key_id(), rotated.current_key_id());
    assert_eq!(reloaded.open(&old_value, target).unwrap().as_slice(), SECRET);
    assert!(reloaded.needs_reseal(&old_value));
    assert!(!reloaded.needs_reseal(&new_value));
    let resealed = reloaded.reseal(&old_value, target).unwrap();
    assert_eq!(resealed.key_id(), reloaded.current_key_id());

    let pruned = KeyRing::remove_retired(&dir).unwrap();
    assert_eq!(pruned.retired_key_ids().count(), 0);
    assert!(!dir.join(format!("{old_key_id}.key")).exists());
    assert!(!dir.join(format!("{old_key_id}.pub")).exists());
    for ring in [pruned, KeyRing::load(&dir).unwrap()] {
        assert!(matches!(ring.open(&old_value, target), Err(CryptoError::UnknownKey { .. })));
        assert_eq!(ring.open(&new_value, target).unwrap().as_slice(), SECRET);
        assert_eq!(ring.open(&resealed, target).unwrap().as_slice(), SECRET);
    }
}

#[test]
fn api_only_process_seals_with_the_public_key_file() {
    let (_temp, dir) = key_dir();
    let ring = KeyRing::load_or_create(&dir).unwrap();
    let public = PublicKey::load(&dir.join(format!("{}.pub", ring.current_key_id()))).unwrap();
    assert_eq!(public.key_id(), ring.current_key_id());

    let copy = dir.parent().unwrap().join("api.pub");
    public.save(&copy).unwrap();
    let public = PublicKey::load(&copy).unwrap();
    let target = Uuid::new_v4();
    assert_eq!(ring.open(&public.seal(SECRET, target).unwrap(), target).unwrap().as_slice(), SECRET);

    // A private key handed out by mistake is not accepted as a public key.
    let error = PublicKey::load(&dir.join(format!("{}.key", ring.current_key_id()))).unwrap_err();
    assert!(matches!(error, CryptoError::InvalidKeyFile { .. }), "{error:?}");
    assert!(matches!(PublicKey::load(&dir.join("missing.pub")), Err(CryptoError::Io { .. })));
}

#[test]
fn formatting_never_shows_key_bytes_or_ciphertext() {
    let (_temp, dir) = key_dir();
    KeyRing::load_or_create(&dir).unwrap();
    let ring = KeyRing::rotate(&dir).unwrap();
    let target = Uuid::new_v4();
    let sealed = ring.seal(SECRET, target).unwrap();
    let body: Vec<String> = sealed.as_str().split('.').skip(2).map(str::to_owned).collect();

    let mut key_material = Vec::new();
    for key_id in std::iter::once(ring.current_key_id()).chain(ring.retired_key_ids()) {
        for suffix in ["key", "pub"] {
            let text = fs::read_to_string(dir.join(format!("{key_id}.{suffix}"))).unwrap();
            let encoded = text.trim().split_once(':').unwrap().1.to_owned();
            key_material.push(hex::encode(URL_SAFE_NO_PAD.decode(&encoded).unwrap()));
            key_material.push(encoded);
        }
    }
    let shown = [
        format!("{sealed}"),
        format!("{sealed:?}"),
        format!("{:?}", ring.public()),
        format!("{:#?}", ring.public()),
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{:?}", ring.open(&sealed, Uuid::new_v4()).unwrap_err()),
    ];
    for text in &shown {
        assert!(text.contains(ring.current_key_id()) || text.contains("OpenFailed"), "{text}");
        for secret in body.iter().chain(&key_material) {
            assert!(!text.contains(secret.as_str()), "{text} shows {secret}");
            assert!(!text.contains(&secret[..12]), "{text} shows part of {secret}");
        }
        assert!(!text.contains("correct horse"), "{text}");
    }
}

#[test]
fn concurrent_first_use_agrees_on_one_key() {
    let (_temp, dir) = key_dir();
    let rings: Vec<KeyRing> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6).map(|_| scope.spawn(|| KeyRing::load_or_create(&dir))).collect();
        workers.into_iter().map(|worker| worker.join().unwrap().unwrap()).collect()
    });
    let winner = KeyRing::load(&dir).unwrap();
    for ring in &rings {
        assert_eq!(ring.current_key_id(), winner.current_key_id());
    }
    let mut names: Vec<String> =
        fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let key_id = winner.current_key_id();
    let mut expected = vec![format!("{key_id}.key"), format!("{key_id}.pub"), "current".to_owned()];
    expected.sort();
    assert_eq!(names, expected);
}
