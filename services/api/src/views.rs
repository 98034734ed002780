//! The conversions from stored things to the typed response bodies of `healthmon_wire`, written
//! out field by field: a field reaches the wire only when it is named here, so a credential never
//! does (an SSH target says only whether it has a password and a private key).

pub mod alerting;
pub mod compat;
pub mod history;

pub use alerting::WindowsNow;
use healthmon_domain::{Check, HealthState, Sample, Target};
use healthmon_store::{Page, TargetRecord, TransitionRecord};
use healthmon_wire::{
    HealthView, SamplePage, SampleView, TargetHealth, TargetKind, TargetPage, TargetView, TransitionPage,
    TransitionView,
};

/// A target with its health; `windows` says whether a maintenance window covers it now.
pub fn target(record: &TargetRecord, windows: &WindowsNow) -> TargetView {
    let target = &record.target;
    let spec = &target.spec;
    let mut view = TargetView {
        id: target.id,
        name: spec.name.clone(),
        kind: TargetKind::Http,
        url: None,
        method: None,
        expected_status: None,
        headers: None,
        body_contains: None,
        keepalive: None,
        host: None,
        port: None,
        username: None,
        command: None,
        expect_output: None,
        min_free_disk_mb: None,
        host_key_sha256: None,
        trust_on_first_use: None,
        shell: None,
        interval_s: spec.interval_s,
        timeout_s: spec.timeout_s,
        healthy_threshold: spec.healthy_threshold,
        unhealthy_threshold: spec.unhealthy_threshold,
        enabled: spec.enabled,
        tags: spec.tags.clone(),
        group: spec.group.clone(),
        public: spec.public,
        created_at: target.created_at,
        updated_at: target.updated_at,
        revision: target.revision,
        has_password: None,
        has_private_key: None,
        health: health(record, windows.covers(&record.target)),
        recent_samples: None,
    };
    match &spec.check {
        Check::Http(http) => {
            view.url = Some(http.url.clone());
            view.method = Some(http.method.into());
            view.expected_status = Some(http.expected_status.to_string());
            view.headers = Some(http.headers.clone());
            view.body_contains = Some(http.body_contains.clone());
            view.keepalive = Some(http.keepalive);
        }
        Check::Ssh(ssh) => {
            view.kind = TargetKind::Ssh;
            view.host = Some(ssh.host.clone());
            view.port = Some(ssh.port);
            view.username = Some(ssh.username.clone());
            view.command = Some(ssh.command.clone());
            view.expect_output = Some(ssh.expect_output.clone());
            view.min_free_disk_mb = Some(ssh.min_free_disk_mb);
            view.host_key_sha256 = Some(ssh.host_key_sha256.clone());
            view.trust_on_first_use = Some(ssh.trust_on_first_use);
            view.shell = Some(ssh.shell.into());
            view.has_password = Some(ssh.password.is_some());
            view.has_private_key = Some(ssh.private_key.is_some());
        }
        Check::Tcp(tcp) => {
            view.kind = TargetKind::Tcp;
            view.host = Some(tcp.host.clone());
            view.port = Some(tcp.port);
        }
    }
    view
}

/// A target just created: no probe has counted yet.
pub fn new_target(target: &Target, windows: &WindowsNow) -> TargetView {
    self::target(&TargetRecord { target: target.clone(), health: HealthState::new(target.check_version) }, windows)
}

pub fn target_page(page: &Page<TargetRecord>, windows: &WindowsNow) -> TargetPage {
    TargetPage {
        items: page.items.iter().map(|record| self::target(record, windows)).collect(),
        next_cursor: page.next_cursor.clone(),
    }
}

/// A target's health; `paused` when the target is disabled, whatever its counters say.
pub fn health(record: &TargetRecord, maintenance: bool) -> HealthView {
    let health = &record.health;
    HealthView {
        status: record.visible_status().into(),
        since: health.since,
        reason: health.reason.clone(),
        consecutive_successes: health.consecutive_successes,
        consecutive_failures: health.consecutive_failures,
        last_sample_at: health.last_sample_at,
        maintenance,
    }
}

/// One target's line of the health breakdown.
pub fn target_health(record: &TargetRecord) -> TargetHealth {
    TargetHealth {
        id: record.target.id,
        name: record.target.spec.name.clone(),
        status: record.visible_status().into(),
        reason: record.health.reason.clone(),
        since: record.health.since,
    }
}

pub fn sample(sample: &Sample) -> SampleView {
    SampleView {
        id: sample.id,
        at: sample.at,
        success: sample.success,
        status_code: sample.status_code,
        latency_ms: sample.latency_ms,
        error: sample.error.clone(),
        prober: sample.prober.clone(),
    }
}

pub fn sample_page(page: &Page<Sample>) -> SamplePage {
    SamplePage { items: page.items.iter().map(self::sample).collect(), next_cursor: page.next_cursor.clone() }
}

pub fn transition(transition: &TransitionRecord) -> TransitionView {
    TransitionView {
        target_id: transition.target_id,
        from: transition.from.into(),
        to: transition.to.into(),
        at: transition.at,
        reason: transition.reason.clone(),
    }
}

pub fn transition_page(page: &Page<TransitionRecord>) -> TransitionPage {
    TransitionPage { items: page.items.iter().map(self::transition).collect(), next_cursor: page.next_cursor.clone() }
}

#[cfg(test)]
mod tests;
