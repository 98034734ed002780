//! The decision of one notifier turn, pure: the stored transitions after the cursor and the
//! incidents that are due, run through each matching rule's incident state machine, become the
//! incidents to write, the deliveries to record (one per notice and notifier) and the alert events
//! to publish. The store runs it inside the turn's transaction, so whatever it decides is written
//! exactly once, however many notifier processes run.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use healthmon_domain::alerting::incident::{self, Step};
use healthmon_domain::alerting::{
    AlertChanged, AlertRef, HealthSummary, Incident, IncidentInput, Notice, NoticeKind, NotificationContext,
    NotificationEvent, TargetSummary,
};
use healthmon_domain::{Check, HealthStatus};
use healthmon_store::TargetRecord;
use healthmon_store::alerting::{
    AlertEvent, AlertRuleRecord, DeliveryStatus, IncidentRecord, NewDelivery, TurnInput, TurnOutput,
};
use uuid::Uuid;

/// Names incidents and deliveries after what caused them, so one decision always names them alike.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a9e_83b4_4d57_a0e2_5c3b_9d71_e408);

/// What a turn's decision needs besides its input.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long each delivery is retried.
    pub give_up_after: Duration,
    /// The CloudEvents `source` of the alert events.
    pub source: String,
}

type Key = (Uuid, Uuid);

/// Decides one turn; see the module comment.
pub fn decide(input: &TurnInput, policy: &Policy) -> TurnOutput {
    let mut turn = Turn::new(input, policy);
    for transition in &input.transitions {
        turn.output.cursor = transition.seq;
        let Some(target) = turn.targets.get(&transition.target_id).copied() else { continue };
        let change =
            IncidentInput::Became { status: transition.to, at: transition.at, reason: transition.reason.clone() };
        let health = HealthSummary {
            from: transition.from,
            to: transition.to,
            at: transition.at,
            reason: transition.reason.clone(),
        };
        for rule in turn.rules_matching(target) {
            let new_id =
                Uuid::new_v5(&NAMESPACE, format!("{}:{}:{}", rule.id, target.target.id, transition.seq).as_bytes());
            turn.apply(rule, target, &change, &health, transition.at, new_id);
        }
    }
    turn.tick_due();
    turn.close_orphans();
    turn.finish()
}

struct Turn<'a> {
    input: &'a TurnInput,
    policy: &'a Policy,
    rules: HashMap<Uuid, &'a AlertRuleRecord>,
    targets: HashMap<Uuid, &'a TargetRecord>,
    /// Every incident as this turn leaves it (`None`: ended in this turn).
    incidents: BTreeMap<Key, Option<Incident>>,
    /// The incidents this turn changed (written back), in the order first changed.
    changed: Vec<Key>,
    output: TurnOutput,
}

impl<'a> Turn<'a> {
    fn new(input: &'a TurnInput, policy: &'a Policy) -> Self {
        Self {
            input,
            policy,
            rules: input.rules.iter().filter(|rule| rule.spec.enabled).map(|rule| (rule.id, rule)).collect(),
            targets: input.targets.iter().map(|target| (target.target.id, target)).collect(),
            incidents: input
                .incidents
                .iter()
                .map(|record| ((record.rule_id, record.target_id), Some(record.incident.clone())))
                .collect(),
            changed: Vec::new(),
            output: TurnOutput {
                cursor: input.cursor,
                transitions_handled: input.transitions.len(),
                ..TurnOutput::default()
            },
        }
    }

