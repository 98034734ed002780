//! Settings, layered: built-in defaults < TOML file < environment (`HEALTHMON_*`) < command-line flags.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use clap::Args;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The settings of one process, after layering.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address of the HTTP listener (API, or the operational endpoints of a role-only process).
    pub listen: String,
    /// `sqlite://file.db` (embedded default) or `postgres://…`.
    pub database_url: String,
    /// NATS server; without it the process uses the in-process bus.
    pub nats_url: Option<String>,
    /// Prefix of every NATS subject, stream, consumer and bucket.
    pub nats_prefix: String,
    /// Comma list of `api`, `prober`, `projector`.
    pub roles: String,
    /// This instance's name in events, samples and metrics.
    pub instance: String,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter such as `info` or `healthmon=debug,info`; `RUST_LOG` wins when set.
    pub log: String,
    /// Seconds before a sample the projector took but did not ack is delivered again.
    pub projector_ack_wait_s: u64,
    /// Seconds a projector stays active after its last lease renewal; a standby takes over after it.
    pub projector_lease_ttl_s: u64,
    /// Seconds a prober stays a member after its last heartbeat; its targets move after it.
    pub heartbeat_ttl_s: u64,
    /// Password of the `admin` user created on first start; random (and logged once) when unset.
    pub admin_password: Option<Secret>,
    /// Require a token on `/healthz` too.
    pub protect_healthz: bool,
    /// Lifetime of a login session token, in seconds.
    pub session_ttl_s: u64,
    /// Comma list of CIDRs never to probe (on top of the always-refused metadata ranges).
    pub target_deny: String,
    /// Comma list of CIDRs probed even when inside `target_deny`.
    pub target_allow: String,
    /// Directory of the key pair that seals stored credentials.
    pub keys_dir: String,
    /// Comma list of browser origins allowed by CORS; empty: CORS off.
    pub cors_origins: String,
    /// Seconds any API request may take before it is answered 408/503 (SSE streams excepted).
    pub request_timeout_s: u64,
    /// Samples a prober holds while the bus cannot take them; beyond it the oldest are dropped.
    pub prober_buffer: usize,
}

/// A setting that must never be printed: `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://healthmon.db".into(),
            nats_url: None,
            nats_prefix: "healthmon".into(),
            roles: "api,prober,projector".into(),
            instance: default_instance(),
            log_format: "text".into(),
            log: "info".into(),
            projector_ack_wait_s: 30,
            projector_lease_ttl_s: 10,
            heartbeat_ttl_s: 10,
            admin_password: None,
            protect_healthz: false,
            session_ttl_s: 12 * 3600,
            target_deny: String::new(),
            target_allow: String::new(),
            keys_dir: "healthmon-keys".into(),
            cors_origins: String::new(),
            request_timeout_s: 30,
            prober_buffer: 100_000,
        }
    }
}

fn default_instance() -> String {
    let host = hostname::get().ok().and_then(|name| name.into_string().ok()).unwrap_or_else(|| "healthmon".into());
    format!("{host}-{}", std::process::id())
}

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
    /// Roles this process runs: comma list of api, prober, projector [default: all three].
    #[arg(long, env = "HEALTHMON_ROLES", value_name = "LIST", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
    /// Instance name in events, samples and metrics [default: host name and pid].
    #[arg(long, env = "HEALTHMON_INSTANCE", value_name = "NAME", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "HEALTHMON_LOG_FORMAT", value_name = "FORMAT", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
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
    pub target_deny: Option<String>,
    /// CIDRs probed even inside the deny list, comma-separated.
    #[arg(long, env = "HEALTHMON_TARGET_ALLOW", value_name = "CIDRS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_allow: Option<String>,
    /// Directory of the credential-sealing key pair [default: healthmon-keys].
    #[arg(long, env = "HEALTHMON_KEYS_DIR", value_name = "DIR", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_dir: Option<String>,
    /// Browser origins allowed by CORS, comma-separated [default: none, CORS off].
    #[arg(long, env = "HEALTHMON_CORS_ORIGINS", value_name = "ORIGINS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_origins: Option<String>,
    /// Seconds an API request may take [default: 30].
    #[arg(long, env = "HEALTHMON_REQUEST_TIMEOUT_S", value_name = "SECONDS", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_s: Option<u64>,
    /// Samples a prober buffers while NATS is away; beyond, the oldest are dropped [default: 100000].
    #[arg(long, env = "HEALTHMON_PROBER_BUFFER", value_name = "SAMPLES", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prober_buffer: Option<usize>,
}

impl Settings {
    /// Layers defaults, the TOML file named by `--config`/`HEALTHMON_CONFIG`, then environment and flags.
    pub fn load(args: &SettingsArgs) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &args.config {
            anyhow::ensure!(path.is_file(), "config file {} does not exist", path.display());
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment.merge(Serialized::defaults(args)).extract().context("reading settings")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.role_list()?;
        anyhow::ensure!((1..=3600).contains(&self.projector_ack_wait_s), "projector_ack_wait_s must be 1 to 3600");
        anyhow::ensure!((60..=30 * 86400).contains(&self.session_ttl_s), "session_ttl_s must be 60 to 2592000");
        anyhow::ensure!((1..=3600).contains(&self.request_timeout_s), "request_timeout_s must be 1 to 3600");
        anyhow::ensure!((1..=10_000_000).contains(&self.prober_buffer), "prober_buffer must be 1 to 10000000");
        anyhow::ensure!(matches!(self.log_format.as_str(), "text" | "json"), "log_format must be text or json");
        anyhow::ensure!(
            !self.nats_prefix.is_empty()
                && self.nats_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
            "nats_prefix must be letters, digits, - or _"
        );
        Ok(())
    }

    pub fn role_list(&self) -> anyhow::Result<Vec<Role>> {
        let mut roles: Vec<Role> = Vec::new();
        for part in self.roles.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let role: Role = part.parse()?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        anyhow::ensure!(!roles.is_empty(), "roles must name at least one of api, prober, projector");
        Ok(roles)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Api,
    Prober,
    Projector,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Api, Role::Prober, Role::Projector];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Prober => "prober",
            Role::Projector => "projector",
        }
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| anyhow::anyhow!("unknown role \"{text}\" (use api, prober, projector)"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("healthmon.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nnats_prefix = \"fromfile\"\n").unwrap();
        let args = SettingsArgs { config: Some(file), nats_prefix: Some("fromflag".into()), ..SettingsArgs::default() };
        let settings = Settings::load(&args).unwrap();
        assert_eq!(settings.listen, "0.0.0.0:9000");
        assert_eq!(settings.nats_prefix, "fromflag");
        assert_eq!(settings.database_url, "sqlite://healthmon.db");
    }

    #[test]
    fn unknown_keys_and_roles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        assert!(Settings::load(&SettingsArgs { config: Some(file), ..SettingsArgs::default() }).is_err());
        let settings = Settings { roles: "api,cook".into(), ..Settings::default() };
        assert!(settings.validate().is_err());
        let settings = Settings { roles: "projector, api,api".into(), ..Settings::default() };
        assert_eq!(settings.role_list().unwrap(), vec![Role::Projector, Role::Api]);
    }
}
