//! Schemas of the predecessors' compatibility request bodies (`/webservers`, `/Resource`), for the
//! OpenAPI document only: the handlers read them as JSON values. Their responses are the types of
//! `healthmon_wire::compat`.

use serde::Serialize;
use utoipa::ToSchema;

use super::rules;

#[derive(Serialize, ToSchema)]
pub struct WebserverBody {
    #[schema(schema_with = rules::target_name)]
    pub name: String,
    #[schema(schema_with = rules::http_url)]
    pub url: String,
}

/// The predecessor's SSH resource document; `hostname` names and addresses it, `user` is an alias
/// of `username`, `os: windows` checks with PowerShell. Other target fields (`port`,
/// `host_key_sha256`, `trust_on_first_use`, …) pass through.
#[derive(Serialize, ToSchema)]
pub struct ResourceBody {
    #[schema(schema_with = rules::host)]
    pub hostname: String,
    #[schema(schema_with = rules::ssh_username_or_null)]
    pub username: Option<String>,
    #[schema(schema_with = rules::password_or_null)]
    pub password: Option<String>,
    #[schema(schema_with = rules::private_key_or_null)]
    pub private_key: Option<String>,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    /// "linux" (default) or "windows".
    pub os: Option<String>,
    #[schema(schema_with = rules::host_key_sha256_or_null)]
    pub host_key_sha256: Option<String>,
    pub trust_on_first_use: Option<bool>,
}
