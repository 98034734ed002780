//! Given a request's parameters, when its span and buckets are worked out, then …

use super::*;

fn now() -> DateTime<Utc> {
    "2026-12-02T12:00:00Z".parse().expect("time")
}

fn range(window: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Range, ValidationErrors> {
    Range::from_query(window, from, to, Window::Day, now())
}

fn field(errors: ValidationErrors) -> String {
    errors.fields().keys().next().cloned().expect("a field")
}

#[test]
fn a_named_window_ends_now() {
    for window in Window::ALL {
        let span = range(Some(window.as_str()), None, None).expect("valid");
        assert_eq!((span.to, span.length()), (now(), window.length()), "{}", window.as_str());
    }
    assert_eq!(range(Some("365d"), None, None).expect("valid").length(), Duration::days(365));
}

#[test]
fn no_parameter_is_the_default_window() {
    assert_eq!(range(None, None, None).expect("valid"), Range { from: now() - Duration::hours(24), to: now() });
}

#[test]
fn an_explicit_span_is_taken_as_given_and_to_defaults_to_now() {
    let span = range(None, Some("2026-12-01T00:00:00Z"), Some("2026-12-01T06:30:00+02:00")).expect("valid");
    assert_eq!(span.from, "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().expect("time"));
    assert_eq!(span.to, "2026-12-01T04:30:00Z".parse::<DateTime<Utc>>().expect("time"));
    assert_eq!(range(None, Some("2026-12-01T00:00:00Z"), None).expect("valid").to, now());
}

#[test]
fn each_bad_parameter_is_named() {
    assert_eq!(field(range(Some("2w"), None, None).unwrap_err()), "window");
    assert_eq!(field(range(Some("24h"), Some("2026-12-01T00:00:00Z"), None).unwrap_err()), "window");
    assert_eq!(field(range(None, Some("yesterday"), None).unwrap_err()), "from");
    assert_eq!(field(range(None, Some("2026-12-01T00:00:00Z"), Some("soon")).unwrap_err()), "to");
    assert_eq!(field(range(None, None, Some("2026-12-01T00:00:00Z")).unwrap_err()), "from");
    assert_eq!(field(range(None, Some("2026-12-02T00:00:00Z"), Some("2026-12-01T00:00:00Z")).unwrap_err()), "from");
    assert_eq!(field(range(None, Some("2026-12-01T00:00:00Z"), Some("2026-12-01T00:00:00Z")).unwrap_err()), "from");
    assert_eq!(field(range(None, Some("1990-01-01T00:00:00Z"), None).unwrap_err()), "from", "longer than ten years");
}

#[test]
fn an_absent_step_is_the_narrowest_giving_at_most_500_buckets() {
    let step = |window: Window| {
        let span = Range { from: now() - window.length(), to: now() };
        SeriesStep::for_range(None, &span).expect("chosen").seconds()
    };
    assert_eq!(step(Window::Hour), 60);
    assert_eq!(step(Window::Day), 300, "1,440 minutes would be too many; 288 five-minute buckets are not");
    assert_eq!(step(Window::Week), 3600);
    assert_eq!(step(Window::Month), 86400, "720 hourly buckets are too many");
    assert_eq!(step(Window::Year), 86400);
}

#[test]
fn a_span_too_long_even_for_daily_buckets_names_from() {
    let span = Range { from: now() - Duration::days(501), to: now() };
    assert_eq!(field(SeriesStep::for_range(None, &span).unwrap_err()), "from");
}

#[test]
fn a_given_step_is_one_of_the_rollup_widths_and_gives_at_most_10_000_buckets() {
    let day = Range { from: now() - Duration::hours(24), to: now() };
    assert_eq!(SeriesStep::for_range(Some("60"), &day).expect("valid").seconds(), 60);
    assert_eq!(SeriesStep::for_range(Some("86400"), &day).expect("valid").seconds(), 86400);
    for bad in ["0", "61", "-60", "1e3", "", "60s"] {
        assert_eq!(field(SeriesStep::for_range(Some(bad), &day).unwrap_err()), "step_s", "{bad:?}");
    }
    let year = Range { from: now() - Duration::days(365), to: now() };
    assert_eq!(field(SeriesStep::for_range(Some("60"), &year).unwrap_err()), "step_s", "525,600 buckets");
    assert_eq!(SeriesStep::for_range(Some("3600"), &year).expect("8,760 buckets").seconds(), 3600);
}

#[test]
fn buckets_are_aligned_to_the_epoch() {
    let step =
        SeriesStep::for_range(Some("300"), &Range { from: now() - Duration::hours(1), to: now() }).expect("valid");
    let at: DateTime<Utc> = "2026-12-02T12:07:59Z".parse().expect("time");
    assert_eq!(step.bucket_start(at), "2026-12-02T12:05:00Z".parse::<DateTime<Utc>>().expect("time"));
    let before_epoch: DateTime<Utc> = "1969-12-31T23:59:59Z".parse().expect("time");
    assert_eq!(step.bucket_start(before_epoch), "1969-12-31T23:55:00Z".parse::<DateTime<Utc>>().expect("time"));
}
