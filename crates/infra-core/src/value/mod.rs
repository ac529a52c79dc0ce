//! Dynamic values: resource inputs and outputs as the engine sees them.
//!
//! A [`Value`] is JSON plus a few engine-only forms:
//! - [`Value::Unknown`]: not known until apply ("(known after apply)").
//! - [`Value::Secret`]: a plaintext secret, in memory only. Serializing it is an
//!   error, so a secret can never reach a state file, a plan file or a log.
//! - [`Value::SecretHash`]: the keyed digest that state and plans keep instead.
//! - [`Value::Ref`], [`Value::Template`], [`Value::Json`]: unresolved
//!   expressions in desired inputs (an output of another resource, string
//!   interpolation, JSON encoding). The planner resolves them.
//!
//! On the wire, plain values are plain JSON; the engine-only forms are
//! single-key objects with a `$` key (`{"$unknown":true}`,
//! `{"$secret_hash":"hmac-sha256:…"}`, `{"$ref":{"address":…,"output":…}}`,
//! `{"$template":[…]}`, `{"$json":…}`). A user map key that starts with `$` is
//! escaped by doubling the `$`, so the encoding is unambiguous.

mod ser;
mod wire;

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::address::Address;

pub use ser::{ValueSerializeError, to_value};

/// Reserved newtype names that the value serializer recognises.
pub(crate) mod ser_names {
    pub(crate) use super::ser::in_value_serializer;
    pub(crate) const REF: &str = super::ser::REF_NAME;
    pub(crate) const SECRET: &str = super::ser::SECRET_NAME;
    pub(crate) const JSON: &str = super::ser::JSON_NAME;
}

/// Inputs or outputs of one resource: field name to value.
pub type Fields = BTreeMap<String, Value>;

/// A reference to one output of another resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reference {
    /// The resource whose output is referenced.
    pub address: Address,
    /// The output field's name, e.g. `id` or `arn`.
    pub output: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.address, self.output)
    }
}

