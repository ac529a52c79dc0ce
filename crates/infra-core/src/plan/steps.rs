//! The step generator: turns a [`Plan`] into ordered operations with
//! explicit dependencies. The executor walks these; it makes no ordering
//! decisions of its own.
//!
//! Ordering rules (A = create/update half, D = delete half of a change):
//! 1. A(r) runs after A(d) for every `d` that `r` depends on in the stack.
//! 2. D(r) runs after D(x) for every `x` that depended on `r` in the state,
//!    and after A(x) too unless `r` is replaced delete-before-create (so
//!    dependents move to the new resource before the old one goes).
//! 3. Create-before-destroy: D(r) after A(r). Delete-before-create: A(r)
//!    after D(r).
//!
//! The "after A(x)" edges of rule 2 are soft: one that would close a cycle
//! (the dependent's update itself waits, through a delete-before-create
//! replacement, for the delete) is dropped, and the dependent is updated
//! after the delete instead. All other edges are hard.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::error::Error;
use crate::options::ReplaceOrder;

use super::{Action, Plan};

/// One operation against a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Create,
    Update,
    Delete,
    /// Remove from state only.
    Forget,
    /// The create half of a replacement.
    CreateReplacement,
    /// The delete half of a replacement (a forget when retained).
    DeleteReplaced,
    /// Read a lookup and record what it found (no change in the cloud).
    Read,
}

impl StepKind {
    /// True for the halves that create or change a resource.
    pub fn is_apply(self) -> bool {
        matches!(self, StepKind::Create | StepKind::Update | StepKind::CreateReplacement | StepKind::Read)
    }
}

/// One step, with the indices (into the same list) of the steps that must
/// finish before it starts. Every dependency index is smaller than the
/// step's own index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub address: Address,
    pub kind: StepKind,
    /// For delete halves: only forget the resource, do not delete it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain: bool,
    /// For the delete of a deposed object: its cloud ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    pub depends_on: Vec<usize>,
}

