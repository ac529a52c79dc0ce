//! A whole operation: lock the stack, read its state, resolve what an
//! interrupted run left pending, plan, execute, save, unlock.

use std::sync::Arc;
use std::time::Duration;

use infra_core::plan::{PlanOptions, plan, plan_destroy};
use infra_core::{Plan, Stack, State};
use infra_state::{Backend, Lock, LockInfo, StateVersion, new_state};

use crate::error::Error;
use crate::events::{Events, Interrupt};
use crate::executor::{Executor, Report};
use crate::recover::recover;
use crate::store::StateStore;

/// What to do.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Plan against the current state and apply.
    Apply(PlanOptions),
    /// Apply a saved plan; refused when the state moved on since.
    Saved(Box<Plan>),
    /// Delete what the state holds (all of it, or the targets and their
    /// dependents).
    Destroy { targets: Vec<infra_core::Address> },
}

/// Options of one operation.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub mode: Mode,
    /// How long to wait for another holder's lock.
    pub lock_timeout: Duration,
    /// Read every resource from the cloud before planning (not for saved
    /// plans, which were made from a refreshed state).
    pub refresh: bool,
}

/// What an operation did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan that was executed.
    pub plan: Plan,
    /// What the executor did.
    pub report: Report,
    /// The state as saved at the end.
    pub state: State,
    /// Pending operations of an interrupted run that were resolved first.
    pub recovered: usize,
    /// The holder whose expired lease this run took the stack's lock over
    /// from (it was killed mid-operation); its pending operations are what
    /// `recovered` counts.
    pub lock_taken_over_from: Option<LockInfo>,
}

/// Asked, under the stack's lock, whether to execute a plan that changes
/// something (the CLI shows the plan and asks on a terminal). Plans with
/// no changes are executed without asking: they only record outputs.
#[async_trait::async_trait]
pub trait Approve: Send + Sync {
    /// `true` to execute `plan`.
    async fn approve(&self, plan: &Plan) -> bool;
}

/// Approves every plan.
#[derive(Debug, Clone, Copy)]
pub struct AutoApprove;

#[async_trait::async_trait]
impl Approve for AutoApprove {
    async fn approve(&self, _plan: &Plan) -> bool {
        true
    }
}

/// Runs one operation on `stack`'s state in `backend`.
pub async fn run(
    executor: &Executor,
    backend: Arc<dyn Backend>,
    stack: &Stack,
    options: &RunOptions,
    events: &Events,
    interrupt: &Interrupt,
) -> Result<Outcome, Error> {
    run_approved(executor, backend, stack, options, events, interrupt, &AutoApprove).await
}

/// Runs one operation, asking `approve` before executing a plan that
/// changes something; a refusal gives [`Error::NotApproved`] and changes
/// nothing in the cloud.
pub async fn run_approved(
    executor: &Executor,
    backend: Arc<dyn Backend>,
    stack: &Stack,
    options: &RunOptions,
    events: &Events,
    interrupt: &Interrupt,
    approve: &dyn Approve,
) -> Result<Outcome, Error> {
    let operation = match options.mode {
        Mode::Destroy { .. } => "destroy",
        _ => "apply",
    };
    let lock = backend.lock(stack.name(), operation, options.lock_timeout).await?;
    let lock_taken_over_from = lock.taken_over_from().cloned();
    let (state, version) = match backend.read(stack.name()).await {
        Ok(Some((s, v))) => (s, Some(v)),
        Ok(None) => match new_state() {
            Ok(s) => (s, None),
            Err(e) => return release_with(lock, Error::State(e)).await,
        },
        Err(e) => return release_with(lock, Error::State(e)).await,
    };
    if let Mode::Saved(saved) = &options.mode
        && let Err(e) = saved.check_fresh(&state)
    {
        return release_with(lock, Error::Plan(e)).await;
    }
    let read_serial = state.serial;
    let store = StateStore::start(backend, lock, state, version);
    let result = execute(executor, stack, options, &store, events, interrupt, read_serial, approve).await;
    let finished = store.finish().await;
    match (result, finished) {
        (Ok((plan, report, recovered)), Ok((state, lock, _))) => {
            lock.release().await?;
            Ok(Outcome { plan, report, state, recovered, lock_taken_over_from })
        }
        (Err(e), Ok((_, lock, _))) => release_with(lock, e).await,
        (_, Err(e)) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    executor: &Executor,
    stack: &Stack,
    options: &RunOptions,
    store: &StateStore,
    events: &Events,
    interrupt: &Interrupt,
    read_serial: u64,
    approve: &dyn Approve,
) -> Result<(Plan, Report, usize), Error> {
    let recovered = recover(executor.registry(), stack, store, events).await?;
    if options.refresh && !matches!(options.mode, Mode::Saved(_)) {
        crate::refresh::refresh(executor.registry(), stack, store).await?;
    }
    let snapshot = store.snapshot();
    let mut plan = match &options.mode {
        Mode::Apply(opts) => {
            let reads = crate::lookups::read_lookups(executor.registry(), stack, &snapshot).await?;
            plan(stack, &snapshot, &PlanOptions { reads, ..opts.clone() })?
        }
        Mode::Saved(saved) => {
            if recovered > 0 {
                return Err(Error::Plan(infra_core::Error::StalePlan {
                    plan_lineage: saved.lineage.clone(),
                    plan_serial: saved.serial,
                    state_lineage: Some(snapshot.lineage.clone()),
                    state_serial: read_serial,
                }));
            }
            (**saved).clone()
        }
        Mode::Destroy { targets } => plan_destroy(stack.name(), &snapshot, targets)?,
    };
    plan.serial = read_serial;
    if plan.actionable().next().is_some() && !approve.approve(&plan).await {
        return Err(Error::NotApproved { stack: stack.name().to_owned() });
    }
    let report = executor.apply(stack, &plan, store, events, interrupt).await?;
    Ok((plan, report, recovered))
}

async fn release_with<T>(lock: Box<dyn Lock>, e: Error) -> Result<T, Error> {
    // The original error matters more than a failure to release.
    let _ = lock.release().await;
    Err(e)
}

/// Reads the state of `stack` (a fresh one when none is stored).
pub async fn read_state(backend: &dyn Backend, stack: &str) -> Result<(State, Option<StateVersion>), Error> {
    match backend.read(stack).await? {
        Some((s, v)) => Ok((s, Some(v))),
        None => Ok((new_state()?, None)),
    }
}
