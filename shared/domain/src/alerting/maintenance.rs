//! Maintenance windows: a selector and either one fixed span or a recurring one (a cron expression
//! in a time zone, lasting `duration_s`). Inside a window a matched target's notifications are
//! recorded as suppressed; the window's end is when a still-open outage is finally told.

use chrono::{DateTime, Duration, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};

use super::Selector;
use super::fields::Fields;
use crate::ValidationErrors;
use crate::history::Range;

/// A recurring window lasts at least a minute and at most a week.
pub const DURATION_RANGE: (u32, u32) = (60, 604_800);
const READ_ONLY: &[&str] = &["id", "created_at", "updated_at"];
const COMMON: &[&str] = &["name", "selector"];
const ONCE_FIELDS: &[&str] = &["starts_at", "ends_at"];
const RECURRING_FIELDS: &[&str] = &["cron", "duration_s", "timezone"];
const MAX_CRON_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WindowSchedule {
    /// One span, `[starts_at, ends_at)`.
    Once { starts_at: DateTime<Utc>, ends_at: DateTime<Utc> },
    /// Each occurrence of `cron` (five fields, in `timezone`, an IANA name) opens a window of
    /// `duration_s` seconds.
    Recurring { cron: String, duration_s: u32, timezone: String },
}

impl WindowSchedule {
    /// When the window that contains `at` ends, or `None` when `at` is outside every occurrence.
    pub fn active_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Once { starts_at, ends_at } => (*starts_at <= at && at < *ends_at).then_some(*ends_at),
            Self::Recurring { cron, duration_s, timezone } => {
                let cron = parse_cron(cron).ok()?;
                let zone = timezone.parse::<chrono_tz::Tz>().ok()?;
                latest_window_containing(&cron, zone, Duration::seconds(i64::from(*duration_s)), at)
            }
        }
    }
}

/// Occurrences read at most for one window over one span: a minutely window over a year is half a
/// million; beyond this the rest of the span counts as outside the window.
const MAX_OCCURRENCES: usize = 100_000;

impl WindowSchedule {
    /// The spans of this window's occurrences that overlap `range` (clipped to it), in order.
    pub fn spans_within(&self, range: &Range) -> Vec<Range> {
        let clip = |from: DateTime<Utc>, to: DateTime<Utc>| {
            let span = Range { from: from.max(range.from), to: to.min(range.to) };
            (span.from < span.to).then_some(span)
        };
        match self {
            Self::Once { starts_at, ends_at } => clip(*starts_at, *ends_at).into_iter().collect(),
            Self::Recurring { cron, duration_s, timezone } => {
                let (Ok(cron), Ok(zone)) = (parse_cron(cron), timezone.parse::<chrono_tz::Tz>()) else {
                    return Vec::new();
                };
                let duration = Duration::seconds(i64::from(*duration_s));
                // An occurrence that began up to `duration` before the range still reaches into it.
                let search_from = (range.from - duration - Duration::minutes(1)).with_timezone(&zone);
                cron.iter_after(search_from)
                    .map(|occurrence| occurrence.with_timezone(&Utc))
                    .take_while(|start| *start < range.to)
                    .take(MAX_OCCURRENCES)
                    .filter_map(|start| clip(start, start + duration))
                    .collect()
            }
        }
    }
}

/// Five fields (minute hour day-of-month month day-of-week) or a nickname such as `@daily`.
fn parse_cron(text: &str) -> Result<Cron, croner::errors::CronError> {
    CronParser::builder().seconds(Seconds::Disallowed).build().parse(text)
}

/// The end of the window opened by the latest occurrence `o` of `cron` in `zone` with
/// `o <= at < o + duration`. Occurrences are only ever searched forwards (croner's backward
/// search misplaces them around DST changes): from `at - step` for a step that doubles from a
/// minute up to `duration`, so a dense schedule is settled near `at` and a sparse one with a few
/// searches, instead of walking every occurrence of a minutely cron across a week.
fn latest_window_containing(
    cron: &Cron,
    zone: chrono_tz::Tz,
    duration: Duration,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut step = Duration::minutes(1).min(duration);
    loop {
        let from = (at - step).with_timezone(&zone);
        let mut latest = None;
        for occurrence in cron.iter_after(from) {
            let occurrence = occurrence.with_timezone(&Utc);
            if occurrence > at {
                break;
            }
            latest = Some(occurrence);
        }
        if let Some(start) = latest {
            return Some(start + duration);
        }
        if step >= duration {
            return None;
        }
        step = (step * 2).min(duration);
    }
}

/// Everything a client may write about a maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceSpec {
    pub name: String,
    pub selector: Selector,
    #[serde(flatten)]
    pub schedule: WindowSchedule,
}

