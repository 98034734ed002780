//! Alert rules: which targets they watch (a selector) and how they notify (after how long, how
//! often, whether on recovery), parsed from client JSON with every bad field named at once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// Validates a complete rule document (POST and PUT; PATCH merges first). Defaults:
/// `trigger_after_s` 0, `send_on_resolved` true, `remind_every_s` 0, `enabled` true, empty selector.
pub fn parse_rule(value: &serde_json::Value) -> Result<AlertRuleSpec, ValidationErrors> {
    todo_parse(value)
}

fn todo_parse(_value: &serde_json::Value) -> Result<AlertRuleSpec, ValidationErrors> {
    Err(ValidationErrors::single("body", "alert rules are not parsed yet"))
}
