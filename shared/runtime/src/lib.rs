//! What every healthmon process shares at run time: layered settings, telemetry, connections to
//! the store and the bus, the outbox relay, the operational endpoints, metrics and shutdown signals.

pub mod address_policy;
pub mod connect;
pub mod keys;
pub mod metrics;
pub mod ops;
pub mod outbox;
pub mod policy_client;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use settings::{Role, Settings, SettingsArgs};
