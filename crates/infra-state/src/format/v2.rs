//! State format version 2, the current one.
//!
//! ```json
//! {
//!   "format_version": 2,
//!   "lineage": "…", "serial": 7, "secret_key": "<hex>",
//!   "resources": { "<address>": { "type", "provider", "region", "id", "inputs",
//!                                 "outputs", "dependencies", "protect"?, "retain_on_delete"?,
//!                                 "keeps_data"?, "waiting"? } },
//!   "outputs": { … },
//!   "pending": [ { "id", "address", "kind", "type", "provider", "physical_id", "started_at" } ],
//!   "deposed"?: [ { "address", "object": { …as a resource… } } ]
//! }
//! ```
//!
//! See `state/README.md` at the repository root for every field.

use std::collections::{BTreeMap, BTreeSet};

use infra_core::{
    Address, Deposed, Fields, OperationKind, PendingOperation, ProviderKey, ResourceState, State, Value,
};
use serde::{Deserialize, Serialize};

/// A whole state file in format version 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFileV2 {
    /// Always [`StateFileV2::VERSION`].
    pub format_version: u32,
    /// Random ID given to the state when it was created.
    pub lineage: String,
    /// Incremented once per committed operation.
    pub serial: u64,
    /// Hex key of the HMAC that digests secret inputs.
    pub secret_key: String,
    /// Managed resources by address.
    pub resources: BTreeMap<Address, ResourceV2>,
    /// Exported stack outputs.
    pub outputs: BTreeMap<String, Value>,
    /// Mutating calls started but not yet recorded.
    pub pending: Vec<PendingV2>,
    /// Old objects of create-before-destroy replacements not deleted yet.
    /// Written only when there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<DeposedV2>,
}

/// The old object of a create-before-destroy replacement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeposedV2 {
    /// The address the old and the new object share.
    pub address: Address,
    /// The old object.
    pub object: ResourceV2,
}

/// One managed resource in format version 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceV2 {
    /// The resource type, e.g. `aws:ec2:Vpc`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The provider instance's key, e.g. `aws.us-east-1`.
    pub provider: String,
    /// The region of that instance when the resource was created.
    pub region: String,
    /// The cloud's ID for the resource.
    pub id: String,
    /// Inputs as last applied or read (secrets as keyed digests).
    pub inputs: Fields,
    /// Outputs as last applied or read.
    pub outputs: Fields,
    /// Addresses of the resources it depended on when last applied.
    pub dependencies: BTreeSet<Address>,
    /// Deleting or replacing it is refused. Written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub protect: bool,
    /// Deleting it only removes it from state. Written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retain_on_delete: bool,
    /// It holds data: `{ "field", "when"? }`, the input that decides what a
    /// delete does with the data. Written only for such types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeps_data: Option<infra_core::DataGuard>,
    /// Its readiness wait did not finish; the next apply waits again.
    /// Written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub waiting: bool,
}

/// A recorded intent of a mutating call, in format version 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingV2 {
    /// Unique ID of the operation (also the cloud idempotency token).
    pub id: String,
    /// The resource acted on.
    pub address: Address,
    /// What the call does.
    pub kind: OperationKindV2,
    /// The resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The provider instance's key.
    pub provider: String,
    /// The cloud ID acted on (`null` for a create).
    pub physical_id: Option<String>,
    /// When the intent was recorded (RFC 3339).
    pub started_at: String,
}

