//! Alerting's pure rules: where notifications go (notifiers), when to send them (alert rules and
//! the incidents they open), when not to (maintenance windows), and what they say (the context a
//! notification is rendered from). The notifier role runs these rules and writes down what they
//! decide; nothing here reads a clock or touches the network.

pub mod context;
pub mod events;
mod fields;
pub mod incident;
pub mod maintenance;
pub mod notifier;
pub mod retry;
pub mod rule;

pub use context::{AlertRef, HealthSummary, NotificationContext, NotificationEvent, TargetSummary};
pub use events::{AlertChange, AlertChanged};
pub use incident::{Incident, IncidentInput, IncidentPhase, Notice, NoticeKind, RulePolicy};
pub use maintenance::{MaintenanceSpec, WindowSchedule};
pub use notifier::{Destination, NotifierKind, NotifierSpec};
pub use rule::{AlertRuleSpec, Selector};
