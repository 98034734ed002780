//! The sealing side: a public key that can seal credentials but never open them.

use std::fmt;
use std::path::Path;

use hpke::{OpModeS, Serializable};
use uuid::Uuid;

use crate::error::CryptoError;
use crate::key_file::{self, PUBLIC_MODE};
use crate::sealed::Sealed;
use crate::suite::{self, Aead, HpkePublicKey, Kdf, Kem};

/// A public key with its key id. Enough to seal; an API-only process is given just its `<kid>.pub` file.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key_id: String,
    key: HpkePublicKey,
}

impl PublicKey {
    pub(crate) fn from_hpke(key: HpkePublicKey) -> PublicKey {
        PublicKey { key_id: suite::key_id_of(&key), key }
    }

    /// Loads a `<kid>.pub` file (`hm1-public:<base64url>`). The key id is recomputed from the key itself.
    pub fn load(path: &Path) -> Result<PublicKey, CryptoError> {
        let text = key_file::read_small_text(path)?;
        Ok(PublicKey::from_hpke(key_file::decode_public_key(&text, path)?))
    }

    /// Writes the key to `path` (mode 0644 when created), replacing an existing file atomically.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        key_file::replace_file(path, self.to_file_text().as_bytes(), PUBLIC_MODE)
    }

    pub(crate) fn to_file_text(&self) -> String {
        key_file::encode_public_key(&self.key)
    }

    /// The public id of this key: first 8 bytes of SHA-256 of the raw key, in hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `plaintext` so that only the holder of the matching private key can open it, and only for
    /// `target_id`.
    ///
    /// Panics only if the operating system's random number generator fails (inside `hpke`).
    pub fn seal(&self, plaintext: &[u8], target_id: Uuid) -> Result<Sealed, CryptoError> {
        let (encapsulated_key, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            &self.key,
            &suite::info(&self.key_id),
            plaintext,
            &suite::associated_data(target_id),
        )
        .map_err(|_| CryptoError::SealFailed)?;
        Ok(Sealed::from_parts(&self.key_id, encapsulated_key.to_bytes().as_slice(), &ciphertext))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}
