//! What the emulator tests of the production example share: the stack
//! program's command line, and the count of what the emulator holds
//! against what the example declares.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_ec2::Client;

#[path = "../../../../examples/prod_multi_region.rs"]
#[allow(dead_code)]
pub mod example;

pub fn program(endpoint: &str, state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prod_multi_region"));
    c.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent/infra-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/infra-test-credentials")
        .env_remove("AWS_PROFILE")
        .env("INFRA_BACKEND", format!("local:{}", state.display()))
        // The emulator cannot make ElastiCache parameter groups (moto
        // 5.2.5): the Redis groups use the engine's default one.
        .env("PROD_CACHE_PARAMETERS", "default")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// [`program`] without the data tier (`PROD_DATA_TIER=false`): what the
/// crash and fault tests run (see their documentation).
pub fn program_without_data(endpoint: &str, state: &Path) -> Command {
    let mut c = program(endpoint, state);
    c.env("PROD_DATA_TIER", "false");
    c
}

/// Runs [`program_without_data`] and requires success.
pub fn must(endpoint: &str, state: &Path, args: &[&str], what: &str, trial: u32) {
    let out = program_without_data(endpoint, state).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trial {trial}: {what} exited {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Live objects carrying the `infra:stack=prod` tag (the network), or
/// named as the example names them (the application tier), per (type,
/// region).
pub async fn held(endpoint: &str) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = infra_testkit::loopback_sdk_config(endpoint, region).unwrap();
        let ec2 = Client::from_conf(aws_sdk_ec2::config::Builder::from(&sdk).build());
        let ours = |tags: &[aws_sdk_ec2::types::Tag]| {
            tags.iter().any(|t| t.key() == Some("infra:stack") && t.value() == Some("prod"))
        };
        let mut count = |t: &str, n: usize| *out.entry((t.to_owned(), region.to_owned())).or_default() += n;
        let v = ec2.describe_vpcs().send().await.unwrap();
        count("aws:ec2:Vpc", v.vpcs().iter().filter(|x| ours(x.tags())).count());
        let s = ec2.describe_subnets().send().await.unwrap();
        count("aws:ec2:Subnet", s.subnets().iter().filter(|x| ours(x.tags())).count());
        let g = ec2.describe_internet_gateways().send().await.unwrap();
        count("aws:ec2:InternetGateway", g.internet_gateways().iter().filter(|x| ours(x.tags())).count());
        let a = ec2.describe_addresses().send().await.unwrap();
        count("aws:ec2:ElasticIp", a.addresses().iter().filter(|x| ours(x.tags())).count());
        let n = ec2.describe_nat_gateways().send().await.unwrap();
        let live_nat = |x: &&aws_sdk_ec2::types::NatGateway| {
            !matches!(x.state().map(|s| s.as_str()), Some("deleted" | "deleting" | "failed"))
        };
        count(
            "aws:ec2:NatGateway",
            n.nat_gateways().iter().filter(live_nat).filter(|x| ours(x.tags())).count(),
        );
        let r = ec2.describe_route_tables().send().await.unwrap();
        count("aws:ec2:RouteTable", r.route_tables().iter().filter(|x| ours(x.tags())).count());
        let sg = ec2.describe_security_groups().send().await.unwrap();
        count("aws:ec2:SecurityGroup", sg.security_groups().iter().filter(|x| ours(x.tags())).count());
        let t = ec2.describe_transit_gateways().send().await.unwrap();
        let live = |s: Option<&str>| !matches!(s, Some("deleted" | "deleting" | "failed"));
        count(
            "aws:ec2:TransitGateway",
            t.transit_gateways()
                .iter()
                .filter(|x| live(x.state().map(|s| s.as_str())) && ours(x.tags()))
                .count(),
        );
        // Every live VPC attachment, tagged or not: an untagged one is what
        // a kill between create and tagging leaves.
        let va = ec2.describe_transit_gateway_vpc_attachments().send().await.unwrap();
        count(
            "aws:ec2:TransitGatewayVpcAttachment",
            va.transit_gateway_vpc_attachments()
                .iter()
                // The emulator lists peering attachments here too.
                .filter(|x| x.vpc_id().is_some_and(|v| !v.is_empty()))
                .filter(|x| live(x.state().map(|s| s.as_str())))
                .count(),
        );
    }
    app_tier(endpoint, &mut out).await;
    data_tier(endpoint, &mut out).await;
    edge_tier(endpoint, &mut out).await;
    out.retain(|_, n| *n > 0);
    out
}

/// The application tier's live objects whose names the example uses
/// (`prod-…`, `/ecs/…`, `…-service`), per (type, region). IAM is global:
/// a role counts in the region its name prefix says.
async fn app_tier(endpoint: &str, out: &mut BTreeMap<(String, String), usize>) {
    use aws_sdk_applicationautoscaling::types::ServiceNamespace;
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = infra_testkit::loopback_sdk_config(endpoint, region).unwrap();
        let mut count = |t: &str, n: usize| *out.entry((t.to_owned(), region.to_owned())).or_default() += n;
        let prod = |name: Option<&str>| name.is_some_and(|n| n.starts_with("prod-"));

        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
        let lbs = elb.describe_load_balancers().send().await.unwrap();
        let lbs: Vec<_> = lbs.load_balancers().iter().filter(|l| prod(l.load_balancer_name())).collect();
        count("aws:elbv2:LoadBalancer", lbs.len());
        for lb in lbs {
            let ls = elb
                .describe_listeners()
                .load_balancer_arn(lb.load_balancer_arn().unwrap())
                .send()
                .await
                .unwrap();
            count("aws:elbv2:Listener", ls.listeners().len());
            for l in ls.listeners() {
                let rules =
                    elb.describe_rules().listener_arn(l.listener_arn().unwrap()).send().await.unwrap();
                count(
                    "aws:elbv2:ListenerRule",
                    rules.rules().iter().filter(|r| r.is_default() != Some(true)).count(),
                );
            }
        }
        let tgs = elb.describe_target_groups().send().await.unwrap();
        count(
            "aws:elbv2:TargetGroup",
            tgs.target_groups().iter().filter(|t| prod(t.target_group_name())).count(),
        );

        let ecs = aws_sdk_ecs::Client::new(&sdk);
        let clusters = ecs.list_clusters().send().await.unwrap();
        for arn in clusters.cluster_arns() {
            let c = ecs.describe_clusters().clusters(arn).send().await.unwrap();
            let Some(c) = c.clusters().first().filter(|c| c.status() == Some("ACTIVE")) else { continue };
            if !prod(c.cluster_name()) {
                continue;
            }
            count("aws:ecs:Cluster", 1);
            let services = ecs.list_services().cluster(arn).send().await.unwrap();
            if !services.service_arns().is_empty() {
                let d =
                    ecs.describe_services().cluster(arn).set_services(Some(services.service_arns().to_vec()));
                let d = d.send().await.unwrap();
                count(
                    "aws:ecs:Service",
                    d.services().iter().filter(|s| s.status() == Some("ACTIVE")).count(),
                );
            }
        }
        let tds = ecs.list_task_definitions().send().await.unwrap();
        count(
            "aws:ecs:TaskDefinition",
            tds.task_definition_arns().iter().filter(|a| a.contains("-service:")).count(),
        );

        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        for prefix in ["/ecs/", "/aws/vpc/prod-"] {
            let groups = logs.describe_log_groups().log_group_name_prefix(prefix).send().await.unwrap();
            count("aws:logs:LogGroup", groups.log_groups().len());
        }

        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        let secrets = sm.list_secrets().send().await.unwrap();
        let live = secrets.secret_list().iter().filter(|s| s.deleted_date().is_none() && prod(s.name()));
        count("aws:secretsmanager:Secret", live.count());

        let sns = aws_sdk_sns::Client::new(&sdk);
        let topics = sns.list_topics().send().await.unwrap();
        let topic = |t: &&aws_sdk_sns::types::Topic| t.topic_arn().is_some_and(|a| a.contains(":prod-"));
        count("aws:sns:Topic", topics.topics().iter().filter(topic).count());

        let ecr = aws_sdk_ecr::Client::new(&sdk);
        let repos = ecr.describe_repositories().send().await.unwrap();
        let service = |r: &&aws_sdk_ecr::types::Repository| {
            r.repository_name().is_some_and(|n| n.ends_with("-service"))
        };
        count("aws:ecr:Repository", repos.repositories().iter().filter(service).count());

        let cw = aws_sdk_cloudwatch::Client::new(&sdk);
        let alarms = cw.describe_alarms().alarm_name_prefix("prod-").send().await.unwrap();
        count("aws:cloudwatch:MetricAlarm", alarms.metric_alarms().len());

        let acm = aws_sdk_acm::Client::new(&sdk);
        let certs = acm.list_certificates().send().await.unwrap();
        count("aws:acm:Certificate", certs.certificate_summary_list().len());

        let aas = aws_sdk_applicationautoscaling::Client::new(&sdk);
        let targets =
            aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
        count("aws:appautoscaling:Target", targets.scalable_targets().len());
        let policies =
            aas.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
        count("aws:appautoscaling:Policy", policies.scaling_policies().len());
    }
    let sdk = infra_testkit::loopback_sdk_config(endpoint, "us-east-1").unwrap();
    let iam = aws_sdk_iam::Client::new(&sdk);
    let roles = iam.list_roles().send().await.unwrap();
    for (prefix, region) in [("prod-us-", "us-east-1"), ("prod-eu-", "eu-west-1")] {
        let n = roles.roles().iter().filter(|r| r.role_name().starts_with(prefix)).count();
        *out.entry(("aws:iam:Role".to_owned(), region.to_owned())).or_default() += n;
    }
}

