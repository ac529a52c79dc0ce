//! The on-disk format against the documented samples and schemas in
//! `state/` at the repository root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use infra_core::{Address, OperationKind, ProviderKey, Value};
use infra_state::format::{CURRENT_FORMAT_VERSION, decode, encode};
use infra_state::{Error, new_state};
use serde_json::Value as Json;

fn state_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../state")
}

fn read(rel: &str) -> Vec<u8> {
    let path = state_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(rel: &str) -> Json {
    serde_json::from_slice(&read(rel)).unwrap()
}

/// Files in the current format, which must be canonical encoder output.
const CURRENT_FILES: &[&str] =
    &["samples/v2-basic.json", "samples/v2-pending.json", "upgrade/v1-basic.v2.json"];

#[test]
fn current_format_samples_round_trip_byte_for_byte() {
    for rel in CURRENT_FILES {
        let bytes = read(rel);
        let state = decode(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let again = encode(&state).unwrap();
        assert_eq!(
            String::from_utf8(again).unwrap(),
            String::from_utf8(bytes).unwrap(),
            "{rel} is not what the encoder writes"
        );
    }
}

#[test]
fn v1_sample_upgrades_to_the_expected_v2_file() {
    let state = decode(&read("samples/v1-basic.json")).unwrap();
    assert_eq!(
        String::from_utf8(encode(&state).unwrap()).unwrap(),
        String::from_utf8(read("upgrade/v1-basic.v2.json")).unwrap()
    );
    // What the upgrade means, spelled out.
    assert!(state.pending.is_empty());
    let v1 = json("samples/v1-basic.json");
    let listed = v1["resources"].as_array().unwrap();
    assert_eq!(state.resources.len(), listed.len());
    for r in listed {
        let address = Address::parse(r["address"].as_str().unwrap()).unwrap();
        let upgraded = &state.resources[&address];
        let region = r["region"].as_str().unwrap();
        assert_eq!(upgraded.provider, ProviderKey(format!("aws.{region}")));
        assert_eq!(upgraded.region, region);
        assert!(!upgraded.protect && !upgraded.retain_on_delete);
    }
}

#[test]
fn v1_with_a_duplicate_address_is_corrupt_not_silently_merged() {
    let mut v1 = json("samples/v1-basic.json");
    let first = v1["resources"][0].clone();
    v1["resources"].as_array_mut().unwrap().push(first);
    let err = decode(v1.to_string().as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn newer_format_is_refused_naming_the_version() {
    let mut file = json("samples/v2-basic.json");
    file["format_version"] = Json::from(99);
    let err = decode(file.to_string().as_bytes()).unwrap_err();
    match &err {
        Error::UnsupportedFormat { found, supported, .. } => {
            assert_eq!(*found, 99);
            assert_eq!(*supported, CURRENT_FORMAT_VERSION);
        }
        other => panic!("wanted UnsupportedFormat, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("99"), "{message}");
    assert!(message.contains("upgrade infra"), "{message}");

    // A newer file is refused on its version alone, whatever else it holds.
    let alien = br#"{"resources": 42, "format_version": 3, "extra": [1, 2]}"#;
    assert!(matches!(decode(alien), Err(Error::UnsupportedFormat { found: 3, .. })));
}

#[test]
fn truncated_or_garbled_files_are_corrupt() {
    let bytes = read("samples/v2-pending.json");
    for cut in [bytes.len() - 3, bytes.len() / 2, 20, 1] {
        let err = decode(&bytes[..cut]).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "cut at {cut}: wanted Corrupt, got {err:?}");
    }
    let mut wrong_type = json("samples/v2-basic.json");
    wrong_type["serial"] = Json::from("twelve");
    let mut bad_value = json("samples/v2-basic.json");
    bad_value["outputs"]["x"] = serde_json::json!({"$bogus": 1, "y": 2});
    for (what, text) in [
        ("wrong type", wrong_type.to_string()),
        ("unknown $ form", bad_value.to_string()),
        ("not json", "state? what state".to_owned()),
        ("trailing garbage", format!("{}{{}}", wrong_type)),
    ] {
        let err = decode(text.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{what}: {err:?}");
    }
}

#[test]
fn plaintext_secret_refuses_to_encode() {
    let mut state = decode(&read("samples/v2-basic.json")).unwrap();
    let address = Address::parse("app.db-password").unwrap();
    let resource = state.resources.get_mut(&address).unwrap();
    resource.inputs.insert(
        "value".into(),
        Value::Map(BTreeMap::from([(
            "nested".to_owned(),
            Value::Secret(Box::new(Value::from("correct-horse-battery-staple"))),
        )])),
    );
    let err = encode(&state).unwrap_err();
    assert!(matches!(err, Error::PlaintextSecret { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("app.db-password"), "{message}");
    assert!(message.contains("value"), "{message}");
    assert!(!message.contains("correct-horse"), "{message}");

    // The sealed form is what gets written.
    let key = state.secret_key_bytes();
    let resource = state.resources.get_mut(&address).unwrap();
    let sealed = resource.inputs["value"].seal(&key);
    resource.inputs.insert("value".into(), sealed);
    let text = String::from_utf8(encode(&state).unwrap()).unwrap();
    assert!(!text.contains("correct-horse"));
    assert!(text.contains("\"$secret_hash\": \"hmac-sha256:"));
}

#[test]
fn samples_show_what_the_readme_promises() {
    let pending = decode(&read("samples/v2-pending.json")).unwrap();
    assert!(pending.pending.iter().any(|p| p.kind == OperationKind::Create && p.physical_id.is_none()));
    for rel in CURRENT_FILES {
        let state = decode(&read(rel)).unwrap();
        let regions: std::collections::BTreeSet<&str> =
            state.resources.values().map(|r| r.region.as_str()).collect();
        assert!(regions.contains("us-east-1") && regions.contains("eu-west-1"), "{rel}");
        let has_secret_hash = state.resources.values().any(|r| {
            r.inputs.values().any(|v| matches!(v, Value::SecretHash(h) if h.starts_with("hmac-sha256:")))
        });
        assert!(has_secret_hash, "{rel}");
        // A reference-derived input: a subnet's vpc_id is its VPC's id output
        // and the VPC is recorded as a dependency.
        let derived = state.resources.values().any(|r| {
            r.dependencies.iter().any(|d| {
                state.resources.get(d).is_some_and(|dep| {
                    r.inputs.get("vpc_id") == dep.outputs.get("id") && r.inputs.contains_key("vpc_id")
                })
            })
        });
        assert!(derived, "{rel}");
    }
}

#[test]
fn fresh_state_encodes_and_decodes() {
    let state = new_state().unwrap();
    let bytes = encode(&state).unwrap();
    assert!(bytes.ends_with(b"}\n"));
    assert_eq!(decode(&bytes).unwrap(), state);
}

// ---- schemas ---------------------------------------------------------------
//
// The `jsonschema` crate is a large dependency tree, so the samples are
// checked with a small validator for exactly the keywords the schemas use.
// It refuses keywords it does not know, so it never passes by ignoring
// one; `pattern` and `format` are the only constraints it does not check.

const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description", "$comment"];
const UNCHECKED: &[&str] = &["pattern", "format"];

struct Validator<'a> {
    root: &'a Json,
}

impl Validator<'_> {
    fn check(&self, schema: &Json, value: &Json, at: &str, errors: &mut Vec<String>) {
        let schema = match schema {
            Json::Bool(true) => return,
            Json::Object(o) => o,
            other => panic!("unsupported schema {other} at {at}"),
        };
        for (keyword, arg) in schema {
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) || UNCHECKED.contains(&k) || k == "$defs" => {}
                "$ref" => {
                    let name = arg
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/$defs/"))
                        .unwrap_or_else(|| panic!("unsupported $ref {arg}"));
                    let target = &self.root["$defs"][name];
                    assert!(!target.is_null(), "dangling $ref {name}");
                    self.check(target, value, at, errors);
                }
                "type" => {
                    let allowed: Vec<&str> = match arg {
                        Json::String(s) => vec![s.as_str()],
                        Json::Array(a) => a.iter().map(|t| t.as_str().unwrap()).collect(),
                        other => panic!("bad type {other}"),
                    };
                    if !allowed.iter().any(|t| type_matches(t, value)) {
                        errors.push(format!("{at}: {value} is not of type {arg}"));
                    }
                }
                "const" => {
                    if arg != value {
                        errors.push(format!("{at}: {value} is not {arg}"));
                    }
                }
                "enum" => {
                    if !arg.as_array().unwrap().contains(value) {
                        errors.push(format!("{at}: {value} is not one of {arg}"));
                    }
                }
                "minLength" => {
                    if let Some(s) = value.as_str()
                        && (s.chars().count() as u64) < arg.as_u64().unwrap()
                    {
                        errors.push(format!("{at}: {value} is too short"));
                    }
                }
                "minimum" => {
                    if let Some(n) = value.as_f64()
                        && n < arg.as_f64().unwrap()
                    {
                        errors.push(format!("{at}: {value} is below {arg}"));
                    }
                }
                "required" => {
                    if let Some(o) = value.as_object() {
                        for name in arg.as_array().unwrap() {
                            if !o.contains_key(name.as_str().unwrap()) {
                                errors.push(format!("{at}: missing {name}"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(o) = value.as_object() {
                        for (name, sub) in arg.as_object().unwrap() {
                            if let Some(v) = o.get(name) {
                                self.check(sub, v, &format!("{at}/{name}"), errors);
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(o) = value.as_object() {
                        let declared = schema.get("properties").and_then(Json::as_object);
                        for (name, v) in o {
                            if declared.is_some_and(|d| d.contains_key(name)) {
                                continue;
                            }
                            match arg {
                                Json::Bool(false) => errors.push(format!("{at}: unexpected field {name:?}")),
                                sub => self.check(sub, v, &format!("{at}/{name}"), errors),
                            }
                        }
                    }
                }
                "propertyNames" => {
                    if let Some(o) = value.as_object() {
                        for name in o.keys() {
                            self.check(arg, &Json::from(name.as_str()), at, errors);
                        }
                    }
                }
                "items" => {
                    if let Some(a) = value.as_array() {
                        for (i, v) in a.iter().enumerate() {
                            self.check(arg, v, &format!("{at}/{i}"), errors);
                        }
                    }
                }
                other => panic!("the test validator does not know keyword {other:?} (at {at})"),
            }
        }
    }
}

fn type_matches(t: &str, v: &Json) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        other => panic!("unknown type {other}"),
    }
}

fn validate(schema: &Json, value: &Json) -> Vec<String> {
    let mut errors = Vec::new();
    Validator { root: schema }.check(schema, value, "", &mut errors);
    errors
}

const SCHEMA_CASES: &[(&str, &[&str])] = &[
    ("schema/state.v1.schema.json", &["samples/v1-basic.json"]),
    (
        "schema/state.v2.schema.json",
        &["samples/v2-basic.json", "samples/v2-pending.json", "upgrade/v1-basic.v2.json"],
    ),
];

#[test]
fn every_sample_matches_its_schema() {
    for (schema_file, samples) in SCHEMA_CASES {
        let schema = json(schema_file);
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        for sample in *samples {
            let errors = validate(&schema, &json(sample));
            assert!(errors.is_empty(), "{sample} vs {schema_file}: {errors:#?}");
        }
    }
}

#[test]
fn schemas_reject_what_the_decoder_rejects() {
    let v2 = json("schema/state.v2.schema.json");
    let mut extra = json("samples/v2-basic.json");
    extra["surprise"] = Json::Bool(true);
    let mut bad_kind = json("samples/v2-pending.json");
    bad_kind["pending"][0]["kind"] = Json::from("explode");
    let mut no_provider = json("samples/v2-basic.json");
    no_provider["resources"]["network.use1.vpc"].as_object_mut().unwrap().remove("provider");
    let mut v1_as_v2 = json("samples/v1-basic.json");
    v1_as_v2["format_version"] = Json::from(2);
    for (what, file) in [
        ("unknown field", extra),
        ("unknown pending kind", bad_kind),
        ("missing provider", no_provider),
        ("v1 body", v1_as_v2),
    ] {
        assert!(!validate(&v2, &file).is_empty(), "{what} passed the schema");
        assert!(decode(file.to_string().as_bytes()).is_err(), "{what} passed the decoder");
    }
}

#[test]
fn schemas_list_every_field_the_encoder_writes() {
    // A state using every optional field.
    let mut state = decode(&read("samples/v2-pending.json")).unwrap();
    for r in state.resources.values_mut() {
        r.protect = true;
        r.retain_on_delete = true;
    }
    let (address, object) = state.resources.iter().next().map(|(a, r)| (a.clone(), r.clone())).unwrap();
    state.deposed.push(infra_core::Deposed { address, object });
    let written: Json = serde_json::from_slice(&encode(&state).unwrap()).unwrap();
    let schema = json("schema/state.v2.schema.json");

    let keys = |v: &Json| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let declared = |s: &Json| -> Vec<String> { keys(&s["properties"]) };
    let mut top = keys(&written);
    top.sort();
    let mut schema_top = declared(&schema);
    schema_top.sort();
    assert_eq!(top, schema_top);
    let mut required: Vec<String> =
        schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    required.sort();
    let always: Vec<String> = top.iter().filter(|k| *k != "deposed").cloned().collect();
    assert_eq!(always, required, "every top-level field but `deposed` is always written");

    let resource = written["resources"].as_object().unwrap().values().next().unwrap();
    for field in keys(resource) {
        assert!(declared(&schema["$defs"]["resource"]).contains(&field), "resource field {field}");
    }
    let pending = &written["pending"][0];
    for field in keys(pending) {
        assert!(declared(&schema["$defs"]["pending"]).contains(&field), "pending field {field}");
    }

    // Version 1's schema covers the fields of the v1 sample.
    let v1_schema = json("schema/state.v1.schema.json");
    let v1 = json("samples/v1-basic.json");
    for field in keys(&v1) {
        assert!(declared(&v1_schema).contains(&field), "v1 field {field}");
    }
}

#[test]
fn readme_documents_every_field() {
    let readme = String::from_utf8(read("README.md")).unwrap();
    let schema = json("schema/state.v2.schema.json");
    let mut fields: Vec<String> = Vec::new();
    for s in [&schema, &schema["$defs"]["resource"], &schema["$defs"]["pending"]] {
        fields.extend(s["properties"].as_object().unwrap().keys().cloned());
    }
    for field in fields {
        assert!(readme.contains(&format!("`{field}`")), "state/README.md does not mention `{field}`");
    }
    for form in ["$secret_hash", "$unknown", "$ref", "$template", "$json"] {
        assert!(readme.contains(form), "state/README.md does not explain {form}");
    }
}
