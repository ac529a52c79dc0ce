//! Refresh: update the recorded state from the cloud, one batched read per
//! (provider instance, resource type), so a plan's API calls grow with the
//! number of types, not the number of resources.
//!
//! What the cloud reports replaces what was recorded, field by field:
//! a change made outside infra becomes a difference the next plan shows as
//! an update, and a resource deleted outside disappears from the state, so
//! the plan creates it again. Fields a provider cannot read (write-only ones
//! such as passwords, reported as absent, or ones the cloud's answer leaves
//! out, reported as `Value::Unknown`) keep their recorded value.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use infra_core::{Address, ProviderKey, Stack, State, Value};

use crate::error::Error;
use crate::provider::{ReadRequest, ReadResponse, Registry};
use crate::store::StateStore;

/// What a refresh found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refreshed {
    /// Resources whose inputs or outputs changed outside infra.
    pub drifted: Vec<Address>,
    /// Resources deleted outside infra (removed from the state).
    pub gone: Vec<Address>,
    /// Batched read calls made (one per type and provider instance).
    pub reads: usize,
}

/// Reads everything the state holds and records what the cloud reports.
pub async fn refresh(registry: &Registry, stack: &Stack, store: &StateStore) -> Result<Refreshed, Error> {
    let state = store.snapshot();
    let mut groups: BTreeMap<(ProviderKey, String), Vec<(Address, String)>> = BTreeMap::new();
    for (address, r) in &state.resources {
        groups
            .entry((r.provider.clone(), r.type_name.clone()))
            .or_default()
            .push((address.clone(), r.id.clone()));
    }
    let mut reads = FuturesUnordered::new();
    for ((provider, type_name), members) in &groups {
        let Some((address, _)) = members.first().cloned() else { continue };
        let Some(p) = registry.resource(provider, type_name) else {
            return Err(Error::NoProvider {
                address,
                provider: provider.to_string(),
                type_name: type_name.clone(),
            });
        };
        let ids: Vec<String> = members.iter().map(|(_, id)| id.clone()).collect();
        reads.push(async move {
            let mut delay = std::time::Duration::from_millis(250);
            let mut attempt = 0;
            loop {
                match p.read(ReadRequest::of_stack(ids.clone(), stack.name())).await {
                    Ok(r) => {
                        return Ok::<(Vec<(Address, String)>, ReadResponse), Error>((members.clone(), r));
                    }
                    Err(e) if e.kind.is_retryable() && attempt < 8 => {
                        attempt += 1;
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(std::time::Duration::from_secs(10));
                    }
                    Err(error) => {
                        return Err(Error::Read { address: address.clone(), error });
                    }
                }
            }
        });
    }
    let mut results = Vec::new();
    while let Some(r) = reads.next().await {
        results.push(r?);
    }
    let mut report = Refreshed { reads: results.len(), ..Refreshed::default() };
    let key = state.secret_key_bytes();
    let mut next: State = state.clone();
    for (members, response) in results {
        for (address, id) in members {
            match response.found.get(&id) {
                None => {
                    next.resources.remove(&address);
                    report.gone.push(address);
                }
                Some(observed) => {
                    let Some(r) = next.resources.get_mut(&address) else { continue };
                    let schema = stack.resource(&address).map(|d| d.schema);
                    let mut inputs = r.inputs.clone();
                    // Fields the provider manages: what it reports, or
                    // unset when it reports nothing for a field it knows.
                    for (k, v) in &observed.inputs {
                        if *v == Value::Unknown {
                            // The provider cannot read this field: keep
                            // what was recorded.
                            continue;
                        }
                        // Secret by the declared schema, or (for a state-only
                        // refresh, with no program) because it was recorded
                        // as one; and wherever the recorded value holds a
                        // secret inside (a `Sensitive` value nested in a
                        // field), which the provider reports in plaintext.
                        let v = if schema.is_some_and(|s| s.is_secret(k)) {
                            Value::Secret(Box::new(v.clone())).seal(&key)
                        } else {
                            match r.inputs.get(k) {
                                Some(recorded) => v.mark_secrets_like(recorded).seal(&key),
                                None => v.clone(),
                            }
                        };
                        if v == Value::Unknown {
                            // Not readable in full where a secret is: keep
                            // what was recorded.
                            continue;
                        }
                        inputs.insert(k.clone(), v);
                    }
                    for k in r.inputs.keys() {
                        let reported_schema_field =
                            schema.is_some_and(|s| s.field(k).is_some_and(|f| !f.secret));
                        if !observed.inputs.contains_key(k)
                            && reported_schema_field
                            && provider_reports_all(&observed.inputs)
                        {
                            inputs.remove(k);
                        }
                    }
                    let mut outputs = r.outputs.clone();
                    outputs.extend(observed.outputs.clone());
                    if inputs != r.inputs || outputs != r.outputs {
                        r.inputs = inputs;
                        r.outputs = outputs;
                        report.drifted.push(address);
                    }
                }
            }
        }
    }
    if next != state {
        store
            .commit(|s| {
                s.resources = next.resources;
            })
            .await?;
    }
    Ok(report)
}

/// Providers report every field they manage, leaving out unset ones (as the
/// input structs serialize), so a field absent from a non-empty report was
/// unset outside infra.
fn provider_reports_all(observed: &infra_core::Fields) -> bool {
    !observed.is_empty()
}
