//! The document against the route table the router is built from, and its JSON against OpenAPI 3.1.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::Operation;

use super::operation::path_params;
use super::operations::{DETAILS, details};
use super::{document, document_json};
use crate::routes::table::{Access, RouteDoc};

const LOGIN_ROUTES: [(&str, &str); 2] = [("POST", "/api/v1/auth/login"), ("POST", "/Login")];

fn table_routes() -> Vec<RouteDoc> {
    crate::table().into_parts().1
}

/// Every (method, path, operation) the document holds.
fn operations(document: &OpenApi) -> Vec<(String, String, &Operation)> {
    let mut found = Vec::new();
    for (path, item) in &document.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ];
        for (method, operation) in methods {
            if let Some(operation) = operation {
                found.push((method.to_owned(), path.clone(), operation));
            }
        }
    }
    found
}

fn operation_json(document: &OpenApi, route: &RouteDoc) -> Value {
    let operation = operations(document)
        .into_iter()
        .find(|(method, path, _)| method == route.method && path == route.path)
        .map(|(_, _, operation)| operation.clone())
        .expect("the route is in the document");
    serde_json::to_value(operation).expect("an operation serializes")
}

#[test]
fn every_table_route_is_in_the_document_and_every_operation_in_the_table() {
    let routes = table_routes();
    let document = document(&routes);
    let in_table: BTreeSet<(String, String)> =
        routes.iter().map(|route| (route.method.to_owned(), route.path.to_owned())).collect();
    assert_eq!(in_table.len(), routes.len(), "a (method, path) pair appears twice in the table");
    let in_document: BTreeSet<(String, String)> =
        operations(&document).into_iter().map(|(method, path, _)| (method, path)).collect();
    let undocumented: Vec<_> = in_table.difference(&in_document).collect();
    let unserved: Vec<_> = in_document.difference(&in_table).collect();
    assert!(undocumented.is_empty(), "routes missing from the document: {undocumented:?}");
    assert!(unserved.is_empty(), "operations the router does not serve: {unserved:?}");
    for pair in [("GET", "/openapi.json"), ("GET", "/docs"), ("POST", "/Login"), ("GET", "/healthz")] {
        assert!(in_document.contains(&(pair.0.to_owned(), pair.1.to_owned())), "{pair:?}");
    }
}

#[test]
fn each_operation_carries_its_routes_summary_and_security() {
    let routes = table_routes();
    let document = document(&routes);
    for route in &routes {
        let operation = operation_json(&document, route);
        let described = format!("{} {}", route.method, route.path);
        assert_eq!(operation["summary"], route.summary, "{described}");
        let security = operation["security"].as_array().expect("every operation states its security");
        let bearer = serde_json::json!({ "bearer": [] });
        let anonymous = serde_json::json!({});
        match route.access {
            Access::Public => assert!(security.is_empty(), "{described}: {security:?}"),
            Access::HealthCheck => {
                assert!(security.contains(&anonymous) && security.contains(&bearer), "{described}: {security:?}")
            }
            Access::Reader | Access::Admin => assert_eq!(security, &vec![bearer.clone()], "{described}"),
        }
        let responses = operation["responses"].as_object().expect("responses");
        // A wrong password is a 401 as well, on the public login routes.
        let logs_in = LOGIN_ROUTES.contains(&(route.method, route.path));
        assert_eq!(responses.contains_key("401"), route.access != Access::Public || logs_in, "{described}");
        assert_eq!(responses.contains_key("403"), route.access == Access::Admin, "{described}");
    }
}

#[test]
fn every_route_has_details_and_every_detail_names_a_route() {
    let routes = table_routes();
    for route in &routes {
        assert!(details(route.method, route.path).is_some(), "no details for {} {}", route.method, route.path);
    }
    for detail in DETAILS {
        assert!(
            routes.iter().any(|route| route.method == detail.method && route.path == detail.path),
            "details for a route the table lacks: {} {}",
            detail.method,
            detail.path
        );
    }
}

