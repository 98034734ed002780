//! How long history is kept: a duration written as `30s`, `12h`, `90d` (also `m` and `w`), or
//! `forever`; and the instant before which a record has expired.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Forever,
    For(Duration),
}

impl Retention {
    /// Parses `forever` or a positive whole number followed by one unit (`s`, `m`, `h`, `d`, `w`),
    /// up to a thousand years; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Retention, String> {
        const ACCEPTED: &str = "a duration such as 30s, 12h or 90d, or forever";
        let text = text.trim();
        if text == "forever" {
            return Ok(Retention::Forever);
        }
        let split = text.len().saturating_sub(1);
        let (number, unit) = (text.get(..split).unwrap_or(""), text.get(split..).unwrap_or(""));
        let seconds_per_unit: i64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return Err(format!("{text:?} is not {ACCEPTED}")),
        };
        let count: i64 = number
            .parse()
            .ok()
            .filter(|count| *count > 0 && number.bytes().all(|byte| byte.is_ascii_digit()))
            .ok_or_else(|| format!("{text:?} is not {ACCEPTED}"))?;
        const THOUSAND_YEARS_S: i64 = 1000 * 366 * 86_400;
        match count.checked_mul(seconds_per_unit).filter(|seconds| *seconds <= THOUSAND_YEARS_S) {
            Some(seconds) => Ok(Retention::For(Duration::seconds(seconds))),
            None => Err(format!("{text:?} is longer than a thousand years; use forever")),
        }
    }

    /// Records older than this have expired (`None`: nothing ever does).
    pub fn horizon(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Retention::Forever => None,
            Retention::For(kept) => now.checked_sub_signed(kept),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_and_forever_parse() {
        assert_eq!(Retention::parse("30s"), Ok(Retention::For(Duration::seconds(30))));
        assert_eq!(Retention::parse("15m"), Ok(Retention::For(Duration::minutes(15))));
        assert_eq!(Retention::parse("12h"), Ok(Retention::For(Duration::hours(12))));
        assert_eq!(Retention::parse("90d"), Ok(Retention::For(Duration::days(90))));
        assert_eq!(Retention::parse("2w"), Ok(Retention::For(Duration::weeks(2))));
        assert_eq!(Retention::parse(" 400d "), Ok(Retention::For(Duration::days(400))));
        assert_eq!(Retention::parse("forever"), Ok(Retention::Forever));
    }

    #[test]
    fn anything_else_is_refused_with_what_is_accepted() {
        for bad in ["", "d", "0d", "-1d", "+1d", "1.5h", "10", "10y", "ten days", "90D", "1000000000000d"] {
            let error = Retention::parse(bad).expect_err(bad);
            assert!(error.contains("forever"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn the_horizon_is_now_minus_the_duration_and_forever_has_none() {
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().expect("time");
        assert_eq!(Retention::For(Duration::days(1)).horizon(now), Some(now - Duration::days(1)));
        assert_eq!(Retention::Forever.horizon(now), None);
    }
}
