//! JSON bodies for the answers hyper gives on its own. A request hyper cannot parse (a control
//! character or DEL in a header, a malformed request line, a head too large) never reaches a
//! service: hyper answers it itself with an empty 400 (or 431, 414) and closes the connection, and
//! offers no hook to shape that answer. Each connection is wrapped so that such an answer, and
//! only such an answer, is replaced on its way out by the same status with the API's error body,
//! naming the offending header when the request's head shows one.
//!
//! How an automatic answer is told apart: it is a whole response head alone in one write, of one
//! of hyper's parse-error statuses, with `content-length: 0`. Every error a service of ours sends
//! has a JSON body, so none looks like that. If hyper ever words its answer differently, nothing is
//! replaced and the empty answer goes out as before.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How much of a request's head is kept to name a bad header in the answer.
const HEAD_KEPT: usize = 8 * 1024;
/// An automatic answer is a few short lines.
const AUTOMATIC_MAX: usize = 256;

/// The status lines hyper answers parse errors with, and the code and message we give each.
const AUTOMATIC: [(&[u8], &str, &str); 3] = [
    (b"HTTP/1.1 400 Bad Request\r\n", "bad_request", "the request is not valid HTTP/1.1"),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        "request_header_fields_too_large",
        "the request's headers are too large",
    ),
    (b"HTTP/1.1 414 URI Too Long\r\n", "uri_too_long", "the request's URI is too long"),
];

/// The headers every API response carries (kept in step with the API's own list).
const SECURITY_HEADERS: [&str; 4] = [
    "x-content-type-options: nosniff",
    "x-frame-options: DENY",
    "referrer-policy: no-referrer",
    "content-security-policy: default-src 'none'; frame-ancestors 'none'",
];

/// The listener `ops::serve` hands axum: each accepted connection comes wrapped.
pub(super) struct Listener(pub(super) TcpListener);

