//! Targets (monitored resources), what they check, and the validation of client input.

mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::health::Thresholds;
use crate::{Credential, ExpectedStatus};

pub use parse::{apply_merge_patch, parse_spec};

pub const DEFAULT_INTERVAL_S: u32 = 60;
pub const DEFAULT_TIMEOUT_S: u32 = 60;
pub const INTERVAL_RANGE: (u32, u32) = (1, 3600);
pub const TIMEOUT_RANGE: (u32, u32) = (1, 300);
pub const THRESHOLD_RANGE: (u32, u32) = (1, 100);

/// Each credential's field as clients write it (plain), and as it is stored (sealed).
pub const CREDENTIAL_FIELDS: [(&str, &str); 3] = [
    ("password", "password_sealed"),
    ("private_key", "private_key_sealed"),
    ("private_key_passphrase", "private_key_passphrase_sealed"),
];

/// The document a PATCH of `current` gives, to validate as a whole: `patch` applied as an RFC 7396
/// merge patch, where `null` for a credential (`"password": null`) removes its sealed form too, as
/// it would any other field (clients never see the sealed field to name it).
pub fn patched_document(current: &TargetSpec, patch: &serde_json::Value) -> serde_json::Result<serde_json::Value> {
    let mut document = serde_json::to_value(current)?;
    if let Some(object) = document.as_object_mut() {
        for (plain, sealed) in CREDENTIAL_FIELDS {
            if patch.get(plain).is_some_and(serde_json::Value::is_null) {
                object.remove(sealed);
            }
        }
    }
    apply_merge_patch(&mut document, patch);
    Ok(document)
}

/// Everything a client may write about a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSpec {
    pub name: String,
    #[serde(flatten)]
    pub check: Check,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// How status pages and badges group targets (absent from documents stored before groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Shown on the status page and in badges, which need no token.
    #[serde(default)]
    pub public: bool,
}

impl TargetSpec {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds { healthy: self.healthy_threshold, unhealthy: self.unhealthy_threshold }
    }

    /// The credentials `next`, an edit of `self`, may not keep: every one it carries over sealed
    /// while the host, port or user name changes ([`crate::credential::carried_over`]). Every edit
    /// of a stored target goes through this.
    pub fn credentials_refused_in(&self, next: &TargetSpec) -> crate::ValidationErrors {
        crate::credential::carried_over(
            &self.check.credential_destination(),
            &next.check.credential_destination(),
            next.check.credential_fields(),
            "host, port or username",
        )
    }

    /// The host this target is the `/Resource` of, lower-cased: an SSH target named after its host
    /// is the predecessor's resource for that host name, and there is at most one (the store
    /// refuses a second). Other targets, SSH checks of the same host under other names among them,
    /// are none.
    pub fn resource_hostname(&self) -> Option<String> {
        match &self.check {
            Check::Ssh(ssh) if self.name.eq_ignore_ascii_case(&ssh.host) => Some(ssh.host.to_ascii_lowercase()),
            _ => None,
        }
    }

    /// Whether moving from `self` to `next` changes what is checked, which resets health to unknown.
    /// Name, tags, interval, thresholds and pausing do not.
    pub fn check_differs(&self, next: &TargetSpec) -> bool {
        self.check.probe_definition() != next.check.probe_definition() || self.timeout_s != next.timeout_s
    }
}

/// A stored target: its spec plus identity and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub id: Uuid,
    #[serde(flatten)]
    pub spec: TargetSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; consumers apply a target event only if it is newer than what they hold.
    pub revision: i64,
    /// Bumped whenever what is checked changes; samples carry it so older probes no longer count.
    pub check_version: i64,
}

impl Target {
    pub fn create(spec: TargetSpec, now: DateTime<Utc>) -> Self {
        Self { id: Uuid::now_v7(), spec, created_at: now, updated_at: now, revision: 1, check_version: 1 }
    }

    /// The target after a full replacement of its spec.
    pub fn replaced(&self, spec: TargetSpec, now: DateTime<Utc>) -> Self {
        let check_version = self.check_version + i64::from(self.spec.check_differs(&spec));
        Self {
            id: self.id,
            spec,
            created_at: self.created_at,
            updated_at: now,
            revision: self.revision + 1,
            check_version,
        }
    }

    pub fn kind(&self) -> &'static str {
        self.spec.check.kind()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    Http(HttpCheck),
    Ssh(SshCheck),
    Tcp(TcpCheck),
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Http(_) => "http",
            Check::Ssh(_) => "ssh",
            Check::Tcp(_) => "tcp",
        }
    }

    /// What the check probes, without credentials or host-key trust: new credentials or a pinned
    /// key for the same host do not reset health (and sealing one password twice gives different
    /// ciphertexts anyway).
    fn probe_definition(&self) -> Check {
        match self {
            // Credentials and host-key trust decide whether we may log in, not what is probed.
            Check::Ssh(ssh) => Check::Ssh(SshCheck {
                password: None,
                private_key: None,
                private_key_passphrase: None,
                host_key_sha256: None,
                trust_on_first_use: false,
                ..ssh.clone()
            }),
            other => other.clone(),
        }
    }

    /// Each credential the check holds, by the field a client writes it in.
    pub fn credential_fields(&self) -> Vec<(&'static str, &Credential)> {
        match self {
            Check::Ssh(ssh) => [
                ("password", &ssh.password),
                ("private_key", &ssh.private_key),
                ("private_key_passphrase", &ssh.private_key_passphrase),
            ]
            .into_iter()
            .filter_map(|(field, credential)| Some((field, credential.as_ref()?)))
            .collect(),
            _ => Vec::new(),
        }
    }

    /// Where the check presents its credentials: what must not change under a kept credential.
    fn credential_destination(&self) -> Option<(&str, u16, &str)> {
        match self {
            Check::Ssh(ssh) => Some((ssh.host.as_str(), ssh.port, ssh.username.as_str())),
            _ => None,
        }
    }

    /// Every credential in the check, for sealing and unsealing.
    pub fn credentials_mut(&mut self) -> Vec<&mut Credential> {
        match self {
            Check::Ssh(ssh) => [&mut ssh.password, &mut ssh.private_key, &mut ssh.private_key_passphrase]
                .into_iter()
                .filter_map(Option::as_mut)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// How a target's SSH command line is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// A POSIX shell (Linux, BSD, macOS).
    #[default]
    Sh,
    /// PowerShell through OpenSSH on Windows.
    Powershell,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SshCheck {
    pub host: String,
    pub port: u16,
    pub username: String,
    #[serde(rename = "password_sealed", default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Credential>,
    #[serde(rename = "private_key_sealed", default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<Credential>,
    #[serde(rename = "private_key_passphrase_sealed", default, skip_serializing_if = "Option::is_none")]
    pub private_key_passphrase: Option<Credential>,
    /// None: the free-disk check.
    pub command: Option<String>,
    /// A regex stdout must match.
    pub expect_output: Option<String>,
    pub min_free_disk_mb: u64,
    /// `SHA256:<base64>`, as `ssh-keygen -l -E sha256` prints it.
    pub host_key_sha256: Option<String>,
    pub trust_on_first_use: bool,
    pub shell: Shell,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpCheck {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Head,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCheck {
    pub url: String,
    pub method: HttpMethod,
    pub expected_status: ExpectedStatus,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body_contains: Option<String>,
    /// Off by default: a probe on a pooled connection misses a server that stopped accepting.
    pub keepalive: bool,
}
