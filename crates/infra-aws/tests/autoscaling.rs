//! EC2 Auto Scaling on the emulator, in both regions: the group's and the
//! policy's lifecycle (create, refreshed plan empty, update in place, plan
//! empty, force-new replace in the right order, destroy); a lost
//! `CreateAutoScalingGroup` answer (the emulator overwrites a duplicate
//! name instead of refusing it, so only adoption keeps one group); desired
//! capacity changed outside; the instance refresh the emulator cannot
//! start, refused visibly; the seed's web tier's policies scaling their group.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use infra_aws::autoscaling::{
    AdjustmentType, AutoScalingGroup, AutoScalingPolicy, GroupLaunchTemplate, GroupTag, InstanceRefresh,
    PolicyType, StepAdjustment, TemplateVersion,
};
use infra_aws::ec2::{LaunchTemplate, Subnet, Vpc};
use infra_core::plan::PlanOptions;
use infra_core::{Handle, Options, ProviderKey, ReplaceOrder, Stack};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

/// An AMI the emulator knows in every region.
const AMI: &str = "ami-12c6146b";

struct Net {
    lt: Handle<LaunchTemplate>,
    subnets: Vec<Handle<Subnet>>,
}

/// A VPC with two subnets and a launch template in `key`'s region; `r` is
/// `us` or `eu`. `lt_v` ≥ 1 changes the template's data (a new version).
fn network(s: &mut Stack, key: &ProviderKey, r: &str, lt_v: u8) -> Net {
    let region = if r == "us" { REGIONS[0] } else { REGIONS[1] };
    let octet = if r == "us" { 1 } else { 2 };
    let on = Options::new().provider(key);
    let vpc = s.add_with(
        &format!("{r}-vpc"),
        Vpc { cidr_block: format!("10.{octet}.0.0/16"), enable_dns_support: true, ..Default::default() },
        on.clone(),
    );
    let subnets = ["a", "b"]
        .into_iter()
        .enumerate()
        .map(|(i, az)| {
            s.add_with(
                &format!("{r}-app-{az}"),
                Subnet {
                    vpc_id: vpc.id().into(),
                    cidr_block: format!("10.{octet}.{}.0/24", i + 1),
                    availability_zone: format!("{region}{az}"),
                    ..Default::default()
                },
                on.clone(),
            )
        })
        .collect();
    let lt = s.add_with(
        &format!("{r}-web-lt"),
        LaunchTemplate {
            name: format!("{r}-web"),
            image_id: Some(infra_aws::AmiId::new(AMI).unwrap().into()),
            instance_type: Some(if lt_v >= 1 { "t3.small".into() } else { "t3.micro".into() }),
            ..Default::default()
        },
        on,
    );
    Net { lt, subnets }
}

fn both<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str); 2] {
    [(us, "us"), (eu, "eu")]
}

/// The web tier's group: v0 as the seed, v1 every updatable field
/// changed, v2 renamed.
fn group(s: &mut Stack, key: &ProviderKey, r: &str, net: &Net, v: u8) -> Handle<AutoScalingGroup> {
    let env = if v == 0 { "prod" } else { "production" };
    let mut tag =
        vec![GroupTag::propagated("Name", &format!("{r}-web-asg")), GroupTag::propagated("Environment", env)];
    if v >= 1 {
        tag.remove(0);
        tag.push(GroupTag::group_only("Team", "web"));
    }
    let subnets = if v == 0 { &net.subnets[..1] } else { &net.subnets[..] };
    s.add_with(
        &format!("{r}-web-asg"),
        AutoScalingGroup {
            name: if v == 2 { format!("{r}-web-asg-2") } else { format!("{r}-web-asg") },
            launch_template: GroupLaunchTemplate {
                id: net.lt.id().into(),
                version: if v == 0 || r == "us" {
                    TemplateVersion::Number(net.lt.latest_version().into())
                } else {
                    TemplateVersion::Latest
                },
            },
            min_size: if v == 0 { 1 } else { 2 },
            max_size: if v == 0 { 3 } else { 4 },
            desired_capacity: Some(if v == 0 { 2 } else { 3 }),
            vpc_zone_identifier: subnets.iter().map(|n| n.id().into()).collect(),
            health_check_type: (v >= 1).then(|| "ELB".into()),
            // Not 0: the emulator stores 300 for a grace period of 0.
            health_check_grace_period: Some(if v == 0 { 60 } else { 300 }),
            // Set at create in every version: the emulator's
            // UpdateAutoScalingGroup ignores both (AWS updates them).
            default_cooldown: Some(120),
            termination_policies: vec!["OldestInstance".into(), "Default".into()],
            tag,
            // The emulator cannot refresh instances: only the us group asks
            // for it, and keeps its template version in v1.
            instance_refresh: (r == "us").then(|| InstanceRefresh::rolling(50).into()),
            wait_for_capacity: v == 0,
            ..Default::default()
        },
        Options::new().provider(key),
    )
}

