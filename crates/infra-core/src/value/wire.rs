//! The JSON wire encoding of [`Value`] (see the parent module's docs).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::{Reference, Value};

const UNKNOWN: &str = "$unknown";
const SECRET_HASH: &str = "$secret_hash";
const REF: &str = "$ref";
const TEMPLATE: &str = "$template";
const JSON: &str = "$json";

pub(super) fn encode(v: &Value) -> Result<Json, String> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Number(n.clone()),
        Value::String(s) => Json::String(s.clone()),
        Value::List(l) => Json::Array(l.iter().map(encode).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = if k.starts_with('$') { format!("${k}") } else { k.clone() };
                out.insert(key, encode(v)?);
            }
            Json::Object(out)
        }
        Value::Unknown => single(UNKNOWN, Json::Bool(true)),
        Value::SecretHash(h) => single(SECRET_HASH, Json::String(h.clone())),
        Value::Secret(_) => {
            return Err("refusing to serialize a plaintext secret; seal it first".into());
        }
        Value::Ref(r) => single(REF, serde_json::to_value(r).map_err(|e| e.to_string())?),
        Value::Template(parts) => {
            single(TEMPLATE, Json::Array(parts.iter().map(encode).collect::<Result<_, _>>()?))
        }
        Value::Json(inner) => single(JSON, encode(inner)?),
    })
}

fn single(key: &str, v: Json) -> Json {
    let mut m = Map::new();
    m.insert(key.to_owned(), v);
    Json::Object(m)
}

pub(super) fn decode(j: Json) -> Result<Value, String> {
    Ok(match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => Value::Number(n),
        Json::String(s) => Value::String(s),
        Json::Array(a) => Value::List(a.into_iter().map(decode).collect::<Result<_, _>>()?),
        Json::Object(o) => {
            if o.len() == 1
                && let Some((k, v)) = o.iter().next()
                && let Some(special) = decode_special(k, v)?
            {
                return Ok(special);
            }
            let mut m = BTreeMap::new();
            for (k, v) in o {
                let key = match k.strip_prefix('$') {
                    Some(rest) if rest.starts_with('$') => rest.to_owned(),
                    Some(_) => return Err(format!("unknown special value key {k:?}")),
                    None => k,
                };
                m.insert(key, decode(v)?);
            }
            Value::Map(m)
        }
    })
}

fn decode_special(k: &str, v: &Json) -> Result<Option<Value>, String> {
    Ok(Some(match k {
        UNKNOWN => Value::Unknown,
        SECRET_HASH => match v {
            Json::String(s) => Value::SecretHash(s.clone()),
            _ => return Err("$secret_hash must be a string".into()),
        },
        REF => {
            let r: Reference = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            Value::Ref(r)
        }
        TEMPLATE => match v {
            Json::Array(a) => Value::Template(a.iter().cloned().map(decode).collect::<Result<_, _>>()?),
            _ => return Err("$template must be a list".into()),
        },
        JSON => Value::Json(Box::new(decode(v.clone())?)),
        _ => return Ok(None),
    }))
}
