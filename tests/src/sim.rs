//! Checks against the simulated cloud.

use std::collections::{BTreeMap, BTreeSet};

use infra_core::plan::{PlanOptions, plan};
use infra_core::{Address, Stack, State};
use infra_sim::SimCloud;

/// The state holds exactly what exists in the cloud: every cloud resource
/// is in the state (or deposed), every state resource is in the cloud with
/// its address tag, each address exists once (plus its deposed objects),
/// and no operation is left pending.
pub fn assert_state_matches_cloud(state: &State, cloud: &SimCloud) {
    let in_cloud: BTreeMap<String, Option<Address>> =
        cloud.resources().into_iter().map(|r| (r.id, r.address)).collect();
    let mut in_state: BTreeMap<String, Address> =
        state.resources.iter().map(|(a, r)| (r.id.clone(), a.clone())).collect();
    for d in &state.deposed {
        in_state.insert(d.object.id.clone(), d.address.clone());
    }
    assert_eq!(
        in_cloud.keys().collect::<BTreeSet<_>>(),
        in_state.keys().collect::<BTreeSet<_>>(),
        "cloud and state disagree"
    );
    for (id, a) in &in_state {
        assert_eq!(in_cloud[id].as_ref(), Some(a), "{id} is tagged with another address");
    }
    // Each address once, plus the deposed old objects of unfinished
    // create-before-destroy replacements.
    for (address, n) in cloud.count_by_address() {
        let deposed = state.deposed.iter().filter(|d| d.address == address).count();
        assert_eq!(n, 1 + deposed, "{address} exists {n} times");
    }
    assert!(state.pending.is_empty(), "pending operations left: {:?}", state.pending);
}

/// The apply converged: the state matches the cloud
/// ([`assert_state_matches_cloud`]), the cloud holds exactly the declared
/// resources, and a plan is empty. `context` prefixes failures.
pub fn assert_converged(stack: &Stack, state: &State, cloud: &SimCloud, context: &str) {
    assert_state_matches_cloud(state, cloud);
    let mut declared: Vec<String> = stack.resources().iter().map(|r| r.address.to_string()).collect();
    let mut in_cloud: Vec<String> =
        cloud.resources().iter().filter_map(|r| r.address.as_ref().map(ToString::to_string)).collect();
    declared.sort();
    in_cloud.sort();
    assert_eq!(in_cloud, declared, "{context}: the cloud holds exactly the declared resources");
    let p = plan(stack, state, &PlanOptions::default()).unwrap_or_else(|e| panic!("{context}: plan: {e}"));
    assert!(
        p.is_empty(),
        "{context}: plan after convergence is not empty:\n{}",
        infra_core::plan::render::render(&p, Default::default())
    );
}
