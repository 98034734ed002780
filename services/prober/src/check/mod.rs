//! Runs one probe of one target and reports its outcome.

pub mod http;

use std::sync::Arc;

use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::{Check, Target};

/// What one probe found, before it becomes a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    pub error: Option<String>,
}

impl Outcome {
    pub fn failed(latency_ms: f64, error: impl Into<String>) -> Self {
        Self { success: false, status_code: None, latency_ms, error: Some(error.into()) }
    }
}

/// Every kind of check, behind one call.
#[derive(Clone)]
pub struct Checker {
    http: http::HttpChecker,
}

impl Checker {
    pub fn new(policy: Arc<AddressPolicy>) -> anyhow::Result<Self> {
        Ok(Self { http: http::HttpChecker::new(policy)? })
    }

    pub async fn check(&self, target: &Target) -> Outcome {
        match &target.spec.check {
            Check::Http(check) => self.http.check(check, target.spec.timeout_s).await,
        }
    }
}
