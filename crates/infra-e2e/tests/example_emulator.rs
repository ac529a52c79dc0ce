//! The production example's whole life on the emulator, through the real
//! stack program: `apply` makes exactly what the example declares in both
//! regions (network, application and data tiers, counted per type and
//! region); the next `plan --detailed-exitcode` exits 0; `destroy` is
//! refused at plan time while the databases, caches and buckets are
//! protected, naming them; after an apply with
//! `PROD_DELETION_PROTECTION=false`, `destroy` leaves nothing behind.
//!
//! Emulator gaps (moto 5.2.5, docs/aws-provider.md): it cannot make an
//! ElastiCache parameter group, so the data tier runs with
//! `PROD_CACHE_PARAMETERS=default`; and it can delete neither a global
//! cluster's secondary member nor a replication group (one stays
//! `deleting` for ever), so the destroy half runs without the data tier
//! (`PROD_DATA_TIER=false`) after a reset. The data tier's destroy is shown
//! on the simulated provider (`data_tier_sim`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

mod common;

use std::path::Path;

use common::{declared, declared_without_data, held, program};

/// Runs the program with `env`; its exit code and standard error.
fn run(endpoint: &str, state: &Path, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String) {
    let mut c = program(endpoint, state);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn must(endpoint: &str, state: &Path, env: &[(&str, &str)], args: &[&str]) {
    let (code, err) = run(endpoint, state, env, args);
    assert_eq!(code, Some(0), "{env:?} {args:?} failed:\n{err}");
}

#[test]
fn the_production_example_applies_plans_empty_and_destroys_to_nothing() {
    let (moto, _proxy, rt) = common::emulator();
    let endpoint = moto.endpoint();
    moto.reset().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expected = declared();
    for tier in [
        "aws:ec2:NatGateway",
        "aws:elbv2:LoadBalancer",
        "aws:ecs:Service",
        "aws:iam:Role",
        "aws:rds:Cluster",
        "aws:rds:ClusterInstance",
        "aws:elasticache:ReplicationGroup",
        "aws:s3:Bucket",
    ] {
        for region in ["us-east-1", "eu-west-1"] {
            assert!(
                expected.contains_key(&(tier.to_owned(), region.to_owned())),
                "the example declares no {tier} in {region}"
            );
        }
    }
    for (edge, region) in [
        ("aws:route53:HostedZone", "global"),
        ("aws:route53:Record", "global"),
        ("aws:route53:HealthCheck", "global"),
        ("aws:cloudfront:Distribution", "global"),
        ("aws:cloudfront:OriginAccessControl", "global"),
        ("aws:shield:Protection", "global"),
        ("aws:wafv2:WebAcl", "us-east-1"),
        ("aws:wafv2:WebAcl", "eu-west-1"),
    ] {
        assert!(
            expected.contains_key(&(edge.to_owned(), region.to_owned())),
            "the example declares no {edge}"
        );
    }
    let primaries = expected[&("aws:rds:Cluster".to_owned(), "us-east-1".to_owned())];
    let instances = expected[&("aws:rds:ClusterInstance".to_owned(), "us-east-1".to_owned())];
    assert_eq!((primaries, instances), (3, 6), "three primaries with two instances each");

    let gaps = [("PROD_CACHE_PARAMETERS", "default")];
    must(&endpoint, dir.path(), &gaps, &["apply", "--yes"]);
    assert_eq!(rt.block_on(held(&endpoint)), expected, "what the emulator holds after apply");
    must(&endpoint, dir.path(), &gaps, &["plan", "--detailed-exitcode"]);

    // Protected data: refused before any call, naming what and why.
    let (code, err) = run(&endpoint, dir.path(), &gaps, &["destroy", "--yes"]);
    assert_ne!(code, Some(0), "destroy went through `protect`:\n{err}");
    for protected in
        ["us.data.product-db.cluster", "eu.data.user-db.cluster", "us.data.redis.group", "us.data.state"]
    {
        assert!(err.contains(&format!("{protected}: is protected")), "{protected} not named:\n{err}");
    }
    assert_eq!(rt.block_on(held(&endpoint)), expected, "a refused destroy deleted something");

    // Without the data tier, from a fresh emulator: the whole way down.
    moto.reset().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let no_data = [("PROD_DATA_TIER", "false")];
    let expected = declared_without_data();
    // The edge's buckets (static assets, CloudFront logs) stay.
    let buckets = expected.get(&("aws:s3:Bucket".to_owned(), "us-east-1".to_owned()));
    assert_eq!(buckets, Some(&2), "{expected:?}");
    assert!(expected.keys().all(|(t, _)| !is_data(t) || t == "aws:s3:Bucket"), "{expected:?}");
    must(&endpoint, dir.path(), &no_data, &["apply", "--yes"]);
    let (code, err) = run(&endpoint, dir.path(), &no_data, &["destroy", "--yes"]);
    assert_ne!(code, Some(0), "destroy went through deletion protection:\n{err}");
    // The edge's buckets are protected like the data: named at plan time.
    assert!(
        err.contains("edge.static-assets: is protected") || err.contains("deletion protection"),
        "the refusal names neither the protected buckets nor deletion protection:\n{err}"
    );
    let unprotected = [("PROD_DATA_TIER", "false"), ("PROD_DELETION_PROTECTION", "false")];
    must(&endpoint, dir.path(), &unprotected, &["apply", "--yes"]);
    assert_eq!(
        rt.block_on(held(&endpoint)),
        expected,
        "what the emulator holds after the unprotecting apply"
    );
    must(&endpoint, dir.path(), &unprotected, &["destroy", "--yes"]);
    let left = rt.block_on(held(&endpoint));
    assert!(left.is_empty(), "destroy left objects behind: {left:?}");
    let (code, _) = run(&endpoint, dir.path(), &unprotected, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(2), "after destroy, a plan must want to create the stack again");
}

fn is_data(type_name: &str) -> bool {
    ["aws:rds:", "aws:elasticache:", "aws:s3:", "aws:dynamodb:"].iter().any(|p| type_name.starts_with(p))
}
