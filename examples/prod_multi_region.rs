//! The seed architecture's production stack, in two regions.
//!
//! What exists so far, in each of us-east-1 and eu-west-1:
//! - the network: three tiers over three availability zones, internet
//!   gateway, one NAT gateway per zone, route tables and security groups per
//!   tier, a transit gateway per region joined by a cross-region peering;
//!   flow logs of every accepted and rejected flow to a log group;
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
use infra::aws::cloudfront::{
    CacheBehavior, CustomErrorResponse, CustomOriginConfig, Distribution, DistributionLogging,
    ForwardedValues, HttpVersion, MinimumProtocolVersion, Origin, OriginAccessControl, OriginProtocolPolicy,
    PriceClass, SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};
use infra::aws::components::{
    AlbConfig, AlbTarget, AuroraConfig, AuroraRole, EcsServiceConfig, Https, RedisConfig, ThreeTierVpc,
    ThreeTierVpcConfig, alb, aurora, ecs_service, redis, two_region_network,
};
use infra::aws::dynamodb::{KeyAttribute, Table};
use infra::aws::ec2::FlowLog;
use infra::aws::ecr::EcrRepository;
use infra::aws::ecs::{ContainerSecret, EcsCluster, EnvironmentVariable};
use infra::aws::elbv2::AccessLogs;
use infra::aws::elbv2::Alb;
use infra::aws::iam::{PolicyDocument, Principal, Role, RolePolicy, Statement};
use infra::aws::ids::{DnsName, GlobalClusterId, SecretArn};
use infra::aws::kms::KmsKey;
use infra::aws::logs::LogGroup;
use infra::aws::rds::{DbSubnetGroup, GlobalCluster};
use infra::aws::route53::{Alias, HealthCheck, HealthCheckType, HostedZone, Record, RecordType, Routing};
use infra::aws::s3::{Bucket, BucketEncryption, BucketPolicy, ObjectOwnership, PublicAccessBlock};
use infra::aws::secretsmanager::{GeneratedPassword, Secret, SecretSource};
use infra::aws::shield::{ProtectedResource, ShieldProtection};
use infra::aws::sns::SnsTopic;
use infra::aws::wafv2::{
    DefaultAction, ManagedRuleGroup, Rule, Scope as WafScope, VisibilityConfig, WebAcl, WebAclAssociation,
};
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
    let zone = stack.scope("edge").with_provider(&us).add(
        "zone",
        HostedZone { name: DOMAIN.into(), comment: Some("prod".into()), tags: tags(), ..Default::default() },
    );
    let mut globals = BTreeMap::new();
    let mut regions = Vec::new();
    let mut validation_record = None;
    for (scope, key, region, vpc) in
        [("us", &us, "us-east-1", &net.primary.vpc), ("eu", &eu, "eu-west-1", &net.secondary.vpc)]
    {
        let alerts = stack.scope(scope).with_provider(key).scope("app").add(
            "alerts",
            SnsTopic { name: format!("prod-{scope}-alerts"), tags: tags(), ..Default::default() },
        );
        flow_logs(&mut stack, scope, key, vpc);
        let data = data_tier_on
            .then(|| data_tier(&mut stack, scope, key, region, vpc, &alerts, &mut globals, protect));
        let regional = application_tier(
            &mut stack,
            scope,
            key,
            region,
            vpc,
            &alerts,
            data.as_ref(),
            &zone,
            &mut validation_record,
            protect,
        );
        regions.push(regional);
    }
    edge_tier(&mut stack, &us, &zone, &regions, protect);
    stack
}

/// What the edge takes from one region's application tier.
struct Regional {
    region: &'static str,
    alb: Handle<Alb>,
    /// The issued certificate (in us-east-1, also CloudFront's).
    certificate: Handle<CertificateValidation>,
}

