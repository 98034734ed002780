//! Turns client JSON into a valid [`NotifierSpec`], every bad or unknown field named at once; for
//! an edit, the write-only values the client left out come from the stored notifier.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use super::{
    ChatDestination, Destination, EmailDestination, NotifierKind, NotifierSpec, NtfyDestination, PAGERDUTY_EVENTS_URL,
    PagerDutyDestination, SmtpTls, WebhookDestination, WebhookMethod,
};
use crate::Credential;
use crate::alerting::fields::Fields;

/// Fields a response shows that a client cannot set; echoing them back is harmless.
const READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "has_secret",
    "has_webhook_url",
    "has_routing_key",
    "has_password",
    "has_token",
];
const COMMON: &[&str] = &["name", "kind"];
const WEBHOOK_FIELDS: &[&str] = &["url", "method", "headers", "body", "secret"];
const CHAT_FIELDS: &[&str] = &["webhook_url"];
const PAGERDUTY_FIELDS: &[&str] = &["routing_key", "url"];
const EMAIL_FIELDS: &[&str] = &["smtp_host", "smtp_port", "tls", "username", "password", "from", "to"];
const NTFY_FIELDS: &[&str] = &["url", "token"];
const MAX_URL_CHARS: usize = 2048;
const MAX_HEADERS: usize = 32;
const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;
/// Headers every request carries already, which a notifier may not replace.
const RESERVED_HEADERS: &[&str] =
    &["host", "content-length", "transfer-encoding", "webhook-id", "webhook-timestamp", "webhook-signature"];
const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_SECRET_BYTES: usize = 1024;
const MAX_ROUTING_KEY_CHARS: usize = 64;
const MAX_HOST_CHARS: usize = 253;
const MAX_USERNAME_CHARS: usize = 256;
const MAX_ADDRESS_CHARS: usize = 254;
const MAX_RECIPIENTS: usize = 50;

fn supported_kinds() -> String {
    NotifierKind::ALL.iter().map(|kind| kind.as_str()).collect::<Vec<_>>().join(", ")
}

/// Parses `value`; with `stored` (an edit of that notifier), a write-only value the document
/// leaves out is the stored one, sealed. Whether it may stay is [`NotifierSpec::credentials_refused_in`]'s
/// to say.
pub(super) fn notifier(value: &Value, stored: Option<&NotifierSpec>) -> Result<NotifierSpec, crate::ValidationErrors> {
    let mut fields = Fields::of(value)?;
    let name = fields.name();
    let kind_text = fields.required_str("kind");
    let kind = kind_text.as_deref().and_then(|text| {
        let kind = NotifierKind::ALL.into_iter().find(|kind| kind.as_str() == text);
        if kind.is_none() {
            fields.errors.add("kind", format!("\"{text}\" is not a supported kind ({})", supported_kinds()));
        }
        kind
    });
    let kind_fields: &[&str] = match kind {
        Some(NotifierKind::Webhook) => WEBHOOK_FIELDS,
        Some(NotifierKind::Slack | NotifierKind::Discord | NotifierKind::Teams) => CHAT_FIELDS,
        Some(NotifierKind::Pagerduty) => PAGERDUTY_FIELDS,
        Some(NotifierKind::Email) => EMAIL_FIELDS,
        Some(NotifierKind::Ntfy) => NTFY_FIELDS,
        // Without a kind we cannot tell which fields belong; the kind's error says enough.
        None => &[],
    };
    if kind.is_some() {
        fields.reject_unknown(&[COMMON, READ_ONLY, kind_fields]);
    }
    let stored = stored.map(|stored| &stored.destination);
    let mut reader = Reader { fields, stored };
    let destination = kind.and_then(|kind| reader.destination(kind));
    let spec = match (name, destination) {
        (Some(name), Some(destination)) => Some(NotifierSpec { name, destination }),
        _ => None,
    };
    reader.fields.finish(spec)
}

struct Reader<'a> {
    fields: Fields<'a>,
    /// The stored destination an edit keeps write-only values from.
    stored: Option<&'a Destination>,
}

