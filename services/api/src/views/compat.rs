//! The conversions from stored targets and samples to the predecessors' response bodies
//! (`healthmon_wire::compat`), field by field.

use healthmon_domain::{Check, HealthStatus, Sample, Shell};
use healthmon_store::TargetRecord;
use healthmon_wire::compat::{
    ResourceOs, ResourceState, ResourceView, WebserverRequest, WebserverStatus, WebserverSummary,
};

/// An HTTP target as a web server; none for other kinds.
pub fn webserver(record: &TargetRecord) -> Option<WebserverSummary> {
    let Check::Http(check) = &record.target.spec.check else { return None };
    let status = match record.visible_status() {
        HealthStatus::Healthy => Some(WebserverStatus::Healthy),
        HealthStatus::Unhealthy => Some(WebserverStatus::Unhealthy),
        _ => None,
    };
    Some(WebserverSummary {
        id: record.target.id,
        name: record.target.spec.name.clone(),
        url: check.url.clone(),
        status,
    })
}

pub fn webserver_request(sample: &Sample) -> WebserverRequest {
    WebserverRequest {
        status_code: sample.status_code,
        latency: sample.latency_ms / 1000.0,
        timestamp: sample.at,
        success: sample.success,
    }
}

/// Any target as HealthChecker's resource state; the reason only while it is down.
pub fn resource_state(record: &TargetRecord) -> ResourceState {
    let status = record.visible_status();
    let down = matches!(status, HealthStatus::Unhealthy | HealthStatus::Stale);
    ResourceState {
        id: record.target.id,
        name: record.target.spec.name.clone(),
        kind: record.target.kind().into(),
        state: healthmon_wire::HealthStatus::from(status).into(),
        reason: if down { record.health.reason.clone() } else { None },
        since: record.health.since,
    }
}

/// An SSH target as a `/Resource`; none for other kinds.
pub fn resource(record: &TargetRecord) -> Option<ResourceView> {
    let Check::Ssh(ssh) = &record.target.spec.check else { return None };
    Some(ResourceView {
        id: record.target.id,
        hostname: ssh.host.clone(),
        port: ssh.port,
        username: ssh.username.clone(),
        os: if ssh.shell == Shell::Powershell { ResourceOs::Windows } else { ResourceOs::Linux },
        state: record.visible_status().into(),
        reason: record.health.reason.clone(),
        has_password: ssh.password.is_some(),
        has_private_key: ssh.private_key.is_some(),
        host_key_sha256: ssh.host_key_sha256.clone(),
    })
}

#[cfg(test)]
mod tests;
