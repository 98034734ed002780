//! Pure healthmon domain: targets, checks, samples, the health state machine, event payloads and
//! scheduling math. Nothing in this crate performs I/O, so every rule is testable without tokio.

pub mod address_policy;
pub mod alerting;
pub mod credential;
pub mod events;
pub mod expected_status;
pub mod health;
pub mod history;
pub mod projection;
pub mod sample;
pub mod schedule;
pub mod status_page;
pub mod target;
pub mod text;
pub mod trace;
pub mod validation;

pub use credential::Credential;
pub use expected_status::ExpectedStatus;
pub use health::{HealthState, HealthStatus, Thresholds, Transition};
pub use sample::Sample;
pub use target::{Check, HttpCheck, HttpMethod, Shell, SshCheck, Target, TargetSpec, TcpCheck};
pub use trace::TraceParent;
pub use validation::ValidationErrors;
