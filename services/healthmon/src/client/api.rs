//! A small HTTP client for the healthmon API: authentication, JSON errors made readable, and
//! the lookups several commands share (every target, a target by id or name).

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::args::Connection;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const PAGE_LIMIT: u32 = 1000;

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(connection: &Connection) -> anyhow::Result<Self> {
        Self::build(connection, Some(REQUEST_TIMEOUT))
    }

    /// For the event stream, which stays open for as long as the user watches.
    pub fn streaming(connection: &Connection) -> anyhow::Result<Self> {
        Self::build(connection, None)
    }

    fn build(connection: &Connection, timeout: Option<Duration>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        let base = connection.url.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "--url must start with http:// or https:// (got {base:?})"
        );
        Ok(Self { http: builder.build().context("building the HTTP client")?, base, token: connection.token.clone() })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and turns transport failures and error statuses into readable errors.
    async fn send(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        let response = request.send().await.map_err(|error| self.transport_error(&error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let mut message = describe_error(status, &body);
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            message.push_str(" (no token: set --token or HEALTHMON_TOKEN, e.g. from `healthmon login`)");
        }
        Err(anyhow!(message))
    }

    fn transport_error(&self, error: &reqwest::Error) -> anyhow::Error {
        let what = if error.is_connect() {
            "cannot reach healthmon"
        } else if error.is_timeout() {
            "no answer in time from healthmon"
        } else {
            "request to healthmon failed"
        };
        // reqwest's own message hides the cause (connection refused, DNS…) in its source chain.
        let mut causes = Vec::new();
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        anyhow!("{what} at {}: {} (is it running? set --url or HEALTHMON_URL)", self.base, causes.join(": "))
    }

    pub async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(request).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        response.json().await.context("reading the server's answer")
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.json(Method::GET, path, None).await
    }

    /// The open event stream (Server-Sent Events).
    pub async fn events(&self) -> anyhow::Result<Response> {
        self.send(self.request(Method::GET, "/api/v1/events").header("accept", "text/event-stream")).await
    }

    /// Every stored target, page by page.
    pub async fn all_targets(&self) -> anyhow::Result<Vec<Value>> {
        let mut targets = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", PAGE_LIMIT.to_string())];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let response = self.send(self.request(Method::GET, "/api/v1/targets").query(&query)).await?;
            let page: Value = response.json().await.context("reading the target list")?;
            let items = page["items"].as_array().context("the target list has no items")?;
            targets.extend(items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(targets),
            }
        }
    }

    /// A target by id, or else by its exact name (which must be unambiguous).
    pub async fn resolve(&self, id_or_name: &str) -> anyhow::Result<Value> {
        if uuid::Uuid::parse_str(id_or_name).is_ok() {
            return self.get(&format!("/api/v1/targets/{id_or_name}")).await;
        }
        let named: Vec<Value> =
            self.all_targets().await?.into_iter().filter(|target| target["name"] == id_or_name).collect();
        match named.as_slice() {
            [] => bail!("no target named {id_or_name:?}"),
            [target] => {
                let id = target["id"].as_str().context("a target without an id")?;
                self.get(&format!("/api/v1/targets/{id}")).await
            }
            _ => bail!("{} targets are named {id_or_name:?}: give the id instead", named.len()),
        }
    }
}

/// One readable line (plus one per invalid field) from an error status and its JSON body.
pub fn describe_error(status: StatusCode, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().map(|value| &value["error"]).filter(|error| error.is_object());
    let Some(error) = error else {
        let text = body.trim();
        return if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") };
    };
    let code = error["code"].as_str().unwrap_or("error");
    let message = error["message"].as_str().unwrap_or("");
    let mut out = format!("HTTP {} {code}: {message}", status.as_u16());
    if let Some(fields) = error["details"]["fields"].as_object() {
        for (field, problem) in fields {
            let problem = problem.as_str().map(str::to_owned).unwrap_or_else(|| problem.to_string());
            out.push_str(&format!("\n  {field}: {problem}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_names_each_bad_field() {
        // given a 422 body as the API sends it
        let body = r#"{"error": {"code": "validation_failed", "message": "invalid target",
            "details": {"fields": {"interval_s": "must be a whole number from 1 to 3600", "url": "required"}}}}"#;
        // when it is described
        let text = describe_error(StatusCode::UNPROCESSABLE_ENTITY, body);
        // then the status, code, message and every field are there
        assert_eq!(
            text,
            "HTTP 422 validation_failed: invalid target\n  interval_s: must be a whole number from 1 to 3600\n  url: required"
        );
    }

    #[test]
    fn a_body_that_is_not_an_api_error_is_shown_as_it_is() {
        // given a proxy's plain-text answer, and an empty one
        // when they are described
        // then the text (or just the status) is shown
        assert_eq!(describe_error(StatusCode::BAD_GATEWAY, "upstream down\n"), "HTTP 502 Bad Gateway: upstream down");
        assert_eq!(describe_error(StatusCode::NOT_FOUND, ""), "HTTP 404 Not Found");
    }
}
