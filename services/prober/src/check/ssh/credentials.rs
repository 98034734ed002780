//! Opens sealed SSH credentials with the prober's key ring, only just before they are used.

use std::path::Path;

use anyhow::Context;
use healthmon_crypto::{CryptoError, LiveKeyRing, Sealed};
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

/// The prober's key ring; keys rotated in while running are found ([`LiveKeyRing`]).
pub struct Unsealer {
    ring: LiveKeyRing,
}

impl Unsealer {
    /// Opens (or on first start creates) the key ring in `dir`.
    pub fn open_dir(dir: &Path) -> anyhow::Result<Self> {
        let ring = LiveKeyRing::open_dir(dir).with_context(|| format!("opening the key ring in {}", dir.display()))?;
        Ok(Self { ring })
    }

    /// The credential in the clear. The error is safe to show: it never holds key material or text
    /// of the credential.
    pub fn open(&self, credential: &Credential, target_id: Uuid) -> Result<Secret, String> {
        let sealed = match credential {
            // Only a credential that skipped the API's sealing is plain; it is in memory already.
            Credential::Plain(text) => return Ok(Secret(Zeroizing::new(text.clone()))),
            Credential::Sealed(text) => Sealed::parse(text).map_err(unsealable)?,
        };
        let opened = self.ring.open(&sealed, target_id).map_err(unsealable)?;
        let text = std::str::from_utf8(&opened).map_err(|_| "stored credential is not UTF-8 text".to_owned())?;
        Ok(Secret(Zeroizing::new(text.to_owned())))
    }
}

fn unsealable(error: CryptoError) -> String {
    format!("stored credential cannot be unsealed ({error})")
}
