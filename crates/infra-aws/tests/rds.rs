//! RDS on the emulator: the subnet and parameter groups', the Aurora
//! cluster's and its instances' lifecycles in both regions (create,
//! refreshed plan empty, update in place, plan empty, force-new replace,
//! destroy leaves nothing), a standalone global cluster's, the seed's
//! primary with a global cluster and a secondary in eu-west-1, a create
//! over a taken identifier refused, a lost CreateDBCluster answer adopted,
//! drift, and what a delete does with the data (refused undecided, blocked
//! by deletion protection, a final snapshot left behind).
//!
//! Emulator gaps (moto 5.2.5), each shown on the simulated provider
//! instead, as the tests named `sim_*` say:
//! - ModifyDBSubnetGroup makes the group vanish: a subnet group's update
//!   in place is `sim_subnet_group_changes_in_place`.
//! - ResetDBClusterParameterGroup and ResetDBParameterGroup answer 500: a
//!   parameter removed from a group is `sim_a_removed_parameter_is_reset_in_place`.
//! - ModifyDBCluster ignores `EnableIAMDatabaseAuthentication` and
//!   `CloudwatchLogsExportConfiguration`: their update in place is
//!   `sim_iam_auth_and_log_exports_change_in_place`.
//! - RemoveFromGlobalCluster is a no-op for a member in another region, so
//!   a global cluster with a secondary can never be deleted, and
//!   ModifyGlobalCluster answers 500: the emulator test shows the
//!   secondary left (RemoveFromGlobalCluster, then DeleteDBCluster) and the
//!   global cluster's delete refused naming the member the emulator keeps;
//!   `sim_global_cluster_with_a_secondary_changes_and_is_destroyed` shows
//!   deletion protection changed in place and the whole global database
//!   destroyed, secondary first.
//! - Duplicate subnet groups and clusters overwrite instead of failing:
//!   infra reads the identifier first (`a_taken_identifier_is_refused`).
//! - Instances are available at once, and Performance Insights does not
//!   read back: not declared here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::*;
use infra_aws::ids::{DbClusterIdentifier, KmsKeyArn, SecurityGroupId, SubnetId};
use infra_aws::rds::{
    AuroraCluster, ClusterInstance, DbClusterParameterGroup, DbParameter, DbParameterGroup, DbSubnetGroup,
    GlobalCluster,
};
use infra_aws::secretsmanager::{GeneratedPassword, Secret, SecretSource};
use infra_core::plan::PlanOptions;
use infra_core::{
    Action, Handle, Input, OnDelete, Options, ProviderConfig, ProviderKey, ReplaceOrder, Sensitive, Stack,
};
use infra_engine::{Mode, Outcome};
use infra_testkit::faults::{Effect, Fault};

fn rds(w: &World, region: &str) -> aws_sdk_rds::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_rds::Client::from_conf(aws_sdk_rds::config::Builder::from(&sdk).build())
}

/// A VPC's subnets in three zones and a security group, made outside the
/// stack (the emulator checks a subnet group's subnets exist).
#[derive(Debug, Clone, Default)]
struct Net {
    subnets: Vec<String>,
    sg: String,
}

type Nets = Arc<Mutex<BTreeMap<&'static str, Net>>>;

async fn make_nets(w: &World, into: &Nets) {
    for region in REGIONS {
        let ec2 = w.ec2(region);
        let vpc = ec2.create_vpc().cidr_block("10.40.0.0/16").send().await.unwrap();
        let vpc = vpc.vpc.unwrap().vpc_id.unwrap();
        let mut subnets = Vec::new();
        for (i, az) in ["a", "b", "c"].iter().enumerate() {
            let s = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.40.{i}.0/24"))
                .availability_zone(format!("{region}{az}"))
                .send()
                .await
                .unwrap();
            subnets.push(s.subnet.unwrap().subnet_id.unwrap());
        }
        let sg = ec2.create_security_group().group_name("db").description("db").vpc_id(&vpc).send().await;
        into.lock().unwrap().insert(region, Net { subnets, sg: sg.unwrap().group_id.unwrap() });
    }
}

fn net(nets: &Nets, region: &str) -> Net {
    nets.lock().unwrap().get(region).cloned().unwrap()
}

fn region_of(r: &str) -> &'static str {
    if r == "eu" { "eu-west-1" } else { "us-east-1" }
}

fn kms(region: &str) -> Input<KmsKeyArn> {
    KmsKeyArn::new(format!("arn:aws:kms:{region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
        .unwrap()
        .into()
}

fn sg(id: &str) -> Input<SecurityGroupId> {
    SecurityGroupId::new(id).unwrap().into()
}

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_owned(), format!("t{v}"))])
}

