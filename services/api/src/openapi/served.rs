//! The document as served, in JSON: what utoipa's types cannot say is added to the JSON they
//! make. Every response header is marked `required` (each one the document names is always sent,
//! and utoipa's header type has no such field), and the links of each success response are
//! written here (utoipa's link type names its fields in snake case, which no client reads).

use serde_json::{Value, json};

use super::document;
use super::operation::operation_id_of;
use super::operations::details;
use crate::routes::table::RouteDoc;

pub fn document_json(routes: &[RouteDoc]) -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_value(document(routes))?;
    mark_headers_required(&mut json);
    add_links(&mut json, routes);
    serde_json::to_string(&json)
}

fn mark_headers_required(json: &mut Value) {
    let operations = json["paths"].as_object_mut().into_iter().flat_map(|paths| paths.values_mut());
    let responses = operations
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    let headers = responses
        .filter_map(|response| response.get_mut("headers")?.as_object_mut())
        .flat_map(|headers| headers.values_mut());
    for header in headers.filter_map(Value::as_object_mut) {
        header.insert("required".into(), Value::Bool(true));
    }
}

fn add_links(json: &mut Value, routes: &[RouteDoc]) {
    for route in routes {
        let Some(details) = details(route.method, route.path) else { continue };
        for link in details.links {
            let to = operation_id_of(link.method, link.path);
            let response = &mut json["paths"][route.path][route.method.to_ascii_lowercase()]["responses"]
                [details.status.to_string()];
            response["links"][to.as_str()] = json!({
                "operationId": to,
                "parameters": { link.parameter: format!("$response.body#{}", link.from_body) },
            });
        }
    }
}
