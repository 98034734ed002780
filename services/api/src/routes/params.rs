//! Parsing of query parameters into typed values, with 422 errors that name the parameter.

use chrono::{DateTime, Utc};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

pub fn limit(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))),
    }
}

pub fn time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
    })
    .transpose()
}

pub fn parsed<T: std::str::FromStr>(field: &str, raw: Option<&str>, what: &str) -> Result<Option<T>, ApiError> {
    raw.map(|text| text.parse::<T>().map_err(|_| ApiError::invalid(field, format!("must be {what}")))).transpose()
}
