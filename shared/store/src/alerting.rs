//! Alerting's half of the store: notifiers, alert rules and maintenance windows (configuration),
//! incidents and the notifier's cursor over the stored transitions (the notifier's state), and the
//! delivery queue, claimed with leases so that any number of notifier processes share it.
//!
//! The notifier's *turn* is one transaction: the store reads what the turn needs (the transitions
//! after the cursor, the incidents they touch or that are due, the rules, windows and targets),
//! hands it to a pure decision, and writes what it decided (incidents, deliveries, alert events
//! in the outbox, the new cursor) before it commits. Only one turn runs at a time across all
//! processes; a process that cannot take it skips, so no decision is ever made twice.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::alerting::{
    AlertRuleSpec, Incident, MaintenanceSpec, NotificationContext, NotificationEvent, NotifierSpec,
};
use uuid::Uuid;

use crate::{Page, TargetRecord, TransitionRecord};

#[derive(Debug, Clone, PartialEq)]
pub struct NotifierRecord {
    pub id: Uuid,
    /// Write-only values sealed.
    pub spec: NotifierSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRuleRecord {
    pub id: Uuid,
    pub spec: AlertRuleSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceRecord {
    pub id: Uuid,
    pub spec: MaintenanceSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a configuration write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWrite<T> {
    Done(T),
    NotFound,
    /// A rule names notifiers that do not exist (these ids).
    UnknownNotifiers(Vec<Uuid>),
    /// A notifier is still named by these alert rules.
    InUse(Vec<Uuid>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            "suppressed" => Some(Self::Suppressed),
            _ => None,
        }
    }
}

/// A delivery as the queue holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: Uuid,
    /// Insertion order: the list's cursor, and the order within an incident.
    pub seq: i64,
    pub incident_id: Uuid,
    /// `None` for a notifier's test.
    pub alert_id: Option<Uuid>,
    pub notifier_id: Uuid,
    /// `None` for a notifier's test.
    pub target_id: Option<Uuid>,
    pub event: NotificationEvent,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When a pending delivery is next attempted.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// After this, a failed attempt is the last: the delivery is `failed`.
    pub give_up_at: DateTime<Utc>,
    /// What the notification says (the same on every retry).
    pub context: NotificationContext,
}

/// A delivery to record: `pending` (to send at `created_at`) or `suppressed` (recorded only).
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub alert_id: Option<Uuid>,
    pub notifier_id: Uuid,
    pub target_id: Option<Uuid>,
    pub status: DeliveryStatus,
    pub created_at: DateTime<Utc>,
    pub give_up_at: DateTime<Utc>,
    pub context: NotificationContext,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub alert: Option<Uuid>,
    pub notifier: Option<Uuid>,
    pub target: Option<Uuid>,
    pub status: Option<DeliveryStatus>,
    pub limit: u32,
    /// Only deliveries with a lower `seq` (the previous page's cursor); newest first.
    pub before_seq: Option<i64>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered {
        status_code: Option<u16>,
        at: DateTime<Utc>,
    },
    /// Failed; try again at `next_attempt_at`.
    Retry {
        status_code: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Failed for the last time.
    Failed {
        status_code: Option<u16>,
        error: String,
        at: DateTime<Utc>,
    },
}

/// The pending queue at a glance, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueueStats {
    pub pending: u64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub rule_id: Uuid,
    pub target_id: Uuid,
    pub incident: Incident,
}

/// What a notifier's turn is decided from.
#[derive(Debug, Clone)]
pub struct TurnInput {
    pub now: DateTime<Utc>,
    /// The cursor: the `seq` of the last transition a turn has handled.
    pub cursor: i64,
    /// Transitions after the cursor, oldest first, at most the turn's limit.
    pub transitions: Vec<TransitionRecord>,
    /// Every incident of the targets in `transitions`, and every incident due by `now`.
    pub incidents: Vec<IncidentRecord>,
    pub rules: Vec<AlertRuleRecord>,
    pub windows: Vec<MaintenanceRecord>,
    /// The stored targets among those in `transitions` and `incidents` (a deleted one is absent).
    pub targets: Vec<TargetRecord>,
}

/// An alert event for the outbox (published on the alerts stream, keyed by rule id).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub rule_id: Uuid,
    pub msg_id: Uuid,
    pub payload: Vec<u8>,
}

/// What a turn decided, written in the turn's transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnOutput {
    /// The new cursor (the input's when no transition was handled).
    pub cursor: i64,
    /// Incidents created or changed.
    pub upserted: Vec<IncidentRecord>,
    /// Incidents that ended or whose rule or target is gone: (rule id, target id).
    pub closed: Vec<(Uuid, Uuid)>,
    pub deliveries: Vec<NewDelivery>,
    pub events: Vec<AlertEvent>,
    /// How many transitions the turn was handed (written nowhere): a turn handed as many as its
    /// limit may have left more behind.
    pub transitions_handled: usize,
}

