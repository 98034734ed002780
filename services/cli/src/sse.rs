//! Server-Sent Events, incrementally: bytes in (split anywhere), complete events' data out; and
//! the one-line description of a health change that `watch` prints.

use serde_json::Value;

#[derive(Default)]
pub struct SseParser {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds a chunk; returns the data of every event the chunk completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|byte| *byte == b'\n') {
            let raw: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data).join("\n"));
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing `watch` shows.
        }
        events
    }
}

/// `<time> <name> <from> -> <to>: <reason>` from a health.changed CloudEvent.
pub fn describe_change(event: &str) -> Option<String> {
    let event: Value = serde_json::from_str(event).ok()?;
    let data = &event["data"];
    let name = data["name"].as_str()?;
    let at = data["at"].as_str().or(event["time"].as_str()).unwrap_or("-");
    let from = data["from"].as_str().unwrap_or("?");
    let to = data["to"].as_str().unwrap_or("?");
    let reason = data["reason"].as_str().filter(|reason| !reason.is_empty());
    Some(match reason {
        Some(reason) => format!("{at} {name} {from} -> {to}: {reason}"),
        None => format!("{at} {name} {from} -> {to}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_come_out_whole() {
        // given a stream with a comment, then an event cut in the middle of a line and of a CRLF
        let mut parser = SseParser::default();
        // when it is fed chunk by chunk
        let mut events = parser.feed(b": health changes follow\n\nevent: io.healthmon.health.changed.v1\nid: 1\nda");
        assert!(events.is_empty(), "nothing complete yet");
        events.extend(parser.feed(b"ta: {\"a\":\r\ndata: 1}\r"));
        events.extend(parser.feed(b"\n\r\n"));
        // then one event comes out, its data lines joined
        assert_eq!(events, vec!["{\"a\":\n1}".to_owned()]);
    }

    #[test]
    fn a_health_change_is_one_line() {
        // given a health.changed CloudEvent
        let event = r#"{"specversion": "1.0", "type": "io.healthmon.health.changed.v1", "time": "t0",
            "data": {"name": "web", "from": "unknown", "to": "unhealthy", "at": "2026-01-01T00:00:03Z", "reason": "connection refused"}}"#;
        // when described, then time, name, transition and reason are on one line
        assert_eq!(
            describe_change(event).as_deref(),
            Some("2026-01-01T00:00:03Z web unknown -> unhealthy: connection refused")
        );
        // and something that is not a health change is skipped
        assert_eq!(describe_change("{\"data\": {}}"), None);
        assert_eq!(describe_change("not json"), None);
    }
}