    fn rules_matching(&self, target: &TargetRecord) -> Vec<&'a AlertRuleRecord> {
        let mut rules: Vec<&AlertRuleRecord> = self
            .rules
            .values()
            .filter(|rule| rule.spec.selector.matches(target.target.id, &target.target.spec.tags))
            .copied()
            .collect();
        rules.sort_by_key(|rule| rule.id);
        rules
    }

    /// When the maintenance window covering `target` now ends (the latest end when several do).
    fn maintenance_until(&self, target: &TargetRecord) -> Option<DateTime<Utc>> {
        let (id, tags) = (target.target.id, &target.target.spec.tags);
        self.input.windows.iter().filter_map(|window| window.spec.covers_until(id, tags, self.input.now)).max()
    }

    /// Runs `input` through the incident of (`rule`, `target`) and records what it calls for.
    fn apply(
        &mut self,
        rule: &AlertRuleRecord,
        target: &TargetRecord,
        input: &IncidentInput,
        health: &HealthSummary,
        event_at: DateTime<Utc>,
        new_id: Uuid,
    ) {
        let key = (rule.id, target.target.id);
        let current = self.incidents.get(&key).cloned().flatten();
        let maintenance_until = self.maintenance_until(target);
        let Step { incident, notices } =
            incident::step(current.as_ref(), input, &rule.spec.policy(), maintenance_until, self.input.now, new_id);
        if incident == current && notices.is_empty() {
            return;
        }
        let incident_id = incident.as_ref().or(current.as_ref()).map_or(new_id, |incident| incident.id);
        let told_before = current.as_ref().map(|incident| incident.notified.clone()).unwrap_or_default();
        let mut incident = incident;
        for notice in notices {
            let recipients = recipients(rule, &told_before, notice);
            if notice.kind == NoticeKind::Triggered
                && !notice.suppressed
                && let Some(incident) = incident.as_mut()
            {
                incident.notified = recipients.clone();
            }
            self.notify(rule, target, incident_id, notice, &recipients, health, event_at);
        }
        if !self.changed.contains(&key) {
            self.changed.push(key);
        }
        self.incidents.insert(key, incident);
    }

    /// Every incident due by now (and not ended in this turn) gets its tick.
    fn tick_due(&mut self) {
        let due: Vec<Key> = self
            .incidents
            .iter()
            .filter(|(_, incident)| {
                incident.as_ref().and_then(|incident| incident.due_at).is_some_and(|due| due <= self.input.now)
            })
            .map(|(key, _)| *key)
            .collect();
        for (rule_id, target_id) in due {
            let (Some(rule), Some(target)) = (self.rules.get(&rule_id).copied(), self.targets.get(&target_id).copied())
            else {
                continue;
            };
            let Some(Some(incident)) = self.incidents.get(&(rule_id, target_id)) else { continue };
            let health = HealthSummary {
                from: HealthStatus::Healthy,
                to: incident.status,
                at: incident.since,
                reason: incident.reason.clone(),
            };
            let id = incident.id;
            self.apply(rule, target, &IncidentInput::Tick, &health, self.input.now, id);
        }
    }

    /// Incidents whose rule no longer watches their target (disabled, or its selector changed)
    /// end, with a resolve to the notifiers that heard the trigger (when the rule sends resolves),
    /// so no receiver is left with an incident that never ends. Those whose rule or target was
    /// deleted end silently: nothing is left to describe them with, or nobody to tell.
    fn close_orphans(&mut self) {
        let orphans: Vec<Key> = self
            .incidents
            .iter()
            .filter(|((rule_id, target_id), incident)| {
                let watched = match (self.rules.get(rule_id), self.targets.get(target_id)) {
                    (Some(rule), Some(target)) => rule.spec.selector.matches(*target_id, &target.target.spec.tags),
                    _ => false,
                };
                incident.is_some() && !watched
            })
            .map(|(key, _)| *key)
            .collect();
        for key in orphans {
            let rule = self.input.rules.iter().find(|rule| rule.id == key.0);
            let target = self.targets.get(&key.1).copied();
            if let (Some(rule), Some(target), Some(Some(incident))) = (rule, target, self.incidents.get(&key).cloned())
                && incident.told
                && rule.spec.send_on_resolved
            {
                let health = HealthSummary {
                    from: incident.status,
                    to: target.health.status,
                    at: self.input.now,
                    reason: "no longer watched by this alert rule".to_owned(),
                };
                let notice = Notice { kind: NoticeKind::Resolved, suppressed: false };
                let recipients = recipients(rule, &incident.notified, notice);
                self.notify(rule, target, incident.id, notice, &recipients, &health, self.input.now);
            }
            self.incidents.insert(key, None);
            if !self.changed.contains(&key) {
                self.changed.push(key);
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // One notice's whole description; a struct would only rename it.
    fn notify(
        &mut self,
        rule: &AlertRuleRecord,
        target: &TargetRecord,
        incident_id: Uuid,
        notice: Notice,
        recipients: &[Uuid],
        health: &HealthSummary,
        at: DateTime<Utc>,
    ) {
        let event = match notice.kind {
            NoticeKind::Triggered => NotificationEvent::Triggered,
            NoticeKind::Reminder => NotificationEvent::Reminder,
            NoticeKind::Resolved => NotificationEvent::Resolved,
        };
        let context = NotificationContext {
            event,
            incident_id,
            alert: AlertRef { id: rule.id, name: rule.spec.name.clone() },
            target: summary(target),
            health: health.clone(),
        };
        let status = if notice.suppressed { DeliveryStatus::Suppressed } else { DeliveryStatus::Pending };
        let now = self.input.now;
        for notifier_id in recipients {
            let name = format!("{incident_id}:{}:{}:{notifier_id}", event.as_str(), at.timestamp_micros());
            self.output.deliveries.push(NewDelivery {
                id: Uuid::new_v5(&NAMESPACE, name.as_bytes()),
                incident_id,
                alert_id: Some(rule.id),
                notifier_id: *notifier_id,
                target_id: Some(target.target.id),
                status,
                created_at: now,
                give_up_at: now + self.policy.give_up_after,
                context: context.clone(),
            });
        }
        let change = AlertChanged::new(&context, notice, at);
        self.output.events.push(AlertEvent {
            rule_id: rule.id,
            msg_id: change.event_id(),
            payload: healthmon_domain::alerting::events::encode_alert(&change, &self.policy.source),
        });
    }

    fn finish(mut self) -> TurnOutput {
        for key in self.changed {
            match self.incidents.remove(&key).flatten() {
                Some(incident) => {
                    self.output.upserted.push(IncidentRecord { rule_id: key.0, target_id: key.1, incident })
                }
                None => self.output.closed.push(key),
            }
        }
        self.output
    }
}

/// Who hears of `notice`: a trigger (and anything only recorded) goes to the rule's notifiers
/// now; a reminder or a resolve to those that heard the trigger (`told`), whatever the rule names
/// since. Incidents stored before this was kept have none: the rule's notifiers, then.
fn recipients(rule: &AlertRuleRecord, told: &[Uuid], notice: Notice) -> Vec<Uuid> {
    match notice.kind {
        NoticeKind::Reminder | NoticeKind::Resolved if !notice.suppressed && !told.is_empty() => told.to_vec(),
        _ => rule.spec.notifiers.clone(),
    }
}

/// The target as notifications show it.
pub fn summary(target: &TargetRecord) -> TargetSummary {
    let (url, host) = match &target.target.spec.check {
        Check::Http(check) => (Some(check.url.clone()), None),
        Check::Ssh(check) => (None, Some(check.host.clone())),
        Check::Tcp(check) => (None, Some(check.host.clone())),
    };
    TargetSummary {
        id: target.target.id,
        name: target.target.spec.name.clone(),
        kind: target.target.kind().to_owned(),
        group: None,
        tags: target.target.spec.tags.clone(),
        url,
        host,
    }
}

#[cfg(test)]
mod tests;
