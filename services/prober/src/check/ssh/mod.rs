//! The SSH check: connect, verify the host key, authenticate and run one command (by default the
//! free-disk check), all within the target's timeout, on the blocking pool but never more than a
//! fixed number at once.

pub mod command;
pub mod credentials;
pub mod free_disk;
pub mod host_key;
mod pool;
pub mod powershell;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use healthmon_domain::SshCheck;
use healthmon_domain::address_policy::AddressPolicy;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use self::credentials::Unsealer;
use self::host_key::TrustedOnFirstUse;
use self::pool::SessionPool;
use self::session::{Budget, Opener, Phase};
use super::{Outcome, elapsed_ms, tcp};

/// How long past its deadline a probe may take to report its own, more specific, timeout.
const BACKSTOP_GRACE: Duration = Duration::from_secs(2);

/// How the SSH checker uses the machine.
#[derive(Debug, Clone, Copy)]
pub struct SshSettings {
    /// SSH probes running at once; more wait. Each holds a blocking-pool thread, so this keeps slow
    /// SSH hosts from starving HTTP probes and everything else that needs the blocking pool.
    pub max_concurrent: usize,
    /// Keep one authenticated session per target between probes.
    pub reuse_sessions: bool,
}

impl Default for SshSettings {
    fn default() -> Self {
        Self { max_concurrent: 64, reuse_sessions: true }
    }
}

#[derive(Clone)]
pub struct SshChecker {
    policy: Arc<AddressPolicy>,
    unsealer: Arc<Unsealer>,
    trust: Arc<TrustedOnFirstUse>,
    sessions: Arc<SessionPool>,
    permits: Arc<Semaphore>,
    settings: SshSettings,
}

/// One probe's inputs, moved onto a blocking thread.
struct BlockingProbe {
    target_id: Uuid,
    check: SshCheck,
    addresses: Vec<SocketAddr>,
    budget: Budget,
    checker: SshChecker,
    /// Held until the blocking work ends, even when the caller has stopped waiting for it.
    _permit: OwnedSemaphorePermit,
}

impl SshChecker {
    pub fn new(policy: Arc<AddressPolicy>, unsealer: Arc<Unsealer>, settings: SshSettings) -> Self {
        Self {
            policy,
            unsealer,
            trust: Arc::new(TrustedOnFirstUse::default()),
            sessions: Arc::new(SessionPool::default()),
            permits: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
            settings,
        }
    }

    pub async fn check(&self, target_id: Uuid, check: &SshCheck, timeout_s: u32) -> Outcome {
        let started = Instant::now();
        let budget = Budget::new(started, timeout_s);
        // The blocking side keeps to the same deadline and names the phase it was in; this is only
        // a backstop should it overrun, and then it is left to finish alone.
        let backstop = Duration::from_secs(u64::from(timeout_s)) + BACKSTOP_GRACE;
        let outcome = match tokio::time::timeout(backstop, self.probe(target_id, check, budget)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::failed(elapsed_ms(started), format!("timeout after {timeout_s} s")),
        };
        if outcome.success && outcome.latency_ms >= f64::from(timeout_s) * 1000.0 {
            return Outcome { success: false, error: Some(format!("timeout after {timeout_s} s")), ..outcome };
        }
        outcome
    }

    async fn probe(&self, target_id: Uuid, check: &SshCheck, budget: Budget) -> Outcome {
        let waited = Instant::now();
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return Outcome::failed(0.0, "the SSH checker is shutting down");
        };
        if waited.elapsed() > Duration::from_secs(1) {
            tracing::debug!(waited_ms = elapsed_ms(waited), "waited for a free SSH probe slot");
        }
        // Latency counts from here: waiting for a slot is this prober's congestion, not the target's.
        let started = Instant::now();
        let addresses = match tcp::resolve(&self.policy, &check.host, check.port).await {
            Ok(addresses) => addresses,
            Err(reason) => return Outcome::failed(elapsed_ms(started), reason),
        };
        let job = BlockingProbe {
            target_id,
            check: check.clone(),
            addresses,
            budget,
            checker: self.clone(),
            _permit: permit,
        };
        match tokio::task::spawn_blocking(move || job.run(started)).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(error = %error, "an SSH probe panicked");
                Outcome::failed(elapsed_ms(started), "the SSH probe failed unexpectedly")
            }
        }
    }
}

impl BlockingProbe {
    fn run(self, started: Instant) -> Outcome {
        let checker = &self.checker;
        let opener = Opener {
            target_id: self.target_id,
            check: &self.check,
            budget: self.budget,
            unsealer: &checker.unsealer,
            trust: &checker.trust,
        };
        let reuse = checker.settings.reuse_sessions;
        let mut kept = if reuse { checker.sessions.take(self.target_id, &self.check) } else { None };
        let line = command::command_line(&self.check);
        loop {
            let reused = kept.is_some();
            let connection = match kept.take() {
                Some(connection) => connection,
                None => match opener.open(&self.addresses) {
                    Ok(connection) => connection,
                    Err(failure) => {
                        let outcome = Outcome::failed(elapsed_ms(started), failure.reason);
                        return Outcome { observed_host_key: failure.host_key, ..outcome };
                    }
                },
            };
            // A kept session was verified when opened, but the pin may have been set since.
            if let Err(reason) = checker.trust.verify(self.target_id, &self.check, &connection.host_key) {
                return self.finish(started, connection.host_key, Err(reason));
            }
            if let Err(reason) = self.budget.arm(&connection.session, Phase::Command) {
                return self.finish(started, connection.host_key, Err(reason));
            }
            match command::run(&connection, &line) {
                Ok(output) => {
                    let verdict = command::judge(&self.check, &output);
                    let host_key = connection.host_key.clone();
                    if reuse {
                        checker.sessions.put(self.target_id, &self.check, connection);
                    }
                    return self.finish(started, host_key, verdict);
                }
                // A kept session the server has since dropped: reconnect once, within the budget.
                Err(error) if reused && !session::is_timeout(&error) && self.budget.remaining().is_some() => {
                    tracing::debug!(error = %error, "a kept SSH session failed; reconnecting");
                }
                Err(error) => {
                    let reason = self.budget.describe(Phase::Command, &error, "running the command failed");
                    return self.finish(started, connection.host_key, Err(reason));
                }
            }
        }
    }

    fn finish(&self, started: Instant, host_key: String, verdict: Result<(), String>) -> Outcome {
        Outcome {
            success: verdict.is_ok(),
            status_code: None,
            latency_ms: elapsed_ms(started),
            error: verdict.err(),
            observed_host_key: Some(host_key),
        }
    }
}
