//! Slack, Discord and Teams: a JSON POST to an incoming-webhook URL (the secret), with the headline,
//! the reason and the target's facts in each service's own card shape.

use healthmon_domain::alerting::context::{NotificationContext, NotificationEvent};
use serde_json::json;

use super::http::HttpMessage;
use super::{Failure, Opened};

/// One colour per event, as `RRGGBB`: red while it is wrong, green when it is right again.
fn color(event: NotificationEvent) -> &'static str {
    match event {
        NotificationEvent::Triggered | NotificationEvent::Reminder => "d00000",
        NotificationEvent::Resolved => "2eb886",
        NotificationEvent::Test => "439fe0",
    }
}

/// The facts every card lists, by label.
fn facts(context: &NotificationContext) -> Vec<(&'static str, String)> {
    let target = &context.target;
    let mut facts = vec![
        ("Target", format!("{} ({})", target.name, target.kind)),
        ("Health", format!("{} → {}", context.health.from, context.health.to)),
        ("At", context.health.at.to_rfc3339()),
        ("Alert", context.alert.name.clone()),
    ];
    if let Some(group) = &target.group {
        facts.push(("Group", group.clone()));
    }
    if let Some(address) = target.url.as_ref().or(target.host.as_ref()) {
        facts.push(("Address", address.clone()));
    }
    facts
}

fn reason(context: &NotificationContext) -> String {
    if context.health.reason.is_empty() { context.headline() } else { context.health.reason.clone() }
}

pub(crate) fn slack(webhook_url: &Opened, context: &NotificationContext) -> Result<HttpMessage, Failure> {
    let fields: Vec<_> = facts(context)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value, "short": true}))
        .collect();
    let body = json!({
        "text": context.headline(),
        "attachments": [{
            "color": format!("#{}", color(context.event)),
            "title": context.headline(),
            "text": reason(context),
            "fields": fields,
            "ts": context.health.at.timestamp(),
        }],
    });
    Ok(HttpMessage::json_post(webhook_url.clone(), &body))
}

pub(crate) fn discord(webhook_url: &Opened, context: &NotificationContext) -> Result<HttpMessage, Failure> {
    let fields: Vec<_> =
        facts(context).into_iter().map(|(name, value)| json!({"name": name, "value": value, "inline": true})).collect();
    // Discord takes the colour as an integer.
    let color = u32::from_str_radix(color(context.event), 16).unwrap_or(0);
    let body = json!({
        "content": context.headline(),
        "embeds": [{
            "title": context.headline(),
            "description": reason(context),
            "color": color,
            "fields": fields,
            "timestamp": context.health.at.to_rfc3339(),
        }],
    });
    Ok(HttpMessage::json_post(webhook_url.clone(), &body))
}

/// A MessageCard, as Gatus and Uptime Kuma send to Teams incoming webhooks.
pub(crate) fn teams(webhook_url: &Opened, context: &NotificationContext) -> Result<HttpMessage, Failure> {
    let facts: Vec<_> = facts(context).into_iter().map(|(name, value)| json!({"name": name, "value": value})).collect();
    let body = json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": color(context.event),
        "summary": context.headline(),
        "title": context.headline(),
        "text": reason(context),
        "sections": [{"facts": facts}],
    });
    Ok(HttpMessage::json_post(webhook_url.clone(), &body))
}
