//! Orphans: cloud resources that carry a stack's tags but are not in its
//! state — what a create whose outcome was lost made, when nothing adopted
//! it. `drift` lists them and a refreshing `plan` warns about them, each
//! with the command to adopt (`import`) it.

use infra_core::{ProviderKey, State};
use serde::Serialize;

use crate::error::Error;
use crate::provider::{ErrorKind, Registry};

/// A resource carrying the stack's tags that its state does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphan {
    /// The provider instance it was found in.
    pub provider: ProviderKey,
    /// Its type, when the inventory can tell.
    pub type_name: Option<String>,
    /// The cloud's ID.
    pub id: String,
    /// Its `infra:address` tag, when present.
    pub address: Option<String>,
}

/// Asks every provider instance's inventories for what carries the stack's
/// tags, and returns what `state` does not hold (as a resource, a deposed
/// object or the target of a pending operation).
pub async fn orphans(registry: &Registry, stack: &str, state: &State) -> Result<Vec<Orphan>, Error> {
    let known: std::collections::BTreeSet<String> = state
        .resources
        .values()
        .map(|r| r.id.clone())
        .chain(state.deposed.iter().map(|d| d.object.id.clone()))
        .chain(state.pending.iter().filter_map(|p| p.physical_id.clone()))
        .collect();
    // Every (instance, inventory) at once: one region's listing never
    // waits for another's.
    let lists = registry.instances().flat_map(|instance| {
        let known = &known;
        instance.inventories().iter().map(move |inventory| async move {
            let mut delay = std::time::Duration::from_millis(250);
            let mut attempt = 0;
            let owned = loop {
                match inventory.owned(stack, known).await {
                    Ok(o) => break o,
                    Err(e) if e.kind.is_retryable() && attempt < 6 => {
                        attempt += 1;
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    Err(e) if e.kind == ErrorKind::NotFound => break Vec::new(),
                    Err(error) => {
                        return Err(Error::Inventory { provider: instance.config.key.to_string(), error });
                    }
                }
            };
            Ok(owned
                .into_iter()
                .filter(|o| !known.contains(&o.id))
                .map(|o| Orphan {
                    provider: instance.config.key.clone(),
                    type_name: o.type_name,
                    id: o.id,
                    address: o.address,
                })
                .collect::<Vec<_>>())
        })
    });
    let mut out = Vec::new();
    for list in futures_util::future::join_all(lists).await {
        out.extend(list?);
    }
    out.sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
    Ok(out)
}
