//! The HTTP API's response bodies, one type per wire shape: the api serializes them, the OpenAPI
//! document derives its schemas from them and the CLI deserializes them. Each is built from store
//! records by an explicit conversion in the api; no type here has a field that could hold a
//! credential, so a response can only say whether one is set (`has_password`, `has_private_key`).

pub mod alerting;
pub mod auth;
pub mod compat;
pub mod errors;
pub mod health;
pub mod history;
mod nullable;
pub mod samples;
pub mod status;
pub mod targets;

pub use alerting::{
    AlertRuleList, AlertRuleView, DeliveryEvent, DeliveryPage, DeliveryState, DeliveryView, MaintenanceList,
    MaintenanceView, NotifierKind, NotifierList, NotifierTestResult, NotifierView, SelectorView, SmtpTls,
    WebhookMethod,
};
pub use auth::{LoginResponse, Role, TokenCreated, TokenList, TokenView, UserList, UserView};
pub use errors::{ErrorBody, ErrorDetail, ErrorDetails};
pub use health::{HealthBreakdown, HealthStatus, HealthView, ResyncResult, TargetHealth};
pub use history::{LatencySummary, SeriesItem, SeriesLatency, SeriesView, UptimeItem, UptimeList, UptimeView};
pub use samples::{SamplePage, SampleView, TransitionPage, TransitionView};
pub use status::{
    ResponseTimePoint, StatusDay, StatusGroup, StatusIncident, StatusPage, StatusTarget, StatusTransition, StatusUptime,
};
pub use targets::{HttpMethod, Shell, TargetKind, TargetPage, TargetView};
