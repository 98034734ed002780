//! The client subcommands' command line: where the server is, and what to ask it.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Where the API is and how to authenticate. Not `Debug`, so the token cannot be printed by accident.
#[derive(Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// URL of a running healthmon API.
    #[arg(long, env = "HEALTHMON_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// Bearer token: a login token (`healthmon login`) or an API token.
    // Hidden env values: `--help` would otherwise print the token.
    #[arg(long, env = "HEALTHMON_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Exchange a username and password for a token, printed on stdout for scripts.
    Login {
        /// User to log in as. The password comes from HEALTHMON_PASSWORD, else from the first line
        /// of stdin (never a flag: it would show in `ps` and shell history).
        #[arg(long, default_value = "admin")]
        username: String,
        // Last: its help heading would otherwise carry over to the arguments after it.
        #[command(flatten)]
        connection: Connection,
    },
    /// Create, list, show and delete targets.
    Targets {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        action: TargetsAction,
    },
    /// Overall and per-target health; exits 0 when every enabled target is healthy, 1 otherwise.
    Status {
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
        // Last: its help heading would otherwise carry over to the arguments after it.
        #[command(flatten)]
        connection: Connection,
    },
    /// Every target's uptime over a window, from the stored history.
    Uptime {
        /// 1h, 24h, 7d, 30d, 90d or 365d.
        #[arg(long, default_value = "24h")]
        window: String,
        /// Only the targets with this tag.
        #[arg(long)]
        tag: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
        // Last: its help heading would otherwise carry over to the arguments after it.
        #[command(flatten)]
        connection: Connection,
    },
    /// Print one line per health change, as it happens, until interrupted.
    Watch {
        #[command(flatten)]
        connection: Connection,
    },
    /// Create, list, test and delete notifiers (where alert notifications go).
    Notifiers {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        action: NotifiersAction,
    },
    /// List alert rules.
    Alerts {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        action: AlertsAction,
    },
    /// Notifications sent (or being sent), newest first.
    Deliveries {
        /// Only this alert rule's (id or name).
        #[arg(long, value_name = "ALERT")]
        alert: Option<String>,
        /// Only those sent to this notifier (id or name).
        #[arg(long, value_name = "NOTIFIER")]
        notifier: Option<String>,
        /// Only those about this target (id or name).
        #[arg(long, value_name = "TARGET")]
        target: Option<String>,
        #[arg(long, value_enum, value_name = "STATUS")]
        status: Option<DeliveryStatus>,
        /// At most this many, following the pages as needed.
        #[arg(long, value_name = "N", default_value = "50", value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
        // Last: its help heading would otherwise carry over to the arguments after it.
        #[command(flatten)]
        connection: Connection,
    },
    /// Make the stored targets, notifiers, alert rules and maintenance windows match a file:
    /// create, update and delete (see the README).
    Apply {
        /// YAML (or JSON) file with `targets:`, `notifiers:`, `alerts:` and `maintenance:` lists
        /// (any of them); each entry is a create body, keyed by name.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// Print the changes without making them.
        #[arg(long)]
        dry_run: bool,
        // Last: its help heading would otherwise carry over to the arguments after it.
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(Subcommand)]
pub enum TargetsAction {
    /// Create a target: an HTTP one from NAME and URL, or any kind from a JSON or YAML file.
    Add {
        /// Name of the new HTTP target.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        name: Option<String>,
        /// URL the HTTP target probes.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        target_url: Option<String>,
        /// Seconds between probes [server default: 60].
        #[arg(long, value_name = "SECONDS", conflicts_with = "file")]
        interval: Option<u32>,
        /// Seconds a probe may take [server default: 60].
        #[arg(long, value_name = "SECONDS", conflicts_with = "file")]
        timeout: Option<u32>,
        /// A tag (repeat for several).
        #[arg(long = "tag", value_name = "TAG", conflicts_with = "file")]
        tags: Vec<String>,
        /// A create body (any kind) in JSON or YAML.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// List every target with its health.
    List {
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Show one target (by id or name) with its health, newest samples and 24 h / 7 d / 30 d
    /// uptime, as JSON.
    Get { target: String },
    /// Delete a target (by id or name) and its history.
    Rm { target: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
    Suppressed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Suppressed => "suppressed",
        }
    }
}

/// The kinds `notifiers add NAME --kind …` builds from flags; email needs a file (`-f`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FlagNotifierKind {
    Webhook,
    Slack,
    Discord,
    Teams,
    Pagerduty,
    Ntfy,
}

#[derive(Subcommand)]
pub enum NotifiersAction {
    /// Create a notifier: from NAME, URL and flags for the common kinds, or any kind from a JSON
    /// or YAML file (where `${VAR}` strings are read from the environment).
    Add {
        /// Name of the new notifier.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        name: Option<String>,
        #[arg(long, value_enum, required_unless_present = "file", conflicts_with = "file")]
        kind: Option<FlagNotifierKind>,
        /// Where it sends (webhook, ntfy; pagerduty: instead of the Events API v2 endpoint). An
        /// argument, not `--url`: that flag is the server's.
        #[arg(value_name = "URL", conflicts_with = "file")]
        destination: Option<String>,
        /// Environment variable holding the kind's write-only value: a webhook's signing secret,
        /// a chat kind's webhook URL, PagerDuty's routing key, ntfy's token (never a flag value:
        /// it would show in `ps` and shell history).
        #[arg(long, value_name = "VAR", conflicts_with = "file")]
        secret_env: Option<String>,
        /// A create body (any kind) in JSON or YAML.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// List every notifier (secrets are never shown, only whether they are set).
    List {
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Send a test notification now; exits 1 when it was not delivered.
    Test { notifier: String },
    /// Delete a notifier (by id or name); refused while an alert rule names it.
    #[command(alias = "rm")]
    Delete { notifier: String },
}

#[derive(Subcommand)]
pub enum AlertsAction {
    /// List every alert rule.
    List {
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
}
