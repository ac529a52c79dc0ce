//! The simulated provider's behaviour under paused virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use infra_core::{Fields, Value};
use infra_engine::provider::{TAG_ADDRESS, TAG_STACK, TAG_TOKEN};
use infra_engine::{
    ApiClass, CreateRequest, Deletion, ErrorKind, FindRequest, Operation, PollRequest, ProviderError,
    ReadRequest, Readiness, ResourceProvider,
};
use infra_sim::{
    CallOutcome, Error, FailureRule, Profile, RateLimit, RateLimits, SimCloud, SimConfig, SimStatus,
    TypeProfile,
};
use tokio::time::{Instant, sleep, timeout};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn read(ids: &[&str]) -> ReadRequest {
    ReadRequest::new(ids.iter().map(|s| (*s).to_owned()).collect())
}

#[tokio::test(start_paused = true)]
async fn create_poll_read_update_delete_find_round_trip() {
    // Calls take 2 s and resources are ready 10 s later, both halved.
    let cloud = SimCloud::new(config(Profile::uniform(secs(2), secs(10))).with_time_scale(0.5));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let inputs = fields(&[("cidr_block", "10.0.0.0/16".into())]);

    let t0 = Instant::now();
    let obs = vpc.create(create("net.vpc", "tok-1", inputs.clone())).await.unwrap();
    assert_eq!(t0.elapsed(), secs(1), "the create call takes the scaled create latency");
    assert_eq!(obs.id, "sim-00000001");
    assert_eq!(obs.inputs, inputs);
    assert_eq!(obs.outputs.get("id"), Some(&Value::string("sim-00000001")));
    assert_eq!(
        obs.outputs.get("arn"),
        Some(&Value::string("arn:aws:ec2:us-east-1:000000000000:sim-00000001"))
    );
    assert_eq!(obs.outputs.get("name"), Some(&Value::string("vpc")));

    // Ready exactly 5 s (10 s scaled) after the create returned.
    assert_eq!(
        vpc.poll(PollRequest::id(&obs.id)).await.unwrap(),
        Readiness::Pending { status: "creating".into() }
    );
    sleep(secs(5) - ms(1)).await;
    assert_eq!(
        vpc.poll(PollRequest::id(&obs.id)).await.unwrap(),
        Readiness::Pending { status: "creating".into() }
    );
    sleep(ms(1)).await;
    assert_eq!(
        vpc.poll(PollRequest::id(&obs.id)).await.unwrap(),
        Readiness::Ready { outputs: obs.outputs.clone() }
    );

    // One read for many IDs answers those that exist.
    let found = vpc.read(read(&[&obs.id, "sim-0000ffff"])).await.unwrap().found;
    assert_eq!(found, BTreeMap::from([(obs.id.clone(), obs.clone())]));

    // Update: applied, takes the update latency, modifying until ready again.
    let after = fields(&[("cidr_block", "10.0.0.0/16".into()), ("enable_dns_support", true.into())]);
    let t1 = Instant::now();
    let outputs = vpc.update(update("net.vpc", &obs.id, inputs.clone(), after.clone())).await.unwrap();
    assert_eq!(t1.elapsed(), secs(1));
    assert_eq!(outputs, obs.outputs);
    assert_eq!(
        vpc.poll(PollRequest::id(&obs.id)).await.unwrap(),
        Readiness::Pending { status: "modifying".into() }
    );
    sleep(secs(5)).await;
    assert!(matches!(vpc.poll(PollRequest::id(&obs.id)).await.unwrap(), Readiness::Ready { .. }));
    let stored = cloud.resource(&obs.id).unwrap();
    assert_eq!((stored.inputs, stored.status), (after, SimStatus::Available));

    // Find by the create's token.
    assert_eq!(vpc.find(find("net.vpc", "tok-1")).await.unwrap().map(|o| o.id), Some(obs.id.clone()));
    assert_eq!(vpc.find(find("net.vpc", "tok-other")).await.unwrap(), None);

    // Delete returns once the resource is gone.
    let t2 = Instant::now();
    vpc.delete(delete("net.vpc", &obs.id)).await.unwrap();
    assert_eq!(t2.elapsed(), secs(1));
    assert!(cloud.resources().is_empty());

    // Everything about a missing resource is NotFound; a read omits it.
    let kind = |r: Result<(), ProviderError>| r.unwrap_err().kind;
    assert_eq!(kind(vpc.delete(delete("net.vpc", &obs.id)).await.map(|_| ())), ErrorKind::NotFound);
    assert_eq!(
        kind(vpc.update(update("net.vpc", &obs.id, Fields::new(), Fields::new())).await.map(|_| ())),
        ErrorKind::NotFound
    );
    assert_eq!(kind(vpc.poll(PollRequest::id(&obs.id)).await.map(|_| ())), ErrorKind::NotFound);
    assert!(vpc.read(read(&[&obs.id])).await.unwrap().found.is_empty());
}

