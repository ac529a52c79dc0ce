//! `infra-core`: the pure heart of infra.
//!
//! Resource model ([`Resource`], [`Output`], [`Input`]), addresses, dynamic
//! values, the dependency [`Graph`], the in-memory [`State`] model and the
//! planner ([`plan::plan`]). **This crate does no IO**: no files, no network,
//! no clock, no randomness, no async runtime.

pub mod address;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod graph;
pub mod options;
pub mod plan;
pub mod provider;
pub mod resource;
pub mod stack;
pub mod state;
pub mod typed;
pub mod value;

pub use address::Address;
pub use data::{DataGuard, KeepsData, OnDelete};
pub use diagnostics::{Diagnostic, Diagnostics};
pub use error::{AddressError, Error};
pub use graph::{Graph, GraphError};
pub use options::{Options, ReplaceOrder, Timeouts};
pub use plan::{Action, Change, FieldChange, Plan, PlanOptions};
pub use provider::{ProviderConfig, ProviderKey};
pub use resource::{
    FieldSpec, Handle, OutputSpec, Readiness, Resource, ResourceOutputs, Schema, StackValidator,
    ValidationContext,
};
pub use stack::{ResourceDecl, Scope, Stack};
pub use state::{Deposed, OperationKind, PendingOperation, ResourceState, State};
pub use typed::{
    Identifier, Input, InvalidId, JsonEncoded, Output, Sensitive, Shape, Template, TemplatePart,
};
pub use value::{Fields, Reference, Value};

/// Re-exports used by the code that macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
