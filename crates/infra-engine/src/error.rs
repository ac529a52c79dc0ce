//! The error type of `infra-engine`.

use std::time::Duration;

use infra_core::Address;
use infra_core::plan::StepKind;

use crate::provider::{ErrorKind, ProviderError};

/// Everything that can go wrong while applying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The state could not be persisted; the run stops at once (every
    /// mutating call is preceded by a durable write, so none is made).
    #[error("state: {0}")]
    State(#[from] infra_state::Error),

    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] infra_core::Error),

    /// A provider call failed and will not be retried.
    #[error("{address}: {kind:?} failed: {error}{hint}", hint = hint(error))]
    Provider { address: Address, kind: StepKind, error: ProviderError },

    /// Reading a resource (refresh, import) failed after its retries: a
    /// read, which changed nothing.
    #[error("{address}: reading it from the cloud failed (a read; nothing was changed): {error}{hint}", hint = hint(error))]
    Read { address: Address, error: ProviderError },

    /// A lookup's query failed, found nothing, or (for a single-result
    /// lookup) found more than one object: the plan stops here.
    #[error("{address}: the lookup failed (a read; nothing was changed): {error}{hint}", hint = hint(error))]
    Lookup { address: Address, error: ProviderError },

    /// No provider implements the resource's type in its instance.
    #[error("{address}: provider instance {provider} does not implement {type_name}")]
    NoProvider { address: Address, provider: String, type_name: String },

    /// Listing what carries the stack's tags failed.
    #[error("provider instance {provider}: listing the stack's tagged resources failed: {error}")]
    Inventory { provider: String, error: crate::provider::ProviderError },

    /// The resource is not declared in the stack being applied (a plan made
    /// from another program).
    #[error("{address}: not declared in the stack being applied")]
    NotDeclared { address: Address },

    /// The resource was expected in state but is not there.
    #[error("{address}: not found in the state")]
    NotInState { address: Address },

    /// Inputs reference outputs that are not recorded (their resource
    /// failed or reports no such output).
    #[error("{address}: cannot resolve {}", refs.join(", "))]
    Unresolved { address: Address, refs: Vec<String> },

    /// A readiness wait ran out of time.
    #[error(
        "{address}: still {status:?} after waiting {waited}; raise the timeout with Options::create_timeout / update_timeout if this is expected",
        waited = humantime::format_duration(*waited)
    )]
    Timeout { address: Address, waited: Duration, status: String },

    /// The cloud reports the resource as failed.
    #[error("{address}: the cloud reports it failed: {message}")]
    ResourceFailed { address: Address, message: String },

    /// An import named an address the state already manages.
    #[error(
        "{address}: already managed; remove it from the state first (`state rm`) to import another object"
    )]
    AlreadyManaged { address: Address },

    /// An import named an ID the cloud does not have.
    #[error("{address}: no {type_name} with ID {id:?} exists in the provider's account and region")]
    ImportNotFound { address: Address, id: String, type_name: String },

    /// An import named a string that is not an ID of the resource's type.
    #[error("{address}: cannot import {id:?}: {problem}")]
    ImportWrongId { address: Address, id: String, problem: String },

    /// One cloud object may be managed at one address only.
    #[error(
        "{address}: {id} is already managed at {other}; one cloud object belongs to one address (`state mv` moves it)"
    )]
    ManagedElsewhere { address: Address, id: String, other: Address },

    /// The plan was shown and not approved.
    #[error("apply of stack {stack:?} cancelled: the plan was not approved; nothing was changed")]
    NotApproved { stack: String },

    /// A second interrupt aborted a wait.
    #[error("{address}: interrupted while waiting for the cloud")]
    Interrupted { address: Address },
}

fn hint(e: &ProviderError) -> &'static str {
    match e.kind {
        ErrorKind::Throttled => " (still throttled after every retry; lower --parallelism or the API budget)",
        ErrorKind::Conflict => " (conflicts with the resource's current state or another resource)",
        _ => "",
    }
}
