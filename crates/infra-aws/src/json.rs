//! JSON documents compared by meaning: key order and whitespace aside.

/// `text` in canonical form (compact, object keys sorted, as the engine
/// writes a `jsonencode`d value); `None` when it is not JSON.
pub(crate) fn canonical(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = String::new();
    write(&v, &mut out);
    Some(out)
}

fn write(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(m) => {
            let sorted: std::collections::BTreeMap<&String, &serde_json::Value> = m.iter().collect();
            out.push('{');
            for (i, (k, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Canonicalises a JSON input in place when it is known and is JSON.
pub(crate) fn canonical_input(v: &mut infra_core::Input<String>) {
    if let infra_core::Input::Value(text) = v
        && let Some(c) = canonical(text)
    {
        *text = c;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a = super::canonical(r#"{ "b": [1, {"y": 2, "x": "s"}], "a": true }"#);
        assert_eq!(a.as_deref(), Some(r#"{"a":true,"b":[1,{"x":"s","y":2}]}"#));
        assert_eq!(super::canonical("not json"), None);
    }
}
