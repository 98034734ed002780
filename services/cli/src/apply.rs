//! `healthmon apply -f FILE`: reads the file and what is stored, prints the plan, and unless it
//! is a dry run makes the changes. Notifiers are created and updated first, then targets, then
//! the alert rules and maintenance windows that name them; deletions come last and in reverse
//! (rules and windows before the targets and notifiers they name), so a failure half-way has
//! removed nothing yet and nothing is deleted while something still names it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use healthmon_wire::{AlertRuleView, MaintenanceView, NotifierView, TargetView};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::alerting::{all_alerts, all_maintenance, all_notifiers};
use super::api::Api;
use super::manifest::{self, Manifest};
use super::plan::alerting::{Known, StoredNames, plan_alerts, plan_maintenance, plan_notifiers, with_ids};
use super::plan::{self, Change};

/// One kind's changes, as planned.
struct Section {
    title: &'static str,
    collection: &'static str,
    changes: Vec<Change>,
}

/// What the plan's sections say, in the order they print (the order creates and updates run).
struct Plan {
    notifiers: Option<Section>,
    targets: Option<Section>,
    alerts: Option<Section>,
    maintenance: Option<Section>,
}

impl Plan {
    fn sections(&self) -> impl Iterator<Item = &Section> {
        [&self.notifiers, &self.targets, &self.alerts, &self.maintenance].into_iter().flatten()
    }

    fn render(&self) -> String {
        let only_targets = self.notifiers.is_none() && self.alerts.is_none() && self.maintenance.is_none();
        if let (true, Some(targets)) = (only_targets, &self.targets) {
            // A targets-only file prints as it always has.
            return plan::render(&targets.changes);
        }
        let mut out = String::new();
        for section in self.sections() {
            let note = if section.title == "notifiers" { "secrets not compared" } else { "credentials not compared" };
            out.push_str(&format!("{}:\n{}", section.title, plan::render_noting(&section.changes, note)));
        }
        out
    }
}

pub async fn run(api: &Api, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let manifest = manifest::manifest_of(&manifest::read_document(file)?)?;
    let plan = make_plan(api, &manifest).await?;
    print!("{}", plan.render());
    if dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    let mut done = 0;
    for section in [&plan.notifiers, &plan.targets].into_iter().flatten() {
        for change in section.changes.iter().filter(|change| !matches!(change, Change::Delete { .. })) {
            let result = match section.collection {
                "notifiers" => write::<NotifierView>(api, section.collection, change, None).await,
                _ => write::<TargetView>(api, section.collection, change, None).await,
            };
            done += counted(result, section, change, done)?;
        }
    }
    let naming: Vec<&Section> = [&plan.alerts, &plan.maintenance].into_iter().flatten().collect();
    let writes = |section: &&Section| -> bool {
        section.changes.iter().any(|change| matches!(change, Change::Create { .. } | Change::Update { .. }))
    };
    if naming.iter().any(writes) {
        // The notifiers and targets they name exist now: read their ids once.
        let (notifier_ids, target_ids) = ids_by_name(api).await?;
        for section in naming {
            for change in &section.changes {
                let body = match change {
                    Change::Create { body, .. } | Change::Update { body, .. } => {
                        with_ids(body, &notifier_ids, &target_ids)?
                    }
                    Change::Delete { .. } | Change::Unchanged { .. } => continue,
                };
                let result = match section.collection {
                    "alerts" => write::<AlertRuleView>(api, section.collection, change, Some(body)).await,
                    _ => write::<MaintenanceView>(api, section.collection, change, Some(body)).await,
                };
                done += counted(result, section, change, done)?;
            }
        }
    }
    for section in [&plan.alerts, &plan.maintenance, &plan.targets, &plan.notifiers].into_iter().flatten() {
        for change in section.changes.iter().filter(|change| matches!(change, Change::Delete { .. })) {
            let result = write::<Value>(api, section.collection, change, None).await;
            done += counted(result, section, change, done)?;
        }
    }
    println!("applied: {done} changes");
    Ok(())
}

/// 1 for a change made; an error says how far it got, so a re-run's plan makes sense (earlier
/// changes stay made).
fn counted(result: anyhow::Result<bool>, section: &Section, change: &Change, done: usize) -> anyhow::Result<usize> {
    let what = section.title.trim_end_matches('s');
    match result {
        Ok(made) => Ok(usize::from(made)),
        Err(error) => {
            Err(error.context(format!("applying the change to {what} {:?} (after {done} changes made)", change.name())))
        }
    }
}