impl axum::serve::Listener for Listener {
    type Io = JsonParseErrors<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's own accept loop, which retries (and backs off on) failed accepts.
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (JsonParseErrors::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection whose automatic parse-error answers carry the JSON error body.
pub(super) struct JsonParseErrors<IO> {
    io: IO,
    /// What was read since the last write, up to [`HEAD_KEPT`]: the head hyper is parsing.
    head: Vec<u8>,
    /// A replacement answer and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<IO> JsonParseErrors<IO> {
    pub(super) fn new(io: IO) -> Self {
        Self { io, head: Vec::new(), pending: None }
    }
}

impl<IO: AsyncWrite + Unpin> JsonParseErrors<IO> {
    /// Writes what is left of a replacement answer before anything else.
    fn drive_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written >= bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `buf` in place of writing it when it is an automatic answer; returns whether it was.
    fn replaced(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> io::Result<bool> {
        let Some(replacement) = replacement(buf, &self.head) else { return Ok(false) };
        self.pending = Some((replacement, 0));
        self.head.clear();
        // What is not written now is written on the flush hyper always sends next.
        if let Poll::Ready(result) = self.drive_pending(cx) {
            result?;
        }
        Ok(true)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for JsonParseErrors<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            let fresh = &buf.filled()[before..];
            let room = HEAD_KEPT.saturating_sub(this.head.len());
            this.head.extend_from_slice(&fresh[..fresh.len().min(room)]);
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drive_pending(cx))?;
        if this.replaced(cx, buf)? {
            return Poll::Ready(Ok(buf.len()));
        }
        this.head.clear();
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drive_pending(cx))?;
        let mut written = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(only), None) = (written.next(), written.next())
            && this.replaced(cx, only)?
        {
            return Poll::Ready(Ok(only.len()));
        }
        this.head.clear();
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drive_pending(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drive_pending(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The answer to send instead of `written`, if `written` is one of hyper's automatic answers:
/// the same status line and headers (`connection: close`, `date`), a JSON body, and the headers
/// every API response has. `head` is the request's head as read, to name a bad header from.
fn replacement(written: &[u8], head: &[u8]) -> Option<Vec<u8>> {
    if written.len() > AUTOMATIC_MAX || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let (status_line, code, message) = AUTOMATIC.iter().find(|(line, _, _)| written.starts_with(line))?;
    let headers = std::str::from_utf8(&written[status_line.len()..written.len() - 2]).ok()?;
    if !headers.split("\r\n").any(|line| line.eq_ignore_ascii_case("content-length: 0")) {
        return None;
    }
    let body = match (*code, bad_header(head)) {
        ("bad_request", Some(header)) => json!({"error": {
            "code": "invalid_header",
            "message": format!("the header {header} holds a character HTTP does not allow there (a control character or DEL)"),
            "details": {"header": header},
        }}),
        _ => json!({"error": {"code": code, "message": message, "details": {}}}),
    }
    .to_string();
    let mut answer = status_line.to_vec();
    for line in headers.split("\r\n").filter(|line| !line.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            answer.extend_from_slice(format!("{line}\r\n").as_bytes());
        }
    }
    for line in SECURITY_HEADERS.iter().chain(&["content-type: application/json"]) {
        answer.extend_from_slice(format!("{line}\r\n").as_bytes());
    }
    answer.extend_from_slice(format!("content-length: {}\r\n\r\n{body}", body.len()).as_bytes());
    Some(answer)
}

/// The name of the last header line in `head` whose value holds a byte HTTP does not allow in a
/// field value (a control character other than tab, or DEL), lower-cased; none if its name is not
/// a token either.
fn bad_header(head: &[u8]) -> Option<String> {
    head.split(|byte| *byte == b'\n')
        .skip(1)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            let colon = line.iter().position(|byte| *byte == b':')?;
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            let token = !name.is_empty() && name.iter().all(|byte| is_token_byte(*byte));
            let bad_value = value.iter().any(|byte| *byte != b'\t' && (*byte < 0x20 || *byte == 0x7f));
            (token && bad_value).then(|| String::from_utf8_lossy(name).to_ascii_lowercase())
        })
        .last()
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 00:43:04 GMT\r\n\r\n";

    fn body_of(answer: &[u8]) -> serde_json::Value {
        let text = String::from_utf8_lossy(answer);
        let (_, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        serde_json::from_str(body).expect("a JSON body")
    }

    #[test]
    fn given_hypers_400_for_a_bad_header_value_then_the_answer_names_the_header_in_json() {
        let head = b"GET /livez HTTP/1.1\r\nhost: x\r\nX-Request-Id: a\x7fb\r\n\r\n";
        let answer = replacement(HYPER_400, head).expect("replaced");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n"), "{text}");
        assert!(text.contains("date: Wed, 02 Dec 2026") && text.contains("content-type: application/json"), "{text}");
        let body = body_of(&answer);
        assert_eq!(body["error"]["code"], "invalid_header");
        assert_eq!(body["error"]["details"]["header"], "x-request-id");
        let (_, sent) = text.split_once("\r\n\r\n").expect("body");
        assert!(text.contains(&format!("content-length: {}\r\n", sent.len())), "{text}");
    }

    #[test]
    fn given_another_parse_error_then_the_answer_is_a_generic_json_error_of_the_same_status() {
        let body = body_of(&replacement(HYPER_400, b"GET /a b c HTTP/1.1\r\n\r\n").expect("replaced"));
        assert_eq!(body["error"]["code"], "bad_request");
        let too_large =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        let answer = replacement(too_large, b"").expect("replaced");
        assert!(answer.starts_with(b"HTTP/1.1 431 "));
        assert_eq!(body_of(&answer)["error"]["code"], "request_header_fields_too_large");
    }

    #[test]
    fn given_any_answer_a_service_wrote_then_nothing_is_replaced() {
        let json_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n";
        assert!(replacement(json_400, b"").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", b"").is_none());
        assert!(replacement(b"{\"status\":\"alive\"}", b"").is_none());
        let with_body = [HYPER_400, b"x"].concat();
        assert!(replacement(&with_body, b"").is_none());
    }

    #[test]
    fn a_bad_header_is_found_only_in_the_head_and_only_with_a_token_name() {
        assert_eq!(
            bad_header(b"GET / HTTP/1.1\r\nok: fine\ttab\r\nlast-event-id: 1\x01\r\n\r\nbody: \x7f"),
            Some("last-event-id".into())
        );
        assert_eq!(bad_header(b"GET / HTTP/1.1\r\nok: fine\r\n\r\nx: \x7f\r\n"), None);
        assert_eq!(bad_header(b"GET / HTTP/1.1\r\nbad name: \x7f\r\n\r\n"), None);
    }
}
