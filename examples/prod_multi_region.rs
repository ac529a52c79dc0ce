//! The seed architecture's production stack, in two regions.
//!
//! What exists so far, in each of us-east-1 and eu-west-1:
//! - the network: three tiers over three availability zones, internet
//!   gateway, one NAT gateway per zone, route tables and security groups per
//!   tier, a transit gateway per region joined by a cross-region peering;
//! - the application tier: an ECS cluster; the product, order and user
//!   services on Fargate (512 CPU, 1 GiB) behind an internet-facing ALB
//!   (HTTP redirected to HTTPS, a path rule per service), each with its log
//!   group, execution and task roles, CPU-70 target tracking between 2 and 20
//!   tasks and a high-CPU alarm to the region's alerts topic; an ECR
//!   repository per service; the database password, generated once and kept
//!   only in Secrets Manager, handed to the containers as a secret; the
//!   certificate of the HTTPS listener with its DNS validation;
//! - the data tier: the product, order and user databases on Aurora
//!   PostgreSQL (KMS-encrypted, 35-day backups) — in us-east-1 a primary with
//!   two instances each, joined in a global cluster by a read replica cluster
//!   in eu-west-1 — the master password generated once into Secrets Manager
//!   and read by AWS alone; a Redis replication group per region (encrypted
//!   at rest and in transit, an auth token kept the same way, failover across
//!   zones, daily snapshots, notifications to the alerts topic); the ALB
//!   access-log bucket per region; in us-east-1 the static-assets bucket and
//!   the team state's bucket and lock table.
//!
//! It is an ordinary stack program, so it has every subcommand:
//!
//! ```sh
//! cargo run --example prod_multi_region -- plan
//! cargo run --example prod_multi_region -- apply --yes
//! cargo run --example prod_multi_region -- output
//! cargo run --example prod_multi_region -- graph      # Graphviz DOT
//! ```
//!
//! The load balancers and databases have deletion protection, and the
//! databases, caches and buckets are `protect`ed, as the seed asks for
//! production; each database and cache says what a delete does with its
//! data (a final snapshot for the primaries). To tear the stack down, apply
//! it once with `PROD_DELETION_PROTECTION=false`, then `destroy`.
//!
//! Two settings exist for the emulator (moto 5.2.5, see
//! docs/aws-provider.md): `PROD_CACHE_PARAMETERS=default` keeps the Redis
//! groups on the engine's default parameter group (the emulator cannot make
//! one), and `PROD_DATA_TIER=false` leaves the data tier out (the emulator
//! can delete neither a global cluster's replica nor a replication group).
//!
//! The certificate's validation waits until the CNAME records of the
//! `*_certificate_validation` outputs exist in the domain's DNS (the edge
//! tier will add them as Route 53 records).
//!
//! Credentials, region endpoints and profiles come from the standard AWS
//! chain (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, …); `scripts/demo` runs it
//! against the emulator on loopback.

use std::collections::BTreeMap;
use std::process::ExitCode;

use infra::aws::acm::{Certificate, CertificateValidation};
use infra::aws::components::{
    AlbConfig, AlbTarget, AuroraConfig, AuroraRole, EcsServiceConfig, Https, RedisConfig, ThreeTierVpc,
    ThreeTierVpcConfig, alb, aurora, ecs_service, redis, two_region_network,
};
use infra::aws::dynamodb::{KeyAttribute, Table};
use infra::aws::ecr::EcrRepository;
use infra::aws::ecs::{ContainerSecret, EcsCluster, EnvironmentVariable};
use infra::aws::elbv2::AccessLogs;
use infra::aws::iam::{PolicyDocument, Principal, Statement};
use infra::aws::ids::{GlobalClusterId, SecretArn};
use infra::aws::kms::KmsKey;
use infra::aws::rds::{DbSubnetGroup, GlobalCluster};
use infra::aws::s3::{Bucket, BucketEncryption, BucketPolicy};
use infra::aws::secretsmanager::{GeneratedPassword, Secret, SecretSource};
use infra::aws::sns::SnsTopic;
use infra::prelude::*;

/// The domain the load balancers serve.
const DOMAIN: &str = "example.com";

/// The services: name, the paths the load balancer routes to them (the
/// first takes every other path), and their database's name.
const SERVICES: [(&str, &str, &str); 3] =
    [("product", "/products/*", "products"), ("order", "/orders/*", "orders"), ("user", "/users/*", "users")];

/// The account ELB writes access logs from, per region (AWS's table for
/// regions opened before August 2022).
fn elb_log_account(region: &str) -> &'static str {
    if region == "eu-west-1" { "156460612806" } else { "127311923021" }
}

