//! Settings, layered: built-in defaults < TOML file < environment (`HEALTHMON_*`) < command-line flags.
//! Every value is typed and checked here, when the settings load, so a bad one is refused at start
//! with the setting's name and the wiring of the roles takes them as they are.

mod args;
mod values;

use std::time::Duration;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use healthmon_domain::history::Retention;
use serde::{Deserialize, Serialize};

pub use args::SettingsArgs;
pub use values::{CidrList, CorsOrigins, LogFormat, RetentionSetting, Role, Roles, Secret};

/// The settings of one process, after layering. Field names are the TOML keys, but for the
/// durations, whose keys (and flags and variables) end in `_s`: whole seconds.
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
    /// Which of `api`, `prober`, `projector`, `notifier` this process runs.
    pub roles: Roles,
    /// This instance's name in events, samples and metrics.
    pub instance: String,
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `healthmon=debug,info`; `RUST_LOG` wins when set.
    pub log: String,
    /// How long before a sample the projector took but did not ack is delivered again.
    #[serde(rename = "projector_ack_wait_s", with = "values::seconds")]
    pub projector_ack_wait: Duration,
    /// How long a projector stays active after its last lease renewal; a standby takes over after it.
    #[serde(rename = "projector_lease_ttl_s", with = "values::seconds")]
    pub projector_lease_ttl: Duration,
    /// How long a prober stays a member after its last heartbeat; its targets move after it.
    #[serde(rename = "heartbeat_ttl_s", with = "values::seconds")]
    pub heartbeat_ttl: Duration,
    /// Password of the `admin` user created on first start; random (and logged once) when unset.
    pub admin_password: Option<Secret>,
    /// Require a token on `/healthz` too.
    pub protect_healthz: bool,
    /// Lifetime of a login session token.
    #[serde(rename = "session_ttl_s", with = "values::seconds")]
    pub session_ttl: Duration,
    /// CIDRs never to probe (on top of the always-refused metadata ranges).
    pub target_deny: CidrList,
    /// CIDRs probed even when inside `target_deny`.
    pub target_allow: CidrList,
    /// Directory of the key pair that seals stored credentials.
    pub keys_dir: String,
    /// Browser origins allowed by CORS; none: CORS off.
    pub cors_origins: CorsOrigins,
    /// How long any API request may take before it is answered 408/503 (SSE streams excepted).
    #[serde(rename = "request_timeout_s", with = "values::seconds")]
    pub request_timeout: Duration,
    /// Samples a prober holds while the bus cannot take them; beyond it the oldest are dropped.
    pub prober_buffer: usize,
    /// How long a notification is retried before its delivery is given up as `failed`.
    #[serde(rename = "delivery_give_up_s", with = "values::seconds")]
    pub delivery_give_up: Duration,
    /// How long raw samples are kept; uptime and series answer from rollups beyond it.
    pub raw_retention: RetentionSetting,
    /// How long rollups are kept.
    pub rollup_retention: RetentionSetting,
    /// Whether the public status page, its JSON and badges are served (404 when not).
    pub status_page: bool,
    /// The status page's title.
    pub status_title: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://healthmon.db".into(),
            nats_url: None,
            nats_prefix: "healthmon".into(),
            roles: Roles::all(),
            instance: default_instance(),
            log_format: LogFormat::Text,
            log: "info".into(),
            projector_ack_wait: Duration::from_secs(30),
            projector_lease_ttl: Duration::from_secs(10),
            heartbeat_ttl: Duration::from_secs(10),
            admin_password: None,
            protect_healthz: false,
            session_ttl: Duration::from_secs(12 * 3600),
            target_deny: CidrList::default(),
            target_allow: CidrList::default(),
            keys_dir: "healthmon-keys".into(),
            cors_origins: CorsOrigins::default(),
            request_timeout: Duration::from_secs(30),
            prober_buffer: 100_000,
            delivery_give_up: Duration::from_secs(86_400),
            raw_retention: RetentionSetting(Retention::For(chrono::Duration::days(90))),
            rollup_retention: RetentionSetting(Retention::For(chrono::Duration::days(400))),
            status_page: true,
            status_title: "Status".into(),
        }
    }
}

