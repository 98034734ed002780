//! Turns client JSON into a valid [`TargetSpec`], reporting every bad field at once.

use serde_json::{Map, Value};

use super::{
    Check, DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, HttpCheck, HttpMethod, INTERVAL_RANGE, THRESHOLD_RANGE,
    TIMEOUT_RANGE, TargetSpec,
};
use crate::health::Thresholds;
use crate::{ExpectedStatus, ValidationErrors};

/// Fields the API returns but a client cannot set; echoing them back in a PUT is harmless.
const READ_ONLY: &[&str] = &["id", "created_at", "updated_at", "health", "recent_samples", "revision", "check_version"];
const COMMON: &[&str] = &[
    "name",
    "kind",
    "interval_s",
    "timeout_s",
    "healthy_threshold",
    "unhealthy_threshold",
    "enabled",
    "tags",
    "group",
    "public",
];
const HTTP_FIELDS: &[&str] = &["url", "method", "expected_status", "headers", "body_contains", "keepalive"];
const SSH_FIELDS: &[&str] = &[
    "host",
    "port",
    "username",
    "password",
    "private_key",
    "private_key_passphrase",
    "password_sealed",
    "private_key_sealed",
    "private_key_passphrase_sealed",
    "command",
    "expect_output",
    "min_free_disk_mb",
    "host_key_sha256",
    "trust_on_first_use",
    "shell",
    "has_password",
    "has_private_key",
];
const TCP_FIELDS: &[&str] = &["host", "port"];
const SUPPORTED_KINDS: &str = "http, ssh, tcp";
const MAX_NAME_CHARS: usize = 200;
const MAX_GROUP_CHARS: usize = 100;
const MAX_TAGS: usize = 32;
const MAX_TAG_CHARS: usize = 64;
const MAX_HEADERS: usize = 32;
const MAX_BODY_CONTAINS_CHARS: usize = 1024;
const MAX_URL_CHARS: usize = 2048;

/// Validates a complete target document (POST and PUT). Missing optional fields take defaults.
pub fn parse_spec(value: &Value) -> Result<TargetSpec, ValidationErrors> {
    let Some(object) = value.as_object() else {
        return Err(ValidationErrors::single("body", "must be a JSON object"));
    };
    let mut errors = ValidationErrors::new();
    let fields = Fields { object, errors: &mut errors };
    let spec = fields.spec();
    match spec {
        Some(spec) if errors.is_empty() => Ok(spec),
        _ => Err(errors),
    }
}

