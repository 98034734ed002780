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
