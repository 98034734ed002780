//! The status page as HTML, rendered on the server (maud): every figure is in the document, so
//! it reads without JavaScript; the small script beside it only applies live status changes.

use chrono::{DateTime, Utc};
use healthmon_domain::status_page::Grade;
use healthmon_wire::{ResponseTimePoint, StatusDay, StatusPage, StatusTarget, StatusTransition};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::badge::percent;
use super::build::StatusFilter;

/// Where the page's stylesheet, script and live stream are served.
pub const STYLESHEET: &str = "/status/assets/status.css";
pub const SCRIPT: &str = "/status/assets/status.js";
pub const EVENTS: &str = "/api/v1/status/events";
/// The chart's drawing box; the stylesheet scales it to the card's width.
const CHART_WIDTH: f64 = 240.0;
const CHART_HEIGHT: f64 = 40.0;

pub fn render(page: &StatusPage, filter: &StatusFilter) -> Markup {
    let (overall_class, overall) = overall(page);
    html! {
        (DOCTYPE)
        html lang="en" {
            (crate::pages::head(&page.title, STYLESHEET, Some(SCRIPT)))
            body data-events=(EVENTS) {
                header {
                    h1 { (page.title) }
                    p.overall.(overall_class) data-overall role="status" { (overall) }
                }
                main {
                    @if page.groups.is_empty() {
                        p.empty { "No public targets to show." }
                    }
                    @for group in &page.groups {
                        section.group {
                            h2 { (group.name.as_deref().unwrap_or("Other")) }
                            @for target in &group.targets {
                                (target_card(target))
                            }
                        }
                    }
                    (transitions(&page.transitions))
                }
                footer {
                    "Figures as of " time datetime=(page.generated_at.to_rfc3339()) { (short_time(page.generated_at)) }
                    " · " a href=(json_link(filter)) { "JSON" }
                }
            }
        }
    }
}

fn overall(page: &StatusPage) -> (&'static str, &'static str) {
    let counts = &page.counts;
    if counts.unhealthy > 0 {
        ("overall-down", "Some systems are down")
    } else if counts.stale > 0 || counts.unknown > 0 {
        ("overall-degraded", "Some systems are not reporting")
    } else {
        ("overall-up", "All systems operational")
    }
}

fn target_card(target: &StatusTarget) -> Markup {
    let status = target.status.as_str();
    html! {
        article.target data-target=(target.id) data-state=(status) {
            div.line {
                h3 { (target.name) }
                span class={ "status status-" (status) } data-status { (status) }
                @if target.maintenance {
                    span.maintenance { "maintenance" }
                }
            }
            @if let Some(incident) = &target.incident {
                p.incident {
                    "Incident: not healthy since " time datetime=(incident.since.to_rfc3339()) { (short_time(incident.since)) }
                }
            }
            dl.uptime {
                (uptime_figure("24 h", target.uptime.day))
                (uptime_figure("7 d", target.uptime.week))
                (uptime_figure("30 d", target.uptime.month))
            }
            (day_bar(&target.days))
            (chart(&target.response_times))
        }
    }
}

fn uptime_figure(label: &str, uptime: Option<f64>) -> Markup {
    html! {
        div {
            dt { (label) }
            dd class={ "grade-" (Grade::of_uptime(uptime).word()) } { (uptime.map_or_else(|| "–".to_owned(), percent)) }
        }
    }
}

/// One `<i>` a day, its grade in a one-letter class: at a thousand targets the page carries
/// 90,000 of them, so each is as small as it can be (the script adds a date on hover).
fn day_bar(days: &[StatusDay]) -> Markup {
    let silent = days.iter().filter(|day| day.uptime.is_none()).count();
    let failing = days.iter().filter(|day| day.uptime.is_some_and(|uptime| uptime < 1.0)).count();
    let label =
        format!("Uptime per day over the last {} days: {failing} with failures, {silent} without data", days.len());
    html! {
        div.bar role="img" aria-label=(label) data-first=[days.first().map(|day| day.date.to_string())] {
            @for day in days {
                i class=(day_class(Grade::of_uptime(day.uptime))) {}
            }
        }
    }
}

fn day_class(grade: Grade) -> &'static str {
    match grade {
        Grade::Excellent => "d-e",
        Grade::Good => "d-g",
        Grade::Fair => "d-f",
        Grade::Poor => "d-p",
        Grade::Bad => "d-b",
        Grade::Unmeasured => "d-u",
    }
}

