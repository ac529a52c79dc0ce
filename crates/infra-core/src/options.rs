//! Per-resource options: protection, ignored fields, retention, replacement
//! order, custom timeouts and explicit dependencies.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::provider::ProviderKey;

/// The order of the two halves of a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// Create the new resource, move dependents to it, then delete the old
    /// one (no downtime; needs names that may coexist).
    CreateBeforeDestroy,
    /// Delete the old resource first (for types whose names must be unique).
    DeleteBeforeCreate,
}

/// Custom timeouts for the slow phases of a resource's lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Option<Duration>,
    pub update: Option<Duration>,
    pub delete: Option<Duration>,
}

/// Options of one resource, built fluently:
/// `Options::new().protect().ignore_changes(["desired_count"])`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Refuse to delete or replace the resource.
    pub protect: bool,
    /// Top-level input fields whose drift or change is ignored after create.
    pub ignore_changes: Vec<String>,
    /// On delete, forget the resource (remove it from state) instead of
    /// deleting it in the cloud.
    pub retain_on_delete: bool,
    /// Override of the type's replacement order.
    pub replace_order: Option<ReplaceOrder>,
    /// Custom timeouts.
    pub timeouts: Timeouts,
    /// Hidden dependencies that no input reference shows.
    pub depends_on: Vec<Address>,
    /// The provider instance, overriding the scope's.
    pub provider: Option<ProviderKey>,
}

impl Options {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse delete and replace.
    pub fn protect(mut self) -> Self {
        self.protect = true;
        self
    }

    /// Ignore changes to these top-level fields after create.
    pub fn ignore_changes<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore_changes.extend(fields.into_iter().map(Into::into));
        self
    }

    /// Forget instead of delete.
    pub fn retain_on_delete(mut self) -> Self {
        self.retain_on_delete = true;
        self
    }

    /// Replace by creating the new resource first.
    pub fn create_before_destroy(mut self) -> Self {
        self.replace_order = Some(ReplaceOrder::CreateBeforeDestroy);
        self
    }

    /// Replace by deleting the old resource first.
    pub fn delete_before_create(mut self) -> Self {
        self.replace_order = Some(ReplaceOrder::DeleteBeforeCreate);
        self
    }

    /// Wait at most this long for create.
    pub fn create_timeout(mut self, d: Duration) -> Self {
        self.timeouts.create = Some(d);
        self
    }

    /// Wait at most this long for update.
    pub fn update_timeout(mut self, d: Duration) -> Self {
        self.timeouts.update = Some(d);
        self
    }

    /// Wait at most this long for delete.
    pub fn delete_timeout(mut self, d: Duration) -> Self {
        self.timeouts.delete = Some(d);
        self
    }

    /// Depend on another resource that no input references.
    pub fn depends_on(mut self, other: impl AsRef<Address>) -> Self {
        self.depends_on.push(other.as_ref().clone());
        self
    }

    /// Bind to this provider instance.
    pub fn provider(mut self, key: &ProviderKey) -> Self {
        self.provider = Some(key.clone());
        self
    }
}
