//! The real `healthmon` binary under a storm of concurrent logins from many addresses: each
//! argon2id hash holds 19 MiB, so the process must bound how many run at once and turn the rest
//! away with 503 and `Retry-After`, instead of growing by gigabytes.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::{spawn, stop};

const ADMIN_PASSWORD: &str = "Storm-admin-pa55word";
/// Concurrent logins, each from its own address (127.0.0.2 onwards: all of 127/8 is loopback).
const LOGINS: u32 = 500;
const MAX_PEAK_RSS_MIB: u64 = 300;

/// A `kB` field of /proc/<pid>/status (`VmRSS`, `VmHWM`) in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What one login got: status, Retry-After, body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: serde_json::Value,
}

async fn login_from(addr: &str, source: Ipv4Addr, username: &str, password: &str) -> Result<Answer, String> {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(source))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|error| error.to_string())?;
    let response = client
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .map_err(|error| format!("from {source}: {error}"))?;
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.text().await.map_err(|error| format!("from {source}: {error}"))?;
    let body = serde_json::from_str(&text)
        .map_err(|_| format!("from {source}: {status} with a body that is not JSON: {text}"))?;
    Ok(Answer { status, retry_after, body })
}

/// Checks one answer against the contract: 200 with a token, 401, or 429/503 with Retry-After,
/// every error with the JSON error body.
fn problem_with(answer: &Answer) -> Option<String> {
    let Answer { status, retry_after, body } = answer;
    match status {
        200 if body["token"].is_string() => None,
        401 | 429 | 503 if body["error"]["code"].is_string() && body["error"]["message"].is_string() => {
            let needs_retry_after = *status != 401;
            let retry_after_ok = retry_after.as_deref().and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1);
            (needs_retry_after && !retry_after_ok).then(|| format!("{status} without a valid Retry-After: {body}"))
        }
        _ => Some(format!("{status}: {body}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_logins_from_many_addresses_stays_within_bounded_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (child, addr, _logs) = spawn(dir.path(), &[("HEALTHMON_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let pid = child.id();
    // One login first, so the process has settled (pools, the dummy hash) before the storm.
    let settled = login_from(&addr, Ipv4Addr::LOCALHOST, "admin", ADMIN_PASSWORD).await.expect("first login");
    assert_eq!(settled.status, 200, "{}", settled.body);
    let before_kib = status_kib(pid, "VmRSS").expect("VmRSS");

    // Sample RSS every 5 ms during the storm (VmHWM, the kernel's high-water mark, is the peak).
    let sampling = Arc::new(AtomicBool::new(true));
    let sampled_peak_kib = Arc::new(AtomicU64::new(before_kib));
    let sampler = {
        let (sampling, sampled_peak_kib) = (sampling.clone(), sampled_peak_kib.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Acquire) {
                if let Some(rss) = status_kib(pid, "VmRSS") {
                    sampled_peak_kib.fetch_max(rss, Ordering::AcqRel);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    // Every tenth login is the admin's with the right password; the rest are unknown users, whose
    // dummy hash costs the same.
    let started = Instant::now();
    let storm: Vec<_> = (0..LOGINS)
        .map(|n| {
            let addr = addr.clone();
            let source = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + n);
            tokio::spawn(async move {
                match n % 10 {
                    0 => login_from(&addr, source, "admin", ADMIN_PASSWORD).await,
                    _ => login_from(&addr, source, &format!("user{n}"), "a-guessed-password").await,
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for login in storm {
        match login.await.expect("login task") {
            Ok(answer) => answers.push(answer),
            Err(error) => failures.push(error),
        }
    }
    let took = started.elapsed();
    sampling.store(false, Ordering::Release);
    sampler.join().expect("sampler");
    let peak_kib = status_kib(pid, "VmHWM").expect("VmHWM").max(sampled_peak_kib.load(Ordering::Acquire));

    let count = |status: u16| answers.iter().filter(|answer| answer.status == status).count();
    println!(
        "{LOGINS} concurrent logins in {took:.1?}: RSS before {} MiB, peak {} MiB (VmHWM; sampled peak {} MiB); \
         200: {}, 401: {}, 429: {}, 503: {}, other statuses: {}, connection errors: {}",
        before_kib / 1024,
        peak_kib / 1024,
        sampled_peak_kib.load(Ordering::Acquire) / 1024,
        count(200),
        count(401),
        count(429),
        count(503),
        answers.len() - [200, 401, 429, 503].map(count).iter().sum::<usize>(),
        failures.len(),
    );

    assert!(failures.is_empty(), "{} logins failed to get an answer, e.g. {:?}", failures.len(), failures.first());
    let problems: Vec<String> = answers.iter().filter_map(problem_with).collect();
    assert!(problems.is_empty(), "{} answers broke the contract, e.g. {:?}", problems.len(), problems.first());
    assert!(count(200) + count(401) > 0, "some logins were checked: the server kept working");
    assert!(peak_kib / 1024 < MAX_PEAK_RSS_MIB, "peak RSS {} MiB, over {MAX_PEAK_RSS_MIB} MiB", peak_kib / 1024);

    // And after the storm the admin logs in as usual.
    let after = login_from(&addr, Ipv4Addr::LOCALHOST, "admin", ADMIN_PASSWORD).await.expect("login after");
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(stop(child).success());
}
