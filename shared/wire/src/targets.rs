//! A target as `/api/v1/targets` shows it: its settings, the fields of its kind's check (flat, as
//! in the body that created it) and its health. Credentials have no field: an SSH target says only
//! whether it has a password and a private key.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::nullable;
use crate::{HealthView, SampleView};

/// What a target checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Http,
    Ssh,
    Tcp,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Ssh => "ssh",
            Self::Tcp => "tcp",
        }
    }
}

/// The request an `http` check sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Head,
}

impl From<healthmon_domain::HttpMethod> for HttpMethod {
    fn from(method: healthmon_domain::HttpMethod) -> Self {
        match method {
            healthmon_domain::HttpMethod::Get => Self::Get,
            healthmon_domain::HttpMethod::Head => Self::Head,
        }
    }
}

/// How an `ssh` check runs its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Sh,
    Powershell,
}

impl From<healthmon_domain::Shell> for Shell {
    fn from(shell: healthmon_domain::Shell) -> Self {
        match shell {
            healthmon_domain::Shell::Sh => Self::Sh,
            healthmon_domain::Shell::Powershell => Self::Powershell,
        }
    }
}

/// A target as stored, with its health; secrets appear only as `has_password`/`has_private_key`.
/// The check's own fields are those of its kind only: absent for the other kinds, and null where
/// the kind leaves them unset (`body_contains`, `command`, `expect_output`, `host_key_sha256`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetView {
    pub id: Uuid,
    pub name: String,
    pub kind: TargetKind,
    // http
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable::present")]
    #[schema(value_type = Option<String>)]
    pub body_contains: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<bool>,
    // ssh and tcp
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    // ssh
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable::present")]
    #[schema(value_type = Option<String>)]
    pub command: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable::present")]
    #[schema(value_type = Option<String>)]
    pub expect_output: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_disk_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable::present")]
    #[schema(value_type = Option<String>)]
    pub host_key_sha256: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_on_first_use: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Shell>,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// How the status page and badges group this target; null: in no group.
    #[serde(default)]
    pub group: Option<String>,
    /// Whether the status page and badges, which need no token, show this target.
    #[serde(default)]
    pub public: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change.
    pub revision: i64,
    /// ssh only: whether a password is stored (it is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_password: Option<bool>,
    /// ssh only: whether a private key is stored (it is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_private_key: Option<bool>,
    pub health: HealthView,
    /// Only from `GET /api/v1/targets/{id}`: its 10 newest samples, newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_samples: Option<Vec<SampleView>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetPage {
    pub items: Vec<TargetView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::TargetView;

    fn target(fields: Value) -> Value {
        let mut target = json!({
            "id": "0193b6a0-0000-7000-8000-000000000001", "name": "t", "interval_s": 60, "timeout_s": 60,
            "healthy_threshold": 5, "unhealthy_threshold": 3, "enabled": true, "tags": [], "group": null,
            "public": false, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "revision": 1,
            "health": {"status": "unknown", "since": null, "reason": null, "consecutive_successes": 0,
                       "consecutive_failures": 0, "last_sample_at": null, "maintenance": false}
        });
        for (key, value) in fields.as_object().expect("fields") {
            target[key] = value.clone();
        }
        target
    }

    /// A field of the kind left unset (null) and a field of another kind (absent) read back as
    /// they were written, so the CLI sees what the server sent.
    #[test]
    fn null_and_absent_check_fields_survive_a_round_trip() {
        let http = target(json!({"kind": "http", "url": "http://w/", "method": "GET", "expected_status": "2xx",
                                 "headers": {}, "body_contains": null, "keepalive": false}));
        let view: TargetView = serde_json::from_value(http.clone()).expect("an http view");
        assert_eq!(view.body_contains, Some(None));
        assert_eq!(view.command, None);
        assert_eq!(serde_json::to_value(&view).expect("serializes"), http);

        let tcp = target(json!({"kind": "tcp", "host": "db", "port": 5432}));
        let view: TargetView = serde_json::from_value(tcp.clone()).expect("a tcp view");
        assert_eq!((&view.body_contains, view.has_password), (&None, None));
        assert_eq!(serde_json::to_value(&view).expect("serializes"), tcp);
    }
}