/// The pure decision a turn runs between its reads and its writes.
pub type Decide<'a> = dyn Fn(&TurnInput) -> TurnOutput + Send + Sync + 'a;

#[async_trait]
pub trait Alerting: Send + Sync {
    async fn create_notifier(&self, id: Uuid, spec: &NotifierSpec) -> anyhow::Result<NotifierRecord>;
    async fn get_notifier(&self, id: Uuid) -> anyhow::Result<Option<NotifierRecord>>;
    /// Ordered by name, then id.
    async fn list_notifiers(&self) -> anyhow::Result<Vec<NotifierRecord>>;
    async fn update_notifier(&self, id: Uuid, spec: &NotifierSpec) -> anyhow::Result<ConfigWrite<NotifierRecord>>;
    /// `InUse` while a rule names it (atomic with a concurrent rule write).
    async fn delete_notifier(&self, id: Uuid) -> anyhow::Result<ConfigWrite<()>>;

    /// `UnknownNotifiers` when the spec names a notifier that does not exist (atomic with a
    /// concurrent notifier delete).
    async fn create_alert_rule(&self, id: Uuid, spec: &AlertRuleSpec) -> anyhow::Result<ConfigWrite<AlertRuleRecord>>;
    async fn get_alert_rule(&self, id: Uuid) -> anyhow::Result<Option<AlertRuleRecord>>;
    async fn list_alert_rules(&self) -> anyhow::Result<Vec<AlertRuleRecord>>;
    async fn update_alert_rule(&self, id: Uuid, spec: &AlertRuleSpec) -> anyhow::Result<ConfigWrite<AlertRuleRecord>>;
    /// Deletes the rule and its incidents (its deliveries stay, as history).
    async fn delete_alert_rule(&self, id: Uuid) -> anyhow::Result<bool>;

    async fn create_maintenance(&self, id: Uuid, spec: &MaintenanceSpec) -> anyhow::Result<MaintenanceRecord>;
    async fn get_maintenance(&self, id: Uuid) -> anyhow::Result<Option<MaintenanceRecord>>;
    async fn list_maintenance(&self) -> anyhow::Result<Vec<MaintenanceRecord>>;
    async fn update_maintenance(&self, id: Uuid, spec: &MaintenanceSpec) -> anyhow::Result<Option<MaintenanceRecord>>;
    async fn delete_maintenance(&self, id: Uuid) -> anyhow::Result<bool>;

    /// The incidents (pending and open) of any of `target_ids`, as stored now: what a status page
    /// shows of them.
    async fn incidents_of(&self, target_ids: &[Uuid]) -> anyhow::Result<Vec<IncidentRecord>>;

    /// Runs one notifier turn (see the module comment) over at most `limit` transitions. Returns
    /// `None`, having decided nothing, when another process's turn is running.
    async fn alerting_turn(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        decide: &Decide<'_>,
    ) -> anyhow::Result<Option<TurnOutput>>;

    /// Records one delivery outside a turn (a notifier's test).
    async fn enqueue_delivery(&self, delivery: &NewDelivery) -> anyhow::Result<()>;

    /// Leases up to `limit` pending deliveries due by `now` to `holder` until `lease_until`: those
    /// not leased or whose lease has run out, and never one while an earlier delivery of the same
    /// incident to the same notifier is still pending (so a resolve never overtakes its trigger).
    /// Processes claiming at the same time get disjoint sets.
    async fn claim_deliveries(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DeliveryRecord>>;

    /// Records attempts of deliveries `holder` leased, each counted and its lease released, in one
    /// statement (a worker records what its sends came to a batch at a time, not a commit per
    /// send). Returns the ids recorded: one no longer pending, or leased since by another holder,
    /// is left as it is.
    async fn record_attempts(&self, holder: &str, attempts: &[(Uuid, AttemptOutcome)]) -> anyhow::Result<Vec<Uuid>>;

    /// [`Alerting::record_attempts`] for one delivery: false when nothing was recorded.
    async fn record_attempt(&self, id: Uuid, holder: &str, outcome: &AttemptOutcome) -> anyhow::Result<bool> {
        let recorded = self.record_attempts(holder, &[(id, outcome.clone())]).await?;
        Ok(recorded.contains(&id))
    }

    async fn get_delivery(&self, id: Uuid) -> anyhow::Result<Option<DeliveryRecord>>;
    async fn list_deliveries(&self, filter: &DeliveryFilter) -> anyhow::Result<Page<DeliveryRecord>>;
    async fn queue_stats(&self) -> anyhow::Result<QueueStats>;
}
