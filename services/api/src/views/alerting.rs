//! Alerting's stored records as response bodies, field by field: a notifier's write-only values
//! (secrets, chat webhook URLs, header values) never reach the wire, only whether each is set.

use chrono::{DateTime, Utc};
use healthmon_domain::Target;
use healthmon_domain::alerting::notifier::Destination;
use healthmon_domain::alerting::{MaintenanceSpec, WindowSchedule};
use healthmon_store::Page;
use healthmon_store::alerting::{AlertRuleRecord, DeliveryRecord, DeliveryStatus, MaintenanceRecord, NotifierRecord};
use healthmon_wire::{
    AlertRuleView, DeliveryPage, DeliveryState, DeliveryView, MaintenanceView, NotifierView, SelectorView,
};

pub fn notifier(record: &NotifierRecord) -> NotifierView {
    let spec = &record.spec;
    let mut view = NotifierView {
        id: record.id,
        name: spec.name.clone(),
        kind: spec.kind().into(),
        url: None,
        method: None,
        headers: None,
        body: None,
        has_secret: None,
        has_webhook_url: None,
        has_routing_key: None,
        smtp_host: None,
        smtp_port: None,
        tls: None,
        username: None,
        has_password: None,
        from: None,
        to: None,
        has_token: None,
        created_at: record.created_at,
        updated_at: record.updated_at,
    };
    match &spec.destination {
        Destination::Webhook(webhook) => {
            view.url = Some(webhook.url.clone());
            view.method = Some(webhook.method.into());
            view.headers = Some(webhook.headers.keys().cloned().collect());
            view.body = Some(webhook.body.clone());
            view.has_secret = Some(webhook.secret.is_some());
        }
        Destination::Slack(_) | Destination::Discord(_) | Destination::Teams(_) => {
            // The URL is itself the secret: there is always one.
            view.has_webhook_url = Some(true);
        }
        Destination::Pagerduty(pagerduty) => {
            view.url = Some(pagerduty.url.clone());
            view.has_routing_key = Some(true);
        }
        Destination::Email(email) => {
            view.smtp_host = Some(email.smtp_host.clone());
            view.smtp_port = Some(email.smtp_port);
            view.tls = Some(email.tls.into());
            view.username = Some(email.username.clone());
            view.has_password = Some(email.password.is_some());
            view.from = Some(email.from.clone());
            view.to = Some(email.to.clone());
        }
        Destination::Ntfy(ntfy) => {
            view.url = Some(ntfy.url.clone());
            view.has_token = Some(ntfy.token.is_some());
        }
    }
    view
}

pub fn rule(record: &AlertRuleRecord) -> AlertRuleView {
    let spec = &record.spec;
    AlertRuleView {
        id: record.id,
        name: spec.name.clone(),
        notifiers: spec.notifiers.clone(),
        selector: SelectorView::from(&spec.selector),
        trigger_after_s: spec.trigger_after_s,
        send_on_resolved: spec.send_on_resolved,
        remind_every_s: spec.remind_every_s,
        enabled: spec.enabled,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// A window with whether it is open at `now`.
pub fn maintenance(record: &MaintenanceRecord, now: DateTime<Utc>) -> MaintenanceView {
    let spec = &record.spec;
    let active_until = spec.schedule.active_until(now);
    let mut view = MaintenanceView {
        id: record.id,
        name: spec.name.clone(),
        selector: SelectorView::from(&spec.selector),
        starts_at: None,
        ends_at: None,
        cron: None,
        duration_s: None,
        timezone: None,
        active: active_until.is_some(),
        active_until,
        created_at: record.created_at,
        updated_at: record.updated_at,
    };
    match &spec.schedule {
        WindowSchedule::Once { starts_at, ends_at } => {
            view.starts_at = Some(*starts_at);
            view.ends_at = Some(*ends_at);
        }
        WindowSchedule::Recurring { cron, duration_s, timezone } => {
            view.cron = Some(cron.clone());
            view.duration_s = Some(*duration_s);
            view.timezone = Some(timezone.clone());
        }
    }
    view
}

pub fn delivery(record: &DeliveryRecord) -> DeliveryView {
    DeliveryView {
        id: record.id,
        alert_id: record.alert_id,
        notifier_id: record.notifier_id,
        target_id: record.target_id,
        event: record.context.event.into(),
        status: delivery_state(record.status),
        attempts: record.attempts,
        last_status_code: record.last_status_code,
        last_error: record.last_error.clone(),
        created_at: record.created_at,
        delivered_at: record.delivered_at,
        next_attempt_at: record.next_attempt_at,
    }
}

fn delivery_state(status: DeliveryStatus) -> DeliveryState {
    match status {
        DeliveryStatus::Pending => DeliveryState::Pending,
        DeliveryStatus::Delivered => DeliveryState::Delivered,
        DeliveryStatus::Failed => DeliveryState::Failed,
        DeliveryStatus::Suppressed => DeliveryState::Suppressed,
    }
}

pub fn delivery_page(page: &Page<DeliveryRecord>) -> DeliveryPage {
    DeliveryPage { items: page.items.iter().map(delivery).collect(), next_cursor: page.next_cursor.clone() }
}

/// The maintenance windows as one request saw them: read once, then asked for each target it
/// shows whether one covers it now.
#[derive(Debug, Clone, Default)]
pub struct WindowsNow {
    windows: Vec<MaintenanceSpec>,
    now: Option<DateTime<Utc>>,
}

impl WindowsNow {
    pub fn new(records: &[MaintenanceRecord], now: DateTime<Utc>) -> Self {
        Self { windows: records.iter().map(|record| record.spec.clone()).collect(), now: Some(now) }
    }

    /// No window at all (a body built without reading them, such as a test's).
    pub fn none() -> Self {
        Self::default()
    }

    pub fn covers(&self, target: &Target) -> bool {
        let Some(now) = self.now else { return false };
        self.windows.iter().any(|window| window.covers_until(target.id, &target.spec.tags, now).is_some())
    }
}
