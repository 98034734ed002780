//! Apply files: the `targets:`, `notifiers:`, `alerts:` and `maintenance:` lists that `apply`
//! reads, and single create bodies for `targets add -f`. YAML is a superset of JSON, so one parser
//! reads both. A section the file leaves out is left alone; an empty one deletes every item of
//! its kind.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

pub fn read_document(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_document(&text).with_context(|| format!("parsing {}", path.display()))
}

pub fn parse_document(text: &str) -> anyhow::Result<Value> {
    Ok(serde_yaml_ng::from_str(text)?)
}

const NO_SECTION: &str = "the file needs a top-level `targets:` list (an empty list deletes every target)";

/// A notifier entry with its `${VAR}` strings replaced, and the paths that were (their new
/// values are never printed).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierEntry {
    pub body: Value,
    pub from_env: Vec<String>,
}

/// The sections an apply file has; `None` for each it leaves out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub targets: Option<Vec<Value>>,
    pub notifiers: Option<Vec<NotifierEntry>>,
    pub alerts: Option<Vec<Value>>,
    pub maintenance: Option<Vec<Value>>,
}

/// Reads every section, the notifiers' `${VAR}` strings from the environment.
pub fn manifest_of(document: &Value) -> anyhow::Result<Manifest> {
    manifest_with(document, &crate::secrets::from_env)
}

/// [`manifest_of`] with `lookup` for the environment.
pub fn manifest_with(document: &Value, lookup: &dyn Fn(&str) -> anyhow::Result<String>) -> anyhow::Result<Manifest> {
    let mut notifiers = None;
    if let Some(list) = section(document, "notifiers")? {
        let mut entries = Vec::new();
        for (index, mut body) in list.into_iter().enumerate() {
            let name = body["name"].as_str().unwrap_or_default().to_owned();
            let from_env = crate::secrets::substitute_with(&mut body, lookup)
                .with_context(|| format!("notifiers[{index}] ({name})"))?;
            entries.push(NotifierEntry { body, from_env });
        }
        notifiers = Some(entries);
    }
    let manifest = Manifest {
        targets: section(document, "targets")?,
        notifiers,
        alerts: section(document, "alerts")?,
        maintenance: section(document, "maintenance")?,
    };
    // A file with no section at all is refused rather than read as empty: apply would delete
    // every target.
    let none = manifest.targets.is_none()
        && manifest.notifiers.is_none()
        && manifest.alerts.is_none()
        && manifest.maintenance.is_none();
    anyhow::ensure!(!none, "{NO_SECTION}");
    Ok(manifest)
}

/// The entries of a targets file, each an object with a unique, non-empty name (the tests' way
/// to read a targets-only file; `apply` reads every section with [`manifest_of`]).
#[cfg(test)]
pub fn targets_of(document: &Value) -> anyhow::Result<Vec<Value>> {
    section(document, "targets")?.context(NO_SECTION)
}

