//! Planning notifiers, alert rules and maintenance windows against what is stored.

use serde_json::json;

use super::*;
use crate::manifest::NotifierEntry;
use crate::plan::{FieldChange, render_noting};

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const CREATED: &str = "2026-01-01T00:00:00Z";

fn stored_notifier(n: u128, fields: Value) -> NotifierView {
    let mut view = json!({"id": id(n), "created_at": CREATED, "updated_at": CREATED});
    for (key, value) in fields.as_object().expect("fields") {
        view[key] = value.clone();
    }
    serde_json::from_value(view).expect("a notifier view")
}

fn stored_webhook(n: u128, name: &str, url: &str) -> NotifierView {
    stored_notifier(
        n,
        json!({"name": name, "kind": "webhook", "url": url, "method": "POST", "headers": [], "body": null,
               "has_secret": true}),
    )
}

fn entry(body: Value) -> NotifierEntry {
    NotifierEntry { body, from_env: Vec::new() }
}

fn stored_rule(n: u128, name: &str, notifiers: &[u128], targets: &[u128]) -> AlertRuleView {
    serde_json::from_value(json!({
        "id": id(n), "name": name, "notifiers": notifiers.iter().map(|n| id(*n)).collect::<Vec<_>>(),
        "selector": {"tags": ["prod"], "targets": targets.iter().map(|n| id(*n)).collect::<Vec<_>>()},
        "trigger_after_s": 60, "send_on_resolved": true, "remind_every_s": 0, "enabled": true,
        "created_at": CREATED, "updated_at": CREATED
    }))
    .expect("a rule view")
}

fn weekly_window(n: u128, cron: &str) -> MaintenanceView {
    serde_json::from_value(json!({
        "id": id(n), "name": "sunday", "selector": {"tags": [], "targets": [id(20)]},
        "cron": cron, "duration_s": 7200, "timezone": "Europe/Berlin", "active": false, "active_until": null,
        "created_at": CREATED, "updated_at": CREATED
    }))
    .expect("a window view")
}

/// Notifiers 1 (oncall) and 2 (chat) and target 20 (web) are stored; the file names them all.
fn known() -> (Known, StoredNames) {
    let known =
        Known { notifiers: ["oncall", "chat"].map(str::to_owned).into(), targets: ["web"].map(str::to_owned).into() };
    let names = StoredNames {
        notifiers: [(id(1), "oncall".to_owned()), (id(2), "chat".to_owned())].into(),
        targets: [(id(20), "web".to_owned())].into(),
    };
    (known, names)
}

