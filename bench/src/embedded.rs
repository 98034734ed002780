//! The real `healthmon` binary on its embedded default (a SQLite file and the in-process bus), as
//! a user starts it: its own process, its own temporary directory, stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::infra::ADMIN_PASSWORD;

pub struct Embedded {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts `target/release/healthmon` (built beside this bench) and waits until it listens.
    pub fn start() -> anyhow::Result<Self> {
        let binary = std::env::current_exe().context("find the bench's own path")?.with_file_name("healthmon");
        anyhow::ensure!(binary.exists(), "{} is missing: cargo build --release -p healthmon", binary.display());
        let dir = tempfile::tempdir().context("a directory for the embedded healthmon")?;
        let mut child = Command::new(&binary)
            .current_dir(dir.path())
            .env_clear()
            .env("HEALTHMON_LISTEN", "127.0.0.1:0")
            .env("HEALTHMON_LOG_FORMAT", "json")
            .env("HEALTHMON_LOG", "warn,healthmon_runtime=info")
            .env("HEALTHMON_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let stdout = child.stdout.take().context("the binary's stdout")?;
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        // Reads on for the process's life, so its pipe never fills.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(event) = serde_json::from_str::<Value>(&line) else { continue };
                if event["message"] == "listening"
                    && let Some(addr) = event["addr"].as_str()
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
            }
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).context("healthmon did not listen within 30 s")?;
        Ok(Self { addr: addr.parse().context("the listening address")?, child, _dir: dir })
    }

    /// Logs in as the admin and creates each target through the API, as a user would.
    pub async fn create_targets(&self, specs: Vec<Value>) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let base = format!("http://{}", self.addr);
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .context("log in")?
            .error_for_status()
            .context("log in")?
            .json()
            .await
            .context("the login body")?;
        let token = login["token"].as_str().context("a token")?;
        for spec in specs {
            client
                .post(format!("{base}/api/v1/targets"))
                .bearer_auth(token)
                .json(&spec)
                .send()
                .await
                .context("create a target")?
                .error_for_status()
                .context("create a target")?;
        }
        Ok(())
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}
