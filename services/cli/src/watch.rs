//! `healthmon watch`: follows the API's event stream and prints each health change as it comes.

use std::io::Write;

use anyhow::Context;
use futures::StreamExt;

use super::api::Api;
use super::sse::{SseParser, describe_change};

pub async fn run(api: &Api) -> anyhow::Result<()> {
    let response = api.events().await?;
    let mut stream = response.bytes_stream();
    let mut parser = SseParser::default();
    let mut stdout = std::io::stdout();
    eprintln!("watching health changes (Ctrl-C to stop)");
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the event stream broke off")?;
        for event in parser.feed(&chunk) {
            if let Some(line) = describe_change(&event) {
                writeln!(stdout, "{line}")?;
                // A pipe (`watch | grep`) would otherwise see the line only when a buffer fills.
                stdout.flush()?;
            }
        }
    }
    anyhow::bail!("the server closed the event stream")
}
