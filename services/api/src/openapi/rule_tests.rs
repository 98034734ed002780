//! The request-body constraints of the served document against the server's validation: every
//! string field the server has a rule for states one (so the empty string is not a valid value),
//! and each target field's constraints admit only values the server accepts.

use healthmon_domain::target::parse_spec;
use regex::Regex;
use serde_json::{Value, json};

use super::document_json;

fn schemas() -> Value {
    let text = document_json(&crate::table().into_parts().1).expect("the document serializes");
    let json: Value = serde_json::from_str(&text).expect("the document is JSON");
    json["components"]["schemas"].clone()
}

/// A property's schema, looking into the `allOf` parts (flattened fields) and the schemas they name.
fn property(schemas: &Value, schema: &str, field: &str) -> Value {
    let described = &schemas[schema];
    if let Some(found) = described["properties"].get(field) {
        return found.clone();
    }
    for part in described["allOf"].as_array().into_iter().flatten() {
        let part = match part["$ref"].as_str().and_then(|target| target.strip_prefix("#/components/schemas/")) {
            Some(name) => &schemas[name],
            None => part,
        };
        if let Some(found) = part["properties"].get(field) {
            return found.clone();
        }
    }
    panic!("{schema} has no property {field}")
}

/// Whether a string schema's pattern and length bounds admit `value`.
fn admits(schema: &Value, value: &str) -> bool {
    let length = value.chars().count() as u64;
    let pattern = schema["pattern"].as_str().is_none_or(|pattern| {
        Regex::new(pattern).unwrap_or_else(|error| panic!("{pattern} is a regex: {error}")).is_match(value)
    });
    pattern
        && schema["minLength"].as_u64().is_none_or(|min| length >= min)
        && schema["maxLength"].as_u64().is_none_or(|max| length <= max)
}

#[test]
fn string_fields_with_a_server_rule_refuse_the_empty_string() {
    let schemas = schemas();
    let fields = [
        ("TargetBody", "name"),
        ("TargetPatch", "name"),
        ("HttpFields", "url"),
        ("HttpFields", "method"),
        ("HttpFields", "expected_status"),
        ("HttpFields", "body_contains"),
        ("SshFields", "host"),
        ("SshFields", "username"),
        ("SshFields", "password"),
        ("SshFields", "private_key"),
        ("SshFields", "private_key_passphrase"),
        ("SshFields", "command"),
        ("SshFields", "host_key_sha256"),
        ("SshFields", "shell"),
        ("UserCreate", "username"),
        ("UserCreate", "password"),
        ("TokenCreate", "name"),
        ("WebserverBody", "name"),
        ("WebserverBody", "url"),
        ("ResourceBody", "hostname"),
        ("ResourceBody", "username"),
        ("ResourceBody", "password"),
        ("ResourceBody", "private_key"),
        ("ResourceBody", "host_key_sha256"),
    ];
    for (schema, field) in fields {
        let described = property(&schemas, schema, field);
        assert!(!admits(&described, ""), "{schema}.{field} admits the empty string: {described}");
    }
    for (schema, field) in
        [("TargetBody", "name"), ("TargetPatch", "name"), ("WebserverBody", "name"), ("TokenCreate", "name")]
    {
        let described = property(&schemas, schema, field);
        assert!(!admits(&described, " \t "), "{schema}.{field} admits a blank name: {described}");
    }
}

/// A valid target of `kind` with `field` set to `value`; the field's own errors from the server's
/// validation.
fn server_refuses(kind: &str, field: &str, value: &str) -> bool {
    let mut body = match kind {
        "http" => json!({ "name": "n", "kind": "http", "url": "http://a.example/" }),
        _ => json!({ "name": "n", "kind": "ssh", "host": "h", "username": "u", "password": "p" }),
    };
    body[field] = json!(value);
    parse_spec(&body).err().is_some_and(|errors| errors.fields().keys().any(|key| key.starts_with(field)))
}

