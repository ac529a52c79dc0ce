//! The production example's whole life on the emulator, through the real
//! stack program: `apply` makes exactly what the example declares in both
//! regions (network and application tiers, counted per type and region);
//! the next `plan --detailed-exitcode` exits 0; `destroy` is refused while
//! the load balancers have deletion protection, naming it; after an apply
//! with `PROD_DELETION_PROTECTION=false`, `destroy` leaves nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

mod common;

use common::{declared, held, must, program};

#[test]
fn the_production_example_applies_plans_empty_and_destroys_to_nothing() {
    let (moto, _proxy, rt) = common::emulator();
    let endpoint = moto.endpoint();
    moto.reset().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expected = declared();
    for tier in ["aws:ec2:NatGateway", "aws:elbv2:LoadBalancer", "aws:ecs:Service", "aws:iam:Role"] {
        for region in ["us-east-1", "eu-west-1"] {
            assert!(
                expected.contains_key(&(tier.to_owned(), region.to_owned())),
                "the example declares no {tier} in {region}"
            );
        }
    }

    must(&endpoint, dir.path(), &["apply", "--yes"], "apply", 0);
    assert_eq!(rt.block_on(held(&endpoint)), expected, "what the emulator holds after apply");
    must(&endpoint, dir.path(), &["plan", "--detailed-exitcode"], "plan --detailed-exitcode", 0);

    let refused = program(&endpoint, dir.path()).args(["destroy", "--yes"]).output().unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "destroy went through deletion protection:\n{err}");
    assert!(err.contains("deletion protection"), "the refusal does not name deletion protection:\n{err}");
    let lbs = rt
        .block_on(held(&endpoint))
        .get(&("aws:elbv2:LoadBalancer".to_owned(), "us-east-1".to_owned()))
        .copied();
    assert_eq!(lbs, Some(1), "a protected load balancer was deleted");

    let unprotected = |args: &[&str]| {
        let out = program(&endpoint, dir.path())
            .env("PROD_DELETION_PROTECTION", "false")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?} exited {:?}:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    unprotected(&["apply", "--yes"]);
    assert_eq!(
        rt.block_on(held(&endpoint)),
        expected,
        "what the emulator holds after the unprotecting apply"
    );
    unprotected(&["destroy", "--yes"]);
    let left = rt.block_on(held(&endpoint));
    assert!(left.is_empty(), "destroy left objects behind: {left:?}");
    let out = program(&endpoint, dir.path()).args(["plan", "--detailed-exitcode"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "after destroy, a plan must want to create the stack again");
}
