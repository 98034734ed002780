//! Text made storable: what a probe reads from the outside world (an SSH command's stderr, an HTTP
//! error, a peer's banner) may carry bytes that no database column takes, so every text field of a
//! sample passes through here where the sample is made.

use std::borrow::Cow;

/// `text` with every NUL written as the two characters `\0`. PostgreSQL refuses NUL in `text`
/// columns (`invalid byte sequence for encoding "UTF8": 0x00`) and SQLite's text functions stop at
/// it, so a NUL kept as it is would make a whole batch of samples unstorable. Escaping rather than
/// dropping keeps what the user needs to see: that the output had one, and where. (Invalid UTF-8
/// cannot reach here: checks decode bytes lossily into `String`, which always holds valid UTF-8.)
pub fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "\\0")) } else { Cow::Borrowed(text) }
}

/// [`storable`] for an owned string, allocating only when something changes.
pub fn storable_owned(text: String) -> String {
    match storable(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cleaned) => cleaned,
    }
}

/// Whether `text` can be stored as it is.
pub fn is_storable(text: &str) -> bool {
    !text.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_text_without_nul_then_it_is_kept_as_it_is_without_a_copy() {
        assert!(matches!(storable("exit status 2: no such file"), Cow::Borrowed(_)));
        assert!(is_storable("tab\tand newline\n are fine"));
    }

    #[test]
    fn given_text_with_nul_then_each_nul_is_escaped_and_the_rest_kept() {
        assert_eq!(storable("a\0b\0"), "a\\0b\\0");
        assert!(is_storable(&storable_owned("\0".to_owned())));
        assert!(!is_storable("x\0"));
    }

    #[test]
    fn given_lossily_decoded_invalid_utf8_then_it_is_storable_after_cleaning() {
        let decoded = String::from_utf8_lossy(b"bad \xff\xfe bytes \x00 here").into_owned();
        let cleaned = storable_owned(decoded);
        assert!(is_storable(&cleaned));
        assert_eq!(cleaned, "bad \u{fffd}\u{fffd} bytes \\0 here");
    }
}