#[test]
fn each_target_field_admits_only_what_the_server_accepts() {
    let long = |n: usize| "a".repeat(n);
    let cases: Vec<(&str, &str, &str, Vec<String>)> = vec![
        (
            "TargetBody",
            "name",
            "http",
            [
                "orders-api",
                " padded ",
                "",
                " \t ",
                "tab\tinside",
                "bell\u{7}",
                "\u{85}",
                "non\u{a0}breaking",
                "\u{feff}",
            ]
            .map(String::from)
            .into_iter()
            .chain([long(200), long(201)])
            .collect(),
        ),
        (
            "HttpFields",
            "url",
            "http",
            [
                "https://orders.internal/health",
                "HTTP://localhost:8080/x?y=1#z",
                "http://127.0.0.1:65535/",
                "http://[::1]/",
                "http://1.2.3.4.5/",
                "http://999.1.1.1/",
                "http://a:65536/",
                "http://user:pw@host/",
                "ftp://host/",
                "http:///path",
                "http://host/%zz|^{}<>\\",
                " http://padded/ ",
                "http://xn--a/",
                "",
            ]
            .map(String::from)
            .into_iter()
            .chain([format!("http://a.example/{}", long(2048 - 17)), format!("http://a.example/{}", long(2048))])
            .collect(),
        ),
        ("HttpFields", "method", "http", ["GET", "head", "gEt", "POST", ""].map(String::from).to_vec()),
        (
            "HttpFields",
            "expected_status",
            "http",
            // A range must not end before it starts: the description says so, a regex cannot.
            ["2xx", "200-399", "200,204", "1XX,599", "600", "6xx", "200-", "", "2xx, 3xx"].map(String::from).to_vec(),
        ),
        ("HttpFields", "body_contains", "http", [String::new(), "ok".into(), long(1024), long(1025)].to_vec()),
        (
            "SshFields",
            "host",
            "ssh",
            // IPv6 addresses are shaped loosely: only real ones are tried.
            ["db-1.internal", "10.0.0.12", "::1", "[fe80::1]", "a..b", "-", "host name", " h ", "h/x", ""]
                .map(String::from)
                .into_iter()
                .chain([format!("{}.b", long(63)), format!("{}.b", long(64))])
                .collect(),
        ),
        ("SshFields", "username", "ssh", ["monitor", "a b", "tab\t", "", "\u{85}x"].map(String::from).to_vec()),
        (
            "SshFields",
            "private_key",
            "ssh",
            ["-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "  -----BEGIN x", "key", ""].map(String::from).to_vec(),
        ),
        ("SshFields", "command", "ssh", ["df -Pk /", "  ", "", "nul\u{0}"].map(String::from).to_vec()),
        (
            "SshFields",
            "host_key_sha256",
            "ssh",
            [
                "SHA256:q8xWpN20y8klQWLy6UBbSHE6cfbZZwIamLkoH2xI0pA",
                "q8xWpN20y8klQWLy6UBbSHE6cfbZZwIamLkoH2xI0pA",
                "SHA256:q8xWpN20y8klQWLy6UBbSHE6cfbZZwIamLkoH2xI0pB",
                "SHA256:short",
                "",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ("SshFields", "shell", "ssh", ["sh", "powershell", "bash", ""].map(String::from).to_vec()),
    ];
    let schemas = schemas();
    for (schema, field, kind, samples) in cases {
        let described = property(&schemas, schema, field);
        let (mut admitted, mut refused) = (0, 0);
        for sample in &samples {
            if admits(&described, sample) {
                admitted += 1;
                assert!(
                    !server_refuses(kind, field, sample),
                    "{schema}.{field} admits {sample:?}, the server refuses it"
                );
            } else {
                refused += 1;
            }
        }
        assert!(admitted > 0 && refused > 0, "{schema}.{field}: {admitted} admitted, {refused} refused");
    }
}

#[test]
fn tags_and_headers_state_their_limits() {
    let schemas = schemas();
    let tags = property(&schemas, "TargetBody", "tags");
    assert_eq!(tags["maxItems"], 32);
    let tag = &tags["items"];
    for (sample, valid) in [("payments", true), ("a:b/c.d_e-f", true), ("", false), ("with space", false)] {
        assert_eq!(admits(tag, sample), valid, "tag {sample:?}");
        let body = json!({ "name": "n", "kind": "http", "url": "http://a.example/", "tags": [sample] });
        assert_eq!(parse_spec(&body).is_ok(), valid, "the server on tag {sample:?}");
    }
    let headers = property(&schemas, "HttpFields", "headers");
    assert_eq!(headers["maxProperties"], 32);
    assert!(admits(&headers["propertyNames"], "X-Api-Key") && !admits(&headers["propertyNames"], "bad name"));
    assert!(admits(&headers["additionalProperties"], "v") && !admits(&headers["additionalProperties"], "a\r\nb"));
}

#[test]
fn account_fields_state_the_servers_limits() {
    let schemas = schemas();
    let username = property(&schemas, "UserCreate", "username");
    for (sample, valid) in [("dashboards", true), ("a.b_c-d@e", true), ("", false), ("two words", false)] {
        assert_eq!(admits(&username, sample), valid, "username {sample:?}");
    }
    assert!(!admits(&username, &"a".repeat(65)));
    let password = property(&schemas, "UserCreate", "password");
    for sample in ["short", "ten chars!", &"p".repeat(1024), &"p".repeat(1025)] {
        let accepted = crate::auth::passwords::check_strength(sample).is_ok();
        assert_eq!(admits(&password, sample), accepted, "password of {} characters", sample.len());
    }
    let token_name = property(&schemas, "TokenCreate", "name");
    assert!(admits(&token_name, "ci") && !admits(&token_name, &"n".repeat(101)));
    let days = property(&schemas, "TokenCreate", "expires_in_days");
    assert_eq!((days["minimum"].as_u64(), days["maximum"].as_u64()), (Some(1), Some(3650)));
}
