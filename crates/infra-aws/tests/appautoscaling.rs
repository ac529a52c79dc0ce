//! Application Auto Scaling on the emulator: a Fargate service's scalable
//! target and its scaling policies in both regions (create, refreshed plan
//! empty, update in place, plan empty, force-new replace in the right
//! order, destroy), and a lost `PutScalingPolicy` answer adopted by key.
//! Neither type carries tags: the emulator answers 500 to the service's
//! tagging calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ecs_fixtures;

use common::*;
use ecs_fixtures::*;
use infra_aws::appautoscaling::{ScalableTarget, ScalingPolicy, StepAdjustment, StepScaling, TargetTracking};
use infra_core::{Handle, Options, ProviderKey, ReplaceOrder, Stack};
use infra_testkit::faults::{Effect, Fault};

fn client(w: &World, region: &str) -> aws_sdk_applicationautoscaling::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_applicationautoscaling::Client::from_conf(
        aws_sdk_applicationautoscaling::config::Builder::from(&sdk).build(),
    )
}

/// Two services (`app-<r>`, `web-<r>`) in one cluster, and a target on
/// `app` (or `web` when `on_web`).
fn target(
    s: &mut Stack,
    key: &ProviderKey,
    r: &str,
    region: &str,
    on_web: bool,
    min: i32,
    max: i32,
) -> Handle<ScalableTarget> {
    let net = network(s, key, r, region);
    let role = execution_role(s, key, r);
    let o = || Options::new().provider(key);
    // Autoscaling owns the services' counts.
    let scaled = || o().ignore_changes(["desired_count"]);
    let cluster = s.add_with(&format!("cluster-{r}"), ecs_fixtures::cluster(&format!("apps-{r}")), o());
    let td =
        s.add_with(&format!("td-{r}"), task_definition(&format!("app-{r}"), region, &role, 1024, "t0"), o());
    let app = s.add_with(&format!("svc-{r}"), service(&format!("app-{r}"), &cluster, &td, &net), scaled());
    let web = s.add_with(&format!("web-{r}"), service(&format!("web-{r}"), &cluster, &td, &net), scaled());
    let service = if on_web { &web } else { &app };
    s.add_with(
        &format!("scaling-{r}"),
        ScalableTarget {
            min_capacity: min,
            max_capacity: max,
            ..ScalableTarget::ecs_service(cluster.name(), service.name())
        },
        Options::new().provider(key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalable_target() {
    lifecycle(
        "target",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                // v1 widens the range in place; v2 moves it to the other
                // service: a replacement, destroy first.
                let (min, max) = if v == 0 { (1, 4) } else { (2, 20) };
                target(s, key, r, region, v == 2, min, max);
            }
        },
        &["scaling-us", "scaling-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_policy() {
    lifecycle(
        "policy",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let t = target(s, key, r, region, false, 2, 20);
                let mut cpu = TargetTracking::predefined("ECSServiceAverageCPUUtilization", 70.0);
                if v >= 1 {
                    cpu.target_value = 60.0;
                    cpu.scale_in_cooldown = Some(300);
                    cpu.scale_out_cooldown = Some(60);
                }
                s.add_with(
                    &format!("cpu-{r}"),
                    ScalingPolicy {
                        // v2 renames it: a replacement, destroy first.
                        name: if v == 2 { format!("cpu2-{r}") } else { format!("cpu-{r}") },
                        service_namespace: "ecs".into(),
                        resource_id: t.resource_id().into(),
                        scalable_dimension: "ecs:service:DesiredCount".into(),
                        policy_type: "TargetTrackingScaling".into(),
                        target_tracking_scaling_policy_configuration: Some(cpu),
                        ..Default::default()
                    },
                    Options::new().provider(key),
                );
                // A step policy, changed in place in v1.
                s.add_with(
                    &format!("step-{r}"),
                    ScalingPolicy {
                        name: format!("step-{r}"),
                        service_namespace: "ecs".into(),
                        resource_id: t.resource_id().into(),
                        scalable_dimension: "ecs:service:DesiredCount".into(),
                        policy_type: "StepScaling".into(),
                        step_scaling_policy_configuration: Some(StepScaling {
                            adjustment_type: "ChangeInCapacity".into(),
                            step_adjustments: vec![StepAdjustment {
                                metric_interval_lower_bound: Some(0.0),
                                metric_interval_upper_bound: None,
                                scaling_adjustment: if v == 0 { 1 } else { 2 },
                            }],
                            cooldown: Some(60),
                            metric_aggregation_type: Some("Average".into()),
                            min_adjustment_magnitude: None,
                        }),
                        ..Default::default()
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["cpu-us", "cpu-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_put_or_register_answer_is_adopted_by_key() {
    for action in ["PutScalingPolicy", "RegisterScalableTarget"] {
        let w = world_through_proxy();
        let (mut s, us, _) = stack("lost");
        let t = target(&mut s, &us, "us", "us-east-1", false, 2, 20);
        s.add_with(
            "cpu-us",
            ScalingPolicy {
                name: "cpu-us".into(),
                service_namespace: "ecs".into(),
                resource_id: t.resource_id().into(),
                scalable_dimension: "ecs:service:DesiredCount".into(),
                policy_type: "TargetTrackingScaling".into(),
                target_tracking_scaling_policy_configuration: Some(TargetTracking::predefined(
                    "ECSServiceAverageCPUUtilization",
                    70.0,
                )),
                ..Default::default()
            },
            Options::new().provider(&us),
        );
        proxy().set(vec![Fault::new(action, 1, Effect::LoseResponse)]);
        let (o, _) = w.apply(&s).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), Effect::LoseResponse)],
            "{action}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action}: {:?}", o.report);
        let aas = client(&w, "us-east-1");
        let ns = aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs;
        let targets = aas.describe_scalable_targets().service_namespace(ns.clone()).send().await.unwrap();
        assert_eq!(targets.scalable_targets().len(), 1, "{action}");
        let policies = aas.describe_scaling_policies().service_namespace(ns).send().await.unwrap();
        assert_eq!(policies.scaling_policies().len(), 1, "{action}");
        let policy = o.state.resources.get(&addr("cpu-us")).unwrap();
        assert!(policy.outputs.contains_key("arn"), "{action}: {:?}", policy.outputs);
        assert!(w.converged(&s).await, "{action}: the plan after apply is not empty");
    }
}
