//! Key-value buckets whose entries expire: prober heartbeats and the projector lease live in them.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::kv::Store;
use async_nats::jetstream::stream;

use super::NatsBus;
use crate::EventBus;

impl NatsBus {
    /// Opens the bucket `<prefix>_<bucket>`, creating it if missing, whose entries vanish `ttl`
    /// after their last write. The stream is created by hand, as `create_key_value` would, because
    /// that first queries the account info, which this client fails to parse on some servers.
    pub async fn expiring_bucket(&self, bucket: &str, ttl: Duration) -> anyhow::Result<Store> {
        let jetstream = self.jetstream();
        let name = self.naming().durable_name(bucket);
        let config = stream::Config {
            name: format!("KV_{name}"),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_age: ttl,
            discard: stream::DiscardPolicy::New,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: 1,
            ..stream::Config::default()
        };
        self.remember_bucket(&config);
        if let Ok(bucket) = jetstream.get_key_value(&name).await {
            return Ok(bucket);
        }
        if let Err(error) = jetstream.create_stream(config).await {
            // Another process may have created it in the meantime; only then does the get below succeed.
            tracing::debug!(%error, bucket = %name, "could not create the bucket");
        }
        jetstream.get_key_value(&name).await.with_context(|| format!("opening KV bucket {name}"))
    }
}
