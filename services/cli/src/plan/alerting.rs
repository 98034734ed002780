//! The pure part of `apply` for notifiers, alert rules and maintenance windows: each keyed by
//! name like targets. Rules and windows name notifiers and targets by name in the file; they are
//! compared by those names (a stored rule's ids are named from the stored lists), and turned into
//! ids only when sent, once the notifiers and targets they name exist.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, anyhow, bail};
use healthmon_domain::alerting::maintenance::parse_maintenance;
use healthmon_domain::alerting::rule::parse_rule;
use healthmon_domain::alerting::{Selector, WindowSchedule};
use healthmon_wire::{AlertRuleView, MaintenanceView, NotifierView, SelectorView};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::notifiers::{self, SET};
use super::{Change, field_changes};
use crate::manifest::NotifierEntry;

/// The names a rule or window may refer to: the file's own, for each section it has, else the
/// stored ones.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub notifiers: BTreeSet<String>,
    pub targets: BTreeSet<String>,
}

/// Names by id of what is stored, to compare stored rules and windows by name.
#[derive(Debug, Clone, Default)]
pub struct StoredNames {
    pub notifiers: BTreeMap<Uuid, String>,
    pub targets: BTreeMap<Uuid, String>,
}

impl StoredNames {
    fn named(map: &BTreeMap<Uuid, String>, ids: &[Uuid]) -> BTreeSet<String> {
        ids.iter().map(|id| map.get(id).cloned().unwrap_or_else(|| id.to_string())).collect()
    }
}

/// One file entry, ready to compare.
struct Wanted {
    name: String,
    body: Value,
    comparable: Map<String, Value>,
    names_a_secret: bool,
    /// Fields whose value came from the environment: their new value is never printed.
    from_env: Vec<String>,
}

/// Creates, then updates (and the unchanged), then deletes, like targets.
fn by_name<S>(
    wanted: Vec<Wanted>,
    stored: &[S],
    what: &str,
    key: impl Fn(&S) -> (Uuid, &str),
    comparable: impl Fn(&S, &Map<String, Value>) -> anyhow::Result<Map<String, Value>>,
) -> anyhow::Result<Vec<Change>> {
    let mut stored_by_name: BTreeMap<&str, Vec<&S>> = BTreeMap::new();
    for item in stored {
        stored_by_name.entry(key(item).1).or_default().push(item);
    }
    let (mut creates, mut updates) = (Vec::new(), Vec::new());
    let wanted_names: BTreeSet<String> = wanted.iter().map(|entry| entry.name.clone()).collect();
    for entry in wanted {
        match stored_by_name.get(entry.name.as_str()).map(Vec::as_slice) {
            None | Some([]) => creates.push(Change::Create { name: entry.name, body: entry.body }),
            Some([current]) => {
                let have = comparable(current, &entry.comparable)
                    .with_context(|| format!("reading the stored {what} {:?}", entry.name))?;
                let mut fields = field_changes(&have, &entry.comparable);
                for change in &mut fields {
                    let hidden = entry
                        .from_env
                        .iter()
                        .any(|path| path == &change.field || path.starts_with(&format!("{}.", change.field)));
                    if hidden && change.to.is_some() {
                        change.to = Some(json!(SET));
                    }
                }
                updates.push(if fields.is_empty() {
                    Change::Unchanged { name: entry.name, credentials_named: entry.names_a_secret }
                } else {
                    Change::Update { id: key(current).0.to_string(), name: entry.name, body: entry.body, fields }
                });
            }
            Some(several) => bail!(
                "{} stored {what}s are named {:?}: rename or delete all but one before applying",
                several.len(),
                entry.name
            ),
        }
    }
    let mut deletes = Vec::new();
    for (name, items) in &stored_by_name {
        if !wanted_names.contains(*name) {
            for item in items {
                deletes.push(Change::Delete { id: key(item).0.to_string(), name: (*name).to_owned() });
            }
        }
    }
    Ok(creates.into_iter().chain(updates).chain(deletes).collect())
}