#[test]
fn writes_document_their_request_body() {
    let bodiless = [
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/admin/resync"),
        ("POST", "/Reset"),
        ("POST", "/api/v1/notifiers/{id}/test"),
    ];
    for route in table_routes() {
        let writes = matches!(route.method, "POST" | "PUT" | "PATCH");
        if !writes || bodiless.contains(&(route.method, route.path)) {
            continue;
        }
        let request = details(route.method, route.path).and_then(|details| details.request);
        assert!(request.is_some(), "{} {} takes a body the document does not describe", route.method, route.path);
    }
}

#[test]
fn path_parameters_match_the_template() {
    let routes = table_routes();
    let document = document(&routes);
    for route in &routes {
        let operation = operation_json(&document, route);
        let declared: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|parameters| {
                parameters.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect()
            })
            .unwrap_or_default();
        assert_eq!(declared, path_params(route.path), "{} {}", route.method, route.path);
    }
    assert_eq!(path_params("/api/v1/targets/{id}/samples"), ["id"]);
}

#[test]
fn compatibility_routes_are_tagged_compat() {
    let routes = table_routes();
    let document = document(&routes);
    for route in &routes {
        let tags = operation_json(&document, route)["tags"].clone();
        let own_page = ["/status", "/badge/", "/ui"].iter().any(|prefix| route.path.starts_with(prefix));
        let compat = !route.path.starts_with("/api/")
            && !own_page
            && !["/healthz", "/livez", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/docs.css"]
                .contains(&route.path);
        assert_eq!(tags == serde_json::json!(["compat"]), compat, "{} {}: {tags}", route.method, route.path);
    }
}

/// The fields a schema requires, including those of inline `allOf` parts (flattened fields).
fn required(schema: &Value) -> BTreeSet<String> {
    let own = schema["required"].as_array().into_iter().flatten();
    let parts = schema["allOf"].as_array().into_iter().flatten().flat_map(|part| part["required"].as_array()).flatten();
    own.chain(parts).filter_map(|field| field.as_str().map(str::to_owned)).collect()
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(target)) = object.get("$ref") {
                found.push(target.clone());
            }
            object.values().for_each(|child| refs(child, found));
        }
        Value::Array(items) => items.iter().for_each(|child| refs(child, found)),
        _ => {}
    }
}

#[test]
fn the_json_is_openapi_3_1_and_its_schemas_are_complete() {
    let text = document(&table_routes()).to_json().expect("the document serializes");
    let json: Value = serde_json::from_str(&text).expect("the document is JSON");
    let version = json["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    let schemas = &json["components"]["schemas"];
    assert!(required(&schemas["TargetBody"]).is_superset(&["name".into(), "kind".into()].into()));
    assert!(!required(&schemas["TargetBody"]).contains("url"), "url applies to http targets only");
    assert_eq!(required(&schemas["LoginRequest"]), ["password".to_owned(), "username".to_owned()].into());
    assert!(required(&schemas["ErrorDetail"]).contains("code"));
    for field in ["id", "health", "revision", "recent_samples", "has_password"] {
        assert!(schemas["TargetView"]["properties"].get(field).is_some(), "TargetView.{field}");
    }
    assert_eq!(json["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let create = &json["paths"]["/api/v1/targets"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TargetBody"
    );
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TargetView"
    );

    let mut found = Vec::new();
    refs(&json, &mut found);
    assert!(found.len() > 50, "operations and schemas refer to components");
    for target in found {
        let name = target.strip_prefix("#/components/schemas/").expect("a schema reference");
        assert!(schemas.get(name).is_some(), "{target} names no schema");
    }
}

/// The document as served, as JSON.
fn served() -> Value {
    let text = document_json(&table_routes()).expect("the document serializes");
    serde_json::from_str(&text).expect("the document is JSON")
}

fn responses<'a>(served: &'a Value, method: &str, path: &str) -> &'a serde_json::Map<String, Value> {
    served["paths"][path][method.to_ascii_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} documents its responses"))
}

fn is_error_body(response: &Value) -> bool {
    response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody"
}