/// RFC 7396 JSON merge patch: `null` removes a field, objects merge, anything else replaces.
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Some(patch_object) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(target_object) = target.as_object_mut() {
        for (key, value) in patch_object {
            if value.is_null() {
                target_object.remove(key);
            } else {
                apply_merge_patch(target_object.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

pub(super) struct Fields<'a> {
    pub(super) object: &'a Map<String, Value>,
    pub(super) errors: &'a mut ValidationErrors,
}

impl Fields<'_> {
    fn spec(mut self) -> Option<TargetSpec> {
        let name = self.name();
        let kind = self.required_str("kind");
        let check = match kind.as_deref() {
            Some("http") => self.http_check().map(Check::Http),
            Some("ssh") => credentials::ssh_check(&mut self).map(Check::Ssh),
            Some("tcp") => credentials::tcp_check(&mut self).map(Check::Tcp),
            Some(other) => {
                self.errors.add("kind", format!("\"{other}\" is not a supported kind ({SUPPORTED_KINDS})"));
                None
            }
            None => None,
        };
        self.reject_unknown(kind.as_deref());
        let interval_s = self.bounded("interval_s", DEFAULT_INTERVAL_S, INTERVAL_RANGE);
        let timeout_s = self.bounded("timeout_s", DEFAULT_TIMEOUT_S, TIMEOUT_RANGE);
        let defaults = Thresholds::default();
        let healthy_threshold = self.bounded("healthy_threshold", defaults.healthy, THRESHOLD_RANGE);
        let unhealthy_threshold = self.bounded("unhealthy_threshold", defaults.unhealthy, THRESHOLD_RANGE);
        let enabled = self.bool("enabled", true);
        let tags = self.tags();
        let group = self.group();
        let public = self.bool("public", false);
        Some(TargetSpec {
            name: name?,
            check: check?,
            interval_s,
            timeout_s,
            healthy_threshold,
            unhealthy_threshold,
            enabled,
            tags,
            group,
            public,
        })
    }

    fn reject_unknown(&mut self, kind: Option<&str>) {
        // With no valid kind we cannot tell which kind's fields belong, so any kind's are let pass.
        let kind_fields: &[&[&str]] = match kind {
            Some("http") => &[HTTP_FIELDS],
            Some("ssh") => &[SSH_FIELDS],
            Some("tcp") => &[TCP_FIELDS],
            _ => &[HTTP_FIELDS, SSH_FIELDS, TCP_FIELDS],
        };
        for key in self.object.keys() {
            let known = [COMMON, READ_ONLY].iter().chain(kind_fields).any(|set| set.contains(&key.as_str()));
            if !known {
                self.errors.add(key.clone(), "unknown field");
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        let name = self.required_str("name")?;
        let trimmed = name.trim();
        if trimmed.is_empty() {
            self.errors.add("name", "must not be empty");
            return None;
        }
        if trimmed.chars().count() > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
            self.errors.add("name", format!("must be at most {MAX_NAME_CHARS} printable characters"));
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// Optional; blank means none, so that `"group": ""` ungroups a target as `null` does.
    fn group(&mut self) -> Option<String> {
        let group = self.optional_str("group")?;
        let trimmed = group.trim();
        if trimmed.chars().count() > MAX_GROUP_CHARS || trimmed.chars().any(char::is_control) {
            self.errors.add("group", format!("must be at most {MAX_GROUP_CHARS} printable characters"));
            return None;
        }
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    fn http_check(&mut self) -> Option<HttpCheck> {
        let url = self.url();
        let method = match self.optional_str("method").as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("GET") => HttpMethod::Get,
            Some("HEAD") => HttpMethod::Head,
            Some(_) => {
                self.errors.add("method", "must be GET or HEAD");
                HttpMethod::Get
            }
        };
        let expected_status = match self.optional_str("expected_status") {
            None => ExpectedStatus::default(),
            Some(text) => text.parse().unwrap_or_else(|reason: String| {
                self.errors.add("expected_status", reason);
                ExpectedStatus::default()
            }),
        };
        let headers = self.headers();
        let body_contains = self.optional_str("body_contains");
        if let Some(needle) = &body_contains {
            if needle.is_empty() || needle.chars().count() > MAX_BODY_CONTAINS_CHARS {
                self.errors.add("body_contains", format!("must be 1 to {MAX_BODY_CONTAINS_CHARS} characters"));
            } else if method == HttpMethod::Head {
                self.errors.add("body_contains", "cannot be used with method HEAD, which has no body");
            }
        }
        let keepalive = self.bool("keepalive", false);
        Some(HttpCheck { url: url?, method, expected_status, headers, body_contains, keepalive })
    }

    fn url(&mut self) -> Option<String> {
        let text = self.required_str("url")?;
        let problem = match url::Url::parse(text.trim()) {
            Err(error) => Some(format!("is not a valid URL: {error}")),
            Ok(url) if !matches!(url.scheme(), "http" | "https") => Some("must use http or https".to_owned()),
            Ok(url) if url.host_str().is_none_or(str::is_empty) => Some("must name a host".to_owned()),
            Ok(_) if text.len() > MAX_URL_CHARS => Some(format!("must be at most {MAX_URL_CHARS} characters")),
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                Some("must not carry credentials; use headers instead".to_owned())
            }
            Ok(url) => return Some(url.to_string()),
        };
        if let Some(problem) = problem {
            self.errors.add("url", problem);
        }
        None
    }

    fn headers(&mut self) -> std::collections::BTreeMap<String, String> {
        let mut headers = std::collections::BTreeMap::new();
        let Some(value) = self.object.get("headers").filter(|v| !v.is_null()) else {
            return headers;
        };
        let Some(object) = value.as_object() else {
            self.errors.add("headers", "must be an object of header names to string values");
            return headers;
        };
        if object.len() > MAX_HEADERS {
            self.errors.add("headers", format!("at most {MAX_HEADERS} headers"));
        }
        for (name, value) in object {
            let field = format!("headers.{name}");
            let valid_name = !name.is_empty() && name.bytes().all(is_header_token_byte);
            match value.as_str() {
                _ if !valid_name => self.errors.add(field, "is not a valid header name"),
                Some(text) if text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) => {
                    self.errors.add(field, "must not contain line breaks")
                }
                Some(text) => {
                    headers.insert(name.clone(), text.to_owned());
                }
                None => self.errors.add(field, "must be a string"),
            }
        }
        headers
    }

    fn tags(&mut self) -> Vec<String> {
        let Some(value) = self.object.get("tags").filter(|v| !v.is_null()) else {
            return Vec::new();
        };
        let Some(items) = value.as_array() else {
            self.errors.add("tags", "must be an array of strings");
            return Vec::new();
        };
        if items.len() > MAX_TAGS {
            self.errors.add("tags", format!("at most {MAX_TAGS} tags"));
        }
        let mut tags: Vec<String> = Vec::new();
        for item in items {
            match item.as_str() {
                Some(tag) if is_valid_tag(tag) => {
                    if !tags.iter().any(|t| t == tag) {
                        tags.push(tag.to_owned());
                    }
                }
                _ => self
                    .errors
                    .add("tags", format!("each tag must be 1 to {MAX_TAG_CHARS} letters, digits or - _ . : /")),
            }
        }
        tags
    }

    pub(super) fn required_str(&mut self, field: &str) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                self.errors.add(field, "is required");
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                self.errors.add(field, "must be a string");
                None
            }
        }
    }

    pub(super) fn optional_str(&mut self, field: &str) -> Option<String> {
        crate::validation::optional_str(self.object, self.errors, field)
    }

    pub(super) fn bool(&mut self, field: &str, default: bool) -> bool {
        crate::validation::flag(self.object, self.errors, field, default)
    }

    pub(super) fn bounded(&mut self, field: &str, default: u32, (min, max): (u32, u32)) -> u32 {
        let value = match self.object.get(field) {
            None | Some(Value::Null) => return default,
            Some(value) => value,
        };
        match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                self.errors.add(field, format!("must be a whole number from {min} to {max}"));
                default
            }
        }
    }
}

fn is_header_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.chars().count() <= MAX_TAG_CHARS
        && tag.chars().all(|c| c.is_alphanumeric() || "-_.:/".contains(c))
}

#[cfg(test)]
mod tests;

#[path = "ssh_tcp.rs"]
mod credentials;
