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

/// The one rule for keeping a stored credential across an edit, for anything that presents sealed
/// credentials somewhere an edit can change (an SSH target's host, port and user today): each
/// credential `held` after the edit in sealed form, carried over rather than sent anew, may stay only
/// while `before` and `after` name the same destination. Otherwise whoever may edit could point it
/// at a server of their own and read the write-only secret from what arrives there. Each refused
/// credential is named by the field a client writes it in; `destination` says what moved.
pub fn carried_over<'a, D: PartialEq>(
    before: &D,
    after: &D,
    held: impl IntoIterator<Item = (&'static str, &'a Credential)>,
    destination: &str,
) -> crate::ValidationErrors {
    let mut refused = crate::ValidationErrors::new();
    if before == after {
        return refused;
    }
    for (field, credential) in held {
        if matches!(credential, Credential::Sealed(_)) {
            refused.add(
                field,
                format!("must be given again when the {destination} changes: a stored credential never goes to a new destination"),
            );
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_new_destination_then_only_credentials_sent_anew_may_go_there() {
        let sealed = Credential::Sealed("hm1.abc".into());
        let plain = Credential::Plain("new-secret".into());
        let held = || [("password", &plain), ("private_key", &sealed)];
        assert!(carried_over(&("a", 22), &("a", 22), held(), "host").is_empty(), "same place: all may stay");
        let refused = carried_over(&("a", 22), &("evil", 22), held(), "host");
        assert_eq!(refused.fields().keys().collect::<Vec<_>>(), ["private_key"], "{refused}");
        assert!(refused.fields()["private_key"].contains("host"));
    }

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