#[test]
fn login_routes_document_a_refused_login_too_many_attempts_and_overload() {
    let served = served();
    for (method, path) in LOGIN_ROUTES {
        let responses = responses(&served, method, path);
        for status in ["401", "429", "503"] {
            assert!(responses.get(status).is_some_and(is_error_body), "{method} {path} {status}: {responses:?}");
        }
        assert_eq!(responses["429"]["headers"]["retry-after"]["required"], true, "{method} {path}");
        assert_eq!(responses["503"]["headers"]["retry-after"]["required"], true, "{method} {path}");
    }
    // Creating a user hashes its password, under the same bound.
    let create_user = responses(&served, "POST", "/api/v1/users");
    assert_eq!(create_user["503"]["headers"]["retry-after"]["required"], true);
}

#[test]
fn every_route_taking_a_path_or_query_parameter_or_a_body_documents_400() {
    let served = served();
    for route in table_routes() {
        let details = details(route.method, route.path).expect("details");
        if path_params(route.path).is_empty() && details.query.is_empty() && details.request.is_none() {
            continue;
        }
        let responses = responses(&served, route.method, route.path);
        assert!(responses.get("400").is_some_and(is_error_body), "{} {}: {responses:?}", route.method, route.path);
    }
    // What schemathesis found: a query parameter given twice is a 400 there.
    for (method, path) in [
        ("GET", "/api/v1/targets"),
        ("DELETE", "/api/v1/targets/{id}"),
        ("GET", "/api/v1/targets/{id}/samples"),
        ("GET", "/api/v1/targets/{id}/transitions"),
        ("GET", "/healthz"),
        ("GET", "/IsHealthy"),
    ] {
        assert!(responses(&served, method, path).contains_key("400"), "{method} {path}");
    }
}

#[test]
fn writes_that_may_carry_credentials_document_503_for_a_missing_sealing_key() {
    let served = served();
    for (method, path) in [
        ("POST", "/api/v1/targets"),
        ("PUT", "/api/v1/targets/{id}"),
        ("PATCH", "/api/v1/targets/{id}"),
        ("POST", "/Resource"),
        ("PUT", "/Resource/{hostname}"),
        ("PATCH", "/Resource/{hostname}"),
    ] {
        let unavailable = &responses(&served, method, path)["503"];
        assert!(is_error_body(unavailable), "{method} {path}: {unavailable}");
        assert!(unavailable["headers"].get("retry-after").is_none(), "{method} {path}: {unavailable}");
    }
}

#[test]
fn writes_that_can_take_a_name_in_use_document_409() {
    let served = served();
    for (method, path) in [
        ("POST", "/api/v1/targets"),
        ("PUT", "/api/v1/targets/{id}"),
        ("PATCH", "/api/v1/targets/{id}"),
        ("POST", "/webservers"),
        ("PUT", "/webservers/{id}"),
        ("POST", "/Resource"),
        ("PUT", "/Resource/{hostname}"),
        ("PATCH", "/Resource/{hostname}"),
        ("POST", "/api/v1/users"),
    ] {
        assert!(responses(&served, method, path).get("409").is_some_and(is_error_body), "{method} {path}");
    }
}

#[test]
fn every_response_names_the_headers_it_always_carries() {
    let served = served();
    let creates = [
        ("POST", "/api/v1/targets"),
        ("POST", "/api/v1/users"),
        ("POST", "/webservers"),
        ("POST", "/Resource"),
        ("POST", "/api/v1/notifiers"),
        ("POST", "/api/v1/alerts"),
        ("POST", "/api/v1/maintenance"),
    ];
    for route in table_routes() {
        for (status, response) in responses(&served, route.method, route.path) {
            let described = format!("{} {} {status}", route.method, route.path);
            let headers = &response["headers"];
            assert_eq!(headers["x-request-id"]["required"], true, "{described}: {headers}");
            assert_eq!(headers.get("www-authenticate").is_some(), status == "401", "{described}: {headers}");
            let hashes = LOGIN_ROUTES.contains(&(route.method, route.path))
                || (route.method, route.path) == ("POST", "/api/v1/users");
            let retry_after = status == "429" || (status == "503" && hashes);
            assert_eq!(headers.get("retry-after").is_some(), retry_after, "{described}: {headers}");
            let creates_here = status == "201" && creates.contains(&(route.method, route.path));
            assert_eq!(headers.get("location").is_some(), creates_here, "{described}: {headers}");
            if let Some(headers) = headers.as_object() {
                assert!(headers.values().all(|header| header["required"] == true), "{described}: {headers:?}");
            }
        }
    }
}

