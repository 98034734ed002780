//! Where the API gets its sealing key: the public key of the ring in `keys_dir` (probers and
//! notifiers open values with the ring itself, `healthmon_crypto::LiveKeyRing`). The ring is
//! created on first start (private key 0600).

use std::path::Path;

use anyhow::Context;
use healthmon_crypto::{KeyRing, PublicKey};

/// The current public key: from `<dir>/<kid>.pub` when the ring exists (an API-only host needs
/// nothing more), else from a newly created ring.
pub fn sealing_key(dir: &Path) -> anyhow::Result<PublicKey> {
    let current = dir.join("current");
    if current.is_file() {
        let kid = std::fs::read_to_string(&current).with_context(|| format!("reading {}", current.display()))?;
        let path = dir.join(format!("{}.pub", kid.trim()));
        return PublicKey::load(&path).with_context(|| format!("loading the sealing key {}", path.display()));
    }
    Ok(key_ring(dir)?.public())
}

/// The key ring in `dir`, created on first use.
fn key_ring(dir: &Path) -> anyhow::Result<KeyRing> {
    KeyRing::load_or_create(dir).with_context(|| format!("opening the key ring in {}", dir.display()))
}
