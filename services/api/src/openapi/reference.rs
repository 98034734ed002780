//! `/docs`: the OpenAPI document rendered on the server as one HTML page (maud), so the reference
//! reads on a network without internet and needs no script at all: the operations by tag, each
//! with its parameters, body and responses, then every schema with its fields and their rules.

use maud::{DOCTYPE, Markup, html};
use serde_json::{Map, Value};

/// The reference's stylesheet, served beside it.
pub const STYLESHEET: &str = "/docs/docs.css";
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub fn render(document: &Value) -> Markup {
    let operations = operations(document);
    let mut tags: Vec<&str> = Vec::new();
    for operation in &operations {
        if !tags.contains(&operation.tag) {
            tags.push(operation.tag);
        }
    }
    let schemas = document["components"]["schemas"].as_object().cloned().unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang="en" {
            (crate::pages::head("healthmon API reference", STYLESHEET, None))
            body {
                header {
                    h1 { "healthmon API reference" }
                    p { (text(&document["info"]["description"])) }
                    p { "The machine-readable document: " a href="/openapi.json" { "openapi.json" } " (OpenAPI "
                        (text(&document["openapi"])) ")." }
                }
                nav {
                    h2 { "Contents" }
                    ul {
                        @for tag in &tags {
                            li { a href={ "#tag-" (tag) } { (tag) } }
                        }
                        li { a href="#schemas" { "schemas" } }
                    }
                }
                main {
                    @for tag in &tags {
                        section id={ "tag-" (tag) } {
                            h2 { (tag) }
                            @for operation in operations.iter().filter(|operation| operation.tag == *tag) {
                                (operation_section(operation))
                            }
                        }
                    }
                    section id="schemas" {
                        h2 { "Schemas" }
                        @for (name, schema) in &schemas {
                            (schema_section(name, schema))
                        }
                    }
                }
            }
        }
    }
}

struct Operation<'a> {
    method: &'a str,
    path: &'a str,
    tag: &'a str,
    body: &'a Value,
}

fn operations(document: &Value) -> Vec<Operation<'_>> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(body) = item.get(method) {
                let tag = body["tags"][0].as_str().unwrap_or("other");
                found.push(Operation { method, path, tag, body });
            }
        }
    }
    found
}

fn operation_section(operation: &Operation<'_>) -> Markup {
    let body = operation.body;
    let public = body["security"].as_array().is_none_or(|requirements| {
        requirements.is_empty()
            || requirements.iter().any(|requirement| requirement.as_object().is_some_and(Map::is_empty))
    });
    let parameters = body["parameters"].as_array().cloned().unwrap_or_default();
    html! {
        article.operation id=(text(&body["operationId"])) {
            h3 { span class={ "method method-" (operation.method) } { (operation.method.to_uppercase()) } " " code { (operation.path) } }
            p { (text(&body["summary"])) }
            @if let Some(description) = body["description"].as_str() { p { (description) } }
            p.access { @if public { "No token needed." } @else { "Needs a bearer token." } }
            @if !parameters.is_empty() {
                table {
                    thead { tr { th { "Parameter" } th { "In" } th { "Type" } th { "Description" } } }
                    tbody {
                        @for parameter in &parameters {
                            tr {
                                td { code { (text(&parameter["name"])) } @if parameter["required"] == Value::Bool(true) { " *" } }
                                td { (text(&parameter["in"])) }
                                td { (type_of(&parameter["schema"])) }
                                td { (text(&parameter["description"])) }
                            }
                        }
                    }
                }
            }
            @if let Some(content) = body["requestBody"]["content"].as_object() {
                p { "Request body: " @for (media, shape) in content { code { (media) } " " (type_of(&shape["schema"])) } }
            }
            dl.responses {
                @for (status, response) in body["responses"].as_object().into_iter().flatten() {
                    dt { (status) }
                    dd {
                        (text(&response["description"]))
                        @for (media, shape) in response["content"].as_object().into_iter().flatten() {
                            " · " code { (media) } " " (type_of(&shape["schema"]))
                        }
                    }
                }
            }
        }
    }
}

fn schema_section(name: &str, schema: &Value) -> Markup {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let properties = schema["properties"].as_object().cloned().unwrap_or_default();
    html! {
        article.schema id={ "schema-" (name) } {
            h3 { (name) }
            @if let Some(description) = schema["description"].as_str() { p { (description) } }
            @if let Some(words) = schema["enum"].as_array() {
                p { "One of: " @for word in words { code { (text(word)) } " " } }
            }
            @if !properties.is_empty() {
                table {
                    thead { tr { th { "Field" } th { "Type" } th { "Description" } } }
                    tbody {
                        @for (field, property) in &properties {
                            tr {
                                td { code { (field) } @if required.contains(&field.as_str()) { " *" } }
                                td { (type_of(property)) }
                                td { (text(&property["description"])) (rules(property)) }
                            }
                        }
                    }
                }
            }
            @for part in schema["allOf"].as_array().into_iter().flatten() {
                p { "Also: " (type_of(part)) }
            }
        }
    }
}

/// A schema's type in a word or two, with a link for a reference.
fn type_of(schema: &Value) -> Markup {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return html! { a href={ "#schema-" (name) } { (name) } };
    }
    if schema["type"] == "array" {
        return html! { "array of " (type_of(&schema["items"])) };
    }
    let words: Vec<String> = match &schema["type"] {
        Value::String(word) => vec![word.clone()],
        Value::Array(words) => words.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let alternatives = schema["oneOf"].as_array().or(schema["anyOf"].as_array());
    html! {
        @if let Some(alternatives) = alternatives {
            @for (n, alternative) in alternatives.iter().enumerate() { @if n > 0 { " or " } (type_of(alternative)) }
        } @else if words.is_empty() { "any" } @else { (words.join(" or ")) }
        @if let Some(format) = schema["format"].as_str() { " (" (format) ")" }
    }
}

/// The constraints a field states beside its type.
fn rules(schema: &Value) -> Markup {
    let mut stated = Vec::new();
    for (key, word) in [("minLength", "at least"), ("maxLength", "at most"), ("minimum", "≥"), ("maximum", "≤")] {
        if let Some(value) = schema.get(key).filter(|value| value.is_number()) {
            let unit = if key.ends_with("Length") { " characters" } else { "" };
            stated.push(format!("{word} {value}{unit}"));
        }
    }
    if let Some(words) = schema["enum"].as_array() {
        stated.push(format!("one of {}", words.iter().map(text).collect::<Vec<_>>().join(", ")));
    }
    html! {
        @if !stated.is_empty() { " " span.rules { "(" (stated.join("; ")) ")" } }
        @if let Some(pattern) = schema["pattern"].as_str() { " " span.rules { "pattern " code { (pattern) } } }
    }
}

/// A JSON value as text: strings as they are, anything else as JSON, nothing for null.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
