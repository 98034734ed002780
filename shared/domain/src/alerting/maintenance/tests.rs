//! Maintenance windows: parsing either schedule, and finding the window that covers an instant,
//! across daylight-saving changes.

use chrono::TimeZone;
use serde_json::json;
use uuid::Uuid;

use super::*;

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).single().expect("a valid time")
}

fn recurring(cron: &str, duration_s: u32, timezone: &str) -> WindowSchedule {
    WindowSchedule::Recurring { cron: cron.to_owned(), duration_s, timezone: timezone.to_owned() }
}

#[test]
fn given_a_fixed_span_when_parsed_then_it_covers_from_its_start_up_to_but_not_at_its_end() {
    let spec = parse_maintenance(&json!({
        "name": "db upgrade", "starts_at": "2025-01-31T02:00:00+01:00", "ends_at": "2025-01-31T03:00:00Z",
        "id": "x", "created_at": "y",
    }))
    .expect("valid");
    let schedule = &spec.schedule;
    assert_eq!(schedule, &WindowSchedule::Once { starts_at: utc(2025, 1, 31, 1, 0), ends_at: utc(2025, 1, 31, 3, 0) });
    assert_eq!(schedule.active_until(utc(2025, 1, 31, 1, 0)), Some(utc(2025, 1, 31, 3, 0)));
    assert_eq!(schedule.active_until(utc(2025, 1, 31, 0, 59)), None);
    assert_eq!(schedule.active_until(utc(2025, 1, 31, 3, 0)), None, "the end is outside");
    assert_eq!(spec.selector, Selector::default());
}

#[test]
fn given_a_recurring_window_when_parsed_then_it_round_trips_through_serde() {
    let spec = parse_maintenance(&json!({
        "name": "weekly", "selector": {"tags": ["db"]}, "cron": "0 2 * * sun", "duration_s": 3600,
        "timezone": "Europe/Berlin",
    }))
    .expect("valid");
    assert_eq!(spec.schedule, recurring("0 2 * * sun", 3600, "Europe/Berlin"));
    let stored = serde_json::to_value(&spec).expect("serializable");
    assert_eq!(stored["cron"], "0 2 * * sun");
    assert_eq!(serde_json::from_value::<MaintenanceSpec>(stored).expect("readable"), spec);
}

#[test]
fn given_bad_fields_when_parsed_then_each_is_named() {
    let bad_recurring = parse_maintenance(&json!({
        "name": "", "cron": "0 2 * *", "duration_s": 59, "timezone": "Mars/Olympus", "extra": 1,
    }))
    .unwrap_err();
    let named: Vec<&str> = bad_recurring.fields().keys().map(String::as_str).collect();
    assert_eq!(named, ["cron", "duration_s", "extra", "name", "timezone"]);

    let never = parse_maintenance(&json!({"name": "n", "cron": "0 0 30 2 *", "duration_s": 60, "timezone": "UTC"}));
    assert_eq!(never.unwrap_err().fields()["cron"], "never fires");

    let backwards = parse_maintenance(&json!({
        "name": "n", "starts_at": "2025-01-31T03:00:00Z", "ends_at": "2025-01-31T03:00:00Z",
    }));
    assert!(backwards.unwrap_err().fields().contains_key("ends_at"));

    let garbled = parse_maintenance(&json!({"name": "n", "starts_at": "tomorrow"})).unwrap_err();
    assert_eq!(garbled.fields().keys().collect::<Vec<_>>(), ["ends_at", "starts_at"]);

    let partial = parse_maintenance(&json!({"name": "n", "cron": "@daily"})).unwrap_err();
    assert_eq!(partial.fields().keys().collect::<Vec<_>>(), ["duration_s", "timezone"]);
}

#[test]
fn given_both_schedules_or_neither_when_parsed_then_it_is_refused() {
    let both = parse_maintenance(&json!({
        "name": "n", "starts_at": "2025-01-31T02:00:00Z", "ends_at": "2025-01-31T03:00:00Z",
        "cron": "@daily", "duration_s": 60, "timezone": "UTC",
    }))
    .unwrap_err();
    for field in ["starts_at", "ends_at", "cron", "duration_s", "timezone"] {
        assert!(both.fields()[field].contains("not both"), "{field}: {both}");
    }
    let neither = parse_maintenance(&json!({"name": "n"})).unwrap_err();
    assert!(neither.fields().contains_key("starts_at"), "{neither}");
}