impl MaintenanceSpec {
    /// When this window, for a target with `target_id` and `tags`, ends if it is open at `at`.
    pub fn covers_until(&self, target_id: uuid::Uuid, tags: &[String], at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.selector.matches(target_id, tags) { self.schedule.active_until(at) } else { None }
    }

    /// The spans of `range` this window covers for a target with `target_id` and `tags`.
    pub fn covers_within(&self, target_id: uuid::Uuid, tags: &[String], range: &Range) -> Vec<Range> {
        if self.selector.matches(target_id, tags) { self.schedule.spans_within(range) } else { Vec::new() }
    }
}

/// Validates a complete window document: `name`, `selector` and either `starts_at` + `ends_at`
/// (RFC 3339, ends after it starts) or `cron` + `duration_s` + `timezone` (a valid five-field cron
/// that ever fires, an IANA zone, 60 ≤ duration ≤ 7 days), never both, each bad field named.
pub fn parse_maintenance(value: &serde_json::Value) -> Result<MaintenanceSpec, ValidationErrors> {
    let mut fields = Fields::of(value)?;
    fields.reject_unknown(&[COMMON, READ_ONLY, ONCE_FIELDS, RECURRING_FIELDS]);
    let name = fields.name();
    let selector = fields.selector();
    let once = ONCE_FIELDS.iter().any(|field| fields.present(field));
    let recurring = RECURRING_FIELDS.iter().any(|field| fields.present(field));
    let schedule = match (once, recurring) {
        (true, true) => {
            let given: Vec<&str> =
                ONCE_FIELDS.iter().chain(RECURRING_FIELDS).copied().filter(|field| fields.present(field)).collect();
            for field in given {
                fields
                    .errors
                    .add(field, "give either starts_at and ends_at, or cron, duration_s and timezone; not both");
            }
            None
        }
        (false, false) => {
            fields
                .errors
                .add("starts_at", "is required (with ends_at), unless cron, duration_s and timezone are given");
            None
        }
        (true, false) => once_schedule(&mut fields),
        (false, true) => recurring_schedule(&mut fields),
    };
    let spec = match (name, schedule) {
        (Some(name), Some(schedule)) => Some(MaintenanceSpec { name, selector, schedule }),
        _ => None,
    };
    fields.finish(spec)
}

fn once_schedule(fields: &mut Fields<'_>) -> Option<WindowSchedule> {
    let starts_at = instant(fields, "starts_at");
    let ends_at = instant(fields, "ends_at");
    let (starts_at, ends_at) = (starts_at?, ends_at?);
    if ends_at <= starts_at {
        fields.errors.add("ends_at", "must be after starts_at");
        return None;
    }
    Some(WindowSchedule::Once { starts_at, ends_at })
}

fn instant(fields: &mut Fields<'_>, field: &str) -> Option<DateTime<Utc>> {
    let text = fields.required_str(field)?;
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(instant) => Some(instant.with_timezone(&Utc)),
        Err(_) => {
            fields.errors.add(field, "must be an RFC 3339 time such as 2025-01-31T02:00:00Z");
            None
        }
    }
}

fn recurring_schedule(fields: &mut Fields<'_>) -> Option<WindowSchedule> {
    let cron = fields.required_str("cron").and_then(|text| {
        let text = text.trim().to_owned();
        let problem = match parse_cron(&text) {
            _ if text.chars().count() > MAX_CRON_CHARS => format!("must be at most {MAX_CRON_CHARS} characters"),
            Err(error) => format!("is not a five-field cron expression (minute hour day month weekday): {error}"),
            // A pattern such as `0 0 30 2 *` parses but never fires.
            Ok(cron) if cron.find_next_occurrence(&DateTime::<Utc>::UNIX_EPOCH, false).is_err() => {
                "never fires".to_owned()
            }
            Ok(_) => return Some(text),
        };
        fields.errors.add("cron", problem);
        None
    });
    let (min, max) = DURATION_RANGE;
    let duration_s = if fields.present("duration_s") {
        let duration = fields.number("duration_s", 0, |n| (min..=max).contains(&n), &format!("from {min} to {max}"));
        (duration != 0).then_some(duration)
    } else {
        fields.errors.add("duration_s", "is required with cron");
        None
    };
    let timezone = fields.required_str("timezone").and_then(|name| match name.trim().parse::<chrono_tz::Tz>() {
        Ok(zone) => Some(zone.name().to_owned()),
        Err(_) => {
            fields.errors.add("timezone", format!("\"{name}\" is not an IANA time zone such as Europe/Berlin or UTC"));
            None
        }
    });
    Some(WindowSchedule::Recurring { cron: cron?, duration_s: duration_s?, timezone: timezone? })
}

#[cfg(test)]
mod tests;
