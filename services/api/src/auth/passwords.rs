//! Password hashing with argon2id (OWASP parameters), always off the async runtime.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// argon2id, m = 19 MiB, t = 2, p = 1: OWASP's recommended minimum.
fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$…`) for `password`.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        let hash = hasher()?.hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
        Ok(hash.to_string())
    })
    .await
    .context("the hashing task failed")?
}

/// Whether `password` matches `stored`. With no stored hash (unknown user) it verifies against a
/// dummy one anyway, so the answer takes as long either way and does not reveal which names exist.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let known = stored.is_some();
    let stored = match stored {
        Some(stored) => stored,
        None => dummy_hash().await?,
    };
    let matches = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash is malformed: {e}"))?;
        Ok(hasher()?.verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .context("the verifying task failed")??;
    Ok(known && matches)
}

async fn dummy_hash() -> anyhow::Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = self::hash(random_password()).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// 20 characters from 120 random bits, for the first admin when no password was configured.
pub fn random_password() -> String {
    let bytes: [u8; 15] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn check_strength(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(format!("must be {MIN_LENGTH} to {MAX_LENGTH} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(stored)).await.unwrap());
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn random_passwords_are_long_and_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(check_strength(&a).is_ok() && check_strength("short").is_err());
    }
}
