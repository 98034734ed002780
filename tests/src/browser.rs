//! A real headless Chromium for browser tests, driven over WebDriver (chromedriver on a port the
//! kernel picks, one per test): Debian's `chromium` and `chromium-driver`, which
//! `scripts/test.sh` installs when they are absent.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// How the browser's window is shaped.
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    Desktop,
    /// A phone's viewport, 390 × 844 CSS pixels (an iPhone 12 to 15), emulated by Chromium.
    Phone,
}

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn start(screen: Screen) -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "browser tests need Debian's chromium and chromium-driver (scripts/test.sh installs them)"
        );
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let port = read_port(&mut driver).await;
        let mut options = json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--no-first-run"],
        });
        if let Screen::Phone = screen {
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0}});
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        // chromedriver listens on loopback in plain HTTP: no TLS to set up.
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Self { client, driver }
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    /// Saves a screenshot of the page as `name`.png under `HEALTHMON_SCREENSHOTS`, when it is set
    /// (`scripts/screenshots.sh` sets it to `docs/screenshots`); otherwise takes none.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("HEALTHMON_SCREENSHOTS").map(PathBuf::from) else {
            return;
        };
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }

    pub async fn stop(mut self) {
        // Best effort: the driver is killed below either way.
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

/// chromedriver prints "… started successfully on port N." once it listens.
async fn read_port(driver: &mut Child) -> u16 {
    let stdout = driver.stdout.take().expect("chromedriver's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read chromedriver") {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                return rest.trim_end_matches('.').trim().parse::<u16>().expect("a port number");
            }
        }
        panic!("chromedriver exited before it listened");
    })
    .await
    .expect("chromedriver listens within 20 s");
    // Keep draining its output so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    port
}
