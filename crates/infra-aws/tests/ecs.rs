//! ECS on the emulator: each type's lifecycle in both regions (create,
//! refreshed plan empty, update in place, plan empty, force-new replace in
//! the right order, destroy); a lost `CreateCluster` / `CreateService`
//! answer through the fault-injecting proxy adopts what was made (the
//! emulator overwrites a duplicate instead of refusing it, so a second
//! create would not show as a second object: the test counts what the
//! cloud holds); a cluster name taken outside the stack is refused; a
//! desired count changed outside shows as an update unless ignored.
//!
//! The emulator never starts tasks, so every service here has
//! `wait_for_steady_state` false; the steady-state wait (`deployment
//! IN_PROGRESS: 1/3 running`, a circuit breaker's `FAILED`) is shown on the
//! simulated provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ecs_fixtures;

use std::collections::BTreeMap;

use common::*;
use ecs_fixtures::*;
use infra_aws::ecs::{CapacityProviderStrategy, DeploymentCircuitBreaker, EcsCluster};
use infra_core::plan::PlanOptions;
use infra_core::{Action, Options, ReplaceOrder, Stack};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

fn ecs(w: &World, region: &str) -> aws_sdk_ecs::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_ecs::Client::from_conf(aws_sdk_ecs::config::Builder::from(&sdk).build())
}

