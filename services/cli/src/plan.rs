//! The pure part of `apply`: what to create, update and delete so that the stored targets match
//! a file, keyed by name. No I/O here; `apply` reads and writes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Context, anyhow};
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Check, HttpCheck, HttpMethod, Shell, SshCheck, TargetSpec, TcpCheck};
use healthmon_wire::{self as wire, TargetKind, TargetView};
use serde_json::{Map, Value};

pub mod alerting;
mod notifiers;

/// Write-only fields: the API never returns them, so they cannot be compared.
pub const CREDENTIAL_FIELDS: &[&str] = &["password", "private_key", "private_key_passphrase"];
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Create {
        name: String,
        body: Value,
    },
    /// `body` is the file's entry, sent as a full replacement.
    Update {
        id: String,
        name: String,
        body: Value,
        fields: Vec<FieldChange>,
    },
    Delete {
        id: String,
        name: String,
    },
    /// `credentials_named`: the file names a credential, which could not be compared.
    Unchanged {
        name: String,
        credentials_named: bool,
    },
}

/// Changes in the order they are applied: creates, then updates, then deletes, so a failure
/// half-way has removed nothing yet.
pub fn plan(desired: &[Value], stored: &[TargetView]) -> anyhow::Result<Vec<Change>> {
    let mut stored_by_name: BTreeMap<String, Vec<&TargetView>> = BTreeMap::new();
    for target in stored {
        stored_by_name.entry(target.name.clone()).or_default().push(target);
    }
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut wanted = BTreeSet::new();
    for (index, entry) in desired.iter().enumerate() {
        let name = entry["name"].as_str().with_context(|| format!("targets[{index}] has no name"))?;
        wanted.insert(name);
        let wanted_spec = comparable_desired(entry).with_context(|| format!("targets[{index}] ({name})"))?;
        match stored_by_name.get(name).map(Vec::as_slice) {
            None | Some([]) => creates.push(Change::Create { name: name.to_owned(), body: entry.clone() }),
            Some([current]) => {
                let id = current.id.to_string();
                let fields = field_changes(&comparable_stored(current)?, &wanted_spec);
                updates.push(if fields.is_empty() {
                    Change::Unchanged { name: name.to_owned(), credentials_named: names_a_credential(entry) }
                } else {
                    Change::Update { id, name: name.to_owned(), body: entry.clone(), fields }
                });
            }
            Some(several) => {
                return Err(anyhow!(
                    "{} stored targets are named {name:?}: rename or delete all but one before applying",
                    several.len()
                ));
            }
        }
    }
    let mut deletes = Vec::new();
    for (name, targets) in &stored_by_name {
        if !wanted.contains(name.as_str()) {
            for target in targets {
                deletes.push(Change::Delete { id: target.id.to_string(), name: name.clone() });
            }
        }
    }
    Ok(creates.into_iter().chain(updates).chain(deletes).collect())
}

fn names_a_credential(entry: &Value) -> bool {
    CREDENTIAL_FIELDS.iter().any(|field| entry.get(field).is_some_and(|value| !value.is_null()))
}

/// The file's entry as the server would store it (defaults filled in), credentials left out.
fn comparable_desired(entry: &Value) -> anyhow::Result<Map<String, Value>> {
    let mut document = entry.clone();
    if let Some(object) = document.as_object_mut() {
        for field in CREDENTIAL_FIELDS {
            object.remove(*field);
        }
        // Validation wants an SSH target to have a credential; a stand-in satisfies it, and
        // credentials are dropped from the comparison anyway.
        if object.get("kind").and_then(Value::as_str) == Some("ssh") {
            object.insert("password_sealed".into(), Value::String("not-compared".into()));
        }
    }
    let spec = parse_spec(&document).map_err(|errors| anyhow!("{errors}"))?;
    to_comparable(spec)
}

/// A target as the API returned it, in the same form as [`comparable_desired`].
fn comparable_stored(target: &TargetView) -> anyhow::Result<Map<String, Value>> {
    let spec = stored_spec(target).with_context(|| format!("reading the stored target {:?}", target.name))?;
    to_comparable(spec)
}

