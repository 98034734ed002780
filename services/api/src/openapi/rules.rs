//! The server's validation rules as JSON Schema constraints (lengths, patterns, item and property
//! limits), for request-body fields that more than one schema shares or whose rule the derive
//! attributes cannot state. Patterns are written so that ECMA-262, Python's `re` (schemathesis) and
//! Rust's `regex` (the tests) read them alike, and state the rule exactly or more strictly (no
//! surrounding spaces, ASCII host names), so a value they admit is accepted. Three things a
//! pattern cannot say are left to the descriptions: the shape of an IPv6 address, a secret's limit
//! in bytes (`maxLength` counts characters), and that a status range must not end before it starts.

use utoipa::openapi::schema::{AdditionalProperties, Array, ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};

/// A target's (or web server's) name: not blank (a character that is neither space nor control),
/// at most 200 characters, no control characters (C0 and C1, what `char::is_control` refuses).
pub const TARGET_NAME: &str =
    r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
pub const TARGET_NAME_MAX: usize = 200;
/// An http(s) URL: a host name (whose last label starts with a letter, so it cannot be read as an
/// IPv4 number), an IPv4 address or a bracketed IPv6 one; a port up to 65535; then printable ASCII.
/// No user or password, as the server requires; ASCII throughout, so characters count as bytes.
pub const HTTP_URL: &str = concat!(
    r"^[Hh][Tt][Tt][Pp][Ss]?://",
    r"(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*",
    r"|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    r"|\[[0-9A-Fa-f:.]+\])",
    r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"([/?#][!-~]*)?$",
);
pub const HTTP_URL_MAX: usize = 2048;
/// A target's group: at most 100 characters, no control characters; blank means none.
pub const GROUP: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";
pub const GROUP_MAX: usize = 100;
pub const TAG: &str = r"^[A-Za-z0-9_.:/-]{1,64}$";
pub const MAX_TAGS: usize = 32;
/// An HTTP header name (RFC 9110 token characters).
pub const HEADER_NAME: &str = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
pub const HEADER_VALUE: &str = r"^[^\r\n\u0000]*$";
pub const MAX_HEADERS: usize = 32;
/// A host name of dot-separated labels (which covers IPv4), or an IPv6 address with or without
/// brackets.
pub const HOST: &str = r"^([A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$";
pub const HOST_MAX: usize = 253;
/// An SSH user name: no spaces, no control characters.
pub const SSH_USERNAME: &str = r"^[^\s\u0000-\u001f\u007f-\u009f]+$";
pub const SSH_USERNAME_MAX: usize = 64;
/// Secrets are limited in bytes (16 KiB); `maxLength` counts characters, each at least a byte.
pub const SECRET_MAX: usize = 16 * 1024;
/// A PEM or OpenSSH private key: ASCII text opening with `-----BEGIN `.
pub const PRIVATE_KEY: &str = r"^-----BEGIN [\t\n\r -~]*$";
/// `SHA256:` and the unpadded base64 of 32 bytes (whose last character carries 2 zero bits).
pub const HOST_KEY_SHA256: &str = r"^(SHA256:)?[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=*$";

/// Required text with a pattern and length bounds.
fn text(pattern: &str, min_length: Option<usize>, max_length: usize, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(min_length)
        .max_length(Some(max_length))
        .description(Some(description))
}

/// The same, where `null` is allowed too (an optional field; in a merge patch, removal).
fn or_null(builder: ObjectBuilder) -> Object {
    builder.schema_type(SchemaType::from_iter([Type::String, Type::Null])).build()
}

fn target_name_rule() -> ObjectBuilder {
    text(TARGET_NAME, Some(1), TARGET_NAME_MAX, "Not blank, at most 200 characters, no control characters.")
        .examples(["orders-api"])
}

fn http_url_rule() -> ObjectBuilder {
    text(
        HTTP_URL,
        None,
        HTTP_URL_MAX,
        "An http or https URL in ASCII: a host name, an IPv4 or a bracketed IPv6 address, an optional port; \
         no user or password.",
    )
    .examples(["https://orders.internal/health"])
}

fn host_rule() -> ObjectBuilder {
    text(HOST, Some(1), HOST_MAX, "A host name or an IP address (no scheme, port or path).").examples(["db-1.internal"])
}

pub fn target_name() -> Object {
    target_name_rule().build()
}

pub fn target_name_or_null() -> Object {
    or_null(target_name_rule())
}

pub fn group_or_null() -> Object {
    or_null(text(
        GROUP,
        None,
        GROUP_MAX,
        "How the status page and badges group the target: at most 100 characters, no control characters; \
         blank or null for none.",
    ))
}

pub fn http_url() -> Object {
    http_url_rule().build()
}

pub fn http_url_or_null() -> Object {
    or_null(http_url_rule())
}

pub fn host() -> Object {
    host_rule().build()
}

pub fn host_or_null() -> Object {
    or_null(host_rule())
}

pub fn ssh_username_or_null() -> Object {
    or_null(text(SSH_USERNAME, Some(1), SSH_USERNAME_MAX, "1 to 64 characters, no spaces."))
}

pub fn password_or_null() -> Object {
    or_null(
        ObjectBuilder::new()
            .min_length(Some(1))
            .max_length(Some(SECRET_MAX))
            .description(Some("Write-only; 1 byte to 16 KiB.")),
    )
}

pub fn private_key_or_null() -> Object {
    or_null(text(PRIVATE_KEY, Some(1), SECRET_MAX, "Write-only, OpenSSH or PEM (`-----BEGIN …`); at most 16 KiB."))
}

pub fn host_key_sha256_or_null() -> Object {
    or_null(text(HOST_KEY_SHA256, None, 100, "`SHA256:<base64>` as `ssh-keygen -l -E sha256` prints it."))
}

/// Each tag 1 to 64 characters of letters, digits and `- _ . : /`, at most 32 tags (repeats are
/// kept once).
pub fn tags_or_null() -> Array {
    let tag =
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(TAG)).min_length(Some(1)).max_length(Some(64));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(tag)
        .max_items(Some(MAX_TAGS))
        .description(Some("At most 32, each 1 to 64 letters, digits or - _ . : /."))
        .build()
}

/// Request headers sent with each probe: at most 32, token names, values without line breaks.
pub fn headers_or_null() -> Object {
    let value = ObjectBuilder::new().schema_type(Type::String).pattern(Some(HEADER_VALUE));
    let name = ObjectBuilder::new().schema_type(Type::String).pattern(Some(HEADER_NAME)).min_length(Some(1));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
        .property_names(Some(name))
        .max_properties(Some(MAX_HEADERS))
        .description(Some("Sent with each probe: at most 32, values without line breaks."))
        .build()
}
