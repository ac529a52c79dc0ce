//! ECR on the emulator: a repository's lifecycle in both regions (create
//! with KMS encryption, refreshed plan empty, tag mutability / scan on push
//! / tags in place, a rename replaces it destroy-first, destroy), a lost
//! CreateRepository answer through the fault proxy, `force_delete` at
//! destroy, and drift.
//!
//! Emulator gap: the SDK leaves `scanOnPush: false` out of
//! PutImageScanningConfiguration's body (a default); AWS reads that as
//! false, moto 5.2.5 as "no change", so turning scanning off is not shown
//! here (turning it on is).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::ecr::{EcrEncryption, EcrRepository};
use infra_aws::kms::KmsKey;
use infra_core::{Options, ProviderKey, ReplaceOrder, Stack};
use infra_testkit::faults::{Effect, Fault};

fn ecr(w: &World, region: &str) -> aws_sdk_ecr::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_ecr::Client::from_conf(aws_sdk_ecr::config::Builder::from(&sdk).build())
}

fn declare(s: &mut Stack, key: &ProviderKey, r: &str, v: u8) {
    let kms = s.add_with(&format!("key-{r}"), KmsKey::default(), Options::new().provider(key));
    s.add_with(
        &format!("app-{r}"),
        EcrRepository {
            name: if v == 2 { format!("prod/app-{r}-2") } else { format!("prod/app-{r}") },
            image_tag_mutability: (v >= 1).then(|| "IMMUTABLE".into()),
            scan_on_push: v >= 1,
            encryption_configuration: Some(EcrEncryption {
                encryption_type: "KMS".into(),
                kms_key: Some(kms.arn().into()),
            }),
            force_delete: Some(true.into()),
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
        },
        Options::new().provider(key),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository() {
    lifecycle(
        "ecr",
        |s, us, eu, v| {
            declare(s, us, "us", v);
            declare(s, eu, "eu", v);
        },
        &["app-us", "app-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

fn one(name: &str, force: bool) -> Stack {
    let (mut s, us, _) = stack(name);
    s.add_with(
        "repo",
        EcrRepository {
            name: name.into(),
            image_tag_mutability: Some("IMMUTABLE".into()),
            scan_on_push: true,
            force_delete: force.then(|| true.into()),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s
}

async fn repos(w: &World) -> Vec<String> {
    let out = ecr(w, "us-east-1").describe_repositories().send().await.unwrap();
    out.repositories().iter().map(|r| r.repository_name().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_repository() {
    for effect in [Effect::LoseResponse, Effect::Unavailable] {
        let w = world_through_proxy();
        let stack = one("lost", false);
        proxy().set(vec![Fault::new("CreateRepository", 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![("CreateRepository".to_owned(), effect)],
            "{effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{effect:?}: {:?}", o.report);
        assert_eq!(repos(&w).await, ["lost"], "{effect:?}");
        assert!(w.converged(&stack).await, "{effect:?}: the plan after apply is not empty");
    }
}

/// A repository's ID is its name, unique per region only: a lost create
/// in eu-west-1 adopts the eu repository even though the stack already
/// manages one of the same name in us-east-1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_adopts_its_own_region_s_repository_of_a_name_used_in_both() {
    let w = world_through_proxy();
    let (mut s, us, eu) = stack("twice");
    let first = s.add_with(
        "repo-us",
        EcrRepository { name: "twice".into(), ..Default::default() },
        Options::new().provider(&us),
    );
    s.add_with(
        "repo-eu",
        EcrRepository { name: "twice".into(), ..Default::default() },
        Options::new().provider(&eu).depends_on(&first),
    );
    proxy().set(vec![Fault::new("CreateRepository", 2, Effect::LoseResponse)]);
    let (o, _) = w.apply(&s).await;
    assert_eq!(proxy().injected(), vec![("CreateRepository".to_owned(), Effect::LoseResponse)]);
    proxy().set(Vec::new());
    assert!(o.report.success(), "{:?}", o.report);
    for region in ["us-east-1", "eu-west-1"] {
        let out = ecr(&w, region).describe_repositories().send().await.unwrap();
        assert_eq!(out.repositories().len(), 1, "{region}");
    }
    assert!(w.converged(&s).await, "the plan after apply is not empty");
}

/// Pushes a fake image, so the repository is not empty.
async fn push(w: &World, name: &str) {
    let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"layers":[]}"#;
    ecr(w, "us-east-1")
        .put_image()
        .repository_name(name)
        .image_manifest(manifest)
        .image_tag("v1")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_a_repository_with_images_only_when_forced() {
    let w = world();
    let stack = one("kept", false);
    w.apply(&stack).await;
    push(&w, "kept").await;
    let (o, _) = w.run(&stack, infra_engine::Mode::Destroy { targets: vec![] }).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    assert!(o.report.failed[0].2.contains("RepositoryNotEmpty"), "{:?}", o.report.failed);
    let forced = one("kept", true);
    w.apply(&forced).await;
    assert!(w.converged(&forced).await, "force_delete alone changes nothing in the cloud");
    w.destroy(&forced).await;
    assert!(repos(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_outside_the_stack_shows_in_the_plan_and_is_undone() {
    let w = world();
    let stack = one("drift", false);
    w.apply(&stack).await;
    let c = ecr(&w, "us-east-1");
    // (Not scan_on_push: the SDK leaves `scanOnPush: false` out of the
    // body, which AWS reads as false and moto as "no change".)
    let mutable = aws_sdk_ecr::types::ImageTagMutability::Mutable;
    c.put_image_tag_mutability().repository_name("drift").image_tag_mutability(mutable).send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let change = o.plan.change(&addr("repo")).unwrap();
    assert!(matches!(change.action, infra_core::Action::Update), "{change:?}");
    let r = c.describe_repositories().repository_names("drift").send().await.unwrap();
    assert_eq!(
        r.repositories()[0].image_tag_mutability(),
        Some(&aws_sdk_ecr::types::ImageTagMutability::Immutable)
    );
    assert!(w.converged(&stack).await);
}
