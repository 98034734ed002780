//! W3C Trace Context (`traceparent`) identities, carried by sample events so one trace id ties a
//! probe's log lines to the projector's.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A `traceparent`: version 00, a 16-byte trace id, an 8-byte parent span id, and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a W3C traceparent: {0}")]
pub struct InvalidTraceParent(String);

impl TraceParent {
    /// A new trace with a random trace id and span id. Random v4 UUIDs supply the bits, so no other
    /// random source is needed; the spec forbids all-zero ids, which 122 random bits never are.
    pub fn generate() -> Self {
        let trace_id = Uuid::new_v4().as_u128();
        let span_id = (Uuid::new_v4().as_u128() as u64) | 1;
        Self { trace_id, span_id, sampled: true }
    }

    /// The 32 lower-case hex digits log searches use.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    pub fn span_id(&self) -> String {
        format!("{:016x}", self.span_id)
    }

    pub fn sampled(&self) -> bool {
        self.sampled
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{:032x}-{:016x}-{:02x}", self.trace_id, self.span_id, u8::from(self.sampled))
    }
}

impl FromStr for TraceParent {
    type Err = InvalidTraceParent;

    /// Strict for version 00; a later version is read by its first four fields, as the spec asks.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidTraceParent(text.chars().take(64).collect());
        let mut parts = text.split('-');
        let (Some(version), Some(trace_id), Some(span_id), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let lower_hex = |part: &str, len: usize| {
            part.len() == len && part.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        };
        let extra = parts.next().is_some();
        if !lower_hex(version, 2) || version == "ff" || (version == "00" && extra) {
            return Err(invalid());
        }
        if !lower_hex(trace_id, 32) || !lower_hex(span_id, 16) || !lower_hex(flags, 2) {
            return Err(invalid());
        }
        let trace_id = u128::from_str_radix(trace_id, 16).map_err(|_| invalid())?;
        let span_id = u64::from_str_radix(span_id, 16).map_err(|_| invalid())?;
        let flags = u8::from_str_radix(flags, 16).map_err(|_| invalid())?;
        if trace_id == 0 || span_id == 0 {
            return Err(invalid());
        }
        Ok(Self { trace_id, span_id, sampled: flags & 1 == 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_traceparent_has_the_w3c_shape_and_parses_back() {
        let parent = TraceParent::generate();
        let text = parent.to_string();
        assert_eq!(text.len(), 55, "{text}");
        assert!(text.starts_with("00-") && text.ends_with("-01"), "{text}");
        assert_eq!(&text[3..35], parent.trace_id());
        assert_eq!(text.parse::<TraceParent>(), Ok(parent));
        assert_ne!(TraceParent::generate().trace_id(), parent.trace_id());
    }

    #[test]
    fn the_spec_example_parses_and_malformed_ones_do_not() {
        let example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent: TraceParent = example.parse().expect("the W3C example");
        assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parent.span_id(), "00f067aa0ba902b7");
        assert!(parent.sampled());
        assert_eq!(parent.to_string(), example);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(bad.parse::<TraceParent>().is_err(), "{bad:?} was accepted");
        }
    }
}
