//! Provider instances: an account and a region that resources are bound to.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The key that names a provider instance in a stack and in state, e.g.
/// `aws.us-east-1` or a user-chosen alias such as `aws.dr`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderKey(pub String);

impl fmt::Display for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderKey({})", self.0)
    }
}

/// One provider instance: which cloud, account and region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// The instance's key (defaults to `<kind>.<region>`).
    pub key: ProviderKey,
    /// The provider kind, e.g. `aws`.
    pub kind: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The account ID the instance must run against, when pinned. An apply
    /// whose credentials resolve to another account is refused.
    pub account: Option<String>,
    /// Provider-specific settings (profile, endpoint URL, …).
    pub settings: BTreeMap<String, String>,
}

impl ProviderConfig {
    /// An AWS provider instance in `region`, keyed `aws.<region>`.
    pub fn aws(region: &str) -> Self {
        ProviderConfig {
            key: ProviderKey(format!("aws.{region}")),
            kind: "aws".into(),
            region: region.into(),
            account: None,
            settings: BTreeMap::new(),
        }
    }

    /// Renames the instance's key to `aws.<alias>` (for two instances in one
    /// region, e.g. two accounts).
    pub fn alias(mut self, alias: &str) -> Self {
        self.key = ProviderKey(format!("{}.{alias}", self.kind));
        self
    }

    /// Pins the account ID.
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.into());
        self
    }

    /// Sets a provider-specific setting (e.g. `profile`, `endpoint_url`).
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }
}