#[test]
fn given_a_weekly_window_when_asked_inside_and_outside_then_the_window_end_or_none_comes_back() {
    // Sundays 02:00 in Berlin, for two hours; 2025-01-05 is a Sunday (CET, UTC+1).
    let window = recurring("0 2 * * sun", 7200, "Europe/Berlin");
    assert_eq!(window.active_until(utc(2025, 1, 5, 1, 0)), Some(utc(2025, 1, 5, 3, 0)), "at its start");
    assert_eq!(window.active_until(utc(2025, 1, 5, 2, 59)), Some(utc(2025, 1, 5, 3, 0)), "started before `at`");
    assert_eq!(window.active_until(utc(2025, 1, 5, 3, 0)), None, "at its end");
    assert_eq!(window.active_until(utc(2025, 1, 5, 0, 59)), None, "before it");
    assert_eq!(window.active_until(utc(2025, 1, 8, 1, 30)), None, "a Wednesday");
}

#[test]
fn given_the_spring_forward_sunday_then_a_window_at_a_skipped_time_opens_when_the_clock_resumes() {
    // 2024-03-31, Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC), so 02:30 never happens.
    let window = recurring("30 2 * * sun", 3600, "Europe/Berlin");
    assert_eq!(window.active_until(utc(2024, 3, 31, 0, 59)), None);
    assert_eq!(window.active_until(utc(2024, 3, 31, 1, 0)), Some(utc(2024, 3, 31, 2, 0)));
    assert_eq!(window.active_until(utc(2024, 3, 31, 1, 59)), Some(utc(2024, 3, 31, 2, 0)));
    // A week later 02:30 CEST is 00:30 UTC again.
    assert_eq!(window.active_until(utc(2024, 4, 7, 0, 30)), Some(utc(2024, 4, 7, 1, 30)));
}

#[test]
fn given_the_fall_back_night_then_a_repeated_time_opens_one_window_in_zone_time() {
    // 2024-10-27, Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice, first at 00:30 UTC.
    let window = recurring("30 2 * * *", 1800, "Europe/Berlin");
    assert_eq!(window.active_until(utc(2024, 10, 27, 0, 45)), Some(utc(2024, 10, 27, 1, 0)));
    assert_eq!(window.active_until(utc(2024, 10, 28, 1, 45)), Some(utc(2024, 10, 28, 2, 0)), "CET the next day");
    assert_eq!(window.active_until(utc(2024, 10, 28, 0, 45)), None, "not at the CEST time the next day");
}

#[test]
fn given_a_long_window_of_a_dense_or_sparse_cron_then_the_latest_start_before_at_decides() {
    let minutely = recurring("* * * * *", 604_800, "UTC");
    assert_eq!(minutely.active_until(utc(2025, 1, 1, 12, 0)), Some(utc(2025, 1, 8, 12, 0)));
    let yearly = recurring("0 0 1 1 *", 604_800, "UTC");
    assert_eq!(yearly.active_until(utc(2025, 1, 7, 23, 59)), Some(utc(2025, 1, 8, 0, 0)));
    assert_eq!(yearly.active_until(utc(2025, 1, 8, 0, 0)), None);
    assert_eq!(recurring("bad", 60, "UTC").active_until(utc(2025, 1, 1, 0, 0)), None);
}

#[test]
fn given_a_selector_then_only_matched_targets_are_covered() {
    let spec = MaintenanceSpec {
        name: "n".into(),
        selector: Selector { tags: vec!["db".into()], targets: vec![] },
        schedule: WindowSchedule::Once { starts_at: utc(2025, 1, 1, 0, 0), ends_at: utc(2025, 1, 2, 0, 0) },
    };
    let at = utc(2025, 1, 1, 6, 0);
    assert_eq!(spec.covers_until(Uuid::from_u128(1), &["db".into()], at), Some(utc(2025, 1, 2, 0, 0)));
    assert_eq!(spec.covers_until(Uuid::from_u128(1), &["web".into()], at), None);
}

#[test]
fn given_a_nightly_window_when_a_week_is_asked_then_each_night_is_a_span_clipped_to_the_week() {
    let nightly = recurring("0 2 * * *", 3600, "UTC");
    // The week starts inside one night's window and ends inside another's.
    let week = Range { from: utc(2026, 11, 2, 2, 30), to: utc(2026, 11, 9, 2, 15) };
    let spans = nightly.spans_within(&week);
    assert_eq!(spans.len(), 8);
    assert_eq!(spans[0], Range { from: utc(2026, 11, 2, 2, 30), to: utc(2026, 11, 2, 3, 0) });
    assert_eq!(spans[1], Range { from: utc(2026, 11, 3, 2, 0), to: utc(2026, 11, 3, 3, 0) });
    assert_eq!(spans[7], Range { from: utc(2026, 11, 9, 2, 0), to: utc(2026, 11, 9, 2, 15) });
    let once = WindowSchedule::Once { starts_at: utc(2026, 11, 1, 0, 0), ends_at: utc(2026, 11, 2, 3, 0) };
    assert_eq!(once.spans_within(&week), [Range { from: week.from, to: utc(2026, 11, 2, 3, 0) }]);
}
