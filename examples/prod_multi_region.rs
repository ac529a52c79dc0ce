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
//!   certificate of the HTTPS listener with its DNS validation.
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
//! The load balancers have deletion protection, as the seed asks for
//! production. To tear the stack down, apply it once with
//! `PROD_DELETION_PROTECTION=false`, then `destroy`.
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
    AlbConfig, AlbTarget, EcsServiceConfig, Https, ThreeTierVpc, ThreeTierVpcConfig, alb, ecs_service,
    two_region_network,
};
use infra::aws::ecr::EcrRepository;
use infra::aws::ecs::{ContainerSecret, EcsCluster, EnvironmentVariable};
use infra::aws::secretsmanager::{GeneratedPassword, Secret};
use infra::aws::sns::SnsTopic;
use infra::prelude::*;

/// The domain the load balancers serve.
const DOMAIN: &str = "example.com";

/// The services: name, and the paths the load balancer routes to them
/// (the first takes every other path).
const SERVICES: [(&str, &str); 3] =
    [("product", "/products/*"), ("order", "/orders/*"), ("user", "/users/*")];

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

    let protect = std::env::var("PROD_DELETION_PROTECTION").map_or(true, |v| v != "false");
    for (scope, key, region, vpc) in
        [("us", &us, "us-east-1", &net.primary.vpc), ("eu", &eu, "eu-west-1", &net.secondary.vpc)]
    {
        application_tier(&mut stack, scope, key, region, vpc, protect);
    }
    stack
}

/// One region's application tier, under `<scope>.app`.
fn application_tier(
    stack: &mut Stack,
    scope: &str,
    key: &ProviderKey,
    region: &str,
    vpc: &ThreeTierVpc,
    deletion_protection: bool,
) {
    let prefix = format!("prod-{scope}");
    let tags = BTreeMap::from([("Environment".to_owned(), "prod".to_owned())]);
    let mut s = stack.scope(scope).with_provider(key);
    let mut app = s.scope("app");

    let alerts = app.add(
        "alerts",
        SnsTopic { name: format!("{prefix}-alerts"), tags: tags.clone(), ..Default::default() },
    );
    let db_password = app.add(
        "db-password",
        Secret {
            name: format!("{prefix}/db-password"),
            description: Some("the product database's master password".into()),
            recovery_window_in_days: Some(7),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    app.add(
        "db-password-value",
        GeneratedPassword { secret_id: db_password.arn().into(), length: 32, ..Default::default() },
    );

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
            https: Some(Https {
                certificate_arn: validation.certificate_arn().into(),
                ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06".into(),
            }),
            targets: SERVICES
                .iter()
                .enumerate()
                .map(|(i, (name, path))| {
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
    for (name, _) in SERVICES {
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
                environment: vec![
                    EnvironmentVariable { name: "PORT".into(), value: "8080".into() },
                    EnvironmentVariable { name: "NODE_ENV".into(), value: "production".into() },
                ],
                secrets: vec![ContainerSecret {
                    name: "DB_PASSWORD".into(),
                    value_from: db_password.arn().into(),
                }],
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
