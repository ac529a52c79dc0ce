//! Plans: what apply would do, as data.
//!
//! [`plan`] diffs a [`Stack`](crate::Stack) against a [`State`] and gives each
//! resource one [`Action`]. A [`Plan`] serializes to JSON with a format
//! version and the lineage and serial of the state it was made against;
//! [`render`] turns the plan (and nothing else) into the human view;
//! [`steps`] turns it into ordered operations for the executor.

mod planner;
pub mod render;
mod steps;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::error::Error;
use crate::options::ReplaceOrder;
use crate::provider::ProviderKey;
use crate::state::State;
use crate::value::{Fields, Value};

pub use planner::{LookupRead, PlanOptions, plan, plan_destroy};
pub use steps::{Step, StepKind, steps};

/// The plan format version this build writes. Version 2 added
/// [`Action::Read`]; version 1 plans (which cannot hold one) are read too.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// The oldest plan format version this build reads.
pub const PLAN_FORMAT_OLDEST: u32 = 1;

/// What will happen to one resource. A closed set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Create a resource that does not exist.
    Create,
    /// Change updatable fields in place.
    Update,
    /// Replace: create a new resource and delete the old one, in `order`,
    /// because the fields in `forced_by` cannot change in place.
    Replace { order: ReplaceOrder, forced_by: Vec<String> },
    /// Delete a resource that is no longer declared.
    Delete,
    /// Remove a resource from state without deleting it (retain on delete).
    Forget,
    /// Read a lookup (a data source): nothing in the cloud changes; the
    /// result is recorded. `during_apply`: its query waits on values known
    /// only after apply, so it is read then, before its dependents;
    /// otherwise it was read for this plan (new, or its result changed) and
    /// is read again when applied.
    Read {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        during_apply: bool,
    },
}

impl Action {
    /// True for everything but `NoOp`.
    pub fn is_change(&self) -> bool {
        !matches!(self, Action::NoOp)
    }

    /// True for a lookup's read.
    pub fn is_read(&self) -> bool {
        matches!(self, Action::Read { .. })
    }
}

/// The change to one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The top-level input field.
    pub name: String,
    /// The value before (absent when the field was unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after (absent when the field becomes unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// This change forces replacement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
    /// The field is sensitive: render `(sensitive)`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// The planned change to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The resource.
    pub address: Address,
    /// Its type, e.g. `aws:ec2:Vpc`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its provider instance.
    pub provider: ProviderKey,
    /// What will happen.
    pub action: Action,
    /// Inputs before (from state); absent for a create.
    pub before: Option<Fields>,
    /// Inputs after (resolved where known); absent for a delete.
    pub after: Option<Fields>,
    /// The fields that differ, with before and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Why, for display only; never used for decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it depends on in the stack (for create, update, replace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
    /// What it depended on in state (for update, replace, delete).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior_depends_on: Vec<Address>,
    /// The old resource is forgotten rather than deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// For the delete of a deposed object (the old half of an interrupted
    /// create-before-destroy replacement): its cloud ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

/// A change to an exported stack output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// What kind of run the plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    /// Converge the cloud to the stack.
    Normal,
    /// Delete everything the state holds.
    Destroy,
}

/// A plan: one change per resource, in an order that respects every
/// dependency (creates and updates after what they depend on, deletes
/// before what they depended on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan format version ([`PLAN_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The stack's name.
    pub stack: String,
    /// Normal or destroy.
    pub mode: PlanMode,
    /// Lineage of the state the plan was made against.
    pub lineage: Option<String>,
    /// Serial of the state the plan was made against.
    pub serial: u64,
    /// One change per resource (no-ops included, so the plan is complete).
    pub changes: Vec<Change>,
    /// Changes to exported outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputChange>,
}

/// Counts of the changes in a plan, Terraform style.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub forget: usize,
    /// Lookups to read (not counted as changes to the cloud).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Plan {
    /// True when applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        !self.changes.iter().any(|c| c.action.is_change()) && self.outputs.is_empty()
    }

    /// The changes that do something.
    pub fn actionable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action.is_change())
    }

    /// The change for `address` (not counting deletes of deposed objects).
    pub fn change(&self, address: &Address) -> Option<&Change> {
        self.changes.iter().find(|c| &c.address == address && c.deposed.is_none())
    }

    /// Counts of adds, changes, destroys, forgets and reads (a replace
    /// counts as one add and one destroy).
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace { .. } => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
                Action::Forget => s.forget += 1,
                Action::Read { .. } => s.read += 1,
            }
        }
        s
    }

    /// The plan as pretty JSON (the saved-plan and `--json` format).
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| Error::PlanDecode(e.to_string()))
    }

    /// Reads a plan from JSON, refusing a format version this build does
    /// not know.
    pub fn from_json(text: &str) -> Result<Plan, Error> {
        #[derive(Deserialize)]
        struct Probe {
            format_version: u32,
        }
        let probe: Probe = serde_json::from_str(text).map_err(|e| Error::PlanDecode(e.to_string()))?;
        if !(PLAN_FORMAT_OLDEST..=PLAN_FORMAT_VERSION).contains(&probe.format_version) {
            return Err(Error::PlanFormat { found: probe.format_version, supported: PLAN_FORMAT_VERSION });
        }
        serde_json::from_str(text).map_err(|e| Error::PlanDecode(e.to_string()))
    }

    /// Refuses the plan when `state` is not the state it was made against
    /// (another lineage, or a serial that moved on).
    pub fn check_fresh(&self, state: &State) -> Result<(), Error> {
        let lineage_ok = self.lineage.as_deref().is_none_or(|l| l == state.lineage);
        if !lineage_ok || self.serial != state.serial {
            return Err(Error::StalePlan {
                plan_lineage: self.lineage.clone(),
                plan_serial: self.serial,
                state_lineage: Some(state.lineage.clone()),
                state_serial: state.serial,
            });
        }
        Ok(())
    }

    /// Changes to exported outputs, by name.
    pub fn output_changes(&self) -> BTreeMap<&str, &OutputChange> {
        self.outputs.iter().map(|o| (o.name.as_str(), o)).collect()
    }
}