/// The entries of one section, each an object with a unique, non-empty name; `None` when the
/// file has no such section.
fn section(document: &Value, key: &str) -> anyhow::Result<Option<Vec<Value>>> {
    let Some(list) = document.get(key) else {
        return Ok(None);
    };
    let Some(list) = list.as_array() else {
        bail!("`{key}` must be a list");
    };
    let what = key.trim_end_matches('s');
    let mut names = BTreeSet::new();
    for (index, entry) in list.iter().enumerate() {
        anyhow::ensure!(entry.is_object(), "{key}[{index}] must be a mapping of fields");
        let name = entry["name"].as_str().filter(|name| !name.trim().is_empty());
        let Some(name) = name else {
            bail!("{key}[{index}] needs a name: it is what identifies the {what}");
        };
        anyhow::ensure!(names.insert(name.to_owned()), "{key}[{index}]: the name {name:?} appears twice");
    }
    Ok(Some(list.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_yaml_targets_file_reads_as_create_bodies() {
        // given a YAML file with two targets of different kinds
        let text = "targets:\n  - name: web\n    kind: http\n    url: http://127.0.0.1:9000/\n    interval_s: 5\n    tags: [a]\n  - {name: db, kind: tcp, host: 127.0.0.1, port: 5432}\n";
        // when it is parsed
        let targets = targets_of(&parse_document(text).expect("YAML")).expect("targets");
        // then each entry is the JSON create body
        assert_eq!(
            targets,
            vec![
                json!({"name": "web", "kind": "http", "url": "http://127.0.0.1:9000/", "interval_s": 5, "tags": ["a"]}),
                json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}),
            ]
        );
    }

    #[test]
    fn json_is_read_too() {
        // given a JSON create body, when it is parsed, then it is the same value
        let body = parse_document(r#"{"name": "x", "kind": "tcp", "host": "h", "port": 1}"#).expect("JSON");
        assert_eq!(body, json!({"name": "x", "kind": "tcp", "host": "h", "port": 1}));
    }

    #[test]
    fn files_that_would_be_ambiguous_or_destructive_are_refused() {
        // given files without a list, with an unnamed entry and with a name twice
        let cases = [
            ("name: web\n", "top-level `targets:`"),
            ("targets: {web: 1}\n", "must be a list"),
            ("targets:\n  - kind: http\n", "needs a name"),
            ("targets:\n  - name: a\n  - name: a\n", "appears twice"),
        ];
        for (text, expected) in cases {
            // when each is read
            let error = targets_of(&parse_document(text).expect("YAML")).expect_err(text);
            // then it is refused with a reason
            assert!(error.to_string().contains(expected), "{text}: {error}");
        }
    }

    fn fake_env(var: &str) -> anyhow::Result<String> {
        match var {
            "SLACK_WEBHOOK_URL" => Ok("https://hooks.slack.com/services/T0/B0/s3cret".into()),
            _ => bail!("the environment variable {var} is not set"),
        }
    }

    #[test]
    fn alerting_sections_are_read_beside_targets_and_absent_ones_stay_absent() {
        // given a file with notifiers (one secret from the environment) and alerts, but no targets
        let text = "notifiers:\n  - {name: chat, kind: slack, webhook_url: '${SLACK_WEBHOOK_URL}'}\n\
                    alerts:\n  - {name: down, notifiers: [chat]}\n";
        // when it is read
        let manifest = manifest_with(&parse_document(text).expect("YAML"), &fake_env).expect("a manifest");
        // then the notifier has its secret and says where it came from, and targets are left alone
        let notifiers = manifest.notifiers.expect("notifiers");
        assert_eq!(notifiers[0].body["webhook_url"], "https://hooks.slack.com/services/T0/B0/s3cret");
        assert_eq!(notifiers[0].from_env, ["webhook_url"]);
        assert_eq!(manifest.alerts.expect("alerts").len(), 1);
        assert_eq!((manifest.targets, manifest.maintenance), (None, None));
    }

    #[test]
    fn an_unset_variable_names_the_entry_and_the_variable_but_no_value() {
        // given a notifier whose secret names a variable that is not set
        let text = "notifiers:\n  - {name: pager, kind: pagerduty, routing_key: '${PD_KEY}'}\n";
        // when it is read
        let error = manifest_with(&parse_document(text).expect("YAML"), &fake_env).expect_err("unset");
        // then the error names both
        let text = format!("{error:#}");
        assert!(text.contains("notifiers[0] (pager)") && text.contains("PD_KEY"), "{text}");
    }

    #[test]
    fn a_file_without_any_section_keeps_the_old_message() {
        // given a file with no section, when read, then the targets message is given
        let error = manifest_with(&parse_document("name: web\n").expect("YAML"), &fake_env).expect_err("none");
        assert!(error.to_string().contains("top-level `targets:`"), "{error}");
        // and each section is checked like targets
        let error = manifest_with(&parse_document("alerts:\n  - name: a\n  - name: a\n").expect("YAML"), &fake_env)
            .expect_err("twice");
        assert!(error.to_string().contains("alerts[1]: the name \"a\" appears twice"), "{error}");
    }

    #[test]
    fn an_empty_list_is_allowed() {
        // given an explicit empty list, when it is read, then there are no targets (apply deletes all)
        assert!(targets_of(&parse_document("targets: []\n").expect("YAML")).expect("targets").is_empty());
    }
}