impl Reader<'_> {
    fn destination(&mut self, kind: NotifierKind) -> Option<Destination> {
        let stored = self.stored;
        match kind {
            NotifierKind::Webhook => {
                let stored = match stored {
                    Some(Destination::Webhook(webhook)) => Some(webhook),
                    _ => None,
                };
                self.webhook(stored).map(Destination::Webhook)
            }
            NotifierKind::Slack | NotifierKind::Discord | NotifierKind::Teams => {
                let kept = match stored {
                    Some(Destination::Slack(chat) | Destination::Discord(chat) | Destination::Teams(chat))
                        if stored.map(Destination::kind) == Some(kind) =>
                    {
                        Some(&chat.webhook_url)
                    }
                    _ => None,
                };
                let webhook_url = self.required_secret("webhook_url", kept, |fields, text| {
                    fields.check_url("webhook_url", text, false);
                })?;
                let chat = ChatDestination { webhook_url };
                Some(match kind {
                    NotifierKind::Slack => Destination::Slack(chat),
                    NotifierKind::Discord => Destination::Discord(chat),
                    _ => Destination::Teams(chat),
                })
            }
            NotifierKind::Pagerduty => {
                let kept = match stored {
                    Some(Destination::Pagerduty(pagerduty)) => Some(&pagerduty.routing_key),
                    _ => None,
                };
                let routing_key = self.required_secret("routing_key", kept, |fields, text| {
                    if text.chars().count() > MAX_ROUTING_KEY_CHARS || text.chars().any(char::is_control) {
                        fields.errors.add("routing_key", format!("must be 1 to {MAX_ROUTING_KEY_CHARS} characters"));
                    }
                });
                let url = match self.fields.optional_str("url") {
                    None => Some(PAGERDUTY_EVENTS_URL.to_owned()),
                    Some(text) => self.fields.check_url("url", &text, true),
                };
                Some(Destination::Pagerduty(PagerDutyDestination { routing_key: routing_key?, url: url? }))
            }
            NotifierKind::Email => self.email().map(Destination::Email),
            NotifierKind::Ntfy => {
                let kept = match stored {
                    Some(Destination::Ntfy(ntfy)) => ntfy.token.as_ref(),
                    _ => None,
                };
                let url = self.fields.required_str("url").and_then(|text| self.fields.check_url("url", &text, true));
                let token = self.optional_secret("token", kept);
                Some(Destination::Ntfy(NtfyDestination { url: url?, token }))
            }
        }
    }

    fn webhook(&mut self, stored: Option<&WebhookDestination>) -> Option<WebhookDestination> {
        let url = self.fields.required_str("url").and_then(|text| self.fields.check_url("url", &text, true));
        let method = match self.fields.optional_str("method").map(|text| text.to_ascii_uppercase()).as_deref() {
            None | Some("POST") => WebhookMethod::Post,
            Some("GET") => WebhookMethod::Get,
            Some("PUT") => WebhookMethod::Put,
            Some("PATCH") => WebhookMethod::Patch,
            Some(_) => {
                self.fields.errors.add("method", "must be POST, GET, PUT or PATCH");
                WebhookMethod::Post
            }
        };
        let headers = self.headers(stored.map(|webhook| &webhook.headers));
        let body = self.fields.optional_str("body");
        if let Some(template) = &body {
            if template.len() > MAX_BODY_BYTES {
                self.fields.errors.add("body", format!("must be at most {MAX_BODY_BYTES} bytes"));
            } else if let Err(problem) = crate::alerting::context::check_template(template) {
                self.fields.errors.add("body", format!("is not a valid template: {problem}"));
            }
        }
        let secret = self.optional_secret("secret", stored.and_then(|webhook| webhook.secret.as_ref()));
        if let Some(Credential::Plain(text)) = &secret
            && let Some(encoded) = text.strip_prefix("whsec_")
            && base64::engine::general_purpose::STANDARD.decode(encoded).is_err()
        {
            self.fields.errors.add("secret", "after whsec_ must come base64, as Standard Webhooks secrets have");
        }
        Some(WebhookDestination { url: url?, method, headers, body, secret })
    }

    /// An object of names to values sets the headers; a list of names (what responses show) or no
    /// `headers` at all keeps the stored ones (only those named, for a list).
    fn headers(&mut self, stored: Option<&BTreeMap<String, Credential>>) -> BTreeMap<String, Credential> {
        let mut headers = BTreeMap::new();
        let kept = |name: &str| stored.and_then(|stored| stored.get(name)).cloned();
        match self.fields.object.get("headers") {
            Some(Value::Null) => {}
            None => return stored.cloned().unwrap_or_default(),
            Some(Value::Array(names)) if stored.is_none() => {
                // Nothing stored to keep here; keep_stored_credentials keeps them later.
                for (index, _) in names.iter().enumerate().filter(|(_, name)| !name.is_string()) {
                    self.fields.errors.add(format!("headers.{index}"), "must be a header name");
                }
            }
            Some(Value::Array(names)) => {
                for (index, name) in names.iter().enumerate() {
                    match name.as_str().and_then(|name| Some((name, kept(name)?))) {
                        Some((name, value)) => {
                            headers.insert(name.to_owned(), value);
                        }
                        None => self.fields.errors.add(
                            format!("headers.{index}"),
                            "names no stored header: give headers as an object of names to values",
                        ),
                    }
                }
            }
            Some(Value::Object(given)) => {
                if given.len() > MAX_HEADERS {
                    self.fields.errors.add("headers", format!("at most {MAX_HEADERS} headers"));
                }
                for (name, value) in given {
                    let field = format!("headers.{name}");
                    let valid_name = !name.is_empty() && name.bytes().all(is_header_token_byte);
                    match value.as_str() {
                        _ if !valid_name => self.fields.errors.add(field, "is not a valid header name"),
                        _ if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) => {
                            self.fields.errors.add(field, "is set by healthmon itself")
                        }
                        Some(text) if text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) => {
                            self.fields.errors.add(field, "must not contain line breaks")
                        }
                        Some(text) if text.len() > MAX_HEADER_VALUE_BYTES => {
                            self.fields.errors.add(field, format!("must be at most {MAX_HEADER_VALUE_BYTES} bytes"))
                        }
                        Some(text) => {
                            headers.insert(name.clone(), Credential::Plain(text.to_owned()));
                        }
                        None => self.fields.errors.add(field, "must be a string"),
                    }
                }
            }
            Some(_) => self.fields.errors.add("headers", "must be an object of header names to string values"),
        }
        headers
    }

    fn email(&mut self) -> Option<EmailDestination> {
        let kept_password = match self.stored {
            Some(Destination::Email(email)) => email.password.as_ref(),
            _ => None,
        };
        let smtp_host = self.fields.required_str("smtp_host").and_then(|host| {
            let checked = checked_host(&host);
            if checked.is_none() {
                self.fields.errors.add("smtp_host", "must be a host name or an IP address (no scheme, port or path)");
            }
            checked
        });
        let tls = match self.fields.optional_str("tls").as_deref() {
            None | Some("starttls") => SmtpTls::Starttls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(_) => {
                self.fields.errors.add("tls", "must be none, starttls or tls");
                SmtpTls::Starttls
            }
        };
        let default_port: u16 = match tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        };
        let smtp_port =
            self.fields.number("smtp_port", u32::from(default_port), |n| (1..=65535).contains(&n), "from 1 to 65535");
        let username = self.fields.optional_str("username");
        if username.as_ref().is_some_and(|name| {
            name.is_empty() || name.chars().count() > MAX_USERNAME_CHARS || name.chars().any(char::is_control)
        }) {
            self.fields.errors.add("username", format!("must be 1 to {MAX_USERNAME_CHARS} printable characters"));
        }
        let password = self.optional_secret("password", kept_password);
        let from = self.fields.required_str("from").and_then(|address| {
            let valid = is_email_address(&address);
            if !valid {
                self.fields.errors.add("from", "must be an e-mail address (name@example.com)");
            }
            valid.then(|| address.trim().to_owned())
        });
        let to = self.recipients();
        Some(EmailDestination {
            smtp_host: smtp_host?,
            smtp_port: u16::try_from(smtp_port).unwrap_or(default_port),
            tls,
            username,
            password,
            from: from?,
            to: to?,
        })
    }

    fn recipients(&mut self) -> Option<Vec<String>> {
        let Some(value) = self.fields.object.get("to").filter(|value| !value.is_null()) else {
            self.fields.errors.add("to", "is required: a list of e-mail addresses");
            return None;
        };
        let Some(items) = value.as_array().filter(|items| !items.is_empty()) else {
            self.fields.errors.add("to", "must be a non-empty list of e-mail addresses");
            return None;
        };
        if items.len() > MAX_RECIPIENTS {
            self.fields.errors.add("to", format!("at most {MAX_RECIPIENTS} addresses"));
        }
        let mut addresses = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str().filter(|address| is_email_address(address)) {
                Some(address) => addresses.push(address.trim().to_owned()),
                None => self.fields.errors.add(format!("to.{index}"), "must be an e-mail address (name@example.com)"),
            }
        }
        Some(addresses)
    }

    /// A write-only value the kind needs: given anew (checked by `check`), or kept from `kept`.
    fn required_secret(
        &mut self,
        field: &str,
        kept: Option<&Credential>,
        check: impl FnOnce(&mut Fields<'_>, &str),
    ) -> Option<Credential> {
        match self.fields.object.get(field) {
            None | Some(Value::Null) if kept.is_some() => kept.cloned(),
            _ => {
                let text = self.fields.required_str(field)?;
                if text.is_empty() || text.len() > MAX_SECRET_BYTES {
                    self.fields.errors.add(field, format!("must be 1 to {MAX_SECRET_BYTES} bytes"));
                    return None;
                }
                check(&mut self.fields, &text);
                Some(Credential::Plain(text))
            }
        }
    }

    /// An optional write-only value: given anew, removed with `null`, or kept when left out.
    fn optional_secret(&mut self, field: &str, kept: Option<&Credential>) -> Option<Credential> {
        match self.fields.object.get(field) {
            None => kept.cloned(),
            Some(Value::Null) => None,
            Some(Value::String(text)) if !text.is_empty() && text.len() <= MAX_SECRET_BYTES => {
                Some(Credential::Plain(text.clone()))
            }
            Some(Value::String(_)) => {
                self.fields.errors.add(field, format!("must be 1 to {MAX_SECRET_BYTES} bytes"));
                None
            }
            Some(_) => {
                self.fields.errors.add(field, "must be a string");
                None
            }
        }
    }
}

