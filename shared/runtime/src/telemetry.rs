//! Tracing set-up: human-readable text by default, JSON lines for log shippers.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (as in tests) keep the first one.
pub fn init(format: &str, filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _already_installed =
        if format == "json" { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}