fn team(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster() {
    lifecycle(
        "cluster",
        |s, us, eu, v| {
            for (key, r, _) in both(us, eu) {
                let mut c = EcsCluster {
                    // v2 renames the cluster: a replacement, destroy first.
                    name: if v == 2 { format!("apps2-{r}") } else { format!("apps-{r}") },
                    container_insights: Some("enabled".into()),
                    tags: team(v),
                    ..Default::default()
                };
                if v >= 1 {
                    c.container_insights = None;
                    c.capacity_providers = vec!["FARGATE_SPOT".into(), "FARGATE".into()];
                    c.default_capacity_provider_strategy = vec![
                        CapacityProviderStrategy { capacity_provider: "FARGATE".into(), weight: 1, base: 1 },
                        CapacityProviderStrategy {
                            capacity_provider: "FARGATE_SPOT".into(),
                            weight: 3,
                            base: 0,
                        },
                    ];
                }
                s.add_with(&format!("cluster-{r}"), c, Options::new().provider(key));
            }
        },
        &["cluster-us", "cluster-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_definition() {
    lifecycle(
        "taskdef",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let role = execution_role(s, key, r);
                // v1 changes the tags only (in place); v2 the memory: a new
                // revision, the old one deregistered after.
                let memory = if v == 2 { 2048 } else { 1024 };
                let td = ecs_fixtures::task_definition(
                    &format!("app-{r}"),
                    region,
                    &role,
                    memory,
                    &format!("t{}", v.min(1)),
                );
                s.add_with(&format!("td-{r}"), td, Options::new().provider(key));
            }
        },
        &["td-us", "td-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_service() {
    lifecycle(
        "service",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                service_stack(
                    s,
                    key,
                    r,
                    region,
                    |svc| {
                        svc.tags = team(v);
                        if v >= 1 {
                            svc.desired_count = 3;
                            svc.deployment_minimum_healthy_percent = Some(50);
                            svc.deployment_maximum_percent = Some(150);
                            svc.deployment_circuit_breaker =
                                Some(DeploymentCircuitBreaker { enable: true, rollback: true });
                            svc.enable_execute_command = true;
                            svc.propagate_tags = Some("SERVICE".into());
                            svc.assign_public_ip = true;
                        }
                        if v == 2 {
                            // A rename: a replacement, destroy first.
                            svc.name = format!("app2-{r}");
                        }
                    },
                    |o| o,
                );
            }
        },
        &["svc-us", "svc-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// A service declared with every setting at create: the emulator drops
/// the deployment configuration and ECS Exec from `CreateService` (AWS
/// keeps them); the type sends them again, so the plan after is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_created_with_every_setting_converges() {
    let w = world();
    let (mut s, us, _) = stack("full");
    service_stack(
        &mut s,
        &us,
        "us",
        "us-east-1",
        |svc| {
            svc.deployment_minimum_healthy_percent = Some(50);
            svc.deployment_circuit_breaker = Some(DeploymentCircuitBreaker { enable: true, rollback: false });
            svc.enable_execute_command = true;
            svc.platform_version = Some("1.4.0".into());
        },
        |o| o,
    );
    w.apply(&s).await;
    assert!(w.converged(&s).await, "the plan after create is not empty");
    let out =
        ecs(&w, "us-east-1").describe_services().cluster("apps-us").services("app-us").send().await.unwrap();
    let svc = &out.services()[0];
    assert!(svc.enable_execute_command());
    let d = svc.deployment_configuration().unwrap();
    assert_eq!(d.minimum_healthy_percent(), Some(50));
    assert!(d.deployment_circuit_breaker().unwrap().enable());
    w.destroy(&s).await;
}

fn lost_stack(name: &str) -> Stack {
    let (mut s, us, _) = stack(name);
    service_stack(&mut s, &us, "us", "us-east-1", |_| {}, |o| o);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_cluster_and_one_service() {
    let cases = [
        ("CreateService", Effect::LoseResponse),
        ("CreateService", Effect::Unavailable),
        ("CreateService", Effect::Throttle),
        ("CreateCluster", Effect::LoseResponse),
        ("RegisterTaskDefinition", Effect::LoseResponse),
    ];
    for (action, effect) in cases {
        let w = world_through_proxy();
        let stack = lost_stack("lost");
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        let client = ecs(&w, "us-east-1");
        let clusters = client.list_clusters().send().await.unwrap();
        assert_eq!(clusters.cluster_arns().len(), 1, "{action} {effect:?}: {:?}", clusters.cluster_arns());
        let services = client.list_services().cluster("apps-us").send().await.unwrap();
        assert_eq!(services.service_arns().len(), 1, "{action} {effect:?}: {:?}", services.service_arns());
        let revisions = client.list_task_definitions().family_prefix("app-us").send().await.unwrap();
        assert_eq!(
            revisions.task_definition_arns().len(),
            1,
            "{action} {effect:?}: {:?}",
            revisions.task_definition_arns()
        );
        // The adopted objects carry this stack's tags (a second create
        // would have overwritten them on the emulator, untagged).
        let described = client
            .describe_services()
            .cluster("apps-us")
            .services("app-us")
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .unwrap();
        let tags = described.services()[0].tags();
        assert!(tags.iter().any(|t| t.key() == Some("infra:stack")), "{action} {effect:?}: {tags:?}");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_name_taken_outside_the_stack_is_refused_naming_import() {
    let w = world();
    ecs(&w, "us-east-1").create_cluster().cluster_name("apps-us").send().await.unwrap();
    let (mut s, us, _) = stack("taken");
    s.add_with("cluster-us", ecs_fixtures::cluster("apps-us"), Options::new().provider(&us));
    let (o, _) = w.run(&s, Mode::Apply(PlanOptions::default())).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let error = &o.report.failed[0].2;
    assert!(error.contains("import") && error.contains("apps-us"), "{error}");
    assert!(o.state.resources.is_empty(), "someone else's cluster was adopted");
    let c = ecs(&w, "us-east-1")
        .describe_clusters()
        .clusters("apps-us")
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    assert!(c.clusters()[0].tags().is_empty(), "someone else's cluster was tagged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desired_count_changed_outside_shows_as_an_update_unless_ignored() {
    let w = world();
    let build = |ignore: bool| {
        let (mut s, us, _) = stack("drift");
        service_stack(
            &mut s,
            &us,
            "us",
            "us-east-1",
            |_| {},
            |o| if ignore { o.ignore_changes(["desired_count"]) } else { o },
        );
        s
    };
    w.apply(&build(false)).await;
    let client = ecs(&w, "us-east-1");
    client.update_service().cluster("apps-us").service("app-us").desired_count(5).send().await.unwrap();
    // Ignored: autoscaling owns the count, the plan is empty.
    assert!(w.converged(&build(true)).await, "an ignored desired count shows in the plan");
    let (o, _) = w.apply(&build(false)).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions, vec![("svc-us".to_owned(), Action::Update)], "{actions:?}");
    let out = client.describe_services().cluster("apps-us").services("app-us").send().await.unwrap();
    assert_eq!(out.services()[0].desired_count(), 1, "the count is back");
    assert!(w.converged(&build(false)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_task_definition_is_deregistered_and_a_destroyed_service_is_inactive() {
    let w = world();
    let build = |memory: i32| {
        let (mut s, us, _) = stack("revisions");
        let role = execution_role(&mut s, &us, "us");
        s.add_with(
            "td-us",
            ecs_fixtures::task_definition("app-us", "us-east-1", &role, memory, "t0"),
            Options::new().provider(&us),
        );
        s
    };
    w.apply(&build(1024)).await;
    w.apply(&build(2048)).await;
    let client = ecs(&w, "us-east-1");
    let first = client.describe_task_definition().task_definition("app-us:1").send().await.unwrap();
    assert_eq!(first.task_definition().unwrap().status().unwrap().as_str(), "INACTIVE");
    let second = client.describe_task_definition().task_definition("app-us:2").send().await.unwrap();
    assert_eq!(second.task_definition().unwrap().status().unwrap().as_str(), "ACTIVE");
    assert_eq!(second.task_definition().unwrap().memory(), Some("2048"));
    w.destroy(&build(2048)).await;
    let second = client.describe_task_definition().task_definition("app-us:2").send().await.unwrap();
    assert_eq!(second.task_definition().unwrap().status().unwrap().as_str(), "INACTIVE");

    let (mut s, us, _) = stack("gone");
    service_stack(&mut s, &us, "us", "us-east-1", |_| {}, |o| o);
    w.apply(&s).await;
    w.destroy(&s).await;
    let out = client.describe_services().cluster("apps-us").services("app-us").send().await.unwrap();
    assert!(out.services().iter().all(|s| s.status() == Some("INACTIVE")), "{:?}", out.services());
}
