//! Where a team's state lives: [`S3BackendConfig`], from code, from a
//! project's config file (serde) or from `INFRA_S3_*` environment
//! variables.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The placeholder in [`S3BackendConfig::key`] replaced by the stack name.
pub const STACK_PLACEHOLDER: &str = "{stack}";

/// The default object key template: one object per stack.
pub const DEFAULT_KEY: &str = "infra/{stack}.infra-state.json";

/// The default lease of a lock: a holder that stops renewing (it was
/// killed, or lost the network) loses the lock this long after its last
/// renewal.
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(20);

/// The shortest lease accepted.
pub const MIN_LOCK_LEASE: Duration = Duration::from_millis(500);

/// How many earlier versions per stack `state history` lists by default.
pub const DEFAULT_HISTORY_LIMIT: usize = 100;

/// Settings of an [`crate::S3Backend`].
///
/// In a project's config file (TOML shown; field names are the same in
/// every format):
///
/// ```toml
/// [backend.s3]
/// bucket = "acme-infra-state"
/// key = "infra/{stack}.infra-state.json"   # optional
/// region = "eu-west-1"                     # the bucket's region, not the resources'
/// dynamodb_table = "infra-locks"
/// kms_key_id = "alias/infra-state"        # optional: SSE-KMS
/// lock_lease = "20s"                       # optional
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3BackendConfig {
    /// The bucket holding the state objects.
    pub bucket: String,
    /// The object key of a stack's state, with [`STACK_PLACEHOLDER`] where
    /// the stack name goes (exactly once). Default [`DEFAULT_KEY`].
    #[serde(default = "default_key")]
    pub key: String,
    /// The region of the bucket and of the lock table; independent of the
    /// regions the stack's resources live in.
    pub region: String,
    /// The DynamoDB table holding locks and commit records. Its partition
    /// key is the string attribute `LockID` (the same shape as Terraform's
    /// lock table, so one table can serve both).
    pub dynamodb_table: String,
    /// A KMS key (ID, ARN or alias) for server-side encryption (SSE-KMS) of
    /// the state objects; without it the bucket's default encryption
    /// applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// A custom endpoint for S3 and DynamoDB (an emulator, a VPC endpoint).
    /// With it, S3 is addressed path-style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// A KMS key (ID, ARN or alias) for client-side encryption: the state
    /// is encrypted with AES-256-GCM under a KMS data key before it is sent
    /// to S3, so neither S3 nor anyone with read access to the bucket alone
    /// can read it. Needs the crate feature `kms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_encryption_kms_key: Option<String>,
    /// How long a lock outlives its holder's last renewal.
    #[serde(default = "default_lease", with = "duration_text")]
    pub lock_lease: Duration,
    /// How many earlier versions per stack are listed by `state history`
    /// (every version stays in the bucket's versioning regardless).
    #[serde(default = "default_history_limit")]
    pub history_limit: usize,
}

fn default_key() -> String {
    DEFAULT_KEY.to_owned()
}

fn default_lease() -> Duration {
    DEFAULT_LOCK_LEASE
}

fn default_history_limit() -> usize {
    DEFAULT_HISTORY_LIMIT
}

impl S3BackendConfig {
    /// Settings with the defaults for everything optional.
    pub fn new(
        bucket: impl Into<String>,
        region: impl Into<String>,
        dynamodb_table: impl Into<String>,
    ) -> Self {
        S3BackendConfig {
            bucket: bucket.into(),
            key: default_key(),
            region: region.into(),
            dynamodb_table: dynamodb_table.into(),
            kms_key_id: None,
            endpoint: None,
            client_encryption_kms_key: None,
            lock_lease: DEFAULT_LOCK_LEASE,
            history_limit: DEFAULT_HISTORY_LIMIT,
        }
    }

    /// Sets the key template.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Sets the SSE-KMS key.
    pub fn with_kms_key_id(mut self, key: impl Into<String>) -> Self {
        self.kms_key_id = Some(key.into());
        self
    }

    /// Encrypts state client-side under a KMS data key of `key`.
    pub fn with_client_encryption(mut self, key: impl Into<String>) -> Self {
        self.client_encryption_kms_key = Some(key.into());
        self
    }

    /// Stores state unencrypted client-side (it can still read encrypted
    /// state, with feature `kms`).
    pub fn without_client_encryption(mut self) -> Self {
        self.client_encryption_kms_key = None;
        self
    }

    /// Sets a custom endpoint.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the lock lease.
    pub fn with_lock_lease(mut self, lease: Duration) -> Self {
        self.lock_lease = lease;
        self
    }

