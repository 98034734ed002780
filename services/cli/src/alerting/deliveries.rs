//! `healthmon deliveries`: the notifications sent, newest first, through as many pages as
//! `--limit` takes.

use healthmon_wire::{DeliveryPage, DeliveryView};

use super::{all_alerts, all_notifiers, render, resolve_alert, resolve_notifier};
use crate::api::Api;
use crate::args::{DeliveryStatus, Output};

/// Asked per page; a longer `--limit` follows `next_cursor`.
const PAGE_LIMIT: u32 = 100;

pub struct Filters {
    pub alert: Option<String>,
    pub notifier: Option<String>,
    pub target: Option<String>,
    pub status: Option<DeliveryStatus>,
}

pub async fn run(api: &Api, filters: Filters, limit: u32, output: Output) -> anyhow::Result<()> {
    let mut query = Vec::new();
    // Names are looked up once, so a filter may name what the user knows.
    if let Some(alert) = &filters.alert {
        query.push(("alert", resolve_alert(api, alert).await?.id.to_string()));
    }
    if let Some(notifier) = &filters.notifier {
        query.push(("notifier", resolve_notifier(api, notifier).await?.id.to_string()));
    }
    if let Some(target) = &filters.target {
        let id = match uuid::Uuid::parse_str(target) {
            Ok(id) => id,
            Err(_) => api.resolve(target).await?.id,
        };
        query.push(("target", id.to_string()));
    }
    if let Some(status) = filters.status {
        query.push(("status", status.as_str().to_owned()));
    }
    let deliveries = fetch(api, &query, limit).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&deliveries)?),
        Output::Table => {
            let (notifiers, alerts) = (all_notifiers(api).await?, all_alerts(api).await?);
            print!("{}", render::deliveries(&deliveries, &notifiers, &alerts));
        }
    }
    Ok(())
}

/// Up to `limit` deliveries matching `filters`, newest first, page after page.
async fn fetch(api: &Api, filters: &[(&str, String)], limit: u32) -> anyhow::Result<Vec<DeliveryView>> {
    let mut deliveries: Vec<DeliveryView> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let left = limit.saturating_sub(u32::try_from(deliveries.len()).unwrap_or(u32::MAX));
        if left == 0 {
            return Ok(deliveries);
        }
        let mut query: Vec<(&str, String)> = filters.to_vec();
        query.push(("limit", left.min(PAGE_LIMIT).to_string()));
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: DeliveryPage = api.get_with_query("/api/v1/deliveries", &query).await?;
        let page_size = page.items.len();
        deliveries.extend(page.items.into_iter().take(usize::try_from(left).unwrap_or(usize::MAX)));
        match page.next_cursor {
            // An empty page with a cursor would loop for ever.
            Some(next) if page_size > 0 => cursor = Some(next),
            _ => return Ok(deliveries),
        }
    }
}
