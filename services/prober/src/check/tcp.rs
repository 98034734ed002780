//! The TCP check: a connection to host:port within the timeout; the latency is the connect time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use healthmon_domain::TcpCheck;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_runtime::address_policy::{ResolveError, resolve_vetted};
use tokio::net::TcpStream;

use super::{Outcome, elapsed_ms};

#[derive(Clone)]
pub struct TcpChecker {
    policy: Arc<AddressPolicy>,
}

impl TcpChecker {
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }

    pub async fn check(&self, check: &TcpCheck, timeout_s: u32) -> Outcome {
        let started = Instant::now();
        let timeout = Duration::from_secs(u64::from(timeout_s));
        let timed_out = || Outcome::failed(elapsed_ms(started), format!("timeout after {timeout_s} s"));
        let Ok(result) = tokio::time::timeout(timeout, self.connect(check)).await else {
            return timed_out();
        };
        let latency_ms = elapsed_ms(started);
        match result {
            Ok(()) if latency_ms >= timeout.as_secs_f64() * 1000.0 => timed_out(),
            Ok(()) => Outcome { success: true, status_code: None, latency_ms, error: None, observed_host_key: None },
            Err(reason) => Outcome::failed(latency_ms, reason),
        }
    }

    /// Connects to each allowed address in turn until one accepts; the connection is closed at once.
    async fn connect(&self, check: &TcpCheck) -> Result<(), String> {
        let mut last_error = "no address to connect to".to_owned();
        for address in resolve(&self.policy, &check.host, check.port).await? {
            match TcpStream::connect(address).await {
                Ok(_connected) => return Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last_error = "connection refused".to_owned();
                }
                Err(error) => last_error = format!("connection failed: {error}"),
            }
        }
        Err(last_error)
    }
}

/// The addresses of `host` the target policy lets a probe reach, or the reason there are none.
pub(crate) async fn resolve(policy: &AddressPolicy, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    resolve_vetted(policy, host, port).await.map_err(|error| match error {
        refused @ ResolveError::Refused { .. } => format!("refused by target policy: {refused}"),
        unresolvable @ ResolveError::Unresolvable { .. } => unresolvable.to_string(),
    })
}
