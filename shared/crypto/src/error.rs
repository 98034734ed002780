//! The one error type of the crate; its messages never carry plaintext, ciphertext or key material.

use std::io;
use std::path::PathBuf;

/// Why sealing, opening or key handling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The text is not a `hm1.<kid>.<enc>.<ciphertext>` value; the reason is a fixed description.
    #[error("malformed sealed value: {0}")]
    MalformedSealed(&'static str),
    /// Neither the current nor a retired key of the ring has this id (key ids are public).
    #[error("no key with id {key_id}")]
    UnknownKey { key_id: String },
    /// Authentication failed: wrong target id, altered bytes, or a key id pointing at the wrong key.
    #[error("sealed for another target or tampered with")]
    OpenFailed,
    /// HPKE refused to seal (e.g. the public key is a low-order point).
    #[error("sealing failed")]
    SealFailed,
    /// The operating system could not provide randomness for a new key.
    #[error("the operating system's random number generator failed")]
    Randomness(#[source] getrandom::Error),
    /// A file system operation on the key ring or a key file failed.
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `load` was pointed at a directory that has no key ring.
    #[error("no key ring in {}: {} does not exist", dir.display(), dir.join("current").display())]
    KeyRingNotFound { dir: PathBuf },
    /// A key file or the `current` file has unexpected content; the reason is a fixed description.
    #[error("invalid key file {}: {reason}", path.display())]
    InvalidKeyFile { path: PathBuf, reason: &'static str },
}

impl CryptoError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> CryptoError {
        let path = path.into();
        move |source| CryptoError::Io { action, path, source }
    }

    pub(crate) fn invalid_key_file(path: impl Into<PathBuf>, reason: &'static str) -> CryptoError {
        CryptoError::InvalidKeyFile { path: path.into(), reason }
    }
}
