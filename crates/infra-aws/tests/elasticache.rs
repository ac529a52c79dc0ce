//! ElastiCache: subnet groups, parameter groups and replication groups.
//!
//! On the emulator (the real provider code): a subnet group created, read
//! and converged; a replication group with every setting of the seed
//! created, converged, changed in place (node type, description, snapshot
//! retention, auth token rotation, tags) and converged again; a lost
//! `CreateReplicationGroup` answer adopted; the member-count gap shown not
//! to hide drift of the fields that do read back; a delete that waits while
//! the group is `deleting`.
//!
//! The emulator (moto 5.2.5) cannot show the rest, so these run on the
//! simulated provider (the engine and the types' declarations, with
//! AWS-like timings), each test naming what it stands in for: the
//! parameter group lifecycle (every parameter group call answers 500),
//! a subnet group's update and delete (`ModifyCacheSubnetGroup` and
//! `DeleteCacheSubnetGroup` answer 500), a replica count change in place
//! with its wait (`IncreaseReplicaCount` / `DecreaseReplicaCount` answer
//! 500), a delete that waits until the group is gone (moto keeps a deleted
//! group `deleting` forever) and a force-new replacement, destroy first
//! (the same: the delete never completes, and the old ID blocks the new
//! group).
//!
//! Validation (no calls): each rule refuses bad input naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use infra_aws::elasticache::{CacheParameterGroup, CacheSubnetGroup, ReplicationGroup};
use infra_aws::ids::{CacheParameterGroupName, SecurityGroupId, SubnetId, TopicArn};
use infra_aws::secretsmanager::SecretSource;
use infra_core::plan::{PlanOptions, StepKind};
use infra_core::{Action, OnDelete, Options, ProviderConfig, ProviderKey, ReplaceOrder, Sensitive, Stack};
use infra_engine::{Event, Mode};
use infra_testkit::faults::{Effect, Fault};

fn elasticache(w: &World, region: &str) -> aws_sdk_elasticache::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_elasticache::Client::from_conf(aws_sdk_elasticache::config::Builder::from(&sdk).build())
}

/// What a replication group needs around it, made outside infra: two
/// subnets, a security group and an SNS topic.
struct Fixtures {
    subnets: Vec<String>,
    sg: String,
    topic: String,
}

async fn fixtures(w: &World, region: &str) -> Fixtures {
    let ec2 = w.ec2(region);
    let vpc = ec2.create_vpc().cidr_block("10.8.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let mut subnets = Vec::new();
    for (i, az) in ["a", "b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.8.{i}.0/24"))
            .availability_zone(format!("{region}{az}"))
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet.unwrap().subnet_id.unwrap());
    }
    let sg = ec2
        .create_security_group()
        .group_name("redis")
        .description("Security group for Redis")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    let sns = aws_sdk_sns::Client::from_conf(aws_sdk_sns::config::Builder::from(&sdk).build());
    let topic = sns.create_topic().name("alerts").send().await.unwrap().topic_arn.unwrap();
    Fixtures { subnets, sg, topic }
}

fn subnet_group(f: &Fixtures, description: Option<&str>) -> CacheSubnetGroup {
    CacheSubnetGroup {
        name: "prod-cache-subnet".into(),
        description: description.map(Into::into),
        subnet_ids: f.subnets.iter().map(|s| SubnetId::new(s).unwrap().into()).collect(),
        tags: BTreeMap::from([("Name".to_owned(), "prod-cache-subnet".to_owned())]),
    }
}

/// The seed's replication group (`aws_elasticache_replication_group.main`),
/// one cluster (the emulator makes one member whatever the number), version
/// `v` 0 or 1 (node type, description, retention, token and a tag change).
fn seed_group(f: &Fixtures, subnets: &infra_core::Handle<CacheSubnetGroup>, v: u8) -> ReplicationGroup {
    let token = if v == 0 { "first-token-0123456789" } else { "second-token-0123456789" };
    ReplicationGroup {
        replication_group_id: "prod-redis".into(),
        description: if v == 0 {
            "Redis cluster for prod".into()
        } else {
            "Redis cluster for prod (bigger)".into()
        },
        engine: Some("redis".into()),
        engine_version: Some("7.0".into()),
        node_type: if v == 0 { "cache.t4g.small".into() } else { "cache.t4g.medium".into() },
        port: Some(6379),
        parameter_group_name: Some(CacheParameterGroupName::new("default.redis7").unwrap().into()),
        subnet_group_name: Some(subnets.name().into()),
        security_group_ids: vec![SecurityGroupId::new(&f.sg).unwrap().into()],
        snapshot_retention_limit: Some(if v == 0 { 5 } else { 7 }),
        snapshot_window: Some("03:00-05:00".into()),
        maintenance_window: Some("sun:05:00-sun:07:00".into()),
        at_rest_encryption_enabled: true,
        transit_encryption_enabled: true,
        auth_token: Some(SecretSource::Value(Sensitive(token.into()))),
        notification_topic_arn: Some(TopicArn::new(&f.topic).unwrap().into()),
        on_delete: Some(OnDelete::FinalSnapshot("prod-redis-final".into())),
        tags: BTreeMap::from([("Name".to_owned(), format!("prod-redis-{v}"))]),
        ..Default::default()
    }
}

