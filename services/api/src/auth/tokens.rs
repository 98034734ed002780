//! Opaque bearer tokens: 256 random bits, shown once, stored only as their SHA-256.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Marks healthmon tokens so secret scanners and people can recognise one.
pub const PREFIX: &str = "hm_";

pub struct IssuedToken {
    /// Given to the client once; never stored.
    pub secret: String,
    pub hash: String,
}

pub fn issue() -> IssuedToken {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_of(&secret);
    IssuedToken { secret, hash }
}

/// Tokens are looked up by this hash, so comparing secrets never happens and cannot leak timing.
pub fn hash_of(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_stored_as_their_hash() {
        let (a, b) = (issue(), issue());
        assert!(a.secret.starts_with(PREFIX) && a.secret.len() == PREFIX.len() + 43);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash_of(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret));
    }
}
