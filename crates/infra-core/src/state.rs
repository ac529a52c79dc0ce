//! The in-memory state model: what exists in the cloud, as last recorded.
//!
//! This is pure data; `infra-state` persists it (its on-disk format is a
//! separate, versioned type) and the planner diffs against it. It lives in
//! the core because planning is a pure function of (stack, state).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::provider::ProviderKey;
use crate::stack::ResourceDecl;
use crate::value::{Fields, Reference, Value, output_at};

/// The recorded state of one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// A random ID given to the state when it is first created. Two states
    /// with different lineages are unrelated and never overwrite each other.
    pub lineage: String,
    /// Incremented once per committed operation (apply, destroy, refresh,
    /// state edit). Writes are compare-and-swap on it.
    pub serial: u64,
    /// Hex key of the HMAC that digests secret inputs. Secrets themselves
    /// are never stored.
    pub secret_key: String,
    /// Managed resources by address.
    pub resources: BTreeMap<Address, ResourceState>,
    /// Exported stack outputs as of the last apply.
    pub outputs: BTreeMap<String, Value>,
    /// Mutating calls that were started but whose result is not recorded
    /// yet (an intent is written before each call and cleared after it).
    pub pending: Vec<PendingOperation>,
    /// Old objects of create-before-destroy replacements whose delete has
    /// not completed yet. The next plan deletes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<Deposed>,
}

/// The old object of a create-before-destroy replacement, kept in state
/// from the moment its replacement exists until it is deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deposed {
    /// The address both objects share.
    pub address: Address,
    /// The old object.
    pub object: ResourceState,
}

impl State {
    /// The address at which an object of `type_name` with cloud ID `id`
    /// is recorded under provider instance `provider`, if any. IDs are
    /// unique per instance (an account and region) only: an ECR repository
    /// or a log group has its name as ID, the same in two regions.
    pub fn address_of(&self, provider: &ProviderKey, type_name: &str, id: &str) -> Option<Address> {
        self.resources
            .iter()
            .find(|(_, r)| &r.provider == provider && r.type_name == type_name && r.id == id)
            .map(|(a, _)| a.clone())
    }

    /// An empty state with the given lineage and secret key (both random,
    /// chosen by the caller: the core does no IO and has no randomness).
    pub fn new(lineage: impl Into<String>, secret_key: impl Into<String>) -> Self {
        State {
            lineage: lineage.into(),
            serial: 0,
            secret_key: secret_key.into(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            pending: Vec::new(),
            deposed: Vec::new(),
        }
    }

    /// The bytes of the secret-digest key.
    pub fn secret_key_bytes(&self) -> Vec<u8> {
        hex::decode(&self.secret_key).unwrap_or_else(|_| self.secret_key.as_bytes().to_vec())
    }

    /// The inputs of `decl` with every reference resolved against the
    /// recorded outputs: what a provider is given. Secrets stay wrapped as
    /// [`Value::Secret`] (call [`Value::reveal`] at the API boundary). Fails
    /// with the references whose outputs are not recorded yet.
    pub fn resolve_inputs(&self, decl: &ResourceDecl) -> Result<Fields, Vec<Reference>> {
        let mut missing = Vec::new();
        let lookup =
            |r: &Reference| self.resources.get(&r.address).and_then(|res| output_at(&res.outputs, &r.output));
        for v in decl.inputs.values() {
            for r in v.references() {
                if lookup(r).is_none() {
                    missing.push(r.clone());
                }
            }
        }
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            return Err(missing);
        }
        Ok(decl.inputs.iter().map(|(k, v)| (k.clone(), v.resolve(&lookup))).collect())
    }

    /// Records `decl` as existing with cloud ID `id`, the resolved inputs it
    /// was applied with (secrets are sealed here) and its outputs.
    pub fn record(
        &mut self,
        decl: &ResourceDecl,
        region: &str,
        id: impl Into<String>,
        resolved_inputs: &Fields,
        outputs: Fields,
    ) {
        let key = self.secret_key_bytes();
        let mut inputs: Fields = resolved_inputs.iter().map(|(k, v)| (k.clone(), v.seal(&key))).collect();
        // Ignored fields keep the value recorded at create time.
        if let Some(prior) = self.resources.get(&decl.address) {
            for f in &decl.options.ignore_changes {
                match prior.inputs.get(f) {
                    Some(v) => {
                        inputs.insert(f.clone(), v.clone());
                    }
                    None => {
                        inputs.remove(f);
                    }
                }
            }
        }
        self.resources.insert(
            decl.address.clone(),
            ResourceState {
                type_name: decl.schema.type_name.to_owned(),
                provider: decl.provider.clone().unwrap_or_else(|| ProviderKey(String::new())),
                region: region.to_owned(),
                id: id.into(),
                inputs,
                outputs,
                dependencies: decl.dependencies(),
                protect: decl.options.protect,
                // A lookup is only ever forgotten.
                retain_on_delete: decl.options.retain_on_delete || decl.schema.lookup,
                keeps_data: decl.schema.keeps_data.map(Into::into),
                waiting: false,
            },
        );
    }

    /// Marks the resource at `address` as waiting (or not) to become
    /// available; see [`ResourceState::waiting`].
    pub fn mark_waiting(&mut self, address: &Address, waiting: bool) {
        if let Some(r) = self.resources.get_mut(address) {
            r.waiting = waiting;
        }
    }

    /// Resources that depend on `address` according to the state.
    pub fn dependents_of(&self, address: &Address) -> Vec<&Address> {
        self.resources.iter().filter(|(_, r)| r.dependencies.contains(address)).map(|(a, _)| a).collect()
    }
}

/// One managed resource as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The resource type, e.g. `aws:ec2:Vpc`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The provider instance it belongs to.
    pub provider: ProviderKey,
    /// The region of that instance when the resource was created.
    pub region: String,
    /// The cloud's ID for it (`vpc-0abc…`, an ARN, a name).
    pub id: String,
    /// Inputs as last applied or read; secrets as keyed digests.
    pub inputs: Fields,
    /// Outputs as last applied or read.
    pub outputs: Fields,
    /// Resources it depended on when last applied.
    pub dependencies: BTreeSet<Address>,
    /// Deleting or replacing it is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Deleting it only removes it from state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// It holds data: deleting or replacing it needs the decision its
    /// recorded inputs carry (see [`crate::data`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeps_data: Option<crate::data::DataGuard>,
    /// The wait for it to become available did not finish (a Ctrl-C, a
    /// timeout, a killed process): the next apply waits again before
    /// anything that depends on it, without calling the cloud to change it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waiting: bool,
}

/// The kind of a mutating call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Create,
    Update,
    Delete,
    CreateReplacement,
    DeleteReplaced,
}

/// The intent of a mutating call, recorded before the call is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// Unique ID of the operation; also the idempotency token given to the
    /// cloud, so a retried or resumed create can be recognised.
    pub id: String,
    /// The resource it acts on.
    pub address: Address,
    /// What the call does.
    pub kind: OperationKind,
    /// The resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The provider instance the call goes to.
    pub provider: ProviderKey,
    /// The cloud ID the call acts on (known for update and delete).
    pub physical_id: Option<String>,
    /// When the intent was recorded (RFC 3339).
    pub started_at: String,
}