fn subnet_group(net: &Net, name: &str, subnets: usize) -> DbSubnetGroup {
    DbSubnetGroup {
        name: name.into(),
        subnet_ids: net.subnets[..subnets].iter().map(|s| SubnetId::new(s).unwrap().into()).collect(),
        ..Default::default()
    }
}

/// The seed's primary cluster, in region `r`: `v` 1 changes what changes
/// in place, 2 renames it.
fn cluster(
    r: &str,
    net: &Net,
    v: u8,
    group: &Handle<DbSubnetGroup>,
    password: SecretSource,
) -> AuroraCluster {
    AuroraCluster {
        cluster_identifier: if v == 2 { format!("product-{r}-2") } else { format!("product-{r}") },
        engine: "aurora-postgresql".into(),
        engine_mode: Some("provisioned".into()),
        engine_version: Some(if v >= 1 { "15.5" } else { "15.4" }.into()),
        database_name: Some("products".into()),
        master_username: Some("dbadmin".into()),
        master_password: Some(password),
        storage_encrypted: Some(true),
        kms_key_id: Some(kms(region_of(r))),
        backup_retention_period: Some(if v >= 1 { 14 } else { 35 }),
        preferred_backup_window: Some(if v >= 1 { "04:00-05:00" } else { "03:00-04:00" }.into()),
        preferred_maintenance_window: Some("sun:06:00-sun:07:00".into()),
        vpc_security_group_ids: vec![sg(&net.sg)],
        db_subnet_group_name: Some(group.name().into()),
        iam_database_authentication_enabled: Some(true),
        enabled_cloudwatch_logs_exports: vec!["postgresql".into()],
        copy_tags_to_snapshot: (v >= 1).then_some(true),
        on_delete: Some(OnDelete::DeleteData),
        tags: tags(v.min(1)),
        ..Default::default()
    }
}

/// A password generated into a secret, never seen by the stack.
fn generated(s: &mut Stack, key: &ProviderKey, r: &str) -> SecretSource {
    let o = Options::new().provider(key);
    let secret = s.add_with(
        &format!("secret-{r}"),
        Secret { name: format!("db-{r}"), recovery_window_in_days: Some(0), ..Default::default() },
        o.clone(),
    );
    let password = s.add_with(
        &format!("password-{r}"),
        GeneratedPassword {
            secret_id: secret.arn().into(),
            length: 24,
            exclude_characters: Some("/@\" ".into()),
            ..Default::default()
        },
        o,
    );
    SecretSource::Secret(password.secret_arn().into())
}

/// A stack `name` in us-east-1 of a subnet group (`subnets`, named
/// `data`) and the primary cluster (`db`, `product-us`) at version `v`
/// with a given password, as `tweak` changes it.
fn lone(name: &str, n: &Net, v: u8, tweak: impl FnOnce(&mut AuroraCluster)) -> (Stack, ProviderKey) {
    let (mut s, us, _) = stack(name);
    let group = s.add_with("subnets", subnet_group(n, "data", 2), Options::new().provider(&us));
    let mut db = cluster("us", n, v, &group, SecretSource::Value(Sensitive(format!("password-{v}-long"))));
    tweak(&mut db);
    s.add_with("db", db, Options::new().provider(&us));
    (s, us)
}

