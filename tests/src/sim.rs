//! Checks against the simulated cloud.

use std::collections::{BTreeMap, BTreeSet};

use infra_core::{Address, State};
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