fn redis_stack(f: &Fixtures, v: u8) -> Stack {
    let (mut s, us, _) = stack("cache");
    let subnets = s.add_with("cache-subnet", subnet_group(f, None), Options::new().provider(&us));
    s.add_with("redis", seed_group(f, &subnets, v), Options::new().provider(&us));
    s
}

fn calls(w: &World, op: &str) -> u64 {
    w.stats.iter().map(|(_, s)| s.snapshot().get(op).copied().unwrap_or(0)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subnet_group_is_created_read_and_converges_in_both_regions() {
    let w = world();
    let (mut s, us, eu) = stack("subnets");
    for (key, region) in [(&us, "us-east-1"), (&eu, "eu-west-1")] {
        let f = fixtures(&w, region).await;
        s.add_with(
            &format!("cache-subnet-{region}"),
            subnet_group(&f, Some("Cache subnets")),
            Options::new().provider(key),
        );
    }
    // A description left unset is AWS's required one, recorded as unset.
    let f = fixtures(&w, "us-east-1").await;
    s.add_with(
        "other-subnet",
        CacheSubnetGroup { name: "other-cache-subnet".into(), ..subnet_group(&f, None) },
        Options::new().provider(&us),
    );
    w.apply(&s).await;
    assert!(w.converged(&s).await, "the plan after create is not empty");
    for region in ["us-east-1", "eu-west-1"] {
        let out = elasticache(&w, region)
            .describe_cache_subnet_groups()
            .cache_subnet_group_name("prod-cache-subnet")
            .send()
            .await
            .unwrap();
        let g = &out.cache_subnet_groups()[0];
        assert_eq!(g.cache_subnet_group_description(), Some("Cache subnets"));
        assert_eq!(g.subnets().len(), 2, "{region}");
        let tags =
            elasticache(&w, region).list_tags_for_resource().resource_name(g.arn().unwrap()).send().await;
        assert!(tags.unwrap().tag_list().iter().any(|t| t.key() == Some("Name")), "{region}");
    }
    assert_eq!(calls(&w, "CreateCacheSubnetGroup"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_group_is_created_changed_in_place_and_converges() {
    let w = world();
    let f = fixtures(&w, "us-east-1").await;
    let (o, _) = w.apply(&redis_stack(&f, 0)).await;
    assert_eq!(o.report.applied.len(), 2, "{:?}", o.report);
    assert!(w.converged(&redis_stack(&f, 0)).await, "the plan after create is not empty");
    let ec = elasticache(&w, "us-east-1");
    let g = ec.describe_replication_groups().replication_group_id("prod-redis").send().await.unwrap();
    let g = &g.replication_groups()[0];
    assert_eq!(g.cache_node_type(), Some("cache.t4g.small"));
    assert_eq!(g.at_rest_encryption_enabled(), Some(true));
    assert_eq!(g.transit_encryption_enabled(), Some(true));
    assert_eq!(g.auth_token_enabled(), Some(true));
    assert_eq!(g.snapshot_retention_limit(), Some(5));

    w.stats.iter().for_each(|(_, s)| s.reset());
    let (o, _) = w.apply(&redis_stack(&f, 1)).await;
    let changes: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(changes, [("redis".to_owned(), Action::Update)], "only the group changes, in place");
    let fields: Vec<&str> =
        o.plan.change(&addr("redis")).unwrap().fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(fields, ["auth_token", "description", "node_type", "snapshot_retention_limit", "tags"]);
    assert_eq!(calls(&w, "ModifyReplicationGroup"), 1, "one modification for every field");
    assert_eq!(calls(&w, "IncreaseReplicaCount") + calls(&w, "DecreaseReplicaCount"), 0);
    let g = ec.describe_replication_groups().replication_group_id("prod-redis").send().await.unwrap();
    let g = &g.replication_groups()[0];
    assert_eq!(g.cache_node_type(), Some("cache.t4g.medium"));
    assert_eq!(g.description(), Some("Redis cluster for prod (bigger)"));
    assert_eq!(g.snapshot_retention_limit(), Some(7));
    let tags = ec.list_tags_for_resource().resource_name(g.arn().unwrap()).send().await.unwrap();
    assert!(tags.tag_list().iter().any(|t| t.key() == Some("Name") && t.value() == Some("prod-redis-1")));
    assert!(w.converged(&redis_stack(&f, 1)).await, "the plan after the update is not empty");

    // The outputs: the primary and reader endpoints, the port, the members.
    let state = w.state("cache").await;
    let outputs = &state.resources[&addr("redis")].outputs;
    let text = |k: &str| outputs[k].as_str().unwrap_or_default().to_owned();
    assert!(text("primary_endpoint_address").starts_with("master.prod-redis."), "{outputs:?}");
    assert_eq!(outputs["port"], infra_core::Value::from(6379));
    assert!(text("arn").ends_with(":replicationgroup:prod-redis"), "{outputs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_leaves_one_group() {
    let w = world_through_proxy();
    let f = fixtures(&w, "us-east-1").await;
    let stack = redis_stack(&f, 0);
    proxy().set(vec![Fault::new("CreateReplicationGroup", 1, Effect::LoseResponse)]);
    let (o, _) = w.apply(&stack).await;
    assert_eq!(proxy().injected(), vec![("CreateReplicationGroup".to_owned(), Effect::LoseResponse)]);
    proxy().set(Vec::new());
    assert!(o.report.success(), "{:?}", o.report);
    let out = elasticache(&w, "us-east-1").describe_replication_groups().send().await.unwrap();
    assert_eq!(out.replication_groups().len(), 1);
    assert!(w.converged(&stack).await, "the plan after apply is not empty");
}

/// The emulator makes one member cluster when two are asked for, and
/// cannot describe it: a member list the API cannot describe is not
/// trusted, so the count keeps its recorded value and the plan after apply
/// is empty. Drift of the fields that do read back still shows.
/// (`num_cache_clusters` is read as the number of `MemberClusters`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_count_gap_does_not_hide_drift_of_fields_that_read_back() {
    let w = world();
    let f = fixtures(&w, "us-east-1").await;
    let (mut s, us, _) = stack("gap");
    let subnets = s.add_with("cache-subnet", subnet_group(&f, None), Options::new().provider(&us));
    s.add_with(
        "redis",
        ReplicationGroup {
            num_cache_clusters: Some(2),
            automatic_failover_enabled: true,
            multi_az_enabled: true,
            ..seed_group(&f, &subnets, 0)
        },
        Options::new().provider(&us),
    );
    w.apply(&s).await;
    let changed = |p: &infra_engine::Preview| -> Vec<String> {
        p.plan
            .actionable()
            .flat_map(|c| c.fields.iter().map(|f| format!("{}.{}", c.address, f.name)))
            .collect()
    };
    assert!(changed(&w.preview(&s).await).is_empty(), "the emulator's gap shows as a change");
    let ec = elasticache(&w, "us-east-1");
    ec.modify_replication_group()
        .replication_group_id("prod-redis")
        .replication_group_description("changed outside")
        .cache_node_type("cache.r7g.large")
        .automatic_failover_enabled(false)
        .multi_az_enabled(false)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed(&w.preview(&s).await),
        [
            "redis.automatic_failover_enabled",
            "redis.description",
            "redis.multi_az_enabled",
            "redis.node_type",
        ],
        "drift of the fields that read back shows"
    );
}

/// The emulator keeps a deleted group `deleting` forever: the delete
/// (with its final snapshot) is sent and the destroy waits, until its
/// timeout here. (The wait ending when the group is gone: on the
/// simulator, `a_delete_waits_until_the_group_is_gone_and_then_its_subnet_group_goes`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_waits_while_the_group_is_deleting() {
    let w = world();
    let f = fixtures(&w, "us-east-1").await;
    let (mut s, us, _) = stack("wait");
    let subnets = s.add_with("cache-subnet", subnet_group(&f, None), Options::new().provider(&us));
    s.add_with(
        "redis",
        seed_group(&f, &subnets, 0),
        Options::new().provider(&us).delete_timeout(Duration::from_secs(2)),
    );
    w.apply(&s).await;
    let (o, _) = w.run(&s, Mode::Destroy { targets: vec![] }).await;
    let failed: Vec<_> = o.report.failed.iter().map(|f| (f.0.to_string(), f.2.clone())).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "redis");
    assert!(failed[0].1.contains("deleting"), "{failed:?}");
    assert_eq!(calls(&w, "DeleteReplicationGroup"), 1);
    assert_eq!(calls(&w, "DeleteCacheSubnetGroup"), 0, "the subnet group waits for the group to go");
    let g = elasticache(&w, "us-east-1").describe_replication_groups().send().await.unwrap();
    assert_eq!(g.replication_groups()[0].status(), Some("deleting"));
}

// ---------------------------------------------------------------------
// The simulated provider: what the emulator cannot answer.
// ---------------------------------------------------------------------

mod sim {
    use super::*;
    use infra_core::plan::Plan;
    use infra_engine::{
        Budget, BudgetConfig, Events, Executor, ExecutorConfig, Interrupt, Outcome, RunOptions, run,
    };
    use infra_sim::{SimCloud, SimConfig, sim_registry};
    use infra_state::{Backend, MemoryBackend};

    const TYPES: [&str; 5] = [
        "aws:ec2:Vpc",
        "aws:ec2:Subnet",
        "aws:elasticache:SubnetGroup",
        "aws:elasticache:ParameterGroup",
        "aws:elasticache:ReplicationGroup",
    ];

    pub struct Sim {
        pub cloud: SimCloud,
        executor: Executor,
        backend: Arc<dyn Backend>,
    }

    impl Sim {
        pub fn new() -> Sim {
            let cloud = SimCloud::new(SimConfig::default());
            let registry = sim_registry(&cloud, &[ProviderConfig::aws("us-east-1")], &TYPES);
            let executor = Executor::new(
                Arc::new(registry),
                Budget::new(BudgetConfig::default()),
                ExecutorConfig::default(),
            );
            Sim { cloud, executor, backend: Arc::new(MemoryBackend::new()) }
        }

        pub async fn run(
            &self,
            stack: &Stack,
            mode: Mode,
        ) -> Result<(Outcome, Vec<Event>), infra_engine::Error> {
            let (events, mut rx) = Events::channel();
            let options = RunOptions { mode, lock_timeout: Duration::from_secs(1), refresh: true };
            let outcome =
                run(&self.executor, self.backend.clone(), stack, &options, &events, &Interrupt::new()).await;
            drop(events);
            let mut seen = Vec::new();
            while let Some(e) = rx.recv().await {
                seen.push(e);
            }
            outcome.map(|o| (o, seen))
        }

        pub async fn apply(&self, stack: &Stack) -> (Outcome, Vec<Event>) {
            let (o, e) = self.run(stack, Mode::Apply(PlanOptions::default())).await.unwrap();
            assert!(o.report.success(), "apply failed: {:?}", o.report);
            (o, e)
        }

        pub async fn converged(&self, stack: &Stack) -> bool {
            let (o, _) = self.apply(stack).await;
            o.plan.is_empty() && o.report.applied.is_empty()
        }

        pub async fn destroy(&self, stack: &Stack) -> (Outcome, Vec<Event>) {
            let (o, e) = self.run(stack, Mode::Destroy { targets: vec![] }).await.unwrap();
            assert!(o.report.success(), "destroy failed: {:?}", o.report);
            (o, e)
        }
    }

    /// The one change of `plan` at `address`, its action and changed fields.
    pub fn change(plan: &Plan, address: &str) -> (Action, Vec<String>) {
        let c = plan.change(&addr(address)).unwrap_or_else(|| panic!("{address} not in the plan"));
        (c.action.clone(), c.fields.iter().map(|f| f.name.clone()).collect())
    }

    /// A VPC, two subnets and a subnet group with `description`, over
    /// `subnets` of the two.
    pub fn network(s: &mut Stack, description: &str, subnets: usize) -> infra_core::Handle<CacheSubnetGroup> {
        let vpc =
            s.add("vpc", infra_aws::ec2::Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
        let nets: Vec<_> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, az)| {
                s.add(
                    &format!("private-{az}"),
                    infra_aws::ec2::Subnet {
                        vpc_id: vpc.id().into(),
                        cidr_block: format!("10.1.{i}.0/24"),
                        availability_zone: format!("us-east-1{az}"),
                        ..Default::default()
                    },
                )
            })
            .collect();
        s.add(
            "cache-subnet",
            CacheSubnetGroup {
                name: "prod-cache-subnet".into(),
                description: Some(description.into()),
                subnet_ids: nets.iter().take(subnets).map(|n| n.id().into()).collect(),
                ..Default::default()
            },
        )
    }

    pub fn new_stack() -> Stack {
        let mut s = Stack::new("sim");
        s.provider(ProviderConfig::aws("us-east-1"));
        s
    }
}

/// `step` of `address`: when it started and how long it took (virtual ms).
fn timing(events: &[Event], address: &str, step: StepKind) -> (u64, u64) {
    let a = addr(address);
    let started = events.iter().find_map(|e| match e {
        Event::Started { address, kind, at_ms } if *address == a && *kind == step => Some(*at_ms),
        _ => None,
    });
    let took = events.iter().find_map(|e| match e {
        Event::Done { address, kind, elapsed_ms, .. } if *address == a && *kind == step => Some(*elapsed_ms),
        _ => None,
    });
    (
        started.unwrap_or_else(|| panic!("{address} {step:?} never started")),
        took.unwrap_or_else(|| panic!("{address} {step:?} never finished")),
    )
}

/// Stands in for the emulator, whose parameter group calls all answer 500
/// (`CreateCacheParameterGroup`, `ModifyCacheParameterGroup`,
/// `DescribeCacheParameterGroups`, `DescribeCacheParameters`,
/// `DeleteCacheParameterGroup`): the seed's group (`redis7`,
/// `maxmemory-policy allkeys-lru`) is created, its parameters change in
/// place, a new family replaces it destroy first, and destroy removes it.
#[tokio::test(start_paused = true)]
async fn simulated_a_parameter_group_s_lifecycle() {
    let sim = sim::Sim::new();
    let version = |family: &str, params: &[(&str, &str)]| {
        let mut s = sim::new_stack();
        s.add(
            "redis-params",
            CacheParameterGroup {
                name: "prod-redis-params".into(),
                family: family.into(),
                parameters: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                ..Default::default()
            },
        );
        s
    };
    let v0 = version("redis7", &[("maxmemory-policy", "allkeys-lru")]);
    sim.apply(&v0).await;
    assert!(sim.converged(&v0).await);
    let v1 = version("redis7", &[("maxmemory-policy", "volatile-lru"), ("timeout", "300")]);
    let (o, _) = sim.apply(&v1).await;
    assert_eq!(sim::change(&o.plan, "redis-params"), (Action::Update, vec!["parameters".to_owned()]));
    assert!(sim.converged(&v1).await);
    let v2 = version("valkey8", &[("maxmemory-policy", "volatile-lru")]);
    let (o, events) = sim.apply(&v2).await;
    let (action, _) = sim::change(&o.plan, "redis-params");
    assert!(
        matches!(action, Action::Replace { order: ReplaceOrder::DeleteBeforeCreate, .. }),
        "a new family replaces the group, destroy first (its name is its ID): {action:?}"
    );
    assert_eq!(
        starts(&events, &addr("redis-params")),
        [StepKind::DeleteReplaced, StepKind::CreateReplacement]
    );
    assert!(sim.converged(&v2).await);
    let (o, _) = sim.destroy(&v2).await;
    assert!(o.state.resources.is_empty());
    assert!(sim.cloud.resources().is_empty());
}

/// Stands in for the emulator, whose `ModifyCacheSubnetGroup` and
/// `DeleteCacheSubnetGroup` answer 500: the description and the subnets
/// change in place, and destroy deletes the group.
#[tokio::test(start_paused = true)]
async fn simulated_a_subnet_group_changes_in_place_and_is_deleted() {
    let sim = sim::Sim::new();
    let version = |description: &str, subnets: usize| {
        let mut s = sim::new_stack();
        sim::network(&mut s, description, subnets);
        s
    };
    sim.apply(&version("one subnet", 1)).await;
    let (o, _) = sim.apply(&version("both subnets", 2)).await;
    assert_eq!(
        sim::change(&o.plan, "cache-subnet"),
        (Action::Update, vec!["description".to_owned(), "subnet_ids".to_owned()])
    );
    assert!(sim.converged(&version("both subnets", 2)).await);
    let (o, _) = sim.destroy(&version("both subnets", 2)).await;
    assert!(o.state.resources.is_empty());
    assert!(sim.cloud.resources().iter().all(|r| r.type_name != "aws:elasticache:SubnetGroup"));
}

fn sim_group(
    subnets: &infra_core::Handle<CacheSubnetGroup>,
    clusters: i32,
    at_rest: bool,
) -> ReplicationGroup {
    ReplicationGroup {
        replication_group_id: "prod-redis".into(),
        description: "Redis cluster for prod".into(),
        engine_version: Some("7.0".into()),
        node_type: "cache.t4g.medium".into(),
        num_cache_clusters: Some(clusters),
        subnet_group_name: Some(subnets.name().into()),
        at_rest_encryption_enabled: at_rest,
        transit_encryption_enabled: true,
        auth_token: Some(SecretSource::Value(Sensitive("a-token-of-sixteen-chars".into()))),
        automatic_failover_enabled: clusters >= 2,
        multi_az_enabled: clusters >= 2,
        on_delete: Some(OnDelete::FinalSnapshot("prod-redis-final".into())),
        ..Default::default()
    }
}

fn group_stack(clusters: i32, at_rest: bool, on_delete: Option<OnDelete>) -> Stack {
    let mut s = sim::new_stack();
    let subnets = sim::network(&mut s, "Cache subnets", 2);
    s.add("redis", ReplicationGroup { on_delete, ..sim_group(&subnets, clusters, at_rest) });
    s
}

fn snapshot() -> Option<OnDelete> {
    Some(OnDelete::FinalSnapshot("prod-redis-final".into()))
}

/// Stands in for the emulator, whose `IncreaseReplicaCount` and
/// `DecreaseReplicaCount` answer 500 (and which makes one member whatever
/// the count): a change of `num_cache_clusters` is an update in place that
/// waits while the group is `modifying` (5 minutes here), both ways.
#[tokio::test(start_paused = true)]
async fn simulated_a_replica_count_change_is_in_place_with_a_wait() {
    let sim = sim::Sim::new();
    sim.apply(&group_stack(2, true, snapshot())).await;
    for clusters in [3, 2] {
        let (o, events) = sim.apply(&group_stack(clusters, true, snapshot())).await;
        assert_eq!(sim::change(&o.plan, "redis"), (Action::Update, vec!["num_cache_clusters".to_owned()]));
        let waits: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Waiting { address, kind: StepKind::Update, status, .. }
                    if *address == addr("redis") =>
                {
                    Some(status.as_str())
                }
                _ => None,
            })
            .collect();
        assert!(!waits.is_empty() && waits.iter().all(|s| *s == "modifying"), "{waits:?}");
        let (_, took) = timing(&events, "redis", StepKind::Update);
        assert!(took >= 300_000, "the update waited until available: {took} ms");
        assert!(sim.converged(&group_stack(clusters, true, snapshot())).await);
    }
}

