//! The command-line side of the settings: one flag per setting, each also read from its
//! `HEALTHMON_*` environment variable, each value parsed into its type by clap.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{CidrList, CorsOrigins, LogFormat, RetentionSetting, Roles, Secret};

/// The command-line side of the settings; each flag also reads its environment variable.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct SettingsArgs {
    /// TOML file with any of the settings below (keys as the flags, with underscores).
    #[arg(long, env = "HEALTHMON_CONFIG", value_name = "FILE", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HEALTHMON_LISTEN", value_name = "ADDR", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Database URL: sqlite://FILE or postgres://… [default: sqlite://healthmon.db].
    #[arg(long, env = "HEALTHMON_DATABASE_URL", value_name = "URL", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// NATS URL (nats://host:4222); without it, the in-process bus.
    #[arg(long, env = "HEALTHMON_NATS_URL", value_name = "URL", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_url: Option<String>,
    /// Prefix for NATS subjects, streams, consumers and buckets [default: healthmon].
    #[arg(long, env = "HEALTHMON_NATS_PREFIX", value_name = "PREFIX", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_prefix: Option<String>,
    /// Roles this process runs: comma list of api, prober, projector, notifier [default: all four].
    #[arg(long, env = "HEALTHMON_ROLES", value_name = "LIST", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Roles>,
    /// Instance name in events, samples and metrics [default: host name and pid].
    #[arg(long, env = "HEALTHMON_INSTANCE", value_name = "NAME", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "HEALTHMON_LOG_FORMAT", value_name = "FORMAT", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. info or healthmon=debug [default: info; RUST_LOG wins].
    #[arg(long, env = "HEALTHMON_LOG", value_name = "FILTER", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Seconds before an unacked sample is redelivered to a projector [default: 30].
    #[arg(long, env = "HEALTHMON_PROJECTOR_ACK_WAIT_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projector_ack_wait_s: Option<u64>,
    /// Seconds a projector stays active after its last lease renewal (NATS only) [default: 10].
    #[arg(long, env = "HEALTHMON_PROJECTOR_LEASE_TTL_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projector_lease_ttl_s: Option<u64>,
    /// Seconds a prober stays a member after its last heartbeat (NATS only) [default: 10].
    #[arg(long, env = "HEALTHMON_HEARTBEAT_TTL_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_ttl_s: Option<u64>,
    /// Password of the first admin, on first start only [default: random, logged once].
    #[arg(long, env = "HEALTHMON_ADMIN_PASSWORD", value_name = "PASSWORD", global = true, hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Secret>,
    /// Require a token on /healthz and /IsHealthy [default: false].
    #[arg(long, env = "HEALTHMON_PROTECT_HEALTHZ", value_name = "BOOL", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protect_healthz: Option<bool>,
    /// Login session lifetime in seconds [default: 43200, 12 h].
    #[arg(long, env = "HEALTHMON_SESSION_TTL_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ttl_s: Option<u64>,
    /// CIDRs never probed, comma-separated (metadata and link-local ranges always are refused).
    #[arg(long, env = "HEALTHMON_TARGET_DENY", value_name = "CIDRS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_deny: Option<CidrList>,
    /// CIDRs probed even inside the deny list, comma-separated.
    #[arg(long, env = "HEALTHMON_TARGET_ALLOW", value_name = "CIDRS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_allow: Option<CidrList>,
    /// Directory of the credential-sealing key pair [default: healthmon-keys].
    #[arg(long, env = "HEALTHMON_KEYS_DIR", value_name = "DIR", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_dir: Option<String>,
    /// Browser origins allowed by CORS, comma-separated [default: none, CORS off].
    #[arg(long, env = "HEALTHMON_CORS_ORIGINS", value_name = "ORIGINS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_origins: Option<CorsOrigins>,
    /// Seconds an API request may take [default: 30].
    #[arg(long, env = "HEALTHMON_REQUEST_TIMEOUT_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_s: Option<u64>,
    /// Samples a prober buffers while NATS is away; beyond, the oldest are dropped [default: 100000].
    #[arg(long, env = "HEALTHMON_PROBER_BUFFER", value_name = "SAMPLES", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prober_buffer: Option<usize>,
    /// Seconds a notification is retried before its delivery is given up as failed [default: 86400].
    #[arg(long, env = "HEALTHMON_DELIVERY_GIVE_UP_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_give_up_s: Option<u64>,
    /// How long raw samples are kept: a duration such as 30s, 12h, 90d, or forever [default: 90d].
    #[arg(long, env = "HEALTHMON_RAW_RETENTION", value_name = "DURATION", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_retention: Option<RetentionSetting>,
    /// How long rollups (uptime and series beyond raw samples) are kept [default: 400d].
    #[arg(long, env = "HEALTHMON_ROLLUP_RETENTION", value_name = "DURATION", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollup_retention: Option<RetentionSetting>,
    /// Serve the public status page, its JSON and badges [default: true].
    #[arg(long, env = "HEALTHMON_STATUS_PAGE", value_name = "BOOL", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_page: Option<bool>,
    /// The status page's title [default: Status].
    #[arg(long, env = "HEALTHMON_STATUS_TITLE", value_name = "TEXT", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_title: Option<String>,
}
