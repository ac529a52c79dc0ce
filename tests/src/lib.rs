#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test support
//! Test support shared by the workspace-level tests: small fake resource
//! types and a pure in-memory "cloud" that applies a plan's steps in order.
//!
//! The in-memory apply is deliberately simple: it exists so the planner's
//! properties (a converged state plans empty, steps respect every edge) can
//! be checked without an executor. The executor's own lifecycle suite runs
//! on the simulated provider.

pub mod crash;
pub mod dags;
pub mod sim;
pub mod team;

use infra_core::plan::{Plan, StepKind, steps};
use infra_core::{Address, Fields, Input, ResourceDecl, Stack, State, Value, identifier};
use infra_derive::Resource;
use serde::Serialize;

identifier!(
    /// ID of a fake node.
    NodeId
);

/// A fake resource: `zone` forces replacement, `size` updates in place,
/// `deps` references other nodes, `password` is a secret.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(type = "test:fake:Node", outputs(id: NodeId, name: String))]
pub struct Node {
    #[resource(force_new)]
    pub zone: String,
    pub size: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<Input<NodeId>>,
    #[resource(secret)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Input<String>>,
}

/// Like [`Node`] but with a name that must be unique, so it is replaced
/// delete-before-create.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "test:fake:UniqueNode",
    outputs(id: NodeId),
    replace = "delete_before_create"
)]
pub struct UniqueNode {
    #[resource(force_new)]
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<Input<NodeId>>,
}

/// A fake lookup (a data source): `query` selects what it finds.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(type = "test:fake:Lookup", lookup, outputs(id: NodeId, value: String))]
pub struct FakeLookup {
    pub query: Input<String>,
}

/// A fresh state with a fixed lineage and key (tests want stable output).
pub fn empty_state() -> State {
    State::new("00000000-0000-4000-8000-000000000000", "6b6579")
}

/// Applies `plan` to `state` the way a perfect cloud would: walks the steps
/// in order, gives each created resource the ID `<address>#<n>` and outputs
/// `id` and `name`, and records it. Returns the order in which steps ran.
pub fn fake_apply(stack: &Stack, state: &mut State, plan: &Plan) -> Vec<(Address, StepKind)> {
    fake_apply_with(stack, state, plan, &default_outputs)
}

/// The outputs a perfect cloud gives a created resource: `id`, `name` (the
/// address's last segment) and `<id>/<output>` for every other declared output.
pub fn default_outputs(decl: &ResourceDecl, id: &str) -> Fields {
    decl.schema
        .outputs
        .iter()
        .map(|o| {
            let v = match o.name {
                "id" => Value::from(id),
                "name" => Value::from(decl.address.name()),
                other => Value::from(format!("{id}/{other}")),
            };
            (o.name.to_string(), v)
        })
        .chain([("id".to_string(), Value::from(id)), ("name".to_string(), Value::from(decl.address.name()))])
        .collect()
}

/// [`fake_apply`] with a custom outputs function.
pub fn fake_apply_with(
    stack: &Stack,
    state: &mut State,
    plan: &Plan,
    outputs_of: &dyn Fn(&ResourceDecl, &str) -> Fields,
) -> Vec<(Address, StepKind)> {
    let ordered = steps(plan).unwrap_or_else(|e| panic!("steps: {e}"));
    let mut counter = state.serial * 1000;
    let mut ran = Vec::new();
    for step in ordered {
        ran.push((step.address.clone(), step.kind));
        match step.kind {
            StepKind::Create | StepKind::Update | StepKind::CreateReplacement | StepKind::Read => {
                let decl =
                    stack.resource(&step.address).unwrap_or_else(|| panic!("{} not declared", step.address));
                let inputs: Fields = state
                    .resolve_inputs(decl)
                    .unwrap_or_else(|missing| panic!("{}: unresolved {missing:?}", step.address));
                let id = if step.kind == StepKind::Update {
                    state.resources[&step.address].id.clone()
                } else {
                    counter += 1;
                    format!("{}#{counter}", step.address)
                };
                let outputs = outputs_of(decl, &id);
                let region = stack.provider_of(decl).map(|p| p.region.clone()).unwrap_or_default();
                state.record(decl, &region, id, &inputs, outputs);
            }
            StepKind::Delete | StepKind::Forget => {
                state.resources.remove(&step.address);
            }
            StepKind::DeleteReplaced => {
                // The old object goes; with create-before-destroy the new one
                // was already recorded under the same address.
                let replaced_first = plan.change(&step.address).is_some_and(|c| {
                    matches!(
                        c.action,
                        infra_core::Action::Replace {
                            order: infra_core::ReplaceOrder::DeleteBeforeCreate,
                            ..
                        }
                    )
                });
                if replaced_first {
                    state.resources.remove(&step.address);
                }
            }
        }
    }
    state.serial += 1;
    state.outputs = stack
        .outputs()
        .iter()
        .map(|(k, v)| {
            let lookup = |r: &infra_core::Reference| {
                state
                    .resources
                    .get(&r.address)
                    .and_then(|res| infra_core::value::output_at(&res.outputs, &r.output))
            };
            (k.clone(), v.resolve(&lookup).seal(&state.secret_key_bytes()))
        })
        .collect();
    ran
}

/// Parses an address or panics (tests only).
pub fn addr(s: &str) -> Address {
    Address::parse(s).unwrap_or_else(|e| panic!("{e}"))
}