/// Stands in for the emulator, where a deleted group stays `deleting`
/// forever: destroy waits until the group is gone (5 minutes here), and
/// only then deletes the subnet group it was in.
#[tokio::test(start_paused = true)]
async fn simulated_a_delete_waits_until_the_group_is_gone_and_then_its_subnet_group_goes() {
    let sim = sim::Sim::new();
    let s = group_stack(2, true, snapshot());
    sim.apply(&s).await;
    let (o, events) = sim.destroy(&s).await;
    let reason = o.plan.change(&addr("redis")).and_then(|c| c.reason.clone()).unwrap_or_default();
    assert!(reason.contains("final snapshot `prod-redis-final`"), "the plan shows the snapshot: {reason}");
    let (began, took) = timing(&events, "redis", StepKind::Delete);
    assert!(took >= 300_000, "the delete lasted until the group was gone: {took} ms");
    let (subnets_began, _) = timing(&events, "cache-subnet", StepKind::Delete);
    assert!(
        subnets_began >= began + took,
        "the subnet group goes after the group: {subnets_began} < {began} + {took}"
    );
    assert!(sim.cloud.resources().is_empty());
}

/// Stands in for the emulator, where the old group's delete never
/// completes and its ID blocks the new one: a force-new change (at-rest
/// encryption) replaces the group destroy first (the ID is the user's), and
/// only with `on_delete` decided — without it the plan is refused, naming
/// the field, before any call.
#[tokio::test(start_paused = true)]
async fn simulated_a_force_new_change_replaces_the_group_destroy_first_once_on_delete_is_decided() {
    let sim = sim::Sim::new();
    sim.apply(&group_stack(2, false, None)).await;
    let calls = sim.cloud.call_log().len();
    let refused = sim.run(&group_stack(2, true, None), Mode::Apply(PlanOptions::default())).await;
    let message = match refused {
        Err(e) => e.to_string(),
        Ok((o, _)) => panic!("an undecided replacement was planned: {:?}", o.plan),
    };
    assert!(message.contains("on_delete"), "{message}");
    assert!(
        sim.cloud.call_log()[calls..].iter().all(|c| c.operation != infra_engine::Operation::Delete),
        "nothing was deleted"
    );
    // Deciding is an update of a field AWS never sees: no call to the group.
    let (o, _) = sim.apply(&group_stack(2, false, snapshot())).await;
    assert_eq!(sim::change(&o.plan, "redis"), (Action::Update, vec!["on_delete".to_owned()]));
    let (o, events) = sim.apply(&group_stack(2, true, snapshot())).await;
    let c = o.plan.change(&addr("redis")).unwrap();
    assert!(
        matches!(c.action, Action::Replace { order: ReplaceOrder::DeleteBeforeCreate, .. }),
        "{:?}",
        c.action
    );
    assert!(c.reason.as_deref().unwrap_or_default().contains("prod-redis-final"), "{:?}", c.reason);
    assert_eq!(starts(&events, &addr("redis")), [StepKind::DeleteReplaced, StepKind::CreateReplacement]);
    assert!(sim.converged(&group_stack(2, true, snapshot())).await);
    assert_eq!(sim.cloud.count_by_address().get(&addr("redis")), Some(&1));
}

