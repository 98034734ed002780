//! Runs one probe of one target and reports its outcome.

pub mod http;
pub mod ssh;
pub mod tcp;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::{Check, Target};

use self::ssh::credentials::Unsealer;
use self::ssh::{SshChecker, SshSettings};

/// What one probe found, before it becomes a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    pub error: Option<String>,
    /// SSH only: the server's host key fingerprint (`SHA256:…`) when the handshake got that far, so
    /// a key pinned on first use can be persisted.
    pub observed_host_key: Option<String>,
}

impl Outcome {
    pub fn failed(latency_ms: f64, error: impl Into<String>) -> Self {
        Self { success: false, status_code: None, latency_ms, error: Some(error.into()), observed_host_key: None }
    }
}

/// Every kind of check, behind one call.
#[derive(Clone)]
pub struct Checker {
    http: http::HttpChecker,
    tcp: tcp::TcpChecker,
    ssh: SshChecker,
}

impl Checker {
    /// SSH credentials are opened with the key ring in `keys_dir`, created there on first start.
    pub fn new(policy: Arc<AddressPolicy>, keys_dir: &Path) -> anyhow::Result<Self> {
        let unsealer = Arc::new(Unsealer::open_dir(keys_dir)?);
        Ok(Self {
            http: http::HttpChecker::new(policy.clone())?,
            tcp: tcp::TcpChecker::new(policy.clone()),
            ssh: SshChecker::new(policy, unsealer, SshSettings::default()),
        })
    }

    pub async fn check(&self, target: &Target) -> Outcome {
        match &target.spec.check {
            Check::Http(check) => self.http.check(check, target.spec.timeout_s).await,
            Check::Ssh(check) => self.ssh.check(target.id, check, target.spec.timeout_s).await,
            Check::Tcp(check) => self.tcp.check(check, target.spec.timeout_s).await,
        }
    }
}

/// Milliseconds, to the microsecond: finer digits are noise.
pub(crate) fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}
