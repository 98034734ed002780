//! Target files: the `targets:` list that `apply` reads, and single create bodies for
//! `targets add -f`. YAML is a superset of JSON, so one parser reads both.

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

/// The entries of a targets file, each an object with a unique, non-empty name.
pub fn targets_of(document: &Value) -> anyhow::Result<Vec<Value>> {
    // A missing list is refused rather than read as empty: apply would delete every target.
    let Some(list) = document.get("targets") else {
        bail!("the file needs a top-level `targets:` list (an empty list deletes every target)");
    };
    let Some(list) = list.as_array() else {
        bail!("`targets` must be a list");
    };
    let mut names = BTreeSet::new();
    for (index, entry) in list.iter().enumerate() {
        anyhow::ensure!(entry.is_object(), "targets[{index}] must be a mapping of fields");
        let name = entry["name"].as_str().filter(|name| !name.trim().is_empty());
        let Some(name) = name else {
            bail!("targets[{index}] needs a name: it is what identifies the target");
        };
        anyhow::ensure!(names.insert(name.to_owned()), "targets[{index}]: the name {name:?} appears twice");
    }
    Ok(list.clone())
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

    #[test]
    fn an_empty_list_is_allowed() {
        // given an explicit empty list, when it is read, then there are no targets (apply deletes all)
        assert!(targets_of(&parse_document("targets: []\n").expect("YAML")).expect("targets").is_empty());
    }
}
