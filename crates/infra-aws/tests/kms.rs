//! KMS on the emulator: a key's and an alias's lifecycle in both regions
//! (create, refreshed plan empty, description / policy / rotation / tags
//! and the alias's target in place, multi_region and the alias's name
//! replace, destroy schedules the key's deletion), a lost CreateKey answer
//! found again by its token tag, and drift.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::iam::{PolicyDocument, Principal, Statement};
use infra_aws::kms::{KmsAlias, KmsKey};
use infra_core::{Options, ProviderKey, ReplaceOrder, Stack};
use infra_testkit::faults::{Effect, Fault};

fn kms(w: &World, region: &str) -> aws_sdk_kms::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_kms::Client::from_conf(aws_sdk_kms::config::Builder::from(&sdk).build())
}

fn policy() -> PolicyDocument {
    PolicyDocument::new([
        Statement::allow(["kms:*"])
            .on("*")
            .principal(Principal::aws("arn:aws:iam::123456789012:root"))
            .sid("Root"),
        Statement::allow(["kms:Decrypt", "kms:GenerateDataKey*"])
            .on("*")
            .principal(Principal::service("logs.amazonaws.com"))
            .sid("Logs"),
    ])
}

fn declare_key(s: &mut Stack, key: &ProviderKey, name: &str, v: u8) -> infra_core::Handle<KmsKey> {
    s.add_with(
        name,
        KmsKey {
            description: Some(format!("key v{}", v.min(1))),
            policy: (v >= 1).then(policy),
            enable_key_rotation: v >= 1,
            deletion_window_in_days: Some(7.into()),
            multi_region: v == 2,
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
            ..Default::default()
        },
        Options::new().provider(key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_and_alias() {
    lifecycle(
        "kms",
        |s, us, eu, v| {
            for (key, r) in [(us, "us"), (eu, "eu")] {
                let a = declare_key(s, key, &format!("a-{r}"), v);
                let b = declare_key(s, key, &format!("b-{r}"), 0);
                s.add_with(
                    &format!("alias-{r}"),
                    KmsAlias {
                        name: if v == 2 { format!("alias/app-{r}-2") } else { format!("alias/app-{r}") },
                        target_key_id: if v == 0 { a.arn() } else { b.arn() }.into(),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["a-us", "a-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_rename_replaces_it_destroy_first() {
    lifecycle(
        "alias",
        |s, us, _, v| {
            let a = declare_key(s, us, "a", 0);
            let b = declare_key(s, us, "b", 0);
            s.add_with(
                "alias",
                KmsAlias {
                    name: if v == 2 { "alias/two".into() } else { "alias/one".into() },
                    target_key_id: if v == 0 { a.arn() } else { b.arn() }.into(),
                },
                Options::new().provider(us),
            );
        },
        &["alias"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// Keys not pending deletion, with their tags.
async fn live_keys(w: &World) -> Vec<String> {
    let c = kms(w, "us-east-1");
    let mut live = Vec::new();
    for k in c.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap();
        let m = c.describe_key().key_id(id).send().await.unwrap();
        if m.key_metadata().unwrap().key_state() != Some(&aws_sdk_kms::types::KeyState::PendingDeletion) {
            live.push(id.to_owned());
        }
    }
    live
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_found_by_its_token_tag() {
    let cases = [
        ("CreateKey", Effect::LoseResponse),
        ("CreateKey", Effect::Unavailable),
        ("EnableKeyRotation", Effect::LoseResponse),
    ];
    for (action, effect) in cases {
        let w = world_through_proxy();
        let (mut stack, us, _) = stack("lost");
        declare_key(&mut stack, &us, "key", 1);
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        let live = live_keys(&w).await;
        assert_eq!(live.len(), 1, "{action} {effect:?}: {live:?}");
        assert_eq!(o.state.resources.values().next().unwrap().id, live[0], "{action} {effect:?}");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_outside_the_stack_shows_in_the_plan_and_is_undone() {
    let w = world();
    let (mut stack, us, _) = stack("drift");
    declare_key(&mut stack, &us, "key", 1);
    let (o, _) = w.apply(&stack).await;
    let id = o.state.resources.values().next().unwrap().id.clone();
    let c = kms(&w, "us-east-1");
    c.disable_key_rotation().key_id(&id).send().await.unwrap();
    c.update_key_description().key_id(&id).description("changed").send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let change = o.plan.change(&addr("key")).unwrap();
    assert!(matches!(change.action, infra_core::Action::Update), "{:?}", change.action);
    assert!(c.get_key_rotation_status().key_id(&id).send().await.unwrap().key_rotation_enabled());
    assert!(w.converged(&stack).await);
    // Destroy schedules the deletion with the declared window.
    w.destroy(&stack).await;
    let m = c.describe_key().key_id(&id).send().await.unwrap();
    assert_eq!(m.key_metadata().unwrap().key_state(), Some(&aws_sdk_kms::types::KeyState::PendingDeletion));
}