fn on(name: &str) -> bool {
    std::env::var(name).map_or(true, |v| v != "false")
}

/// Builds the production stack.
pub fn stack() -> Stack {
    let mut stack = Stack::new("prod");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
    let net = two_region_network(
        &mut stack,
        ("us", &us, &ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1)),
        ("eu", &eu, &ThreeTierVpcConfig::seed("prod-eu", "eu-west-1", 2)),
    );
    stack.export("us_vpc_id", net.primary.vpc.vpc.id());
    stack.export("eu_vpc_id", net.secondary.vpc.vpc.id());
    stack.export("us_transit_gateway_id", net.primary.transit_gateway.id());
    stack.export("eu_transit_gateway_id", net.secondary.transit_gateway.id());
    stack.export("tgw_peering_attachment_id", net.peering.id());

    let protect = on("PROD_DELETION_PROTECTION");
    let data_tier_on = on("PROD_DATA_TIER");
    let mut globals = BTreeMap::new();
    for (scope, key, region, vpc) in
        [("us", &us, "us-east-1", &net.primary.vpc), ("eu", &eu, "eu-west-1", &net.secondary.vpc)]
    {
        let alerts = stack.scope(scope).with_provider(key).scope("app").add(
            "alerts",
            SnsTopic { name: format!("prod-{scope}-alerts"), tags: tags(), ..Default::default() },
        );
        let data = data_tier_on
            .then(|| data_tier(&mut stack, scope, key, region, vpc, &alerts, &mut globals, protect));
        application_tier(&mut stack, scope, key, region, vpc, &alerts, data.as_ref(), protect);
    }
    stack
}

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("Environment".to_owned(), "prod".to_owned())])
}

/// Per service, from us-east-1 for eu-west-1: the global cluster, the
/// master password's secret, and the primary's instances.
type Globals = BTreeMap<&'static str, (Input<GlobalClusterId>, Input<SecretArn>, Vec<Address>)>;

/// What the application tier takes from its region's data tier.
struct DataTier {
    /// Per service: the database host its containers use.
    db_hosts: BTreeMap<&'static str, Input<String>>,
    redis_host: Input<String>,
    /// The master password's secret (in us-east-1: the containers of both
    /// regions read it by its full ARN).
    db_password: Input<SecretArn>,
    alb_logs: Input<infra::aws::ids::BucketName>,
}

