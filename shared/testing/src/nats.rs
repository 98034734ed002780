//! A nats-server of a test's own, on a free port with its own store directory, so stopping it
//! disturbs no other test; it comes back on the same port and store, as a restarted server would.
//! Also the clean-up of what a test left under its prefix on a shared server.

use std::process::{Child, Command, Stdio};

use futures::StreamExt;
use healthmon_bus::{Naming, Stream};

use crate::{restartable_port, wait_for_port};

const NATS_SERVER: &str = "/usr/sbin/nats-server";

pub struct PrivateNats {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateNats {
    pub fn start() -> Self {
        let mut nats = Self { port: restartable_port(), dir: tempfile::tempdir().expect("temp dir"), child: None };
        nats.resume();
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and store directory.
    pub fn resume(&mut self) {
        let child = Command::new(NATS_SERVER)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        wait_for_port(self.port, "nats-server");
        // Something else may hold the port: then this server exits, and the port answers for
        // another process, which no test should mistake for its own server.
        if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
            panic!("nats-server on port {} exited at start ({status})", self.port);
        }
    }

    /// SIGTERM, as a restart by an operator or an orchestrator does: the server flushes and exits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// SIGKILL, as a crash or a cut-off host: nothing is flushed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server, deletes everything it stored, and starts it again on the same port: a
    /// server that comes back without its data.
    pub fn restart_wiped(&mut self) {
        self.stop();
        for entry in std::fs::read_dir(self.dir.path()).expect("the NATS store directory").flatten() {
            let path = entry.path();
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.unwrap_or_else(|error| panic!("remove {}: {error}", path.display()));
        }
        self.resume();
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Deletes every stream and KV bucket under `naming`'s prefix on the server at `url`, so a shared
/// server does not fill up with what runs leave behind. Best effort: what is absent (a run that
/// never made it) or cannot be reached is skipped.
pub async fn delete_prefixed_streams(url: &str, naming: &Naming) {
    let Ok(client) = async_nats::connect(url).await else { return };
    let jetstream = async_nats::jetstream::new(client);
    let mut names: Vec<String> = Stream::ALL.iter().map(|stream| naming.stream_name(*stream)).collect();
    // A KV bucket is the stream `KV_<bucket>`, and every bucket is named with the prefix.
    let buckets = format!("KV_{}", naming.durable_name(""));
    let mut existing = jetstream.stream_names();
    while let Some(Ok(name)) = existing.next().await {
        if name.starts_with(&buckets) {
            names.push(name);
        }
    }
    for name in names {
        let _ = jetstream.delete_stream(&name).await;
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use async_nats::jetstream::{self, stream};

    use super::*;

    async fn create_stream(url: &str, name: &str) {
        let jetstream = jetstream::new(async_nats::connect(url).await.expect("connect"));
        let config =
            stream::Config { name: name.to_owned(), subjects: vec![format!("{name}.>")], ..Default::default() };
        jetstream.create_stream(config).await.expect("create the stream");
    }

    async fn stream_exists(url: &str, name: &str) -> bool {
        let jetstream = jetstream::new(async_nats::connect(url).await.expect("connect"));
        jetstream.get_stream(name).await.is_ok()
    }

    fn listening(nats: &PrivateNats) -> bool {
        TcpStream::connect(("127.0.0.1", nats.port)).is_ok()
    }

    #[tokio::test]
    async fn a_stopped_or_killed_server_comes_back_on_its_port_with_its_data() {
        let mut nats = PrivateNats::start();
        create_stream(&nats.url(), "KEPT").await;
        nats.stop();
        assert!(!listening(&nats), "stopped with SIGTERM");
        nats.resume();
        assert!(stream_exists(&nats.url(), "KEPT").await, "the stream survives a SIGTERM restart");
        nats.kill();
        assert!(!listening(&nats), "killed with SIGKILL");
        nats.resume();
        assert!(stream_exists(&nats.url(), "KEPT").await, "the stream survives a SIGKILL restart");
    }

    #[tokio::test]
    async fn a_wiped_restart_comes_back_empty() {
        let mut nats = PrivateNats::start();
        create_stream(&nats.url(), "LOST").await;
        nats.restart_wiped();
        assert!(listening(&nats));
        assert!(!stream_exists(&nats.url(), "LOST").await, "the store was wiped");
    }

    #[tokio::test]
    async fn only_the_prefixs_streams_and_buckets_are_deleted() {
        let nats = PrivateNats::start();
        let (mine, other) = (Naming::new("mine-1"), Naming::new("mine-10"));
        let names = |naming: &Naming| {
            vec![naming.stream_name(Stream::Samples), format!("KV_{}", naming.durable_name("probers"))]
        };
        for name in names(&mine).into_iter().chain(names(&other)) {
            create_stream(&nats.url(), &name).await;
        }
        delete_prefixed_streams(&nats.url(), &mine).await;
        for name in names(&mine) {
            assert!(!stream_exists(&nats.url(), &name).await, "{name} deleted");
        }
        for name in names(&other) {
            assert!(stream_exists(&nats.url(), &name).await, "{name} kept");
        }
    }
}
