//! Opens the store and the bus that the settings name.

use std::sync::Arc;

use anyhow::Context;
use healthmon_bus::{EventBus, MemoryBus, Naming, NatsBus, nats::NatsOptions};
use healthmon_store::Store;

use crate::Settings;

pub async fn store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    healthmon_store::connect(&settings.database_url).await.context("opening the database")
}

/// NATS JetStream when a URL is set, else the in-process bus (usable only inside one process).
/// With NATS, the concrete handle comes too: membership uses its KV buckets on the same connection.
pub async fn bus(settings: &Settings) -> anyhow::Result<(Arc<dyn EventBus>, Option<NatsBus>)> {
    let naming = Naming::new(settings.nats_prefix.clone());
    match &settings.nats_url {
        Some(url) => {
            let bus = NatsBus::connect(url, naming, NatsOptions::default()).await.context("connecting to NATS")?;
            Ok((Arc::new(bus.clone()), Some(bus)))
        }
        None => Ok((Arc::new(MemoryBus::new(naming)), None)),
    }
}
