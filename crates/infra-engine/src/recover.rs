//! Resolving pending operations left by a run that died.
//!
//! Each pending operation is an intent recorded before a mutating call
//! whose outcome was never recorded. Before planning, each is resolved
//! against the cloud:
//! - a create: look the resource up by its idempotency token (or tags). If
//!   it exists, adopt it (with the inputs the cloud reports, so the plan
//!   diffs them); a create-before-destroy replacement's old object is
//!   deposed. If it does not, the intent is kept, so the create that the
//!   plan schedules again reuses the same token and the cloud cannot make a
//!   second resource even if the first call completes late.
//! - an update: read the resource and record what it is now.
//! - a delete: read it; if it is gone, forget it, else keep it (the plan
//!   deletes it again).

use std::collections::BTreeMap;

use infra_core::{
    Address, Deposed, Fields, OperationKind, PendingOperation, ProviderKey, ResourceState, Stack, State,
    Value,
};

use crate::error::Error;
use crate::events::{Event, Events};
use crate::provider::{
    ErrorKind, FindRequest, Observed, ProviderError, ReadRequest, Registry, ResourceProvider, TAG_ADDRESS,
    TAG_STACK, TAG_TOKEN,
};
use crate::store::StateStore;

/// Resolves every pending operation of the store's state. Returns how many
/// were resolved.
pub async fn recover(
    registry: &Registry,
    stack: &Stack,
    store: &StateStore,
    events: &Events,
) -> Result<usize, Error> {
    let pending = store.read(|s| s.pending.clone());
    let mut resolved = 0;
    for op in pending {
        let Some(provider) = registry.resource(&op.provider, &op.type_name) else {
            return Err(Error::NoProvider {
                address: op.address.clone(),
                provider: op.provider.to_string(),
                type_name: op.type_name.clone(),
            });
        };
        let outcome = match op.kind {
            OperationKind::Create | OperationKind::CreateReplacement => {
                recover_create(registry, stack, store, provider.as_ref(), &op).await?
            }
            OperationKind::Update => recover_update(stack, store, provider.as_ref(), &op).await?,
            OperationKind::Delete | OperationKind::DeleteReplaced => {
                recover_delete(store, provider.as_ref(), &op).await?
            }
        };
        if let Some(outcome) = outcome {
            resolved += 1;
            events.emit(Event::Recovered { address: op.address.clone(), outcome });
        }
    }
    Ok(resolved)
}

async fn retry<T, F, Fut>(address: &Address, f: F) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let mut delay = std::time::Duration::from_millis(200);
    for _ in 0..8 {
        match f().await {
            Err(e) if e.kind.is_retryable() => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
            }
            other => {
                return other.map_err(|error| Error::Provider {
                    address: address.clone(),
                    kind: infra_core::plan::StepKind::Update,
                    error,
                });
            }
        }
    }
    f().await.map_err(|error| Error::Provider {
        address: address.clone(),
        kind: infra_core::plan::StepKind::Update,
        error,
    })
}

/// The inputs the cloud reports, with the type's secret fields sealed, and
/// the secrets nested in other fields where the declaration (or, without
/// one, the recorded inputs: `recorded`) holds them.
fn observed_inputs(
    stack: &Stack,
    address: &Address,
    state_key: &[u8],
    inputs: &Fields,
    recorded: Option<&Fields>,
) -> Fields {
    let none = Fields::new();
    let marked = match stack.resource(address) {
        Some(d) => d.schema.mark_secrets_like(inputs, &d.inputs),
        None => {
            let reference = recorded.unwrap_or(&none);
            inputs
                .iter()
                .filter(|(_, v)| **v != Value::Unknown)
                .map(|(k, v)| {
                    (k.clone(), reference.get(k).map_or_else(|| v.clone(), |r| v.mark_secrets_like(r)))
                })
                .collect()
        }
    };
    marked.into_iter().map(|(k, v)| (k, v.seal(state_key))).collect()
}

fn adopted(
    stack: &Stack,
    registry: &Registry,
    op: &PendingOperation,
    observed: &Observed,
    key: &[u8],
) -> ResourceState {
    let decl = stack.resource(&op.address);
    ResourceState {
        type_name: op.type_name.clone(),
        provider: op.provider.clone(),
        region: region(registry, &op.provider),
        id: observed.id.clone(),
        inputs: observed_inputs(stack, &op.address, key, &observed.inputs, None),
        outputs: observed.outputs.clone(),
        dependencies: decl.map(|d| d.dependencies()).unwrap_or_default(),
        protect: decl.is_some_and(|d| d.options.protect),
        retain_on_delete: decl.is_some_and(|d| d.options.retain_on_delete),
        keeps_data: decl.and_then(|d| d.schema.keeps_data).map(Into::into),
        // An adopted object may still be coming up: wait for it.
        waiting: decl.is_some_and(|d| d.schema.readiness == infra_core::Readiness::OnAvailable),
    }
}

