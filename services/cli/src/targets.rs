//! `healthmon targets add|list|get|rm`.

use std::path::Path;

use healthmon_wire::TargetView;
use reqwest::Method;
use serde_json::{Value, json};

use super::api::Api;
use super::args::{Output, TargetsAction};
use super::{manifest, render};

pub async fn run(api: &Api, action: TargetsAction) -> anyhow::Result<()> {
    match action {
        TargetsAction::Add { name, target_url, interval, timeout, tags, file, output } => {
            let body = match (file, name, target_url) {
                (Some(file), _, _) => body_from_file(&file)?,
                (None, Some(name), Some(url)) => http_body(&name, &url, interval, timeout, &tags),
                // clap requires NAME and URL unless a file is given.
                _ => anyhow::bail!("give NAME and URL, or -f FILE"),
            };
            let created: TargetView = api.call(Method::POST, "/api/v1/targets", Some(&body)).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&created)?),
                Output::Table => println!("created {} ({})", created.name, created.id),
            }
        }
        TargetsAction::List { output } => {
            let targets = api.all_targets().await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&targets)?),
                Output::Table => print!("{}", render::targets(&targets)),
            }
        }
        TargetsAction::Get { target } => {
            let found = api.resolve(&target).await?;
            let mut shown = serde_json::to_value(&found)?;
            shown["uptime"] = super::uptime::shown(api, found.id).await?;
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
        TargetsAction::Rm { target } => {
            let found = api.resolve(&target).await?;
            api.call_without_answer(Method::DELETE, &format!("/api/v1/targets/{}", found.id)).await?;
            println!("deleted {} ({})", found.name, found.id);
        }
    }
    Ok(())
}

fn body_from_file(file: &Path) -> anyhow::Result<Value> {
    let body = manifest::read_document(file)?;
    anyhow::ensure!(body.is_object(), "{}: a target must be a mapping of fields", file.display());
    Ok(body)
}

/// A create body for the common case; fields left out take the server's defaults.
pub fn http_body(name: &str, url: &str, interval: Option<u32>, timeout: Option<u32>, tags: &[String]) -> Value {
    let mut body = json!({ "name": name, "kind": "http", "url": url });
    if let Some(interval) = interval {
        body["interval_s"] = json!(interval);
    }
    if let Some(timeout) = timeout {
        body["timeout_s"] = json!(timeout);
    }
    if !tags.is_empty() {
        body["tags"] = json!(tags);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_a_create_body_with_only_what_was_given() {
        // given the flags of `targets add web http://w/ --interval 5 --tag a`
        let body = http_body("web", "http://w/", Some(5), None, &["a".to_owned()]);
        // then the body names those fields and leaves the rest to the server
        assert_eq!(body, json!({"name": "web", "kind": "http", "url": "http://w/", "interval_s": 5, "tags": ["a"]}));
        assert_eq!(
            http_body("x", "http://x/", None, None, &[]),
            json!({"name": "x", "kind": "http", "url": "http://x/"})
        );
    }
}