/// The kind of a pending call as spelled on disk. Kept separate from
/// [`OperationKind`] so that renaming an engine type can never silently
/// change the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKindV2 {
    /// `create`: a new resource.
    Create,
    /// `update`: an in-place update.
    Update,
    /// `delete`: a deletion.
    Delete,
    /// `create_replacement`: the new half of a replacement.
    CreateReplacement,
    /// `delete_replaced`: the old half of a replacement.
    DeleteReplaced,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl StateFileV2 {
    /// The `format_version` of this format.
    pub const VERSION: u32 = 2;

    /// The on-disk form of `state`.
    pub fn from_state(state: &State) -> Self {
        StateFileV2 {
            format_version: Self::VERSION,
            lineage: state.lineage.clone(),
            serial: state.serial,
            secret_key: state.secret_key.clone(),
            resources: state
                .resources
                .iter()
                .map(|(address, r)| (address.clone(), ResourceV2::from_state(r)))
                .collect(),
            outputs: state.outputs.clone(),
            pending: state.pending.iter().map(PendingV2::from_state).collect(),
            deposed: state
                .deposed
                .iter()
                .map(|d| DeposedV2 { address: d.address.clone(), object: ResourceV2::from_state(&d.object) })
                .collect(),
        }
    }

    /// The in-memory state this file describes.
    pub fn into_state(self) -> State {
        State {
            lineage: self.lineage,
            serial: self.serial,
            secret_key: self.secret_key,
            resources: self.resources.into_iter().map(|(address, r)| (address, r.into_state())).collect(),
            outputs: self.outputs,
            pending: self.pending.into_iter().map(PendingV2::into_state).collect(),
            deposed: self
                .deposed
                .into_iter()
                .map(|d| Deposed { address: d.address, object: d.object.into_state() })
                .collect(),
        }
    }
}

impl ResourceV2 {
    pub(crate) fn from_state(r: &ResourceState) -> Self {
        ResourceV2 {
            type_name: r.type_name.clone(),
            provider: r.provider.0.clone(),
            region: r.region.clone(),
            id: r.id.clone(),
            inputs: r.inputs.clone(),
            outputs: r.outputs.clone(),
            dependencies: r.dependencies.clone(),
            protect: r.protect,
            retain_on_delete: r.retain_on_delete,
            keeps_data: r.keeps_data.clone(),
            waiting: r.waiting,
        }
    }

    pub(crate) fn into_state(self) -> ResourceState {
        ResourceState {
            type_name: self.type_name,
            provider: ProviderKey(self.provider),
            region: self.region,
            id: self.id,
            inputs: self.inputs,
            outputs: self.outputs,
            dependencies: self.dependencies,
            protect: self.protect,
            retain_on_delete: self.retain_on_delete,
            keeps_data: self.keeps_data,
            waiting: self.waiting,
        }
    }
}

impl PendingV2 {
    pub(crate) fn from_state(p: &PendingOperation) -> Self {
        PendingV2 {
            id: p.id.clone(),
            address: p.address.clone(),
            kind: OperationKindV2::from(p.kind),
            type_name: p.type_name.clone(),
            provider: p.provider.0.clone(),
            physical_id: p.physical_id.clone(),
            started_at: p.started_at.clone(),
        }
    }

    pub(crate) fn into_state(self) -> PendingOperation {
        PendingOperation {
            id: self.id,
            address: self.address,
            kind: self.kind.into(),
            type_name: self.type_name,
            provider: ProviderKey(self.provider),
            physical_id: self.physical_id,
            started_at: self.started_at,
        }
    }
}

impl From<OperationKind> for OperationKindV2 {
    fn from(k: OperationKind) -> Self {
        match k {
            OperationKind::Create => OperationKindV2::Create,
            OperationKind::Update => OperationKindV2::Update,
            OperationKind::Delete => OperationKindV2::Delete,
            OperationKind::CreateReplacement => OperationKindV2::CreateReplacement,
            OperationKind::DeleteReplaced => OperationKindV2::DeleteReplaced,
        }
    }
}

impl From<OperationKindV2> for OperationKind {
    fn from(k: OperationKindV2) -> Self {
        match k {
            OperationKindV2::Create => OperationKind::Create,
            OperationKindV2::Update => OperationKind::Update,
            OperationKindV2::Delete => OperationKind::Delete,
            OperationKindV2::CreateReplacement => OperationKind::CreateReplacement,
            OperationKindV2::DeleteReplaced => OperationKind::DeleteReplaced,
        }
    }
}
