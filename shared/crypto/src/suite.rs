//! The single HPKE cipher suite healthmon seals with and how a ciphertext is bound to its key and target.

use hpke::Serializable;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub(crate) type Kem = hpke::kem::X25519HkdfSha256;
pub(crate) type Kdf = hpke::kdf::HkdfSha256;
pub(crate) type Aead = hpke::aead::AesGcm256;

pub(crate) type HpkePublicKey = <Kem as hpke::Kem>::PublicKey;
pub(crate) type HpkePrivateKey = <Kem as hpke::Kem>::PrivateKey;
pub(crate) type HpkeEncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Length of X25519 public keys, private keys and encapsulated keys alike.
pub(crate) const X25519_KEY_LEN: usize = 32;
/// The AES-GCM tag every ciphertext ends with.
pub(crate) const AEAD_TAG_LEN: usize = 16;
/// Number of SHA-256 bytes kept for a key id: enough to tell a handful of rotated keys apart, short in text.
const KEY_ID_BYTES: usize = 8;

pub(crate) fn key_id_of(public: &HpkePublicKey) -> String {
    let digest = Sha256::digest(public.to_bytes().as_slice());
    hex::encode(&digest[..KEY_ID_BYTES])
}

pub(crate) fn is_valid_key_id(text: &str) -> bool {
    text.len() == KEY_ID_BYTES * 2 && text.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// The HPKE `info`: names the format and the key, so a value relabelled with another key id cannot open.
pub(crate) fn info(key_id: &str) -> Vec<u8> {
    format!("healthmon-crypto/hm1/{key_id}").into_bytes()
}

pub(crate) fn associated_data(target_id: Uuid) -> [u8; 16] {
    *target_id.as_bytes()
}
