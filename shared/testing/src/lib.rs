//! What the workspace's tests, fault suite and benchmark share to run against real servers: a
//! nats-server, a PostgreSQL cluster and an sshd of a test's own, fresh databases on the shared
//! Postgres, clean-up of a prefix's NATS streams, deadline-bounded waiting, and receivers for what
//! the notifier sends (an HTTP receiver and an SMTP server).
//!
//! A dev-dependency only; it depends on no healthmon service (the fault suite lives in `healthmon`).

pub mod database;
pub mod nats;
pub mod postgres;
pub mod receiver;
pub mod smtp;
pub mod sshd;
mod wait;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

pub use database::{drop_postgres_database, fresh_postgres_database, fresh_sqlite_url};
pub use nats::PrivateNats;
pub use postgres::PrivatePostgres;
pub use receiver::{ReceivedRequest, Receiver, Reply};
pub use smtp::{ReceivedMail, SmtpServer};
pub use wait::wait_until;

/// The NATS server tests use under prefixes of their own; override with `HEALTHMON_TEST_NATS_URL`.
pub const DEFAULT_TEST_NATS_URL: &str = "nats://127.0.0.1:4222";

/// `HEALTHMON_TEST_NATS_URL`, or [`DEFAULT_TEST_NATS_URL`].
pub fn test_nats_url() -> String {
    std::env::var("HEALTHMON_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_TEST_NATS_URL.to_owned())
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

/// A free loopback port for a server that a test stops and starts again on the same port.
///
/// It lies below the kernel's ephemeral range (32768 and up on Linux), because while such a server
/// is down, a port in that range can be taken by any client's outgoing socket, and a client that
/// keeps reconnecting to it can even connect to itself (TCP simultaneous open), so the server
/// cannot bind it again.
pub fn restartable_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::rng();
    for _ in 0..1000 {
        let port = rng.random_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range")
}

/// Blocks until something accepts connections on 127.0.0.1:`port`; panics naming `what` after 20 s.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restartable_port_is_free_and_below_the_ephemeral_range() {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").expect("the ephemeral range");
        let lowest_ephemeral: u16 = range.split_whitespace().next().and_then(|low| low.parse().ok()).expect("a port");
        let port = restartable_port();
        assert!(port < lowest_ephemeral, "{port} is below {lowest_ephemeral}");
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "{port} is free");
    }
}