    /// Reads the settings from the environment:
    ///
    /// | variable | field | required |
    /// |---|---|---|
    /// | `INFRA_S3_BUCKET` | `bucket` | yes |
    /// | `INFRA_S3_KEY` | `key` | no |
    /// | `INFRA_S3_REGION` (else `AWS_REGION`) | `region` | yes |
    /// | `INFRA_S3_DYNAMODB_TABLE` | `dynamodb_table` | yes |
    /// | `INFRA_S3_KMS_KEY_ID` | `kms_key_id` | no |
    /// | `INFRA_S3_ENDPOINT` | `endpoint` | no |
    /// | `INFRA_S3_CLIENT_ENCRYPTION_KMS_KEY` | `client_encryption_kms_key` | no |
    /// | `INFRA_S3_LOCK_LEASE` (e.g. `20s`) | `lock_lease` | no |
    ///
    /// The result is validated ([`S3BackendConfig::validate`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`S3BackendConfig::from_env`] with another source of variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let required = |var: &'static str, field: &'static str| {
            get(var).ok_or(Error::Config { field, reason: format!("set {var}") })
        };
        let region = match get("INFRA_S3_REGION").or_else(|| get("AWS_REGION")) {
            Some(r) => r,
            None => return Err(Error::Config { field: "region", reason: "set INFRA_S3_REGION".to_owned() }),
        };
        let mut config = S3BackendConfig::new(
            required("INFRA_S3_BUCKET", "bucket")?,
            region,
            required("INFRA_S3_DYNAMODB_TABLE", "dynamodb_table")?,
        );
        if let Some(key) = get("INFRA_S3_KEY") {
            config.key = key;
        }
        config.kms_key_id = get("INFRA_S3_KMS_KEY_ID");
        config.endpoint = get("INFRA_S3_ENDPOINT");
        config.client_encryption_kms_key = get("INFRA_S3_CLIENT_ENCRYPTION_KMS_KEY");
        if let Some(lease) = get("INFRA_S3_LOCK_LEASE") {
            config.lock_lease = humantime::parse_duration(&lease).map_err(|e| Error::Config {
                field: "lock_lease",
                reason: format!("INFRA_S3_LOCK_LEASE={lease:?} is not a duration like 20s: {e}"),
            })?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every field, naming the first bad one. Called by the
    /// backend's constructors, before any API call.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &'static str, reason: String| Err(Error::Config { field, reason });
        if let Some(reason) = bucket_name_problem(&self.bucket) {
            return bad("bucket", format!("{:?} is not a valid S3 bucket name: {reason}", self.bucket));
        }
        if self.key.matches(STACK_PLACEHOLDER).count() != 1 {
            return bad("key", format!("{:?} must contain {STACK_PLACEHOLDER} exactly once", self.key));
        }
        if self.key.starts_with('/') || self.key.contains("//") || self.key.len() > 900 {
            return bad(
                "key",
                format!("{:?} is not a usable object key (no leading '/', no '//')", self.key),
            );
        }
        if self.region.is_empty()
            || !self.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad("region", format!("{:?} is not an AWS region name like eu-west-1", self.region));
        }
        let table_ok = (3..=255).contains(&self.dynamodb_table.len())
            && self.dynamodb_table.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if !table_ok {
            return bad(
                "dynamodb_table",
                format!(
                    "{:?} is not a valid DynamoDB table name (3 to 255 letters, digits, '_', '-', '.')",
                    self.dynamodb_table
                ),
            );
        }
        if self.kms_key_id.as_deref().is_some_and(str::is_empty) {
            return bad("kms_key_id", "is empty; leave it out to use the bucket's default encryption".into());
        }
        match &self.client_encryption_kms_key {
            Some(k) if k.is_empty() => {
                return bad(
                    "client_encryption_kms_key",
                    "is empty; leave it out to store state unencrypted".into(),
                );
            }
            Some(_) if !cfg!(feature = "kms") => {
                return bad(
                    "client_encryption_kms_key",
                    "client-side encryption needs infra-state-s3's `kms` feature".into(),
                );
            }
            _ => {}
        }
        if let Some(e) = &self.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return bad("endpoint", format!("{e:?} must start with http:// or https://"));
        }
        if self.lock_lease < MIN_LOCK_LEASE {
            return bad(
                "lock_lease",
                format!("{:?} is shorter than the minimum {MIN_LOCK_LEASE:?}", self.lock_lease),
            );
        }
        Ok(())
    }

    /// The object key of `stack`'s state.
    pub fn object_key(&self, stack: &str) -> String {
        self.key.replacen(STACK_PLACEHOLDER, stack, 1)
    }

    /// The stack whose state is at `key`, if `key` matches the template.
    pub fn stack_of_key(&self, key: &str) -> Option<String> {
        let (before, after) = self.key.split_once(STACK_PLACEHOLDER)?;
        let name = key.strip_prefix(before)?.strip_suffix(after)?;
        infra_state::validate_stack_name(name).ok()?;
        Some(name.to_owned())
    }

    /// The part of the key template before the stack name (for listing).
    pub fn key_prefix(&self) -> &str {
        self.key.split_once(STACK_PLACEHOLDER).map_or("", |(before, _)| before)
    }
}

