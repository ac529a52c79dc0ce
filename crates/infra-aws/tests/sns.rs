//! SNS on the emulator: a topic's and a subscription's lifecycle in both
//! regions (create, refreshed plan empty, attributes and tags in place, a
//! rename or new endpoint replaces, destroy), lost CreateTopic and
//! Subscribe answers through the fault proxy, and drift.
//!
//! Emulator gap: moto confirms email and http(s) subscriptions at once
//! (AWS keeps them `PendingConfirmation` until their owner confirms), so
//! the pending case is not shown here; the type treats a pending
//! subscription as created and its delete as done (docs/aws-provider.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::iam::{PolicyDocument, Principal, Statement};
use infra_aws::sns::{SnsSubscription, SnsTopic};
use infra_core::{Handle, Options, ProviderKey, ReplaceOrder, Stack};
use infra_testkit::faults::{Effect, Fault};

fn sns(w: &World, region: &str) -> aws_sdk_sns::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_sns::Client::from_conf(aws_sdk_sns::config::Builder::from(&sdk).build())
}

fn region_of(r: &str) -> &'static str {
    if r == "us" { "us-east-1" } else { "eu-west-1" }
}

fn topic(s: &mut Stack, key: &ProviderKey, r: &str, address: &str, name: &str, v: u8) -> Handle<SnsTopic> {
    let arn = format!("arn:aws:sns:{}:123456789012:{name}", region_of(r));
    s.add_with(
        address,
        SnsTopic {
            name: name.to_owned(),
            display_name: Some(format!("Alerts v{}", v.min(1))),
            policy: (v >= 1).then(|| {
                PolicyDocument::new([Statement::allow(["sns:Publish"])
                    .on(arn.as_str())
                    .principal(Principal::service("events.amazonaws.com"))])
            }),
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
            ..Default::default()
        },
        Options::new().provider(key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_lifecycle() {
    lifecycle(
        "topic",
        |s, us, eu, v| {
            for (key, r) in [(us, "us"), (eu, "eu")] {
                let name = if v == 2 { format!("alerts-{r}-2") } else { format!("alerts-{r}") };
                topic(s, key, r, &format!("alerts-{r}"), &name, v);
                s.add_with(
                    &format!("events-{r}"),
                    SnsTopic {
                        name: format!("events-{r}.fifo"),
                        fifo_topic: true,
                        content_based_deduplication: v >= 1,
                        ..Default::default()
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["alerts-us", "alerts-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_lifecycle() {
    lifecycle(
        "subscription",
        |s, us, eu, v| {
            for (key, r) in [(us, "us"), (eu, "eu")] {
                let t = topic(s, key, r, &format!("alerts-{r}"), &format!("alerts-{r}"), 0);
                s.add_with(
                    &format!("hook-{r}"),
                    SnsSubscription {
                        topic_arn: t.arn().into(),
                        protocol: "https".into(),
                        endpoint: format!("https://example.com/{r}/{}", v / 2).into(),
                        raw_message_delivery: v >= 1,
                        filter_policy: (v >= 1).then(|| r#"{ "severity": ["high", "critical"] }"#.into()),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["hook-us", "hook-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_topic_and_subscription() {
    let cases = [
        ("CreateTopic", Effect::LoseResponse),
        ("CreateTopic", Effect::Unavailable),
        ("Subscribe", Effect::LoseResponse),
        ("SetSubscriptionAttributes", Effect::LoseResponse),
    ];
    for (action, effect) in cases {
        let w = world_through_proxy();
        let (mut stack, us, _) = stack("lost");
        let t = topic(&mut stack, &us, "us", "lost", "lost", 0);
        stack.add_with(
            "hook",
            SnsSubscription {
                topic_arn: t.arn().into(),
                protocol: "https".into(),
                endpoint: "https://example.com/hook".into(),
                raw_message_delivery: true,
                filter_policy: None,
            },
            Options::new().provider(&us),
        );
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        if action != "SetSubscriptionAttributes" {
            assert_eq!(
                proxy().injected(),
                vec![(action.to_owned(), effect)],
                "{action} {effect:?}: no fault hit"
            );
        }
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        let c = sns(&w, "us-east-1");
        assert_eq!(c.list_topics().send().await.unwrap().topics().len(), 1, "{action} {effect:?}");
        assert_eq!(
            c.list_subscriptions().send().await.unwrap().subscriptions().len(),
            1,
            "{action} {effect:?}"
        );
        assert_eq!(o.state.resources.len(), 2, "{action} {effect:?}");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_outside_the_stack_shows_in_the_plan_and_is_undone() {
    let w = world();
    let (mut stack, us, _) = stack("drift");
    topic(&mut stack, &us, "us", "drift", "drift", 1);
    let (o, _) = w.apply(&stack).await;
    let arn = o.state.resources.values().next().unwrap().id.clone();
    let c = sns(&w, "us-east-1");
    c.set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("DisplayName")
        .attribute_value("changed")
        .send()
        .await
        .unwrap();
    c.untag_resource().resource_arn(&arn).tag_keys("team").send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let change = o.plan.change(&addr("drift")).unwrap();
    assert!(matches!(change.action, infra_core::Action::Update), "{:?}", change.action);
    let attrs = c.get_topic_attributes().topic_arn(&arn).send().await.unwrap();
    assert_eq!(attrs.attributes().unwrap().get("DisplayName").map(String::as_str), Some("Alerts v1"));
    assert!(w.converged(&stack).await);
}