fn default_instance() -> String {
    let host = hostname::get().ok().and_then(|name| name.into_string().ok()).unwrap_or_else(|| "healthmon".into());
    format!("{host}-{}", std::process::id())
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

    /// The bounds no type states: ranges of the numbers, and the characters of the NATS prefix.
    pub fn validate(&self) -> anyhow::Result<()> {
        let within = |name: &str, value: Duration, min_s: u64, max_s: u64| {
            anyhow::ensure!(
                (Duration::from_secs(min_s)..=Duration::from_secs(max_s)).contains(&value),
                "{name} must be {min_s} to {max_s}"
            );
            Ok(())
        };
        within("projector_ack_wait_s", self.projector_ack_wait, 1, 3600)?;
        for (name, ttl) in
            [("projector_lease_ttl_s", self.projector_lease_ttl), ("heartbeat_ttl_s", self.heartbeat_ttl)]
        {
            anyhow::ensure!(ttl >= Duration::from_secs(1), "{name} must be at least 1 second");
        }
        within("session_ttl_s", self.session_ttl, 60, 30 * 86400)?;
        anyhow::ensure!(
            !self.status_title.trim().is_empty()
                && self.status_title.chars().count() <= 200
                && !self.status_title.chars().any(char::is_control),
            "status_title must be 1 to 200 printable characters"
        );
        within("request_timeout_s", self.request_timeout, 1, 3600)?;
        within("delivery_give_up_s", self.delivery_give_up, 1, 30 * 86400)?;
        let kept = |retention: RetentionSetting| match retention.0 {
            Retention::Forever => None,
            Retention::For(kept) => Some(kept),
        };
        match (kept(self.raw_retention), kept(self.rollup_retention)) {
            (None, Some(_)) => anyhow::bail!("rollup_retention must be forever when raw_retention is"),
            (Some(raw), Some(rollup)) if rollup < raw => {
                anyhow::bail!(
                    "rollup_retention must be at least raw_retention: uptime beyond raw samples reads rollups"
                )
            }
            _ => {}
        }
        anyhow::ensure!((1..=10_000_000).contains(&self.prober_buffer), "prober_buffer must be 1 to 10000000");
        anyhow::ensure!(
            !self.nats_prefix.is_empty()
                && self.nats_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
            "nats_prefix must be letters, digits, - or _"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The flags alone, as a binary parses them (environment variables go through the same parser).
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        settings: SettingsArgs,
    }

    fn from_flags(flags: &[&str]) -> Result<Settings, String> {
        let flags = Flags::try_parse_from(std::iter::once("healthmon").chain(flags.iter().copied()))
            .map_err(|error| error.to_string())?;
        Settings::load(&flags.settings).map_err(|error| format!("{error:#}"))
    }

    fn from_toml(text: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("healthmon.toml");
        std::fs::write(&file, text).unwrap();
        Settings::load(&SettingsArgs { config: Some(file), ..SettingsArgs::default() })
            .map_err(|error| format!("{error:#}"))
    }

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
    fn every_setting_reads_its_textual_form_from_flags_and_from_the_file() {
        let flags = from_flags(&[
            "--roles",
            "projector, api",
            "--log-format",
            "json",
            "--target-deny",
            "10.1.2.3/8, ::1",
            "--target-allow",
            "10.0.0.1",
            "--cors-origins",
            "https://a.example,https://b.example",
            "--heartbeat-ttl-s",
            "7",
            "--session-ttl-s",
            "3600",
        ])
        .unwrap();
        let file = from_toml(
            "roles = \"projector, api\"\nlog_format = \"json\"\ntarget_deny = \"10.1.2.3/8, ::1\"\n\
             target_allow = \"10.0.0.1\"\ncors_origins = \"https://a.example,https://b.example\"\n\
             heartbeat_ttl_s = 7\nsession_ttl_s = 3600\n",
        )
        .unwrap();
        for settings in [flags, file] {
            assert_eq!(settings.roles.as_slice(), [Role::Projector, Role::Api]);
            assert_eq!(settings.log_format, LogFormat::Json);
            assert_eq!(settings.target_deny.to_string(), "10.0.0.0/8,::1/128");
            assert_eq!(settings.target_allow.to_string(), "10.0.0.1/32");
            assert_eq!(settings.cors_origins.header_values().len(), 2);
            assert_eq!(settings.heartbeat_ttl, Duration::from_secs(7));
            assert_eq!(settings.session_ttl, Duration::from_secs(3600));
        }
    }

    /// `value` is refused both as the flag `flag` and under its TOML key, each error naming the
    /// setting and `problem`.
    fn assert_refused(flag: &str, value: &str, problem: &str) {
        let key = flag.trim_start_matches("--").replace('-', "_");
        let from_flag = from_flags(&[flag, value]).unwrap_err();
        assert!(from_flag.contains(flag) && from_flag.contains(problem), "{from_flag}");
        let from_file = from_toml(&format!("{key} = {value:?}\n")).unwrap_err();
        assert!(from_file.contains(&format!("\"default.{key}\"")) && from_file.contains(problem), "{from_file}");
    }

    #[test]
    fn a_bad_role_is_refused_naming_the_setting() {
        assert_refused("--roles", "api,cook", "unknown role \"cook\"");
        assert_refused("--roles", ",", "at least one");
    }

    #[test]
    fn a_bad_log_format_is_refused_naming_the_setting() {
        assert_refused("--log-format", "xml", "unknown log format \"xml\"");
    }

    #[test]
    fn a_bad_cidr_is_refused_naming_the_setting() {
        assert_refused("--target-deny", "10.0.0.0/8, 10.0.0.0/33", "\"10.0.0.0/33\" is not a CIDR block");
        assert_refused("--target-allow", "example.com", "\"example.com\" is not a CIDR block");
    }

    #[test]
    fn a_wildcard_or_unsendable_origin_is_refused_naming_the_setting() {
        // The CORS layer panics on a wildcard in its list: refused here instead.
        assert_refused("--cors-origins", "*", "wildcard");
        assert_refused("--cors-origins", "https://a.example, bad origin", "bad origin \"bad origin\"");
    }

    #[test]
    fn a_zero_ttl_is_refused_naming_the_setting() {
        for (flag, problem) in [
            ("--heartbeat-ttl-s", "heartbeat_ttl_s must be at least 1 second"),
            ("--projector-lease-ttl-s", "projector_lease_ttl_s must be at least 1 second"),
            ("--projector-ack-wait-s", "projector_ack_wait_s must be 1 to 3600"),
            ("--request-timeout-s", "request_timeout_s must be 1 to 3600"),
        ] {
            let error = from_flags(&[flag, "0"]).unwrap_err();
            assert!(error.contains(problem), "{flag}: {error}");
        }
        let error = from_toml("session_ttl_s = 0\n").unwrap_err();
        assert!(error.contains("session_ttl_s must be 60 to 2592000"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(from_toml("lisen = \"x\"\n").unwrap_err().contains("lisen"));
    }

    #[test]
    fn the_defaults_survive_the_layering() {
        let settings = from_flags(&[]).unwrap();
        assert!(settings.roles.are_all());
        assert_eq!(settings.log_format, LogFormat::Text);
        assert_eq!(settings.target_deny, CidrList::default());
        assert_eq!(settings.cors_origins, CorsOrigins::default());
        assert_eq!(settings.session_ttl, Duration::from_secs(43_200));
    }
}