/// One region's data tier, under `<scope>.data`. us-east-1 (the first
/// call) makes the primaries and their global clusters; eu-west-1 joins
/// them with read replica clusters.
#[allow(clippy::too_many_arguments)]
fn data_tier(
    stack: &mut Stack,
    scope: &str,
    key: &ProviderKey,
    region: &str,
    vpc: &ThreeTierVpc,
    alerts: &Handle<SnsTopic>,
    globals: &mut Globals,
    protect: bool,
) -> DataTier {
    let prefix = format!("prod-{scope}");
    let primary = globals.is_empty();
    let mut s = stack.scope(scope).with_provider(key);
    let mut data = s.scope("data");
    let key_arn: Input<_> = data
        .add(
            "key",
            KmsKey {
                description: Some(format!("{prefix} data at rest")),
                enable_key_rotation: true,
                deletion_window_in_days: Some(30.into()),
                tags: tags(),
                ..Default::default()
            },
        )
        .arn()
        .into();
    let subnet_group = data.add(
        "db-subnets",
        DbSubnetGroup {
            name: format!("{prefix}-data"),
            description: Some("the data tier's subnets".into()),
            subnet_ids: vpc.data_subnet_ids(),
            tags: tags(),
        },
    );
    let generated = |data: &mut Scope<'_>, name: &str, what: &str, length: u32| -> Input<SecretArn> {
        let secret = data.add(
            name,
            Secret {
                name: format!("{prefix}/{name}"),
                description: Some(what.into()),
                recovery_window_in_days: Some(7),
                tags: tags(),
                ..Default::default()
            },
        );
        data.add(
            &format!("{name}-value"),
            GeneratedPassword {
                secret_id: secret.arn().into(),
                length,
                // Letters and digits only: what an RDS password and a Redis
                // AUTH token both take.
                exclude_punctuation: Some(true),
                ..Default::default()
            },
        )
        .secret_arn()
        .into()
    };
    let db_password = match globals.values().next() {
        Some((_, password, _)) => password.clone(),
        None => generated(&mut data, "db-password", "the databases' master password", 32),
    };
    let mut db_hosts = BTreeMap::new();
    for (service, _, database) in SERVICES {
        let (name, role, instances, on_delete) = match globals.get(service) {
            None => (
                format!("{service}-db-primary"),
                AuroraRole::Primary {
                    database_name: database.into(),
                    master_username: "dbadmin".into(),
                    master_password: SecretSource::Secret(db_password.clone()),
                },
                2,
                // The primary owns the data: keep it.
                OnDelete::FinalSnapshot(format!("{service}-db-primary-final")),
            ),
            // A replica's data is the primary's.
            Some((global, _, after)) => (
                format!("{service}-db-replica"),
                AuroraRole::Secondary { global_cluster: global.clone(), after: after.clone() },
                1,
                OnDelete::DeleteData,
            ),
        };
        let db = aurora(
            &mut data,
            &format!("{service}-db"),
            &AuroraConfig {
                name,
                role,
                engine_version: "15.4".into(),
                instance_class: "db.r6g.large".into(),
                instances,
                kms_key: key_arn.clone(),
                subnet_group: subnet_group.name().into(),
                security_groups: vec![vpc.data_security_group.id().into()],
                backup_retention_days: 35,
                backup_window: "03:00-04:00".into(),
                maintenance_window: "sun:04:30-sun:05:30".into(),
                deletion_protection: protect,
                on_delete: Some(on_delete),
                protect,
                tags: tags(),
            },
        );
        db_hosts.insert(service, db.cluster.endpoint().to_string_output().into());
        if primary {
            let global = data.add(
                &format!("{service}-db-global"),
                GlobalCluster {
                    global_cluster_identifier: format!("{service}-db"),
                    source_db_cluster_identifier: Some(db.cluster.arn().into()),
                    deletion_protection: Some(protect),
                    ..Default::default()
                },
            );
            let instances = db.instances.iter().map(|i| i.address().clone()).collect();
            globals.insert(service, (global.id().into(), db_password.clone(), instances));
        }
    }

    let emulator_defaults = std::env::var("PROD_CACHE_PARAMETERS").is_ok_and(|v| v == "default");
    let auth_token = generated(&mut data, "redis-auth-token", "the Redis AUTH token", 64);
    let cache = redis(
        &mut data,
        "redis",
        &RedisConfig {
            name: format!("{prefix}-redis"),
            description: format!("Redis for {prefix}"),
            engine_version: "7.0".into(),
            node_type: "cache.r6g.large".into(),
            num_cache_clusters: 2,
            subnets: vpc.data_subnet_ids(),
            security_groups: vec![vpc.data_security_group.id().into()],
            family: "redis7".into(),
            parameters: if emulator_defaults {
                BTreeMap::new()
            } else {
                BTreeMap::from([("maxmemory-policy".to_owned(), "allkeys-lru".to_owned())])
            },
            kms_key: Some(key_arn.clone()),
            auth_token: Some(SecretSource::Secret(auth_token)),
            snapshot_retention_days: 5,
            snapshot_window: "03:00-05:00".into(),
            maintenance_window: "sun:05:00-sun:07:00".into(),
            notification_topic: Some(alerts.arn().into()),
            // A cache holds nothing the databases do not.
            on_delete: Some(OnDelete::DeleteData),
            protect,
            tags: tags(),
        },
    );

    let kept = if protect { Options::new().protect() } else { Options::new() };
    let encrypted = || Some(BucketEncryption::kms(key_arn.clone()));
    let logs = data.add_with(
        "alb-logs",
        Bucket {
            bucket: format!("{prefix}-alb-logs-example-com"),
            // ELB writes access logs with SSE-S3 only.
            lifecycle_rules: Vec::new(),
            tags: tags(),
            ..Default::default()
        },
        kept.clone(),
    );
    let logs_policy = data.add(
        "alb-logs-policy",
        BucketPolicy {
            bucket: logs.id().into(),
            policy: PolicyDocument::new([Statement::allow(["s3:PutObject"])
                .principal(Principal::aws(format!("arn:aws:iam::{}:root", elb_log_account(region))))
                .on(interpolate!(logs.arn(), "/AWSLogs/*"))]),
        },
    );
    if primary {
        data.add_with(
            "static-assets",
            Bucket {
                bucket: "prod-static-assets-example-com".into(),
                versioning: true,
                server_side_encryption: encrypted(),
                tags: tags(),
                ..Default::default()
            },
            kept.clone(),
        );
        // The team state of `infra` itself (the seed's `s3-backend`).
        data.add_with(
            "state",
            Bucket {
                bucket: "prod-infra-state-example-com".into(),
                versioning: true,
                server_side_encryption: encrypted(),
                tags: tags(),
                ..Default::default()
            },
            kept.clone(),
        );
        data.add_with(
            "state-lock",
            Table {
                name: "prod-infra-state-lock".into(),
                hash_key: KeyAttribute::string("LockID"),
                point_in_time_recovery: true,
                deletion_protection_enabled: protect,
                tags: tags(),
                ..Default::default()
            },
            kept,
        );
    }
    DataTier {
        db_hosts,
        redis_host: cache.group.primary_endpoint_address().to_string_output().into(),
        db_password,
        // Through the policy: the load balancer logs only once ELB may write.
        alb_logs: logs_policy.id().into(),
    }
}

