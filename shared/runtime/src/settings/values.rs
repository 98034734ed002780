//! The typed values of the settings, each parsed once from its textual form (a flag, an
//! environment variable or a TOML string) and written back in the same form, so a bad value is
//! refused when the settings load, naming the setting, and wiring never parses text again.

use std::fmt;
use std::str::FromStr;

use axum::http::HeaderValue;
use healthmon_domain::address_policy::{IpNet, parse_cidr_list};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Implements serde for a type through its textual form: `Display` out, `FromStr` in, so the
/// TOML file, the environment and the flags all read the same text and a parse error comes back
/// from figment with the key it was found under.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The items of a comma list, trimmed, empty ones skipped (`"a, b,,"` is `a` and `b`).
fn comma_items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty())
}

fn write_comma_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Api,
    Prober,
    Projector,
    Notifier,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Api, Role::Prober, Role::Projector, Role::Notifier];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Prober => "prober",
            Role::Projector => "projector",
            Role::Notifier => "notifier",
        }
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| anyhow::anyhow!("unknown role \"{text}\" (use api, prober, projector, notifier)"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles one process runs: at least one, each once, in the order first given. Written as a
/// comma list (`api,prober`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Roles {
    /// Every role, as the all-in-one process runs by default.
    pub fn all() -> Self {
        Self(Role::ALL.to_vec())
    }

    /// Just `role`, as a single-role binary runs.
    pub fn only(role: Role) -> Self {
        Self(vec![role])
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Whether every role that talks to the others over the bus runs here (api, prober and
    /// projector), so nothing needs to reach another process over a bus. The notifier is not one:
    /// it reads what it needs from the store, and the bus only wakes it up.
    pub fn are_all(&self) -> bool {
        [Role::Api, Role::Prober, Role::Projector].iter().all(|role| self.contains(*role))
    }

    pub fn as_slice(&self) -> &[Role] {
        &self.0
    }
}

impl FromStr for Roles {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut roles = Vec::new();
        for item in comma_items(text) {
            let role: Role = item.parse().map_err(|error: anyhow::Error| error.to_string())?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            return Err("roles must name at least one of api, prober, projector".to_owned());
        }
        Ok(Self(roles))
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_comma_list(f, &self.0)
    }
}

serde_as_text!(Roles);

/// How log lines are written: for people, or as JSON lines for a log shipper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("unknown log format \"{text}\" (use text or json)")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

serde_as_text!(LogFormat);

/// A comma list of CIDR blocks, as the target address policy takes them; a bare address stands
/// for itself alone and `10.1.2.3/8` reads as `10.0.0.0/8`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrList(Vec<IpNet>);

impl CidrList {
    pub fn blocks(&self) -> &[IpNet] {
        &self.0
    }
}

impl FromStr for CidrList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_cidr_list(text).map(Self)
    }
}

impl fmt::Display for CidrList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_comma_list(f, &self.0)
    }
}

serde_as_text!(CidrList);

/// The browser origins CORS allows, each as the exact `Origin` header a browser sends
/// (`https://status.example.com`): visible ASCII, and no wildcard, which the CORS layer refuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(Vec<HeaderValue>);

impl CorsOrigins {
    pub fn header_values(&self) -> &[HeaderValue] {
        &self.0
    }
}

impl FromStr for CorsOrigins {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        comma_items(text)
            .map(|origin| {
                if origin == "*" {
                    return Err("a wildcard origin (*) is not allowed: list the origins".to_owned());
                }
                let visible = origin.chars().all(|c| c.is_ascii_graphic());
                let value = HeaderValue::from_str(origin).ok().filter(|_| visible);
                value
                    .ok_or_else(|| format!("bad origin {origin:?} (like https://status.example.com: ASCII, no spaces)"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every origin was visible ASCII when parsed, so none reads as empty here.
        let origins: Vec<&str> = self.0.iter().map(|origin| origin.to_str().unwrap_or_default()).collect();
        write_comma_list(f, &origins)
    }
}

serde_as_text!(CorsOrigins);

/// A setting that must never be printed: `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

/// A duration written as whole seconds, as every `*_s` setting is.
pub mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(duration.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_deduplicated_in_order_and_need_one() {
        let roles: Roles = "projector, api,api".parse().unwrap();
        assert_eq!(roles.as_slice(), [Role::Projector, Role::Api]);
        assert_eq!(roles.to_string(), "projector,api");
        assert!(!roles.are_all());
        assert!("api,prober,projector".parse::<Roles>().unwrap().are_all());
        assert_eq!(
            "api,cook".parse::<Roles>().unwrap_err(),
            "unknown role \"cook\" (use api, prober, projector, notifier)"
        );
        assert!(" , ".parse::<Roles>().unwrap_err().contains("at least one"));
    }

    #[test]
    fn cidr_lists_read_loosely_and_write_normalised() {
        let list: CidrList = " 10.1.2.3/8 ,\n ::1,, ".parse().unwrap();
        assert_eq!(list.to_string(), "10.0.0.0/8,::1/128");
        assert_eq!("".parse::<CidrList>().unwrap(), CidrList::default());
        assert!("10.0.0.0/33".parse::<CidrList>().unwrap_err().contains("\"10.0.0.0/33\" is not a CIDR block"));
    }

    #[test]
    fn origins_are_header_values_without_wildcards() {
        let origins: CorsOrigins = "https://a.example, http://b.example:8080".parse().unwrap();
        assert_eq!(origins.header_values().len(), 2);
        assert_eq!(origins.to_string(), "https://a.example,http://b.example:8080");
        assert!("*".parse::<CorsOrigins>().unwrap_err().contains("wildcard"));
        assert!("https://bücher.example".parse::<CorsOrigins>().unwrap_err().contains("bad origin"));
    }

    #[test]
    fn log_formats_are_text_or_json() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!(LogFormat::Text.to_string(), "text");
        assert_eq!("xml".parse::<LogFormat>().unwrap_err(), "unknown log format \"xml\" (use text or json)");
    }
}

/// How long a kind of history is kept: `forever`, or a duration such as `30s`, `12h`, `90d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSetting(pub healthmon_domain::history::Retention);

impl FromStr for RetentionSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        healthmon_domain::history::Retention::parse(text).map(Self)
    }
}

impl fmt::Display for RetentionSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            healthmon_domain::history::Retention::Forever => f.write_str("forever"),
            healthmon_domain::history::Retention::For(kept) => write!(f, "{}s", kept.num_seconds()),
        }
    }
}

serde_as_text!(RetentionSetting);