/// The spec a stored target's view shows, field by field (its credentials are not shown, so it
/// has none).
fn stored_spec(target: &TargetView) -> anyhow::Result<TargetSpec> {
    fn shown<T: Clone>(field: &str, value: &Option<T>) -> anyhow::Result<T> {
        value.clone().with_context(|| format!("the server did not show {field}"))
    }
    let check = match target.kind {
        TargetKind::Http => Check::Http(HttpCheck {
            url: shown("url", &target.url)?,
            method: match shown("method", &target.method)? {
                wire::HttpMethod::Get => HttpMethod::Get,
                wire::HttpMethod::Head => HttpMethod::Head,
            },
            expected_status: shown("expected_status", &target.expected_status)?
                .parse()
                .map_err(|error: String| anyhow!("expected_status: {error}"))?,
            headers: target.headers.clone().unwrap_or_default(),
            body_contains: target.body_contains.clone().flatten(),
            keepalive: shown("keepalive", &target.keepalive)?,
        }),
        TargetKind::Ssh => Check::Ssh(SshCheck {
            host: shown("host", &target.host)?,
            port: shown("port", &target.port)?,
            username: shown("username", &target.username)?,
            password: None,
            private_key: None,
            private_key_passphrase: None,
            command: target.command.clone().flatten(),
            expect_output: target.expect_output.clone().flatten(),
            min_free_disk_mb: shown("min_free_disk_mb", &target.min_free_disk_mb)?,
            host_key_sha256: target.host_key_sha256.clone().flatten(),
            trust_on_first_use: shown("trust_on_first_use", &target.trust_on_first_use)?,
            shell: match shown("shell", &target.shell)? {
                wire::Shell::Sh => Shell::Sh,
                wire::Shell::Powershell => Shell::Powershell,
            },
        }),
        TargetKind::Tcp => {
            Check::Tcp(TcpCheck { host: shown("host", &target.host)?, port: shown("port", &target.port)? })
        }
    };
    Ok(TargetSpec {
        name: target.name.clone(),
        check,
        interval_s: target.interval_s,
        timeout_s: target.timeout_s,
        healthy_threshold: target.healthy_threshold,
        unhealthy_threshold: target.unhealthy_threshold,
        enabled: target.enabled,
        tags: target.tags.clone(),
        group: target.group.clone(),
        public: target.public,
    })
}

fn to_comparable(mut spec: TargetSpec) -> anyhow::Result<Map<String, Value>> {
    if let Check::Ssh(ssh) = &mut spec.check {
        ssh.password = None;
        ssh.private_key = None;
        ssh.private_key_passphrase = None;
    }
    match serde_json::to_value(spec)? {
        Value::Object(object) => Ok(object),
        other => Err(anyhow!("a target spec serialized as {other}")),
    }
}

fn field_changes(from: &Map<String, Value>, to: &Map<String, Value>) -> Vec<FieldChange> {
    let fields: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    fields
        .into_iter()
        .filter(|field| from.get(*field) != to.get(*field))
        .map(|field| FieldChange { field: field.clone(), from: from.get(field).cloned(), to: to.get(field).cloned() })
        .collect()
}

/// The diff as printed: `+ name`, `~ name: field a → b, …`, `- name`, `= name`, then a summary.
pub fn render(changes: &[Change]) -> String {
    render_noting(changes, "credentials not compared")
}

/// [`render`], with `unchanged_note` after an unchanged entry that names a write-only value.
pub fn render_noting(changes: &[Change], unchanged_note: &str) -> String {
    let mut out = String::new();
    let (mut created, mut updated, mut deleted, mut unchanged) = (0, 0, 0, 0);
    for change in changes {
        // Writing to a String cannot fail.
        let _ = match change {
            Change::Create { name, .. } => {
                created += 1;
                writeln!(out, "+ {name}")
            }
            Change::Update { name, fields, .. } => {
                updated += 1;
                let fields: Vec<String> = fields
                    .iter()
                    .map(|change| format!("{} {} → {}", change.field, shown(&change.from), shown(&change.to)))
                    .collect();
                writeln!(out, "~ {name}: {}", fields.join(", "))
            }
            Change::Delete { name, id } => {
                deleted += 1;
                writeln!(out, "- {name} ({id})")
            }
            Change::Unchanged { name, credentials_named } => {
                unchanged += 1;
                let note = if *credentials_named { format!(" ({unchanged_note})") } else { String::new() };
                writeln!(out, "= {name}{note}")
            }
        };
    }
    let _ = writeln!(out, "{created} to create, {updated} to update, {deleted} to delete, {unchanged} unchanged");
    out
}

