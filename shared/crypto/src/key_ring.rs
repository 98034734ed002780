//! The opening side: the current key pair and the retired ones, loaded from and rotated in a key directory.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use hpke::{Deserializable, Kem as _, OpModeR};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::key_file::{self, PRIVATE_MODE, PUBLIC_MODE};
use crate::public_key::PublicKey;
use crate::sealed::Sealed;
use crate::suite::{self, Aead, HpkeEncappedKey, HpkePrivateKey, Kdf, Kem, X25519_KEY_LEN, is_valid_key_id};

const CURRENT_FILE: &str = "current";
const PRIVATE_SUFFIX: &str = ".key";
const PUBLIC_SUFFIX: &str = ".pub";

struct KeyPair {
    private: HpkePrivateKey,
    public: PublicKey,
}

impl KeyPair {
    fn generate() -> Result<KeyPair, CryptoError> {
        let mut seed = Zeroizing::new([0u8; X25519_KEY_LEN]);
        getrandom::fill(seed.as_mut_slice()).map_err(CryptoError::Randomness)?;
        // RFC 9180 DeriveKeyPair from fresh OS randomness: the same as hpke's gen_keypair, minus its panic.
        let (private, public) = Kem::derive_keypair(seed.as_slice());
        Ok(KeyPair { private, public: PublicKey::from_hpke(public) })
    }

    fn key_id(&self) -> &str {
        self.public.key_id()
    }

    /// Writes `<kid>.key` (0600) and `<kid>.pub`, each under a temporary name first, so that a concurrent
    /// `load` never lists a half-written key.
    fn write(&self, dir: &Path) -> Result<(), CryptoError> {
        let private_text = key_file::encode_private_key(&self.private);
        key_file::replace_file(&private_key_path(dir, self.key_id()), private_text.as_bytes(), PRIVATE_MODE)?;
        key_file::replace_file(&public_key_path(dir, self.key_id()), self.public.to_file_text().as_bytes(), PUBLIC_MODE)
    }

    fn read(path: &Path) -> Result<KeyPair, CryptoError> {
        let text = key_file::read_small_text(path)?;
        let private = key_file::decode_private_key(&text, path)?;
        let public = PublicKey::from_hpke(Kem::sk_to_pk(&private));
        Ok(KeyPair { private, public })
    }
}

/// The key pairs a prober opens credentials with: the current one, which new values are sealed to, and retired
/// ones kept until every value sealed to them has been re-sealed. See the crate documentation for the layout.
pub struct KeyRing {
    current: KeyPair,
    retired: Vec<KeyPair>,
}

impl KeyRing {
    /// Loads the key ring in `dir`, first creating the directory (0700) and a key pair if there is none.
    pub fn load_or_create(dir: &Path) -> Result<KeyRing, CryptoError> {
        match KeyRing::load(dir) {
            Err(CryptoError::KeyRingNotFound { .. }) => {}
            loaded => return loaded,
        }
        key_file::create_private_dir(dir)?;
        let key_pair = KeyPair::generate()?;
        key_pair.write(dir)?;
        let current_path = dir.join(CURRENT_FILE);
        let current_text = current_file_text(key_pair.key_id());
        match key_file::publish_new_file(&current_path, current_text.as_bytes(), PUBLIC_MODE, key_pair.key_id()) {
            Ok(()) => {}
            // Another process created the ring at the same time and won; use its key and drop ours.
            Err(CryptoError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                remove_key_files(dir, key_pair.key_id())?;
            }
            Err(error) => return Err(error),
        }
        KeyRing::load(dir)
    }