fn region(registry: &Registry, key: &ProviderKey) -> String {
    registry.instance(key).map(|i| i.config.region.clone()).unwrap_or_default()
}

async fn recover_create(
    registry: &Registry,
    stack: &Stack,
    store: &StateStore,
    provider: &dyn ResourceProvider,
    op: &PendingOperation,
) -> Result<Option<String>, Error> {
    let mut tags = BTreeMap::new();
    tags.insert(TAG_STACK.to_owned(), stack.name().to_owned());
    tags.insert(TAG_ADDRESS.to_owned(), op.address.to_string());
    tags.insert(TAG_TOKEN.to_owned(), op.id.clone());
    // The declaration's inputs, resolved as far as the state allows, so
    // that types without tags are found by their natural key.
    let inputs = stack
        .resource(&op.address)
        .and_then(|d| store.read(|s| s.resolve_inputs(d)).ok())
        .unwrap_or_default();
    let req = FindRequest { address: op.address.clone(), token: op.id.clone(), tags, inputs };
    let found = retry(&op.address, || provider.find(req.clone())).await?;
    match found {
        Some(observed) => {
            let key = store.read(State::secret_key_bytes);
            let resource = adopted(stack, registry, op, &observed, &key);
            let id = op.id.clone();
            let address = op.address.clone();
            let replacement = op.kind == OperationKind::CreateReplacement;
            store
                .commit(|s| {
                    s.pending.retain(|p| p.id != id);
                    if replacement
                        && let Some(old) = s.resources.remove(&address)
                        && old.id != resource.id
                    {
                        s.deposed.push(Deposed { address: address.clone(), object: old });
                    }
                    s.resources.insert(address, resource);
                })
                .await?;
            Ok(Some(format!("adopted {} created by an interrupted run", observed.id)))
        }
        None if stack.resource(&op.address).is_none() => {
            let id = op.id.clone();
            store.commit(|s| s.pending.retain(|p| p.id != id)).await?;
            Ok(Some("an interrupted create made nothing; the resource is no longer declared".into()))
        }
        // Keep the intent: the planned create reuses its token.
        None => Ok(None),
    }
}

async fn recover_update(
    stack: &Stack,
    store: &StateStore,
    provider: &dyn ResourceProvider,
    op: &PendingOperation,
) -> Result<Option<String>, Error> {
    let Some(id) = op.physical_id.clone() else {
        let pid = op.id.clone();
        store.commit(|s| s.pending.retain(|p| p.id != pid)).await?;
        return Ok(Some("dropped an update intent without an ID".into()));
    };
    let req = ReadRequest::new(vec![id.clone()]);
    let read = retry(&op.address, || provider.read(req.clone())).await?;
    let key = store.read(State::secret_key_bytes);
    let pid = op.id.clone();
    let address = op.address.clone();
    let observed = read.found.get(&id).cloned();
    let outcome = if observed.is_some() {
        "read back the outcome of an interrupted update"
    } else {
        "the resource of an interrupted update is gone"
    };
    let recorded = store.read(|s| s.resources.get(&address).map(|r| r.inputs.clone()));
    let inputs =
        observed.as_ref().map(|o| observed_inputs(stack, &address, &key, &o.inputs, recorded.as_ref()));
    store
        .commit(|s| {
            s.pending.retain(|p| p.id != pid);
            match (observed, inputs) {
                (Some(o), Some(inputs)) => {
                    if let Some(r) = s.resources.get_mut(&address) {
                        r.inputs = inputs;
                        r.outputs.extend(o.outputs);
                    }
                }
                _ => {
                    s.resources.remove(&address);
                }
            }
        })
        .await?;
    Ok(Some(outcome.into()))
}

async fn recover_delete(
    store: &StateStore,
    provider: &dyn ResourceProvider,
    op: &PendingOperation,
) -> Result<Option<String>, Error> {
    let pid = op.id.clone();
    let Some(id) = op.physical_id.clone() else {
        store.commit(|s| s.pending.retain(|p| p.id != pid)).await?;
        return Ok(Some("dropped a delete intent without an ID".into()));
    };
    let req = ReadRequest::new(vec![id.clone()]);
    let gone = match retry(&op.address, || provider.read(req.clone())).await {
        Ok(r) => !r.found.contains_key(&id),
        Err(Error::Provider { error, .. }) if error.kind == ErrorKind::NotFound => true,
        Err(e) => return Err(e),
    };
    let address = op.address.clone();
    store
        .commit(|s| {
            s.pending.retain(|p| p.id != pid);
            if gone {
                if s.resources.get(&address).is_some_and(|r| r.id == id) {
                    s.resources.remove(&address);
                }
                s.deposed.retain(|d| !(d.address == address && d.object.id == id));
            }
        })
        .await?;
    Ok(Some(
        if gone {
            "an interrupted delete completed"
        } else {
            "an interrupted delete did not happen; planned again"
        }
        .into(),
    ))
}
