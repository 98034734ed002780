//! `healthmon login`: a username and password exchanged for a token, printed for scripts
//! (`export HEALTHMON_TOKEN=$(healthmon login)`).

use std::io::BufRead;

use anyhow::Context;
use chrono::SecondsFormat;
use healthmon_wire::LoginResponse;
use reqwest::Method;
use serde_json::json;

use super::api::Api;

pub async fn login(api: &Api, username: &str) -> anyhow::Result<()> {
    let password = password()?;
    let answer: LoginResponse = api
        .call(Method::POST, "/api/v1/auth/login", Some(&json!({ "username": username, "password": password })))
        .await?;
    println!("{}", answer.token);
    let expires_at = answer.expires_at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    eprintln!("logged in as {username}; the token expires at {expires_at}");
    Ok(())
}

/// From HEALTHMON_PASSWORD, else the first line of stdin (no prompt: stdin may be a pipe).
fn password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("HEALTHMON_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password: set HEALTHMON_PASSWORD or give it on stdin");
    Ok(password)
}
