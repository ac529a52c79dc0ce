//! `infra-engine`: applies plans.
//!
//! The executor walks a plan's steps in parallel through providers: every
//! step starts as soon as what it depends on is done, calls draw from API
//! rate budgets instead of fixed slots, slow resources are polled for
//! readiness without holding anyone's budget, and a pending operation is
//! recorded durably before every mutating call so that a process killed at
//! any instant leaves a state the next run converges from.

pub mod budget;
pub mod error;
pub mod events;
pub mod executor;
pub mod import;
pub mod lookups;
pub mod orphans;
pub mod preview;
pub mod provider;
pub mod recover;
pub mod refresh;
pub mod run;
pub mod store;

pub use budget::{Budget, BudgetConfig, BudgetKey, Rate};
pub use error::Error;
pub use events::{Event, Events, Interrupt, RateSample};
pub use executor::{Executor, ExecutorConfig, Report, RetryPolicy, operation_token};
pub use import::{import, import_into};
pub use lookups::read_lookups;
pub use orphans::{Orphan, orphans};
pub use preview::{Preview, PreviewMode, preview, refresh_stored};
pub use provider::{
    ApiClass, CreateRequest, DeleteRequest, Deletion, ErrorKind, FindRequest, Inventory, LookupRequest,
    Observed, Operation, Owned, PollRequest, ProviderError, ProviderInstance, ReadRequest, ReadResponse,
    Readiness, Registry, ResourceProvider, TAG_ADDRESS, TAG_STACK, TAG_TOKEN, Timings, UpdateRequest,
};
pub use recover::recover;
pub use refresh::{Refreshed, refresh};
pub use run::{Approve, AutoApprove, Mode, Outcome, RunOptions, read_state, run, run_approved};
pub use store::StateStore;
