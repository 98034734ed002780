//! Schemas of the main API's request and response bodies, for the OpenAPI document only.
//!
//! The handlers read request bodies as JSON values (so `parse_spec` can name every bad field in
//! one 422); these types describe those bodies to clients and are never constructed. Response
//! bodies are the types of `healthmon_wire`, which the handlers serialize.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::rules;
pub use healthmon_wire::{HealthStatus, Role, TargetKind};

/// Creates or fully replaces a target. `kind` decides which check fields apply: `http` needs
/// `url`; `ssh` needs `host`, `username` and `password` or `private_key`; `tcp` needs `host` and
/// `port`. Secrets are write-only; a replacement that names none keeps the stored ones.
#[derive(Serialize, ToSchema)]
pub struct TargetBody {
    #[schema(schema_with = rules::target_name)]
    pub name: String,
    pub kind: TargetKind,
    /// 1 … 3600, default 60.
    #[schema(minimum = 1, maximum = 3600)]
    pub interval_s: Option<u32>,
    /// 1 … 300, default 60; a sample with latency ≥ timeout fails.
    #[schema(minimum = 1, maximum = 300)]
    pub timeout_s: Option<u32>,
    /// Successes in a row to turn healthy, 1 … 100, default 5.
    #[schema(minimum = 1, maximum = 100)]
    pub healthy_threshold: Option<u32>,
    /// Failures in a row to turn unhealthy, 1 … 100, default 3.
    #[schema(minimum = 1, maximum = 100)]
    pub unhealthy_threshold: Option<u32>,
    /// Default true.
    pub enabled: Option<bool>,
    #[schema(schema_with = rules::tags_or_null)]
    pub tags: Option<Vec<String>>,
    #[schema(schema_with = rules::group_or_null)]
    pub group: Option<String>,
    /// Default false: only public targets appear on the status page and in badges.
    pub public: Option<bool>,
    #[serde(flatten)]
    pub http: HttpFields,
    #[serde(flatten)]
    pub ssh: SshFields,
}

/// The fields of an `http` check.
#[derive(Serialize, ToSchema)]
pub struct HttpFields {
    #[schema(schema_with = rules::http_url_or_null)]
    pub url: Option<String>,
    /// GET (default) or HEAD, in any letter case.
    #[schema(pattern = "^([Gg][Ee][Tt]|[Hh][Ee][Aa][Dd])$")]
    pub method: Option<String>,
    /// "2xx" (default), a range "200-399" or a list "200,204" (codes 100 … 599).
    #[schema(
        example = "2xx",
        pattern = "^([1-5][Xx][Xx]|[1-5][0-9]{2}(-[1-5][0-9]{2})?)(,([1-5][Xx][Xx]|[1-5][0-9]{2}(-[1-5][0-9]{2})?))*$"
    )]
    pub expected_status: Option<String>,
    #[schema(schema_with = rules::headers_or_null)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Text the body must contain, 1 … 1024 characters (not with method HEAD).
    #[schema(min_length = 1, max_length = 1024)]
    pub body_contains: Option<String>,
    /// Default false: a fresh connection per probe.
    pub keepalive: Option<bool>,
}

/// The fields of an `ssh` check (and `host` and `port` of a `tcp` one).
#[derive(Serialize, ToSchema)]
pub struct SshFields {
    #[schema(schema_with = rules::host_or_null)]
    pub host: Option<String>,
    /// Default 22 for ssh; required for tcp.
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    #[schema(schema_with = rules::ssh_username_or_null)]
    pub username: Option<String>,
    #[schema(schema_with = rules::password_or_null)]
    pub password: Option<String>,
    #[schema(schema_with = rules::private_key_or_null)]
    pub private_key: Option<String>,
    #[schema(schema_with = rules::password_or_null)]
    pub private_key_passphrase: Option<String>,
    /// Default: the free-disk check. Not blank, at most 4096 characters, no NUL.
    #[schema(max_length = 4096, pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$")]
    pub command: Option<String>,
    /// A regex stdout must match (Rust `regex` syntax), at most 1024 characters.
    #[schema(max_length = 1024)]
    pub expect_output: Option<String>,
    /// Default 1024.
    #[schema(maximum = 1073741824)]
    pub min_free_disk_mb: Option<u64>,
    #[schema(schema_with = rules::host_key_sha256_or_null)]
    pub host_key_sha256: Option<String>,
    /// Default false; when true the first key seen is pinned.
    pub trust_on_first_use: Option<bool>,
    /// "sh" (default) or "powershell".
    #[schema(pattern = "^(sh|powershell)$")]
    pub shell: Option<String>,
}

/// A JSON merge patch (RFC 7396) of a target: any of the fields of a full body; `null` removes an
/// optional one. The result is validated as a whole.
#[derive(Serialize, ToSchema)]
pub struct TargetPatch {
    #[schema(schema_with = rules::target_name_or_null)]
    pub name: Option<String>,
    #[schema(minimum = 1, maximum = 3600)]
    pub interval_s: Option<u32>,
    #[schema(minimum = 1, maximum = 300)]
    pub timeout_s: Option<u32>,
    #[schema(minimum = 1, maximum = 100)]
    pub healthy_threshold: Option<u32>,
    #[schema(minimum = 1, maximum = 100)]
    pub unhealthy_threshold: Option<u32>,
    pub enabled: Option<bool>,
    #[schema(schema_with = rules::tags_or_null)]
    pub tags: Option<Vec<String>>,
    #[schema(schema_with = rules::group_or_null)]
    pub group: Option<String>,
    /// Default false: only public targets appear on the status page and in badges.
    pub public: Option<bool>,
    #[serde(flatten)]
    pub http: HttpFields,
    #[serde(flatten)]
    pub ssh: SshFields,
}

/// One event of `GET /api/v1/events`, as its `event`, `id` and `data` lines (comment lines, such
/// as the one that opens the stream and the keep-alives, are not events).
#[derive(Serialize, ToSchema)]
pub struct HealthChangeEvent {
    /// Always `io.healthmon.health.changed.v1`.
    #[schema(pattern = "^io\\.healthmon\\.health\\.changed\\.v1$")]
    pub event: String,
    /// The CloudEvent's id.
    pub id: String,
    /// The CloudEvent 1.0 in JSON: `specversion`, `id`, `type`, `source`, `subject` (the target
    /// id), `time`, and `data`, the health change (`from`, `to`, `reason`, `at`, the counters).
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// One event of `GET /api/v1/status/events`: a public target's status change.
#[derive(Serialize, ToSchema)]
pub struct StatusChangeEvent {
    /// Always `status.changed`.
    #[schema(pattern = "^status\\.changed$")]
    pub event: String,
    /// The health change's CloudEvent id.
    pub id: String,
    /// A `StatusTransition` in JSON: `target_id`, `name`, `from`, `to`, `at`.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserCreate {
    /// 1 … 64 letters, digits or `. _ - @`.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$", min_length = 1, max_length = 64)]
    pub username: String,
    /// 10 … 1024 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    /// Default viewer.
    pub role: Option<Role>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenCreate {
    /// Not blank, at most 100 characters.
    #[schema(pattern = "\\S", min_length = 1, max_length = 100)]
    pub name: String,
    /// Default and ceiling: the caller's own role.
    pub role: Option<Role>,
    /// 1 … 3650; none: never expires.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}
