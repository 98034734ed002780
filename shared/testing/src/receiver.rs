//! A real HTTP receiver on loopback for tests of anything that sends webhooks: it records every
//! request as it arrived and answers from a programmable script (200 once the script runs out).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::wait_until;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: Method,
    /// The path alone; the query is in `query`.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub arrived: Instant,
    pub arrived_at: DateTime<Utc>,
}

impl ReceivedRequest {
    /// A header's value as text (the first, when repeated); `None` when absent or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (it is a test's assertion) when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body_text()))
    }
}

/// One scripted answer: a status, optional headers and body, and an optional delay before it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: String::new(), delay: Duration::ZERO }
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers only after `delay`: for timeouts.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl From<u16> for Reply {
    fn from(status: u16) -> Self {
        Self::status(status)
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<ReceivedRequest>,
    /// Answers for any path, used in order.
    script: VecDeque<Reply>,
    /// Answers for one path, used in order before the general script.
    by_path: HashMap<String, VecDeque<Reply>>,
}

/// The server; stops when dropped.
pub struct Receiver {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts on 127.0.0.1, port 0.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the receiver");
        let address = listener.local_addr().expect("the receiver's address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new().fallback(record).with_state(shared.clone());
        let server = tokio::spawn(async move {
            // Ends only when the task is aborted, or the listener fails (the test then sees no requests).
            let _ = axum::serve(listener, app).await;
        });
        Receiver { address, shared, server }
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The next answers, for any path, in order; 200 after them.
    pub fn respond_with<R: Into<Reply>>(&self, replies: impl IntoIterator<Item = R>) {
        self.lock().script.extend(replies.into_iter().map(Into::into));
    }

    /// The next answers for `path` only, in order; then the general script, then 200.
    pub fn respond_on<R: Into<Reply>>(&self, path: &str, replies: impl IntoIterator<Item = R>) {
        self.lock().by_path.entry(path.to_owned()).or_default().extend(replies.into_iter().map(Into::into));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.clone()
    }

    /// Waits until at least `count` requests arrived and returns them all; panics after `limit`.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<ReceivedRequest> {
        wait_until(&format!("{count} requests at the receiver"), limit, || async {
            let requests = self.requests();
            (requests.len() >= count).then_some(requests)
        })
        .await
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = ReceivedRequest {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
        arrived: Instant::now(),
        arrived_at: Utc::now(),
    };
    let reply = {
        let mut shared = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let for_path = shared.by_path.get_mut(&request.path).and_then(VecDeque::pop_front);
        let reply = for_path.or_else(|| shared.script.pop_front()).unwrap_or_else(|| Reply::status(200));
        shared.requests.push(request);
        reply
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body).into_response();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(name), axum::http::HeaderValue::try_from(value))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}
