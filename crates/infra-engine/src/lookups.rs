//! Lookups (Terraform's data sources), read before a plan.
//!
//! Every declared lookup whose query is known from the state (its
//! references resolve to recorded outputs, or to lookups read just before
//! it) is read now, so the plan knows what it finds and its dependents
//! plan with it: a newer AMI shows as an update of the launch template
//! that uses it. A query that waits on something not yet made is left to
//! the apply (the planner shows it as a read during apply). Nothing is
//! written: the reads go to the planner (`PlanOptions::reads`), and apply
//! records them through its read steps.

use std::collections::BTreeMap;

use infra_core::plan::LookupRead;
use infra_core::{Address, Fields, Stack, State};

use crate::error::Error;
use crate::provider::{LookupRequest, Registry};

/// Reads every lookup of `stack` whose query is known from `state`, in
/// declaration order (a lookup may use an earlier one's outputs). A query
/// that finds nothing, or more than one object for a single-result lookup,
/// fails the plan, naming the address and the query.
pub async fn read_lookups(
    registry: &Registry,
    stack: &Stack,
    state: &State,
) -> Result<BTreeMap<Address, LookupRead>, Error> {
    let mut reads = BTreeMap::new();
    if !stack.resources().iter().any(|d| d.schema.lookup) {
        return Ok(reads);
    }
    let key = state.secret_key_bytes();
    // The state, with each lookup's fresh result, for the next one's query.
    let mut scratch = state.clone();
    for decl in stack.resources().iter().filter(|d| d.schema.lookup) {
        let Ok(inputs) = scratch.resolve_inputs(decl) else { continue };
        if inputs.values().any(infra_core::Value::has_unknown) {
            continue;
        }
        let provider_key = decl.provider.clone().unwrap_or_else(|| infra_core::ProviderKey(String::new()));
        let Some(p) = registry.resource(&provider_key, decl.schema.type_name) else {
            return Err(Error::NoProvider {
                address: decl.address.clone(),
                provider: provider_key.to_string(),
                type_name: decl.schema.type_name.to_owned(),
            });
        };
        let req = LookupRequest { address: decl.address.clone(), inputs: inputs.clone() };
        let mut delay = std::time::Duration::from_millis(250);
        let mut attempt = 0;
        let observed = loop {
            match p.lookup(req.clone()).await {
                Ok(o) => break o,
                Err(e) if e.kind.is_retryable() && attempt < 8 => {
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(10));
                }
                Err(error) => return Err(Error::Lookup { address: decl.address.clone(), error }),
            }
        };
        let region = registry.instance(&provider_key).map(|i| i.config.region.clone()).unwrap_or_default();
        scratch.record(decl, &region, observed.id.clone(), &inputs, observed.outputs.clone());
        let sealed: Fields = inputs.iter().map(|(k, v)| (k.clone(), v.seal(&key))).collect();
        reads.insert(
            decl.address.clone(),
            LookupRead { inputs: sealed, id: observed.id, outputs: observed.outputs },
        );
    }
    Ok(reads)
}
