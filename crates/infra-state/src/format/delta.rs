//! Deltas: the change from one state to the next, for backends that
//! journal writes instead of storing the whole state each time (S3: an
//! apply of 3,000 resources writes what changed, not 3,000 resources per
//! write).
//!
//! A delta names the resources set (added or changed) and removed, and
//! carries the stack outputs, the pending operations and the deposed
//! objects whole when they changed (they are small). Lineage and secret key
//! never change between two states a delta joins: [`Delta::between`] gives
//! `None` for such states, and the backend stores the whole state instead.

use std::collections::BTreeMap;

use infra_core::{Address, Deposed, State, Value};
use serde::{Deserialize, Serialize};

use super::v2::{DeposedV2, PendingV2, ResourceV2, StateFileV2};
use crate::Error;

/// The change between two states of one lineage, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    /// The state format its records use ([`StateFileV2::VERSION`]).
    pub delta_format: u32,
    /// The serial of the state it leads to.
    pub serial: u64,
    /// Resources added or changed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<Address, ResourceV2>,
    /// Resources removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Address>,
    /// The stack outputs, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<BTreeMap<String, Value>>,
    /// The pending operations, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Vec<PendingV2>>,
    /// The deposed objects, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<Vec<DeposedV2>>,
}

impl Delta {
    /// What turns `from` into `to`; `None` when they are of different
    /// lineages or secret keys (store `to` whole).
    pub fn between(from: &State, to: &State) -> Option<Delta> {
        if from.lineage != to.lineage || from.secret_key != to.secret_key {
            return None;
        }
        let set = to
            .resources
            .iter()
            .filter(|(a, r)| from.resources.get(*a) != Some(*r))
            .map(|(a, r)| (a.clone(), ResourceV2::from_state(r)))
            .collect();
        let removed = from.resources.keys().filter(|a| !to.resources.contains_key(*a)).cloned().collect();
        Some(Delta {
            delta_format: StateFileV2::VERSION,
            serial: to.serial,
            set,
            removed,
            outputs: (from.outputs != to.outputs).then(|| to.outputs.clone()),
            pending: (from.pending != to.pending)
                .then(|| to.pending.iter().map(PendingV2::from_state).collect()),
            deposed: (from.deposed != to.deposed).then(|| {
                to.deposed
                    .iter()
                    .map(|d| DeposedV2 {
                        address: d.address.clone(),
                        object: ResourceV2::from_state(&d.object),
                    })
                    .collect()
            }),
        })
    }

    /// Compact JSON; a plaintext secret in what it sets is refused like
    /// [`super::encode`] refuses it.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut probe = State::new(String::new(), String::new());
        probe.resources = self.set.iter().map(|(a, r)| (a.clone(), r.clone().into_state())).collect();
        probe.outputs = self.outputs.clone().unwrap_or_default();
        if let Some(location) = super::find_plaintext_secret(&probe) {
            return Err(Error::PlaintextSecret { location });
        }
        serde_json::to_vec(self).map_err(|e| Error::Encode { reason: e.to_string() })
    }

    /// Decodes a stored delta, naming it `location` in errors.
    pub fn decode_from(bytes: &[u8], location: &str) -> Result<Delta, Error> {
        let delta: Delta = serde_json::from_slice(bytes)
            .map_err(|e| Error::Corrupt { location: location.to_owned(), reason: e.to_string() })?;
        if delta.delta_format != StateFileV2::VERSION {
            return Err(Error::Corrupt {
                location: location.to_owned(),
                reason: format!(
                    "a journal entry in format {} (this build reads {})",
                    delta.delta_format,
                    StateFileV2::VERSION
                ),
            });
        }
        Ok(delta)
    }

    /// Applies it to `state`.
    pub fn apply(self, state: &mut State) {
        state.serial = self.serial;
        for a in &self.removed {
            state.resources.remove(a);
        }
        for (a, r) in self.set {
            state.resources.insert(a, r.into_state());
        }
        if let Some(outputs) = self.outputs {
            state.outputs = outputs;
        }
        if let Some(pending) = self.pending {
            state.pending = pending.into_iter().map(PendingV2::into_state).collect();
        }
        if let Some(deposed) = self.deposed {
            state.deposed = deposed
                .into_iter()
                .map(|d| Deposed { address: d.address, object: d.object.into_state() })
                .collect();
        }
    }
}

/// The digest of a journaled version: SHA-256 (hex) of the previous
/// version's digest followed by the entry's stored bytes. Two versions
/// with different histories differ here, as two stored files do.
pub fn chain_digest(previous: &str, entry: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(entry);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::conformance::sample_state;
    use crate::new_state;

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    /// Stored and read back, a delta turns the earlier state into exactly
    /// the later one: resources added, changed and removed, outputs and
    /// pending operations replaced, the serial moved.
    #[test]
    fn a_stored_delta_turns_one_state_into_the_next() {
        let from = sample_state(&new_state().unwrap(), 3, "a");
        let mut to = from.clone();
        to.serial = 4;
        to.resources.remove(&addr("net.subnet-a"));
        let mut extra = to.resources[&addr("net.vpc")].clone();
        extra.id = "vpc-0123".into();
        to.resources.insert(addr("net.other"), extra);
        to.resources.get_mut(&addr("net.vpc")).unwrap().outputs.insert("x".into(), Value::from(1));
        to.outputs.insert("more".into(), Value::from("yes"));
        let delta = Delta::between(&from, &to).unwrap();
        assert_eq!(delta.set.len(), 2, "only the added and the changed resource");
        assert_eq!(delta.removed, vec![addr("net.subnet-a")]);
        let bytes = delta.encode().unwrap();
        let mut state = from.clone();
        Delta::decode_from(&bytes, "test").unwrap().apply(&mut state);
        assert_eq!(state, to);
    }

    #[test]
    fn states_of_two_lineages_are_not_joined_by_a_delta() {
        let from = sample_state(&new_state().unwrap(), 1, "a");
        let to = sample_state(&new_state().unwrap(), 2, "a");
        assert!(Delta::between(&from, &to).is_none());
    }

    #[test]
    fn a_plaintext_secret_is_refused_as_in_a_whole_state() {
        let from = sample_state(&new_state().unwrap(), 1, "a");
        let mut to = from.clone();
        to.resources
            .get_mut(&addr("net.vpc"))
            .unwrap()
            .inputs
            .insert("password".into(), Value::Secret(Box::new(Value::from("hunter2"))));
        let refused = Delta::between(&from, &to).unwrap().encode();
        assert!(matches!(refused, Err(Error::PlaintextSecret { .. })), "{refused:?}");
    }

    #[test]
    fn an_entry_of_another_format_is_refused() {
        let bytes = br#"{"delta_format":3,"serial":1}"#;
        assert!(matches!(Delta::decode_from(bytes, "x"), Err(Error::Corrupt { .. })));
    }
}
