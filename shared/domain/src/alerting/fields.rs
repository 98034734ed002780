//! Reading alerting documents (rules, windows, notifiers) field by field, so that every bad field
//! is named in one answer, as target documents are.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::Selector;
use crate::ValidationErrors;

pub(super) const MAX_NAME_CHARS: usize = 200;
const MAX_SELECTOR_TAGS: usize = 32;
const MAX_SELECTOR_TARGETS: usize = 1000;

/// A client document and the errors found in it so far.
pub(super) struct Fields<'a> {
    pub(super) object: &'a Map<String, Value>,
    pub(super) errors: ValidationErrors,
}

impl<'a> Fields<'a> {
    /// `value` as an object, or the error saying it is not one.
    pub(super) fn of(value: &'a Value) -> Result<Self, ValidationErrors> {
        match value.as_object() {
            Some(object) => Ok(Self { object, errors: ValidationErrors::new() }),
            None => Err(ValidationErrors::single("body", "must be a JSON object")),
        }
    }

    /// `built` when no field was bad, else every error found.
    pub(super) fn finish<T>(self, built: Option<T>) -> Result<T, ValidationErrors> {
        match built {
            Some(built) if self.errors.is_empty() => Ok(built),
            _ if self.errors.is_empty() => Err(ValidationErrors::single("body", "is not valid")),
            _ => Err(self.errors),
        }
    }

    /// Names every field that is in none of `known`.
    pub(super) fn reject_unknown(&mut self, known: &[&[&str]]) {
        for key in self.object.keys() {
            if !known.iter().any(|set| set.contains(&key.as_str())) {
                self.errors.add(key.clone(), "unknown field");
            }
        }
    }

    pub(super) fn present(&self, field: &str) -> bool {
        self.object.get(field).is_some_and(|value| !value.is_null())
    }

    /// `name`: required, trimmed, 1 to 200 printable characters.
    pub(super) fn name(&mut self) -> Option<String> {
        let name = self.required_str("name")?;
        let trimmed = name.trim();
        if trimmed.is_empty() {
            self.errors.add("name", "must not be empty");
            return None;
        }
        if trimmed.chars().count() > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
            self.errors.add("name", format!("must be at most {MAX_NAME_CHARS} printable characters"));
            return None;
        }
        Some(trimmed.to_owned())
    }

    pub(super) fn required_str(&mut self, field: &str) -> Option<String> {
        if !self.present(field) {
            self.errors.add(field, "is required");
            return None;
        }
        self.optional_str(field)
    }

    pub(super) fn optional_str(&mut self, field: &str) -> Option<String> {
        crate::validation::optional_str(self.object, &mut self.errors, field)
    }

    pub(super) fn bool(&mut self, field: &str, default: bool) -> bool {
        crate::validation::flag(self.object, &mut self.errors, field, default)
    }

    /// A whole number that `allowed` accepts; `bounds` describes them in the error.
    pub(super) fn number(&mut self, field: &str, default: u32, allowed: impl Fn(u32) -> bool, bounds: &str) -> u32 {
        let Some(value) = self.object.get(field).filter(|value| !value.is_null()) else {
            return default;
        };
        match value.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| allowed(*n)) {
            Some(n) => n,
            None => {
                self.errors.add(field, format!("must be a whole number {bounds}"));
                default
            }
        }
    }

    /// A list of UUIDs at `field`, each bad one named `field.N`.
    pub(super) fn uuids(&mut self, field: &str, value: &Value, max: usize) -> Vec<Uuid> {
        let Some(items) = value.as_array() else {
            self.errors.add(field, "must be a list of ids");
            return Vec::new();
        };
        if items.len() > max {
            self.errors.add(field, format!("at most {max} ids"));
        }
        let mut ids = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str().and_then(|text| Uuid::parse_str(text).ok()) {
                Some(id) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => self.errors.add(format!("{field}.{index}"), "must be an id (a UUID)"),
            }
        }
        ids
    }

    /// `selector`: `{tags: [...], targets: [id...]}`, both optional; absent matches every target.
    pub(super) fn selector(&mut self) -> Selector {
        let Some(value) = self.object.get("selector").filter(|value| !value.is_null()) else {
            return Selector::default();
        };
        let Some(object) = value.as_object() else {
            self.errors.add("selector", "must be an object with tags and targets");
            return Selector::default();
        };
        let mut selector = Selector::default();
        for (key, item) in object {
            match key.as_str() {
                "tags" if !item.is_null() => selector.tags = self.selector_tags(item),
                "targets" if !item.is_null() => {
                    selector.targets = self.uuids("selector.targets", item, MAX_SELECTOR_TARGETS)
                }
                "tags" | "targets" => {}
                other => self.errors.add(format!("selector.{other}"), "unknown field"),
            }
        }
        selector
    }

    fn selector_tags(&mut self, value: &Value) -> Vec<String> {
        let Some(items) = value.as_array() else {
            self.errors.add("selector.tags", "must be a list of tags");
            return Vec::new();
        };
        if items.len() > MAX_SELECTOR_TAGS {
            self.errors.add("selector.tags", format!("at most {MAX_SELECTOR_TAGS} tags"));
        }
        let mut tags: Vec<String> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str().filter(|tag| !tag.is_empty() && tag.chars().count() <= 64) {
                Some(tag) if !tags.iter().any(|known| known == tag) => tags.push(tag.to_owned()),
                Some(_) => {}
                None => self.errors.add(format!("selector.tags.{index}"), "must be a tag of 1 to 64 characters"),
            }
        }
        tags
    }
}