/// The data tier's live objects named as the example names them, per
/// (type, region). A global cluster counts in us-east-1, where it is
/// declared.
async fn data_tier(endpoint: &str, out: &mut BTreeMap<(String, String), usize>) {
    for region in ["us-east-1", "eu-west-1"] {
        let sdk = infra_testkit::loopback_sdk_config(endpoint, region).unwrap();
        let mut count = |t: &str, n: usize| *out.entry((t.to_owned(), region.to_owned())).or_default() += n;
        let db = |id: Option<&str>| id.is_some_and(|n| n.contains("-db-"));
        let prod = |name: Option<&str>| name.is_some_and(|n| n.starts_with("prod-"));

        let rds = aws_sdk_rds::Client::new(&sdk);
        let clusters = rds.describe_db_clusters().send().await.unwrap();
        let live = |s: Option<&str>| !matches!(s, Some("deleting" | "deleted"));
        count(
            "aws:rds:Cluster",
            clusters
                .db_clusters()
                .iter()
                .filter(|c| db(c.db_cluster_identifier()) && live(c.status()))
                .count(),
        );
        let instances = rds.describe_db_instances().send().await.unwrap();
        count(
            "aws:rds:ClusterInstance",
            instances
                .db_instances()
                .iter()
                .filter(|i| db(i.db_instance_identifier()) && live(i.db_instance_status()))
                .count(),
        );
        let groups = rds.describe_db_subnet_groups().send().await.unwrap();
        count(
            "aws:rds:SubnetGroup",
            groups.db_subnet_groups().iter().filter(|g| prod(g.db_subnet_group_name())).count(),
        );
        if region == "us-east-1" {
            let globals = rds.describe_global_clusters().send().await.unwrap();
            count(
                "aws:rds:GlobalCluster",
                globals
                    .global_clusters()
                    .iter()
                    .filter(|g| g.global_cluster_identifier().is_some_and(|n| n.ends_with("-db")))
                    .count(),
            );
        }

        let cache = aws_sdk_elasticache::Client::new(&sdk);
        let rgs = cache.describe_replication_groups().send().await.unwrap();
        count(
            "aws:elasticache:ReplicationGroup",
            rgs.replication_groups()
                .iter()
                .filter(|g| prod(g.replication_group_id()) && g.status() != Some("deleting"))
                .count(),
        );
        let subnets = cache.describe_cache_subnet_groups().send().await.unwrap();
        count(
            "aws:elasticache:SubnetGroup",
            subnets.cache_subnet_groups().iter().filter(|g| prod(g.cache_subnet_group_name())).count(),
        );

        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build(),
        );
        let buckets = s3.list_buckets().send().await.unwrap();
        for b in buckets.buckets().iter().filter(|b| prod(b.name())) {
            let at = s3.get_bucket_location().bucket(b.name().unwrap()).send().await.unwrap();
            let home = at.location_constraint().map_or("us-east-1", |l| l.as_str());
            let home = if home.is_empty() { "us-east-1" } else { home };
            if home == region {
                count("aws:s3:Bucket", 1);
            }
        }

        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let tables = ddb.list_tables().send().await.unwrap();
        count("aws:dynamodb:Table", tables.table_names().iter().filter(|t| t.starts_with("prod-")).count());
    }
}

