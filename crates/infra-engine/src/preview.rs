//! Previews: what `plan` and `drift` show, computed without changing the
//! stored state or the cloud.
//!
//! A preview reads the stored state (no lock: reading needs none), copies it
//! into a private in-memory backend and works on the copy exactly as an
//! apply would before it executes anything: resolve what an interrupted run
//! left pending (read-only calls), refresh from the cloud, plan. The stored
//! state is never written, so a preview can run while someone else applies;
//! its plan records the lineage and serial it was made against, so applying
//! it later is refused if the state moved on.

use std::sync::Arc;
use std::time::Duration;

use infra_core::plan::{PlanOptions, plan, plan_destroy};
use infra_core::{Address, Plan, Stack, State};
use infra_state::{Backend, MemoryBackend};

use crate::error::Error;
use crate::events::Events;
use crate::provider::Registry;
use crate::recover::recover;
use crate::refresh::{Refreshed, refresh};
use crate::run::read_state;
use crate::store::StateStore;

/// What to preview.
#[derive(Debug, Clone)]
pub enum PreviewMode {
    /// The plan an apply would make.
    Apply(PlanOptions),
    /// The plan a destroy would make (all of the state, or the targets and
    /// their dependents).
    Destroy { targets: Vec<Address> },
}

/// What a preview found.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The plan, against the stored lineage and serial (lineage `None` when
    /// the stack has no stored state yet).
    pub plan: Plan,
    /// The state as stored.
    pub stored: State,
    /// The state the plan was made from: stored, then pending operations
    /// resolved and refreshed from the cloud.
    pub current: State,
    /// What the refresh found (`None` when refresh was off).
    pub refreshed: Option<Refreshed>,
    /// Pending operations of an interrupted run that the preview resolved
    /// on its copy (an apply resolves them for real first).
    pub pending: usize,
    /// Cloud resources carrying the stack's tags that the state does not
    /// hold (listed when refresh was on).
    pub orphans: Vec<crate::orphans::Orphan>,
}

/// Computes a plan without writing anything.
pub async fn preview(
    registry: &Registry,
    backend: &dyn Backend,
    stack: &Stack,
    mode: &PreviewMode,
    refresh_first: bool,
    events: &Events,
) -> Result<Preview, Error> {
    let (stored, version) = read_state(backend, stack.name()).await?;
    let copy: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let lock = copy.lock(stack.name(), "preview", Duration::ZERO).await?;
    let store = StateStore::start(copy, lock, stored.clone(), None);
    let result = async {
        let pending =
            if stored.pending.is_empty() { 0 } else { recover(registry, stack, &store, events).await? };
        // The refresh and the inventory of orphans at once; the inventory
        // skips what the state holds (which the refresh reads).
        let recovered = store.snapshot();
        let (refreshed, orphans) = if refresh_first {
            let orphans = async {
                if matches!(mode, PreviewMode::Apply(_)) {
                    crate::orphans::orphans(registry, stack.name(), &recovered).await
                } else {
                    Ok(Vec::new())
                }
            };
            let (refreshed, orphans) = tokio::join!(refresh(registry, stack, &store), orphans);
            (Some(refreshed?), orphans?)
        } else {
            (None, Vec::new())
        };
        let current = store.snapshot();
        let mut p = match mode {
            PreviewMode::Apply(options) => {
                let reads = crate::lookups::read_lookups(registry, stack, &current).await?;
                plan(stack, &current, &PlanOptions { reads, ..options.clone() })?
            }
            PreviewMode::Destroy { targets } => plan_destroy(stack.name(), &current, targets)?,
        };
        p.serial = stored.serial;
        p.lineage = version.as_ref().map(|_| stored.lineage.clone());
        Ok::<_, Error>((p, current, refreshed, pending, orphans))
    }
    .await;
    // The copy is discarded; its writer's end is of no interest.
    let _ = store.finish().await;
    let (plan, mut current, refreshed, pending, orphans) = result?;
    current.serial = stored.serial;
    Ok(Preview { plan, stored, current, refreshed, pending, orphans })
}

/// Refreshes the stored state from the cloud under the stack's lock, as
/// one operation (the serial advances once when anything changed).
pub async fn refresh_stored(
    registry: &Registry,
    backend: Arc<dyn Backend>,
    stack: &Stack,
    lock_timeout: Duration,
) -> Result<(Refreshed, State), Error> {
    StateStore::locked(backend, stack.name(), "refresh", lock_timeout, async |store| {
        refresh(registry, stack, store).await
    })
    .await
}
