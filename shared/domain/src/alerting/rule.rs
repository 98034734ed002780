//! Alert rules: which targets they watch (a selector) and how they notify (after how long, how
//! often, whether on recovery), parsed from client JSON with every bad field named at once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::fields::Fields;
use crate::ValidationErrors;

/// Which targets a rule or a maintenance window concerns. Empty matches every target; otherwise a
/// target matches when it carries any listed tag or is listed by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub targets: Vec<Uuid>,
}

impl Selector {
    pub fn matches(&self, target_id: Uuid, tags: &[String]) -> bool {
        (self.tags.is_empty() && self.targets.is_empty())
            || self.targets.contains(&target_id)
            || self.tags.iter().any(|tag| tags.contains(tag))
    }
}

/// Everything a client may write about an alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleSpec {
    pub name: String,
    /// The notifiers each notification of this rule goes to (their existence is the store's to check).
    pub notifiers: Vec<Uuid>,
    pub selector: Selector,
    pub trigger_after_s: u32,
    pub send_on_resolved: bool,
    /// 0 = no reminders.
    pub remind_every_s: u32,
    pub enabled: bool,
}

impl AlertRuleSpec {
    pub fn policy(&self) -> super::RulePolicy {
        super::RulePolicy {
            trigger_after_s: self.trigger_after_s,
            send_on_resolved: self.send_on_resolved,
            remind_every_s: self.remind_every_s,
        }
    }
}

/// Read-only fields a client may echo back from a response.
const READ_ONLY: &[&str] = &["id", "created_at", "updated_at"];
const FIELDS: &[&str] =
    &["name", "notifiers", "selector", "trigger_after_s", "send_on_resolved", "remind_every_s", "enabled"];
pub const MAX_NOTIFIERS: usize = 20;
/// At most a day between going bad and the trigger.
pub const MAX_TRIGGER_AFTER_S: u32 = 86_400;
/// Reminders are off (0) or 1 s to a week apart (the contract's "≥ 1").
pub const REMIND_EVERY_RANGE: (u32, u32) = (1, 604_800);