#[tokio::test(start_paused = true)]
async fn providers_only_see_their_own_type_and_instance() {
    let cloud = SimCloud::new(config(Profile::uniform(Duration::ZERO, Duration::ZERO)));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let obs = vpc.create(create("net.vpc", "tok", Fields::new())).await.unwrap();
    let subnet = cloud.provider(us(), "aws:ec2:Subnet");
    let eu_vpc = cloud.provider(eu(), "aws:ec2:Vpc");
    assert!(subnet.read(read(&[&obs.id])).await.unwrap().found.is_empty());
    assert!(eu_vpc.read(read(&[&obs.id])).await.unwrap().found.is_empty());
    assert_eq!(subnet.poll(PollRequest::id(&obs.id)).await.unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(eu_vpc.delete(delete("net.vpc", &obs.id)).await.unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(eu_vpc.find(find("net.vpc", "tok")).await.unwrap(), None);
    assert_eq!(cloud.resources().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn find_falls_back_to_the_stack_address_and_token_tags() {
    let cloud = SimCloud::new(config(Profile::uniform(Duration::ZERO, Duration::ZERO)));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    // A create whose client token differs from the token tag.
    let req = CreateRequest { token: "client-token".into(), ..create("net.vpc", "tag-token", Fields::new()) };
    let obs = vpc.create(req).await.unwrap();
    assert_eq!(vpc.find(find("net.vpc", "tag-token")).await.unwrap().map(|o| o.id), Some(obs.id.clone()));
    assert_eq!(vpc.find(find("net.vpc", "client-token")).await.unwrap().map(|o| o.id), Some(obs.id));
    let other_stack = FindRequest {
        tags: BTreeMap::from([
            (TAG_STACK.to_owned(), "staging".to_owned()),
            (TAG_ADDRESS.to_owned(), "net.vpc".to_owned()),
            (TAG_TOKEN.to_owned(), "tag-token".to_owned()),
        ]),
        ..find("net.vpc", "tag-token")
    };
    assert_eq!(vpc.find(other_stack).await.unwrap(), None);
    assert_eq!(vpc.find(find("net.other", "tag-token")).await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn a_delete_shows_deleting_and_completes_even_when_its_caller_is_dropped() {
    let cloud = SimCloud::new(config(Profile::uniform(secs(10), Duration::ZERO)));
    let nat = cloud.provider(us(), "aws:ec2:NatGateway");
    let obs = nat.create(create("net.nat", "tok", Fields::new())).await.unwrap();
    assert!(timeout(secs(4), nat.delete(delete("net.nat", &obs.id))).await.is_err());
    assert_eq!(cloud.resource(&obs.id).unwrap().status, SimStatus::Deleting);
    assert_eq!(
        nat.poll(PollRequest::id(&obs.id)).await.unwrap(),
        Readiness::Pending { status: "deleting".into() }
    );
    assert_eq!(
        nat.find(find("net.nat", "tok")).await.unwrap(),
        None,
        "a resource being deleted is not adopted"
    );
    sleep(secs(6) - ms(1)).await;
    assert_eq!(cloud.resources().len(), 1);
    sleep(ms(2)).await;
    assert!(cloud.resources().is_empty(), "the cloud finishes a delete it accepted");
}

/// A CloudFront distribution is deleted in stages: disabled (an update),
/// pending while that deploys, deleted only then. A second delete (a run
/// resumed after an interrupted wait) does not disable it again nor
/// restart the deploy.
#[tokio::test(start_paused = true)]
async fn a_staged_delete_disables_waits_for_the_deploy_then_deletes() {
    let cloud = SimCloud::new(config(Profile::seed()));
    let dist = cloud.provider(us(), "aws:cloudfront:Distribution");
    let deploy = Profile::seed().get("aws:cloudfront:Distribution").ready_after_update;
    assert!(Profile::seed().get("aws:cloudfront:Distribution").disable_before_delete);
    assert!(deploy >= secs(180), "a distribution deploys in minutes");
    let obs = dist.create(create("edge.cdn", "tok", Fields::new())).await.unwrap();
    let before = cloud.call_log().len();

    let first = dist.delete(delete("edge.cdn", &obs.id)).await.unwrap();
    let Deletion::Pending { status } = first else { panic!("{first:?}") };
    assert!(status.starts_with("disabling"), "{status}");
    assert_eq!(cloud.resources().len(), 1, "disabled, not deleted");
    sleep(deploy / 2).await;
    let Deletion::Pending { status } = dist.poll_deleted(PollRequest::id(&obs.id)).await.unwrap() else {
        panic!("gone before the deploy")
    };
    assert!(status.contains("InProgress"), "{status}");

    // Resumed: another delete neither disables again nor restarts the wait.
    let again = dist.delete(delete("edge.cdn", &obs.id)).await.unwrap();
    assert!(matches!(again, Deletion::Pending { .. }), "{again:?}");
    sleep(deploy / 2 + secs(1)).await;
    assert_eq!(dist.poll_deleted(PollRequest::id(&obs.id)).await.unwrap(), Deletion::Gone);
    assert!(cloud.resources().is_empty());

    let ops: Vec<Operation> = cloud.call_log()[before..].iter().map(|c| c.operation).collect();
    assert_eq!(
        ops,
        [Operation::Update, Operation::Poll, Operation::Poll, Operation::Poll, Operation::Delete],
        "disable, poll, (resumed: a read), poll, delete"
    );
}

#[test]
fn timings_are_the_profile_s_scaled() {
    let cloud = SimCloud::new(SimConfig::default().with_time_scale(0.01));
    let nat = cloud.provider(us(), "aws:ec2:NatGateway").timings();
    assert_eq!(nat.create, ms(1210), "create call 1 s + ready 120 s");
    assert_eq!(nat.delete, ms(600));
    assert_eq!(nat.poll_interval, ms(150));
    assert_eq!(nat.timeout, secs(6), "Terraform's 10-minute create timeout");
    let subnet = cloud.provider(us(), "aws:ec2:Subnet").timings();
    assert_eq!((subnet.create, subnet.poll_interval), (ms(20), ms(20)));
    let unknown = cloud.provider(us(), "aws:made:Up").timings();
    assert_eq!((unknown.create, unknown.delete, unknown.timeout), (ms(20), ms(20), secs(18)));
}

#[test]
fn the_seed_profile_covers_the_seed_architecture() {
    let profile = Profile::seed();
    let known: Vec<&str> = profile.type_names().collect();
    let seed_types = [
        "aws:ec2:Vpc",
        "aws:ec2:Subnet",
        "aws:ec2:InternetGateway",
        "aws:ec2:ElasticIp",
        "aws:ec2:NatGateway",
        "aws:ec2:RouteTable",
        "aws:ec2:Route",
        "aws:ec2:RouteTableAssociation",
        "aws:ec2:SecurityGroup",
        "aws:ec2:SecurityGroupRule",
        "aws:ec2:NetworkAcl",
        "aws:ec2:TransitGateway",
        "aws:ec2:TransitGatewayVpcAttachment",
        "aws:ec2:TransitGatewayPeeringAttachment",
        "aws:ec2:TransitGatewayRoute",
        "aws:ec2:VpcPeeringConnection",
        "aws:ec2:FlowLog",
        "aws:ec2:LaunchTemplate",
        "aws:elbv2:LoadBalancer",
        "aws:elbv2:TargetGroup",
        "aws:elbv2:Listener",
        "aws:elbv2:ListenerRule",
        "aws:acm:Certificate",
        "aws:acm:CertificateValidation",
        "aws:ecs:Cluster",
        "aws:ecs:TaskDefinition",
        "aws:ecs:Service",
        "aws:iam:Role",
        "aws:iam:RolePolicy",
        "aws:iam:RolePolicyAttachment",
        "aws:logs:LogGroup",
        "aws:secretsmanager:Secret",
        "aws:secretsmanager:SecretVersion",
        "aws:kms:Key",
        "aws:rds:GlobalCluster",
        "aws:rds:Cluster",
        "aws:rds:ClusterInstance",
        "aws:rds:SubnetGroup",
        "aws:elasticache:ReplicationGroup",
        "aws:elasticache:SubnetGroup",
        "aws:elasticache:ParameterGroup",
        "aws:s3:Bucket",
        "aws:s3:BucketVersioning",
        "aws:s3:BucketPublicAccessBlock",
        "aws:s3:BucketPolicy",
        "aws:cloudfront:Distribution",
        "aws:cloudfront:OriginAccessIdentity",
        "aws:wafv2:WebAcl",
        "aws:route53:Record",
        "aws:route53:HealthCheck",
        "aws:sns:Topic",
        "aws:cloudwatch:MetricAlarm",
        "aws:cloudwatch:Dashboard",
        "aws:appautoscaling:Target",
        "aws:appautoscaling:Policy",
        "aws:ecr:Repository",
        "aws:autoscaling:Group",
    ];
    for t in seed_types {
        assert!(known.contains(&t), "{t} has no profile");
    }
    let ready = |t: &str| profile.get(t).ready_after_create;
    for slow in [
        "aws:rds:Cluster",
        "aws:rds:ClusterInstance",
        "aws:cloudfront:Distribution",
        "aws:ec2:NatGateway",
        "aws:elasticache:ReplicationGroup",
    ] {
        assert!(ready(slow) >= secs(120), "{slow} takes minutes");
        assert_eq!(profile.get(slow).poll_interval, secs(15));
    }
    for fast in ["aws:ec2:Subnet", "aws:ec2:SecurityGroup", "aws:ec2:Route"] {
        assert!(profile.get(fast).create + ready(fast) < secs(10), "{fast} takes seconds");
        assert_eq!(profile.get(fast).poll_interval, secs(2));
    }
    let unknown = profile.get("aws:made:Up");
    assert_eq!(
        (unknown.create, unknown.ready_after_create, unknown.id_prefix.as_str()),
        (secs(2), Duration::ZERO, "sim")
    );
}

/// `docs/simulated-provider.md` documents the seed profile row by row; this
/// keeps the two equal.
#[test]
fn the_documented_seed_table_is_the_seed_profile() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/simulated-provider.md"))
            .unwrap();
    let profile = Profile::seed();
    let mut documented = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| `aws:")) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let unquote = |s: &str| s.trim_matches('`').to_owned();
        let type_name = unquote(cols[1]);
        let p = profile.get(&type_name);
        let n = |i: usize| secs(cols[i].parse::<u64>().unwrap_or_else(|_| panic!("{line}: column {i}")));
        assert_eq!(unquote(cols[2]), p.id_prefix, "{type_name}");
        assert_eq!(
            [n(3), n(4), n(5), n(6), n(7), n(8) * 60],
            [p.create, p.ready_after_create, p.update, p.ready_after_update, p.delete, p.timeout],
            "{type_name}"
        );
        let outputs: Vec<String> =
            if cols[9] == "—" { Vec::new() } else { cols[9].split(", ").map(unquote).collect() };
        assert_eq!(outputs, p.outputs, "{type_name}");
        assert!(!cols[10].is_empty(), "{type_name} names a source");
        documented.push(type_name);
    }
    let known: Vec<String> = profile.type_names().map(str::to_owned).collect();
    documented.sort();
    assert_eq!(documented, known);
}

#[test]
fn a_registry_implements_every_profile_type_in_every_instance() {
    let cloud = SimCloud::new(SimConfig::instant());
    let registry = cloud.registry_for_all_profile_types(&[us(), eu()]);
    assert_eq!(registry.instances().count(), 2);
    for instance in registry.instances() {
        assert_eq!(instance.type_names().count(), Profile::seed().type_names().count());
    }
    let nat = registry.resource(&eu().key, "aws:ec2:NatGateway").unwrap();
    assert_eq!(nat.api_class(Operation::Create), ApiClass::new("ec2", "CreateNatGateway"));
    assert!(registry.resource(&us().key, "aws:made:Up").is_none());
}

#[tokio::test(start_paused = true)]
async fn throttles_after_the_burst_and_refills_at_the_rate() {
    let limits =
        RateLimits::unlimited().with_class(ApiClass::new("ec2", "mutating"), RateLimit::new(5.0, 50));
    let cloud =
        SimCloud::new(config(Profile::uniform(Duration::ZERO, Duration::ZERO)).with_rate_limits(limits));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let mut n = 0;
    let mut next = || {
        n += 1;
        create(&format!("net.v{n}"), &format!("t{n}"), Fields::new())
    };
    for _ in 0..50 {
        vpc.create(next()).await.unwrap();
    }
    let err = vpc.create(next()).await.unwrap_err();
    assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Throttled, Some("RequestLimitExceeded")));
    assert!(err.request_id.is_some());

    // Reads draw from another bucket; another region has its own buckets.
    vpc.read(read(&[])).await.unwrap();
    cloud.provider(eu(), "aws:ec2:Vpc").create(next()).await.unwrap();

    // One token every 200 ms.
    sleep(ms(199)).await;
    assert_eq!(vpc.create(next()).await.unwrap_err().kind, ErrorKind::Throttled);
    sleep(ms(1)).await;
    vpc.create(next()).await.unwrap();
    assert_eq!(vpc.create(next()).await.unwrap_err().kind, ErrorKind::Throttled);
    sleep(secs(1)).await;
    for _ in 0..5 {
        vpc.create(next()).await.unwrap();
    }
    assert_eq!(vpc.create(next()).await.unwrap_err().kind, ErrorKind::Throttled);

    assert_eq!(cloud.resources().len(), 50 + 1 + 1 + 5, "throttled calls create nothing");
    let throttled =
        cloud.call_log().iter().filter(|c| c.outcome.error_kind() == Some(ErrorKind::Throttled)).count();
    assert_eq!(throttled, 4);
}

#[tokio::test(start_paused = true)]
async fn aws_limits_give_nat_gateway_creates_their_own_small_bucket() {
    let zero = Duration::ZERO;
    let nat_profile = Profile::seed().get("aws:ec2:NatGateway").clone().create(zero).ready(zero).delete(zero);
    let profile = Profile::uniform(zero, zero).with_type("aws:ec2:NatGateway", nat_profile);
    let cloud = SimCloud::new(config(profile).with_rate_limits(RateLimits::aws()));
    let nat = cloud.provider(us(), "aws:ec2:NatGateway");
    for i in 0..10 {
        nat.create(create(&format!("net.nat{i}"), &format!("n{i}"), Fields::new())).await.unwrap();
    }
    let err = nat.create(create("net.nat10", "n10", Fields::new())).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    // Generic EC2 mutating calls are unaffected.
    cloud.provider(us(), "aws:ec2:Vpc").create(create("net.vpc", "v", Fields::new())).await.unwrap();
    sleep(secs(1)).await;
    nat.create(create("net.nat10", "n10", Fields::new())).await.unwrap();
    assert_eq!(
        nat.create(create("net.nat11", "n11", Fields::new())).await.unwrap_err().kind,
        ErrorKind::Throttled
    );
}

#[tokio::test(start_paused = true)]
async fn failure_rules_fail_exactly_the_next_n_matching_calls() {
    let boom = ProviderError::new(ErrorKind::Transient, "We encountered an internal error.")
        .with_code("InternalError");
    let rule = FailureRule::new(Operation::Create, 2, boom.clone()).on_type("aws:ec2:Subnet");
    let cloud = SimCloud::new(config(Profile::uniform(Duration::ZERO, Duration::ZERO)).with_failure(rule));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let subnet = cloud.provider(us(), "aws:ec2:Subnet");

    vpc.create(create("net.vpc", "v", Fields::new())).await.unwrap();
    for _ in 0..2 {
        let e = subnet.create(create("net.a", "a", Fields::new())).await.unwrap_err();
        assert_eq!((e.kind, &e.code, &e.message), (boom.kind, &boom.code, &boom.message));
        assert!(e.request_id.is_some());
    }
    assert_eq!(cloud.resources().len(), 1, "failed calls create nothing");
    let a = subnet.create(create("net.a", "a", Fields::new())).await.unwrap();
    let b = subnet.create(create("net.b", "b", Fields::new())).await.unwrap();

    // A rule added later, scoped to an address: a poll knows its resource's address.
    cloud.add_failure(FailureRule::new(Operation::Poll, 1, boom.clone()).at_address("net.b"));
    subnet.poll(PollRequest::id(&a.id)).await.unwrap();
    assert_eq!(subnet.poll(PollRequest::id(&b.id)).await.unwrap_err().kind, ErrorKind::Transient);
    subnet.poll(PollRequest::id(&b.id)).await.unwrap();

    let failed: Vec<(Operation, Option<String>)> = cloud
        .call_log()
        .iter()
        .filter(|c| c.outcome.error_kind() == Some(ErrorKind::Transient))
        .map(|c| (c.operation, c.address.as_ref().map(ToString::to_string)))
        .collect();
    assert_eq!(
        failed,
        [
            (Operation::Create, Some("net.a".to_owned())),
            (Operation::Create, Some("net.a".to_owned())),
            (Operation::Poll, Some("net.b".to_owned())),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_id_is_unknown_to_dependents_for_the_consistency_window() {
    let cloud = SimCloud::new(
        config(Profile::uniform(Duration::ZERO, Duration::ZERO)).with_consistency_window(secs(5)),
    );
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let subnet = cloud.provider(us(), "aws:ec2:Subnet");
    let id = vpc.create(create("net.vpc", "v", Fields::new())).await.unwrap().id;

    let mentions = [
        Value::string(&id),
        Value::Map(BTreeMap::from([("ids".to_owned(), Value::List(vec![Value::string(&id)]))])),
        Value::Secret(Box::new(Value::string(&id))),
    ];
    for (i, v) in mentions.iter().enumerate() {
        let e = subnet
            .create(create("net.a", &format!("a{i}"), fields(&[("vpc_id", v.clone())])))
            .await
            .unwrap_err();
        assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::EventualConsistency, Some("InvalidID.NotFound")));
        assert!(e.message.contains(&id), "{}", e.message);
    }
    // Inputs that do not mention it are fine, but updating them to mention it is not.
    let other =
        subnet.create(create("net.b", "b", fields(&[("vpc_id", "vpc-elsewhere".into())]))).await.unwrap();
    let e = subnet
        .update(update("net.b", &other.id, other.inputs.clone(), fields(&[("vpc_id", Value::string(&id))])))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::EventualConsistency);
    assert_eq!(cloud.resource(&other.id).unwrap().inputs, other.inputs, "a failed update changes nothing");
    assert_eq!(cloud.resources().len(), 2);

    sleep(secs(5) - ms(1)).await;
    let late = subnet.create(create("net.a", "a9", fields(&[("vpc_id", Value::string(&id))]))).await;
    assert_eq!(late.unwrap_err().kind, ErrorKind::EventualConsistency);
    sleep(ms(1)).await;
    subnet.create(create("net.a", "a9", fields(&[("vpc_id", Value::string(&id))]))).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_repeated_token_returns_the_resource_it_made() {
    let cloud = SimCloud::new(config(Profile::uniform(secs(3), Duration::ZERO)));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let inputs = fields(&[("cidr_block", "10.0.0.0/16".into())]);
    let first = vpc.create(create("net.vpc", "tok", inputs.clone())).await.unwrap();
    let t = Instant::now();
    let again = vpc.create(create("net.vpc", "tok", inputs.clone())).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(t.elapsed(), Duration::ZERO, "an idempotent repeat does not wait for a create");
    assert_eq!(cloud.count_by_address().get(&addr("net.vpc")), Some(&1));

    // Tokens are scoped to a provider instance.
    let eu_vpc =
        cloud.provider(eu(), "aws:ec2:Vpc").create(create("net.vpc", "tok", inputs.clone())).await.unwrap();
    assert_ne!(eu_vpc.id, first.id);
    // Another token at the same address is another resource: the duplicate
    // that crash recovery must avoid.
    vpc.create(create("net.vpc", "tok-2", inputs)).await.unwrap();
    assert_eq!(cloud.count_by_address().get(&addr("net.vpc")), Some(&3));
}

#[tokio::test(start_paused = true)]
async fn the_call_log_records_every_call_in_order() {
    let limits =
        RateLimits::unlimited().with_class(ApiClass::new("sns", "mutating"), RateLimit::new(0.01, 1));
    let cloud = SimCloud::new(
        config(Profile::uniform(secs(1), secs(2))).with_api_latency(ms(100)).with_rate_limits(limits),
    );
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let topic = cloud.provider(us(), "aws:sns:Topic");

    let obs = vpc.create(create("net.vpc", "tok", Fields::new())).await.unwrap(); // 1
    topic.create(create("alerts.topic", "t1", Fields::new())).await.unwrap(); // 2
    topic.create(create("alerts.other", "t2", Fields::new())).await.unwrap_err(); // 3: throttled
    vpc.poll(PollRequest::id(&obs.id)).await.unwrap(); // 4
    vpc.read(read(&[&obs.id, "sim-0000ffff"])).await.unwrap(); // 5
    vpc.find(find("net.vpc", "tok")).await.unwrap(); // 6
    vpc.update(update("net.vpc", &obs.id, Fields::new(), fields(&[("x", 1.into())]))).await.unwrap(); // 7
    assert!(timeout(ms(50), vpc.poll(PollRequest::id(&obs.id))).await.is_err()); // 8: dropped
    vpc.delete(delete("net.vpc", &obs.id)).await.unwrap(); // 9

    let log = cloud.call_log();
    assert_eq!(log.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=9).collect::<Vec<u64>>());
    use Operation::*;
    assert_eq!(
        log.iter().map(|c| (c.operation, c.find)).collect::<Vec<_>>(),
        [
            (Create, false),
            (Create, false),
            (Create, false),
            (Poll, false),
            (Read, false),
            (Read, true),
            (Update, false),
            (Poll, false),
            (Delete, false)
        ]
    );
    let at: Vec<u64> = log.iter().map(|c| c.at.as_millis() as u64).collect();
    assert_eq!(at, [0, 1100, 2200, 2200, 2300, 2400, 2500, 3600, 3650]);
    assert_eq!(log[0].finished_at, Some(ms(1100)));
    assert_eq!(log[2].finished_at, Some(ms(2200)), "a throttled call answers at once");
    assert_eq!(log[8].finished_at, Some(ms(4750)));

    let throttled =
        CallOutcome::Failed { kind: ErrorKind::Throttled, code: Some("RequestLimitExceeded".into()) };
    for (i, c) in log.iter().enumerate() {
        let expected = match i {
            2 => throttled.clone(),
            7 => CallOutcome::Cancelled,
            _ => CallOutcome::Ok,
        };
        assert_eq!(c.outcome, expected, "call {}", c.seq);
    }
    assert_eq!(log[0].id.as_deref(), Some(obs.id.as_str()), "a create's log names the ID it got");
    assert_eq!(log[0].address, Some(addr("net.vpc")));
    assert_eq!(log[3].address, Some(addr("net.vpc")), "a poll's address comes from the tag");
    assert_eq!(log[4].ids, [obs.id.clone(), "sim-0000ffff".to_owned()]);
    assert_eq!(log[4].id, None);
    assert_eq!(log[5].id.as_deref(), Some(obs.id.as_str()));
    assert_eq!(log[1].api_class, ApiClass::new("sns", "mutating"));
    assert_eq!(log[3].api_class, ApiClass::new("ec2", "non-mutating"));
    assert!(log.iter().all(|c| c.type_name == "aws:ec2:Vpc" || c.type_name == "aws:sns:Topic"));
}

#[tokio::test(start_paused = true)]
async fn outside_changes_are_drift_that_reads_see() {
    let cloud = SimCloud::new(config(Profile::uniform(Duration::ZERO, Duration::ZERO)));
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let a = vpc.create(create("net.a", "a", fields(&[("cidr_block", "10.0.0.0/16".into())]))).await.unwrap();
    let b = vpc.create(create("net.b", "b", Fields::new())).await.unwrap();

    cloud.set_input_outside(&a.id, "cidr_block", "10.9.0.0/16".into()).unwrap();
    cloud.set_input_outside(&a.id, "password", Value::Secret(Box::new("hunter2".into()))).unwrap();
    cloud.delete_outside(&b.id).unwrap();

    let found = vpc.read(read(&[&a.id, &b.id])).await.unwrap().found;
    assert_eq!(found.keys().collect::<Vec<_>>(), [&a.id]);
    assert_eq!(found[&a.id].inputs.get("cidr_block"), Some(&Value::string("10.9.0.0/16")));
    assert_eq!(found[&a.id].inputs.get("password"), Some(&Value::string("hunter2")), "stored revealed");

    assert!(matches!(cloud.delete_outside(&b.id), Err(Error::NoSuchResource { id }) if id == b.id));
    let e = cloud.set_input_outside("sim-0000ffff", "x", Value::Null).unwrap_err();
    assert!(e.to_string().contains("sim-0000ffff"), "{e}");
    assert_eq!(cloud.call_log().len(), 3, "outside changes are not calls");
}

#[tokio::test(start_paused = true)]
async fn the_seed_profile_names_ids_by_type_and_generates_its_outputs() {
    let cloud = SimCloud::new(SimConfig::instant());
    let lb = cloud.provider(eu(), "aws:elbv2:LoadBalancer");
    let obs = lb.create(create("web.alb", "t", Fields::new())).await.unwrap();
    assert_eq!(obs.id, "lb-00000001");
    assert_eq!(obs.outputs.get("dns_name"), Some(&Value::string("lb-00000001.dns_name")));
    assert_eq!(
        obs.outputs.get("arn"),
        Some(&Value::string("arn:aws:elbv2:eu-west-1:000000000000:lb-00000001"))
    );
    assert_eq!(obs.outputs.get("name"), Some(&Value::string("alb")));
    assert!(
        matches!(lb.poll(PollRequest::id(&obs.id)).await.unwrap(), Readiness::Ready { .. }),
        "time scale 0: ready at once"
    );
    let custom = SimCloud::new(
        SimConfig::instant().with_profile(Profile::seed().with_type("test:Thing", TypeProfile::new("thing"))),
    );
    let id = custom.provider(us(), "test:Thing").create(create("x", "t", Fields::new())).await.unwrap().id;
    assert_eq!(id, "thing-00000001");
}

#[tokio::test(start_paused = true)]
async fn a_rollout_reports_its_progress_and_a_stopped_one_fails_its_wait() {
    // Calls take 1 s, services are ready 40 s later; `slow` never is.
    let profile = Profile::uniform(secs(1), secs(40)).with_type(
        "aws:ecs:Service",
        TypeProfile::new("svc")
            .create(secs(1))
            .ready(secs(40))
            .progress("deployment IN_PROGRESS: {done}/{total} tasks running", "desired_count"),
    );
    let cloud = SimCloud::new(
        config(profile).with_failed_readiness("app.slow", "deployment FAILED: circuit breaker"),
    );
    let svc = cloud.provider(us(), "aws:ecs:Service");
    let four = fields(&[("desired_count", Value::from(4))]);
    let ok = svc.create(create("app.web", "t1", four.clone())).await.unwrap();
    let slow = svc.create(create("app.slow", "t2", four)).await.unwrap();
    let status = |r: Readiness| match r {
        Readiness::Pending { status } => status,
        other => panic!("not pending: {other:?}"),
    };
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(status(svc.poll(PollRequest::id(&ok.id)).await.unwrap()));
        sleep(secs(10)).await;
    }
    assert_eq!(
        seen,
        [0, 1, 2, 3].map(|n| format!("deployment IN_PROGRESS: {n}/4 tasks running")),
        "the count grows with the rollout"
    );
    assert!(matches!(svc.poll(PollRequest::id(&ok.id)).await.unwrap(), Readiness::Ready { .. }));
    assert_eq!(
        svc.poll(PollRequest::id(&slow.id)).await.unwrap(),
        Readiness::Failed { message: "deployment FAILED: circuit breaker".into() }
    );
}
