//! The fields of SSH and TCP targets, and their credentials (plain from clients, sealed when stored).

use base64::Engine;
use serde_json::Value;

use super::Fields;
use crate::credential::Credential;
use crate::target::{Shell, SshCheck, TcpCheck};

const MAX_HOST_CHARS: usize = 253;
const MAX_USERNAME_CHARS: usize = 64;
const MAX_SECRET_BYTES: usize = 16 * 1024;
const MAX_COMMAND_CHARS: usize = 4096;
const MAX_PATTERN_CHARS: usize = 1024;
const MAX_FREE_DISK_MB: u64 = 1 << 30;
pub const DEFAULT_MIN_FREE_DISK_MB: u64 = 1024;

pub(super) fn tcp_check(fields: &mut Fields<'_>) -> Option<TcpCheck> {
    let host = host(fields);
    let port = port(fields, None);
    Some(TcpCheck { host: host?, port: port? })
}

pub(super) fn ssh_check(fields: &mut Fields<'_>) -> Option<SshCheck> {
    let host = host(fields);
    let port = port(fields, Some(22));
    let username = fields.required_str("username").and_then(|name| {
        let valid = !name.is_empty()
            && name.chars().count() <= MAX_USERNAME_CHARS
            && !name.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            fields.errors.add("username", format!("must be 1 to {MAX_USERNAME_CHARS} characters without spaces"));
        }
        valid.then_some(name)
    });
    let password = credential(fields, "password");
    let private_key = credential(fields, "private_key");
    if let Some(Credential::Plain(key)) = &private_key
        && !key.trim_start().starts_with("-----BEGIN ")
    {
        fields.errors.add("private_key", "must be a private key in OpenSSH or PEM format (-----BEGIN …)");
    }
    let private_key_passphrase = credential(fields, "private_key_passphrase");
    if password.is_none() && private_key.is_none() {
        fields.errors.add("password", "give a password or a private_key");
    }
    let command = fields.optional_str("command");
    if command
        .as_ref()
        .is_some_and(|c| c.trim().is_empty() || c.chars().count() > MAX_COMMAND_CHARS || c.contains('\0'))
    {
        fields.errors.add("command", format!("must be 1 to {MAX_COMMAND_CHARS} characters"));
    }
    let expect_output = fields.optional_str("expect_output");
    if let Some(pattern) = &expect_output {
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            fields.errors.add("expect_output", format!("must be at most {MAX_PATTERN_CHARS} characters"));
        } else if let Err(error) = regex::Regex::new(pattern) {
            fields.errors.add("expect_output", format!("is not a valid regular expression: {error}"));
        }
    }
    let min_free_disk_mb = match fields.object.get("min_free_disk_mb") {
        None | Some(Value::Null) => DEFAULT_MIN_FREE_DISK_MB,
        Some(value) => value.as_u64().filter(|mb| *mb <= MAX_FREE_DISK_MB).unwrap_or_else(|| {
            fields.errors.add("min_free_disk_mb", format!("must be a whole number from 0 to {MAX_FREE_DISK_MB}"));
            DEFAULT_MIN_FREE_DISK_MB
        }),
    };
    let host_key_sha256 = fields.optional_str("host_key_sha256").and_then(|text| {
        let normalized = normalize_fingerprint(&text);
        if normalized.is_none() {
            fields.errors.add("host_key_sha256", "must be SHA256:<base64> as `ssh-keygen -l -E sha256` prints it");
        }
        normalized
    });
    let trust_on_first_use = fields.bool("trust_on_first_use", false);
    let shell = match fields.optional_str("shell").as_deref() {
        None | Some("sh") => Shell::Sh,
        Some("powershell") => Shell::Powershell,
        Some(_) => {
            fields.errors.add("shell", "must be sh or powershell");
            Shell::Sh
        }
    };
    Some(SshCheck {
        host: host?,
        port: port?,
        username: username?,
        password,
        private_key,
        private_key_passphrase,
        command,
        expect_output,
        min_free_disk_mb,
        host_key_sha256,
        trust_on_first_use,
        shell,
    })
}

/// A plain credential from a client (`password`), or the sealed one kept from before
/// (`password_sealed`, which a PATCH carries over); a plain one wins.
fn credential(fields: &mut Fields<'_>, field: &str) -> Option<Credential> {
    if let Some(plain) = fields.optional_str(field) {
        if plain.is_empty() || plain.len() > MAX_SECRET_BYTES {
            fields.errors.add(field, format!("must be 1 to {MAX_SECRET_BYTES} bytes"));
            return None;
        }
        return Some(Credential::Plain(plain));
    }
    fields.optional_str(&format!("{field}_sealed")).map(Credential::Sealed)
}

fn host(fields: &mut Fields<'_>) -> Option<String> {
    let host = fields.required_str("host")?;
    let trimmed = host.trim().trim_start_matches('[').trim_end_matches(']');
    let is_ip = trimmed.parse::<std::net::IpAddr>().is_ok();
    let is_name = !trimmed.is_empty()
        && trimmed.len() <= MAX_HOST_CHARS
        && trimmed.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if is_ip || is_name {
        Some(trimmed.to_owned())
    } else {
        fields.errors.add("host", "must be a host name or an IP address (no scheme, port or path)");
        None
    }
}

fn port(fields: &mut Fields<'_>, default: Option<u16>) -> Option<u16> {
    match (fields.object.get("port"), default) {
        (None | Some(Value::Null), Some(default)) => Some(default),
        (None | Some(Value::Null), None) => {
            fields.errors.add("port", "is required");
            None
        }
        (Some(value), _) => {
            let port = value.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0);
            if port.is_none() {
                fields.errors.add("port", "must be a whole number from 1 to 65535");
            }
            port
        }
    }
}

/// `SHA256:<base64>` (43 characters, no padding); the bare base64 is accepted too.
fn normalize_fingerprint(text: &str) -> Option<String> {
    let body = text.trim().strip_prefix("SHA256:").unwrap_or(text.trim()).trim_end_matches('=');
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).ok()?;
    (decoded.len() == 32).then(|| format!("SHA256:{body}"))
}