/// Validates a complete rule document (POST and PUT; PATCH merges first). Defaults:
/// `trigger_after_s` 0, `send_on_resolved` true, `remind_every_s` 0, `enabled` true, empty selector.
/// `notifiers` is 1 to 20 ids; `trigger_after_s` at most 86400; `remind_every_s` 0 (off) or 1 to 604800, as the contract says (at least 1).
pub fn parse_rule(value: &serde_json::Value) -> Result<AlertRuleSpec, ValidationErrors> {
    let mut fields = Fields::of(value)?;
    fields.reject_unknown(&[FIELDS, READ_ONLY]);
    let name = fields.name();
    let notifiers = match fields.object.get("notifiers").filter(|value| !value.is_null()) {
        None => {
            fields.errors.add("notifiers", "is required: a list of notifier ids");
            Vec::new()
        }
        Some(list) => {
            let ids = fields.uuids("notifiers", list, MAX_NOTIFIERS);
            if list.as_array().is_some_and(Vec::is_empty) {
                fields.errors.add("notifiers", "must name at least one notifier");
            }
            ids
        }
    };
    let selector = fields.selector();
    let trigger_after_s =
        fields.number("trigger_after_s", 0, |n| n <= MAX_TRIGGER_AFTER_S, &format!("from 0 to {MAX_TRIGGER_AFTER_S}"));
    let send_on_resolved = fields.bool("send_on_resolved", true);
    let (min, max) = REMIND_EVERY_RANGE;
    let remind_every_s = fields.number(
        "remind_every_s",
        0,
        |n| n == 0 || (min..=max).contains(&n),
        &format!("0 or from {min} to {max}"),
    );
    let enabled = fields.bool("enabled", true);
    let spec = name.map(|name| AlertRuleSpec {
        name,
        notifiers,
        selector,
        trigger_after_s,
        send_on_resolved,
        remind_every_s,
        enabled,
    });
    fields.finish(spec)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOTIFIER: &str = "0190d2a6-0000-7000-8000-000000000001";

    #[test]
    fn given_a_minimal_rule_when_parsed_then_defaults_apply() {
        let spec = parse_rule(&json!({"name": " db down ", "notifiers": [NOTIFIER]})).expect("valid");
        assert_eq!(spec.name, "db down");
        assert_eq!(spec.notifiers, [Uuid::parse_str(NOTIFIER).unwrap()]);
        assert_eq!(spec.selector, Selector::default());
        assert_eq!(
            (spec.trigger_after_s, spec.send_on_resolved, spec.remind_every_s, spec.enabled),
            (0, true, 0, true)
        );
    }

    #[test]
    fn given_every_field_when_parsed_then_each_is_kept_and_echoed_read_only_fields_are_ignored() {
        let target = "0190d2a6-0000-7000-8000-0000000000aa";
        let spec = parse_rule(&json!({
            "id": NOTIFIER, "created_at": "2024-01-01T00:00:00Z", "updated_at": "x",
            "name": "r", "notifiers": [NOTIFIER, NOTIFIER], "selector": {"tags": ["prod", "prod"], "targets": [target]},
            "trigger_after_s": 86400, "send_on_resolved": false, "remind_every_s": 60, "enabled": false,
        }))
        .expect("valid");
        assert_eq!(spec.notifiers.len(), 1, "a repeated notifier counts once");
        assert_eq!(spec.selector.tags, ["prod"]);
        assert_eq!(spec.selector.targets, [Uuid::parse_str(target).unwrap()]);
        assert_eq!(
            (spec.trigger_after_s, spec.send_on_resolved, spec.remind_every_s, spec.enabled),
            (86400, false, 60, false)
        );
    }

    #[test]
    fn given_many_bad_fields_when_parsed_then_each_is_named_at_once() {
        let errors = parse_rule(&json!({
            "name": "", "notifiers": [NOTIFIER, "nope", 3], "selector": {"tags": [""], "targets": ["x"], "hosts": []},
            "trigger_after_s": 86401, "send_on_resolved": "yes", "remind_every_s": 604_801, "enabled": 1, "surprise": true,
        }))
        .unwrap_err();
        let named: Vec<&str> = errors.fields().keys().map(String::as_str).collect();
        assert_eq!(
            named,
            [
                "enabled",
                "name",
                "notifiers.1",
                "notifiers.2",
                "remind_every_s",
                "selector.hosts",
                "selector.tags.0",
                "selector.targets.0",
                "send_on_resolved",
                "surprise",
                "trigger_after_s",
            ]
        );
    }

    #[test]
    fn given_no_empty_or_too_many_notifiers_when_parsed_then_notifiers_is_named() {
        for notifiers in [json!(null), json!([]), json!(NOTIFIER), json!(vec![NOTIFIER; 21])] {
            let errors = parse_rule(&json!({"name": "r", "notifiers": notifiers})).unwrap_err();
            assert!(errors.fields().contains_key("notifiers"), "{notifiers}: {errors}");
        }
        assert!(parse_rule(&json!({"name": "r"})).unwrap_err().fields().contains_key("notifiers"));
    }

    #[test]
    fn given_reminder_bounds_when_parsed_then_zero_and_the_range_pass_and_the_rest_is_refused() {
        let remind = |value: serde_json::Value| {
            parse_rule(&json!({"name": "r", "notifiers": [NOTIFIER], "remind_every_s": value}))
        };
        for good in [0, 1, 60, 604_800] {
            assert_eq!(remind(json!(good)).expect("valid").remind_every_s, good);
        }
        for bad in [json!(604_801), json!(-1), json!(1.5)] {
            assert!(remind(bad.clone()).unwrap_err().fields().contains_key("remind_every_s"), "{bad}");
        }
    }

    #[test]
    fn given_a_selector_then_empty_matches_all_and_otherwise_any_tag_or_listed_id_does() {
        let (listed, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let tags = |list: &[&str]| list.iter().map(|tag| (*tag).to_owned()).collect::<Vec<_>>();
        assert!(Selector::default().matches(other, &[]));
        let selector = Selector { tags: tags(&["prod"]), targets: vec![listed] };
        assert!(selector.matches(listed, &[]));
        assert!(selector.matches(other, &tags(&["dev", "prod"])));
        assert!(!selector.matches(other, &tags(&["dev"])));
    }

    #[test]
    fn given_a_non_object_when_parsed_then_body_is_named() {
        assert!(parse_rule(&json!([1])).unwrap_err().fields().contains_key("body"));
    }
}