/// Why `name` is not a valid (DNS-compatible) bucket name, if it is not.
fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("it must be 3 to 63 characters long");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
        return Some("use lowercase letters, digits, '-' and '.'");
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Some("it must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("it must not contain '..'");
    }
    None
}

mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration like 20s: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::HashMap;

    use super::*;

    fn check(vars: &[(&str, &str)], expected: Result<&str, &str>) {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let got = S3BackendConfig::from_lookup(|k| map.get(k).cloned());
        match (got, expected) {
            (Ok(c), Ok(key)) => assert_eq!(c.object_key("prod"), key),
            (Err(e), Err(text)) => assert!(e.to_string().contains(text), "{e} lacks {text:?}"),
            (got, expected) => panic!("{vars:?}: got {got:?}, expected {expected:?}"),
        }
    }

    const BASE: [(&str, &str); 3] = [
        ("INFRA_S3_BUCKET", "acme-state"),
        ("INFRA_S3_REGION", "eu-west-1"),
        ("INFRA_S3_DYNAMODB_TABLE", "locks"),
    ];

    #[test]
    fn from_environment() {
        check(&BASE, Ok("infra/prod.infra-state.json"));
        check(
            &[BASE[0], BASE[1], BASE[2], ("INFRA_S3_KEY", "teams/a/{stack}.json")],
            Ok("teams/a/prod.json"),
        );
        check(&[BASE[0], BASE[2], ("AWS_REGION", "us-east-1")], Ok("infra/prod.infra-state.json"));
        check(&[BASE[1], BASE[2]], Err("bucket: set INFRA_S3_BUCKET"));
        check(&[BASE[0], BASE[2]], Err("region: set INFRA_S3_REGION"));
        check(&[BASE[0], BASE[1]], Err("dynamodb_table: set INFRA_S3_DYNAMODB_TABLE"));
        check(
            &[BASE[0], BASE[1], BASE[2], ("INFRA_S3_KEY", "fixed.json")],
            Err("key: \"fixed.json\" must contain"),
        );
        check(
            &[BASE[0], BASE[1], BASE[2], ("INFRA_S3_LOCK_LEASE", "soon")],
            Err("lock_lease: INFRA_S3_LOCK_LEASE"),
        );
        check(
            &[BASE[0], BASE[1], BASE[2], ("INFRA_S3_LOCK_LEASE", "10ms")],
            Err("lock_lease: 10ms is shorter"),
        );
        check(
            &[("INFRA_S3_BUCKET", "Acme_State"), BASE[1], BASE[2]],
            Err("bucket: \"Acme_State\" is not a valid"),
        );
        check(&[BASE[0], BASE[1], BASE[2], ("INFRA_S3_ENDPOINT", "127.0.0.1:5000")], Err("endpoint:"));
    }

    #[test]
    fn config_file_shape() {
        let c: S3BackendConfig = serde_json::from_value(serde_json::json!({
            "bucket": "acme-state", "region": "eu-west-1", "dynamodb_table": "locks", "lock_lease": "5s"
        }))
        .unwrap();
        assert_eq!(c.lock_lease, Duration::from_secs(5));
        assert_eq!(c.key, DEFAULT_KEY);
        let err = serde_json::from_value::<S3BackendConfig>(serde_json::json!({
            "bucket": "acme-state", "region": "eu-west-1", "dynamodb_table": "locks", "tabel": "x"
        }))
        .unwrap_err();
        assert!(err.to_string().contains("tabel"), "{err}");
    }

    #[test]
    fn stack_names_round_trip_through_keys() {
        let c = S3BackendConfig::new("b-1", "eu-west-1", "locks").with_key("a/{stack}/state.json");
        assert_eq!(c.stack_of_key(&c.object_key("prod-1")), Some("prod-1".to_owned()));
        assert_eq!(c.stack_of_key("a/x/y/state.json"), None);
        assert_eq!(c.stack_of_key("a/prod/other.json"), None);
        assert_eq!(c.key_prefix(), "a/");
    }
}