pub fn plan_notifiers(entries: &[NotifierEntry], stored: &[NotifierView]) -> anyhow::Result<Vec<Change>> {
    let mut wanted = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let name = entry_name(&entry.body, "notifiers", index)?;
        let comparable = notifiers::desired(&entry.body).with_context(|| format!("notifiers[{index}] ({name})"))?;
        wanted.push(Wanted {
            name,
            body: entry.body.clone(),
            comparable,
            names_a_secret: notifiers::names_a_secret(&entry.body),
            from_env: entry.from_env.clone(),
        });
    }
    by_name(wanted, stored, "notifier", |view| (view.id, view.name.as_str()), notifiers::stored)
}

fn entry_name(entry: &Value, section: &str, index: usize) -> anyhow::Result<String> {
    entry["name"].as_str().map(str::to_owned).with_context(|| format!("{section}[{index}] has no name"))
}

/// Stand-in ids for the names an entry gives, so the domain's parser can check the rest of it;
/// `by_id` turns them back into names.
#[derive(Default)]
struct StandIns {
    by_name: BTreeMap<String, Uuid>,
    by_id: BTreeMap<Uuid, String>,
}

impl StandIns {
    fn id(&mut self, name: &str) -> Uuid {
        let next = Uuid::from_u128(u128::try_from(self.by_name.len()).unwrap_or(u128::MAX) + 1);
        let id = *self.by_name.entry(name.to_owned()).or_insert(next);
        self.by_id.insert(id, name.to_owned());
        id
    }

    fn names(&self, ids: &[Uuid]) -> BTreeSet<String> {
        ids.iter().map(|id| self.by_id.get(id).cloned().unwrap_or_else(|| id.to_string())).collect()
    }
}

/// Replaces each name in `list` (a JSON list of strings) by a stand-in id, refusing unknown names.
fn stand_in_names(
    list: Option<&mut Value>,
    known: &BTreeSet<String>,
    what: &str,
    stand_ins: &mut StandIns,
) -> anyhow::Result<()> {
    let Some(Value::Array(items)) = list else { return Ok(()) };
    for item in items {
        if let Value::String(name) = item {
            anyhow::ensure!(known.contains(name.as_str()), "no {what} is named {name:?}");
            *item = json!(stand_ins.id(name));
        }
    }
    Ok(())
}

fn comparable_selector(selector: &Selector, targets: BTreeSet<String>) -> Value {
    let tags: BTreeSet<&String> = selector.tags.iter().collect();
    json!({"tags": tags, "targets": targets})
}

fn stored_selector(selector: &SelectorView, names: &StoredNames) -> Value {
    let tags: BTreeSet<&String> = selector.tags.iter().collect();
    json!({"tags": tags, "targets": StoredNames::named(&names.targets, &selector.targets)})
}

fn object(value: Value) -> anyhow::Result<Map<String, Value>> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(anyhow!("expected an object, got {other}")),
    }
}

fn desired_alert(entry: &Value, known: &Known) -> anyhow::Result<Map<String, Value>> {
    let mut document = entry.clone();
    let mut stand_ins = StandIns::default();
    stand_in_names(document.get_mut("notifiers"), &known.notifiers, "notifier", &mut stand_ins)?;
    let mut target_stand_ins = StandIns::default();
    let targets = document.get_mut("selector").and_then(|selector| selector.get_mut("targets"));
    stand_in_names(targets, &known.targets, "target", &mut target_stand_ins)?;
    let spec = parse_rule(&document).map_err(|errors| anyhow!("{errors}"))?;
    object(json!({
        "name": spec.name,
        "notifiers": stand_ins.names(&spec.notifiers),
        "selector": comparable_selector(&spec.selector, target_stand_ins.names(&spec.selector.targets)),
        "trigger_after_s": spec.trigger_after_s,
        "send_on_resolved": spec.send_on_resolved,
        "remind_every_s": spec.remind_every_s,
        "enabled": spec.enabled,
    }))
}

fn stored_alert(view: &AlertRuleView, names: &StoredNames) -> anyhow::Result<Map<String, Value>> {
    object(json!({
        "name": view.name,
        "notifiers": StoredNames::named(&names.notifiers, &view.notifiers),
        "selector": stored_selector(&view.selector, names),
        "trigger_after_s": view.trigger_after_s,
        "send_on_resolved": view.send_on_resolved,
        "remind_every_s": view.remind_every_s,
        "enabled": view.enabled,
    }))
}

