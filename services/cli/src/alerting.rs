//! The alerting commands: `notifiers`, `alerts` and `deliveries`, and the lookups they and
//! `apply` share (every notifier, rule and window; one by id or name).

pub mod deliveries;
pub mod notifiers;
pub mod render;

use anyhow::bail;
use healthmon_wire::{AlertRuleList, AlertRuleView, MaintenanceList, MaintenanceView, NotifierList, NotifierView};
use uuid::Uuid;

use super::api::Api;
use super::args::{AlertsAction, Output};

pub async fn all_notifiers(api: &Api) -> anyhow::Result<Vec<NotifierView>> {
    Ok(api.get::<NotifierList>("/api/v1/notifiers").await?.items)
}

pub async fn all_alerts(api: &Api) -> anyhow::Result<Vec<AlertRuleView>> {
    Ok(api.get::<AlertRuleList>("/api/v1/alerts").await?.items)
}

pub async fn all_maintenance(api: &Api) -> anyhow::Result<Vec<MaintenanceView>> {
    Ok(api.get::<MaintenanceList>("/api/v1/maintenance").await?.items)
}

/// The one item of `items` with this id, else with this exact name.
pub fn find_by_id_or_name<'a, T>(
    items: &'a [T],
    id_or_name: &str,
    what: &str,
    key: impl Fn(&T) -> (Uuid, &str),
) -> anyhow::Result<&'a T> {
    if let Ok(id) = Uuid::parse_str(id_or_name)
        && let Some(item) = items.iter().find(|item| key(item).0 == id)
    {
        return Ok(item);
    }
    let named: Vec<&T> = items.iter().filter(|item| key(item).1 == id_or_name).collect();
    match named.as_slice() {
        [] => bail!("no {what} named {id_or_name:?}"),
        [item] => Ok(item),
        _ => bail!("{} {what}s are named {id_or_name:?}: give the id instead", named.len()),
    }
}

pub async fn resolve_notifier(api: &Api, id_or_name: &str) -> anyhow::Result<NotifierView> {
    let notifiers = all_notifiers(api).await?;
    find_by_id_or_name(&notifiers, id_or_name, "notifier", |notifier| (notifier.id, &notifier.name)).cloned()
}

pub async fn resolve_alert(api: &Api, id_or_name: &str) -> anyhow::Result<AlertRuleView> {
    let alerts = all_alerts(api).await?;
    find_by_id_or_name(&alerts, id_or_name, "alert rule", |alert| (alert.id, &alert.name)).cloned()
}

/// `healthmon alerts list`.
pub async fn run_alerts(api: &Api, action: AlertsAction) -> anyhow::Result<()> {
    match action {
        AlertsAction::List { output } => {
            let alerts = all_alerts(api).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&alerts)?),
                Output::Table => {
                    let notifiers = all_notifiers(api).await?;
                    // Every target only when a rule lists some: there may be very many.
                    let lists_targets = alerts.iter().any(|alert| !alert.selector.targets.is_empty());
                    let targets = if lists_targets { api.all_targets().await? } else { Vec::new() };
                    print!("{}", render::alerts(&alerts, &notifiers, &targets));
                }
            }
        }
    }
    Ok(())
}
