//! Sealing of stored credentials (SSH passwords, private keys) with a public key, so that the API, which holds
//! only the public key, can write a credential and only probers, which hold the private key, can read it back.
//!
//! ```
//! use healthmon_crypto::{KeyRing, Sealed};
//! use uuid::Uuid;
//!
//! # let temp = tempfile::tempdir().unwrap();
//! # let key_dir = temp.path().join("keys");
//! let ring = KeyRing::load_or_create(&key_dir)?; // prober side: holds the private keys
//! let public = ring.public(); // API side: `PublicKey::load(<dir>/<kid>.pub)`
//! let target_id = Uuid::new_v4();
//! let sealed = public.seal(b"hunter2", target_id)?;
//! let stored: String = sealed.as_str().to_owned();
//! let plaintext = ring.open(&Sealed::parse(&stored)?, target_id)?;
//! assert_eq!(plaintext.as_slice(), b"hunter2");
//! # Ok::<(), healthmon_crypto::CryptoError>(())
//! ```
//!
//! # Scheme
//!
//! HPKE (RFC 9180) in mode Base with KEM `DHKEM(X25519, HKDF-SHA256)`, KDF `HKDF-SHA256` and AEAD `AES-256-GCM`,
//! through the `hpke` crate. Every value gets a fresh ephemeral key. The HPKE `info` string is
//! `healthmon-crypto/hm1/<key id>` and the associated data is the 16 bytes of the target id, so a ciphertext
//! copied onto another target (or relabelled with another key id) fails to open.
//!
//! # Text form
//!
//! A [`Sealed`] value is `hm1.<key id>.<encapsulated key>.<ciphertext>`, both blobs base64url without padding.
//! The key id is the first 8 bytes of the SHA-256 of the raw public key, as 16 lowercase hex digits; it is public.
//!
//! # On-disk layout of a key ring directory
//!
//! ```text
//! <dir>/            mode 0700
//!   current         the key id of the current key pair, one line; replaced atomically on rotation
//!   <kid>.key       private key, mode 0600, "hm1-private:<base64url of the 32-byte X25519 secret>"
//!   <kid>.pub       public key, mode 0644, "hm1-public:<base64url of the 32-byte X25519 public key>"
//! ```
//!
//! Every `<kid>.key` other than the current one is a retired key: it still opens old values until
//! [`KeyRing::remove_retired`] deletes it. A `<kid>.pub` file is all an API-only process needs
//! ([`PublicKey::load`]). Rotation and removal are meant to be run by one operator command at a time; concurrent
//! first-time creation is safe (the first writer of `current` wins).
//!
//! Generating keys and sealing use the operating system's random number generator; key generation reports its
//! failure as [`CryptoError::Randomness`], while sealing panics in that case (inside `hpke`), as a machine
//! without working randomness cannot seal anything safely.

mod error;
mod key_file;
mod key_ring;
mod live;
mod public_key;
mod sealed;
mod suite;

pub use error::CryptoError;
pub use key_ring::KeyRing;
pub use live::LiveKeyRing;
pub use public_key::PublicKey;
pub use sealed::Sealed;