/// Makes one change; `body` replaces the planned one (rules and windows, with ids for names).
async fn write<T: DeserializeOwned>(
    api: &Api,
    collection: &str,
    change: &Change,
    body: Option<Value>,
) -> anyhow::Result<bool> {
    match change {
        Change::Create { body: planned, .. } => {
            let body = body.as_ref().unwrap_or(planned);
            api.call::<T>(Method::POST, &format!("/api/v1/{collection}"), Some(body)).await?;
        }
        Change::Update { id, body: planned, .. } => {
            let body = body.as_ref().unwrap_or(planned);
            api.call::<T>(Method::PUT, &format!("/api/v1/{collection}/{id}"), Some(body)).await?;
        }
        Change::Delete { id, .. } => {
            api.call_without_answer(Method::DELETE, &format!("/api/v1/{collection}/{id}")).await?;
        }
        Change::Unchanged { .. } => return Ok(false),
    }
    Ok(true)
}

/// Every notifier's and target's id by name, as stored now (names stored twice are left out:
/// planning refused any the file names).
async fn ids_by_name(api: &Api) -> anyhow::Result<(BTreeMap<String, Uuid>, BTreeMap<String, Uuid>)> {
    fn unique<'a>(pairs: impl Iterator<Item = (&'a str, Uuid)>) -> BTreeMap<String, Uuid> {
        let mut seen: BTreeMap<String, Option<Uuid>> = BTreeMap::new();
        for (name, id) in pairs {
            seen.entry(name.to_owned()).and_modify(|known| *known = None).or_insert(Some(id));
        }
        seen.into_iter().filter_map(|(name, id)| id.map(|id| (name, id))).collect()
    }
    let notifiers = all_notifiers(api).await?;
    let targets = api.all_targets().await?;
    Ok((
        unique(notifiers.iter().map(|notifier| (notifier.name.as_str(), notifier.id))),
        unique(targets.iter().map(|target| (target.name.as_str(), target.id))),
    ))
}

/// Reads what each section needs and plans it.
async fn make_plan(api: &Api, manifest: &Manifest) -> anyhow::Result<Plan> {
    let names_things = manifest.alerts.is_some() || manifest.maintenance.is_some();
    let stored_notifiers =
        if manifest.notifiers.is_some() || names_things { all_notifiers(api).await? } else { Vec::new() };
    let stored_targets = if manifest.targets.is_some() || names_things { api.all_targets().await? } else { Vec::new() };
    let known = Known {
        notifiers: match &manifest.notifiers {
            Some(entries) => {
                entries.iter().filter_map(|entry| entry.body["name"].as_str()).map(str::to_owned).collect()
            }
            None => stored_notifiers.iter().map(|notifier| notifier.name.clone()).collect(),
        },
        targets: match &manifest.targets {
            Some(entries) => entries.iter().filter_map(|entry| entry["name"].as_str()).map(str::to_owned).collect(),
            None => unambiguous(stored_targets.iter().map(|target| target.name.as_str())),
        },
    };
    let names = StoredNames {
        notifiers: stored_notifiers.iter().map(|notifier| (notifier.id, notifier.name.clone())).collect(),
        targets: stored_targets.iter().map(|target| (target.id, target.name.clone())).collect(),
    };
    let section = |title, collection, changes| Section { title, collection, changes };
    let notifiers = match &manifest.notifiers {
        Some(entries) => Some(section("notifiers", "notifiers", plan_notifiers(entries, &stored_notifiers)?)),
        None => None,
    };
    let targets = match &manifest.targets {
        Some(entries) => Some(section("targets", "targets", plan::plan(entries, &stored_targets)?)),
        None => None,
    };
    let alerts = match &manifest.alerts {
        Some(entries) => {
            let stored = all_alerts(api).await?;
            Some(section("alerts", "alerts", plan_alerts(entries, &stored, &known, &names)?))
        }
        None => None,
    };
    let maintenance = match &manifest.maintenance {
        Some(entries) => {
            let stored = all_maintenance(api).await?;
            Some(section("maintenance", "maintenance", plan_maintenance(entries, &stored, &known, &names)?))
        }
        None => None,
    };
    Ok(Plan { notifiers, targets, alerts, maintenance })
}

/// The names stored exactly once (one stored twice cannot be named).
fn unambiguous<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    counts.into_iter().filter(|(_, count)| *count == 1).map(|(name, _)| name.to_owned()).collect()
}
