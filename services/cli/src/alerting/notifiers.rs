//! `healthmon notifiers add|list|test|delete`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use healthmon_wire::{NotifierTestResult, NotifierView};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{all_notifiers, render, resolve_notifier};
use crate::api::Api;
use crate::args::{FlagNotifierKind, NotifiersAction, Output};
use crate::{manifest, secrets};

pub async fn run(api: &Api, action: NotifiersAction) -> anyhow::Result<ExitCode> {
    match action {
        NotifiersAction::Add { name, kind, destination, secret_env, file, output } => {
            let body = match (file, name, kind) {
                (Some(file), _, _) => body_from_file(&file)?,
                (None, Some(name), Some(kind)) => {
                    let secret = secret_env.as_deref().map(secrets::from_env).transpose()?;
                    flag_body(&name, kind, destination.as_deref(), secret)?
                }
                // clap requires NAME and --kind unless a file is given.
                _ => bail!("give NAME and --kind, or -f FILE"),
            };
            let created: NotifierView = api.call(Method::POST, "/api/v1/notifiers", Some(&body)).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&created)?),
                Output::Table => println!("created {} ({})", created.name, created.id),
            }
        }
        NotifiersAction::List { output } => {
            let notifiers = all_notifiers(api).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&notifiers)?),
                Output::Table => print!("{}", render::notifiers(&notifiers)),
            }
        }
        NotifiersAction::Test { notifier } => {
            let found = resolve_notifier(api, &notifier).await?;
            let path = format!("/api/v1/notifiers/{}/test", found.id);
            let result: NotifierTestResult = api.call(Method::POST, &path, None).await?;
            println!("{}", render::test_result(&found.name, &result));
            return Ok(if result.delivered { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
        NotifiersAction::Delete { notifier } => {
            let found = resolve_notifier(api, &notifier).await?;
            api.call_without_answer(Method::DELETE, &format!("/api/v1/notifiers/{}", found.id)).await?;
            println!("deleted {} ({})", found.name, found.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A create body from a file, its `${VAR}` strings read from the environment.
fn body_from_file(file: &Path) -> anyhow::Result<Value> {
    let mut body = manifest::read_document(file)?;
    anyhow::ensure!(body.is_object(), "{}: a notifier must be a mapping of fields", file.display());
    secrets::substitute(&mut body).with_context(|| format!("{}", file.display()))?;
    Ok(body)
}

/// A create body for the common kinds. `secret` is the kind's write-only value, read from the
/// environment by the caller; a chat kind's webhook URL is one, so `--url` cannot carry it.
pub fn flag_body(
    name: &str,
    kind: FlagNotifierKind,
    url: Option<&str>,
    secret: Option<String>,
) -> anyhow::Result<Value> {
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    let (kind_name, secret_field) = match kind {
        FlagNotifierKind::Webhook => ("webhook", "secret"),
        FlagNotifierKind::Slack => ("slack", "webhook_url"),
        FlagNotifierKind::Discord => ("discord", "webhook_url"),
        FlagNotifierKind::Teams => ("teams", "webhook_url"),
        FlagNotifierKind::Pagerduty => ("pagerduty", "routing_key"),
        FlagNotifierKind::Ntfy => ("ntfy", "token"),
    };
    body.insert("kind".into(), json!(kind_name));
    match (kind, url) {
        (FlagNotifierKind::Slack | FlagNotifierKind::Discord | FlagNotifierKind::Teams, Some(_)) => {
            bail!("a {kind_name} webhook URL is a secret: pass it with --secret-env VAR, not as an argument")
        }
        (FlagNotifierKind::Webhook | FlagNotifierKind::Ntfy, None) => bail!("a {kind_name} notifier needs a URL"),
        (_, Some(url)) => {
            body.insert("url".into(), json!(url));
        }
        (_, None) => {}
    }
    match secret {
        Some(secret) => {
            body.insert(secret_field.into(), Value::String(secret));
        }
        None if matches!(secret_field, "webhook_url" | "routing_key") => {
            bail!("a {kind_name} notifier needs its {secret_field}: pass --secret-env VAR")
        }
        None => {}
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_from_flags_has_its_url_and_the_secret_it_was_given() {
        // given the flags of `notifiers add hook U --kind webhook --secret-env V` (V read)
        let body = flag_body("hook", FlagNotifierKind::Webhook, Some("https://h/x"), Some("whsec_abc".into()));
        // then the body carries the URL and the secret in the webhook's fields
        assert_eq!(
            body.expect("a body"),
            json!({"name": "hook", "kind": "webhook", "url": "https://h/x", "secret": "whsec_abc"})
        );
        // and without a secret, none is sent
        let plain = flag_body("hook", FlagNotifierKind::Webhook, Some("https://h/x"), None).expect("a body");
        assert_eq!(plain, json!({"name": "hook", "kind": "webhook", "url": "https://h/x"}));
    }

    #[test]
    fn a_chat_webhook_url_comes_only_from_the_environment() {
        // given a Slack notifier with its URL as a flag, then it is refused (it would show in `ps`)
        let error =
            flag_body("chat", FlagNotifierKind::Slack, Some("https://hooks.slack.com/x"), None).expect_err("refused");
        assert!(error.to_string().contains("--secret-env"), "{error}");
        // given the URL from the environment, then it is the write-only webhook_url
        let body = flag_body("chat", FlagNotifierKind::Slack, None, Some("https://hooks.slack.com/x".into()));
        assert_eq!(
            body.expect("a body"),
            json!({"name": "chat", "kind": "slack", "webhook_url": "https://hooks.slack.com/x"})
        );
        // given neither, then the missing value is named
        let error = flag_body("chat", FlagNotifierKind::Teams, None, None).expect_err("refused");
        assert!(error.to_string().contains("webhook_url"), "{error}");
    }

    #[test]
    fn a_webhook_without_a_url_is_refused() {
        let error = flag_body("hook", FlagNotifierKind::Webhook, None, None).expect_err("refused");
        assert!(error.to_string().contains("needs a URL"), "{error}");
    }
}
