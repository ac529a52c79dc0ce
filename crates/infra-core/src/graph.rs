//! The dependency graph of a stack. Wraps petgraph; no petgraph type appears
//! in a public signature.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};

use crate::address::Address;
use crate::diagnostics::Diagnostic;

/// A problem found while building the graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GraphError {
    /// The addresses on one dependency cycle, each once, in cycle order.
    Cycle { addresses: Vec<Address> },
    /// `from` depends on `to`, which is not declared.
    Dangling { from: Address, to: Address },
    /// Two resources were declared at the same address.
    Duplicate { address: Address },
}

impl GraphError {
    /// The problem as a diagnostic naming the addresses.
    pub fn into_diagnostic(self) -> Diagnostic {
        match self {
            GraphError::Cycle { addresses } => {
                let mut names: Vec<&str> = addresses.iter().map(Address::as_str).collect();
                if let Some(first) = names.first().copied() {
                    names.push(first);
                }
                Diagnostic::stack(format!("dependency cycle: {}", names.join(" -> ")))
            }
            GraphError::Dangling { from, to } => {
                Diagnostic::resource(from, format!("depends on {to}, which is not declared in the stack"))
            }
            GraphError::Duplicate { address } => Diagnostic::resource(address, "is declared more than once"),
        }
    }
}

/// A dependency graph over addresses. Edges point from a resource to the
/// resources it depends on.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    graph: StableDiGraph<Address, ()>,
    index: BTreeMap<Address, NodeIndex>,
}

impl Graph {
    /// Builds a graph from `(address, dependencies)` pairs and reports every
    /// problem at once: each cycle (naming all its addresses), each dangling
    /// reference and each duplicate address.
    pub fn build<I>(nodes: I) -> Result<Graph, Vec<GraphError>>
    where
        I: IntoIterator<Item = (Address, BTreeSet<Address>)>,
    {
        let mut g = Graph::default();
        let mut errors = Vec::new();
        let mut edges = Vec::new();
        for (address, deps) in nodes {
            if g.index.contains_key(&address) {
                errors.push(GraphError::Duplicate { address: address.clone() });
                continue;
            }
            let idx = g.graph.add_node(address.clone());
            g.index.insert(address.clone(), idx);
            edges.push((address, deps));
        }
        for (from, deps) in edges {
            for to in deps {
                match (g.index.get(&from), g.index.get(&to)) {
                    (Some(&a), Some(&b)) => {
                        g.graph.add_edge(a, b, ());
                    }
                    _ => errors.push(GraphError::Dangling { from: from.clone(), to }),
                }
            }
        }
        for scc in tarjan_scc(&g.graph) {
            let is_cycle = scc.len() > 1 || scc.first().is_some_and(|&n| g.graph.find_edge(n, n).is_some());
            if is_cycle {
                errors.push(GraphError::Cycle { addresses: g.cycle_order(&scc) });
            }
        }
        if errors.is_empty() {
            Ok(g)
        } else {
            errors.sort();
            errors.dedup();
            Err(errors)
        }
    }

    /// Orders the members of a strongly connected component along a cycle
    /// that starts at the smallest address (every member is named).
    fn cycle_order(&self, scc: &[NodeIndex]) -> Vec<Address> {
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let mut sorted: Vec<&Address> = scc.iter().map(|&n| &self.graph[n]).collect();
        sorted.sort();
        let Some(start) = sorted.first().and_then(|a| self.index.get(*a).copied()) else {
            return Vec::new();
        };
        // Walk successors inside the component, preferring unvisited ones,
        // so the listed path covers every member of the cycle.
        let mut order = vec![start];
        let mut seen: BTreeSet<NodeIndex> = BTreeSet::from([start]);
        let mut current = start;
        while seen.len() < members.len() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(current, Direction::Outgoing)
                .filter(|n| members.contains(n) && !seen.contains(n))
                .collect();
            next.sort_by(|a, b| self.graph[*a].cmp(&self.graph[*b]));
            match next.first() {
                Some(&n) => {
                    seen.insert(n);
                    order.push(n);
                    current = n;
                }
                None => {
                    // Dead end inside the component: list the rest in order.
                    let mut rest: Vec<NodeIndex> =
                        members.iter().filter(|n| !seen.contains(n)).copied().collect();
                    rest.sort_by(|a, b| self.graph[*a].cmp(&self.graph[*b]));
                    order.extend(rest);
                    break;
                }
            }
        }
        order.into_iter().map(|n| self.graph[n].clone()).collect()
    }

    /// The number of resources.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// True when `address` is in the graph.
    pub fn contains(&self, address: &Address) -> bool {
        self.index.contains_key(address)
    }

    /// Every address, sorted.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        self.index.keys()
    }

    /// The direct dependencies of `address`, sorted.
    pub fn dependencies(&self, address: &Address) -> Vec<&Address> {
        self.neighbors(address, Direction::Outgoing)
    }

    /// The direct dependents of `address` (resources that depend on it), sorted.
    pub fn dependents(&self, address: &Address) -> Vec<&Address> {
        self.neighbors(address, Direction::Incoming)
    }

    fn neighbors(&self, address: &Address, dir: Direction) -> Vec<&Address> {
        let Some(&idx) = self.index.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<&Address> =
            self.graph.neighbors_directed(idx, dir).map(|n| &self.graph[n]).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Addresses with every dependency before its dependents; ties are
    /// broken by address, so the order is deterministic.
    pub fn topo_order(&self) -> Vec<Address> {
        let mut remaining: BTreeMap<NodeIndex, usize> = self
            .index
            .values()
            .map(|&n| {
                let deps: BTreeSet<NodeIndex> =
                    self.graph.neighbors_directed(n, Direction::Outgoing).collect();
                (n, deps.len())
            })
            .collect();
        let mut ready: BTreeSet<&Address> =
            remaining.iter().filter(|(_, c)| **c == 0).map(|(n, _)| &self.graph[*n]).collect();
        let mut out = Vec::with_capacity(self.index.len());
        while let Some(addr) = ready.pop_first() {
            out.push(addr.clone());
            let Some(&idx) = self.index.get(addr) else {
                continue;
            };
            let dependents: BTreeSet<NodeIndex> =
                self.graph.neighbors_directed(idx, Direction::Incoming).collect();
            for d in dependents {
                if let Some(c) = remaining.get_mut(&d) {
                    *c = c.saturating_sub(1);
                    if *c == 0 {
                        ready.insert(&self.graph[d]);
                    }
                }
            }
        }
        out
    }

    /// `targets` and everything they depend on, transitively.
    pub fn with_dependencies<'a>(&self, targets: impl IntoIterator<Item = &'a Address>) -> BTreeSet<Address> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<Address> = targets.into_iter().cloned().collect();
        while let Some(a) = stack.pop() {
            if !out.insert(a.clone()) {
                continue;
            }
            stack.extend(self.dependencies(&a).into_iter().cloned());
        }
        out
    }

    /// The graph in Graphviz DOT. Edges point from a resource to what it
    /// depends on.
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph infra {\n  rankdir = \"RL\";\n  node [shape = box];\n");
        for addr in self.index.keys() {
            let _ = writeln!(s, "  \"{addr}\";");
        }
        for addr in self.index.keys() {
            for dep in self.dependencies(addr) {
                let _ = writeln!(s, "  \"{addr}\" -> \"{dep}\";");
            }
        }
        s.push_str("}\n");
        s
    }
}