/// A dynamic value. See the module documentation for the special forms.
#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Not known until apply.
    Unknown,
    /// A plaintext secret. Memory only: serializing it fails.
    Secret(Box<Value>),
    /// Keyed digest of a secret (`hmac-sha256:<hex>`), what state keeps.
    SecretHash(String),
    /// An output of another resource.
    Ref(Reference),
    /// String interpolation: the parts, resolved and concatenated.
    Template(Vec<Value>),
    /// JSON encoding of the resolved inner value, as a string.
    Json(Box<Value>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Map(m) => f.debug_map().entries(m).finish(),
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Secret(_) | Value::SecretHash(_) => f.write_str("(sensitive)"),
            Value::Ref(r) => write!(f, "${{{r}}}"),
            Value::Template(parts) => f.debug_tuple("Template").field(parts).finish(),
            Value::Json(v) => f.debug_tuple("Json").field(v).finish(),
        }
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string inside a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside a `Number` value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// True when the value, or anything inside it, is `Unknown` or an
    /// unresolved expression.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown | Value::Ref(_) | Value::Template(_) | Value::Json(_) => true,
            Value::List(l) => l.iter().any(Value::has_unknown),
            Value::Map(m) => m.values().any(Value::has_unknown),
            Value::Secret(v) => v.has_unknown(),
            _ => false,
        }
    }

    /// True when the value holds a secret (plaintext or digest) anywhere.
    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Secret(_) | Value::SecretHash(_) => true,
            Value::List(l) => l.iter().any(Value::is_sensitive),
            Value::Map(m) => m.values().any(Value::is_sensitive),
            Value::Template(p) => p.iter().any(Value::is_sensitive),
            Value::Json(v) => v.is_sensitive(),
            _ => false,
        }
    }

    /// Every reference inside the value, in order of appearance.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        match self {
            Value::Ref(r) => out.push(r),
            Value::List(l) | Value::Template(l) => l.iter().for_each(|v| v.collect_refs(out)),
            Value::Map(m) => m.values().for_each(|v| v.collect_refs(out)),
            Value::Secret(v) | Value::Json(v) => v.collect_refs(out),
            _ => {}
        }
    }

    /// Resolves references with `lookup` (which returns `None` when the
    /// output is not known yet) and evaluates templates and JSON encodings.
    /// The result holds no `Ref`, `Template` or `Json`; parts that depend on
    /// unknown outputs become `Unknown`. Secrets stay wrapped (a template or
    /// JSON encoding that includes a secret becomes a secret).
    pub fn resolve(&self, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
        match self {
            Value::Ref(r) => lookup(r).unwrap_or(Value::Unknown),
            Value::List(l) => Value::List(l.iter().map(|v| v.resolve(lookup)).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.resolve(lookup))).collect()),
            Value::Secret(v) => Value::Secret(Box::new(v.resolve(lookup))),
            Value::Template(parts) => {
                let resolved: Vec<Value> = parts.iter().map(|p| p.resolve(lookup)).collect();
                if resolved.iter().any(Value::has_unknown) {
                    return Value::Unknown;
                }
                let sensitive = resolved.iter().any(Value::is_sensitive);
                let mut s = String::new();
                for p in &resolved {
                    p.reveal().append_display(&mut s);
                }
                wrap_secret(Value::String(s), sensitive)
            }
            Value::Json(inner) => {
                let resolved = inner.resolve(lookup);
                if resolved.has_unknown() {
                    return Value::Unknown;
                }
                let sensitive = resolved.is_sensitive();
                let text = resolved.reveal().to_json_string();
                wrap_secret(Value::String(text), sensitive)
            }
            other => other.clone(),
        }
    }

    /// A copy with every `Secret` unwrapped to its plaintext. Only for
    /// handing inputs to a provider or evaluating an expression.
    pub fn reveal(&self) -> Value {
        match self {
            Value::Secret(v) => v.reveal(),
            Value::List(l) => Value::List(l.iter().map(Value::reveal).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.reveal())).collect()),
            other => other.clone(),
        }
    }

    /// Replaces each `Secret` with its keyed digest (HMAC-SHA256 of the
    /// secret's canonical JSON, keyed with `key`). This is the form that is
    /// stored and compared; plaintext never leaves memory.
    pub fn seal(&self, key: &[u8]) -> Value {
        match self {
            Value::Secret(v) => {
                if v.has_unknown() {
                    return Value::Unknown;
                }
                Value::SecretHash(secret_digest(key, &v.reveal()))
            }
            Value::List(l) => Value::List(l.iter().map(|v| v.seal(key)).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.seal(key))).collect()),
            other => other.clone(),
        }
    }

    /// A value as a provider reports it, marked secret wherever `reference`
    /// (what the state records, sealed, or what is declared) holds a
    /// secret, so that sealing it keeps no plaintext a declaration marked
    /// `Sensitive`: a provider reports a nested secret (an environment
    /// variable of a container) as plain data.
    ///
    /// When the reported value has `reference`'s shape and equals it outside
    /// the secret positions, only those positions are marked (sealed, it
    /// then equals a recorded `reference` when nothing changed); otherwise
    /// (an element added, a value changed outside) the whole value is
    /// marked, since what moved cannot be told apart from the secrets. A
    /// `reference` holding no secret leaves the value as it is.
    pub fn mark_secrets_like(&self, reference: &Value) -> Value {
        if !reference.is_sensitive() {
            self.clone()
        } else if self.aligns_with(reference) {
            self.mark_at_secrets_of(reference)
        } else {
            Value::Secret(Box::new(self.clone()))
        }
    }

    /// Same shape as `reference` and equal to it outside its secrets (its
    /// unresolved parts match anything).
    fn aligns_with(&self, reference: &Value) -> bool {
        match (self, reference) {
            (_, Value::Secret(_) | Value::SecretHash(_)) => true,
            (_, Value::Unknown | Value::Ref(_) | Value::Template(_) | Value::Json(_)) => true,
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|r| v.aligns_with(r)))
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(v, r)| v.aligns_with(r))
            }
            (a, b) => a == b,
        }
    }

    /// Marks the positions where `reference` holds a secret (the shapes
    /// are aligned).
    fn mark_at_secrets_of(&self, reference: &Value) -> Value {
        if !reference.is_sensitive() {
            return self.clone();
        }
        match (self, reference) {
            (Value::Map(a), Value::Map(b)) => Value::Map(
                a.iter()
                    .map(|(k, v)| {
                        (k.clone(), b.get(k).map_or_else(|| v.clone(), |r| v.mark_at_secrets_of(r)))
                    })
                    .collect(),
            ),
            (Value::List(a), Value::List(b)) => {
                Value::List(a.iter().zip(b).map(|(v, r)| v.mark_at_secrets_of(r)).collect())
            }
            _ => Value::Secret(Box::new(self.clone())),
        }
    }

    /// A list with its elements in a canonical order (by their canonical
    /// JSON), for comparing lists that are sets; other values unchanged.
    pub fn sorted(&self) -> Value {
        match self {
            Value::List(l) => {
                let mut items = l.clone();
                items.sort_by_cached_key(Value::to_json_string);
                Value::List(items)
            }
            other => other.clone(),
        }
    }

    /// Canonical JSON text of a plain value (maps are key-sorted). Engine-only
    /// forms are written in their wire encoding; a plaintext secret is written
    /// as `{"$sensitive":true}` (callers reveal first when they mean it).
    pub fn to_json_string(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
            Value::Secret(_) => out.push_str("{\"$sensitive\":true}"),
            other => out.push_str(
                &serde_json::to_string(&wire::encode(other).unwrap_or(serde_json::Value::Null))
                    .unwrap_or_default(),
            ),
        }
    }

    fn append_display(&self, out: &mut String) {
        match self {
            Value::String(s) => out.push_str(s),
            Value::Null => {}
            other => other.write_json(out),
        }
    }
}

