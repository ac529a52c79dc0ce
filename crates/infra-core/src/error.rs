//! The error type of `infra-core`.

use crate::address::Address;
use crate::diagnostics::Diagnostics;

/// Why a string is not a valid [`Address`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("an address may not be empty")]
    Empty,
    #[error("address {address:?} has an empty segment (two dots in a row, or a leading or trailing dot)")]
    EmptySegment { address: String },
    #[error("address {address:?} contains {ch:?}; segments use letters, digits, `_` and `-`")]
    InvalidChar { address: String, ch: char },
}

/// Everything that can go wrong in the pure core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Address(#[from] AddressError),

    /// The stack is invalid: every problem found, with addresses and fields.
    #[error("the stack is invalid: {0}")]
    Invalid(Diagnostics),

    /// The plan would do something the options forbid (e.g. delete a
    /// protected resource).
    #[error("the plan is refused: {0}")]
    Refused(Diagnostics),

    /// A saved plan was made against another state than the current one.
    #[error(
        "the saved plan is stale: it was made against state lineage {} serial {plan_serial}, \
         but the state is now lineage {} serial {state_serial}; run `plan --out FILE` again",
        plan_lineage.as_deref().unwrap_or("(none)"),
        state_lineage.as_deref().unwrap_or("(none)")
    )]
    StalePlan {
        plan_lineage: Option<String>,
        plan_serial: u64,
        state_lineage: Option<String>,
        state_serial: u64,
    },

    /// A plan file written by a newer or unknown format version.
    #[error(
        "plan format version {found} is not supported (this build reads version {supported}); upgrade infra"
    )]
    PlanFormat { found: u32, supported: u32 },

    /// A plan file that is not valid JSON or not a plan.
    #[error("cannot read plan: {0}")]
    PlanDecode(String),

    /// The operations of a plan cannot be ordered (a replacement order that
    /// contradicts the dependencies).
    #[error("the plan's operations form a cycle through: {}", addresses.iter().map(Address::as_str).collect::<Vec<_>>().join(" -> "))]
    StepCycle { addresses: Vec<Address> },
}
