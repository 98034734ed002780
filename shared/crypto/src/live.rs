//! A key ring that follows its directory: a process that opens sealed values (a prober, a
//! notifier) finds a key rotated in while it runs on the first value sealed with that key,
//! without a restart.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{CryptoError, KeyRing, Sealed};

/// The key ring and the directory it came from.
pub struct LiveKeyRing {
    dir: PathBuf,
    ring: RwLock<KeyRing>,
}

impl LiveKeyRing {
    /// Opens (or on first start creates) the key ring in `dir`.
    pub fn open_dir(dir: &Path) -> Result<Self, CryptoError> {
        let ring = KeyRing::load_or_create(dir)?;
        Ok(Self { dir: dir.to_owned(), ring: RwLock::new(ring) })
    }

    /// [`KeyRing::open`], reading the directory once more when the value names a key this ring
    /// does not hold yet.
    pub fn open(&self, sealed: &Sealed, id: Uuid) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match self.open_with_current(sealed, id) {
            Err(CryptoError::UnknownKey { .. }) => {
                let fresh = KeyRing::load(&self.dir).inspect_err(|error| {
                    tracing::warn!(error = %error, dir = %self.dir.display(), "could not reload the key ring");
                })?;
                // A poisoned lock still holds a whole key ring: it is only ever replaced.
                *self.ring.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
                tracing::info!(dir = %self.dir.display(), "reloaded the key ring");
                self.open_with_current(sealed, id)
            }
            opened => opened,
        }
    }

    fn open_with_current(&self, sealed: &Sealed, id: Uuid) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.ring.read().unwrap_or_else(std::sync::PoisonError::into_inner).open(sealed, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_rotated_in_after_opening_is_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let live = LiveKeyRing::open_dir(dir.path()).expect("ring");
        let id = Uuid::new_v4();
        let rotated = KeyRing::rotate(dir.path()).expect("rotate");
        let sealed = rotated.seal(b"s3cret", id).expect("seal");
        assert_eq!(live.open(&sealed, id).expect("opened after a reload").as_slice(), b"s3cret");
    }

    #[test]
    fn a_key_no_directory_holds_stays_unknown() {
        let (mine, theirs) = (tempfile::tempdir().expect("temp dir"), tempfile::tempdir().expect("temp dir"));
        let live = LiveKeyRing::open_dir(mine.path()).expect("ring");
        let id = Uuid::new_v4();
        let sealed = KeyRing::load_or_create(theirs.path()).expect("ring").seal(b"s3cret", id).expect("seal");
        assert!(matches!(live.open(&sealed, id), Err(CryptoError::UnknownKey { .. })));
    }
}
