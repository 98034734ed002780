//! The HTTP routes, one module per area, each exposing its own `router()`.

pub mod alerting;
pub mod alerts;
pub mod compat;
pub mod deliveries;
pub mod events;
pub mod health;
pub mod history;
pub mod legacy;
pub mod maintenance;
pub mod notifier_test;
pub mod notifiers;
pub mod params;
pub mod resource;
pub mod table;
pub mod targets;
pub mod uptime;
