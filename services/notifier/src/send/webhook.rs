//! The generic webhook: the client's method, URL and headers, the default JSON body or a rendered
//! template, and Standard Webhooks signing when a secret is set.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use healthmon_domain::Credential;
use healthmon_domain::alerting::context::{NotificationContext, render_template};
use healthmon_domain::alerting::notifier::{WebhookDestination, WebhookMethod};
use hmac::{Hmac, Mac};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::http::HttpMessage;
use super::{Failure, Opened};

/// Builds the request; `open` opens the sealed header values and secret.
pub(crate) fn message(
    webhook: &WebhookDestination,
    context: &NotificationContext,
    delivery_id: Uuid,
    open: impl Fn(&Credential) -> Result<Opened, Failure>,
) -> Result<HttpMessage, Failure> {
    let method = match webhook.method {
        WebhookMethod::Get => Method::GET,
        WebhookMethod::Post => Method::POST,
        WebhookMethod::Put => Method::PUT,
        WebhookMethod::Patch => Method::PATCH,
    };
    let (body, content_type) = match &webhook.body {
        None => (context.default_body(delivery_id).to_string(), "application/json"),
        Some(template) => {
            let rendered = render_template(template, context, delivery_id)
                .map_err(|error| Failure::new(format!("body template: {error}")))?;
            let is_json = serde_json::from_str::<serde_json::Value>(&rendered).is_ok();
            (rendered, if is_json { "application/json" } else { "text/plain; charset=utf-8" })
        }
    };
    let mut message = HttpMessage::new(method, Zeroizing::new(webhook.url.clone()), body.into_bytes(), content_type);
    for (name, value) in &webhook.headers {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Failure::new(format!("header name {name:?} is not valid in HTTP")))?;
        // The default body is always JSON; a template's own Content-Type wins over the guess.
        if header_name == CONTENT_TYPE && webhook.body.is_none() {
            continue;
        }
        message.secret_header(header_name, open(value)?)?;
    }
    if let Some(secret) = &webhook.secret {
        let key = signing_key(&open(secret)?)?;
        message.signing_key = Some(key);
    }
    Ok(message)
}

/// The Standard Webhooks key: the base64-decoded part after `whsec_`, else the secret's bytes.
fn signing_key(secret: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD
            .decode(encoded)
            .map(Zeroizing::new)
            .map_err(|_| Failure::new("the signing secret starts with whsec_ but is not base64 after it")),
        None => Ok(Zeroizing::new(secret.as_bytes().to_vec())),
    }
}

/// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
pub(crate) fn signature(key: &[u8], webhook_id: &str, timestamp: i64, body: &[u8]) -> Result<HeaderValue, Failure> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| Failure::new("the signing secret cannot be used as an HMAC key"))?;
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let encoded = STANDARD.encode(mac.finalize().into_bytes());
    HeaderValue::from_str(&format!("v1,{encoded}")).map_err(|_| Failure::new("the signature is not a valid header"))
}
