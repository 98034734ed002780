//! Postgres reads: targets with their health, sample history and transitions, all keyset-paged.

use anyhow::Context;
use chrono::{DateTime, Utc};
use healthmon_domain::Sample;
use healthmon_domain::sample::sample_id;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{RECORD_COLUMNS, record_from_row};
use crate::common::{contains_pattern, fetch_limit, into_page, parse_status};
use crate::{Page, SampleQuery, TargetFilter, TargetRecord, TransitionRecord};

fn select_records() -> QueryBuilder<'static, Postgres> {
    QueryBuilder::new(format!(
        "SELECT {RECORD_COLUMNS} FROM targets t JOIN target_health h ON h.target_id = t.id WHERE TRUE"
    ))
}

pub(super) async fn get_target(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<TargetRecord>> {
    let mut query = select_records();
    query.push(" AND t.id = ").push_bind(id);
    let row = query.build().fetch_optional(pool).await.context("read the target")?;
    row.as_ref().map(record_from_row).transpose()
}

pub(super) async fn list_targets(pool: &PgPool, filter: &TargetFilter) -> anyhow::Result<Page<TargetRecord>> {
    let mut query = select_records();
    if let Some(cursor) = filter.cursor {
        query.push(" AND t.id > ").push_bind(cursor);
    }
    if let Some(status) = filter.status {
        query.push(" AND (CASE WHEN t.enabled THEN h.status ELSE 'paused' END) = ").push_bind(status.as_str());
    }
    if let Some(tag) = &filter.tag {
        query.push(" AND t.tags @> ").push_bind(Json([tag.clone()]));
    }
    if let Some(kind) = &filter.kind {
        query.push(" AND t.kind = ").push_bind(kind.clone());
    }
    if let Some(q) = &filter.q {
        query.push(" AND lower(t.name) LIKE ").push_bind(contains_pattern(q)).push(" ESCAPE '\\'");
    }
    query.push(" ORDER BY t.id LIMIT ").push_bind(fetch_limit(filter.limit));
    let rows = query.build().fetch_all(pool).await.context("list targets")?;
    let records = rows.iter().map(record_from_row).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(into_page(records, filter.limit, |record| record.target.id.to_string()))
}

pub(super) async fn all_targets(pool: &PgPool) -> anyhow::Result<Vec<TargetRecord>> {
    let mut query = select_records();
    query.push(" ORDER BY t.id");
    let rows = query.build().fetch_all(pool).await.context("read every target")?;
    rows.iter().map(record_from_row).collect()
}

pub(super) async fn samples(pool: &PgPool, query: &SampleQuery) -> anyhow::Result<Page<Sample>> {
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT target_id, slot, at, success, status_code, latency_ms, error, prober, check_version \
         FROM samples WHERE target_id = ",
    );
    sql.push_bind(query.target_id);
    if let Some(kept_from) = query.kept_from_slot {
        sql.push(" AND slot >= ").push_bind(kept_from);
    }
    if let Some(before) = query.before_slot {
        sql.push(" AND slot < ").push_bind(before);
    }
    if let Some(from) = query.from {
        sql.push(" AND at >= ").push_bind(from);
    }
    if let Some(to) = query.to {
        sql.push(" AND at < ").push_bind(to);
    }
    sql.push(" ORDER BY slot DESC LIMIT ").push_bind(fetch_limit(query.limit));
    // Planned with its bounds each time, so that Postgres prunes the day partitions by them
    // instead of keeping a generic plan that locks every day on each execution.
    let rows = sql.build().persistent(false).fetch_all(pool).await.context("read samples")?;
    let samples = rows.iter().map(sample_from_row).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(into_page(samples, query.limit, |sample| sample.slot.to_string()))
}

pub(super) async fn transitions(
    pool: &PgPool,
    target_id: Uuid,
    limit: u32,
    cursor: Option<i64>,
) -> anyhow::Result<Page<TransitionRecord>> {
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT seq, target_id, from_status, to_status, at, reason FROM transitions WHERE target_id = ",
    );
    sql.push_bind(target_id);
    if let Some(cursor) = cursor {
        sql.push(" AND seq < ").push_bind(cursor);
    }
    sql.push(" ORDER BY seq DESC LIMIT ").push_bind(fetch_limit(limit));
    let rows = sql.build().fetch_all(pool).await.context("read transitions")?;
    let records = rows.iter().map(transition_from_row).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(into_page(records, limit, |record| record.seq.to_string()))
}

fn sample_from_row(row: &PgRow) -> anyhow::Result<Sample> {
    let status_code: Option<i32> = row.try_get("status_code").context("read sample status code")?;
    let target_id: Uuid = row.try_get("target_id").context("read sample target")?;
    let slot: i64 = row.try_get("slot").context("read sample slot")?;
    Ok(Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: row.try_get::<DateTime<Utc>, _>("at").context("read sample time")?,
        success: row.try_get("success").context("read sample success")?,
        status_code: status_code.map(u16::try_from).transpose().context("stored status code out of range")?,
        latency_ms: row.try_get("latency_ms").context("read sample latency")?,
        error: row.try_get("error").context("read sample error")?,
        prober: row.try_get("prober").context("read sample prober")?,
        check_version: row.try_get("check_version").context("read sample check version")?,
        pin_host_key: None,
    })
}

pub(super) fn transition_from_row(row: &PgRow) -> anyhow::Result<TransitionRecord> {
    let from: String = row.try_get("from_status").context("read transition origin")?;
    let to: String = row.try_get("to_status").context("read transition destination")?;
    Ok(TransitionRecord {
        seq: row.try_get("seq").context("read transition seq")?,
        target_id: row.try_get("target_id").context("read transition target")?,
        from: parse_status(&from)?,
        to: parse_status(&to)?,
        at: row.try_get("at").context("read transition time")?,
        reason: row.try_get("reason").context("read transition reason")?,
    })
}

/// Those of `ids` that are stored, with their health, by id.
pub(super) async fn targets_by_ids<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    ids: &[Uuid],
) -> anyhow::Result<Vec<TargetRecord>> {
    let mut query = select_records();
    query.push(" AND t.id = ANY(").push_bind(ids.to_vec()).push(") ORDER BY t.id");
    let rows = query.build().fetch_all(executor).await.context("read the targets")?;
    rows.iter().map(record_from_row).collect()
}
