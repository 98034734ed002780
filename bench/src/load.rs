//! The HTTP load generator: keep-alive HTTP/1.1 connections on loopback, each a task sending its
//! requests one after another, with every latency in an HDR histogram. 200 and 503 count as
//! answered; anything else, and any transport error, as an error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::report;

/// A safety bound on requests per connection, whatever the duration.
const MAX_REQUESTS_PER_CONNECTION: u64 = 50_000_000;
/// A connection that fails is opened again at most this many times.
const MAX_RECONNECTS: u32 = 1_000;

#[derive(Clone)]
pub struct Load {
    pub addr: SocketAddr,
    /// Request paths, taken round-robin (each connection starts at its own offset).
    pub paths: Arc<Vec<String>>,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
    pub connections: usize,
    /// Requests before this much time has passed are sent but not measured.
    pub warmup: Duration,
    pub duration: Duration,
}

pub struct Outcome {
    /// Answered (200 or 503) requests inside the measured window.
    pub answered: u64,
    pub errors: u64,
    /// Of the answered, how many were 503.
    pub unavailable: u64,
    pub window: Duration,
    /// Latency of answered requests, in microseconds.
    pub latency: Histogram<u64>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// `r/s 41234   p50 0.61 ms   p99 1.9 ms   max …` plus errors when there were any.
    pub fn summary(&self) -> String {
        let mut text = format!("r/s {:.0}   {}", self.per_second(), report::latencies(&self.latency));
        if self.errors > 0 {
            text.push_str(&format!("   errors {}", self.errors));
        }
        if self.unavailable > 0 {
            text.push_str(&format!("   (503: {})", self.unavailable));
        }
        text
    }
}

struct Tally {
    answered: u64,
    errors: u64,
    unavailable: u64,
    latency: Histogram<u64>,
}

impl Load {
    pub async fn run(&self) -> anyhow::Result<Outcome> {
        anyhow::ensure!(!self.paths.is_empty(), "the load needs at least one path");
        let authorization = match &self.token {
            Some(token) => Some(HeaderValue::from_str(&format!("Bearer {token}")).context("token header")?),
            None => None,
        };
        let host = HeaderValue::from_str(&self.addr.to_string()).context("host header")?;
        let started = Instant::now();
        let window_start = started + self.warmup;
        let window_end = window_start + self.duration;
        let mut tasks = Vec::with_capacity(self.connections);
        for connection in 0..self.connections.max(1) {
            let (load, authorization, host) = (self.clone(), authorization.clone(), host.clone());
            tasks.push(tokio::spawn(async move {
                load.connection(connection, host, authorization, window_start, window_end).await
            }));
        }
        let mut total = Tally { answered: 0, errors: 0, unavailable: 0, latency: report::histogram() };
        for task in tasks {
            let tally = task.await.context("a load connection panicked")?;
            total.answered += tally.answered;
            total.errors += tally.errors;
            total.unavailable += tally.unavailable;
            total.latency.add(&tally.latency).context("merge latency histograms")?;
        }
        Ok(Outcome {
            answered: total.answered,
            errors: total.errors,
            unavailable: total.unavailable,
            window: self.duration,
            latency: total.latency,
        })
    }

    /// One keep-alive connection sending requests back to back until the window ends.
    async fn connection(
        &self,
        index: usize,
        host: HeaderValue,
        authorization: Option<HeaderValue>,
        window_start: Instant,
        window_end: Instant,
    ) -> Tally {
        let mut tally = Tally { answered: 0, errors: 0, unavailable: 0, latency: report::histogram() };
        let mut next_path = index % self.paths.len();
        let mut sent = 0u64;
        let mut reconnects = 0u32;
        'connect: while Instant::now() < window_end && sent < MAX_REQUESTS_PER_CONNECTION {
            let mut sender = match self.open().await {
                Ok(sender) => sender,
                Err(_) => {
                    if Instant::now() >= window_start {
                        tally.errors += 1;
                    }
                    reconnects += 1;
                    if reconnects > MAX_RECONNECTS {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            while sent < MAX_REQUESTS_PER_CONNECTION {
                let begun = Instant::now();
                if begun >= window_end {
                    break 'connect;
                }
                let path = &self.paths[next_path];
                next_path = (next_path + self.connections.max(1)) % self.paths.len();
                sent += 1;
                let mut request = Request::get(path.as_str());
                if let Some(headers) = request.headers_mut() {
                    headers.insert(HOST, host.clone());
                    if let Some(authorization) = &authorization {
                        headers.insert(AUTHORIZATION, authorization.clone());
                    }
                }
                let Ok(request) = request.body(Empty::<Bytes>::new()) else {
                    tally.errors += 1;
                    continue;
                };
                let result = async {
                    sender.ready().await?;
                    let response = sender.send_request(request).await?;
                    let status = response.status();
                    response.into_body().collect().await?;
                    Ok::<StatusCode, hyper::Error>(status)
                }
                .await;
                let finished = Instant::now();
                let measured = begun >= window_start && finished <= window_end;
                match result {
                    Ok(status) if status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE => {
                        if measured {
                            tally.answered += 1;
                            tally.unavailable += u64::from(status == StatusCode::SERVICE_UNAVAILABLE);
                            report::record(&mut tally.latency, (finished - begun).as_micros() as u64);
                        }
                    }
                    Ok(_) => tally.errors += u64::from(measured),
                    Err(_) => {
                        tally.errors += u64::from(measured);
                        reconnects += 1;
                        if reconnects > MAX_RECONNECTS {
                            break 'connect;
                        }
                        continue 'connect;
                    }
                }
            }
        }
        tally
    }

    async fn open(&self) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
        let stream = TcpStream::connect(self.addr).await.context("connect")?;
        stream.set_nodelay(true).context("set TCP_NODELAY")?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.context("HTTP/1.1 handshake")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}
