//! Secrets in files and flags come from the environment, never from the command line: a string
//! that is exactly `${VAR}` is replaced by the variable's value. Errors name the variable, never
//! a value.

use anyhow::bail;
use serde_json::Value;

/// The value of `var`; unset (or not UTF-8) is an error naming it.
pub fn from_env(var: &str) -> anyhow::Result<String> {
    match std::env::var(var) {
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => bail!("the environment variable {var} is not set"),
        Err(std::env::VarError::NotUnicode(_)) => bail!("the environment variable {var} is not UTF-8"),
    }
}

/// The variable a `${VAR}` string names, if the string is one.
fn reference(text: &str) -> Option<&str> {
    let name = text.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|first| first == '_' || first.is_ascii_alphabetic());
    (starts_well && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())).then_some(name)
}

/// Replaces every `${VAR}` string in `value` (at any depth) by the variable's value, read with
/// `lookup`; answers the paths replaced (`url`, `headers.X-Token`, `to.0`), so a plan can hide
/// what they became.
pub fn substitute_with(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<Vec<String>> {
    let mut replaced = Vec::new();
    walk(value, String::new(), lookup, &mut replaced)?;
    Ok(replaced)
}

pub fn substitute(value: &mut Value) -> anyhow::Result<Vec<String>> {
    substitute_with(value, &from_env)
}

fn walk(
    value: &mut Value,
    path: String,
    lookup: &dyn Fn(&str) -> anyhow::Result<String>,
    replaced: &mut Vec<String>,
) -> anyhow::Result<()> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        Value::String(text) => {
            if let Some(var) = reference(text) {
                *text = lookup(var)?;
                replaced.push(path);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                walk(item, join(&index.to_string()), lookup, replaced)?;
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields.iter_mut() {
                walk(item, join(key), lookup, replaced)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fake_env(var: &str) -> anyhow::Result<String> {
        match var {
            "SLACK_URL" => Ok("https://hooks.slack.com/services/T0/B0/s3cret".into()),
            "TOKEN" => Ok("tok-123".into()),
            _ => bail!("the environment variable {var} is not set"),
        }
    }

    #[test]
    fn references_at_any_depth_are_replaced_and_reported() {
        // given an entry with references at the top and inside headers, and text that only looks alike
        let mut entry = json!({"name": "n", "webhook_url": "${SLACK_URL}", "headers": {"X-Token": "${TOKEN}"},
                               "body": "costs ${TOKEN} dollars", "to": ["$TOKEN", "${ not a name }"]});
        // when substituted
        let replaced = substitute_with(&mut entry, &fake_env).expect("substituted");
        // then exactly the whole-string references are replaced, and their paths reported
        assert_eq!(entry["webhook_url"], "https://hooks.slack.com/services/T0/B0/s3cret");
        assert_eq!(entry["headers"]["X-Token"], "tok-123");
        assert_eq!(entry["body"], "costs ${TOKEN} dollars");
        assert_eq!(entry["to"], json!(["$TOKEN", "${ not a name }"]));
        let mut replaced = replaced;
        replaced.sort();
        assert_eq!(replaced, ["headers.X-Token", "webhook_url"]);
    }

    #[test]
    fn an_unset_variable_is_named() {
        // given a reference to a variable that is not set
        let mut entry = json!({"secret": "${MISSING_SECRET}"});
        // when substituted, then the error names the variable
        let error = substitute_with(&mut entry, &fake_env).expect_err("unset");
        assert!(error.to_string().contains("MISSING_SECRET"), "{error}");
    }
}
