//! Credentials as healthmon carries them: sealed for the probers as soon as the API has them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A password or key. Only its sealed form can be serialized, so a plain credential cannot reach
/// the store, an event or a response by accident.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// As the client sent it, between parsing the request and sealing.
    Plain(String),
    /// Sealed with the probers' public key for this target: the `hm1.…` text.
    Sealed(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Plain(_) => f.write_str("Credential(plain, redacted)"),
            Credential::Sealed(_) => f.write_str("Credential(sealed)"),
        }
    }
}

impl Serialize for Credential {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Credential::Sealed(text) => serializer.serialize_str(text),
            Credential::Plain(_) => Err(serde::ser::Error::custom("a credential must be sealed before it is stored")),
        }
    }
}

impl<'de> Deserialize<'de> for Credential {
    /// Stored and published forms are always sealed.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Credential::Sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_credential_cannot_be_serialized_or_printed() {
        let plain = Credential::Plain("hunter2-secret".into());
        assert!(serde_json::to_string(&plain).is_err());
        assert!(!format!("{plain:?}").contains("hunter2"));
        let sealed = Credential::Sealed("hm1.abc.def.ghi".into());
        assert_eq!(serde_json::to_string(&sealed).unwrap(), "\"hm1.abc.def.ghi\"");
        assert_eq!(serde_json::from_str::<Credential>("\"hm1.abc.def.ghi\"").unwrap(), sealed);
    }
}
