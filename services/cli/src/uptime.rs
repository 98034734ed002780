//! `healthmon uptime`: every target's uptime over a window, as a table; and the 24 h / 7 d / 30 d
//! uptimes `targets get` shows.

use healthmon_wire::{UptimeList, UptimeView};
use serde_json::{Value, json};
use uuid::Uuid;

use super::api::Api;
use super::args::Output;
use super::render;

/// The windows `targets get` shows.
const SHOWN_WINDOWS: [&str; 3] = ["24h", "7d", "30d"];

pub async fn run(api: &Api, window: &str, tag: Option<String>, output: Output) -> anyhow::Result<()> {
    let mut query = vec![("window", window.to_owned())];
    query.extend(tag.map(|tag| ("tag", tag)));
    let list: UptimeList = api.get_with_query("/api/v1/uptime", &query).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&list)?),
        Output::Table => print!("{}", table(&list)),
    }
    Ok(())
}

fn table(list: &UptimeList) -> String {
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|item| vec![item.name.clone(), percent(item.uptime), item.samples.to_string(), item.id.to_string()])
        .collect();
    render::table(&["NAME", "UPTIME", "SAMPLES", "ID"], &rows)
}

/// `99.95%`, or `-` with no sample.
fn percent(uptime: Option<f64>) -> String {
    uptime.map_or_else(|| "-".to_owned(), |uptime| format!("{:.2}%", uptime * 100.0))
}

/// `{"24h": "99.95%", "7d": …, "30d": …}` for one target.
pub async fn shown(api: &Api, id: Uuid) -> anyhow::Result<Value> {
    let mut shown = serde_json::Map::new();
    for window in SHOWN_WINDOWS {
        let uptime: UptimeView = api.get(&format!("/api/v1/targets/{id}/uptime?window={window}")).await?;
        shown.insert(window.to_owned(), json!(percent(uptime.uptime)));
    }
    Ok(Value::Object(shown))
}

#[cfg(test)]
mod tests {
    use healthmon_wire::UptimeItem;

    use super::*;

    #[test]
    fn a_target_with_no_sample_shows_a_dash_and_others_a_percentage() {
        let item = |name: &str, uptime| UptimeItem {
            id: Uuid::nil(),
            name: name.to_owned(),
            group: None,
            uptime,
            samples: if uptime.is_some() { 2000 } else { 0 },
        };
        let rendered = table(&UptimeList { items: vec![item("web", Some(0.9995)), item("new", None)] });
        let lines: Vec<&str> = rendered.lines().collect();
        assert!(lines[0].starts_with("NAME") && lines[0].contains("UPTIME"), "{rendered}");
        assert!(lines[1].contains("99.95%") && lines[1].contains("2000"), "{rendered}");
        assert!(lines[2].contains(" - "), "{rendered}");
    }
}