/// One region's application tier, under `<scope>.app`.
#[allow(clippy::too_many_arguments)]
fn application_tier(
    stack: &mut Stack,
    scope: &str,
    key: &ProviderKey,
    region: &str,
    vpc: &ThreeTierVpc,
    alerts: &Handle<SnsTopic>,
    data: Option<&DataTier>,
    deletion_protection: bool,
) {
    let prefix = format!("prod-{scope}");
    let tags = tags();
    let mut s = stack.scope(scope).with_provider(key);
    let mut app = s.scope("app");

    let certificate = app.add(
        "certificate",
        Certificate {
            domain_name: DOMAIN.into(),
            subject_alternative_names: vec![format!("*.{DOMAIN}")],
            validation_method: "DNS".into(),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    let validation = app.add(
        "certificate-validation",
        CertificateValidation { certificate_arn: certificate.arn().into(), ..Default::default() },
    );

    let lb = alb(
        &mut app,
        "alb",
        &AlbConfig {
            name: format!("{prefix}-alb"),
            vpc_id: vpc.vpc.id().into(),
            subnets: vpc.public_subnet_ids(),
            security_groups: vec![vpc.alb_security_group.id().into()],
            deletion_protection,
            access_logs: data.map(|d| AccessLogs {
                bucket: d.alb_logs.clone(),
                prefix: Some("alb".into()),
                enabled: true,
            }),
            https: Some(Https {
                certificate_arn: validation.certificate_arn().into(),
                ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06".into(),
            }),
            targets: SERVICES
                .iter()
                .enumerate()
                .map(|(i, (name, path, _))| {
                    let paths: &[&str] = if i == 0 { &[] } else { std::slice::from_ref(path) };
                    AlbTarget::fargate(name, 8080, "/health", paths)
                })
                .collect(),
            tags: tags.clone(),
            ..Default::default()
        },
    );

    let cluster = app.add(
        "cluster",
        EcsCluster {
            name: format!("{prefix}-cluster"),
            container_insights: Some("enabled".into()),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    for (name, _, _) in SERVICES {
        let service = format!("{name}-service");
        let repo = app.add(
            &format!("{name}-repo"),
            EcrRepository {
                name: service.clone(),
                image_tag_mutability: Some("IMMUTABLE".into()),
                scan_on_push: true,
                tags: tags.clone(),
                ..Default::default()
            },
        );
        let Some(tg) = lb.target_groups.get(name) else { continue };
        ecs_service(
            &mut app,
            name,
            &cluster,
            &EcsServiceConfig {
                name: service,
                role_prefix: prefix.clone(),
                region: region.into(),
                image: interpolate!(repo.repository_url(), ":latest").into(),
                cpu: 512,
                memory: 1024,
                container_port: 8080,
                environment: [
                    EnvironmentVariable { name: "PORT".into(), value: "8080".into() },
                    EnvironmentVariable { name: "NODE_ENV".into(), value: "production".into() },
                ]
                .into_iter()
                .chain(data.into_iter().flat_map(|d| {
                    [
                        EnvironmentVariable { name: "DB_HOST".into(), value: d.db_hosts[name].clone() },
                        EnvironmentVariable { name: "REDIS_HOST".into(), value: d.redis_host.clone() },
                    ]
                }))
                .collect(),
                // The master password, by the full ARN of its secret in
                // us-east-1 (ECS reads a secret of another region that way).
                secrets: data
                    .map(|d| ContainerSecret {
                        name: "DB_PASSWORD".into(),
                        value_from: d.db_password.clone(),
                    })
                    .into_iter()
                    .collect(),
                subnets: vpc.app_subnet_ids(),
                security_groups: vec![vpc.app_security_group.id().into()],
                target_group: Some(tg.arn().into()),
                after: vec![lb.serving_listener().address().clone()],
                min_tasks: 2,
                max_tasks: 20,
                cpu_target: 70.0,
                log_retention_days: 30,
                alarm_topic: Some(alerts.arn().into()),
                tags: tags.clone(),
            },
        );
    }
    drop(app);
    drop(s);
    stack.export(&format!("{scope}_alb_dns_name"), lb.load_balancer.dns_name());
    stack.export(&format!("{scope}_certificate_validation"), certificate.domain_validation_options());
}

fn main() -> ExitCode {
    infra::cli::run(stack())
}
