//! `GET /openapi.json` (the document of the routes this router serves) and `GET /docs` (a page
//! that renders it in the browser).

use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

use super::document_json;
use crate::error::ApiError;
use crate::routes::table::{Access, RouteTable};
use crate::state::AppState;

/// The renderer is loaded by the browser from a CDN; the document itself is served from here.
const DOCS_PAGE: &str = include_str!("docs.html");

/// Lets the page load the renderer and its styles and fonts, and fetch nothing but this API.
const DOCS_POLICY: &str = "default-src 'none'; script-src https://cdn.jsdelivr.net; \
     style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.scalar.com; \
     font-src data: https://cdn.jsdelivr.net https://fonts.scalar.com; img-src data: https:; \
     connect-src 'self'; frame-ancestors 'none'";

pub fn routes(table: RouteTable) -> RouteTable {
    table.route(Method::GET, "/openapi.json", Access::Public, "This API's OpenAPI 3.1 document", openapi_json).route(
        Method::GET,
        "/docs",
        Access::Public,
        "A browsable reference of this API",
        docs,
    )
}

async fn openapi_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = document_json(&state.routes).map_err(anyhow::Error::from)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn docs() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, DOCS_POLICY)], DOCS_PAGE)
        .into_response()
}
