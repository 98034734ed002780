//! `GET /openapi.json` (the document of the routes this router serves) and `GET /docs` (that
//! document rendered as a page on the server, with its stylesheet served from here too, so it
//! reads offline).

use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::document_json;
use super::reference;
use crate::error::ApiError;
use crate::pages;
use crate::routes::table::{Access, RouteTable};
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "assets/docs"]
struct Assets;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(Method::GET, "/openapi.json", Access::Public, "This API's OpenAPI 3.1 document", openapi_json)
        .route(Method::GET, "/docs", Access::Public, "A browsable reference of this API", docs)
        .route(Method::GET, reference::STYLESHEET, Access::Public, "The reference's stylesheet", stylesheet)
}

async fn openapi_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = document_json(&state.routes).map_err(anyhow::Error::from)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn docs(State(state): State<AppState>) -> Result<Response, ApiError> {
    let document: serde_json::Value = serde_json::from_str(&document_json(&state.routes).map_err(anyhow::Error::from)?)
        .map_err(anyhow::Error::from)?;
    Ok(pages::page(reference::render(&document).into_string()))
}

async fn stylesheet() -> Result<Response, ApiError> {
    pages::asset(Assets::get("docs.css"), pages::CSS)
}