pub fn plan_alerts(
    entries: &[Value],
    stored: &[AlertRuleView],
    known: &Known,
    names: &StoredNames,
) -> anyhow::Result<Vec<Change>> {
    let mut wanted = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let name = entry_name(entry, "alerts", index)?;
        let comparable = desired_alert(entry, known).with_context(|| format!("alerts[{index}] ({name})"))?;
        wanted.push(Wanted { name, body: entry.clone(), comparable, names_a_secret: false, from_env: Vec::new() });
    }
    by_name(wanted, stored, "alert rule", |view| (view.id, view.name.as_str()), |view, _| stored_alert(view, names))
}

fn desired_window(entry: &Value, known: &Known) -> anyhow::Result<Map<String, Value>> {
    let mut document = entry.clone();
    let mut stand_ins = StandIns::default();
    let targets = document.get_mut("selector").and_then(|selector| selector.get_mut("targets"));
    stand_in_names(targets, &known.targets, "target", &mut stand_ins)?;
    let spec = parse_maintenance(&document).map_err(|errors| anyhow!("{errors}"))?;
    let mut out = object(json!({
        "name": spec.name,
        "selector": comparable_selector(&spec.selector, stand_ins.names(&spec.selector.targets)),
    }))?;
    out.extend(object(serde_json::to_value(&spec.schedule)?)?);
    Ok(out)
}

fn stored_window(view: &MaintenanceView, names: &StoredNames) -> anyhow::Result<Map<String, Value>> {
    let schedule = match (view.starts_at, view.ends_at, &view.cron, view.duration_s, &view.timezone) {
        (Some(starts_at), Some(ends_at), ..) => WindowSchedule::Once { starts_at, ends_at },
        (_, _, Some(cron), Some(duration_s), Some(timezone)) => {
            WindowSchedule::Recurring { cron: cron.clone(), duration_s, timezone: timezone.clone() }
        }
        _ => bail!("the server showed neither a span nor a recurring schedule"),
    };
    let mut out = object(json!({"name": view.name, "selector": stored_selector(&view.selector, names)}))?;
    out.extend(object(serde_json::to_value(&schedule)?)?);
    Ok(out)
}

pub fn plan_maintenance(
    entries: &[Value],
    stored: &[MaintenanceView],
    known: &Known,
    names: &StoredNames,
) -> anyhow::Result<Vec<Change>> {
    let mut wanted = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let name = entry_name(entry, "maintenance", index)?;
        let comparable = desired_window(entry, known).with_context(|| format!("maintenance[{index}] ({name})"))?;
        wanted.push(Wanted { name, body: entry.clone(), comparable, names_a_secret: false, from_env: Vec::new() });
    }
    by_name(
        wanted,
        stored,
        "maintenance window",
        |view| (view.id, view.name.as_str()),
        |view, _| stored_window(view, names),
    )
}

/// A rule or window body as sent: the notifier and target names it gives replaced by their ids,
/// now that they exist.
pub fn with_ids(
    body: &Value,
    notifier_ids: &BTreeMap<String, Uuid>,
    target_ids: &BTreeMap<String, Uuid>,
) -> anyhow::Result<Value> {
    fn replace(list: Option<&mut Value>, ids: &BTreeMap<String, Uuid>, what: &str) -> anyhow::Result<()> {
        let Some(Value::Array(items)) = list else { return Ok(()) };
        for item in items {
            if let Value::String(name) = item {
                let id = ids.get(name.as_str()).with_context(|| format!("no {what} is named {name:?}"))?;
                *item = json!(id);
            }
        }
        Ok(())
    }
    let mut body = body.clone();
    replace(body.get_mut("notifiers"), notifier_ids, "notifier")?;
    replace(body.get_mut("selector").and_then(|selector| selector.get_mut("targets")), target_ids, "target")?;
    Ok(body)
}

#[cfg(test)]
mod tests;
