//! What was sent: every delivery, newest first, filtered by rule, notifier, target or status.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use healthmon_store::alerting::{DeliveryFilter, DeliveryStatus};
use healthmon_wire::DeliveryPage;
use serde::Deserialize;

use super::params;
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{Query, Reader};
use crate::state::AppState;
use crate::views::alerting as views;

pub const STATUSES: [&str; 4] = ["pending", "delivered", "failed", "suppressed"];

pub fn routes(table: RouteTable) -> RouteTable {
    table.route(Method::GET, "/api/v1/deliveries", Access::Reader, "Deliveries of notifications, newest first", list)
}

#[derive(Debug, Deserialize)]
pub struct DeliveryParams {
    alert: Option<String>,
    notifier: Option<String>,
    target: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    _: Reader,
    Query(query): Query<DeliveryParams>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            DeliveryStatus::parse(text)
                .ok_or_else(|| ApiError::invalid("status", format!("must be one of {}", STATUSES.join(", "))))?,
        ),
    };
    let filter = DeliveryFilter {
        alert: params::parsed("alert", query.alert.as_deref(), "an alert rule's id")?,
        notifier: params::parsed("notifier", query.notifier.as_deref(), "a notifier's id")?,
        target: params::parsed("target", query.target.as_deref(), "a target's id")?,
        status,
        limit: params::limit(query.limit.as_deref())?,
        before_seq: params::parsed("cursor", query.cursor.as_deref(), "a cursor from a previous page")?,
    };
    let page = state.store.list_deliveries(&filter).await?;
    Ok(Json(views::delivery_page(&page)))
}
