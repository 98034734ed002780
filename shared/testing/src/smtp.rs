//! A real SMTP server on loopback for tests that send e-mail, hand-written on tokio (no crate
//! needed): enough RFC 5321 for lettre (EHLO advertising `AUTH PLAIN LOGIN`, HELO, AUTH, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT), no STARTTLS. It accepts every login and records each message.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::wait_until;

/// One message as it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope's `MAIL FROM` address, without the angle brackets.
    pub from: String,
    /// The envelope's `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body) with the dot-stuffing undone and CRLF line ends.
    pub data: String,
    /// Who logged in on the connection, and with which password, if anyone did.
    pub auth_user: Option<String>,
    pub auth_password: Option<String>,
}

impl ReceivedMail {
    /// A header's value from `data` (the first, unfolded), matched without regard to case.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            match (&mut found, line.starts_with([' ', '\t'])) {
                (Some(value), true) => value.push_str(line.trim_start()),
                (Some(_), false) => break,
                (None, _) => {
                    if let Some((key, value)) = line.split_once(':')
                        && key.eq_ignore_ascii_case(name)
                    {
                        found = Some(value.trim().to_owned());
                    }
                }
            }
        }
        found.map(|value| value.trim_end().to_owned())
    }
}

/// The server; stops accepting when dropped.
pub struct SmtpServer {
    address: SocketAddr,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    server: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Starts on 127.0.0.1, port 0.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the SMTP server");
        let address = listener.local_addr().expect("the SMTP server's address");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let recorded = messages.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    // A client that goes away mid-session just ends its session.
                    let _ = Session::new(recorded).serve(stream).await;
                });
            }
        });
        SmtpServer { address, messages, server }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Every message so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.messages).clone()
    }

    /// Waits until at least `count` messages arrived and returns them all; panics after `limit`.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<ReceivedMail> {
        wait_until(&format!("{count} messages at the SMTP server"), limit, || async {
            let messages = self.messages();
            (messages.len() >= count).then_some(messages)
        })
        .await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock(messages: &Mutex<Vec<ReceivedMail>>) -> MutexGuard<'_, Vec<ReceivedMail>> {
    messages.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One connection's state: who logged in and the envelope being built.
struct Session {
    recorded: Arc<Mutex<Vec<ReceivedMail>>>,
    auth: Option<(String, String)>,
    envelope: ReceivedMail,
}

impl Session {
    fn new(recorded: Arc<Mutex<Vec<ReceivedMail>>>) -> Self {
        Self { recorded, auth: None, envelope: ReceivedMail::default() }
    }

    async fn serve(mut self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 healthmon-test ESMTP ready\r\n").await?;
        loop {
            let Some(line) = read_line(&mut lines).await? else { return Ok(()) };
            let (verb, argument) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let reply = match verb.to_ascii_uppercase().as_str() {
                "EHLO" => "250-healthmon-test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
                "HELO" => "250 healthmon-test".to_owned(),
                "AUTH" => self.auth(argument, &mut lines, &mut write).await?,
                "MAIL" => {
                    self.envelope = ReceivedMail { from: bracketed(argument), ..ReceivedMail::default() };
                    "250 2.1.0 OK".to_owned()
                }
                "RCPT" => {
                    self.envelope.to.push(bracketed(argument));
                    "250 2.1.5 OK".to_owned()
                }
                "DATA" => {
                    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    self.data(&mut lines).await?;
                    "250 2.0.0 OK queued".to_owned()
                }
                "RSET" => {
                    self.envelope = ReceivedMail::default();
                    "250 2.0.0 OK".to_owned()
                }
                "NOOP" => "250 2.0.0 OK".to_owned(),
                "QUIT" => {
                    write.write_all(b"221 2.0.0 Bye\r\n").await?;
                    return Ok(());
                }
                _ => "502 5.5.2 Command not recognized".to_owned(),
            };
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }

    /// `AUTH PLAIN [initial]` or `AUTH LOGIN [user]`; every login is accepted and remembered.
    async fn auth(
        &mut self,
        argument: &str,
        lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
    ) -> std::io::Result<String> {
        let (mechanism, initial) = argument.split_once(' ').unwrap_or((argument, ""));
        let mut ask = async |prompt: &str, given: &str| -> std::io::Result<String> {
            if !given.is_empty() {
                return Ok(decode(given));
            }
            write.write_all(format!("334 {prompt}\r\n").as_bytes()).await?;
            Ok(read_line(lines).await?.map(|line| decode(&line)).unwrap_or_default())
        };
        match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => {
                let response = ask("", initial).await?;
                let mut parts = response.split('\0').skip(1);
                let user = parts.next().unwrap_or_default().to_owned();
                let password = parts.next().unwrap_or_default().to_owned();
                self.auth = Some((user, password));
            }
            "LOGIN" => {
                let user = ask("VXNlcm5hbWU6", initial).await?;
                let password = ask("UGFzc3dvcmQ6", "").await?;
                self.auth = Some((user, password));
            }
            _ => return Ok("504 5.5.4 Unrecognized authentication type".to_owned()),
        }
        Ok("235 2.7.0 Authentication successful".to_owned())
    }

    /// Reads the message up to the lone dot and records it with the envelope.
    async fn data(&mut self, lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<()> {
        let mut data = String::new();
        while let Some(line) = read_line(lines).await? {
            if line == "." {
                break;
            }
            data.push_str(line.strip_prefix('.').unwrap_or(&line));
            data.push_str("\r\n");
        }
        let mut mail = std::mem::take(&mut self.envelope);
        mail.data = data;
        mail.auth_user = self.auth.as_ref().map(|(user, _)| user.clone());
        mail.auth_password = self.auth.as_ref().map(|(_, password)| password.clone());
        lock(&self.recorded).push(mail);
        Ok(())
    }
}

/// One line without its CRLF; `None` at the end of the stream.
async fn read_line(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    if lines.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&line);
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The address inside `<…>` of `FROM:<a@b> BODY=8BITMIME`.
fn bracketed(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |index| index + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |index| start + index);
    argument[start..end].to_owned()
}

fn decode(text: &str) -> String {
    STANDARD.decode(text.trim()).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
}
