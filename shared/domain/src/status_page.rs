//! What a public status page decides about its targets: the endpoint keys Gatus's badge paths
//! use, how good an uptime or a response time reads, and the days of the 90-day bar.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Days in the status page's bar, today last.
pub const BAR_DAYS: i64 = 90;

/// Gatus's key for an endpoint: `<group>_<name>`, each part lower-cased with spaces and
/// `/ _ , . # + &` turned into `-` (no group: `_<name>`), so its badge URLs keep working here.
pub fn endpoint_key(group: Option<&str>, name: &str) -> String {
    format!("{}_{}", key_part(group.unwrap_or("")), key_part(name))
}

fn key_part(text: &str) -> String {
    text.to_lowercase().chars().map(|c| if " /_,.#+&".contains(c) { '-' } else { c }).collect()
}

/// How good a figure is, from best to worst; `Unmeasured` when there is nothing to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    Excellent,
    Good,
    Fair,
    Poor,
    Bad,
    Unmeasured,
}

impl Grade {
    /// An uptime (0 … 1): three nines and better is excellent, under 95 % bad.
    pub fn of_uptime(uptime: Option<f64>) -> Self {
        match uptime {
            None => Grade::Unmeasured,
            Some(u) if u >= 0.999 => Grade::Excellent,
            Some(u) if u >= 0.99 => Grade::Good,
            Some(u) if u >= 0.975 => Grade::Fair,
            Some(u) if u >= 0.95 => Grade::Poor,
            Some(_) => Grade::Bad,
        }
    }

    /// A mean response time in milliseconds.
    pub fn of_response_ms(mean_ms: Option<f64>) -> Self {
        match mean_ms {
            None => Grade::Unmeasured,
            Some(ms) if ms < 100.0 => Grade::Excellent,
            Some(ms) if ms < 300.0 => Grade::Good,
            Some(ms) if ms < 600.0 => Grade::Fair,
            Some(ms) if ms < 1000.0 => Grade::Poor,
            Some(_) => Grade::Bad,
        }
    }

    /// The word the page and its CSS classes use.
    pub fn word(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::Fair => "fair",
            Grade::Poor => "poor",
            Grade::Bad => "bad",
            Grade::Unmeasured => "unmeasured",
        }
    }
}

/// The days of the bar ending with the day `now` is in (UTC), oldest first: each day's start as
/// milliseconds since the epoch, which is how day rollups are keyed.
pub fn bar_days(now: DateTime<Utc>) -> Vec<(NaiveDate, i64)> {
    let today = now.date_naive();
    (0..BAR_DAYS)
        .rev()
        .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
        .filter_map(|day| Some((day, day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())))
        .collect()
}

/// A status page's window names as its JSON and badge paths spell them, with their lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeWindow {
    Hour,
    Day,
    Week,
    Month,
}

impl BadgeWindow {
    /// `1h`, `24h`, `7d` or `30d`; anything else is no window.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "1h" => Some(Self::Hour),
            "24h" => Some(Self::Day),
            "7d" => Some(Self::Week),
            "30d" => Some(Self::Month),
            _ => None,
        }
    }

    pub fn length(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::hours(24),
            Self::Week => Duration::days(7),
            Self::Month => Duration::days(30),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_gatus_names_when_keyed_then_the_key_matches_gatus() {
        assert_eq!(endpoint_key(Some("Core"), "Front End"), "core_front-end");
        assert_eq!(endpoint_key(None, "api.example.com/health"), "_api-example-com-health");
        assert_eq!(endpoint_key(Some("a_b,c#d+e&f"), "X"), "a-b-c-d-e-f_x");
    }

    #[test]
    fn given_uptimes_when_graded_then_better_figures_grade_no_worse() {
        let grades: Vec<Grade> =
            [1.0, 0.9995, 0.995, 0.98, 0.96, 0.5].iter().map(|u| Grade::of_uptime(Some(*u))).collect();
        assert_eq!(grades, [Grade::Excellent, Grade::Excellent, Grade::Good, Grade::Fair, Grade::Poor, Grade::Bad]);
        assert_eq!(Grade::of_uptime(None), Grade::Unmeasured);
        assert!(Grade::of_response_ms(Some(50.0)) < Grade::of_response_ms(Some(2000.0)));
    }

    #[test]
    fn given_a_moment_when_the_bar_is_laid_out_then_it_ends_today_with_ninety_midnights() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T13:30:00Z").expect("a time").with_timezone(&Utc);
        let days = bar_days(now);
        assert_eq!(days.len(), 90);
        assert_eq!(days[89].0.to_string(), "2026-12-04");
        assert_eq!(days[89].1 % 86_400_000, 0);
        assert_eq!(days[89].1 - days[0].1, 89 * 86_400_000);
    }

    #[test]
    fn given_window_words_when_parsed_then_only_the_four_known_ones_are_windows() {
        for word in ["1h", "24h", "7d", "30d"] {
            assert_eq!(BadgeWindow::parse(word).map(BadgeWindow::label), Some(word));
        }
        assert_eq!(BadgeWindow::parse("2d"), None);
        assert_eq!(BadgeWindow::Week.length(), Duration::days(7));
    }
}
