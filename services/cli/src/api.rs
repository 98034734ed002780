//! A small HTTP client for the healthmon API: authentication, JSON errors made readable, and
//! the lookups several commands share (every target, a target by id or name).

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use healthmon_wire::{ErrorBody, TargetPage, TargetView};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
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

    /// Sends `body` (if any) and reads the answer as `T`, one of the API's wire types.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<T> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(request).await?;
        response.json().await.context("reading the server's answer")
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(Method::GET, path, None).await
    }

    /// A GET with query parameters (encoded: a cursor may hold `+` or `=`).
    pub async fn get_with_query<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<T> {
        let response = self.send(self.request(Method::GET, path).query(query)).await?;
        response.json().await.context("reading the server's answer")
    }

    /// A request answered with no body (204), such as a delete.
    pub async fn call_without_answer(&self, method: Method, path: &str) -> anyhow::Result<()> {
        self.send(self.request(method, path)).await.map(drop)
    }

    /// The open event stream (Server-Sent Events).
    pub async fn events(&self) -> anyhow::Result<Response> {
        self.send(self.request(Method::GET, "/api/v1/events").header("accept", "text/event-stream")).await
    }

    /// Every stored target, page by page.
    pub async fn all_targets(&self) -> anyhow::Result<Vec<TargetView>> {
        let mut targets = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", PAGE_LIMIT.to_string())];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let response = self.send(self.request(Method::GET, "/api/v1/targets").query(&query)).await?;
            let page: TargetPage = response.json().await.context("reading the target list")?;
            targets.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(targets),
            }
        }
    }

    /// A target by id, or else by its exact name (which must be unambiguous).
    pub async fn resolve(&self, id_or_name: &str) -> anyhow::Result<TargetView> {
        if uuid::Uuid::parse_str(id_or_name).is_ok() {
            return self.get(&format!("/api/v1/targets/{id_or_name}")).await;
        }
        let named: Vec<TargetView> =
            self.all_targets().await?.into_iter().filter(|target| target.name == id_or_name).collect();
        match named.as_slice() {
            [] => bail!("no target named {id_or_name:?}"),
            [target] => self.get(&format!("/api/v1/targets/{}", target.id)).await,
            _ => bail!("{} targets are named {id_or_name:?}: give the id instead", named.len()),
        }
    }
}

/// One readable line (plus one per invalid field) from an error status and its JSON body.
pub fn describe_error(status: StatusCode, body: &str) -> String {
    let Ok(ErrorBody { error }) = serde_json::from_str::<ErrorBody>(body) else {
        let text = body.trim();
        return if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") };
    };
    let mut out = format!("HTTP {} {}: {}", status.as_u16(), error.code, error.message);
    for (field, problem) in error.details.fields.iter().flatten() {
        out.push_str(&format!("\n  {field}: {problem}"));
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
