//! `/ui`: the operator's console. The server sends one small shell page and its script; the
//! script signs in through `POST /api/v1/auth/login` and then works the JSON API with the bearer
//! token it keeps for the tab (no cookie, so no request can be forged from another site). What
//! a user may do is the API's decision: a viewer's console only reads, and would be refused if it
//! tried more.

use axum::http::Method;
use axum::response::Response;
use maud::{DOCTYPE, html};
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::pages;
use crate::routes::table::{Access, RouteTable};

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
            (pages::head("healthmon console", STYLESHEET, Some(SCRIPT)))
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
    pages::page(page.into_string())
}

async fn script() -> Result<Response, ApiError> {
    pages::asset(Assets::get("console.js"), pages::JAVASCRIPT)
}

async fn stylesheet() -> Result<Response, ApiError> {
    pages::asset(Assets::get("console.css"), pages::CSS)
}
