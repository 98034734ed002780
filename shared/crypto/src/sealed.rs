//! The text form of a sealed credential, as stored in the database and carried through serde.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CryptoError;
use crate::suite::{AEAD_TAG_LEN, X25519_KEY_LEN, is_valid_key_id};

const VERSION: &str = "hm1";

/// A credential sealed to one key pair and one target: `hm1.<key id>.<encapsulated key>.<ciphertext>`.
///
/// Only validated values exist. `Debug` and `Display` show the version and key id only, so a sealed value can
/// be logged without spreading the ciphertext; store and transmit it with [`Sealed::as_str`] or serde.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sealed(String);

/// The decoded pieces of a [`Sealed`] value, for opening.
pub(crate) struct SealedParts<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) encapsulated_key: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
}

impl Sealed {
    /// Validates the text form: version, key id, and that both blobs are canonical base64url of plausible size.
    pub fn parse(text: &str) -> Result<Sealed, CryptoError> {
        Self::split(text)?;
        Ok(Sealed(text.to_owned()))
    }

    pub(crate) fn from_parts(key_id: &str, encapsulated_key: &[u8], ciphertext: &[u8]) -> Sealed {
        Sealed(format!(
            "{VERSION}.{key_id}.{}.{}",
            URL_SAFE_NO_PAD.encode(encapsulated_key),
            URL_SAFE_NO_PAD.encode(ciphertext)
        ))
    }

    /// The full text form, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Id of the key pair this value was sealed to; compare with [`crate::KeyRing::current_key_id`] to find
    /// values still sealed to a retired key.
    pub fn key_id(&self) -> &str {
        // Parsing guaranteed the layout; fall back to empty rather than panic should that ever change.
        self.0.split('.').nth(1).unwrap_or_default()
    }

    pub(crate) fn parts(&self) -> Result<SealedParts<'_>, CryptoError> {
        Self::split(&self.0)
    }

    fn split(text: &str) -> Result<SealedParts<'_>, CryptoError> {
        let mut fields = text.split('.');
        let (Some(version), Some(key_id), Some(encapsulated_key), Some(ciphertext), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(CryptoError::MalformedSealed("expected four dot-separated fields"));
        };
        if version != VERSION {
            return Err(CryptoError::MalformedSealed("unsupported version"));
        }
        if !is_valid_key_id(key_id) {
            return Err(CryptoError::MalformedSealed("invalid key id"));
        }
        let encapsulated_key = URL_SAFE_NO_PAD
            .decode(encapsulated_key)
            .map_err(|_| CryptoError::MalformedSealed("encapsulated key is not base64url"))?;
        if encapsulated_key.len() != X25519_KEY_LEN {
            return Err(CryptoError::MalformedSealed("encapsulated key has the wrong length"));
        }
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| CryptoError::MalformedSealed("ciphertext is not base64url"))?;
        if ciphertext.len() < AEAD_TAG_LEN {
            return Err(CryptoError::MalformedSealed("ciphertext is too short"));
        }
        Ok(SealedParts { key_id, encapsulated_key, ciphertext })
    }
}

impl FromStr for Sealed {
    type Err = CryptoError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Sealed::parse(text)
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}.{}.…", self.key_id())
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({self})")
    }
}

impl Serialize for Sealed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sealed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::split(&text).map_err(serde::de::Error::custom)?;
        Ok(Sealed(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ID: &str = "0123456789abcdef";

    fn valid() -> Sealed {
        Sealed::from_parts(KEY_ID, &[7; X25519_KEY_LEN], &[9; AEAD_TAG_LEN + 5])
    }

    #[test]
    fn parse_accepts_its_own_output() {
        let sealed = valid();
        let reparsed = Sealed::parse(sealed.as_str()).unwrap();
        assert_eq!(reparsed, sealed);
        assert_eq!(reparsed.key_id(), KEY_ID);
    }

    #[test]
    fn parse_rejects_garbage() {
        let good = valid().into_string();
        let fields: Vec<&str> = good.split('.').collect();
        let (enc, ct) = (fields[2], fields[3]);
        let short_enc = URL_SAFE_NO_PAD.encode([7; X25519_KEY_LEN - 1]);
        let short_ct = URL_SAFE_NO_PAD.encode([9; AEAD_TAG_LEN - 1]);
        let padded_ct = URL_SAFE_NO_PAD.encode([9; AEAD_TAG_LEN + 5]) + "=";
        let cases = [
            String::new(),
            "garbage".to_owned(),
            format!("hm2.{KEY_ID}.{enc}.{ct}"),
            format!("HM1.{KEY_ID}.{enc}.{ct}"),
            format!("hm1.{KEY_ID}.{enc}"),
            format!("hm1.{KEY_ID}.{enc}.{ct}.extra"),
            format!("hm1.0123456789ABCDEF.{enc}.{ct}"),
            format!("hm1.0123.{enc}.{ct}"),
            format!("hm1.{KEY_ID}.{short_enc}.{ct}"),
            format!("hm1.{KEY_ID}.{enc}.{short_ct}"),
            format!("hm1.{KEY_ID}.{enc}.{padded_ct}"),
            format!("hm1.{KEY_ID}.{enc}.{ct}!"),
            format!("hm1.{KEY_ID}.{enc}.{ct} "),
            format!("hm1.{KEY_ID}.{enc}+/.{ct}"),
        ];
        for case in cases {
            assert!(
                matches!(Sealed::parse(&case), Err(CryptoError::MalformedSealed(_))),
                "accepted malformed value {case:?}"
            );
        }
    }

    #[test]
    fn debug_and_display_hide_the_blobs() {
        let sealed = valid();
        let text = sealed.as_str().to_owned();
        let body = text.split_once(&format!("{KEY_ID}.")).unwrap().1;
        for shown in [format!("{sealed}"), format!("{sealed:?}"), format!("{sealed:#?}")] {
            assert!(shown.contains(KEY_ID), "{shown}");
            assert!(!shown.contains(body), "{shown}");
            assert!(!shown.contains(&body[..8]), "{shown}");
        }
        assert_eq!(format!("{sealed:?}"), format!("Sealed(hm1.{KEY_ID}.…)"));
    }

    #[test]
    fn serde_uses_the_plain_text_form_and_validates() {
        let sealed = valid();
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(json, serde_json::to_string(sealed.as_str()).unwrap());
        let back: Sealed = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sealed);
        assert!(serde_json::from_str::<Sealed>("\"hm1.nope\"").is_err());
        assert!(serde_json::from_str::<Sealed>("42").is_err());
    }
}
