//! The end-to-end tests, one binary for all of them (one link of the whole workspace, not one per
//! file). Several tests read process-wide metrics, so they rely on a process per test, which is
//! how nextest runs them (`scripts/test.sh` does the same without nextest).

mod alerting_api;
mod alerting_pipeline;
mod auth;
mod browser_console;
mod browser_status;
mod buffer_bound;
mod compat;
mod credentials;
mod degraded;
mod docs;
mod events;
mod health_pipeline;
mod history;
mod hostile_input;
mod login_limits;
mod metrics;
mod observability;
mod openapi;
mod projector_crash;
mod resync;
mod ssh_pipeline;
mod status_page;
mod uptime;
mod validation;