/// The region `held` and `declared` count a type's objects in: Route 53,
/// CloudFront and Shield are global; everything else is regional.
fn region_of(type_name: &str, region: &str) -> String {
    let global = ["aws:route53:", "aws:cloudfront:", "aws:shield:"];
    if global.iter().any(|g| type_name.starts_with(g)) { "global".to_owned() } else { region.to_owned() }
}

/// The edge's live objects: the example's zone and its records (but SOA
/// and NS), health checks, distributions and origin access controls
/// (global), web ACLs per region (the CLOUDFRONT scope's in us-east-1),
/// Shield protections (global).
async fn edge_tier(endpoint: &str, out: &mut BTreeMap<(String, String), usize>) {
    use aws_sdk_wafv2::types::Scope;
    let sdk = infra_testkit::loopback_sdk_config(endpoint, "us-east-1").unwrap();
    let mut count =
        |t: &str, region: &str, n: usize| *out.entry((t.to_owned(), region.to_owned())).or_default() += n;
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let zones = r53.list_hosted_zones().send().await.unwrap();
    for zone in zones.hosted_zones().iter().filter(|z| z.name() == "example.com.") {
        count("aws:route53:HostedZone", "global", 1);
        let id = zone.id().trim_start_matches("/hostedzone/");
        let sets = r53.list_resource_record_sets().hosted_zone_id(id).send().await.unwrap();
        let records =
            sets.resource_record_sets().iter().filter(|r| !matches!(r.r#type().as_str(), "SOA" | "NS"));
        count("aws:route53:Record", "global", records.count());
    }
    let checks = r53.list_health_checks().send().await.unwrap();
    count("aws:route53:HealthCheck", "global", checks.health_checks().len());

    let cf = aws_sdk_cloudfront::Client::new(&sdk);
    let dists = cf.list_distributions().send().await.unwrap();
    let n = dists.distribution_list().map_or(0, |l| l.items().len());
    count("aws:cloudfront:Distribution", "global", n);
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    let n = oacs.origin_access_control_list().map_or(0, |l| l.items().len());
    count("aws:cloudfront:OriginAccessControl", "global", n);

    for region in ["us-east-1", "eu-west-1"] {
        let sdk = infra_testkit::loopback_sdk_config(endpoint, region).unwrap();
        let waf = aws_sdk_wafv2::Client::new(&sdk);
        let mut scopes = vec![Scope::Regional];
        if region == "us-east-1" {
            scopes.push(Scope::Cloudfront);
        }
        for scope in scopes {
            let acls = waf.list_web_acls().scope(scope).send().await.unwrap();
            let prod = acls.web_acls().iter().filter(|a| a.name().is_some_and(|n| n.starts_with("prod-")));
            count("aws:wafv2:WebAcl", region, prod.count());
        }
    }
    let shield = aws_sdk_shield::Client::new(&sdk);
    let protections = shield.list_protections().send().await.unwrap();
    count("aws:shield:Protection", "global", protections.protections().len());
}

/// What the example declares, per (type, region), for the types `held`
/// counts.
pub fn declared() -> BTreeMap<(String, String), usize> {
    declared_where(|_| true)
}

/// [`declared`] without the data tier (`<region>.data.…`), as
/// `PROD_DATA_TIER=false` leaves it.
pub fn declared_without_data() -> BTreeMap<(String, String), usize> {
    declared_where(|a| a.to_string().split('.').nth(1) != Some("data"))
}

fn declared_where(keep: impl Fn(&infra::core::Address) -> bool) -> BTreeMap<(String, String), usize> {
    let stack = example::stack();
    let counted = [
        "aws:ec2:Vpc",
        "aws:ec2:Subnet",
        "aws:ec2:InternetGateway",
        "aws:ec2:ElasticIp",
        "aws:ec2:NatGateway",
        "aws:ec2:RouteTable",
        "aws:ec2:SecurityGroup",
        "aws:ec2:TransitGateway",
        "aws:ec2:TransitGatewayVpcAttachment",
        "aws:elbv2:LoadBalancer",
        "aws:elbv2:Listener",
        "aws:elbv2:ListenerRule",
        "aws:elbv2:TargetGroup",
        "aws:ecs:Cluster",
        "aws:ecs:Service",
        "aws:ecs:TaskDefinition",
        "aws:logs:LogGroup",
        "aws:secretsmanager:Secret",
        "aws:sns:Topic",
        "aws:ecr:Repository",
        "aws:cloudwatch:MetricAlarm",
        "aws:acm:Certificate",
        "aws:appautoscaling:Target",
        "aws:appautoscaling:Policy",
        "aws:iam:Role",
        "aws:rds:Cluster",
        "aws:rds:ClusterInstance",
        "aws:rds:SubnetGroup",
        "aws:rds:GlobalCluster",
        "aws:elasticache:ReplicationGroup",
        "aws:elasticache:SubnetGroup",
        "aws:s3:Bucket",
        "aws:dynamodb:Table",
        "aws:route53:HostedZone",
        "aws:route53:Record",
        "aws:route53:HealthCheck",
        "aws:cloudfront:Distribution",
        "aws:cloudfront:OriginAccessControl",
        "aws:wafv2:WebAcl",
        "aws:shield:Protection",
    ];
    let mut out = BTreeMap::new();
    for r in stack.resources() {
        if counted.contains(&r.schema.type_name) && keep(&r.address) {
            let region = stack.provider_of(r).map(|p| p.region.clone()).unwrap_or_default();
            *out.entry((r.schema.type_name.to_owned(), region_of(r.schema.type_name, &region)))
                .or_default() += 1;
        }
    }
    out
}

/// A shared emulator with the fault proxy in front of it, and a runtime
/// for the test's own SDK calls.
pub fn emulator() -> (&'static infra_testkit::Moto, infra_testkit::faults::FaultProxy, tokio::runtime::Runtime)
{
    let moto = infra_testkit::Moto::shared();
    let proxy = infra_testkit::faults::FaultProxy::start(&moto.endpoint()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    (moto, proxy, rt)
}
