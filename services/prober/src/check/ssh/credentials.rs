//! Opens sealed SSH credentials with the prober's key ring, only just before they are used.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use healthmon_crypto::{CryptoError, KeyRing, Sealed};
use healthmon_domain::Credential;
use uuid::Uuid;
use zeroize::Zeroizing;

/// A credential in the clear; wiped from memory when dropped. Deliberately not `Debug`.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The key ring and the directory it came from, so keys rotated in while running are found.
pub struct Unsealer {
    dir: PathBuf,
    ring: RwLock<KeyRing>,
}

impl Unsealer {
    /// Opens (or on first start creates) the key ring in `dir`.
    pub fn open_dir(dir: &Path) -> anyhow::Result<Self> {
        let ring = healthmon_runtime::keys::key_ring(dir)?;
        Ok(Self { dir: dir.to_owned(), ring: RwLock::new(ring) })
    }

    /// The credential in the clear. The error is safe to show: it never holds key material or text
    /// of the credential.
    pub fn open(&self, credential: &Credential, target_id: Uuid) -> Result<Secret, String> {
        let sealed = match credential {
            // Only a credential that skipped the API's sealing is plain; it is in memory already.
            Credential::Plain(text) => return Ok(Secret(Zeroizing::new(text.clone()))),
            Credential::Sealed(text) => Sealed::parse(text).map_err(unsealable)?,
        };
        let opened = match self.open_with_current_ring(&sealed, target_id) {
            Err(CryptoError::UnknownKey { .. }) => {
                // The key may have been rotated in after start: look at the directory once more.
                self.reload()?;
                self.open_with_current_ring(&sealed, target_id)
            }
            opened => opened,
        }
        .map_err(unsealable)?;
        let text = std::str::from_utf8(&opened).map_err(|_| "stored credential is not UTF-8 text".to_owned())?;
        Ok(Secret(Zeroizing::new(text.to_owned())))
    }

    fn open_with_current_ring(&self, sealed: &Sealed, target_id: Uuid) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        // A poisoned lock still holds a whole key ring: it is only ever replaced, never mutated.
        let ring = self.ring.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        ring.open(sealed, target_id)
    }

    fn reload(&self) -> Result<(), String> {
        let fresh = KeyRing::load(&self.dir).map_err(|error| {
            tracing::warn!(error = %error, "could not reload the key ring");
            format!("stored credential cannot be unsealed (reloading the key ring failed: {error})")
        })?;
        *self.ring.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        tracing::info!(dir = %self.dir.display(), "reloaded the key ring");
        Ok(())
    }
}

fn unsealable(error: CryptoError) -> String {
    format!("stored credential cannot be unsealed ({error})")
}
