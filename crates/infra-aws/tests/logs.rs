//! CloudWatch Logs on the emulator: a log group's lifecycle in both
//! regions (create with a KMS key, refreshed plan empty, retention and tags
//! in place, a rename replaces it destroy-first, destroy), a lost
//! CreateLogGroup answer through the fault proxy, and drift.
//!
//! Emulator gap: moto 5.2.5 answers AssociateKmsKey / DisassociateKmsKey
//! with 500 NotImplemented, so a change of `kms_key_id` in place is not
//! exercised here (the key is set at create, which moto keeps).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::kms::KmsKey;
use infra_aws::logs::LogGroup;
use infra_core::{Options, ProviderKey, ReplaceOrder, Stack};
use infra_testkit::faults::{Effect, Fault};

fn logs(w: &World, region: &str) -> aws_sdk_cloudwatchlogs::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_cloudwatchlogs::Client::from_conf(aws_sdk_cloudwatchlogs::config::Builder::from(&sdk).build())
}

fn declare(s: &mut Stack, key: &ProviderKey, r: &str, v: u8) {
    let kms = s.add_with(&format!("key-{r}"), KmsKey::default(), Options::new().provider(key));
    s.add_with(
        &format!("app-{r}"),
        LogGroup {
            name: if v == 2 { format!("/ecs/app-{r}-v2") } else { format!("/ecs/app-{r}") },
            retention_in_days: Some(if v == 0 { 30 } else { 90 }),
            kms_key_id: Some(kms.arn().into()),
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
        },
        Options::new().provider(key),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_group() {
    lifecycle(
        "logs",
        |s, us, eu, v| {
            declare(s, us, "us", v);
            declare(s, eu, "eu", v);
        },
        &["app-us", "app-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

fn one_group(name: &str) -> Stack {
    let (mut s, us, _) = stack(name);
    s.add_with(
        "group",
        LogGroup { name: format!("/app/{name}"), retention_in_days: Some(7), ..Default::default() },
        Options::new().provider(&us),
    );
    s
}

async fn groups(w: &World, prefix: &str) -> Vec<(String, Option<i32>)> {
    let out = logs(w, "us-east-1").describe_log_groups().log_group_name_prefix(prefix).send().await.unwrap();
    out.log_groups().iter().map(|g| (g.log_group_name().unwrap().to_owned(), g.retention_in_days())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_group() {
    let cases = [
        ("CreateLogGroup", Effect::LoseResponse),
        ("CreateLogGroup", Effect::Unavailable),
        ("PutRetentionPolicy", Effect::LoseResponse),
    ];
    for (i, (action, effect)) in cases.into_iter().enumerate() {
        let w = world_through_proxy();
        let name = format!("lost{i}");
        let stack = one_group(&name);
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        assert_eq!(
            groups(&w, &format!("/app/{name}")).await,
            [(format!("/app/{name}"), Some(7))],
            "{action} {effect:?}"
        );
        assert_eq!(o.state.resources.len(), 1, "{action} {effect:?}");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_outside_the_stack_shows_in_the_plan_and_is_undone() {
    let w = world();
    let stack = one_group("drift");
    w.apply(&stack).await;
    logs(&w, "us-east-1").delete_retention_policy().log_group_name("/app/drift").send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    assert!(
        matches!(o.plan.change(&addr("group")).unwrap().action, infra_core::Action::Update),
        "{:?}",
        o.plan
    );
    assert_eq!(groups(&w, "/app/drift").await, [("/app/drift".to_owned(), Some(7))]);
    assert!(w.converged(&stack).await);
    // Deleted outside: the next apply makes it again.
    logs(&w, "us-east-1").delete_log_group().log_group_name("/app/drift").send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    assert!(matches!(o.plan.change(&addr("group")).unwrap().action, infra_core::Action::Create));
    assert!(w.converged(&stack).await);
}
