//! Graph construction: every problem is reported at once, naming addresses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use infra_core::{Graph, GraphError, Options, ProviderConfig, Stack};
use infra_tests::{Node, addr};

/// Builds a graph from `name: dep dep …` lines and compares the rendered
/// problems (or the topological order when there are none) with `expected`.
fn check(input: &str, expected: &[&str]) {
    let nodes = input.lines().filter(|l| !l.trim().is_empty()).map(|l| {
        let (name, deps) = l.split_once(':').unwrap_or((l, ""));
        let deps: BTreeSet<_> = deps.split_whitespace().map(addr).collect();
        (addr(name.trim()), deps)
    });
    let got: Vec<String> = match Graph::build(nodes) {
        Ok(g) => g.topo_order().iter().map(ToString::to_string).collect(),
        Err(errors) => errors.into_iter().map(|e| e.into_diagnostic().to_string()).collect(),
    };
    assert_eq!(got, expected, "input:\n{input}");
}

#[test]
fn orders_dependencies_first_with_stable_ties() {
    check("c: b\nb: a\na:\nd:", &["a", "b", "c", "d"]);
}

#[test]
fn names_every_address_on_a_cycle() {
    check("a: b\nb: c\nc: a\nok:", &["dependency cycle: a -> b -> c -> a"]);
}

#[test]
fn reports_self_cycles() {
    check("a: a", &["dependency cycle: a -> a"]);
}

#[test]
fn reports_a_dangling_reference() {
    check("a: ghost", &["a: depends on ghost, which is not declared in the stack"]);
}

#[test]
fn reports_duplicates_and_all_other_problems_together() {
    check(
        "a: b\nb: a\na:\nc: nowhere\nx: y\ny: x",
        &[
            "dependency cycle: a -> b -> a",
            "dependency cycle: x -> y -> x",
            "c: depends on nowhere, which is not declared in the stack",
            "a: is declared more than once",
        ],
    );
}

#[test]
fn stack_validation_reports_graph_and_input_problems_at_once() {
    use infra_aws::ec2::{Subnet, Vpc};
    let mut s = Stack::new("prod");
    s.provider(ProviderConfig::aws("us-east-1"));
    let vpc = s.add("vpc", Vpc { cidr_block: "10.1.0.0/33".into(), ..Default::default() });
    s.add(
        "subnet",
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: "10.1.1.1/24".into(),
            availability_zone: "eu-west-1a".into(),
            map_public_ip_on_launch: false,
            tags: Default::default(),
        },
    );
    s.add("vpc", Vpc { cidr_block: "10.2.0.0/16".into(), ..Default::default() });
    s.add_with("n", Node::default(), Options::new().depends_on(addr("missing")));
    let err = s.validate().unwrap_err().to_string();
    for needle in [
        "vpc: field `cidr_block`: \"10.1.0.0/33\" is not a CIDR block: prefix must be 0 to 32",
        "subnet: field `cidr_block`: \"10.1.1.1/24\" has host bits set; did you mean 10.1.1.0/24?",
        "subnet: field `availability_zone`: availability zone \"eu-west-1a\" is not in the provider's region us-east-1",
        "vpc: is declared more than once",
        "n: depends on missing, which is not declared in the stack",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn unbound_provider_and_bad_names_are_reported() {
    let mut s = Stack::new("prod");
    s.add("n", Node::default());
    s.add("bad name", Node::default());
    let err = s.validate().unwrap_err().to_string();
    assert!(err.contains("n: is not bound to a provider instance"), "{err}");
    assert!(err.contains("invalid resource name"), "{err}");
}

#[test]
fn exports_graphviz_dot() {
    let mut s = Stack::new("prod");
    s.provider(ProviderConfig::aws("us-east-1"));
    let a = s.add("a", Node::default());
    s.add("b", Node { deps: vec![a.id().into()], ..Default::default() });
    let dot = s.validate().unwrap().to_dot();
    assert!(dot.starts_with("digraph infra {"));
    assert!(dot.contains("\"b\" -> \"a\";"), "{dot}");
    assert!(!dot.contains("\"a\" -> \"b\""));
}

#[test]
fn graph_error_values_carry_addresses() {
    let err = Graph::build([(addr("a"), BTreeSet::from([addr("b")]))]).unwrap_err();
    assert_eq!(err, [GraphError::Dangling { from: addr("a"), to: addr("b") }]);
}

#[test]
fn subnets_outside_their_vpc_or_overlapping_are_reported_before_any_api_call() {
    use infra_aws::ec2::{Subnet, Vpc};
    let mut s = Stack::new("prod");
    s.provider(ProviderConfig::aws("us-east-1"));
    let vpc = s.add(
        "vpc",
        Vpc {
            cidr_block: "10.1.0.0/16".into(),
            secondary_cidr_blocks: vec!["10.50.0.0/16".into()],
            ..Default::default()
        },
    );
    let subnet = |cidr: &str| Subnet {
        vpc_id: vpc.id().into(),
        cidr_block: cidr.into(),
        availability_zone: "us-east-1a".into(),
        map_public_ip_on_launch: false,
        tags: Default::default(),
    };
    s.add("ok", subnet("10.1.1.0/24"));
    s.add("in-secondary", subnet("10.50.1.0/24"));
    s.add("outside", subnet("10.2.1.0/24"));
    s.add("overlapping", subnet("10.1.1.128/25"));
    let err = s.validate().unwrap_err().to_string();
    assert!(
        err.contains("outside: field `cidr_block`: 10.2.1.0/24 is outside the blocks of its VPC vpc (10.1.0.0/16, 10.50.0.0/16)"),
        "{err}"
    );
    assert!(
        err.contains("overlapping: field `cidr_block`: 10.1.1.128/25 overlaps subnet ok of the same VPC"),
        "{err}"
    );
    assert!(!err.contains("in-secondary"), "{err}");
    assert!(err.starts_with("the stack is invalid: 2 problem(s)"), "{err}");
}
