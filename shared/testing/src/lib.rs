//! What the workspace's tests, fault suite and benchmark share to run against real servers: a
//! nats-server, a PostgreSQL cluster and an sshd of a test's own, fresh databases on the shared
//! Postgres, clean-up of a prefix's NATS streams, and deadline-bounded waiting.
//!
//! A dev-dependency only; it depends on no healthmon service (the fault suite lives in `healthmon`).

pub mod database;
pub mod nats;
pub mod postgres;
pub mod sshd;
mod wait;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

pub use database::{drop_postgres_database, fresh_postgres_database, fresh_sqlite_url};
pub use nats::PrivateNats;
pub use postgres::PrivatePostgres;
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

/// Blocks until something accepts connections on 127.0.0.1:`port`; panics naming `what` after 20 s.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not open port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
