//! Opens an authenticated SSH session within the probe's time budget: TCP connect, handshake, host
//! key check, then authentication, so no credential is ever sent to a server that is not trusted.

use std::fmt;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use healthmon_domain::SshCheck;
use ssh2::{ErrorCode, Session};
use uuid::Uuid;

use super::credentials::{Secret, Unsealer};
use super::host_key::{TrustedOnFirstUse, fingerprint};

/// `LIBSSH2_ERROR_TIMEOUT`.
pub const TIMEOUT: i32 = -9;
/// `LIBSSH2_ERROR_FILE`: the private key could not be parsed (or its passphrase is wrong).
const KEY_FILE: i32 = -16;

/// Which step of a probe was under way, for reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    Handshake,
    Auth,
    Command,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Handshake => "handshake",
            Phase::Auth => "authentication",
            Phase::Command => "command",
        })
    }
}

/// The time one probe has, shared by all its steps.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
    timeout_s: u32,
}

impl Budget {
    pub fn new(started: Instant, timeout_s: u32) -> Self {
        Self { deadline: started + Duration::from_secs(u64::from(timeout_s)), timeout_s }
    }

    /// What is left, or `None` once the deadline has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())
    }

    pub fn timed_out(&self, phase: Phase) -> String {
        format!("timeout after {} s in {phase}", self.timeout_s)
    }

    /// Bounds the session's next blocking calls by what is left of the budget.
    pub fn arm(&self, session: &Session, phase: Phase) -> Result<(), String> {
        let left = self.remaining().ok_or_else(|| self.timed_out(phase))?;
        // Zero would mean "no timeout" to libssh2.
        let millis = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).max(1);
        session.set_timeout(millis);
        Ok(())
    }

    /// A reason for `error` in `phase`: a timeout names the phase, anything else says what failed.
    pub fn describe(&self, phase: Phase, error: &ssh2::Error, what: &str) -> String {
        if is_timeout(error) || self.remaining().is_none() {
            self.timed_out(phase)
        } else {
            format!("{what}: {}", error.message())
        }
    }
}

pub fn is_timeout(error: &ssh2::Error) -> bool {
    error.code() == ErrorCode::Session(TIMEOUT)
}

/// An authenticated session to a trusted server.
pub struct Connection {
    pub session: Session,
    /// The server's host key fingerprint, `SHA256:…`.
    pub host_key: String,
    /// The session's socket, kept to cut the connection when the session can no longer be used.
    socket: TcpStream,
}

impl Connection {
    /// Cuts the connection, so that freeing the session afterwards does not wait on the server.
    pub fn shut_down(&self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

/// Why a connection could not be opened, with the host key when the handshake got that far.
pub struct Failure {
    pub reason: String,
    pub host_key: Option<String>,
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Self { reason, host_key: None }
    }
}

/// Everything opening a connection for one target needs.
pub struct Opener<'a> {
    pub target_id: Uuid,
    pub check: &'a SshCheck,
    pub budget: Budget,
    pub unsealer: &'a Unsealer,
    pub trust: &'a TrustedOnFirstUse,
}

impl Opener<'_> {
    pub fn open(&self, addresses: &[SocketAddr]) -> Result<Connection, Failure> {
        let stream = self.connect(addresses)?;
        let socket = stream.try_clone().map_err(|error| format!("connection failed: {error}"))?;
        let mut session = Session::new().map_err(|_| "could not start an SSH session".to_owned())?;
        session.set_tcp_stream(stream);
        self.budget.arm(&session, Phase::Handshake)?;
        session.handshake().map_err(|error| self.budget.describe(Phase::Handshake, &error, "SSH handshake failed"))?;
        let host_key = session
            .host_key()
            .map(|(blob, _)| fingerprint(blob))
            .ok_or_else(|| "the server sent no host key".to_owned())?;
        let with_key = |reason: String| Failure { reason, host_key: Some(host_key.clone()) };
        self.trust.verify(self.target_id, self.check, &host_key).map_err(with_key)?;
        self.authenticate(&session).map_err(with_key)?;
        Ok(Connection { session, host_key, socket })
    }

    /// The first address that accepts; the reason of the last one that did not.
    fn connect(&self, addresses: &[SocketAddr]) -> Result<TcpStream, String> {
        let mut last_error = "no address to connect to".to_owned();
        for address in addresses {
            let left = self.budget.remaining().ok_or_else(|| self.budget.timed_out(Phase::Connect))?;
            match TcpStream::connect_timeout(address, left) {
                Ok(stream) => {
                    // Probes send small packets and wait for answers; Nagle would only add delay.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(error) => {
                    last_error = match error.kind() {
                        std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                            self.budget.timed_out(Phase::Connect)
                        }
                        _ => format!("connection failed: {error}"),
                    }
                }
            }
        }
        Err(last_error)
    }

    /// A private key first, when there is one, then a password. Each credential is unsealed just
    /// before its one use and wiped when this returns.
    fn authenticate(&self, session: &Session) -> Result<(), String> {
        let (check, budget) = (self.check, &self.budget);
        let mut key_failure = None;
        if let Some(key) = &check.private_key {
            let key = self.unsealer.open(key, self.target_id)?;
            let passphrase = check
                .private_key_passphrase
                .as_ref()
                .map(|passphrase| self.unsealer.open(passphrase, self.target_id))
                .transpose()?;
            budget.arm(session, Phase::Auth)?;
            let result = session.userauth_pubkey_memory(
                &check.username,
                None,
                key.expose(),
                passphrase.as_ref().map(Secret::expose),
            );
            match result {
                Ok(()) if session.authenticated() => return Ok(()),
                Err(error) if is_timeout(&error) || budget.remaining().is_none() => {
                    return Err(budget.timed_out(Phase::Auth));
                }
                Err(error) if error.code() == ErrorCode::Session(KEY_FILE) => {
                    key_failure = Some("auth failed (the private key cannot be read: wrong passphrase or format)");
                }
                _ => key_failure = Some("auth failed (private key rejected)"),
            }
        }
        if let Some(password) = &check.password {
            let password = self.unsealer.open(password, self.target_id)?;
            budget.arm(session, Phase::Auth)?;
            return match session.userauth_password(&check.username, password.expose()) {
                Ok(()) if session.authenticated() => Ok(()),
                Err(error) if is_timeout(&error) || budget.remaining().is_none() => Err(budget.timed_out(Phase::Auth)),
                _ => Err("auth failed (password rejected)".to_owned()),
            };
        }
        Err(key_failure.unwrap_or("auth failed (no credential)").to_owned())
    }
}
