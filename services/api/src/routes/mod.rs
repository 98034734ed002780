//! The HTTP routes, one module per area, each exposing its own `router()`.

pub mod compat;
pub mod events;
pub mod health;
pub mod history;
pub mod legacy;
pub mod params;
pub mod resource;
pub mod table;
pub mod targets;