#[test]
fn notifiers_are_created_updated_left_alone_and_deleted_by_name() {
    // given a file with a new, a moved and an unchanged (secret-bearing) webhook, and a stored one it lacks
    let desired = [
        entry(json!({"name": "new", "kind": "ntfy", "url": "https://ntfy.sh/alerts"})),
        entry(json!({"name": "moved", "kind": "webhook", "url": "https://b.example/hook"})),
        entry(json!({"name": "same", "kind": "webhook", "url": "https://s.example/", "secret": "whsec_s3cret"})),
    ];
    let stored = [
        stored_webhook(1, "moved", "https://a.example/hook"),
        stored_webhook(2, "same", "https://s.example/"),
        stored_webhook(3, "gone", "https://g.example/"),
    ];
    // when the plan is made
    let changes = plan_notifiers(&desired, &stored).expect("plan");
    // then each is classified, creates first and deletes last, and updates send the whole entry
    assert_eq!(
        changes,
        vec![
            Change::Create { name: "new".into(), body: desired[0].body.clone() },
            Change::Update {
                id: id(1).to_string(),
                name: "moved".into(),
                body: desired[1].body.clone(),
                fields: vec![FieldChange {
                    field: "url".into(),
                    from: Some(json!("https://a.example/hook")),
                    to: Some(json!("https://b.example/hook")),
                }],
            },
            Change::Unchanged { name: "same".into(), credentials_named: true },
            Change::Delete { id: id(3).to_string(), name: "gone".into() },
        ]
    );
    // and the printed plan says the secret was not compared, without showing it
    let text = render_noting(&changes, "secrets not compared");
    assert!(text.contains("= same (secrets not compared)\n"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn a_value_from_the_environment_is_never_printed_and_a_new_secret_shows_as_set() {
    // given a stored webhook without a secret, and an entry whose URL and secret come from the environment
    let stored = [stored_notifier(
        1,
        json!({"name": "hook", "kind": "webhook", "url": "https://old.example/", "method": "POST", "headers": [],
               "body": null, "has_secret": false}),
    )];
    let desired = [NotifierEntry {
        body: json!({"name": "hook", "kind": "webhook", "url": "https://new.example/t0ken", "secret": "whsec_s3cret"}),
        from_env: vec!["url".into(), "secret".into()],
    }];
    // when the plan is made and printed
    let changes = plan_notifiers(&desired, &stored).expect("plan");
    let text = render_noting(&changes, "secrets not compared");
    // then both fields change, each new value shown as (set), and neither value appears
    assert_eq!(
        text,
        "~ hook: secret (none) → (set), url \"https://old.example/\" → (set)\n0 to create, 1 to update, 0 to delete, 0 unchanged\n"
    );
    // but the body sent is the real one
    let Change::Update { body, .. } = &changes[0] else { panic!("an update: {changes:?}") };
    assert_eq!(body["secret"], "whsec_s3cret");
}

#[test]
fn a_slack_notifier_with_its_url_stored_is_unchanged() {
    // given a stored Slack notifier and the same entry (its URL is write-only)
    let stored = [stored_notifier(1, json!({"name": "chat", "kind": "slack", "has_webhook_url": true}))];
    let desired = [entry(json!({"name": "chat", "kind": "slack", "webhook_url": "https://hooks.slack.com/x"}))];
    // when the plan is made, then nothing changes (apply twice: the second run changes nothing)
    assert_eq!(
        plan_notifiers(&desired, &stored).expect("plan"),
        vec![Change::Unchanged { name: "chat".into(), credentials_named: true }]
    );
}

#[test]
fn an_alert_rule_is_compared_by_the_names_it_gives() {
    // given a stored rule naming notifiers 1 and 2 and target 20, and the file's rule naming them in another order
    let (known, names) = known();
    let file = json!({"name": "down", "notifiers": ["chat", "oncall"], "selector": {"tags": ["prod"], "targets": ["web"]},
                      "trigger_after_s": 60});
    let stored = [stored_rule(7, "down", &[1, 2], &[20])];
    // when the plan is made, then it is unchanged
    let changes = plan_alerts(std::slice::from_ref(&file), &stored, &known, &names).expect("plan");
    assert_eq!(changes, vec![Change::Unchanged { name: "down".into(), credentials_named: false }]);

    // given the file drops a notifier
    let mut fewer = file.clone();
    fewer["notifiers"] = json!(["oncall"]);
    // when the plan is made, then the change is shown by names
    let changes = plan_alerts(&[fewer], &stored, &known, &names).expect("plan");
    let Change::Update { fields, .. } = &changes[0] else { panic!("an update: {changes:?}") };
    assert_eq!(fields[0].field, "notifiers");
    assert_eq!(
        (fields[0].from.clone(), fields[0].to.clone()),
        (Some(json!(["chat", "oncall"])), Some(json!(["oncall"])))
    );
}

#[test]
fn an_unknown_name_is_refused_naming_the_entry() {
    // given rules naming a notifier and a target no section has
    let (known, names) = known();
    let cases = [
        (json!({"name": "down", "notifiers": ["pager"]}), "no notifier is named \"pager\""),
        (
            json!({"name": "down", "notifiers": ["oncall"], "selector": {"targets": ["db"]}}),
            "no target is named \"db\"",
        ),
    ];
    for (rule, expected) in cases {
        // when the plan is made
        let error = plan_alerts(&[rule], &[], &known, &names).expect_err("unknown");
        // then the error names the entry and the name
        let text = format!("{error:#}");
        assert!(text.contains("alerts[0] (down)") && text.contains(expected), "{text}");
    }
}

#[test]
fn an_invalid_rule_is_refused_before_anything_changes() {
    // given a rule whose trigger delay is out of range (over a day)
    let (known, names) = known();
    let rule = json!({"name": "down", "notifiers": ["oncall"], "trigger_after_s": 86_401});
    // when the plan is made, then the field is named
    let text = format!("{:#}", plan_alerts(&[rule], &[], &known, &names).expect_err("invalid"));
    assert!(text.contains("alerts[0] (down)") && text.contains("trigger_after_s"), "{text}");
}

#[test]
fn a_weekly_window_is_unchanged_until_its_schedule_changes_and_stored_ones_the_file_lacks_go() {
    // given a stored weekly window and the same one in the file, plus a stored one the file lacks
    let (known, names) = known();
    let file = json!({"name": "sunday", "selector": {"targets": ["web"]}, "cron": "0 2 * * sun",
                      "duration_s": 7200, "timezone": "Europe/Berlin"});
    let mut other = weekly_window(9, "0 3 * * sat");
    other.name = "saturday".into();
    let stored = [weekly_window(8, "0 2 * * sun"), other];
    // when the plan is made, then it is unchanged and the other is deleted
    let changes = plan_maintenance(std::slice::from_ref(&file), &stored, &known, &names).expect("plan");
    assert_eq!(
        changes,
        vec![
            Change::Unchanged { name: "sunday".into(), credentials_named: false },
            Change::Delete { id: id(9).to_string(), name: "saturday".into() },
        ]
    );
    // given the file moves it to 03:00, then it is an update of the cron
    let mut moved = file;
    moved["cron"] = json!("0 3 * * sun");
    let changes = plan_maintenance(&[moved], &stored[..1], &known, &names).expect("plan");
    let Change::Update { fields, .. } = &changes[0] else { panic!("an update: {changes:?}") };
    assert_eq!(fields.iter().map(|change| change.field.as_str()).collect::<Vec<_>>(), ["cron"]);
}

#[test]
fn names_become_ids_when_sent() {
    // given a rule body with names, and the ids they have once created
    let body = json!({"name": "down", "notifiers": ["oncall"], "selector": {"tags": ["prod"], "targets": ["web"]}});
    let notifier_ids = [("oncall".to_owned(), id(1))].into();
    let target_ids = [("web".to_owned(), id(20))].into();
    // when translated, then each name is its id and the rest is as written
    let sent = with_ids(&body, &notifier_ids, &target_ids).expect("ids");
    assert_eq!(
        sent,
        json!({"name": "down", "notifiers": [id(1)], "selector": {"tags": ["prod"], "targets": [id(20)]}})
    );
    // and a name that still has no id is an error
    let error = with_ids(&body, &BTreeMap::new(), &target_ids).expect_err("missing");
    assert!(error.to_string().contains("no notifier is named \"oncall\""), "{error}");
}

#[test]
fn the_example_file_is_valid() {
    // given the repository's example alerting file and its secrets in the environment
    let text = include_str!("../../../../../examples/alerting.yaml");
    let lookup = |var: &str| -> anyhow::Result<String> { Ok(format!("value-of-{var}")) };
    let manifest = crate::manifest::manifest_with(&crate::manifest::parse_document(text).expect("YAML"), &lookup)
        .expect("a manifest");
    // when every section is planned against an empty server
    let notifiers = manifest.notifiers.expect("notifiers");
    let targets = manifest.targets.expect("targets");
    let known = Known {
        notifiers: notifiers.iter().filter_map(|entry| entry.body["name"].as_str()).map(str::to_owned).collect(),
        targets: targets.iter().filter_map(|entry| entry["name"].as_str()).map(str::to_owned).collect(),
    };
    let names = StoredNames::default();
    let planned = [
        plan_notifiers(&notifiers, &[]).expect("notifiers"),
        crate::plan::plan(&targets, &[]).expect("targets"),
        plan_alerts(&manifest.alerts.expect("alerts"), &[], &known, &names).expect("alerts"),
        plan_maintenance(&manifest.maintenance.expect("maintenance"), &[], &known, &names).expect("maintenance"),
    ];
    // then every entry validates and is created, secrets read from the environment
    assert_eq!(planned.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 1, 1]);
    assert!(planned.iter().flatten().all(|change| matches!(change, Change::Create { .. })));
    assert_eq!(notifiers[1].body["webhook_url"], "value-of-SLACK_WEBHOOK_URL");
}