#[test]
fn the_status_filter_lists_every_status() {
    let served = served();
    let parameters = served["paths"]["/api/v1/targets"]["get"]["parameters"].as_array().expect("parameters");
    let status = parameters.iter().find(|parameter| parameter["name"] == "status").expect("a status filter");
    let listed: BTreeSet<&str> =
        status["schema"]["enum"].as_array().expect("an enum").iter().filter_map(Value::as_str).collect();
    let statuses: BTreeSet<&str> = healthmon_domain::HealthStatus::ALL.iter().map(|status| status.as_str()).collect();
    assert_eq!(listed, statuses);
}

#[test]
fn the_description_says_what_a_method_a_path_does_not_serve_answers() {
    let description = served()["info"]["description"].as_str().map(str::to_owned).expect("a description");
    assert!(description.contains("405") && description.contains("`Allow`"), "{description}");
}

#[test]
fn the_event_stream_describes_each_event_it_sends() {
    let served = served();
    let stream = &responses(&served, "GET", "/api/v1/events")["200"]["content"]["text/event-stream"]["schema"];
    assert_eq!(stream["$ref"], "#/components/schemas/HealthChangeEvent", "{stream}");
    let event = &served["components"]["schemas"]["HealthChangeEvent"];
    assert_eq!(required(event), ["data".to_owned(), "event".to_owned(), "id".to_owned()].into(), "{event}");
    let name = event["properties"]["event"]["pattern"].as_str().expect("the event name's pattern");
    let name = regex::Regex::new(name).expect("a regex");
    assert!(name.is_match(healthmon_domain::events::HEALTH_CHANGED), "{name}");
    assert_eq!(event["properties"]["data"]["contentMediaType"], "application/json", "{event}");
}

#[test]
fn links_name_real_operations_and_a_field_of_the_response() {
    let served = served();
    let mut operations = BTreeMap::new();
    for item in served["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("a path item").values().filter(|operation| operation.is_object()) {
            operations.insert(operation["operationId"].as_str().expect("an operation id").to_owned(), operation);
        }
    }
    let mut followed = Vec::new();
    for (from, operation) in &operations {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let schema = response["content"]["application/json"]["schema"]["$ref"].as_str();
            for link in response["links"].as_object().into_iter().flat_map(|links| links.values()) {
                let to = link["operationId"].as_str().expect("a link names its operation");
                let target = operations.get(to).unwrap_or_else(|| panic!("{from} {status} links to no operation {to}"));
                for (parameter, expression) in link["parameters"].as_object().expect("link parameters") {
                    let declared = target["parameters"].as_array().into_iter().flatten();
                    assert!(declared.clone().any(|p| p["name"] == *parameter), "{to} has no parameter {parameter}");
                    let field =
                        expression.as_str().and_then(|e| e.strip_prefix("$response.body#/")).expect("a pointer");
                    let schema = schema.and_then(|s| s.strip_prefix("#/components/schemas/")).expect("a JSON body");
                    assert!(
                        served["components"]["schemas"][schema]["properties"].get(field).is_some(),
                        "{schema}.{field}"
                    );
                }
                followed.push((from.clone(), to.to_owned()));
            }
        }
    }
    for to in ["get_resource_hostname", "put_resource_hostname", "patch_resource_hostname", "delete_resource_hostname"]
    {
        assert!(followed.contains(&("post_resource".to_owned(), to.to_owned())), "POST /Resource links to {to}");
    }
}

#[test]
fn the_service_s_own_endpoints_are_tagged_operations_not_compat() {
    for path in ["/livez", "/readyz", "/metrics"] {
        assert_eq!(super::operation::tag(path), "operations", "{path}");
    }
    assert_eq!(super::operation::tag("/IsHealthy"), "compat");
}
