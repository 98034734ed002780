//! Plain-text tables for people: target lists and the health breakdown.

use serde_json::Value;

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

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What a target points at: its URL, or host and port.
fn endpoint(target: &Value) -> String {
    match target["url"].as_str() {
        Some(url) => url.to_owned(),
        None => format!("{}:{}", text(&target["host"]), text(&target["port"])),
    }
}

pub fn targets(targets: &[Value]) -> String {
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|target| {
            vec![
                text(&target["name"]),
                text(&target["kind"]),
                text(&target["health"]["status"]),
                format!("{}s", text(&target["interval_s"])),
                endpoint(target),
                text(&target["id"]),
            ]
        })
        .collect();
    table(&["NAME", "KIND", "STATUS", "INTERVAL", "ENDPOINT", "ID"], &rows)
}

/// Healthy when every enabled target is (paused ones do not count), as `/healthz` decides.
pub fn all_healthy(items: &[Value]) -> bool {
    items.iter().all(|item| matches!(item["status"].as_str(), Some("healthy" | "paused")))
}

pub fn status(items: &[Value]) -> String {
    let overall = if all_healthy(items) { "healthy" } else { "unhealthy" };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| vec![text(&item["name"]), text(&item["status"]), text(&item["since"]), text(&item["reason"])])
        .collect();
    format!("overall: {overall} ({} targets)\n{}", items.len(), table(&["NAME", "STATUS", "SINCE", "REASON"], &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            json!({"id": "1", "name": "web", "kind": "http", "url": "http://w/", "interval_s": 5, "health": {"status": "healthy"}}),
            json!({"id": "2", "name": "db", "kind": "tcp", "host": "10.0.0.1", "port": 5432, "interval_s": 60, "health": {"status": "unknown"}}),
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
        assert!(all_healthy(&[json!({"status": "healthy"}), json!({"status": "paused"})]));
        for status in ["unknown", "unhealthy", "stale"] {
            assert!(!all_healthy(&[json!({"status": "healthy"}), json!({"status": status})]), "{status}");
        }
        assert!(status(&[json!({"name": "a", "status": "stale"})]).starts_with("overall: unhealthy (1 targets)\n"));
    }
}
