//! Plain-text tables for people: target lists and the health breakdown.

use chrono::{DateTime, SecondsFormat, Utc};
use healthmon_wire::{HealthStatus, TargetHealth, TargetView};

/// Left-aligned columns separated by two spaces, sized to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}", width = *width)).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A time as the API writes it (RFC 3339), or `-` for none.
fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), |at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// What a target points at: its URL, or host and port.
fn endpoint(target: &TargetView) -> String {
    match (&target.url, &target.host, target.port) {
        (Some(url), _, _) => url.clone(),
        (None, host, port) => format!(
            "{}:{}",
            host.as_deref().unwrap_or("-"),
            port.map_or_else(|| "-".to_owned(), |port| port.to_string())
        ),
    }
}

pub fn targets(targets: &[TargetView]) -> String {
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|target| {
            vec![
                target.name.clone(),
                target.kind.as_str().to_owned(),
                target.health.status.as_str().to_owned(),
                format!("{}s", target.interval_s),
                endpoint(target),
                target.id.to_string(),
            ]
        })
        .collect();
    table(&["NAME", "KIND", "STATUS", "INTERVAL", "ENDPOINT", "ID"], &rows)
}

/// Healthy when every enabled target is (paused ones do not count), as `/healthz` decides.
pub fn all_healthy(items: &[TargetHealth]) -> bool {
    items.iter().all(|item| matches!(item.status, HealthStatus::Healthy | HealthStatus::Paused))
}

pub fn status(items: &[TargetHealth]) -> String {
    let overall = if all_healthy(items) { "healthy" } else { "unhealthy" };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            vec![
                item.name.clone(),
                item.status.as_str().to_owned(),
                time(item.since),
                item.reason.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    format!("overall: {overall} ({} targets)\n{}", items.len(), table(&["NAME", "STATUS", "SINCE", "REASON"], &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A target as the API lists it: `fields` plus what every target has.
    fn view(fields: Value, status: &str) -> TargetView {
        let mut target = json!({
            "id": "0193b6a0-0000-7000-8000-000000000001", "timeout_s": 60, "healthy_threshold": 5,
            "unhealthy_threshold": 3, "enabled": true, "tags": [], "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "revision": 1,
            "health": {"status": status, "since": null, "reason": null, "consecutive_successes": 0,
                       "consecutive_failures": 0, "last_sample_at": null}
        });
        for (key, value) in fields.as_object().expect("fields") {
            target[key] = value.clone();
        }
        serde_json::from_value(target).expect("a target view")
    }

    fn line(name: &str, status: &str) -> TargetHealth {
        serde_json::from_value(json!({"id": "0193b6a0-0000-7000-8000-000000000001", "name": name, "status": status,
                                      "reason": null, "since": null}))
        .expect("a breakdown line")
    }

    #[test]
    fn columns_line_up() {
        // given rows of different widths
        let rows = vec![vec!["a".to_owned(), "long value".to_owned()], vec!["longer".to_owned(), "b".to_owned()]];
        // when tabulated
        let out = table(&["X", "Y"], &rows);
        // then every column starts at the same place
        assert_eq!(out, "X       Y\na       long value\nlonger  b\n");
    }

    #[test]
    fn a_target_row_shows_its_endpoint() {
        // given an HTTP and a TCP target
        let list = [
            view(json!({"name": "web", "kind": "http", "url": "http://w/", "interval_s": 5}), "healthy"),
            view(json!({"name": "db", "kind": "tcp", "host": "10.0.0.1", "port": 5432, "interval_s": 60}), "unknown"),
        ];
        // when listed, then the URL or host:port is shown
        let out = targets(&list);
        assert!(out.contains("web   http  healthy  5s        http://w/"), "{out}");
        assert!(out.contains("10.0.0.1:5432"), "{out}");
    }

    #[test]
    fn overall_health_ignores_paused_targets_and_fails_on_anything_else() {
        // given breakdowns, when judged, then only healthy and paused targets pass
        assert!(all_healthy(&[]));
        assert!(all_healthy(&[line("a", "healthy"), line("b", "paused")]));
        for status in ["unknown", "unhealthy", "stale"] {
            assert!(!all_healthy(&[line("a", "healthy"), line("b", status)]), "{status}");
        }
        assert!(status(&[line("a", "stale")]).starts_with("overall: unhealthy (1 targets)\n"));
    }
}
