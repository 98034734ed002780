//! The HTTP side of sending: one client bound to the address policy, the delivery headers every
//! request carries, and errors that never show the URL (chat and ntfy URLs carry tokens).

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_runtime::address_policy::check_ip_literal_host;
use healthmon_runtime::policy_client::{PolicyRefused, PolicyResolver, find_in_chain, root_cause};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use uuid::Uuid;

use zeroize::Zeroizing;

use super::{Failure, Opened, SEND_TIMEOUT, redact, webhook};

/// At most this much of an error answer's body is read, and this many characters of it kept.
const MAX_ERROR_BODY_BYTES: usize = 4096;
const MAX_ERROR_BODY_CHARS: usize = 200;

/// One request as a kind built it. `url` is an [`Opened`] value because for chat kinds it is the
/// secret itself.
pub(crate) struct HttpMessage {
    pub method: Method,
    pub url: Opened,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Values to scrub from any error text (header values, tokens), besides the URL.
    pub secrets: Vec<Opened>,
    /// Standard Webhooks signing key: when set, the request carries `webhook-signature`.
    pub signing_key: Option<Zeroizing<Vec<u8>>>,
}

impl HttpMessage {
    pub fn new(method: Method, url: Opened, body: Vec<u8>, content_type: &'static str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Self { method, url, headers, body, secrets: Vec::new(), signing_key: None }
    }

    /// A JSON POST, as every chat kind and PagerDuty send.
    pub fn json_post(url: Opened, body: &serde_json::Value) -> Self {
        Self::new(Method::POST, url, body.to_string().into_bytes(), "application/json")
    }

    /// Adds a header whose value is a secret: marked sensitive and scrubbed from errors.
    pub fn secret_header(&mut self, name: HeaderName, value: Opened) -> Result<(), Failure> {
        let mut header = HeaderValue::from_str(&value)
            .map_err(|_| Failure::new(format!("header {name} has a value that is not valid in HTTP")))?;
        header.set_sensitive(true);
        self.headers.insert(name, header);
        // A receiver that refuses the value often quotes only its token (`Bearer <token>`).
        let pieces: Vec<Opened> = value
            .split_whitespace()
            .filter(|piece| piece.len() >= 8)
            .map(|piece| Opened::new(piece.to_owned()))
            .collect();
        self.secrets.push(value);
        self.secrets.extend(pieces);
        Ok(())
    }
}

pub(crate) struct HttpTransport {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl HttpTransport {
    /// Every connection goes only where `policy` allows: names through [`PolicyResolver`], IP
    /// literals through the check before sending. No redirect is followed, for any kind: a chat URL
    /// is a secret, and a webhook's header values must not follow it to another host.
    pub fn new(policy: Arc<AddressPolicy>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PolicyResolver::new(policy.clone())))
            // Through a proxy the policy would judge the proxy's address, not the receiver's.
            .no_proxy()
            .timeout(SEND_TIMEOUT)
            .user_agent(concat!("healthmon/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the notifier's HTTP client")?;
        Ok(Self { client, policy })
    }

    /// Sends `message` with the delivery headers; a 2xx answer is its status code, anything else
    /// a [`Failure`] whose text holds none of the message's secrets.
    pub async fn send(&self, message: HttpMessage, delivery_id: Uuid, now: DateTime<Utc>) -> Result<u16, Failure> {
        let url_parts = url_secrets(&message.url);
        let mut secrets: Vec<&str> = message.secrets.iter().map(|secret| secret.as_str()).collect();
        secrets.extend(url_parts.iter().map(|part| part.as_str()));
        let scrub = |failure: Failure| Failure { message: redact(&failure.message, &secrets), ..failure };
        self.send_unscrubbed(&message, delivery_id, now, &secrets).await.map_err(scrub)
    }

