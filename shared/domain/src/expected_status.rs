//! The set of HTTP status codes a target may answer with and still count as up.

use std::fmt;
use std::str::FromStr;

/// Parsed from comma-separated items, each a class (`2xx`), a range (`200-399`) or a code (`204`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedStatus {
    ranges: Vec<(u16, u16)>,
    source: String,
}

impl ExpectedStatus {
    pub fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl Default for ExpectedStatus {
    fn default() -> Self {
        Self { ranges: vec![(200, 299)], source: "2xx".to_owned() }
    }
}

impl FromStr for ExpectedStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err("must list at least one status, e.g. \"2xx\", \"200-399\" or \"200,204\"".into());
        }
        let ranges = compact.split(',').map(parse_item).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { ranges, source: compact.to_ascii_lowercase() })
    }
}

fn parse_item(item: &str) -> Result<(u16, u16), String> {
    let bad = || format!("\"{item}\" is not a status code, a class like 2xx or a range like 200-399");
    let lower = item.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        let digit: u16 = class.parse().map_err(|_| bad())?;
        if !(1..=5).contains(&digit) {
            return Err(bad());
        }
        return Ok((digit * 100, digit * 100 + 99));
    }
    let (lo, hi) = match lower.split_once('-') {
        Some((lo, hi)) => (parse_code(lo).ok_or_else(bad)?, parse_code(hi).ok_or_else(bad)?),
        None => {
            let code = parse_code(&lower).ok_or_else(bad)?;
            (code, code)
        }
    };
    if lo > hi {
        return Err(format!("range \"{item}\" starts after it ends"));
    }
    Ok((lo, hi))
}

fn parse_code(text: &str) -> Option<u16> {
    text.parse().ok().filter(|code| (100..=599).contains(code))
}

impl fmt::Display for ExpectedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl serde::Serialize for ExpectedStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for ExpectedStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_range_and_list_forms_are_understood() {
        let class: ExpectedStatus = "2xx".parse().unwrap();
        assert!(class.contains(200) && class.contains(299) && !class.contains(300));
        let range: ExpectedStatus = "200-399".parse().unwrap();
        assert!(range.contains(302) && !range.contains(404));
        let list: ExpectedStatus = "200, 204".parse().unwrap();
        assert!(list.contains(204) && !list.contains(201));
        assert_eq!(list.as_str(), "200,204");
    }

    #[test]
    fn nonsense_is_rejected_with_a_reason() {
        for bad in ["", "abc", "9xx", "600", "399-200", "2xx,", "20"] {
            assert!(bad.parse::<ExpectedStatus>().is_err(), "{bad} should be rejected");
        }
    }
}
