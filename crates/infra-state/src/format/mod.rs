//! The versioned on-disk formats of state, and the functions that read and
//! write them.
//!
//! Every format version is its own serde type ([`v1::StateFileV1`],
//! [`v2::StateFileV2`]), separate from the in-memory [`State`]: the engine's
//! types can change freely while what is on disk changes only with a new
//! format version. [`encode`] always writes [`CURRENT_FORMAT_VERSION`];
//! [`decode`] reads `format_version` first, refuses versions newer than it
//! understands, and upgrades older ones step by step.
//!
//! Field-by-field documentation of each version lives in `state/README.md`
//! at the repository root, with JSON Schemas and samples beside it.

pub mod delta;
pub mod v1;
pub mod v2;

use infra_core::{State, Value};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Error;
use v1::StateFileV1;
use v2::StateFileV2;

/// The format version [`encode`] writes and the newest one [`decode`] reads.
pub const CURRENT_FORMAT_VERSION: u32 = 2;

/// Decodes state bytes of any supported format version (see
/// [`decode_from`]; errors name the data `state data`).
pub fn decode(bytes: &[u8]) -> Result<State, Error> {
    decode_from(bytes, "state data")
}

/// Decodes state bytes of any supported format version, naming them
/// `location` (a path, a stack) in errors.
///
/// - A `format_version` newer than [`CURRENT_FORMAT_VERSION`] gives
///   [`Error::UnsupportedFormat`]; nothing else of the file is interpreted.
/// - Bytes that are not a complete JSON object with a known
///   `format_version`, or whose fields do not match that version exactly
///   (unknown fields included), give [`Error::Corrupt`].
/// - Older versions are read with their own type and upgraded.
pub fn decode_from(bytes: &[u8], location: &str) -> Result<State, Error> {
    let version = probe_version(bytes, location)?;
    let corrupt =
        |e: serde_json::Error| Error::Corrupt { location: location.to_owned(), reason: e.to_string() };
    let file = match version {
        1 => serde_json::from_slice::<StateFileV1>(bytes).map_err(corrupt)?.upgrade(location)?,
        2 => serde_json::from_slice::<StateFileV2>(bytes).map_err(corrupt)?,
        other => {
            return Err(Error::Corrupt {
                location: location.to_owned(),
                reason: format!("unknown format_version {other}"),
            });
        }
    };
    check_header(&file, location)?;
    Ok(file.into_state())
}

/// Reads only `format_version`, so that a file from a newer infra is
/// refused before any of its other fields are looked at.
fn probe_version(bytes: &[u8], location: &str) -> Result<u64, Error> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        format_version: Option<serde_json::Value>,
    }
    let corrupt = |reason: String| Error::Corrupt { location: location.to_owned(), reason };
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a complete JSON object: {e}")))?;
    let raw = probe
        .format_version
        .ok_or_else(|| corrupt("no format_version field (this is not an infra state file)".to_owned()))?;
    let version = raw
        .as_u64()
        .ok_or_else(|| corrupt(format!("format_version must be a positive integer, got {raw}")))?;
    if version > u64::from(CURRENT_FORMAT_VERSION) {
        return Err(Error::UnsupportedFormat {
            location: location.to_owned(),
            found: version,
            supported: CURRENT_FORMAT_VERSION,
        });
    }
    Ok(version)
}

/// Checks the fields every version shares and that serde cannot check.
fn check_header(file: &StateFileV2, location: &str) -> Result<(), Error> {
    let problem = if file.lineage.is_empty() {
        Some("lineage is empty".to_owned())
    } else if file.secret_key.is_empty() || hex::decode(&file.secret_key).is_err() {
        Some("secret_key must be a non-empty hex string".to_owned())
    } else {
        None
    };
    match problem {
        Some(reason) => Err(Error::Corrupt { location: location.to_owned(), reason }),
        None => Ok(()),
    }
}

/// Encodes `state` in the current format: pretty-printed JSON (two-space
/// indent, maps in key order) with a trailing newline. The output is
/// canonical: decoding and re-encoding it gives the same bytes.
///
/// A plaintext [`Value::Secret`] anywhere in the state is refused with
/// [`Error::PlaintextSecret`] naming where it is; nothing is produced.
pub fn encode(state: &State) -> Result<Vec<u8>, Error> {
    if let Some(location) = find_plaintext_secret(state) {
        return Err(Error::PlaintextSecret { location });
    }
    let file = StateFileV2::from_state(state);
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Encode { reason: e.to_string() })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The SHA-256 of `bytes` as lowercase hex: the digest part of a
/// [`crate::StateVersion`].
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn find_plaintext_secret(state: &State) -> Option<String> {
    for (address, r) in &state.resources {
        for (kind, fields) in [("input", &r.inputs), ("output", &r.outputs)] {
            if let Some(field) = fields.iter().find(|(_, v)| holds_plaintext(v)) {
                return Some(format!("resource {:?} {kind} {:?}", address.as_str(), field.0));
            }
        }
    }
    state.outputs.iter().find(|(_, v)| holds_plaintext(v)).map(|(name, _)| format!("stack output {name:?}"))
}

fn holds_plaintext(v: &Value) -> bool {
    match v {
        Value::Secret(_) => true,
        Value::List(l) | Value::Template(l) => l.iter().any(holds_plaintext),
        Value::Map(m) => m.values().any(holds_plaintext),
        Value::Json(inner) => holds_plaintext(inner),
        Value::Null
        | Value::Bool(_)
        | Value::Number(_)
        | Value::String(_)
        | Value::Unknown
        | Value::SecretHash(_)
        | Value::Ref(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn format_version_zero_and_non_integers_are_corrupt() {
        for text in [
            r#"{"format_version":0}"#,
            r#"{"format_version":"2"}"#,
            r#"{"format_version":-1}"#,
            r#"{"lineage":"x"}"#,
            r#"[1,2]"#,
            "",
        ] {
            let err = decode(text.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_rather_than_dropped() {
        let state = State::new("l", "00ff");
        let mut json: serde_json::Value = serde_json::from_slice(&encode(&state).unwrap()).unwrap();
        json["surprise"] = serde_json::Value::Bool(true);
        let err = decode(json.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("surprise"), "{err}");
    }

    #[test]
    fn non_hex_secret_key_is_corrupt() {
        let state = State::new("l", "not hex");
        let err = decode(&encode(&state).unwrap()).unwrap_err();
        assert!(err.to_string().contains("secret_key"), "{err}");
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(digest(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