    async fn send_unscrubbed(
        &self,
        message: &HttpMessage,
        delivery_id: Uuid,
        now: DateTime<Utc>,
        secrets: &[&str],
    ) -> Result<u16, Failure> {
        // The parser's errors name what is wrong, never the URL's text.
        let url = Url::parse(&message.url).map_err(|error| Failure::new(format!("invalid URL: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Failure::new("invalid URL: the scheme must be http or https"));
        }
        if let Err(refusal) = check_ip_literal_host(&self.policy, &url) {
            return Err(Failure::new(PolicyRefused(refusal.to_string()).to_string()));
        }
        let mut headers = message.headers.clone();
        headers.insert("webhook-id", header_value(&delivery_id.to_string())?);
        headers.insert("webhook-timestamp", header_value(&now.timestamp().to_string())?);
        if let Some(key) = &message.signing_key {
            let signature = webhook::signature(key, &delivery_id.to_string(), now.timestamp(), &message.body)?;
            headers.insert("webhook-signature", signature);
        }
        let request = self.client.request(message.method.clone(), url).headers(headers).body(message.body.clone());
        let mut response = request.send().await.map_err(|error| Failure::new(describe(error)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let excerpt = error_body_excerpt(&mut response, secrets).await;
        let mut text = format!("HTTP {}", status.as_u16());
        if !excerpt.is_empty() {
            text.push_str(": ");
            text.push_str(&excerpt);
        }
        Err(Failure { status_code: Some(status.as_u16()), message: text })
    }
}

/// The parts of a URL that may carry a token, longest first so a whole URL is scrubbed before its
/// pieces: a peer echoing a chat webhook's path back must not put the token into an error.
fn url_secrets(url: &str) -> Vec<Zeroizing<String>> {
    let mut parts = vec![Zeroizing::new(url.to_owned())];
    if let Ok(parsed) = Url::parse(url) {
        parts.push(Zeroizing::new(parsed.path().to_owned()));
        parts.extend(parsed.query().map(|query| Zeroizing::new(query.to_owned())));
        parts.extend(parsed.password().map(|password| Zeroizing::new(password.to_owned())));
        let segments = parsed.path_segments().into_iter().flatten().map(str::to_owned);
        let values = parsed.query_pairs().map(|(_, value)| value.into_owned());
        // Short pieces are words like "api" or "v2", not tokens, and scrubbing them would garble the text.
        parts.extend(segments.chain(values).filter(|piece| piece.len() >= 8).map(Zeroizing::new));
    }
    parts.sort_by_key(|part| std::cmp::Reverse(part.len()));
    parts
}

fn header_value(text: &str) -> Result<HeaderValue, Failure> {
    HeaderValue::from_str(text).map_err(|_| Failure::new("a delivery header is not valid in HTTP"))
}

/// The first [`MAX_ERROR_BODY_CHARS`] characters of an error answer, on one line, `secrets`
/// scrubbed first (also as JSON escapes them), so that neither the cut nor the joined whitespace can
/// leave part of one behind; empty when it cannot be read in time (the attempt's own timeout
/// bounds this).
async fn error_body_excerpt(response: &mut reqwest::Response, secrets: &[&str]) -> String {
    let mut seen: Vec<u8> = Vec::new();
    while seen.len() < MAX_ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => seen.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY_BYTES - seen.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    let escaped: Vec<Zeroizing<String>> =
        secrets.iter().map(|secret| Zeroizing::new(secret.replace('/', "\\/"))).collect();
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend(escaped.iter().map(|secret| secret.as_str()));
    let text = redact(&String::from_utf8_lossy(&seen), &all);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(MAX_ERROR_BODY_CHARS).collect()
}

/// A short reason without the URL: reqwest's own text would include it, tokens and all.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    if let Some(refused) = find_in_chain::<PolicyRefused>(&error) {
        return refused.to_string();
    }
    let root = root_cause(&error);
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        format!("connection failed: {root}")
    } else {
        format!("request failed: {root}")
    }
}