impl Fields<'_> {
    /// An http(s) URL naming a host, at most 2048 characters; `public` ones (shown in responses)
    /// may not carry a user name or password, which belong in write-only fields.
    fn check_url(&mut self, field: &str, text: &str, public: bool) -> Option<String> {
        let problem = match url::Url::parse(text.trim()) {
            Err(error) => format!("is not a valid URL: {error}"),
            Ok(url) if !matches!(url.scheme(), "http" | "https") => "must use http or https".to_owned(),
            Ok(url) if url.host_str().is_none_or(str::is_empty) => "must name a host".to_owned(),
            Ok(_) if text.len() > MAX_URL_CHARS => format!("must be at most {MAX_URL_CHARS} characters"),
            Ok(url) if public && (!url.username().is_empty() || url.password().is_some()) => {
                "must not carry credentials; use the write-only fields instead".to_owned()
            }
            Ok(url) => return Some(url.to_string()),
        };
        self.errors.add(field, problem);
        None
    }
}

fn checked_host(host: &str) -> Option<String> {
    let trimmed = host.trim().trim_start_matches('[').trim_end_matches(']');
    let is_ip = trimmed.parse::<std::net::IpAddr>().is_ok();
    let is_name = !trimmed.is_empty()
        && trimmed.len() <= MAX_HOST_CHARS
        && trimmed.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    (is_ip || is_name).then(|| trimmed.to_owned())
}

/// A bare address, `local@domain`: what an SMTP envelope takes (display names are not accepted).
fn is_email_address(text: &str) -> bool {
    let text = text.trim();
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    text.len() <= MAX_ADDRESS_CHARS
        && !local.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"@".contains(c))
        && checked_host(domain).is_some_and(|host| host.contains('.') || host == "localhost")
}

fn is_header_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}
