//! The span an uptime or series request covers: a named window ending now (`window=24h`), or an
//! explicit `from`/`to` in RFC 3339; and a series' bucket width, given or chosen.

use chrono::{DateTime, Duration, Utc};

use crate::validation::ValidationErrors;

/// The windows the contract names, shortest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Window {
    pub const ALL: [Window; 6] =
        [Window::Hour, Window::Day, Window::Week, Window::Month, Window::Quarter, Window::Year];

    /// What a request writes: `1h`, `24h`, `7d`, `30d`, `90d`, `365d`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
            Window::Quarter => "90d",
            Window::Year => "365d",
        }
    }

    pub fn parse(text: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|window| window.as_str() == text)
    }

    pub fn length(self) -> Duration {
        match self {
            Window::Hour => Duration::hours(1),
            Window::Day => Duration::hours(24),
            Window::Week => Duration::days(7),
            Window::Month => Duration::days(30),
            Window::Quarter => Duration::days(90),
            Window::Year => Duration::days(365),
        }
    }
}

/// A half-open span of time, `from` ≤ t < `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The longest span any request may cover: ten years, far beyond any retention, so that bucket
/// arithmetic can never overflow.
const LONGEST: Duration = Duration::days(3660);

impl Range {
    pub fn length(&self) -> Duration {
        self.to - self.from
    }

    /// The span a request names, as the query string gave it: `window` alone (default `default`),
    /// or `from` with an optional `to` (default `now`), never both kinds at once. Each error
    /// names the parameter at fault.
    pub fn from_query(
        window: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        default: Window,
        now: DateTime<Utc>,
    ) -> Result<Range, ValidationErrors> {
        if let Some(window) = window {
            if from.is_some() || to.is_some() {
                return Err(ValidationErrors::single("window", "give either window or from and to, not both"));
            }
            let window = Window::parse(window).ok_or_else(|| {
                let names: Vec<&str> = Window::ALL.iter().map(|window| window.as_str()).collect();
                ValidationErrors::single("window", format!("must be one of {}", names.join(", ")))
            })?;
            return Ok(Range { from: now - window.length(), to: now });
        }
        let (from, to) = match (from, to) {
            (None, None) => return Ok(Range { from: now - default.length(), to: now }),
            (None, Some(_)) => return Err(ValidationErrors::single("from", "is required with to")),
            (Some(from), to) => (instant("from", from)?, to.map(|to| instant("to", to)).transpose()?.unwrap_or(now)),
        };
        if from >= to {
            return Err(ValidationErrors::single("from", "must be before to"));
        }
        if to - from > LONGEST {
            return Err(ValidationErrors::single("from", "the span from from to to is longer than ten years"));
        }
        Ok(Range { from, to })
    }
}

fn instant(parameter: &str, text: &str) -> Result<DateTime<Utc>, ValidationErrors> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| ValidationErrors::single(parameter, "must be a time in RFC 3339, such as 2026-12-01T00:00:00Z"))
}

/// A series' bucket width in seconds: one of the rollups' granularities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesStep(u32);

impl SeriesStep {
    /// The widths rollups are kept at, narrowest first.
    pub const ALLOWED: [u32; 4] = [60, 300, 3600, 86400];
    /// Buckets a chosen width gives at most.
    pub const CHOSEN_BUCKETS: i64 = 500;
    /// Buckets a given width may give at most: beyond it a response would be megabytes.
    pub const MAX_BUCKETS: i64 = 10_000;

    pub fn seconds(self) -> u32 {
        self.0
    }

    /// `step_s` as given (one of [`SeriesStep::ALLOWED`], and at most
    /// [`SeriesStep::MAX_BUCKETS`] buckets over `range`), or when absent the narrowest width
    /// giving at most [`SeriesStep::CHOSEN_BUCKETS`].
    pub fn for_range(step_s: Option<&str>, range: &Range) -> Result<SeriesStep, ValidationErrors> {
        // A range is positive and at most ten years, so this neither overflows nor goes negative.
        let buckets = |step: u32| {
            let (seconds, step) = (range.length().num_seconds(), i64::from(step));
            (seconds + step - 1) / step
        };
        let Some(text) = step_s else {
            return SeriesStep::ALLOWED
                .into_iter()
                .find(|step| buckets(*step) <= SeriesStep::CHOSEN_BUCKETS)
                .map(SeriesStep)
                .ok_or_else(|| {
                    ValidationErrors::single("from", "the span is too long for a series of at most 500 daily buckets")
                });
        };
        let step = text
            .parse::<u32>()
            .ok()
            .filter(|step| SeriesStep::ALLOWED.contains(step))
            .ok_or_else(|| ValidationErrors::single("step_s", "must be one of 60, 300, 3600, 86400"))?;
        if buckets(step) > SeriesStep::MAX_BUCKETS {
            return Err(ValidationErrors::single(
                "step_s",
                format!("gives more than {} buckets over this span; choose a wider one", SeriesStep::MAX_BUCKETS),
            ));
        }
        Ok(SeriesStep(step))
    }

    /// The start of the bucket `at` falls in (buckets are aligned to the Unix epoch).
    pub fn bucket_start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let step = i64::from(self.0);
        let start = at.timestamp().div_euclid(step) * step;
        DateTime::from_timestamp(start, 0).unwrap_or(at)
    }
}

#[cfg(test)]
mod tests;
