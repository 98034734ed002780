//! What the pages healthmon serves (the status page, the console, the API reference) share: their
//! `<head>`, the policy they are served under, and how an asset embedded in the binary is answered.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::error::ApiError;

/// What a page of ours may load: only from this origin; no frames, no foreign forms or bases.
pub const PAGE_POLICY: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The `<head>` of every page: light and dark, phone-width, its stylesheet and (deferred) script.
pub fn head(title: &str, stylesheet: &str, script: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) }
            link rel="stylesheet" href=(stylesheet);
            @if let Some(script) = script {
                script src=(script) defer {}
            }
        }
    }
}

/// A page's HTML under [`PAGE_POLICY`], never cached without asking again.
pub fn page(html: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        html,
    )
        .into_response()
}

/// An embedded stylesheet or script. Not fingerprinted, so kept only briefly: a new version
/// reaches open pages within minutes.
pub fn asset(file: Option<rust_embed::EmbeddedFile>, content_type: &'static str) -> Result<Response, ApiError> {
    let file = file.ok_or_else(|| ApiError::NotFound("no such asset".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        file.data.into_owned(),
    )
        .into_response())
}

pub const CSS: &str = "text/css; charset=utf-8";
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