/// Generates the steps of `plan` in a dependency-respecting order.
pub fn steps(plan: &Plan) -> Result<Vec<Step>, Error> {
    // Raw steps in plan order; A and D halves per change.
    let mut raw: Vec<(Address, StepKind, bool)> = Vec::new();
    let mut deposed_of: BTreeMap<usize, String> = BTreeMap::new();
    let mut apply_of: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut delete_of: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut dbc: BTreeSet<&Address> = BTreeSet::new();
    for c in plan.changes.iter().filter(|c| c.deposed.is_none()) {
        let a = &c.address;
        match &c.action {
            Action::NoOp => {}
            Action::Create | Action::Update => {
                let kind = if c.action == Action::Create { StepKind::Create } else { StepKind::Update };
                apply_of.insert(a, raw.len());
                raw.push((a.clone(), kind, false));
            }
            Action::Replace { order, .. } => {
                let create = (a.clone(), StepKind::CreateReplacement, false);
                let delete = (a.clone(), StepKind::DeleteReplaced, c.retain_on_delete);
                if *order == ReplaceOrder::DeleteBeforeCreate {
                    dbc.insert(a);
                    delete_of.insert(a, raw.len());
                    raw.push(delete);
                    apply_of.insert(a, raw.len());
                    raw.push(create);
                } else {
                    apply_of.insert(a, raw.len());
                    raw.push(create);
                    delete_of.insert(a, raw.len());
                    raw.push(delete);
                }
            }
            Action::Delete => {
                delete_of.insert(a, raw.len());
                raw.push((a.clone(), StepKind::Delete, false));
            }
            Action::Forget => {
                delete_of.insert(a, raw.len());
                raw.push((a.clone(), StepKind::Forget, true));
            }
            Action::Read { .. } => {
                apply_of.insert(a, raw.len());
                raw.push((a.clone(), StepKind::Read, false));
            }
        }
    }

    // Deletes of deposed objects: after the new object exists and after the
    // dependents moved to it (soft, like any move-away edge).
    let mut deposed_steps: Vec<(usize, &Address)> = Vec::new();
    for c in plan.changes.iter().filter(|c| c.deposed.is_some()) {
        let i = raw.len();
        let kind = if c.retain_on_delete { StepKind::Forget } else { StepKind::Delete };
        raw.push((c.address.clone(), kind, c.retain_on_delete));
        if let Some(id) = &c.deposed {
            deposed_of.insert(i, id.clone());
        }
        deposed_steps.push((i, &c.address));
    }

    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); raw.len()];
    // "Wait for a dependent to move away before deleting" edges: kept only
    // where they do not close a cycle (see `add_soft_edges`).
    let mut soft: Vec<(usize, usize)> = Vec::new();
    // Prior dependents of each address.
    let mut prior_dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for c in plan.changes.iter().filter(|c| c.deposed.is_none()) {
        for d in &c.prior_depends_on {
            prior_dependents.entry(d).or_default().push(&c.address);
        }
    }
    for &(i, a) in &deposed_steps {
        if let Some(&ai) = apply_of.get(a) {
            deps[i].insert(ai);
        }
        for c in plan.changes.iter().filter(|c| c.depends_on.contains(a) || c.prior_depends_on.contains(a)) {
            if let Some(&xa) = apply_of.get(&c.address) {
                soft.push((i, xa));
            }
        }
    }
    // What a deposed object used is deleted after it.
    for (&(i, _), c) in deposed_steps.iter().zip(plan.changes.iter().filter(|c| c.deposed.is_some())) {
        for d in &c.prior_depends_on {
            if let Some(&dd) = delete_of.get(d) {
                deps[dd].insert(i);
            }
        }
    }
    for c in plan.changes.iter().filter(|c| c.deposed.is_none()) {
        let a = &c.address;
        if let Some(&ai) = apply_of.get(a) {
            for d in &c.depends_on {
                if let Some(&di) = apply_of.get(d) {
                    deps[ai].insert(di);
                }
            }
        }
        if let Some(&di) = delete_of.get(a) {
            for x in prior_dependents.get(a).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(&xd) = delete_of.get(x) {
                    deps[di].insert(xd);
                }
                if !dbc.contains(a)
                    && let Some(&xa) = apply_of.get(x)
                {
                    soft.push((di, xa));
                }
            }
        }
        if let (Some(&ai), Some(&di)) = (apply_of.get(a), delete_of.get(a)) {
            if dbc.contains(a) {
                deps[ai].insert(di);
            } else {
                deps[di].insert(ai);
            }
        }
    }

    add_soft_edges(&mut deps, &soft);

    // Kahn's algorithm, lowest plan position first, so the order is stable.
    let n = raw.len();
    let mut remaining: Vec<usize> = deps.iter().map(BTreeSet::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            remaining[j] -= 1;
            if remaining[j] == 0 {
                ready.insert(j);
            }
        }
    }
    if order.len() < n {
        return Err(Error::StepCycle { addresses: cycle_members(&raw, &deps, &order) });
    }
    let position: BTreeMap<usize, usize> = order.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    Ok(order
        .iter()
        .map(|&i| {
            let (address, kind, retain) = raw[i].clone();
            Step {
                address,
                kind,
                retain,
                deposed: deposed_of.get(&i).cloned(),
                depends_on: deps[i].iter().filter_map(|d| position.get(d).copied()).collect(),
            }
        })
        .collect())
}

/// Adds each soft edge `(from, to)` ("`from` waits for `to`") unless `to`
/// already waits, directly or transitively, for `from`.
fn add_soft_edges(deps: &mut [BTreeSet<usize>], soft: &[(usize, usize)]) {
    for &(from, to) in soft {
        if from == to || deps[from].contains(&to) {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![to];
        let mut reaches = false;
        while let Some(n) = stack.pop() {
            if n == from {
                reaches = true;
                break;
            }
            if seen.insert(n) {
                stack.extend(deps[n].iter().copied());
            }
        }
        if !reaches {
            deps[from].insert(to);
        }
    }
}

/// The addresses of the steps that lie on a dependency cycle (members of a
/// strongly connected component larger than one step, or with a self edge),
/// among the steps that could not be placed.
fn cycle_members(
    raw: &[(Address, StepKind, bool)],
    deps: &[BTreeSet<usize>],
    placed: &[usize],
) -> Vec<Address> {
    use petgraph::graph::DiGraph;
    let placed: BTreeSet<usize> = placed.iter().copied().collect();
    let mut g = DiGraph::<usize, ()>::new();
    let mut node = BTreeMap::new();
    for i in (0..raw.len()).filter(|i| !placed.contains(i)) {
        node.insert(i, g.add_node(i));
    }
    for (&i, &ni) in &node {
        for d in &deps[i] {
            if let Some(&nd) = node.get(d) {
                g.add_edge(ni, nd, ());
            }
        }
    }
    let mut out: Vec<Address> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .filter(|scc| scc.len() > 1 || scc.first().is_some_and(|&n| g.find_edge(n, n).is_some()))
        .flatten()
        .map(|n| raw[g[n]].0.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}
