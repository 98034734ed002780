//! Backend-independent parts of the store: building outbox events and the value conversions both
//! dialects share. (The projection's transactions are `crate::projection`; its rules are the domain's.)

use chrono::{DateTime, Utc};
use healthmon_domain::events::{self, HealthChanged, TargetChanged};
use healthmon_domain::projection::ProjectedTarget;
use healthmon_domain::{HealthState, HealthStatus, Target, Thresholds};
use uuid::Uuid;

use crate::{OutboxStream, Page};

/// An outbox row before the database numbers it.
pub(crate) struct PendingOutbox {
    pub stream: OutboxStream,
    pub key: Uuid,
    pub msg_id: Uuid,
    pub payload: Vec<u8>,
}

impl PendingOutbox {
    pub fn target(change: &TargetChanged, source: &str, now: DateTime<Utc>) -> Self {
        let event_id = Uuid::now_v7();
        Self {
            stream: OutboxStream::Targets,
            key: change.target_id(),
            msg_id: event_id,
            payload: events::encode_target(change, event_id, source, now),
        }
    }

    pub fn health(change: &HealthChanged, source: &str) -> Self {
        Self {
            stream: OutboxStream::Health,
            key: change.target_id,
            msg_id: change.event_id(),
            payload: events::encode_health(change, source),
        }
    }
}

pub(crate) fn parse_status(text: &str) -> anyhow::Result<HealthStatus> {
    text.parse().map_err(anyhow::Error::msg)
}

/// Counters are u32 in the domain and wider in the database; out-of-range values saturate.
pub(crate) fn counter(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// `%text%` for a case-insensitive LIKE with `\` as the escape character, so a `%` or `_` in
/// the query matches itself.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// The unique index of [`crate::DuplicateResource`] (migration 0005).
const RESOURCE_INDEX: &str = "targets_resource_host";

/// A failed target insert or update as the caller should see it: a violation of the one unique
/// index on targets becomes [`crate::DuplicateResource`], anything else stays as it was.
pub(crate) fn target_write_error(error: sqlx::Error, target: &Target, doing: &'static str) -> anyhow::Error {
    let duplicate = match &error {
        sqlx::Error::Database(database) => {
            // Postgres names the index; SQLite names the column (`targets.resource_host`).
            database.is_unique_violation()
                && (database.constraint() == Some(RESOURCE_INDEX) || database.message().contains("resource_host"))
        }
        _ => false,
    };
    match target.spec.resource_hostname() {
        Some(host) if duplicate => anyhow::Error::new(crate::DuplicateResource { host }),
        _ => anyhow::Error::new(error).context(doing),
    }
}

/// How many rows to fetch for a page of `limit`: one more tells whether another page follows.
pub(crate) fn fetch_limit(limit: u32) -> i64 {
    i64::from(limit) + 1
}

/// Cuts the extra row fetched by [`fetch_limit`] and derives the next cursor from the last item.
pub(crate) fn into_page<T>(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more { items.last().map(cursor_of) } else { None };
    Page { items, next_cursor }
}

/// The projection's view of a target from a row of either dialect's ingest lookup (columns `name`,
/// `target_check_version`, `healthy_threshold`, `unhealthy_threshold`), around its health.
pub(crate) fn projected_target<R>(row: &R, health: HealthState) -> anyhow::Result<ProjectedTarget>
where
    R: sqlx::Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    use anyhow::Context;
    let defaults = Thresholds::default();
    let healthy: Option<i64> = row.try_get("healthy_threshold").context("read healthy threshold")?;
    let unhealthy: Option<i64> = row.try_get("unhealthy_threshold").context("read unhealthy threshold")?;
    Ok(ProjectedTarget {
        name: row.try_get("name").context("read target name")?,
        check_version: row.try_get("target_check_version").context("read target check version")?,
        thresholds: Thresholds {
            healthy: healthy.map_or(defaults.healthy, counter),
            unhealthy: unhealthy.map_or(defaults.unhealthy, counter),
        },
        health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_query_match_themselves() {
        assert_eq!(contains_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_follow() {
        let page = into_page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let page = into_page(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(page.next_cursor, None);
    }
}
