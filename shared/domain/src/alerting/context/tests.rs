//! Templates: variables, Gatus's placeholders, and the bounds that keep a hostile one harmless.

use super::*;

fn context(event: NotificationEvent) -> NotificationContext {
    let mut context = sample_context();
    context.event = event;
    context.alert.name = "db down".to_owned();
    context.target.name = "orders \"db\"".to_owned();
    context.target.group = Some("core".to_owned());
    context.health.reason = "3 failures: connection refused".to_owned();
    context
}

#[test]
fn given_variables_when_rendered_then_each_comes_from_the_context() {
    let delivery = Uuid::from_u128(42);
    let rendered = render_template(
        "{{ event }} {{ alert.name }} {{ target.name }} {{ health.from }}->{{ health.to }} {{ delivery_id }}",
        &context(NotificationEvent::Triggered),
        delivery,
    )
    .expect("renders");
    assert_eq!(rendered, format!("triggered db down orders \"db\" healthy->unhealthy {delivery}"));
}

#[test]
fn given_tojson_when_rendered_then_a_json_body_stays_valid_with_quotes_in_values() {
    let rendered =
        render_template(r#"{"name": {{ target.name|tojson }}}"#, &context(NotificationEvent::Resolved), Uuid::nil())
            .expect("renders");
    let value: serde_json::Value = serde_json::from_str(&rendered).expect("valid JSON");
    assert_eq!(value["name"], "orders \"db\"");
}

#[test]
fn given_gatus_placeholders_when_rendered_then_each_is_replaced() {
    let template = "[ENDPOINT_NAME]|[ENDPOINT_GROUP]|[ENDPOINT_URL]|[ALERT_DESCRIPTION]|[RESULT_ERRORS]|[ALERT_TRIGGERED_OR_RESOLVED]";
    let rendered = render_template(template, &context(NotificationEvent::Triggered), Uuid::nil()).expect("renders");
    assert_eq!(
        rendered,
        "orders \"db\"|core|https://example.com/health|db down|3 failures: connection refused|TRIGGERED"
    );
    let verdict = |event| render_template("[ALERT_TRIGGERED_OR_RESOLVED]", &context(event), Uuid::nil());
    assert_eq!(verdict(NotificationEvent::Resolved).as_deref(), Ok("RESOLVED"));
    assert_eq!(verdict(NotificationEvent::Reminder).as_deref(), Ok("TRIGGERED"));
    assert_eq!(verdict(NotificationEvent::Test).as_deref(), Ok("TEST"));

    let mut tcp = context(NotificationEvent::Triggered);
    (tcp.target.url, tcp.target.host) = (None, Some("db.internal".to_owned()));
    assert_eq!(render_template("[ENDPOINT_URL]", &tcp, Uuid::nil()).as_deref(), Ok("db.internal"));
}

#[test]
fn given_a_broken_template_then_checking_and_rendering_name_the_problem() {
    for broken in ["{% if %}", "{{ target.name | no_such_filter }}", "{{ 'a' + 1 }}", "{% for %}"] {
        assert!(check_template(broken).is_err(), "{broken}");
    }
    assert!(check_template("{% if event == 'resolved' %}ok{% else %}[ENDPOINT_NAME] is down{% endif %}").is_ok());
    assert!(check_template("").is_ok());
}

#[test]
fn given_a_template_that_loops_for_ever_or_recurses_then_it_runs_out_instead_of_hanging() {
    let spinning = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
    assert!(check_template(spinning).unwrap_err().contains("fuel"), "out of fuel");
    let recursing = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    assert!(check_template(recursing).is_err());
}

#[test]
fn given_a_template_whose_output_is_too_large_then_it_is_refused() {
    let flood = "{{ 'x' * 70000 }}";
    assert_eq!(check_template(flood), Err(too_large()));
    let growing = "{% for i in range(2000) %}{{ 'y' * 40 }}{% endfor %}";
    assert_eq!(check_template(growing), Err(too_large()));
    let at_limit = format!("{{{{ 'z' * {MAX_RENDERED_BYTES} }}}}");
    assert_eq!(
        render_template(&at_limit, &sample_context(), Uuid::nil()).map(|text| text.len()),
        Ok(MAX_RENDERED_BYTES)
    );
    // Placeholders expand after rendering, and the limit holds after them too.
    let expanding = format!("{{{{ 'z' * {} }}}}[RESULT_ERRORS]", MAX_RENDERED_BYTES - 2);
    assert_eq!(check_template(&expanding), Err(too_large()));
}
