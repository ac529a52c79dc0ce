//! Reading resolved inputs and writing observed ones.

use std::collections::BTreeMap;

use infra_core::{Fields, Value};
use infra_engine::{ErrorKind, ProviderError};

fn invalid(field: &str, what: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("input `{field}` {what}")).with_code("InvalidInput")
}

/// A required string input (references are resolved by now).
pub(crate) fn req_str(f: &Fields, name: &str) -> Result<String, ProviderError> {
    opt_str(f, name).ok_or_else(|| invalid(name, "is required"))
}

/// An optional string input.
pub(crate) fn opt_str(f: &Fields, name: &str) -> Option<String> {
    match f.get(name).map(Value::reveal) {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean input (absent is false).
pub(crate) fn bool_of(f: &Fields, name: &str) -> bool {
    matches!(f.get(name), Some(Value::Bool(true)))
}

/// An integer input.
pub(crate) fn int_of(f: &Fields, name: &str) -> Option<i64> {
    f.get(name).and_then(Value::as_i64)
}

/// A list of strings (absent is empty).
pub(crate) fn str_list(f: &Fields, name: &str) -> Vec<String> {
    match f.get(name).map(Value::reveal) {
        Some(Value::List(l)) => l.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// The user's tags (the `tags` input).
pub(crate) fn user_tags(f: &Fields) -> BTreeMap<String, String> {
    match f.get("tags").map(Value::reveal) {
        Some(Value::Map(m)) => {
            m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))).collect()
        }
        _ => BTreeMap::new(),
    }
}

/// Builds a field map from `(name, value)` pairs, leaving out nulls, empty
/// lists and empty maps (as the input structs serialize them).
pub(crate) fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Fields {
    pairs
        .into_iter()
        .filter(|(_, v)| match v {
            Value::Null => false,
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            _ => true,
        })
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// A tags map as a value, without the engine's own `infra:` tags.
pub(crate) fn tags_value<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Map(
        tags.into_iter()
            .filter(|(k, _)| !k.starts_with("infra:"))
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect(),
    )
}

/// A list of strings as a value.
pub(crate) fn list_value(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(items.into_iter().map(Value::String).collect())
}

/// An optional string as a value (`Null` when absent).
pub(crate) fn opt_value(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}