// ---------------------------------------------------------------------
// Validation: refused before any call, naming the field.
// ---------------------------------------------------------------------

/// The fields `stack` is refused for.
fn refused(stack: &Stack) -> Vec<String> {
    match stack.validate() {
        Err(infra_core::Error::Invalid(d)) => d.iter().filter_map(|p| p.field.clone()).collect(),
        Err(e) => panic!("{e}"),
        Ok(_) => Vec::new(),
    }
}

fn one(build: impl FnOnce(&mut Stack, &ProviderKey)) -> Stack {
    let (mut s, us, _) = stack("invalid");
    build(&mut s, &us);
    s
}

fn valid_group() -> ReplicationGroup {
    ReplicationGroup {
        replication_group_id: "prod-redis".into(),
        description: "Redis".into(),
        node_type: "cache.t4g.medium".into(),
        ..Default::default()
    }
}

#[test]
fn invalid_replication_groups_are_refused_naming_the_field() {
    let token = |t: &str| Some(SecretSource::Value(Sensitive(t.to_owned())));
    let cases: Vec<(&str, ReplicationGroup)> = vec![
        ("replication_group_id", ReplicationGroup { replication_group_id: "1redis".into(), ..valid_group() }),
        (
            "replication_group_id",
            ReplicationGroup { replication_group_id: "prod--redis".into(), ..valid_group() },
        ),
        (
            "replication_group_id",
            ReplicationGroup { replication_group_id: "prod-redis-".into(), ..valid_group() },
        ),
        (
            "replication_group_id",
            ReplicationGroup { replication_group_id: "Prod-Redis".into(), ..valid_group() },
        ),
        ("replication_group_id", ReplicationGroup { replication_group_id: "r".repeat(41), ..valid_group() }),
        ("description", ReplicationGroup { description: String::new(), ..valid_group() }),
        ("engine", ReplicationGroup { engine: Some("memcached".into()), ..valid_group() }),
        ("engine_version", ReplicationGroup { engine_version: Some("7.0.7".into()), ..valid_group() }),
        ("engine_version", ReplicationGroup { engine_version: Some("5.0".into()), ..valid_group() }),
        ("node_type", ReplicationGroup { node_type: "t4g.medium".into(), ..valid_group() }),
        ("port", ReplicationGroup { port: Some(0), ..valid_group() }),
        ("auth_token", ReplicationGroup { auth_token: token("a-token-of-sixteen-chars"), ..valid_group() }),
        (
            "auth_token",
            ReplicationGroup {
                transit_encryption_enabled: true,
                auth_token: token("too-short"),
                ..valid_group()
            },
        ),
        (
            "auth_token",
            ReplicationGroup {
                transit_encryption_enabled: true,
                auth_token: token("has-an-@-in-it-0123456789"),
                ..valid_group()
            },
        ),
        (
            "automatic_failover_enabled",
            ReplicationGroup { automatic_failover_enabled: true, ..valid_group() },
        ),
        (
            "automatic_failover_enabled",
            ReplicationGroup {
                automatic_failover_enabled: true,
                num_cache_clusters: Some(1),
                ..valid_group()
            },
        ),
        (
            "multi_az_enabled",
            ReplicationGroup { multi_az_enabled: true, num_cache_clusters: Some(2), ..valid_group() },
        ),
        ("num_cache_clusters", ReplicationGroup { num_cache_clusters: Some(7), ..valid_group() }),
        (
            "snapshot_retention_limit",
            ReplicationGroup { snapshot_retention_limit: Some(36), ..valid_group() },
        ),
        ("snapshot_window", ReplicationGroup { snapshot_window: Some("3:00-5:00".into()), ..valid_group() }),
        (
            "snapshot_window",
            ReplicationGroup { snapshot_window: Some("03:00-03:00".into()), ..valid_group() },
        ),
        (
            "maintenance_window",
            ReplicationGroup { maintenance_window: Some("sunday:05:00-07:00".into()), ..valid_group() },
        ),
        (
            "maintenance_window",
            ReplicationGroup { maintenance_window: Some("sun:05:00-sun:05:30".into()), ..valid_group() },
        ),
        (
            "kms_key_id",
            ReplicationGroup {
                kms_key_id: Some(
                    infra_aws::ids::KmsKeyArn::new("arn:aws:kms:us-east-1:123456789012:key/k")
                        .unwrap()
                        .into(),
                ),
                ..valid_group()
            },
        ),
        (
            "num_cache_clusters",
            ReplicationGroup {
                num_cache_clusters: Some(2),
                num_node_groups: Some(2),
                replicas_per_node_group: Some(1),
                automatic_failover_enabled: true,
                ..valid_group()
            },
        ),
        (
            "replicas_per_node_group",
            ReplicationGroup { num_node_groups: Some(2), automatic_failover_enabled: true, ..valid_group() },
        ),
        ("replicas_per_node_group", ReplicationGroup { replicas_per_node_group: Some(1), ..valid_group() }),
        (
            "automatic_failover_enabled",
            ReplicationGroup { num_node_groups: Some(2), replicas_per_node_group: Some(1), ..valid_group() },
        ),
    ];
    for (field, group) in cases {
        let s = one(|s, us| {
            s.add_with("redis", group.clone(), Options::new().provider(us));
        });
        assert_eq!(refused(&s), [field], "{group:?}");
    }
    // The seed's settings, and cluster mode, are valid.
    let s = one(|s, us| {
        s.add_with(
            "redis",
            ReplicationGroup {
                engine: Some("valkey".into()),
                engine_version: Some("8.0".into()),
                num_node_groups: Some(3),
                replicas_per_node_group: Some(1),
                automatic_failover_enabled: true,
                multi_az_enabled: true,
                transit_encryption_enabled: true,
                auth_token: token("Abc-123!&#$^<>xyz"),
                snapshot_window: Some("23:00-01:00".into()),
                maintenance_window: Some("sat:23:30-sun:00:30".into()),
                ..valid_group()
            },
            Options::new().provider(us),
        );
    });
    assert_eq!(refused(&s), Vec::<String>::new());
}

