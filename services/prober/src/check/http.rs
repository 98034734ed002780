//! The HTTP check: one request, judged by status, optional body content and latency.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::{HttpCheck, HttpMethod};
use healthmon_runtime::address_policy::check_ip_literal_host;
use healthmon_runtime::policy_client::{PolicyRefused, PolicyResolver, find_in_chain, root_cause};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect::Policy;

use super::{Outcome, elapsed_ms};

/// At most this much of a body is read when looking for `body_contains`.
const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_REDIRECTS: usize = 5;
/// A connect that takes longer than this fails with its own reason, even under a longer timeout_s.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct HttpChecker {
    /// No idle connections kept: each probe opens a fresh one, like a Kubernetes probe, so a
    /// server that stopped accepting is noticed.
    fresh: reqwest::Client,
    /// For targets that opt into `keepalive`.
    pooled: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl HttpChecker {
    /// Every connection the checker opens, redirects included, goes only where `policy` allows:
    /// names through [`PolicyResolver`], IP literals through the pre-send check and
    /// [`redirect_policy`].
    pub fn new(policy: Arc<AddressPolicy>) -> anyhow::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(redirect_policy(policy.clone()))
                .dns_resolver(Arc::new(PolicyResolver::new(policy.clone())))
                // Through a proxy the policy would judge the proxy's address, not the target's.
                .no_proxy()
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("healthmon/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Self {
            fresh: builder().pool_max_idle_per_host(0).build().context("building the HTTP client")?,
            pooled: builder().pool_idle_timeout(Duration::from_secs(90)).build().context("building the HTTP client")?,
            policy,
        })
    }

    pub async fn check(&self, check: &HttpCheck, timeout_s: u32) -> Outcome {
        let timeout = Duration::from_secs(u64::from(timeout_s));
        let started = Instant::now();
        let result = tokio::time::timeout(timeout, self.probe(check, started)).await;
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(_) => Outcome::failed(elapsed_ms(started), format!("timeout after {timeout_s} s")),
        };
        if outcome.success && outcome.latency_ms >= timeout.as_secs_f64() * 1000.0 {
            return Outcome { success: false, error: Some(format!("timeout after {timeout_s} s")), ..outcome };
        }
        outcome
    }

    async fn probe(&self, check: &HttpCheck, started: Instant) -> Outcome {
        let client = if check.keepalive { &self.pooled } else { &self.fresh };
        let method = match check.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Head => reqwest::Method::HEAD,
        };
        let url = match Url::parse(&check.url) {
            Ok(url) => url,
            Err(error) => return Outcome::failed(elapsed_ms(started), format!("invalid URL: {error}")),
        };
        if let Err(refusal) = check_ip_literal_host(&self.policy, &url) {
            return Outcome::failed(elapsed_ms(started), PolicyRefused::from(refusal).to_string());
        }
        let request = client.request(method, url).headers(header_map(check));
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Outcome::failed(elapsed_ms(started), describe(&error)),
        };
        let code = response.status().as_u16();
        let mut latency_ms = elapsed_ms(started);
        if !check.expected_status.contains(code) {
            return Outcome {
                success: false,
                status_code: Some(code),
                latency_ms,
                error: Some(format!("HTTP {code} (expected {})", check.expected_status)),
                observed_host_key: None,
            };
        }
        if let Some(needle) = &check.body_contains {
            let found = match body_contains(&mut response, needle.as_bytes()).await {
                Ok(found) => found,
                Err(error) => return Outcome::failed(elapsed_ms(started), describe(&error)),
            };
            latency_ms = elapsed_ms(started);
            if !found {
                let error =
                    format!("body does not contain the expected text (first {} KiB read)", MAX_BODY_BYTES / 1024);
                return Outcome {
                    success: false,
                    status_code: Some(code),
                    latency_ms,
                    error: Some(error),
                    observed_host_key: None,
                };
            }
        }
        Outcome { success: true, status_code: Some(code), latency_ms, error: None, observed_host_key: None }
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects and none to a refused IP literal; a hop to a name
/// is judged when [`PolicyResolver`] resolves it.
fn redirect_policy(policy: Arc<AddressPolicy>) -> Policy {
    Policy::custom(move |attempt| {
        // `previous` starts with the first URL, so it holds one more URL than redirects followed.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(TooManyRedirects);
        }
        match check_ip_literal_host(&policy, attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refusal) => {
                // Only the origin: a redirect's path or query may carry secrets.
                let hop = attempt.url().origin().ascii_serialization();
                attempt.error(PolicyRefused(format!("{refusal} (redirect to {hop})")))
            }
        }
    })
}

#[derive(Debug)]
struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many redirects (more than {MAX_REDIRECTS})")
    }
}

impl std::error::Error for TooManyRedirects {}

fn header_map(check: &HttpCheck) -> HeaderMap {
    // Names and values were validated when the target was written.
    check
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?))
        })
        .collect()
}

/// Reads at most [`MAX_BODY_BYTES`], stopping as soon as the needle shows up.
async fn body_contains(response: &mut reqwest::Response, needle: &[u8]) -> Result<bool, reqwest::Error> {
    let mut seen: Vec<u8> = Vec::new();
    while seen.len() < MAX_BODY_BYTES {
        let Some(chunk) = response.chunk().await? else { break };
        let room = MAX_BODY_BYTES - seen.len();
        seen.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if seen.windows(needle.len()).any(|window| window == needle) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A short reason without the URL (reqwest includes it; the target already names it).
fn describe(error: &reqwest::Error) -> String {
    // A refusal sits deep in the chain (under "dns error" or "error following redirect") and is
    // the one reason that matters when present.
    if let Some(refused) = find_in_chain::<PolicyRefused>(error) {
        return refused.to_string();
    }
    let root = root_cause(error);
    if error.is_redirect() {
        format!("too many redirects (more than {MAX_REDIRECTS})")
    } else if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        format!("connection failed: {root}")
    } else {
        format!("request failed: {root}")
    }
}
