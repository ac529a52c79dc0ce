//! ELBv2 on the emulator: each type's lifecycle in both regions (create,
//! refreshed plan empty, update in place, plan empty, force-new replace in
//! the right order, destroy) over a VPC, subnets in three zones and
//! security groups made by the EC2 types; weighted forwards (canaries); a
//! lost or refused CreateLoadBalancer answer; a listener's default action
//! changed outside; deletion protection, which the emulator ignores,
//! refused by infra as AWS refuses it; the rules checked before any call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::ec2::{SecurityGroup, Subnet, Vpc};
use infra_aws::elbv2::{
    AccessLogs, Action, Alb, Condition, ForwardStickiness, HealthCheck, Listener, ListenerRule,
    QueryStringPair, Stickiness, TargetGroup,
};
use infra_aws::ids::{BucketName, CertificateArn, SecurityGroupId, SubnetId, VpcId};
use infra_core::{Handle, Input, Options, Output, ProviderKey, ReplaceOrder, Stack};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

fn both<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str, &'static str); 2] {
    [(us, "us", REGIONS[0]), (eu, "eu", REGIONS[1])]
}

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))])
}

/// A VPC, subnets in three zones and two security groups, per region.
struct Net {
    vpc: Output<VpcId>,
    subnets: Vec<Output<SubnetId>>,
    groups: Vec<Output<SecurityGroupId>>,
}

fn net(s: &mut Stack, key: &ProviderKey, r: &str, region: &str) -> Net {
    let at = |name: &str| format!("{r}-{name}");
    let opts = || Options::new().provider(key);
    let vpc = s.add_with(&at("vpc"), Vpc { cidr_block: "10.8.0.0/16".into(), ..Default::default() }, opts());
    let subnets = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, az)| {
            let subnet = Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: format!("10.8.{i}.0/24"),
                availability_zone: format!("{region}{az}"),
                map_public_ip_on_launch: false,
                tags: BTreeMap::new(),
            };
            s.add_with(&at(&format!("subnet-{az}")), subnet, opts()).id()
        })
        .collect();
    let groups = ["alb", "extra"]
        .iter()
        .map(|g| {
            let sg = SecurityGroup {
                name: format!("{r}-{g}"),
                description: "the load balancer".into(),
                vpc_id: vpc.id().into(),
                ..Default::default()
            };
            s.add_with(&at(&format!("sg-{g}")), sg, opts()).id()
        })
        .collect();
    Net { vpc: vpc.id(), subnets, groups }
}

fn alb(net: &Net, name: &str) -> Alb {
    Alb {
        name: name.to_owned(),
        subnets: net.subnets[..2].iter().map(Input::from).collect(),
        security_groups: vec![net.groups[0].clone().into()],
        ..Default::default()
    }
}

fn target_group(net: &Net, name: &str, port: i32) -> TargetGroup {
    TargetGroup {
        name: name.to_owned(),
        port,
        protocol: "HTTP".into(),
        vpc_id: net.vpc.clone().into(),
        target_type: Some("ip".into()),
        ..Default::default()
    }
}

fn add<R: infra_core::Resource + serde::Serialize>(
    s: &mut Stack,
    key: &ProviderKey,
    name: &str,
    r: R,
) -> Handle<R> {
    s.add_with(name, r, Options::new().provider(key))
}

fn elbv2(w: &World, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_elasticloadbalancingv2::Client::from_conf(
        aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk).build(),
    )
}

/// A certificate in the emulator's ACM (a listener's HTTPS fixture).
async fn certificate(w: &World, region: &str) -> String {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    let acm = aws_sdk_acm::Client::from_conf(aws_sdk_acm::config::Builder::from(&sdk).build());
    let out = acm.request_certificate().domain_name("www.example.com").send().await.unwrap();
    out.certificate_arn().unwrap().to_owned()
}