/// The edge, in us-east-1 (CloudFront, its WAF and Route 53 are global),
/// under `edge`: `api.example.com` routed by latency to the nearer
/// region's ALB while its health check passes; CloudFront in front of the
/// static-assets bucket (through an origin access control) and of
/// `api.example.com` for `/api/*`, HTTPS only, with the us-east-1
/// certificate and a WAF of AWS managed rules and a per-IP rate limit;
/// `example.com` and `www` as aliases of the distribution; Shield Advanced
/// protections of the distribution and both ALBs.
fn edge_tier(
    stack: &mut Stack,
    us: &ProviderKey,
    zone: &Handle<HostedZone>,
    regions: &[Regional],
    protect: bool,
) {
    let tags = tags();
    let mut s = stack.scope("edge").with_provider(us);
    let api = format!("api.{DOMAIN}");
    for r in regions {
        let check = s.add(
            &format!("{}-health", r.region),
            HealthCheck {
                check_type: HealthCheckType::Https,
                fqdn: Some(r.alb.dns_name().into()),
                port: Some(443),
                resource_path: Some("/health".into()),
                request_interval: Some(30),
                failure_threshold: Some(3),
                enable_sni: Some(true),
                tags: tags.clone(),
                ..Default::default()
            },
        );
        s.add(
            &format!("api-{}", r.region),
            Record {
                zone_id: zone.zone_id().into(),
                name: api.clone().into(),
                record_type: RecordType::A,
                alias: Some(Alias::load_balancer(&r.alb).evaluate_target_health(true)),
                routing: Routing::Latency { region: r.region.into() },
                set_identifier: Some(r.region.into()),
                health_check_id: Some(check.id().into()),
                ..Default::default()
            },
        );
    }

    let kept = if protect { Options::new().protect() } else { Options::new() };
    let assets = s.add_with(
        "static-assets",
        Bucket {
            bucket: "prod-static-assets-example-com".into(),
            versioning: true,
            public_access_block: Some(PublicAccessBlock::ALL),
            tags: tags.clone(),
            ..Default::default()
        },
        kept.clone(),
    );
    let cdn_logs = s.add_with(
        "cdn-logs",
        Bucket {
            bucket: "prod-cloudfront-logs-example-com".into(),
            // CloudFront writes standard logs with ACLs.
            ownership_controls: Some(ObjectOwnership::BucketOwnerPreferred),
            tags: tags.clone(),
            ..Default::default()
        },
        kept,
    );
    let oac = s.add(
        "static-assets-access",
        OriginAccessControl {
            name: "prod-static-assets".into(),
            description: Some("CloudFront reads the static assets, signed".into()),
            ..Default::default()
        },
    );
    let waf = s.add(
        "waf",
        WebAcl {
            name: "prod-edge".into(),
            scope: WafScope::Cloudfront,
            description: Some("AWS managed rules and a per-IP rate limit".into()),
            default_action: DefaultAction::Allow,
            rules: vec![
                Rule::managed(10, ManagedRuleGroup::aws("AWSManagedRulesCommonRuleSet")),
                Rule::managed(20, ManagedRuleGroup::aws("AWSManagedRulesKnownBadInputsRuleSet")),
                Rule::managed(30, ManagedRuleGroup::aws("AWSManagedRulesSQLiRuleSet")),
                Rule::rate_limit("per-ip-rate-limit", 40, 2000),
            ],
            visibility_config: VisibilityConfig::metrics("prod-edge"),
            tags: tags.clone(),
        },
    );
    let certificate = regions.iter().find(|r| r.region == "us-east-1").map(|r| &r.certificate);
    let all_methods =
        || ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"].map(String::from).to_vec();
    let cdn = s.add(
        "cdn",
        Distribution {
            origins: vec![
                Origin {
                    origin_id: "static-assets".into(),
                    domain_name: assets.bucket_regional_domain_name().into(),
                    origin_access_control_id: Some(oac.id().into()),
                    ..Default::default()
                },
                Origin {
                    origin_id: "api".into(),
                    domain_name: DnsName::unchecked(&api).into(),
                    custom_origin_config: Some(CustomOriginConfig {
                        http_port: Some(80),
                        https_port: Some(443),
                        origin_protocol_policy: OriginProtocolPolicy::HttpsOnly,
                        origin_ssl_protocols: vec!["TLSv1.2".into()],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ],
            default_cache_behavior: CacheBehavior {
                target_origin_id: "static-assets".into(),
                viewer_protocol_policy: ViewerProtocolPolicy::RedirectToHttps,
                allowed_methods: all_methods(),
                cached_methods: vec!["GET".into(), "HEAD".into()],
                compress: true,
                forwarded_values: Some(ForwardedValues {
                    query_string: false,
                    cookies_forward: Some("none".into()),
                    ..Default::default()
                }),
                min_ttl: Some(0),
                default_ttl: Some(3600),
                max_ttl: Some(86400),
                ..Default::default()
            },
            ordered_cache_behaviors: vec![CacheBehavior {
                path_pattern: "/api/*".into(),
                target_origin_id: "api".into(),
                viewer_protocol_policy: ViewerProtocolPolicy::RedirectToHttps,
                allowed_methods: all_methods(),
                cached_methods: vec!["GET".into(), "HEAD".into(), "OPTIONS".into()],
                compress: true,
                forwarded_values: Some(ForwardedValues {
                    query_string: true,
                    headers: [
                        "Accept",
                        "Accept-Language",
                        "Authorization",
                        "CloudFront-Forwarded-Proto",
                        "Host",
                    ]
                    .map(String::from)
                    .to_vec(),
                    cookies_forward: Some("all".into()),
                    ..Default::default()
                }),
                min_ttl: Some(0),
                default_ttl: Some(0),
                max_ttl: Some(0),
                ..Default::default()
            }],
            aliases: vec![DOMAIN.into(), format!("www.{DOMAIN}")],
            viewer_certificate: certificate.map(|c| ViewerCertificate {
                acm_certificate_arn: c.certificate_arn().into(),
                ssl_support_method: SslSupportMethod::SniOnly,
                minimum_protocol_version: MinimumProtocolVersion::TlsV1_2_2021,
            }),
            price_class: Some(PriceClass::All),
            http_version: Some(HttpVersion::Http2And3),
            is_ipv6_enabled: true,
            enabled: true,
            comment: Some("CloudFront distribution for prod".into()),
            default_root_object: Some("index.html".into()),
            logging: Some(DistributionLogging {
                bucket: cdn_logs.bucket_domain_name().into(),
                prefix: Some("cloudfront/".into()),
                include_cookies: false,
            }),
            custom_error_responses: vec![CustomErrorResponse {
                error_code: 404,
                response_code: Some(200),
                response_page_path: Some("/index.html".into()),
                ..Default::default()
            }],
            web_acl_id: Some(waf.arn().into()),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    // Only this distribution may read the assets.
    s.add(
        "static-assets-policy",
        BucketPolicy {
            bucket: assets.id().into(),
            policy: PolicyDocument::new([Statement::allow(["s3:GetObject"])
                .sid("AllowCloudFrontAccess")
                .principal(Principal::service("cloudfront.amazonaws.com"))
                .on(interpolate!(assets.arn(), "/*"))
                .condition("StringEquals", "AWS:SourceArn", [cdn.arn()])]),
        },
    );
    for name in [DOMAIN.to_owned(), format!("www.{DOMAIN}")] {
        let label = if name == DOMAIN { "apex".to_owned() } else { "www".to_owned() };
        for record_type in [RecordType::A, RecordType::Aaaa] {
            s.add(
                &format!("{label}-{}", record_type.as_str().to_lowercase()),
                Record {
                    zone_id: zone.zone_id().into(),
                    name: name.clone().into(),
                    record_type,
                    alias: Some(Alias::new(cdn.domain_name(), cdn.hosted_zone_id())),
                    ..Default::default()
                },
            );
        }
    }
    s.add(
        "cdn-shield",
        ShieldProtection {
            name: "prod-cdn".into(),
            resource_arn: ProtectedResource::Distribution(cdn.arn().into()),
            tags: tags.clone(),
        },
    );
    for r in regions {
        s.add(
            &format!("{}-alb-shield", r.region),
            ShieldProtection {
                name: format!("prod-{}-alb", r.region),
                resource_arn: ProtectedResource::LoadBalancer(r.alb.arn().into()),
                tags: tags.clone(),
            },
        );
    }
    drop(s);
    stack.export("cdn_domain_name", cdn.domain_name());
    stack.export("zone_name_servers", zone.name_servers());
}

/// One region's VPC flow logs (the seed's network monitoring): every
/// accepted and rejected flow, to a log group kept 30 days, delivered by a
/// role of its own, under `<scope>.network.flow-logs`.
fn flow_logs(stack: &mut Stack, scope: &str, key: &ProviderKey, vpc: &ThreeTierVpc) {
    let prefix = format!("prod-{scope}");
    let mut s = stack.scope(scope).with_provider(key);
    let mut network = s.scope("network");
    let mut logs = network.scope("flow-logs");
    let group = logs.add(
        "log-group",
        LogGroup {
            name: format!("/aws/vpc/{prefix}-flow-logs"),
            retention_in_days: Some(30),
            tags: tags(),
            ..Default::default()
        },
    );
    let role = logs.add(
        "role",
        Role {
            name: format!("{prefix}-flow-logs"),
            assume_role_policy: PolicyDocument::assume_role("vpc-flow-logs.amazonaws.com"),
            tags: tags(),
            ..Default::default()
        },
    );
    let delivery = logs.add(
        "delivery",
        RolePolicy {
            role: role.name().into(),
            name: "deliver-flow-logs".into(),
            policy: PolicyDocument::new([Statement::allow([
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
            ])
            .on(interpolate!(group.arn(), ":*"))]),
        },
    );
    logs.add_with(
        "flow-log",
        FlowLog {
            vpc_id: vpc.vpc.id().into(),
            traffic_type: "ALL".into(),
            log_destination: Some(group.arn().to_string_output().into()),
            iam_role_arn: Some(role.arn().into()),
            tags: tags(),
            ..Default::default()
        },
        // Delivery works once the role may write.
        Options::new().depends_on(&delivery),
    );
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
    zone: &Handle<HostedZone>,
    validation_record: &mut Option<Handle<Record>>,
    deletion_protection: bool,
) -> Regional {
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
    // The apex and the wildcard share one validation record, in the global
    // zone; ACM asks for the same record for a domain in every region of
    // an account, so the first region's record serves both.
    let dvo = certificate.validation_record(0);
    let validation_record = validation_record
        .get_or_insert_with(|| {
            app.add(
                "certificate-validation-record",
                Record {
                    zone_id: zone.zone_id().into(),
                    name: dvo.resource_record_name.into(),
                    record_type: RecordType::Cname,
                    ttl: Some(60),
                    records: vec![dvo.resource_record_value.into()],
                    ..Default::default()
                },
            )
        })
        .clone();
    let validation = app.add(
        "certificate-validation",
        CertificateValidation {
            certificate_arn: certificate.arn().into(),
            validation_record_fqdns: vec![validation_record.fqdn().into()],
        },
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
    // The seed's regional WAF in front of the ALB.
    let waf = app.add(
        "waf",
        WebAcl {
            name: format!("{prefix}-alb"),
            scope: WafScope::Regional,
            default_action: DefaultAction::Allow,
            rules: vec![
                Rule::managed(10, ManagedRuleGroup::aws("AWSManagedRulesCommonRuleSet")),
                Rule::rate_limit("per-ip-rate-limit", 20, 2000),
            ],
            visibility_config: VisibilityConfig::metrics(&format!("{prefix}-alb")),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    app.add(
        "waf-association",
        WebAclAssociation { web_acl_arn: waf.arn().into(), resource_arn: lb.load_balancer.arn().into() },
    );
    drop(app);
    drop(s);
    stack.export(&format!("{scope}_alb_dns_name"), lb.load_balancer.dns_name());
    Regional {
        region: if scope == "us" { "us-east-1" } else { "eu-west-1" },
        alb: lb.load_balancer,
        certificate: validation,
    }
}

fn main() -> ExitCode {
    infra::cli::run(stack())
}
