//! `/ui`: the operator's console. The server sends one small shell page and its script; the
//! script signs in through `POST /api/v1/auth/login` and then works the JSON API with the bearer
//! token it keeps for the tab (no cookie, so no request can be forged from another site). What
//! a user may do is the API's decision: a viewer's console only reads, and would be refused if it
//! tried more.

use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, html};
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::routes::table::{Access, RouteTable};
use crate::status::PAGE_POLICY;

const SCRIPT: &str = "/ui/console.js";
const STYLESHEET: &str = "/ui/console.css";

#[derive(RustEmbed)]
#[folder = "assets/console"]
struct Assets;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(Method::GET, "/ui", Access::Public, "The operator's console (it signs in itself)", shell)
        .route(Method::GET, SCRIPT, Access::Public, "The console's script", script)
        .route(Method::GET, STYLESHEET, Access::Public, "The console's stylesheet", stylesheet)
}

async fn shell() -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { "healthmon console" }
                link rel="stylesheet" href=(STYLESHEET);
                script src=(SCRIPT) defer {}
            }
            body {
                header.top {
                    a.brand href="#/targets" { "healthmon" }
                    nav id="nav" {}
                    span id="who" {}
                }
                main id="app" { p { "Loading the console…" } }
                noscript { p { "The console needs JavaScript. The API itself is described at " a href="/docs" { "/docs" } "." } }
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        page.into_string(),
    )
        .into_response()
}

async fn script() -> Result<Response, ApiError> {
    asset("console.js", "text/javascript; charset=utf-8")
}

async fn stylesheet() -> Result<Response, ApiError> {
    asset("console.css", "text/css; charset=utf-8")
}

fn asset(file: &str, content_type: &'static str) -> Result<Response, ApiError> {
    let asset = Assets::get(file).ok_or_else(|| ApiError::NotFound("no such asset".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        asset.data.into_owned(),
    )
        .into_response())
}
