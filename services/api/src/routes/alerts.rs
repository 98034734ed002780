//! Alert rules: when to notify, and through which notifiers. Create, list, read, replace, patch
//! and delete; a rule naming a notifier that does not exist is a 422 naming each such entry.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use healthmon_domain::ValidationErrors;
use healthmon_domain::alerting::AlertRuleSpec;
use healthmon_domain::alerting::rule::parse_rule;
use healthmon_store::alerting::{AlertRuleRecord, ConfigWrite};
use healthmon_wire::{AlertRuleList, AlertRuleView};
use serde_json::Value;
use uuid::Uuid;

use super::alerting::{created, not_found, patch_object, patched_view, path_id};
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, Reader, Writer};
use crate::state::AppState;
use crate::views::alerting as views;

const COLLECTION: &str = "/api/v1/alerts";
const WHAT: &str = "alert rule";

pub fn routes(table: RouteTable) -> RouteTable {
    let one = "/api/v1/alerts/{id}";
    table
        .route(Method::GET, COLLECTION, Access::Reader, "List alert rules", list)
        .route(Method::POST, COLLECTION, Access::Admin, "Create an alert rule", create)
        .route(Method::GET, one, Access::Reader, "An alert rule", read)
        .route(Method::PUT, one, Access::Admin, "Replace an alert rule", replace)
        .route(Method::PATCH, one, Access::Admin, "Change some fields of an alert rule", patch)
        .route(Method::DELETE, one, Access::Admin, "Delete an alert rule and its open incidents", remove)
}

#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>, _: Reader) -> Result<Json<AlertRuleList>, ApiError> {
    let records = state.store.list_alert_rules().await?;
    Ok(Json(AlertRuleList { items: records.iter().map(views::rule).collect() }))
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let spec = parse_rule(&body).map_err(ApiError::Validation)?;
    let id = Uuid::now_v7();
    let record = outcome(&spec, state.store.create_alert_rule(id, &spec).await?)?;
    tracing::info!(rule_id = %id, "alert rule created");
    Ok(created(COLLECTION, id, views::rule(&record)))
}

async fn stored(state: &AppState, raw_id: &str) -> Result<AlertRuleRecord, ApiError> {
    let id = path_id(raw_id, WHAT)?;
    state.store.get_alert_rule(id).await?.ok_or_else(|| not_found(WHAT))
}

#[tracing::instrument(skip_all)]
async fn read(
    State(state): State<AppState>,
    _: Reader,
    PathParam(id): PathParam<String>,
) -> Result<Json<AlertRuleView>, ApiError> {
    Ok(Json(views::rule(&stored(&state, &id).await?)))
}

#[tracing::instrument(skip_all)]
async fn replace(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<AlertRuleView>, ApiError> {
    let id = path_id(&id, WHAT)?;
    let spec = parse_rule(&body).map_err(ApiError::Validation)?;
    update(&state, id, &spec).await
}

#[tracing::instrument(skip_all)]
async fn patch(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<AlertRuleView>, ApiError> {
    patch_object(&body)?;
    let current = stored(&state, &id).await?;
    let spec = parse_rule(&patched_view(views::rule(&current), &body)?).map_err(ApiError::Validation)?;
    update(&state, current.id, &spec).await
}

async fn update(state: &AppState, id: Uuid, spec: &AlertRuleSpec) -> Result<Json<AlertRuleView>, ApiError> {
    let record = outcome(spec, state.store.update_alert_rule(id, spec).await?)?;
    tracing::info!(rule_id = %id, "alert rule updated");
    Ok(Json(views::rule(&record)))
}

/// A rule write's outcome as the answer: unknown notifiers are named by their place in the list.
fn outcome(spec: &AlertRuleSpec, write: ConfigWrite<AlertRuleRecord>) -> Result<AlertRuleRecord, ApiError> {
    match write {
        ConfigWrite::Done(record) => Ok(record),
        ConfigWrite::NotFound => Err(not_found(WHAT)),
        ConfigWrite::UnknownNotifiers(unknown) => Err(ApiError::Validation(unknown_notifiers(spec, &unknown))),
        ConfigWrite::InUse(_) => {
            Err(ApiError::Internal(anyhow::anyhow!("the store answered a rule write with a notifier's outcome")))
        }
    }
}

fn unknown_notifiers(spec: &AlertRuleSpec, unknown: &[Uuid]) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    for (index, id) in spec.notifiers.iter().enumerate() {
        if unknown.contains(id) {
            errors.add(format!("notifiers.{index}"), "no notifier with this id");
        }
    }
    if errors.is_empty() {
        // The store saw a notifier go that the list no longer shows; still the client's to fix.
        errors.add("notifiers", "names a notifier that does not exist");
    }
    errors
}

#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, WHAT)?;
    if state.store.delete_alert_rule(id).await? {
        tracing::info!(rule_id = %id, "alert rule deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(WHAT))
    }
}

#[cfg(test)]
mod tests {
    use healthmon_domain::alerting::Selector;

    use super::*;

    #[test]
    fn each_unknown_notifier_is_named_by_its_place_in_the_list() {
        let (known, unknown) = (Uuid::now_v7(), Uuid::now_v7());
        let spec = AlertRuleSpec {
            name: "r".into(),
            notifiers: vec![known, unknown, unknown],
            selector: Selector::default(),
            trigger_after_s: 0,
            send_on_resolved: true,
            remind_every_s: 0,
            enabled: true,
        };
        let errors = unknown_notifiers(&spec, &[unknown]);
        assert_eq!(errors.fields().keys().collect::<Vec<_>>(), ["notifiers.1", "notifiers.2"]);
    }
}
