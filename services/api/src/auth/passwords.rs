//! Password hashing with argon2id (OWASP parameters), always off the async runtime, never more
//! at once than the hashing gate lets run, and in working memory that is kept and reused.

use std::sync::{Mutex, OnceLock, PoisonError};

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;

use super::gate::{self, Busy, HashingGate};
use crate::error::ApiError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every hashing place is taken: come back in a moment.
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<PasswordError> for ApiError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy(Busy) => ApiError::Busy(gate::RETRY_AFTER),
            PasswordError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

/// argon2id, m = 19 MiB, t = 2, p = 1: OWASP's recommended minimum.
fn our_params() -> anyhow::Result<Params> {
    Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))
}

/// Working memory of finished hashes, for the next ones: at most one per hash the gate lets run
/// at once. Allocating and freeing 19 MiB per hash (as argon2 does by itself) made glibc raise its
/// mmap threshold and keep the freed memory in its heaps, so the process grew far beyond the
/// hashes running at any moment.
static SPARE_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Fills `out` with the raw argon2 hash of `password`, in reused memory when the parameters are
/// ours (a stored hash with other parameters gets memory of its own, freed after).
fn compute(argon2: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> anyhow::Result<()> {
    let ours = params.block_count() == our_params()?.block_count();
    let spare = ours.then(|| SPARE_MEMORY.lock().unwrap_or_else(PoisonError::into_inner).pop()).flatten();
    let mut memory = spare.unwrap_or_else(|| vec![Block::default(); params.block_count()]);
    let computed = argon2.hash_password_into_with_memory(password, salt, out, &mut memory);
    if ours {
        SPARE_MEMORY.lock().unwrap_or_else(PoisonError::into_inner).push(memory);
    }
    computed.map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

/// Runs `work` on the blocking pool once the gate gives a turn. The turn is held until the work
/// ends, even when the caller stops waiting (a client that hangs up), since the memory stays in
/// use until then.
async fn gated<T: Send + 'static>(
    gate: &HashingGate,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, PasswordError> {
    let turn = gate.turn().await?;
    let result = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
    .context("the hashing task failed")?;
    Ok(result?)
}

/// A PHC string (`$argon2id$v=19$…`) for `password`.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    gated(HashingGate::global(), move || {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let raw_salt = salt.as_salt().decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let params = our_params()?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        compute(&argon2, &params, password.as_bytes(), raw_salt, &mut out)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?),
        };
        Ok(phc.to_string())
    })
    .await
}

/// Whether `password` matches `stored`. With no stored hash (unknown user) it verifies against a
/// dummy one anyway, so the answer takes as long either way, waits for the same gate, and does not
/// reveal which names exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, PasswordError> {
    verify_through(HashingGate::global(), password, stored).await
}

async fn verify_through(gate: &HashingGate, password: String, stored: Option<String>) -> Result<bool, PasswordError> {
    let known = stored.is_some();
    let stored = match stored {
        Some(stored) => stored,
        None => dummy_hash().await?,
    };
    let matches = gated(gate, move || matches(password.as_bytes(), &stored)).await?;
    Ok(known && matches)
}

/// Recomputes `stored`'s hash with its own algorithm, version, parameters and salt.
fn matches(password: &[u8], stored: &str) -> anyhow::Result<bool> {
    let malformed = |e: argon2::password_hash::Error| anyhow::anyhow!("stored hash is malformed: {e}");
    let parsed = PasswordHash::new(stored).map_err(malformed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("stored hash has no salt or no output");
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(malformed)?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(|e| anyhow::anyhow!("{e}"))?;
    let params = Params::try_from(&parsed).map_err(malformed)?;
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(malformed)?;
    let mut computed = vec![0u8; expected.len()];
    compute(&argon2, &params, password, raw_salt, &mut computed)?;
    let computed = Output::new(&computed).map_err(malformed)?;
    // Output compares in constant time.
    Ok(computed == expected)
}

async fn dummy_hash() -> Result<String, PasswordError> {
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

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hashing_and_verifying() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, our_params().unwrap());
        // A hash stored before memory was reused still verifies
        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference.hash_password(b"correct horse battery", &salt).unwrap().to_string();
        assert!(verify("correct horse battery".into(), Some(theirs.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(theirs)).await.unwrap());
        // And ours verifies with the crate's own code
        let ours = hash("correct horse battery".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(reference.verify_password(b"correct horse battery", &parsed).is_ok());
        // A hash with other parameters (memory of its own) verifies too
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        let other = small.hash_password(b"another password", &salt).unwrap().to_string();
        assert!(verify("another password".into(), Some(other)).await.unwrap());
        assert!(SPARE_MEMORY.lock().unwrap().iter().all(|memory| memory.len() == our_params().unwrap().block_count()));
    }

    #[tokio::test]
    async fn unknown_users_wait_for_the_same_gate_as_known_ones() {
        // Given a gate whose only place is taken
        let gate = HashingGate::new(1, 0, std::time::Duration::from_secs(5));
        let _taken = gate.turn().await.expect("the only turn");
        let stored = hash("correct horse battery".into()).await.unwrap();
        // Then a known user's check and an unknown user's dummy check are both turned away
        let known = verify_through(&gate, "correct horse battery".into(), Some(stored)).await;
        let unknown = verify_through(&gate, "correct horse battery".into(), None).await;
        assert!(matches!(known, Err(PasswordError::Busy(Busy))), "{known:?}");
        assert!(matches!(unknown, Err(PasswordError::Busy(Busy))), "{unknown:?}");
        // And the client is told to come back: 503 with Retry-After
        let response = axum::response::IntoResponse::into_response(ApiError::from(PasswordError::Busy(Busy)));
        assert_eq!(response.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    }

    #[test]
    fn random_passwords_are_long_and_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(check_strength(&a).is_ok() && check_strength("short").is_err());
    }
}