fn wrap_secret(v: Value, sensitive: bool) -> Value {
    if sensitive { Value::Secret(Box::new(v)) } else { v }
}

/// The value of an output path in `outputs`: the output's name, then
/// `.`-separated list indices or map keys, e.g.
/// `domain_validation_options.0.resource_record_name`.
pub fn output_at(outputs: &Fields, path: &str) -> Option<Value> {
    let mut segments = path.split('.');
    let mut current = outputs.get(segments.next()?)?;
    for seg in segments {
        current = match current {
            Value::List(l) => l.get(seg.parse::<usize>().ok()?)?,
            Value::Map(m) => m.get(seg)?,
            _ => return None,
        };
    }
    Some(current.clone())
}

/// `hmac-sha256:<hex>` of the canonical JSON of `v` under `key`.
pub fn secret_digest(key: &[u8], v: &Value) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::from("hmac-sha256:invalid-key"),
    };
    mac.update(v.to_json_string().as_bytes());
    format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n.into())
    }
}
impl From<Reference> for Value {
    fn from(r: Reference) -> Self {
        Value::Ref(r)
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if ser::in_value_serializer() {
            // Embedded in a resource struct: hand the value through intact.
            return ser::pass_through(self, s);
        }
        let encoded = wire::encode(self).map_err(serde::ser::Error::custom)?;
        encoded.serialize(s)
    }
}

/// Reads resolved inputs back into their declaration's Rust type (what a
/// provider receives): secrets are revealed, a sealed secret (a recorded
/// digest) reads as its digest string. An unresolved form (unknown,
/// reference, template) is an error naming the field.
pub fn from_fields<T: serde::de::DeserializeOwned>(fields: &Fields) -> Result<T, String> {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        map.insert(k.clone(), plain_json(v).map_err(|what| format!("input `{k}` is {what}"))?);
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())
}

