//! Random dependency graphs of fake resources, for property tests.

use std::collections::BTreeMap;

use infra_core::{Input, Output, ProviderConfig, Stack};
use proptest::prelude::*;

use crate::{Node, NodeId, UniqueNode};

/// One node of a random graph.
#[derive(Debug, Clone)]
pub struct Spec {
    pub unique: bool,
    pub zone: u8,
    pub size: u8,
    pub present: bool,
    pub deps: Vec<usize>,
}

/// The address of node `i`.
pub fn name(i: usize) -> String {
    format!("n{i:03}")
}

/// The stack of the present nodes, on provider `aws.us-east-1`.
pub fn build(specs: &[Spec]) -> Stack {
    let mut s = Stack::new("prop");
    s.provider(ProviderConfig::aws("us-east-1"));
    let mut ids: BTreeMap<usize, Output<NodeId>> = BTreeMap::new();
    for (i, spec) in specs.iter().enumerate() {
        if !spec.present {
            continue;
        }
        let deps: Vec<Input<NodeId>> =
            spec.deps.iter().filter_map(|d| ids.get(d)).map(|o| o.clone().into()).collect();
        let id = if spec.unique {
            s.add(&name(i), UniqueNode { name: format!("u{}", spec.zone), deps }).id()
        } else {
            s.add(
                &name(i),
                Node {
                    zone: format!("z{}", spec.zone),
                    size: i64::from(spec.size),
                    deps,
                    ..Default::default()
                },
            )
            .id()
        };
        ids.insert(i, id);
    }
    s
}

/// A random DAG: node `i` may depend on any `j < i`.
pub fn dag() -> impl Strategy<Value = Vec<Spec>> {
    (1usize..28).prop_flat_map(|n| {
        prop::collection::vec(
            (any::<bool>(), 0u8..2, 0u8..3, prop::collection::vec(any::<prop::sample::Index>(), 0..4)),
            n,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (unique, zone, size, picks))| {
                    let mut deps: Vec<usize> =
                        if i == 0 { Vec::new() } else { picks.iter().map(|p| p.index(i)).collect() };
                    deps.sort_unstable();
                    deps.dedup();
                    Spec { unique, zone, size, present: true, deps }
                })
                .collect()
        })
    })
}

/// A random edit of every node: keep, update, replace or remove.
pub fn edits(n: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..5, n)
}

pub fn apply_edits(specs: &[Spec], edits: &[u8]) -> Vec<Spec> {
    specs
        .iter()
        .zip(edits)
        .map(|(s, e)| {
            let mut s = s.clone();
            match e {
                1 => s.size = s.size.wrapping_add(1),
                2 => s.zone = 1 - s.zone,
                3 => s.present = false,
                _ => {}
            }
            s
        })
        .collect()
}