/// A value as printed; a secret's marker as it is, never a secret.
fn shown(value: &Option<Value>) -> String {
    match value {
        None => "(none)".to_owned(),
        Some(Value::String(marker)) if marker == notifiers::SET => notifiers::SET.to_owned(),
        Some(value) => value.to_string(),
    }
}

impl Change {
    pub fn name(&self) -> &str {
        match self {
            Change::Create { name, .. }
            | Change::Update { name, .. }
            | Change::Delete { name, .. }
            | Change::Unchanged { name, .. } => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The id of stored target `n`.
    fn id(n: u128) -> String {
        uuid::Uuid::from_u128(n).to_string()
    }

    /// A stored target as the API returns it: `fields` and what every target has.
    fn view(n: u128, fields: Value) -> TargetView {
        let mut target = fields;
        target["id"] = json!(id(n));
        target["health"] = json!({"status": "unknown", "since": null, "reason": null, "consecutive_successes": 0,
                                  "consecutive_failures": 0, "last_sample_at": null});
        serde_json::from_value(target).expect("a target view")
    }

    /// A stored HTTP target as the API returns it, with every default filled in.
    fn stored_http(n: u128, name: &str, interval_s: u32) -> TargetView {
        view(
            n,
            json!({
                "name": name, "kind": "http", "url": format!("http://{name}.internal/"),
                "method": "GET", "expected_status": "2xx", "headers": {}, "body_contains": null, "keepalive": false,
                "interval_s": interval_s, "timeout_s": 60, "healthy_threshold": 5, "unhealthy_threshold": 3,
                "enabled": true, "tags": [], "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "revision": 1
            }),
        )
    }

    fn stored_ssh(n: u128, name: &str) -> TargetView {
        view(
            n,
            json!({
                "name": name, "kind": "ssh", "host": "10.0.0.12", "port": 22, "username": "monitor",
                "command": null, "expect_output": null, "min_free_disk_mb": 1024, "host_key_sha256": null,
                "trust_on_first_use": true, "shell": "sh", "has_password": true, "has_private_key": false,
                "interval_s": 60, "timeout_s": 60, "healthy_threshold": 5, "unhealthy_threshold": 3,
                "enabled": true, "tags": [], "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "revision": 1
            }),
        )
    }

    fn http(name: &str) -> Value {
        json!({"name": name, "kind": "http", "url": format!("http://{name}.internal/")})
    }

    #[test]
    fn creates_updates_deletes_and_leaves_alone() {
        // given a file with new, changed and unchanged targets, and a stored one it lacks
        let desired = vec![
            http("new"),
            json!({"name": "changed", "kind": "http", "url": "http://changed.internal/", "interval_s": 30}),
            http("same"),
        ];
        let stored = vec![stored_http(1, "changed", 60), stored_http(2, "same", 60), stored_http(3, "gone", 60)];
        // when the plan is made
        let changes = plan(&desired, &stored).expect("plan");
        // then each is classified, creates first and deletes last
        assert_eq!(
            changes,
            vec![
                Change::Create { name: "new".into(), body: desired[0].clone() },
                Change::Update {
                    id: id(1),
                    name: "changed".into(),
                    body: desired[1].clone(),
                    fields: vec![FieldChange {
                        field: "interval_s".into(),
                        from: Some(json!(60)),
                        to: Some(json!(30))
                    }],
                },
                Change::Unchanged { name: "same".into(), credentials_named: false },
                Change::Delete { id: id(3), name: "gone".into() },
            ]
        );
        assert_eq!(
            render(&changes),
            format!(
                "+ new\n~ changed: interval_s 60 → 30\n= same\n- gone ({})\n1 to create, 1 to update, 1 to delete, 1 unchanged\n",
                id(3)
            )
        );
    }

    #[test]
    fn a_field_left_out_of_the_file_goes_back_to_its_default() {
        // given a stored target with tags and a threshold, and a file entry naming neither
        let mut stored = stored_http(1, "web", 60);
        stored.tags = vec!["payments".into()];
        stored.healthy_threshold = 2;
        // when the plan is made
        let changes = plan(&[http("web")], &[stored]).expect("plan");
        // then both are updated back to the defaults a full replacement gives
        let Change::Update { fields, .. } = &changes[0] else { panic!("an update: {changes:?}") };
        let names: Vec<&str> = fields.iter().map(|change| change.field.as_str()).collect();
        assert_eq!(names, ["healthy_threshold", "tags"]);
        assert_eq!(fields[0].to, Some(json!(5)));
    }

    #[test]
    fn a_credential_alone_is_not_a_change() {
        // given a stored SSH target and a file entry equal but for its (write-only) password
        let entry = json!({"name": "files", "kind": "ssh", "host": "10.0.0.12", "username": "monitor", "password": "s3cret", "trust_on_first_use": true});
        // when the plan is made
        let changes = plan(std::slice::from_ref(&entry), &[stored_ssh(9, "files")]).expect("plan");
        // then it is unchanged, with a note that credentials were not compared
        assert_eq!(changes, vec![Change::Unchanged { name: "files".into(), credentials_named: true }]);
        assert!(render(&changes).contains("= files (credentials not compared)"));

        // given the same entry with another difference
        let mut entry = entry;
        entry["port"] = json!(2222);
        // when the plan is made
        let changes = plan(&[entry.clone()], &[stored_ssh(9, "files")]).expect("plan");
        // then it is an update that sends the whole entry, password included
        let Change::Update { body, fields, .. } = &changes[0] else { panic!("an update: {changes:?}") };
        assert_eq!(body, &entry);
        assert_eq!(fields.iter().map(|change| change.field.as_str()).collect::<Vec<_>>(), ["port"]);
    }

    #[test]
    fn an_ssh_entry_without_credentials_is_compared_too() {
        // given a file that leaves the stored password in place (a replacement keeps it)
        let entry = json!({"name": "files", "kind": "ssh", "host": "10.0.0.12", "username": "monitor", "trust_on_first_use": true});
        // when the plan is made, then nothing changes
        assert_eq!(
            plan(&[entry], &[stored_ssh(9, "files")]).expect("plan"),
            vec![Change::Unchanged { name: "files".into(), credentials_named: false }]
        );
    }

    #[test]
    fn an_invalid_entry_is_refused_before_anything_changes() {
        // given an entry with an interval out of range
        let entry = json!({"name": "web", "kind": "http", "url": "http://web/", "interval_s": 0});
        // when the plan is made
        let error = plan(&[entry], &[]).expect_err("invalid");
        // then the error names the entry and the field
        let text = format!("{error:#}");
        assert!(text.contains("targets[0] (web)") && text.contains("interval_s"), "{text}");
    }

    #[test]
    fn a_name_stored_twice_is_ambiguous() {
        // given two stored targets with the file's name
        let stored = vec![stored_http(1, "web", 60), stored_http(2, "web", 60)];
        // when the plan is made, then it is refused
        let error = plan(&[http("web")], &stored).expect_err("ambiguous");
        assert!(error.to_string().contains("2 stored targets are named \"web\""), "{error}");
    }

    #[test]
    fn the_example_file_is_valid() {
        // given the repository's example targets file
        let text = include_str!("../../../examples/targets.yaml");
        let desired =
            crate::manifest::targets_of(&crate::manifest::parse_document(text).expect("YAML")).expect("targets");
        // when it is planned against an empty server, then every entry validates and is created
        let changes = plan(&desired, &[]).expect("a valid file");
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|change| matches!(change, Change::Create { .. })));
    }

    #[test]
    fn an_empty_file_deletes_everything() {
        // given no desired targets and two stored ones
        let stored = vec![stored_http(1, "a", 60), stored_http(2, "b", 60)];
        // when the plan is made, then both are deleted
        let changes = plan(&[], &stored).expect("plan");
        assert_eq!(
            changes,
            vec![Change::Delete { id: id(1), name: "a".into() }, Change::Delete { id: id(2), name: "b".into() }]
        );
    }
}