fn plain_json(v: &Value) -> Result<serde_json::Value, &'static str> {
    use serde_json::Value as J;
    Ok(match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => J::Number(n.clone()),
        Value::String(s) | Value::SecretHash(s) => J::String(s.clone()),
        Value::List(l) => J::Array(l.iter().map(plain_json).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            J::Object(m.iter().map(|(k, v)| Ok((k.clone(), plain_json(v)?))).collect::<Result<_, _>>()?)
        }
        Value::Secret(inner) => plain_json(inner)?,
        Value::Unknown => return Err("not known yet"),
        Value::Ref(_) | Value::Template(_) | Value::Json(_) => return Err("not resolved"),
    })
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        wire::decode(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(addr: &str, out: &str) -> Reference {
        Reference { address: Address::parse(addr).unwrap(), output: out.into() }
    }

    #[test]
    fn wire_round_trip_of_every_form() {
        let mut m = BTreeMap::new();
        m.insert("$dollar".to_string(), Value::from("x"));
        m.insert("plain".to_string(), Value::List(vec![Value::Null, 1.into()]));
        let cases = vec![
            Value::Map(m),
            Value::Unknown,
            Value::SecretHash("hmac-sha256:00".into()),
            Value::Ref(r("a.b", "id")),
            Value::Template(vec!["x-".into(), Value::Ref(r("a", "name"))]),
            Value::Json(Box::new(Value::Map(BTreeMap::new()))),
        ];
        for v in cases {
            let text = serde_json::to_string(&v).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v, "{text}");
        }
    }

    #[test]
    fn plaintext_secret_refuses_to_serialize() {
        let v = Value::Map(BTreeMap::from([("pw".to_string(), Value::Secret(Box::new("hunter2".into())))]));
        let err = serde_json::to_string(&v).unwrap_err().to_string();
        assert!(err.contains("secret"), "{err}");
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn resolve_templates_json_and_unknowns() {
        let known = r("repo", "url");
        let unknown = r("db", "endpoint");
        let lookup = |x: &Reference| (x == &known).then(|| Value::from("123.dkr/app"));
        let t = Value::Template(vec![Value::Ref(known.clone()), ":latest".into()]);
        assert_eq!(t.resolve(&lookup), Value::from("123.dkr/app:latest"));
        let u = Value::Template(vec![Value::Ref(unknown.clone()), ":5432".into()]);
        assert_eq!(u.resolve(&lookup), Value::Unknown);
        let j = Value::Json(Box::new(Value::Map(BTreeMap::from([(
            "image".to_string(),
            Value::Ref(known.clone()),
        )]))));
        assert_eq!(j.resolve(&lookup), Value::from(r#"{"image":"123.dkr/app"}"#));
    }

    #[test]
    fn sealing_hashes_secrets_with_the_key() {
        let v = Value::Secret(Box::new("pw".into()));
        let a = v.seal(b"k1");
        assert_eq!(a, v.seal(b"k1"));
        assert_ne!(a, v.seal(b"k2"));
        assert_ne!(a, Value::Secret(Box::new("pw2".into())).seal(b"k1"));
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.starts_with("{\"$secret_hash\":\"hmac-sha256:"), "{text}");
        let in_template = Value::Template(vec!["x".into(), v.clone()]);
        assert!(matches!(in_template.resolve(&|_| None), Value::Secret(_)));
    }

    /// A container's environment as declared (one variable `Sensitive`)
    /// and as a provider reports it: plaintext inside a field that is not
    /// secret as a whole.
    fn env(token: Value, extra: Option<(&str, &str)>) -> Value {
        let var = |name: &str, value: Value| {
            Value::Map(BTreeMap::from([("name".to_string(), name.into()), ("value".to_string(), value)]))
        };
        let mut vars = vec![var("API_TOKEN", token), var("PORT", "8080".into())];
        if let Some((n, v)) = extra {
            vars.push(var(n, v.into()));
        }
        Value::List(vec![Value::Map(BTreeMap::from([("environment".to_string(), Value::List(vars))]))])
    }

    #[test]
    fn a_secret_nested_in_a_reported_value_is_sealed_where_the_reference_holds_one() {
        let key = b"k";
        let declared = env(Value::Secret(Box::new("tok3n".into())), None);
        let recorded = declared.seal(key);
        assert!(!recorded.to_json_string().contains("tok3n"));
        // Reported unchanged: sealed at the same position, equal to the record.
        let reported = env("tok3n".into(), None);
        assert_eq!(reported.mark_secrets_like(&recorded).seal(key), recorded);
        assert_eq!(reported.mark_secrets_like(&declared).seal(key), recorded);
        // Changed outside: still sealed, and different.
        let changed = env("other".into(), None).mark_secrets_like(&recorded).seal(key);
        assert_ne!(changed, recorded);
        assert!(!changed.to_json_string().contains("other"));
        // Another shape (a variable added): the whole value is sealed.
        let grown = env("tok3n".into(), Some(("NEW", "x"))).mark_secrets_like(&recorded).seal(key);
        assert!(matches!(grown, Value::SecretHash(_)), "{grown:?}");
        // A non-secret part changed: the secret could have moved; whole.
        let moved = env("8080".into(), Some(("API_TOKEN2", "tok3n")));
        let moved =
            moved.mark_secrets_like(&env(Value::Secret(Box::new("tok3n".into())), Some(("X", "8080"))));
        assert!(matches!(moved, Value::Secret(_)));
        // Nothing secret in the reference: the value as reported.
        let plain = env("tok3n".into(), None);
        assert_eq!(plain.mark_secrets_like(&plain), plain);
        // Unresolved parts of a declaration match anything.
        let with_ref = env(Value::Secret(Box::new("tok3n".into())), Some(("ROLE", "x")));
        let Value::List(mut l) = with_ref else { unreachable!() };
        if let Value::Map(c) = &mut l[0] {
            c.insert("image".into(), Value::Ref(r("repo", "url")));
        }
        let declared = Value::List(l);
        let Value::List(mut l) = env("tok3n".into(), Some(("ROLE", "x"))) else { unreachable!() };
        if let Value::Map(c) = &mut l[0] {
            c.insert("image".into(), "123.dkr/app".into());
        }
        let marked = Value::List(l).mark_secrets_like(&declared).seal(key);
        assert!(matches!(&marked, Value::List(_)), "{marked:?}");
        assert!(!marked.to_json_string().contains("tok3n"));
        assert!(marked.to_json_string().contains("123.dkr/app"));
    }
}