/// The last 24 hours' hourly mean response time as a line; the highest hour sets the scale.
fn chart(points: &[ResponseTimePoint]) -> Markup {
    let Some(first) = points.first() else {
        return html! { p.nochart { "No response times in the last 24 hours." } };
    };
    let peak = points.iter().map(|point| point.mean_ms).fold(1.0_f64, f64::max);
    let start = first.at.timestamp() as f64;
    let x_of = |at: DateTime<Utc>| ((at.timestamp() as f64 - start) / (23.0 * 3600.0) * CHART_WIDTH).min(CHART_WIDTH);
    let y_of = |ms: f64| CHART_HEIGHT - 2.0 - ms / peak * (CHART_HEIGHT - 4.0);
    let line: Vec<String> =
        points.iter().map(|point| format!("{:.1},{:.1}", x_of(point.at), y_of(point.mean_ms))).collect();
    let latest = points.last().map_or(0.0, |point| point.mean_ms);
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (CHART_WIDTH) " " (CHART_HEIGHT) } preserveAspectRatio="none" role="img"
                aria-label={ "Mean response time per hour over the last 24 hours, peak " (peak.round()) " ms" } {
                polyline points=(line.join(" ")) fill="none" stroke="currentColor" stroke-width="1.5"
                    vector-effect="non-scaling-stroke" {}
            }
            figcaption { "Response time, 24 h · now " (latest.round()) " ms · peak " (peak.round()) " ms" }
        }
    }
}

fn transitions(transitions: &[StatusTransition]) -> Markup {
    html! {
        section.transitions {
            h2 { "Recent changes" }
            ol data-transitions {
                @for transition in transitions {
                    (transition_item(transition))
                }
            }
            @if transitions.is_empty() {
                p.empty { "No changes yet." }
            }
        }
    }
}

fn transition_item(transition: &StatusTransition) -> Markup {
    html! {
        li {
            time datetime=(transition.at.to_rfc3339()) { (short_time(transition.at)) }
            " " strong { (transition.name) } " "
            span class={ "status status-" (transition.from.as_str()) } { (transition.from.as_str()) }
            (PreEscaped(" &rarr; "))
            span class={ "status status-" (transition.to.as_str()) } { (transition.to.as_str()) }
        }
    }
}

fn short_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `/api/v1/status` with the same narrowing as this page.
fn json_link(filter: &StatusFilter) -> String {
    let mut query = url_pairs(filter);
    if !query.is_empty() {
        query.insert(0, '?');
    }
    format!("/api/v1/status{query}")
}

fn url_pairs(filter: &StatusFilter) -> String {
    let pairs: Vec<String> = [("tag", &filter.tag), ("group", &filter.group)]
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name}={}", encode(value.as_deref()?))))
        .collect();
    pairs.join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthmon_wire::health::StatusCounts;
    use healthmon_wire::{HealthStatus, StatusUptime};

    fn page(targets: Vec<StatusTarget>) -> StatusPage {
        let mut counts = StatusCounts::default();
        for target in &targets {
            if target.status == HealthStatus::Unhealthy {
                counts.unhealthy += 1;
            } else {
                counts.healthy += 1;
            }
        }
        StatusPage {
            title: "Acme <status>".into(),
            generated_at: Utc::now(),
            counts,
            groups: vec![healthmon_wire::StatusGroup { name: Some("Core".into()), targets }],
            transitions: Vec::new(),
        }
    }

    fn target(name: &str, status: HealthStatus) -> StatusTarget {
        StatusTarget {
            id: uuid::Uuid::now_v7(),
            name: name.into(),
            key: format!("core_{name}"),
            status,
            since: None,
            maintenance: false,
            incident: None,
            uptime: StatusUptime { day: Some(1.0), week: Some(0.5), month: None },
            days: Vec::new(),
            response_times: vec![
                ResponseTimePoint { at: Utc::now() - chrono::Duration::hours(2), mean_ms: 20.0, max_ms: 30.0 },
                ResponseTimePoint { at: Utc::now(), mean_ms: 40.0, max_ms: 90.0 },
            ],
        }
    }

    #[test]
    fn given_targets_when_rendered_then_names_statuses_and_uptimes_are_text_and_markup_is_escaped() {
        let html =
            render(&page(vec![target("api<1>", HealthStatus::Unhealthy)]), &StatusFilter::default()).into_string();
        assert!(html.contains("Acme &lt;status&gt;"), "{html}");
        assert!(html.contains("api&lt;1&gt;"), "{html}");
        assert!(html.contains(">unhealthy<"), "{html}");
        assert!(html.contains("100%") && html.contains("50.0%"), "{html}");
        assert!(html.contains("Some systems are down"), "{html}");
        assert!(html.contains("<polyline"), "{html}");
    }

    #[test]
    fn given_a_page_when_rendered_then_it_has_no_inline_script_or_style() {
        let html = render(&page(vec![target("web", HealthStatus::Healthy)]), &StatusFilter::default()).into_string();
        assert!(!html.contains("style="), "{html}");
        assert!(!html.contains("<style"), "{html}");
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains(r#"<script src="/status/assets/status.js" defer></script>"#), "{html}");
    }

    #[test]
    fn given_a_filter_when_rendered_then_the_json_link_keeps_it_encoded() {
        let filter = StatusFilter { tag: Some("prod".into()), group: Some("Core & Edge".into()) };
        assert_eq!(json_link(&filter), "/api/v1/status?tag=prod&group=Core%20%26%20Edge");
        assert_eq!(json_link(&StatusFilter::default()), "/api/v1/status");
    }
}
