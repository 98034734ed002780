//! The route table: every route with its method, access rule and one-line summary. The router is
//! built from it, so `/Routes`, the OpenAPI check and the access tests read what is really served.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};
use serde::Serialize;

use crate::state::AppState;

/// Who may call a route; enforced by the handler's extractors and checked for every route by tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone.
    Public,
    /// Anyone, unless `HEALTHMON_PROTECT_HEALTHZ` asks for a token.
    HealthCheck,
    /// Any authenticated user.
    Reader,
    /// Admins only.
    Admin,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

#[derive(Default)]
pub struct RouteTable {
    router: Router<AppState>,
    docs: Vec<RouteDoc>,
}

impl RouteTable {
    pub fn route<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = match method {
            Method::GET => MethodFilter::GET,
            Method::POST => MethodFilter::POST,
            Method::PUT => MethodFilter::PUT,
            Method::PATCH => MethodFilter::PATCH,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::HEAD,
        };
        self.router = self.router.route(path, on(filter, handler));
        self.docs.push(RouteDoc { method: method_name(&method), path, access, summary });
        self
    }

    /// Documents a route served outside this table (the operational endpoints).
    pub fn document(mut self, method: Method, path: &'static str, access: Access, summary: &'static str) -> Self {
        self.docs.push(RouteDoc { method: method_name(&method), path, access, summary });
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteDoc>) {
        (self.router, self.docs)
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "HEAD",
    }
}