/// A fresh world (through the fault proxy or not) and its us-east-1
/// network fixtures.
async fn world_and_net(proxied: bool) -> (World, Net) {
    let w = if proxied { world_through_proxy() } else { world() };
    let nets = Nets::default();
    make_nets(&w, &nets).await;
    let n = net(&nets, "us-east-1");
    (w, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet_and_parameter_groups() {
    let nets = Nets::default();
    lifecycle_with(
        "groups",
        async |w: &World| make_nets(w, &nets).await,
        |s, us, eu, v| {
            for (key, r) in [(us, "us"), (eu, "eu")] {
                let o = Options::new().provider(key);
                let suffix = if v == 2 { "-2" } else { "" };
                // The subnet group does not change in place here (the
                // emulator drops it on ModifyDBSubnetGroup: see
                // sim_subnet_group_changes_in_place).
                let mut group = subnet_group(&net(&nets, region_of(r)), &format!("data-{r}{suffix}"), 2);
                group.tags = tags(0);
                s.add_with(&format!("subnets-{r}"), group, o.clone());
                // Values change in place; none is removed (the emulator has
                // no ResetDB[Cluster]ParameterGroup: see
                // sim_a_removed_parameter_is_reset_in_place).
                let value = if v >= 1 { "1000" } else { "500" };
                let parameters = BTreeMap::from([
                    ("log_min_duration_statement".to_owned(), DbParameter::new(value)),
                    (
                        "shared_preload_libraries".to_owned(),
                        DbParameter::pending_reboot("pg_stat_statements"),
                    ),
                ]);
                s.add_with(
                    &format!("cluster-params-{r}"),
                    DbClusterParameterGroup {
                        name: format!("pg15-{r}{suffix}"),
                        family: "aurora-postgresql15".into(),
                        parameters: parameters.clone(),
                        tags: tags(v.min(1)),
                        ..Default::default()
                    },
                    o.clone(),
                );
                s.add_with(
                    &format!("params-{r}"),
                    DbParameterGroup {
                        name: format!("pg15-instances-{r}{suffix}"),
                        family: "aurora-postgresql15".into(),
                        description: Some("instances".into()),
                        parameters,
                        tags: tags(v.min(1)),
                    },
                    o,
                );
            }
        },
        &["subnets-us", "subnets-eu", "cluster-params-us", "cluster-params-eu", "params-us", "params-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aurora_cluster() {
    let nets = Nets::default();
    lifecycle_with(
        "cluster",
        async |w: &World| make_nets(w, &nets).await,
        |s, us, eu, v| {
            for (key, r) in [(us, "us"), (eu, "eu")] {
                let n = net(&nets, region_of(r));
                let o = Options::new().provider(key);
                let group =
                    s.add_with(&format!("subnets-{r}"), subnet_group(&n, &format!("data-{r}"), 2), o.clone());
                // v1 changes the password from a generated one to a given one.
                let generated = generated(s, key, r);
                let password = if v == 0 {
                    generated
                } else {
                    SecretSource::Value(Sensitive("a-new-password-1".into()))
                };
                s.add_with(&format!("db-{r}"), cluster(r, &n, v, &group, password), o);
            }
        },
        &["db-us", "db-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// v1's changes reach the emulator (the lifecycle checks only that plans
/// converge).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_in_place_reaches_the_cluster_and_drift_is_undone() {
    let (w, n) = world_and_net(false).await;
    let version = |v: u8| lone("update", &n, v, |_| {}).0;
    w.apply(&version(0)).await;
    let (o, _) = w.apply(&version(1)).await;
    let change = o.plan.change(&addr("db")).unwrap();
    assert_eq!(change.action, Action::Update, "{change:?}");
    let c =
        rds(&w, "us-east-1").describe_db_clusters().db_cluster_identifier("product-us").send().await.unwrap();
    let c = &c.db_clusters()[0];
    assert_eq!((c.backup_retention_period(), c.engine_version()), (Some(14), Some("15.5")));
    assert_eq!((c.preferred_backup_window(), c.copy_tags_to_snapshot()), (Some("04:00-05:00"), Some(true)));
    assert!(w.converged(&version(1)).await);

    // Drift: the retention changed outside the stack shows and is set back.
    let client = rds(&w, "us-east-1");
    client
        .modify_db_cluster()
        .db_cluster_identifier("product-us")
        .backup_retention_period(3)
        .send()
        .await
        .unwrap();
    let (o, _) = w.apply(&version(1)).await;
    assert_eq!(o.plan.change(&addr("db")).unwrap().action, Action::Update);
    let c = client.describe_db_clusters().db_cluster_identifier("product-us").send().await.unwrap();
    assert_eq!(c.db_clusters()[0].backup_retention_period(), Some(14));
    assert!(w.converged(&version(1)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_instances() {
    let nets = Nets::default();
    lifecycle_with(
        "instances",
        async |w: &World| make_nets(w, &nets).await,
        |s, us, eu, v| {
            for (key, r) in [(us, "us"), (eu, "eu")] {
                let n = net(&nets, region_of(r));
                let o = Options::new().provider(key);
                let group =
                    s.add_with(&format!("subnets-{r}"), subnet_group(&n, &format!("data-{r}"), 2), o.clone());
                let password = SecretSource::Value(Sensitive("password-0-long".into()));
                let db = s.add_with(&format!("db-{r}"), cluster(r, &n, 0, &group, password), o.clone());
                let params = s.add_with(
                    &format!("params-{r}"),
                    DbParameterGroup {
                        name: format!("pg15-instances-{r}"),
                        family: "aurora-postgresql15".into(),
                        parameters: BTreeMap::from([("log_connections".into(), DbParameter::new("1"))]),
                        ..Default::default()
                    },
                    o.clone(),
                );
                for i in 0..2 {
                    let renamed = v == 2 && i == 1;
                    s.add_with(
                        &format!("db-{r}-{i}"),
                        ClusterInstance {
                            identifier: format!("product-{r}-{i}{}", if renamed { "-b" } else { "" }),
                            cluster_identifier: db.id().into(),
                            instance_class: if v >= 1 { "db.r6g.xlarge" } else { "db.r6g.large" }.into(),
                            engine: "aurora-postgresql".into(),
                            promotion_tier: (v >= 1).then_some(2),
                            db_parameter_group_name: (v >= 1).then(|| params.name().into()),
                            auto_minor_version_upgrade: (v >= 1).then_some(false),
                            apply_immediately: Some(true),
                            tags: tags(v.min(1)),
                            ..Default::default()
                        },
                        o.clone(),
                    );
                }
            }
        },
        &["db-us-1", "db-eu-1"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// A global cluster made empty (engine only): the emulator cannot change
/// one in place (ModifyGlobalCluster answers 500), so the lifecycle is
/// create, plan empty, rename (replace), plan empty, destroy; deletion
/// protection changes in place on the simulated provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_global_cluster() {
    let w = world();
    let version = |id: &str| {
        let (mut s, us, _) = stack("global");
        let global = GlobalCluster {
            global_cluster_identifier: id.into(),
            engine: Some("aurora-postgresql".into()),
            engine_version: Some("15.4".into()),
            ..Default::default()
        };
        s.add_with("global", global, Options::new().provider(&us));
        s
    };
    w.apply(&version("orders")).await;
    assert!(w.converged(&version("orders")).await);
    let (o, _) = w.apply(&version("orders-2")).await;
    assert!(matches!(o.plan.change(&addr("global")).unwrap().action, Action::Replace { .. }));
    assert!(w.converged(&version("orders-2")).await);
    w.destroy(&version("orders-2")).await;
    let left = rds(&w, "us-east-1").describe_global_clusters().send().await.unwrap();
    assert!(left.global_clusters().is_empty(), "{left:?}");
}

/// The seed: the primary in us-east-1 with two instances, a global
/// cluster made from it, and a secondary cluster in eu-west-1 that joins
/// it (no master user: the primary's), with an instance.
/// `simulated`: a given password (no Secrets Manager types there);
/// `protect`: the global cluster's deletion protection on.
fn seed(nets: &Nets, simulated: bool, protect: bool) -> (Stack, ProviderKey, ProviderKey) {
    let (mut s, us, eu) = stack("seed");
    let (on_us, on_eu) = (Options::new().provider(&us), Options::new().provider(&eu));
    let (n_us, n_eu) = (net(nets, "us-east-1"), net(nets, "eu-west-1"));
    let group = s.add_with("subnets-us", subnet_group(&n_us, "data", 2), on_us.clone());
    let password = if simulated {
        SecretSource::Value(Sensitive("password-0-long".into()))
    } else {
        generated(&mut s, &us, "us")
    };
    let primary = s.add_with(
        "product-primary",
        AuroraCluster {
            cluster_identifier: "product-db-primary".into(),
            ..cluster("us", &n_us, 0, &group, password)
        },
        on_us.clone(),
    );
    let mut writer = None;
    for i in 0..2 {
        let instance = ClusterInstance {
            identifier: format!("product-db-primary-{i}"),
            cluster_identifier: primary.id().into(),
            instance_class: "db.r6g.large".into(),
            engine: "aurora-postgresql".into(),
            ..Default::default()
        };
        let h = s.add_with(&format!("product-primary-{i}"), instance, on_us.clone());
        writer.get_or_insert(h);
    }
    let global = s.add_with(
        "product-global",
        GlobalCluster {
            global_cluster_identifier: "product-db".into(),
            source_db_cluster_identifier: Some(primary.arn().into()),
            deletion_protection: protect.then_some(true),
            ..Default::default()
        },
        on_us,
    );
    let group_eu = s.add_with("subnets-eu", subnet_group(&n_eu, "data", 2), on_eu.clone());
    let secondary = s.add_with(
        "product-secondary",
        AuroraCluster {
            cluster_identifier: "product-db-secondary".into(),
            engine: "aurora-postgresql".into(),
            storage_encrypted: Some(true),
            kms_key_id: Some(kms("eu-west-1")),
            vpc_security_group_ids: vec![sg(&n_eu.sg)],
            db_subnet_group_name: Some(group_eu.name().into()),
            global_cluster_identifier: Some(global.id().into()),
            on_delete: Some(OnDelete::DeleteData),
            ..Default::default()
        },
        on_eu.clone().depends_on(writer.as_ref().unwrap()),
    );
    let replica = ClusterInstance {
        identifier: "product-db-secondary-0".into(),
        cluster_identifier: secondary.id().into(),
        instance_class: "db.r6g.large".into(),
        engine: "aurora-postgresql".into(),
        ..Default::default()
    };
    s.add_with("product-secondary-0", replica, on_eu);
    (s, us, eu)
}

/// The seed's global database applies and plans empty (the secondary reads
/// as a member with no master user, the primary as the writer). On
/// destroy the secondary leaves the global cluster before it is deleted
/// (a first RemoveFromGlobalCluster fails through the fault proxy: the
/// delete is tried again, and DeleteDBCluster is sent once, after the
/// removal); the emulator then keeps the deleted secondary as a member
/// (its gap), so the global cluster's delete is refused naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_global_database() {
    let w = world_through_proxy();
    let nets = Nets::default();
    make_nets(&w, &nets).await;
    let (stack, us, eu) = seed(&nets, false, false);
    w.apply(&stack).await;
    assert!(w.converged(&stack).await, "the seed's plan after apply is not empty");
    let g = rds(&w, "us-east-1").describe_global_clusters().send().await.unwrap();
    assert_eq!(g.global_clusters()[0].global_cluster_members().len(), 2, "{g:?}");

    proxy().set(vec![Fault::new("RemoveFromGlobalCluster", 1, Effect::Unavailable)]);
    let (o, _) = w.run(&stack, Mode::Destroy { targets: vec![] }).await;
    proxy().set(Vec::new());
    let calls = w.stats(&eu).snapshot();
    assert_eq!(calls.get("RemoveFromGlobalCluster"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("DeleteDBCluster"), Some(&1), "{calls:?}");
    let left = rds(&w, "eu-west-1").describe_db_clusters().send().await.unwrap();
    assert!(left.db_clusters().is_empty(), "the secondary is deleted: {left:?}");
    let failed: Vec<_> = o.report.failed.iter().map(|f| (f.0.to_string(), f.2.clone())).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "product-global");
    assert!(
        failed[0].1.contains("still has member clusters") && failed[0].1.contains("product-db-secondary"),
        "{failed:?}"
    );
    assert_eq!(w.stats(&us).snapshot().get("DeleteGlobalCluster"), None, "refused before the call");
}

/// A cluster or subnet group whose identifier is taken (made outside the
/// stack) is refused and left as it was; the emulator would overwrite it,
/// so infra reads the identifier before creating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_identifier_is_refused() {
    let (w, n) = world_and_net(false).await;
    let client = rds(&w, "us-east-1");
    client
        .create_db_cluster()
        .db_cluster_identifier("product-us")
        .engine("aurora-postgresql")
        .master_username("someone")
        .master_user_password("theirs-123")
        .backup_retention_period(3)
        .send()
        .await
        .unwrap();
    client
        .create_db_subnet_group()
        .db_subnet_group_name("data")
        .db_subnet_group_description("theirs")
        .set_subnet_ids(Some(n.subnets[1..].to_vec()))
        .send()
        .await
        .unwrap();
    // (The cluster in the default subnet group: it does not wait for ours.)
    let (s, _) = lone("taken", &n, 0, |db| db.db_subnet_group_name = None);
    let (o, _) = w.run(&s, Mode::Apply(PlanOptions::default())).await;
    let failed: BTreeMap<String, String> =
        o.report.failed.iter().map(|f| (f.0.to_string(), f.2.clone())).collect();
    for (address, what) in [("db", "product-us"), ("subnets", "data")] {
        let message = failed.get(address).unwrap_or_else(|| panic!("{address} not refused: {failed:?}"));
        assert!(
            message.contains(what) && message.contains("already exists") && message.contains("import"),
            "{message}"
        );
    }
    let c = client.describe_db_clusters().db_cluster_identifier("product-us").send().await.unwrap();
    assert_eq!(c.db_clusters()[0].master_username(), Some("someone"));
    assert_eq!(c.db_clusters()[0].backup_retention_period(), Some(3));
    let g = client.describe_db_subnet_groups().db_subnet_group_name("data").send().await.unwrap();
    assert_eq!(g.db_subnet_groups()[0].db_subnet_group_description(), Some("theirs"));
}

/// A lost CreateDBCluster answer: the cluster the attempt made is found by
/// its identifier and adopted (it carries this stack's tags), not made
/// twice or refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_is_adopted() {
    let (w, n) = world_and_net(true).await;
    let (s, _) = lone("lost", &n, 0, |_| {});
    proxy().set(vec![Fault::new("CreateDBCluster", 1, Effect::LoseResponse)]);
    let (o, _) = w.apply(&s).await;
    assert_eq!(proxy().injected(), vec![("CreateDBCluster".to_owned(), Effect::LoseResponse)]);
    proxy().set(Vec::new());
    assert!(o.report.success(), "{:?}", o.report);
    let c = rds(&w, "us-east-1").describe_db_clusters().send().await.unwrap();
    assert_eq!(c.db_clusters().len(), 1);
    assert!(w.converged(&s).await);
}

/// Runs without panicking on a refused plan.
async fn try_run(w: &World, stack: &Stack, mode: Mode) -> Result<Outcome, infra_engine::Error> {
    let options =
        infra_engine::RunOptions { mode, lock_timeout: std::time::Duration::from_secs(5), refresh: true };
    let backend: Arc<dyn infra_state::Backend> = w.backend.clone();
    let events = infra_engine::Events::none();
    infra_engine::run(&w.executor, backend, stack, &options, &events, &infra_engine::Interrupt::new()).await
}

/// Deleting a cluster: refused while `on_delete` is undecided, blocked
/// while deletion protection is on (turned off in place), and with
/// `OnDelete::FinalSnapshot` the snapshot stays on the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_keeps_a_final_snapshot_and_honours_deletion_protection() {
    let (w, n) = world_and_net(false).await;
    let version = |on_delete: Option<OnDelete>, protect: bool| {
        lone("delete", &n, 0, |db| {
            db.deletion_protection = Some(protect);
            db.on_delete = on_delete;
        })
    };
    let (undecided, us) = version(None, true);
    w.apply(&undecided).await;
    let refused = try_run(&w, &undecided, Mode::Destroy { targets: vec![] }).await.expect_err("refused");
    assert!(refused.to_string().contains("on_delete"), "{refused}");

    let (decided, _) = version(Some(OnDelete::FinalSnapshot("product-final".into())), true);
    let modifies = |w: &World| w.stats(&us).snapshot().get("ModifyDBCluster").copied();
    let before = modifies(&w);
    let (o, _) = w.apply(&decided).await;
    assert_eq!(o.plan.change(&addr("db")).unwrap().action, Action::Update);
    assert_eq!(modifies(&w), before, "deciding on_delete makes no call");
    let (o, _) = w.run(&decided, Mode::Destroy { targets: vec![] }).await;
    let failed = &o.report.failed;
    assert!(failed.len() == 1 && failed[0].2.contains("deletion_protection"), "{failed:?}");

    let (unprotected, _) = version(Some(OnDelete::FinalSnapshot("product-final".into())), false);
    w.apply(&unprotected).await;
    w.destroy(&unprotected).await;
    let client = rds(&w, "us-east-1");
    assert!(client.describe_db_clusters().send().await.unwrap().db_clusters().is_empty());
    let snaps =
        client.describe_db_cluster_snapshots().db_cluster_snapshot_identifier("product-final").send().await;
    let snaps = snaps.unwrap();
    assert_eq!(snaps.db_cluster_snapshots().len(), 1);
    assert_eq!(snaps.db_cluster_snapshots()[0].db_cluster_identifier(), Some("product-us"));
}

/// AWS keeps the master password in Secrets Manager: its ARN is an output,
/// and the plan stays empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_managed_master_password() {
    let (w, n) = world_and_net(false).await;
    let (s, _) = lone("managed", &n, 0, |db| {
        db.master_password = None;
        db.manage_master_user_password = Some(true);
    });
    let (o, _) = w.apply(&s).await;
    let arn = o.state.resources[&addr("db")].outputs.get("master_user_secret_arn").cloned();
    assert!(arn.as_ref().and_then(|a| a.as_str()).is_some_and(|a| a.contains(":secret:")), "{arn:?}");
    assert!(w.converged(&s).await);
}

/// Bad declarations are refused before any call, each naming its field.
#[test]
fn invalid_declarations_name_their_fields() {
    let (mut s, us, _) = stack("invalid");
    let o = Options::new().provider(&us);
    s.add_with(
        "db",
        AuroraCluster {
            cluster_identifier: "Product--DB".into(),
            engine: "postgres".into(),
            master_username: Some("dbadmin".into()),
            master_password: Some(SecretSource::Value(Sensitive("short".into()))),
            kms_key_id: Some(kms("us-east-1")),
            backup_retention_period: Some(40),
            preferred_backup_window: Some("03:00-04:00".into()),
            preferred_maintenance_window: Some("mon:03:30-mon:04:30".into()),
            on_delete: Some(OnDelete::DeleteData),
            ..Default::default()
        },
        o.clone(),
    );
    s.add_with(
        "secondary",
        AuroraCluster {
            cluster_identifier: "secondary".into(),
            engine: "aurora-postgresql".into(),
            master_username: Some("dbadmin".into()),
            global_cluster_identifier: Some(infra_aws::ids::GlobalClusterId::new("g").unwrap().into()),
            vpc_security_group_ids: vec![sg("sg-0123456789abcdef0")],
            ..Default::default()
        },
        o.clone(),
    );
    s.add_with(
        "instance",
        ClusterInstance {
            identifier: "db-0".into(),
            cluster_identifier: DbClusterIdentifier::new("product").unwrap().into(),
            instance_class: "r6g.large".into(),
            engine: "aurora-postgresql".into(),
            monitoring_interval: Some(30),
            ..Default::default()
        },
        o.clone(),
    );
    s.add_with("subnets", DbSubnetGroup { name: "Data".into(), ..Default::default() }, o);
    let e = s.validate().expect_err("invalid").to_string();
    for (address, field) in [
        ("db", "cluster_identifier"),
        ("db", "engine"),
        ("db", "master_password"),
        ("db", "kms_key_id"),
        ("db", "backup_retention_period"),
        ("db", "preferred_maintenance_window"),
        ("db", "vpc_security_group_ids"),
        ("secondary", "master_username"),
        ("instance", "instance_class"),
        ("instance", "monitoring_role_arn"),
        ("subnets", "name"),
        ("subnets", "subnet_ids"),
    ] {
        let named = format!("{address}: field `{field}`");
        assert!(e.lines().any(|l| l.contains(&named)), "{named} missing:\n{e}");
    }
}

// ---------------------------------------------------------------------
// The simulated provider, for what the emulator cannot show.

const SIM_TYPES: [&str; 6] = [
    "aws:rds:SubnetGroup",
    "aws:rds:ClusterParameterGroup",
    "aws:rds:ParameterGroup",
    "aws:rds:Cluster",
    "aws:rds:ClusterInstance",
    "aws:rds:GlobalCluster",
];

struct Sim {
    cloud: infra_sim::SimCloud,
    executor: infra_engine::Executor,
    backend: Arc<infra_state::MemoryBackend>,
}

impl Sim {
    fn new() -> Sim {
        let cloud = infra_sim::SimCloud::new(infra_sim::SimConfig::instant());
        let configs: Vec<ProviderConfig> = REGIONS.iter().map(|r| ProviderConfig::aws(r)).collect();
        let registry = infra_sim::sim_registry(&cloud, &configs, &SIM_TYPES);
        let executor = infra_engine::Executor::new(
            Arc::new(registry),
            infra_engine::Budget::new(infra_engine::BudgetConfig::default()),
            infra_engine::ExecutorConfig::default(),
        );
        Sim { cloud, executor, backend: Arc::new(infra_state::MemoryBackend::new()) }
    }

    async fn run(&self, stack: &Stack, mode: Mode) -> Outcome {
        let options =
            infra_engine::RunOptions { mode, lock_timeout: std::time::Duration::from_secs(5), refresh: true };
        let backend: Arc<dyn infra_state::Backend> = self.backend.clone();
        let events = infra_engine::Events::none();
        let o = infra_engine::run(
            &self.executor,
            backend,
            stack,
            &options,
            &events,
            &infra_engine::Interrupt::new(),
        )
        .await
        .unwrap();
        assert!(o.report.success(), "{:?}", o.report);
        o
    }

    async fn apply(&self, stack: &Stack) -> Outcome {
        self.run(stack, Mode::Apply(PlanOptions::default())).await
    }

    /// The simulated object at `address`.
    fn input(&self, address: &str, field: &str) -> Option<infra_core::Value> {
        let a = addr(address);
        self.cloud
            .resources()
            .into_iter()
            .find(|r| r.address.as_ref() == Some(&a))
            .and_then(|r| r.inputs.get(field).cloned())
    }

    /// The operations the simulated cloud was asked for on `address`.
    fn calls(&self, address: &str) -> Vec<infra_engine::Operation> {
        let a = addr(address);
        self.cloud
            .call_log()
            .into_iter()
            .filter(|c| c.address.as_ref() == Some(&a) && c.operation.is_mutating())
            .map(|c| c.operation)
            .collect()
    }
}

fn sim_net(i: u8) -> Net {
    Net { subnets: (0..3).map(|s| format!("subnet-0000000{i}{s}")).collect(), sg: format!("sg-000000000{i}") }
}

/// Substitutes for the emulator's ModifyDBSubnetGroup, which drops the
/// group: a changed description and subnet list update the group in
/// place (one update, no create or delete), and the next plan is empty.
#[tokio::test]
async fn sim_subnet_group_changes_in_place() {
    let sim = Sim::new();
    let version = |v: u8| {
        let (mut s, us, _) = stack("sim-subnets");
        let mut g = subnet_group(&sim_net(1), "data", 2 + usize::from(v));
        g.description = (v == 1).then(|| "the data tier".into());
        s.add_with("subnets", g, Options::new().provider(&us));
        s
    };
    sim.apply(&version(0)).await;
    let o = sim.apply(&version(1)).await;
    assert_eq!(o.plan.change(&addr("subnets")).unwrap().action, Action::Update);
    use infra_engine::Operation::{Create, Update};
    assert_eq!(sim.calls("subnets"), [Create, Update]);
    assert_eq!(
        sim.input("subnets", "description").and_then(|d| d.as_str().map(str::to_owned)).as_deref(),
        Some("the data tier")
    );
    assert!(sim.apply(&version(1)).await.plan.is_empty());
}

/// Substitutes for the emulator, which has no ResetDBClusterParameterGroup
/// or ResetDBParameterGroup: a parameter removed from either group is an
/// update in place, and the next plan is empty.
#[tokio::test]
async fn sim_a_removed_parameter_is_reset_in_place() {
    let sim = Sim::new();
    let version = |v: u8| {
        let (mut s, us, _) = stack("sim-params");
        let mut parameters = BTreeMap::from([("log_connections".to_owned(), DbParameter::new("1"))]);
        if v == 0 {
            parameters.insert("log_min_duration_statement".into(), DbParameter::new("500"));
        }
        let family = "aurora-postgresql15".to_owned();
        let o = Options::new().provider(&us);
        let cluster_group = DbClusterParameterGroup {
            name: "pg15".into(),
            family: family.clone(),
            parameters: parameters.clone(),
            ..Default::default()
        };
        s.add_with("cluster-params", cluster_group, o.clone());
        s.add_with(
            "params",
            DbParameterGroup { name: "pg15-instances".into(), family, parameters, ..Default::default() },
            o,
        );
        s
    };
    sim.apply(&version(0)).await;
    let o = sim.apply(&version(1)).await;
    use infra_engine::Operation::{Create, Update};
    for group in ["cluster-params", "params"] {
        assert_eq!(o.plan.change(&addr(group)).unwrap().action, Action::Update, "{group}");
        assert_eq!(sim.calls(group), [Create, Update], "{group}");
    }
    assert!(sim.apply(&version(1)).await.plan.is_empty());
}

/// Substitutes for the emulator's ModifyDBCluster, which ignores IAM
/// database authentication and log exports: both change in place.
#[tokio::test]
async fn sim_iam_auth_and_log_exports_change_in_place() {
    let sim = Sim::new();
    let version = |v: u8| {
        let (mut s, us, _) = stack("sim-cluster");
        let n = sim_net(1);
        let group = s.add_with("subnets", subnet_group(&n, "data", 2), Options::new().provider(&us));
        let password = SecretSource::Value(Sensitive("password-0-long".into()));
        let db = AuroraCluster {
            iam_database_authentication_enabled: Some(v == 1),
            enabled_cloudwatch_logs_exports: if v == 1 {
                vec!["postgresql".into(), "iam-db-auth-error".into()]
            } else {
                vec![]
            },
            ..cluster("us", &n, 0, &group, password)
        };
        s.add_with("db", db, Options::new().provider(&us));
        s
    };
    sim.apply(&version(0)).await;
    let o = sim.apply(&version(1)).await;
    let change = o.plan.change(&addr("db")).unwrap();
    assert_eq!(change.action, Action::Update);
    let fields: Vec<&str> = change.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(fields, ["enabled_cloudwatch_logs_exports", "iam_database_authentication_enabled"]);
    use infra_engine::Operation::{Create, Update};
    assert_eq!(sim.calls("db"), [Create, Update]);
    assert_eq!(sim.input("db", "iam_database_authentication_enabled"), Some(infra_core::Value::Bool(true)));
    assert!(sim.apply(&version(1)).await.plan.is_empty());
}

/// Substitutes for the emulator's global clusters, which cannot change in
/// place (ModifyGlobalCluster answers 500) nor lose a member in another
/// region: the seed's global database changes its deletion protection in
/// place and is destroyed whole, the secondary (which the provider
/// removes from the global cluster before deleting it, shown on the
/// emulator) before the global cluster, and that before the primary.
#[tokio::test]
async fn sim_global_cluster_with_a_secondary_changes_and_is_destroyed() {
    let sim = Sim::new();
    let nets = Nets::default();
    nets.lock().unwrap().extend([("us-east-1", sim_net(1)), ("eu-west-1", sim_net(2))]);
    let stack = seed(&nets, true, false).0;
    sim.apply(&stack).await;
    // Deletion protection on, then off again, in place.
    let o = sim.apply(&seed(&nets, true, true).0).await;
    assert_eq!(o.plan.change(&addr("product-global")).unwrap().action, Action::Update);
    assert_eq!(sim.input("product-global", "deletion_protection"), Some(infra_core::Value::Bool(true)));
    sim.apply(&stack).await;
    use infra_engine::Operation::{Create, Update};
    assert_eq!(sim.calls("product-global"), [Create, Update, Update]);

    let o = sim.run(&stack, Mode::Destroy { targets: vec![] }).await;
    assert!(o.state.resources.is_empty());
    assert!(sim.cloud.resources().is_empty(), "{:?}", sim.cloud.resources());
    let deleted: Vec<String> = sim
        .cloud
        .call_log()
        .into_iter()
        .filter(|c| c.operation == infra_engine::Operation::Delete)
        .filter_map(|c| c.address.map(|a| a.to_string()))
        .collect();
    let at = |a: &str| {
        deleted.iter().position(|d| d == a).unwrap_or_else(|| panic!("{a} not deleted: {deleted:?}"))
    };
    assert!(at("product-secondary-0") < at("product-secondary"));
    assert!(at("product-secondary") < at("product-global"));
    assert!(at("product-global") < at("product-primary"));
}