/// Load balancers named `name` in `region`, asked of the emulator (every
/// one: `Names=` answers only the newest of a duplicated name).
async fn load_balancers(w: &World, region: &str, name: &str) -> Vec<String> {
    let out = elbv2(w, region).describe_load_balancers().send().await.unwrap();
    out.load_balancers()
        .iter()
        .filter(|lb| lb.load_balancer_name() == Some(name))
        .map(|lb| lb.load_balancer_arn().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer() {
    lifecycle_with(
        "alb",
        async |w: &World| {
            for r in REGIONS {
                w.bucket(r, &format!("alb-logs-{r}")).await;
            }
        },
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let net = net(s, key, r, region);
                let mut lb = alb(&net, &format!("web-{r}"));
                lb.tags = tags(v);
                if v >= 1 {
                    lb.subnets = net.subnets.iter().map(Input::from).collect();
                    lb.security_groups = net.groups.iter().map(Input::from).collect();
                    lb.idle_timeout = Some(120);
                    lb.enable_http2 = Some(false);
                    lb.drop_invalid_header_fields = true;
                    lb.enable_cross_zone_load_balancing = Some(true);
                    lb.access_logs = Some(AccessLogs {
                        bucket: BucketName::new(format!("alb-logs-{region}")).unwrap().into(),
                        prefix: Some("alb".into()),
                        enabled: true,
                    });
                }
                // v2 makes it internal: a replacement, destroy first (the
                // name is unique per region).
                lb.internal = v == 2;
                add(s, key, &format!("{r}-alb"), lb);
            }
        },
        &["us-alb", "eu-alb"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_group_lifecycle() {
    lifecycle(
        "tg",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let net = net(s, key, r, region);
                // v2: another port, so another name (create first).
                let (name, port) =
                    if v == 2 { (format!("{r}-api-tg"), 8080) } else { (format!("{r}-web-tg"), 80) };
                let mut tg = target_group(&net, &name, port);
                tg.tags = tags(v);
                // v0 spells out AWS's defaults, as the seed does.
                tg.health_check = Some(if v == 0 {
                    HealthCheck {
                        enabled: Some(true),
                        healthy_threshold: Some(2),
                        interval: Some(30),
                        matcher: Some("200".into()),
                        path: Some("/health".into()),
                        port: Some("traffic-port".into()),
                        protocol: Some("HTTP".into()),
                        timeout: Some(5),
                        unhealthy_threshold: Some(2),
                    }
                } else {
                    HealthCheck {
                        path: Some("/healthz".into()),
                        interval: Some(15),
                        timeout: Some(10),
                        matcher: Some("200-299".into()),
                        unhealthy_threshold: Some(3),
                        ..Default::default()
                    }
                });
                if v >= 1 {
                    tg.deregistration_delay = Some(30);
                    tg.stickiness = Some(Stickiness {
                        type_: "lb_cookie".into(),
                        cookie_duration: Some(3600),
                        enabled: true,
                        ..Default::default()
                    });
                } else {
                    tg.deregistration_delay = Some(300);
                }
                add(s, key, &format!("{r}-tg"), tg);
            }
        },
        &["us-tg", "eu-tg"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener() {
    let certs = std::sync::Mutex::new(BTreeMap::new());
    lifecycle_with(
        "listener",
        async |w: &World| {
            for r in REGIONS {
                let arn = certificate(w, r).await;
                certs.lock().unwrap().insert(r, arn);
            }
        },
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let net = net(s, key, r, region);
                let lb_a = add(s, key, &format!("{r}-alb-a"), alb(&net, &format!("{r}-a")));
                let lb_b = add(s, key, &format!("{r}-alb-b"), alb(&net, &format!("{r}-b")));
                let blue = add(s, key, &format!("{r}-blue"), target_group(&net, &format!("{r}-blue"), 80));
                let green = add(s, key, &format!("{r}-green"), target_group(&net, &format!("{r}-green"), 80));
                let cert = certs.lock().unwrap().get(region).cloned().unwrap();
                let mut l = Listener {
                    // v2 moves it to another load balancer: a replacement.
                    load_balancer_arn: if v == 2 { lb_b.arn() } else { lb_a.arn() }.into(),
                    port: 80,
                    protocol: "HTTP".into(),
                    default_actions: vec![Action::redirect_to_https()],
                    tags: tags(v),
                    ..Default::default()
                };
                if v >= 1 {
                    l.port = 443;
                    l.protocol = "HTTPS".into();
                    l.ssl_policy = Some("ELBSecurityPolicy-TLS-1-2-2017-01".into());
                    l.certificate_arn = Some(CertificateArn::new(cert).unwrap().into());
                    let mut forward = Action::forward_weighted([(blue.arn(), 80), (green.arn(), 20)]);
                    if let Action::Forward(f) = &mut forward {
                        f.stickiness = Some(ForwardStickiness { enabled: true, duration: Some(600) });
                    }
                    l.default_actions = vec![forward];
                }
                add(s, key, &format!("{r}-listener"), l);
            }
        },
        &["us-listener", "eu-listener"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// A listener answering 404 itself, the fixture of rule tests.
fn listener_404(lb: &Handle<Alb>, port: i32) -> Listener {
    Listener {
        load_balancer_arn: lb.arn().into(),
        port,
        protocol: "HTTP".into(),
        default_actions: vec![Action::fixed_response("404", "text/plain", "no route")],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_rule() {
    lifecycle(
        "rule",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let net = net(s, key, r, region);
                let lb = add(s, key, &format!("{r}-alb"), alb(&net, &format!("{r}-alb")));
                let l80 = add(s, key, &format!("{r}-l80"), listener_404(&lb, 80));
                let l81 = add(s, key, &format!("{r}-l81"), listener_404(&lb, 81));
                let stable =
                    add(s, key, &format!("{r}-stable"), target_group(&net, &format!("{r}-stable"), 80));
                let canary =
                    add(s, key, &format!("{r}-canary"), target_group(&net, &format!("{r}-canary"), 80));
                let mut rule = ListenerRule {
                    // v2 moves it to another listener: a replacement.
                    listener_arn: if v == 2 { l81.arn() } else { l80.arn() }.into(),
                    priority: 100,
                    conditions: vec![Condition::PathPattern(vec!["/api/*".into()])],
                    actions: vec![Action::forward(stable.arn())],
                    tags: tags(v),
                };
                if v >= 1 {
                    rule.priority = 200;
                    rule.conditions = vec![
                        Condition::PathPattern(vec!["/api/*".into(), "/v2/*".into()]),
                        Condition::HostHeader(vec!["api.example.com".into()]),
                        Condition::HttpHeader { name: "X-Canary".into(), values: vec!["1".into()] },
                        Condition::QueryString(vec![QueryStringPair {
                            key: Some("v".into()),
                            value: "2".into(),
                        }]),
                    ];
                    rule.actions = vec![Action::forward_weighted([(stable.arn(), 90), (canary.arn(), 10)])];
                }
                add(s, key, &format!("{r}-rule"), rule);
            }
        },
        &["us-rule", "eu-rule"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// One region's load balancer with a listener whose rule splits traffic
/// between two target groups by `weights`.
fn canary_stack(weights: (i32, i32)) -> Stack {
    let (mut s, us, _) = stack("canary");
    let net = net(&mut s, &us, "us", REGIONS[0]);
    let lb = add(&mut s, &us, "alb", alb(&net, "canary-alb"));
    let stable = add(&mut s, &us, "stable", target_group(&net, "stable", 80));
    let canary = add(&mut s, &us, "canary", target_group(&net, "canary", 80));
    let listener = add(&mut s, &us, "listener", listener_404(&lb, 80));
    add(
        &mut s,
        &us,
        "rule",
        ListenerRule {
            listener_arn: listener.arn().into(),
            priority: 10,
            conditions: vec![
                Condition::HttpRequestMethod(vec!["GET".into()]),
                Condition::SourceIp(vec!["10.0.0.0/8".into()]),
            ],
            actions: vec![Action::forward_weighted([(stable.arn(), weights.0), (canary.arn(), weights.1)])],
            tags: BTreeMap::new(),
        },
    );
    s
}

/// The weights of the one rule with a priority, by target group name.
async fn weights(w: &World) -> BTreeMap<String, i32> {
    let elb = elbv2(w, REGIONS[0]);
    let lbs = elb.describe_load_balancers().names("canary-alb").send().await.unwrap();
    let lb = lbs.load_balancers()[0].load_balancer_arn().unwrap();
    let listeners = elb.describe_listeners().load_balancer_arn(lb).send().await.unwrap();
    let l = listeners.listeners()[0].listener_arn().unwrap();
    let rules = elb.describe_rules().listener_arn(l).send().await.unwrap();
    let rule = rules.rules().iter().find(|r| r.is_default() != Some(true)).unwrap();
    let config = rule.actions()[0].forward_config().unwrap();
    config
        .target_groups()
        .iter()
        .map(|t| (t.target_group_arn().unwrap().split('/').nth(1).unwrap().to_owned(), t.weight().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_weights_change_in_place() {
    let w = world();
    w.apply(&canary_stack((80, 20))).await;
    assert_eq!(weights(&w).await, BTreeMap::from([("canary".into(), 20), ("stable".into(), 80)]));
    assert!(w.converged(&canary_stack((80, 20))).await);
    let (o, _) = w.apply(&canary_stack((50, 50))).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions, vec![("rule".to_owned(), infra_core::Action::Update)], "{actions:?}");
    assert_eq!(weights(&w).await, BTreeMap::from([("canary".into(), 50), ("stable".into(), 50)]));
    assert!(w.converged(&canary_stack((50, 50))).await);
    w.destroy(&canary_stack((50, 50))).await;
}

/// A load balancer with attributes (set by a follow-up call).
fn alb_stack(name: &str) -> Stack {
    let (mut s, us, _) = stack(name);
    let net = net(&mut s, &us, "us", REGIONS[0]);
    let mut lb = alb(&net, &format!("{name}-alb"));
    lb.idle_timeout = Some(300);
    lb.drop_invalid_header_fields = true;
    add(&mut s, &us, "alb", lb);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_load_balancer_whose_answer_is_lost_or_refused_leaves_one_load_balancer() {
    let cases = [
        ("CreateLoadBalancer", Effect::LoseResponse),
        ("CreateLoadBalancer", Effect::Throttle),
        ("CreateLoadBalancer", Effect::Unavailable),
        ("ModifyLoadBalancerAttributes", Effect::LoseResponse),
        ("ModifyLoadBalancerAttributes", Effect::Unavailable),
    ];
    for (i, (action, effect)) in cases.into_iter().enumerate() {
        let w = world_through_proxy();
        let name = format!("lost{i}");
        let stack = alb_stack(&name);
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        let arns = load_balancers(&w, REGIONS[0], &format!("{name}-alb")).await;
        assert_eq!(arns.len(), 1, "{action} {effect:?}: {arns:?}");
        let recorded = o.state.resources.get(&addr("alb")).map(|r| r.id.clone());
        assert_eq!(recorded.as_deref(), Some(arns[0].as_str()), "{action} {effect:?}");
        let attrs =
            elbv2(&w, REGIONS[0]).describe_load_balancer_attributes().load_balancer_arn(&arns[0]).send();
        let attrs = attrs.await.unwrap();
        let idle = attrs.attributes().iter().find(|a| a.key() == Some("idle_timeout.timeout_seconds"));
        assert_eq!(idle.and_then(|a| a.value()), Some("300"), "{action} {effect:?}: the attributes are set");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

fn drift_stack() -> Stack {
    let (mut s, us, _) = stack("drift");
    let net = net(&mut s, &us, "us", REGIONS[0]);
    let lb = add(&mut s, &us, "alb", alb(&net, "drift-alb"));
    let tg = add(&mut s, &us, "tg", target_group(&net, "drift-tg", 80));
    add(
        &mut s,
        &us,
        "listener",
        Listener {
            load_balancer_arn: lb.arn().into(),
            port: 80,
            protocol: "HTTP".into(),
            default_actions: vec![Action::forward(tg.arn())],
            tags: tags(0),
            ..Default::default()
        },
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_action_changed_outside_shows_in_the_plan_and_is_undone() {
    let w = world();
    let stack = drift_stack();
    let (o, _) = w.apply(&stack).await;
    let listener = o.state.resources.get(&addr("listener")).unwrap().id.clone();
    let elb = elbv2(&w, REGIONS[0]);
    let fixed = aws_sdk_elasticloadbalancingv2::types::Action::builder()
        .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder()
                .content_type("text/plain")
                .status_code("503")
                .build(),
        )
        .build();
    elb.modify_listener().listener_arn(&listener).default_actions(fixed).send().await.unwrap();
    elb.remove_tags().resource_arns(&listener).tag_keys("team").send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions, vec![("listener".to_owned(), infra_core::Action::Update)], "{actions:?}");
    let after = elb.describe_listeners().listener_arns(&listener).send().await.unwrap();
    let action = &after.listeners()[0].default_actions()[0];
    assert_eq!(action.r#type().map(|t| t.as_str()), Some("forward"), "the forward is back: {action:?}");
    let tags = elb.describe_tags().resource_arns(&listener).send().await.unwrap();
    assert!(tags.tag_descriptions()[0].tags().iter().any(|t| t.key() == Some("team")), "the tag is back");
    assert!(w.converged(&stack).await);
}

fn protected_stack(protect: bool) -> Stack {
    let (mut s, us, _) = stack("protected");
    let net = net(&mut s, &us, "us", REGIONS[0]);
    let mut lb = alb(&net, "protected-alb");
    lb.enable_deletion_protection = protect;
    add(&mut s, &us, "alb", lb);
    s
}

/// The emulator deletes a protected load balancer; AWS answers
/// OperationNotPermitted. infra refuses before the call, as AWS would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_balancer_with_deletion_protection_is_not_destroyed() {
    let w = world();
    w.apply(&protected_stack(true)).await;
    assert!(w.converged(&protected_stack(true)).await);
    let (o, _) = w.run(&protected_stack(true), Mode::Destroy { targets: vec![] }).await;
    assert!(!o.report.success());
    let error = o.report.failed.iter().map(|f| f.2.clone()).collect::<Vec<_>>().join("; ");
    assert!(error.contains("enable_deletion_protection = false"), "{error}");
    assert_eq!(load_balancers(&w, REGIONS[0], "protected-alb").await.len(), 1, "it is still there");
    // Turned off (in place), then destroyed.
    let (o, _) = w.apply(&protected_stack(false)).await;
    // (The failed destroy did delete what the load balancer does not use.)
    assert_eq!(o.plan.change(&addr("alb")).map(|c| c.action.clone()), Some(infra_core::Action::Update));
    w.destroy(&protected_stack(false)).await;
    assert!(load_balancers(&w, REGIONS[0], "protected-alb").await.is_empty());
}

#[test]
fn rules_are_checked_before_any_call() {
    let (mut s, us, _) = stack("invalid");
    let net = net(&mut s, &us, "us", REGIONS[0]);
    let mut lb = alb(&net, "bad_name");
    lb.subnets.truncate(1);
    lb.enable_cross_zone_load_balancing = Some(false);
    let lb = add(&mut s, &us, "alb", lb);
    let mut tg = target_group(&net, "tg", 70000);
    tg.stickiness = Some(Stickiness { type_: "source_ip".into(), enabled: true, ..Default::default() });
    tg.health_check = Some(HealthCheck { timeout: Some(30), interval: Some(10), ..Default::default() });
    let tg = add(&mut s, &us, "tg", tg);
    let https = add(
        &mut s,
        &us,
        "https",
        Listener {
            load_balancer_arn: lb.arn().into(),
            port: 443,
            protocol: "HTTPS".into(),
            default_actions: vec![Action::forward(tg.arn()), Action::redirect_to_https()],
            ..Default::default()
        },
    );
    for name in ["rule-a", "rule-b"] {
        add(
            &mut s,
            &us,
            name,
            ListenerRule {
                listener_arn: https.arn().into(),
                priority: 7,
                conditions: Vec::new(),
                actions: vec![Action::forward_weighted([(tg.arn(), 1), (tg.arn(), 1000)])],
                tags: BTreeMap::new(),
            },
        );
    }
    let Err(e) = s.validate() else { panic!("the stack is invalid") };
    let text = e.to_string();
    for (address, field) in [
        ("alb", "name"),
        ("alb", "subnets"),
        ("alb", "enable_cross_zone_load_balancing"),
        ("tg", "port"),
        ("tg", "stickiness.type"),
        ("tg", "health_check.timeout"),
        ("https", "certificate_arn"),
        ("https", "ssl_policy"),
        ("https", "default_actions"),
        ("rule-a", "conditions"),
        ("rule-b", "priority"),
        ("rule-a", "actions[0].target_groups[1].weight"),
    ] {
        let expected = format!("{address}: field `{field}`");
        assert!(text.contains(&expected), "{expected} not reported:\n{text}");
    }
}