    /// Loads the key ring in `dir`, which must exist: `current` names the current key, every other `<kid>.key`
    /// is retired.
    pub fn load(dir: &Path) -> Result<KeyRing, CryptoError> {
        let current_path = dir.join(CURRENT_FILE);
        let current_text = match key_file::read_small_text(&current_path) {
            Err(CryptoError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(CryptoError::KeyRingNotFound { dir: dir.to_owned() });
            }
            result => result?,
        };
        let current_key_id = current_text.trim();
        if !is_valid_key_id(current_key_id) {
            return Err(CryptoError::invalid_key_file(&current_path, "does not hold a key id"));
        }

        let mut current = None;
        let mut retired = Vec::new();
        for (key_id, path) in private_key_files(dir)? {
            let key_pair = match KeyPair::read(&path) {
                // Removed since the listing, by `remove_retired` or a process that lost the race to create the
                // ring; a missing current key is reported below.
                Err(CryptoError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => continue,
                read => read?,
            };
            if key_pair.key_id() != key_id {
                return Err(CryptoError::invalid_key_file(&path, "the key does not match the key id in its name"));
            }
            if key_id == current_key_id {
                current = Some(key_pair);
            } else {
                retired.push(key_pair);
            }
        }
        let Some(current) = current else {
            return Err(CryptoError::invalid_key_file(current_path, "names a key that is not in the directory"));
        };
        retired.sort_by(|left, right| left.key_id().cmp(right.key_id()));
        Ok(KeyRing { current, retired })
    }

    /// Makes a new current key pair in `dir`; the previous ones stay as retired keys so that values sealed to
    /// them still open until re-sealed ([`KeyRing::reseal`]).
    pub fn rotate(dir: &Path) -> Result<KeyRing, CryptoError> {
        let mut ring = KeyRing::load(dir)?;
        let key_pair = KeyPair::generate()?;
        key_pair.write(dir)?;
        key_file::replace_file(&dir.join(CURRENT_FILE), current_file_text(key_pair.key_id()).as_bytes(), PUBLIC_MODE)?;
        let previous = std::mem::replace(&mut ring.current, key_pair);
        ring.retired.push(previous);
        ring.retired.sort_by(|left, right| left.key_id().cmp(right.key_id()));
        Ok(ring)
    }

    /// Deletes every retired key pair from `dir`. Run only once every value has been re-sealed to the current
    /// key: values still sealed to a removed key can never be opened again.
    pub fn remove_retired(dir: &Path) -> Result<KeyRing, CryptoError> {
        let ring = KeyRing::load(dir)?;
        for retired in &ring.retired {
            remove_key_files(dir, retired.key_id())?;
        }
        key_file::sync_parent(&dir.join(CURRENT_FILE))?;
        Ok(KeyRing { current: ring.current, retired: Vec::new() })
    }

    /// The current public key, which new values are sealed to.
    pub fn public(&self) -> PublicKey {
        self.current.public.clone()
    }

    pub fn current_key_id(&self) -> &str {
        self.current.key_id()
    }

    pub fn retired_key_ids(&self) -> impl Iterator<Item = &str> {
        self.retired.iter().map(KeyPair::key_id)
    }

    /// Seals to the current key; the same as `self.public().seal(..)`.
    pub fn seal(&self, plaintext: &[u8], target_id: Uuid) -> Result<Sealed, CryptoError> {
        self.current.public.seal(plaintext, target_id)
    }

    /// Opens a value sealed to the current or a retired key for `target_id`.
    pub fn open(&self, sealed: &Sealed, target_id: Uuid) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let parts = sealed.parts()?;
        let key_pair = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|key_pair| key_pair.key_id() == parts.key_id)
            .ok_or_else(|| CryptoError::UnknownKey { key_id: parts.key_id.to_owned() })?;
        let encapsulated_key = HpkeEncappedKey::from_bytes(&parts.encapsulated_key)
            .map_err(|_| CryptoError::MalformedSealed("invalid encapsulated key"))?;
        let plaintext = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &OpModeR::Base,
            &key_pair.private,
            &encapsulated_key,
            &suite::info(parts.key_id),
            &parts.ciphertext,
            &suite::associated_data(target_id),
        )
        .map_err(|_| CryptoError::OpenFailed)?;
        Ok(Zeroizing::new(plaintext))
    }

    /// Whether `sealed` is sealed to a key other than the current one and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id() != self.current_key_id()
    }

    /// Opens `sealed` with whichever key it names and seals it again to the current key, for migrating stored
    /// values after [`KeyRing::rotate`].
    pub fn reseal(&self, sealed: &Sealed, target_id: Uuid) -> Result<Sealed, CryptoError> {
        let plaintext = self.open(sealed, target_id)?;
        self.seal(&plaintext, target_id)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current_key_id())
            .field("retired", &self.retired_key_ids().collect::<Vec<_>>())
            .finish()
    }
}

fn current_file_text(key_id: &str) -> String {
    format!("{key_id}\n")
}

fn private_key_path(dir: &Path, key_id: &str) -> PathBuf {
    dir.join(format!("{key_id}{PRIVATE_SUFFIX}"))
}

fn public_key_path(dir: &Path, key_id: &str) -> PathBuf {
    dir.join(format!("{key_id}{PUBLIC_SUFFIX}"))
}

fn remove_key_files(dir: &Path, key_id: &str) -> Result<(), CryptoError> {
    key_file::remove_if_present(&private_key_path(dir, key_id))?;
    key_file::remove_if_present(&public_key_path(dir, key_id))
}

/// The `<kid>.key` files of `dir` with their key ids; other files (public keys, temporaries) are not keys.
fn private_key_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, CryptoError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(CryptoError::io("list the key directory", dir))? {
        let entry = entry.map_err(CryptoError::io("list the key directory", dir))?;
        let file_name = entry.file_name();
        let Some(key_id) = file_name.to_str().and_then(|name| name.strip_suffix(PRIVATE_SUFFIX)) else {
            continue;
        };
        if is_valid_key_id(key_id) {
            found.push((key_id.to_owned(), entry.path()));
        }
    }
    Ok(found)
}