#[test]
fn invalid_subnet_and_parameter_groups_are_refused_naming_the_field() {
    let s = one(|s, us| {
        s.add_with(
            "a",
            CacheParameterGroup {
                name: "prod-redis-params".into(),
                family: "redis7.x".into(),
                ..Default::default()
            },
            Options::new().provider(us),
        );
    });
    assert_eq!(refused(&s), ["family"]);
    let message = s.validate().unwrap_err().to_string();
    assert!(message.contains("did you mean redis7?"), "{message}");
    let s = one(|s, us| {
        s.add_with(
            "a",
            CacheParameterGroup {
                name: "Params_1".into(),
                family: "redis7".into(),
                parameters: BTreeMap::from([("maxmemory-policy".to_owned(), String::new())]),
                ..Default::default()
            },
            Options::new().provider(us),
        );
    });
    let mut fields = refused(&s);
    fields.sort();
    assert_eq!(fields, ["name", "parameters.maxmemory-policy"]);
    let s = one(|s, us| {
        s.add_with(
            "a",
            CacheSubnetGroup { name: "default".into(), ..Default::default() },
            Options::new().provider(us),
        );
    });
    assert_eq!(refused(&s), ["name", "subnet_ids"]);
    // One name per region.
    let s = one(|s, us| {
        for a in ["a", "b"] {
            s.add_with(
                a,
                CacheParameterGroup { name: "same".into(), family: "redis7".into(), ..Default::default() },
                Options::new().provider(us),
            );
        }
    });
    assert_eq!(refused(&s), ["name"]);
}
