//! A real local HTTP server standing in for a monitored resource; tests switch its status and delay.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::any;

#[derive(Default)]
struct Behaviour {
    status: AtomicU16,
    delay_ms: AtomicU64,
    hits: AtomicU64,
}

#[derive(Clone)]
pub struct TargetServer {
    pub addr: SocketAddr,
    behaviour: Arc<Behaviour>,
}

impl TargetServer {
    /// Answers 200 with body "ok" at once until told otherwise.
    pub async fn start() -> Self {
        let behaviour = Arc::new(Behaviour { status: AtomicU16::new(200), ..Behaviour::default() });
        let app = Router::new().fallback(any(answer)).with_state(behaviour.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind target server");
        let addr = listener.local_addr().expect("target server address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, behaviour }
    }

    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.behaviour.status.store(status, Ordering::SeqCst);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.behaviour.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Requests received so far.
    pub fn hits(&self) -> u64 {
        self.behaviour.hits.load(Ordering::SeqCst)
    }
}

async fn answer(State(behaviour): State<Arc<Behaviour>>) -> (StatusCode, &'static str) {
    behaviour.hits.fetch_add(1, Ordering::SeqCst);
    let delay = behaviour.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = StatusCode::from_u16(behaviour.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
    (status, "ok")
}
