//! Pure bookkeeping of the board: per-target facts and incrementally kept counts.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use healthmon_domain::HealthStatus;
use healthmon_domain::events::{HealthChanged, TargetChanged};
use healthmon_store::TargetRecord;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub healthy: u64,
    pub unhealthy: u64,
    pub unknown: u64,
    pub stale: u64,
    pub paused: u64,
}

impl Counts {
    fn slot(&mut self, status: HealthStatus) -> &mut u64 {
        match status {
            HealthStatus::Healthy => &mut self.healthy,
            HealthStatus::Unhealthy => &mut self.unhealthy,
            HealthStatus::Unknown => &mut self.unknown,
            HealthStatus::Stale => &mut self.stale,
            HealthStatus::Paused => &mut self.paused,
        }
    }

    pub fn total(&self) -> u64 {
        self.healthy + self.unhealthy + self.unknown + self.stale + self.paused
    }

    /// Every enabled target is healthy (paused ones do not count; no targets passes).
    pub fn passing(&self) -> bool {
        self.unhealthy == 0 && self.unknown == 0 && self.stale == 0
    }
}

/// What `/healthz` serves: counts overall and per tag, with the overall body pre-rendered.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub ready: bool,
    pub all: Counts,
    pub all_body: Bytes,
    pub by_tag: HashMap<String, Counts>,
    /// The targets the status page shows, for its public event stream.
    pub public: Arc<HashSet<Uuid>>,
}

impl Aggregate {
    pub fn starting() -> Self {
        Self {
            ready: false,
            all: Counts::default(),
            all_body: Bytes::new(),
            by_tag: HashMap::new(),
            public: Arc::default(),
        }
    }

    /// The counts for `tag`, or overall.
    pub fn counts(&self, tag: Option<&str>) -> Counts {
        match tag {
            Some(tag) => self.by_tag.get(tag).copied().unwrap_or_default(),
            None => self.all,
        }
    }
}

#[derive(Debug, Clone)]
struct TargetFacts {
    enabled: bool,
    tags: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct HealthFacts {
    status: HealthStatus,
    /// (check_version, slot): a health event applies only when it is newer than this.
    version: (i64, i64),
}

#[derive(Debug, Default)]
struct Entry {
    target: Option<TargetFacts>,
    health: Option<HealthFacts>,
    /// The newest revision applied (the target's, or its delete's), so an older event cannot undo
    /// it or bring a deleted target back.
    known_revision: Option<i64>,
    /// Deleted, or absent from the store at a resync: its late health events are not news.
    removed: bool,
}

impl Entry {
    fn visible(&self) -> Option<(HealthStatus, &[String])> {
        let target = self.target.as_ref()?;
        let status = if !target.enabled {
            HealthStatus::Paused
        } else {
            self.health.map_or(HealthStatus::Unknown, |health| health.status)
        };
        Some((status, &target.tags))
    }
}

/// Every target's facts and the counts they add up to.
#[derive(Debug, Default)]
pub struct Tally {
    entries: HashMap<Uuid, Entry>,
    all: Counts,
    by_tag: HashMap<String, Counts>,
    /// Shared with the aggregates published; copied only when a target turns public or private.
    public: Arc<HashSet<Uuid>>,
}

impl Tally {
    pub fn from_records(records: Vec<TargetRecord>) -> Self {
        let mut tally = Self::default();
        for record in records {
            let facts = TargetFacts { enabled: record.target.spec.enabled, tags: record.target.spec.tags.clone() };
            let revision = record.target.revision;
            tally.show_publicly(record.target.id, record.target.spec.public);
            let health = HealthFacts {
                status: record.health.status,
                version: (record.health.check_version, record.health.last_slot.unwrap_or(0)),
            };
            tally.update(record.target.id, |entry| {
                entry.target = Some(facts);
                entry.health = Some(health);
                entry.known_revision = Some(revision);
            });
        }
        tally
    }

    /// Applies a target event that is news: a newer revision, or a resync (the store's word).
    pub fn apply_target(&mut self, change: &TargetChanged) {
        let id = change.target_id();
        let known = self.entries.get(&id).and_then(|entry| entry.known_revision);
        if !change.supersedes(known) {
            return;
        }
        let revision = change.revision();
        self.update(id, |entry| {
            // A resync saying the target is absent has no revision; the bar stays where it was.
            if revision.is_some() {
                entry.known_revision = revision;
            }
            match change.present() {
                Some(target) => {
                    entry.target = Some(TargetFacts { enabled: target.spec.enabled, tags: target.spec.tags.clone() });
                    entry.removed = false;
                }
                None => {
                    entry.target = None;
                    entry.health = None;
                    entry.removed = true;
                }
            }
        });
        self.show_publicly(id, change.present().is_some_and(|target| target.spec.public));
    }

    fn show_publicly(&mut self, id: Uuid, public: bool) {
        if self.public.contains(&id) != public {
            let set = Arc::make_mut(&mut self.public);
            if public {
                set.insert(id);
            } else {
                set.remove(&id);
            }
        }
    }

    /// Returns whether the event was news (older or repeated events change nothing).
    pub fn apply_health(&mut self, change: &HealthChanged) -> bool {
        let version = (change.check_version, change.slot);
        let entry = self.entries.get(&change.target_id);
        if entry.is_some_and(|e| e.removed) {
            return false;
        }
        if entry.and_then(|e| e.health).is_some_and(|health| health.version >= version) {
            return false;
        }
        self.update(change.target_id, |entry| entry.health = Some(HealthFacts { status: change.to, version }));
        true
    }

    pub fn aggregate(&self) -> Aggregate {
        Aggregate {
            ready: true,
            all: self.all,
            all_body: super::render(&self.all),
            by_tag: self.by_tag.clone(),
            public: self.public.clone(),
        }
    }

    /// Applies `change` to one entry, keeping the counts in step.
    fn update(&mut self, id: Uuid, change: impl FnOnce(&mut Entry)) {
        let entry = self.entries.entry(id).or_default();
        if let Some((status, tags)) = entry.visible() {
            *self.all.slot(status) -= 1;
            for tag in tags {
                if let Some(counts) = self.by_tag.get_mut(tag) {
                    *counts.slot(status) -= 1;
                    if counts.total() == 0 {
                        self.by_tag.remove(tag);
                    }
                }
            }
        }
        change(entry);
        if let Some((status, tags)) = entry.visible() {
            *self.all.slot(status) += 1;
            for tag in tags {
                *self.by_tag.entry(tag.clone()).or_default().slot(status) += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests;
