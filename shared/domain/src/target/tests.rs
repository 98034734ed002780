//! Rules on target edits: which stored credentials an edit may keep, PATCH documents, and which
//! target is a host's `/Resource`.

use serde_json::json;

use super::*;

/// A stored SSH target with a sealed password and private key, as the store gives it back.
fn stored_ssh() -> TargetSpec {
    parse_spec(&json!({
        "name": "files", "kind": "ssh", "host": "10.0.0.12", "port": 22, "username": "monitor",
        "password_sealed": "hm1.sealed-password", "private_key_sealed": "hm1.sealed-key",
    }))
    .expect("a valid stored spec")
}

fn patched(patch: serde_json::Value) -> TargetSpec {
    parse_spec(&patched_document(&stored_ssh(), &patch).expect("serializable")).expect("a valid spec")
}

fn refused_fields(next: &TargetSpec) -> Vec<String> {
    stored_ssh().credentials_refused_in(next).fields().keys().cloned().collect()
}

#[test]
fn given_a_new_host_port_or_user_without_the_credentials_then_each_kept_one_is_refused() {
    for change in [json!({"host": "attacker.example"}), json!({"port": 2222}), json!({"username": "root"})] {
        assert_eq!(refused_fields(&patched(change.clone())), ["password", "private_key"], "{change}");
    }
}

#[test]
fn given_the_same_destination_then_the_stored_credentials_stay() {
    for change in [json!({"name": "renamed", "interval_s": 5}), json!({"command": "uptime"}), json!({})] {
        assert!(refused_fields(&patched(change.clone())).is_empty(), "{change}");
    }
}

#[test]
fn given_a_new_destination_with_every_credential_sent_again_or_dropped_then_the_edit_is_allowed() {
    let resent = patched(json!({"host": "10.0.0.13", "password": "new-password", "private_key": null}));
    assert!(refused_fields(&resent).is_empty());
    let Check::Ssh(ssh) = &resent.check else { panic!("an ssh check") };
    assert_eq!((&ssh.password, &ssh.private_key), (&Some(Credential::Plain("new-password".into())), &None));
    // Sending one anew does not carry the other along.
    let half = patched(json!({"host": "10.0.0.13", "password": "new-password"}));
    assert_eq!(refused_fields(&half), ["private_key"]);
}

#[test]
fn given_a_patch_that_nulls_a_credential_then_its_sealed_form_goes_too() {
    let document = patched_document(&stored_ssh(), &json!({"password": null})).expect("serializable");
    assert!(document.get("password_sealed").is_none(), "{document}");
    assert_eq!(document["private_key_sealed"], "hm1.sealed-key");
}

#[test]
fn an_ssh_target_named_after_its_host_is_that_hosts_resource() {
    let named = |name: &str, kind: &str| {
        let mut document = json!({"name": name, "kind": kind, "host": "DB1.internal", "port": 22});
        if kind == "ssh" {
            document["username"] = json!("u");
            document["password"] = json!("pw");
        }
        parse_spec(&document).expect("valid").resource_hostname()
    };
    assert_eq!(named("db1.INTERNAL", "ssh").as_deref(), Some("db1.internal"));
    assert_eq!(named("db1 disk", "ssh"), None);
    assert_eq!(named("DB1.internal", "tcp"), None);
}
