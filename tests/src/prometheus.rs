//! Reading a process's `/metrics` in the Prometheus text format.

use std::net::SocketAddr;

/// The value of the unlabelled series `name` in a text exposition, if present.
pub fn value(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        (series == name).then(|| value.parse().ok()).flatten()
    })
}

/// The value of the series `name` whose labels are exactly `labels`, in any order.
pub fn labelled(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut wanted: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    wanted.sort();
    series(exposition, name).find_map(|(found, value)| (found == wanted).then_some(value))
}

/// Every series of `name`: its labels (sorted) and value.
pub fn series<'text>(
    exposition: &'text str,
    name: &'text str,
) -> impl Iterator<Item = (Vec<(String, String)>, f64)> + 'text {
    exposition.lines().filter(|line| !line.starts_with('#')).filter_map(move |line| {
        let (series, value) = line.rsplit_once(' ')?;
        let value = value.parse().ok()?;
        let labels = match series.strip_prefix(name)? {
            "" => Vec::new(),
            rest => parse_labels(rest.strip_prefix('{')?.strip_suffix('}')?)?,
        };
        Some((labels, value))
    })
}

/// `k="v",k2="v\"2"` into sorted pairs; `None` when malformed.
fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => value.push(chars.next()?.1),
                (at, '"') => break at,
                (_, other) => value.push(other),
            }
        };
        labels.push((key.to_owned(), value));
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    labels.sort();
    Some(labels)
}

/// `GET /metrics` of the process listening at `addr`: its status, content type and body.
pub async fn scrape(addr: SocketAddr) -> (reqwest::StatusCode, String, String) {
    let response = reqwest::get(format!("http://{addr}/metrics")).await.expect("GET /metrics");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("metrics body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_unlabelled_series_and_ignores_comments_and_prefixes() {
        let text = "# TYPE a_total counter\na_total 3\na_total_more 9\nb{x=\"1\"} 2\ngauge 1.5\n";
        assert_eq!(value(text, "a_total"), Some(3.0));
        assert_eq!(value(text, "gauge"), Some(1.5));
        assert_eq!(value(text, "b"), None);
        assert_eq!(value(text, "missing"), None);
    }

    #[test]
    fn reads_a_labelled_series_whatever_the_label_order() {
        let text = "h_count{route=\"/a/{id}\",method=\"GET\"} 4\nh_count{method=\"GET\",route=\"/b\"} 1\nh_count_x{a=\"1\"} 9\n";
        assert_eq!(labelled(text, "h_count", &[("method", "GET"), ("route", "/a/{id}")]), Some(4.0));
        assert_eq!(labelled(text, "h_count", &[("route", "/b"), ("method", "GET")]), Some(1.0));
        assert_eq!(labelled(text, "h_count", &[("route", "/c"), ("method", "GET")]), None);
        assert_eq!(series(text, "h_count").count(), 2);
    }
}