fn autoscaling(w: &World, region: &str) -> aws_sdk_autoscaling::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_autoscaling::Client::from_conf(aws_sdk_autoscaling::config::Builder::from(&sdk).build())
}

/// The groups the emulator holds in `region`.
async fn groups(w: &World, region: &str) -> Vec<aws_sdk_autoscaling::types::AutoScalingGroup> {
    let out = autoscaling(w, region).describe_auto_scaling_groups().send().await.unwrap();
    out.auto_scaling_groups().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_lifecycle() {
    lifecycle(
        "asg",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                let net = network(s, key, r, 0);
                group(s, key, r, &net, v);
            }
        },
        &["us-web-asg", "eu-web-asg"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_settings_reach_the_cloud_with_the_engine_tags_not_propagated() {
    let w = world();
    let (mut s, us, _) = stack("tags");
    let net = network(&mut s, &us, "us", 0);
    group(&mut s, &us, "us", &net, 1);
    w.apply(&s).await;
    let g = groups(&w, REGIONS[0]).await.pop().unwrap();
    assert_eq!((g.min_size(), g.max_size(), g.desired_capacity()), (Some(2), Some(4), Some(3)));
    assert_eq!(g.health_check_type(), Some("ELB"));
    assert_eq!(g.termination_policies(), ["OldestInstance", "Default"]);
    assert_eq!(g.vpc_zone_identifier().unwrap().split(',').count(), 2);
    let propagated: Vec<(&str, bool)> =
        g.tags().iter().map(|t| (t.key().unwrap(), t.propagate_at_launch().unwrap())).collect();
    for (k, p) in &propagated {
        let wanted = *k == "Environment";
        assert_eq!(*p, wanted, "{k}: propagate_at_launch {p}: {propagated:?}");
    }
    assert!(propagated.iter().any(|(k, _)| *k == "infra:stack"), "{propagated:?}");
    assert_eq!(g.instances().len(), 3, "the emulator launched the desired capacity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_lifecycle() {
    lifecycle(
        "policy",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                let net = network(s, key, r, 0);
                let asg = group(s, key, r, &net, 0);
                let on = Options::new().provider(key);
                let name = |n: &str| if v == 2 { format!("{r}-{n}-2") } else { format!("{r}-{n}") };
                s.add_with(
                    &format!("{r}-scale-up"),
                    AutoScalingPolicy {
                        name: name("scale-up"),
                        autoscaling_group_name: asg.name().into(),
                        policy_type: PolicyType::change_in_capacity(if v == 0 { 1 } else { 2 }, 300),
                    },
                    on.clone(),
                );
                // v1 turns the simple policy into a step policy, in place.
                let down = if v == 0 {
                    PolicyType::change_in_capacity(-1, 300)
                } else {
                    PolicyType::StepScaling {
                        adjustment_type: AdjustmentType::PercentChangeInCapacity,
                        step_adjustments: vec![
                            StepAdjustment {
                                metric_interval_upper_bound: Some(-10.0),
                                scaling_adjustment: -20,
                                ..Default::default()
                            },
                            StepAdjustment {
                                metric_interval_lower_bound: Some(-10.0),
                                metric_interval_upper_bound: Some(0.0),
                                scaling_adjustment: -10,
                            },
                        ],
                        metric_aggregation_type: Some("Maximum".into()),
                        estimated_instance_warmup: Some(120),
                        min_adjustment_magnitude: Some(1),
                    }
                };
                s.add_with(
                    &format!("{r}-scale-down"),
                    AutoScalingPolicy {
                        name: name("scale-down"),
                        autoscaling_group_name: asg.name().into(),
                        policy_type: down,
                    },
                    on.clone(),
                );
                s.add_with(
                    &format!("{r}-cpu"),
                    AutoScalingPolicy {
                        name: name("cpu"),
                        autoscaling_group_name: asg.name().into(),
                        policy_type: PolicyType::average_cpu(if v == 0 { 60.0 } else { 55.5 }),
                    },
                    on,
                );
            }
        },
        &["us-scale-up", "us-scale-down", "us-cpu", "eu-scale-up", "eu-scale-down", "eu-cpu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// The seed's web tier in `key`'s region: launch template, group, the
/// scale-up and scale-down policies.
fn web_tier(s: &mut Stack, key: &ProviderKey, r: &str) {
    let net = network(s, key, r, 0);
    let asg = group(s, key, r, &net, 0);
    for (n, by) in [("up", 1), ("down", -1)] {
        let p = s.add_with(
            &format!("{r}-web-scale-{n}"),
            AutoScalingPolicy {
                name: format!("prod-web-scale-{n}"),
                autoscaling_group_name: asg.name().into(),
                policy_type: PolicyType::SimpleScaling {
                    adjustment_type: AdjustmentType::ChangeInCapacity,
                    scaling_adjustment: by,
                    cooldown: Some(300),
                    min_adjustment_magnitude: None,
                },
            },
            Options::new().provider(key),
        );
        s.export(&format!("{r}_scale_{n}_arn"), p.arn());
    }
    s.export(&format!("{r}_asg_name"), asg.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_web_tier_policies_have_the_arns_alarms_need_and_scale_the_group() {
    let w = world();
    let (mut s, us, eu) = stack("web");
    for (key, r) in both(&us, &eu) {
        web_tier(&mut s, key, r);
    }
    let (o, _) = w.apply(&s).await;
    assert!(w.converged(&s).await);
    for (region, r) in [(REGIONS[0], "us"), (REGIONS[1], "eu")] {
        let output = |name: &str| {
            let o = o.state.outputs.get(name).unwrap_or_else(|| panic!("{name}: {:?}", o.state.outputs));
            o.as_str().unwrap().to_owned()
        };
        let (up, group) = (output(&format!("{r}_scale_up_arn")), output(&format!("{r}_asg_name")));
        assert!(
            up.starts_with(&format!("arn:aws:autoscaling:{region}:")) && up.contains("scalingPolicy"),
            "{up}"
        );
        // The seed's CPU alarms take this ARN as their action. (They are
        // not made here: the SDK's CloudWatch client speaks the RPC v2 CBOR
        // protocol, which the emulator answers with 404.)
        let asg = autoscaling(&w, region);
        let listed = asg.describe_policies().auto_scaling_group_name(&group).send().await.unwrap();
        let arn_of = |name: &str| {
            let p = listed.scaling_policies().iter().find(|p| p.policy_name() == Some(name)).unwrap();
            p.policy_arn().unwrap().to_owned()
        };
        assert_eq!(arn_of("prod-web-scale-up"), up);
        assert_eq!(arn_of("prod-web-scale-down"), output(&format!("{r}_scale_down_arn")));
        // The policy acts on the group (alarm actions never fire on the
        // emulator, and its ExecutePolicy takes a name, not the ARN AWS
        // also takes: execute it by name).
        asg.execute_policy()
            .auto_scaling_group_name(&group)
            .policy_name("prod-web-scale-up")
            .honor_cooldown(false)
            .send()
            .await
            .unwrap();
        let g = groups(&w, region).await.pop().unwrap();
        assert_eq!(g.desired_capacity(), Some(3), "{r}: the scale-up policy added one instance");
    }
    // Scaled by its policy: drift the plan shows, and undoes.
    let (o, _) = w.apply(&s).await;
    let updated: Vec<String> = o.plan.actionable().map(|c| c.address.to_string()).collect();
    assert_eq!(updated, ["eu-web-asg", "us-web-asg"], "{updated:?}");
    assert!(w.converged(&s).await);
    w.destroy(&s).await;
    for region in REGIONS {
        assert!(groups(&w, region).await.is_empty(), "{region}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_group() {
    let cases = [
        ("CreateAutoScalingGroup", Effect::LoseResponse),
        ("CreateAutoScalingGroup", Effect::Throttle),
        ("CreateAutoScalingGroup", Effect::Unavailable),
        ("PutScalingPolicy", Effect::LoseResponse),
        ("PutScalingPolicy", Effect::ServerError),
    ];
    for (action, effect) in cases {
        let w = world_through_proxy();
        let (mut s, us, _) = stack("lost");
        web_tier(&mut s, &us, "us");
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&s).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        let all = groups(&w, REGIONS[0]).await;
        assert_eq!(all.len(), 1, "{action} {effect:?}");
        assert_eq!(all[0].instances().len(), 2, "{action} {effect:?}: {:?}", all[0].instances());
        // The emulator overwrites a duplicate create, orphaning the first
        // group's instances (still running): a create that reached it twice
        // would leave four.
        let reservations = w.ec2(REGIONS[0]).describe_instances().send().await.unwrap();
        let running = reservations
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter(|i| i.state().and_then(|s| s.name()).is_some_and(|n| n.as_str() != "terminated"))
            .count();
        assert_eq!(running, 2, "{action} {effect:?}: instances of a second create");
        if effect == Effect::LoseResponse && action == "CreateAutoScalingGroup" {
            // The lost create was found by its token and adopted, not sent
            // again.
            let calls = w.stats(&us).snapshot().get("CreateAutoScalingGroup").copied();
            assert_eq!(calls, Some(1), "the lost create was repeated");
        }
        let policies = autoscaling(&w, REGIONS[0]).describe_policies().send().await.unwrap();
        assert_eq!(policies.scaling_policies().len(), 2, "{action} {effect:?}");
        assert_eq!(o.state.resources.len(), 7, "{action} {effect:?}");
        assert!(w.converged(&s).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desired_capacity_changed_outside_shows_in_the_plan_and_is_undone() {
    let w = world();
    let (mut s, us, _) = stack("drift");
    let net = network(&mut s, &us, "us", 0);
    group(&mut s, &us, "us", &net, 0);
    w.apply(&s).await;
    autoscaling(&w, REGIONS[0])
        .update_auto_scaling_group()
        .auto_scaling_group_name("us-web-asg")
        .desired_capacity(3)
        .send()
        .await
        .unwrap();
    let preview = w.preview(&s).await;
    let change = preview.plan.change(&addr("us-web-asg")).unwrap();
    assert!(matches!(change.action, infra_core::Action::Update), "{:?}", change.action);
    w.apply(&s).await;
    assert_eq!(groups(&w, REGIONS[0]).await[0].desired_capacity(), Some(2));
    assert!(w.converged(&s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_template_version_starts_an_instance_refresh_which_the_emulator_refuses_visibly() {
    let w = world();
    let version = |lt_v: u8| {
        let (mut s, us, _) = stack("refresh");
        let net = network(&mut s, &us, "us", lt_v);
        group(&mut s, &us, "us", &net, 0);
        s
    };
    w.apply(&version(0)).await;
    // The engine plans with an updated resource's recorded outputs: the
    // first apply makes the template's version 2, the next one moves the
    // group to it.
    let (o, _) = w.apply(&version(1)).await;
    let applied: Vec<String> = o.report.applied.iter().map(|(a, _)| a.to_string()).collect();
    assert_eq!(applied, ["us-web-lt"]);
    // A new template version changes the group's version number: the
    // group is updated, then StartInstanceRefresh, which the emulator does
    // not implement (HTTP 500). The apply fails, saying the refresh did not
    // start, rather than passing over it.
    let (o, _) = w.run(&version(1), Mode::Apply(PlanOptions::default())).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let (address, _, error) = &o.report.failed[0];
    assert_eq!(address.to_string(), "us-web-asg");
    assert!(
        error.contains("instance refresh did not start") && error.contains("start-instance-refresh"),
        "{error}"
    );
    let g = groups(&w, REGIONS[0]).await.pop().unwrap();
    assert_eq!(g.launch_template().unwrap().version(), Some("2"), "the group launches the new version");
    let calls: u64 =
        w.stats.iter().map(|(_, s)| s.snapshot().get("StartInstanceRefresh").copied().unwrap_or(0)).sum();
    assert_eq!(calls, 1, "one refresh asked, not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_sizes_and_a_duplicate_name_are_refused_before_any_call() {
    let (mut s, us, _) = stack("invalid");
    let net = network(&mut s, &us, "us", 0);
    s.add_with(
        "bad",
        AutoScalingGroup {
            name: "web".into(),
            launch_template: GroupLaunchTemplate {
                id: net.lt.id().into(),
                version: TemplateVersion::Default,
            },
            min_size: 2,
            max_size: 4,
            desired_capacity: Some(5),
            vpc_zone_identifier: vec![net.subnets[0].id().into()],
            tag: vec![GroupTag::propagated("Name", "a"), GroupTag::propagated("Name", "b")],
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "twin",
        AutoScalingGroup {
            name: "web".into(),
            launch_template: GroupLaunchTemplate { id: net.lt.id().into(), version: TemplateVersion::Latest },
            min_size: 1,
            max_size: 1,
            vpc_zone_identifier: vec![net.subnets[0].id().into()],
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    let problems = s.validate().unwrap_err().to_string();
    for expected in ["desired_capacity", "tag[1].key", "already declares an Auto Scaling group of this name"]
    {
        assert!(problems.contains(expected), "{expected}: {problems}");
    }
}
