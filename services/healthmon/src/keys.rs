//! `healthmon keys rotate`: a new sealing key, every stored credential (targets' and notifiers')
//! re-sealed with it, then the old key removed, so a leaked old private key opens nothing still in
//! use.

use std::path::Path;

use anyhow::Context;
use healthmon_crypto::{KeyRing, Sealed};
use healthmon_domain::Credential;
use healthmon_domain::events::source;
use healthmon_runtime::{Settings, connect};
use healthmon_store::modify_target;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    pub new_key_id: String,
    pub targets_resealed: usize,
    pub notifiers_resealed: usize,
}

pub async fn rotate(settings: &Settings) -> anyhow::Result<Rotation> {
    let dir = Path::new(&settings.keys_dir);
    let ring = KeyRing::rotate(dir).with_context(|| format!("rotating the key ring in {}", dir.display()))?;
    let store = connect::store(settings).await?;
    let source = source("keys", &settings.instance);
    let mut targets_resealed = 0;
    for record in store.all_targets().await? {
        let id = record.target.id;
        // An error here stops the rotation before the old key is removed, so nothing becomes unreadable.
        let resealed = modify_target(store.as_ref(), id, &source, |target| {
            let mut spec = target.spec.clone();
            let mut changed = false;
            for credential in spec.check.credentials_mut() {
                if let Credential::Sealed(text) = credential {
                    let sealed = Sealed::parse(text).context("a stored credential is malformed")?;
                    if ring.needs_reseal(&sealed) {
                        *credential = Credential::Sealed(ring.reseal(&sealed, id).context("re-sealing")?.into_string());
                        changed = true;
                    }
                }
            }
            Ok(changed.then_some(spec))
        })
        .await?;
        targets_resealed += usize::from(resealed);
    }
    let notifiers_resealed = reseal_notifiers(store.as_ref(), &ring).await?;
    let ring = KeyRing::remove_retired(dir).context("removing the retired keys")?;
    Ok(Rotation { new_key_id: ring.current_key_id().to_owned(), targets_resealed, notifiers_resealed })
}

/// Re-seals every notifier secret still sealed with a retired key; returns how many notifiers
/// changed. (A notifier edited between the read and the write keeps the edit's own sealing, which
/// is already the new key's: the API seals with the current public key.)
async fn reseal_notifiers(store: &dyn healthmon_store::Store, ring: &KeyRing) -> anyhow::Result<usize> {
    let mut resealed = 0;
    for record in store.list_notifiers().await? {
        let mut spec = record.spec.clone();
        let mut changed = false;
        for (_, credential) in spec.credentials_mut() {
            if let Credential::Sealed(text) = credential {
                let sealed = Sealed::parse(text).context("a stored notifier secret is malformed")?;
                if ring.needs_reseal(&sealed) {
                    *credential =
                        Credential::Sealed(ring.reseal(&sealed, record.id).context("re-sealing")?.into_string());
                    changed = true;
                }
            }
        }
        if changed {
            store.update_notifier(record.id, &spec).await.context("storing a re-sealed notifier")?;
            resealed += 1;
        }
    }
    Ok(resealed)
}
