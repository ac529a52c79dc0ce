//! CloudFront distributions on the emulator: a distribution with a custom
//! origin (a load balancer over HTTPS) and an S3 origin (with an origin
//! access control) is created, refreshed to an empty plan, changed in
//! place (comment, price class, a behaviour), destroyed disabled first;
//! readiness waits while it is `InProgress`; a stale ETag is read again; a
//! replayed create finds its distribution by caller reference; bad input
//! and a certificate outside us-east-1 are refused before any call.
//!
//! Nothing forces a replacement (every field changes in place with
//! `UpdateDistribution`), so the lifecycle has no replace step.
//!
//! Emulator gaps (substitutions named per test): moto accepts any ETag, so
//! `PreconditionFailed` is injected by the fault proxy; moto drops S3
//! origins' `S3OriginConfig` and `OriginAccessControlId` on read
//! (`infra_aws::cloudfront::EMULATOR_GAPS` via `sdk`), which the lifecycle's empty
//! plans cover; the staged delete's real waits (a disabled distribution
//! `InProgress` for minutes) are the simulated provider's (crates/infra-sim).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};

use common::*;
use infra_aws::cloudfront::{
    CacheBehavior, CustomErrorResponse, CustomOriginConfig, Distribution, DistributionLogging,
    ForwardedValues, GeoRestriction, GeoRestrictionType, HttpVersion, MinimumProtocolVersion, Origin,
    OriginGroup, PriceClass, S3OriginConfig, ViewerCertificate, ViewerProtocolPolicy,
};
use infra_aws::ids::{CertificateArn, DnsName, OriginAccessControlId, WebAclArn};
use infra_core::{Options, ProviderKey, Stack};
use infra_engine::Event;
use infra_testkit::faults::{Effect, Fault};

const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0b7e4b6a-1111-2222-3333-444455556666";
const ACL: &str =
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/8f2afe01-f382-47e3-8359-4f42f45a70d6";

fn cloudfront(w: &World) -> aws_sdk_cloudfront::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, "us-east-1").unwrap();
    aws_sdk_cloudfront::Client::from_conf(aws_sdk_cloudfront::config::Builder::from(&sdk).build())
}

/// The seeds' distribution: S3 for static assets, the load balancer for
/// `/api/*`; `v` 1 changes the comment, the price class and the API
/// behaviour.
fn distribution(v: u8) -> Distribution {
    let legacy = |query_string: bool| ForwardedValues { query_string, ..Default::default() };
    let all_methods = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"].map(String::from).to_vec();
    Distribution {
        origins: vec![
            Origin {
                origin_id: "S3-static".into(),
                domain_name: DnsName::unchecked("prod-static.s3.us-east-1.amazonaws.com").into(),
                origin_access_control_id: Some(OriginAccessControlId::unchecked("E2QWRUHAPOMQZL").into()),
                s3_origin_config: Some(S3OriginConfig::default()),
                ..Default::default()
            },
            Origin {
                origin_id: "ALB-prod".into(),
                domain_name: DnsName::unchecked("prod-alb-1.us-east-1.elb.amazonaws.com").into(),
                custom_origin_config: Some(CustomOriginConfig {
                    http_port: Some(80),
                    https_port: Some(443),
                    origin_ssl_protocols: vec!["TLSv1.2".into()],
                    ..Default::default()
                }),
                custom_headers: BTreeMap::from([("X-Origin-Verify".into(), "shared".into())]),
                ..Default::default()
            },
            Origin {
                origin_id: "ALB-eu".into(),
                domain_name: DnsName::unchecked("prod-alb-1.eu-west-1.elb.amazonaws.com").into(),
                custom_origin_config: Some(CustomOriginConfig::default()),
                ..Default::default()
            },
        ],
        origin_groups: vec![OriginGroup {
            origin_id: "api-failover".into(),
            members: vec!["ALB-prod".into(), "ALB-eu".into()],
            failover_status_codes: vec![502, 503, 504],
        }],
        default_cache_behavior: CacheBehavior {
            target_origin_id: "S3-static".into(),
            viewer_protocol_policy: ViewerProtocolPolicy::RedirectToHttps,
            allowed_methods: all_methods.clone(),
            compress: true,
            forwarded_values: Some(legacy(false)),
            min_ttl: Some(0),
            default_ttl: Some(3600),
            max_ttl: Some(86_400),
            ..Default::default()
        },
        ordered_cache_behaviors: vec![CacheBehavior {
            path_pattern: "/api/*".into(),
            target_origin_id: "api-failover".into(),
            viewer_protocol_policy: if v == 0 {
                ViewerProtocolPolicy::RedirectToHttps
            } else {
                ViewerProtocolPolicy::HttpsOnly
            },
            allowed_methods: all_methods,
            cached_methods: vec!["GET".into(), "HEAD".into(), "OPTIONS".into()],
            compress: v == 0,
            forwarded_values: Some(ForwardedValues {
                query_string: true,
                headers: vec!["Accept".into(), "Authorization".into(), "Host".into()],
                cookies_forward: Some("all".into()),
                ..Default::default()
            }),
            min_ttl: Some(0),
            default_ttl: Some(0),
            max_ttl: Some(0),
            ..Default::default()
        }],
        aliases: vec!["www.example.com".into()],
        viewer_certificate: Some(ViewerCertificate {
            acm_certificate_arn: CertificateArn::unchecked(CERT).into(),
            minimum_protocol_version: MinimumProtocolVersion::TlsV1_2_2021,
            ..Default::default()
        }),
        price_class: Some(if v == 0 { PriceClass::Class100 } else { PriceClass::Class200 }),
        http_version: Some(HttpVersion::Http2And3),
        is_ipv6_enabled: true,
        enabled: true,
        comment: Some(format!("CloudFront distribution v{v}")),
        default_root_object: Some("index.html".into()),
        logging: Some(DistributionLogging {
            bucket: DnsName::unchecked("prod-logs.s3.amazonaws.com").into(),
            prefix: Some("cloudfront/".into()),
            include_cookies: false,
        }),
        custom_error_responses: vec![CustomErrorResponse {
            error_code: 404,
            response_code: Some(200),
            response_page_path: Some("/index.html".into()),
            ..Default::default()
        }],
        geo_restriction: Some(GeoRestriction {
            restriction_type: GeoRestrictionType::None,
            locations: vec![],
        }),
        web_acl_id: Some(WebAclArn::unchecked(ACL).into()),
        tags: BTreeMap::from([("Name".into(), "prod-cloudfront".into())]),
    }
}

fn one(v: u8) -> (Stack, ProviderKey) {
    let (mut s, us, _) = stack("edge");
    s.add_with("cdn", distribution(v), Options::new().provider(&us));
    (s, us)
}

async fn ids(w: &World) -> Vec<String> {
    let out = cloudfront(w).list_distributions().send().await.unwrap();
    out.distribution_list.and_then(|l| l.items).unwrap_or_default().into_iter().map(|d| d.id).collect()
}

fn calls(w: &World, key: &ProviderKey, op: &str) -> u64 {
    w.stats(key).snapshot().get(op).copied().unwrap_or(0)
}

/// Create → empty plan → comment, price class and a behaviour changed in
/// place → empty plan → destroy, which disables the distribution before it
/// deletes it: while the proxy holds the DeleteDistribution request for a
/// second (`Effect::Slow`), the emulator already shows it disabled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_in_place_then_destroy_disabled_first() {
    let w = world_through_proxy();
    let (v0, us) = one(0);
    w.apply(&v0).await;
    assert!(w.converged(&v0).await, "the plan after create is not empty");
    let (v1, _) = one(1);
    let (o, _) = w.apply(&v1).await;
    assert!(o.plan.actionable().all(|c| c.action == infra_core::Action::Update), "v1 must update in place");
    assert!(w.converged(&v1).await, "the plan after update is not empty");
    let id = ids(&w).await.pop().unwrap();
    let cf = cloudfront(&w);
    let config = cf.get_distribution_config().id(&id).send().await.unwrap().distribution_config.unwrap();
    assert_eq!(config.comment(), "CloudFront distribution v1");
    assert_eq!(config.price_class().map(|p| p.as_str()), Some("PriceClass_200"));

    let updates = calls(&w, &us, "UpdateDistribution");
    proxy().set(vec![Fault::new("DELETE /distribution/", 1, Effect::Slow)]);
    let watch = async {
        // DeleteDistribution is counted as it is sent; the proxy holds it.
        while calls(&w, &us, "DeleteDistribution") == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        cf.get_distribution_config().id(&id).send().await.unwrap().distribution_config.unwrap().enabled()
    };
    let (o, enabled_at_delete) = tokio::join!(w.destroy(&v1), watch);
    assert_eq!(proxy().injected(), vec![("DELETE /distribution/".to_owned(), Effect::Slow)]);
    assert!(!enabled_at_delete, "the distribution was still enabled when it was deleted");
    assert_eq!(calls(&w, &us, "UpdateDistribution"), updates + 1, "one UpdateDistribution disables it");
    assert_eq!(calls(&w, &us, "DeleteDistribution"), 1);
    assert!(o.state.resources.is_empty());
    assert!(ids(&w).await.is_empty(), "the distribution is left");
}

/// POSTs `body` to the emulator's control API.
fn moto_api(w: &World, path: &str, body: &str) {
    let addr = w.endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.split(' ').nth(1).is_some_and(|code| code.starts_with('2')), "{answer}");
}

fn transition(w: &World, times: u32) {
    let body = format!(
        r#"{{"model_name":"cloudfront::distribution","transition":{{"progression":"manual","times":{times}}}}}"#
    );
    moto_api(w, "/moto-api/state-manager/set-transition", &body);
}

/// A distribution `InProgress` for its first reads (the emulator's state
/// manager) is waited for: the apply reports it waiting, `InProgress`,
/// and finishes once it is `Deployed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_while_in_progress() {
    let w = world();
    transition(&w, 3);
    let (s, us) = one(0);
    let (o, events) = w.run(&s, infra_engine::Mode::Apply(Default::default())).await;
    transition(&w, 1);
    assert!(o.report.success(), "{:?}", o.report);
    let waits: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Waiting { address, status, .. } if *address == addr("cdn") => Some(status),
            _ => None,
        })
        .collect();
    assert!(!waits.is_empty() && waits.iter().all(|s| *s == "InProgress"), "{waits:?}");
    assert!(calls(&w, &us, "GetDistribution") >= 3);
}

/// A stale ETag (`PreconditionFailed`, injected by the fault proxy: the
/// emulator accepts any ETag) is read again and the update sent once more,
/// within the same step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_etag_is_read_again() {
    let w = world_through_proxy();
    let (v0, us) = one(0);
    w.apply(&v0).await;
    let (reads, updates) = (calls(&w, &us, "GetDistributionConfig"), calls(&w, &us, "UpdateDistribution"));
    proxy().set(vec![Fault::new("PUT /config", 1, Effect::PreconditionFailed)]);
    let (v1, _) = one(1);
    let (_, events) = w.apply(&v1).await;
    assert_eq!(proxy().injected(), vec![("PUT /config".to_owned(), Effect::PreconditionFailed)]);
    proxy().set(Vec::new());
    assert!(!events.iter().any(|e| matches!(e, Event::Retrying { .. })), "the step itself was retried");
    assert_eq!(calls(&w, &us, "GetDistributionConfig"), reads + 2);
    assert_eq!(calls(&w, &us, "UpdateDistribution"), updates + 2);
    assert!(w.converged(&v1).await, "the plan after the update is not empty");
}

/// A create sent again with the same token (its first answer lost)
/// gets `DistributionAlreadyExists` from CloudFront and returns the
/// distribution made the first time, found by its caller reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_create_returns_the_first_distribution() {
    let w = world();
    let (_, us) = one(0);
    let provider = w.executor.registry().resource(&us, "aws:cloudfront:Distribution").unwrap().clone();
    let inputs = match infra_core::value::to_value(&distribution(0)).unwrap() {
        infra_core::Value::Map(m) => m,
        other => panic!("{other:?}"),
    };
    let req = infra_engine::CreateRequest {
        address: addr("cdn"),
        inputs,
        token: "infra-replayed-token".into(),
        tags: BTreeMap::new(),
    };
    let first = provider.create(req.clone()).await.unwrap();
    let second = provider.create(req).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(ids(&w).await, [first.id]);
    assert_eq!(calls(&w, &us, "CreateDistributionWithTags"), 2);
}

fn problems(s: &Stack) -> String {
    match s.validate() {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// Bad input is refused before any call, naming the field; the viewer
/// certificate must be an ACM certificate of us-east-1 (declared there, or
/// a literal ARN of that region).
#[test]
fn bad_input_and_a_certificate_outside_us_east_1_are_refused() {
    let (mut s, us, eu) = stack("bad");
    let cert = s.add_with(
        "cert",
        infra_aws::acm::Certificate {
            domain_name: "www.example.com".into(),
            validation_method: "DNS".into(),
            ..Default::default()
        },
        Options::new().provider(&eu),
    );
    let mut d = distribution(0);
    d.viewer_certificate =
        Some(ViewerCertificate { acm_certificate_arn: cert.arn().into(), ..Default::default() });
    s.add_with("cdn", d, Options::new().provider(&us));
    let p = problems(&s);
    assert!(p.contains("viewer_certificate.acm_certificate_arn") && p.contains("us-east-1"), "{p}");

    let (mut s, us, _) = stack("bad");
    let mut d = distribution(0);
    d.viewer_certificate = Some(ViewerCertificate {
        acm_certificate_arn: CertificateArn::unchecked(CERT.replace("us-east-1", "eu-west-1")).into(),
        ..Default::default()
    });
    d.default_cache_behavior.target_origin_id = "nowhere".into();
    d.ordered_cache_behaviors[0].cached_methods = vec!["POST".into()];
    d.origin_groups[0].failover_status_codes = vec![200];
    d.custom_error_responses[0].response_page_path = None;
    d.comment = Some("x".repeat(129));
    s.add_with("cdn", d, Options::new().provider(&us));
    let p = problems(&s);
    for field in [
        "viewer_certificate.acm_certificate_arn",
        "default_cache_behavior.target_origin_id",
        "ordered_cache_behaviors[0].cached_methods",
        "origin_groups[0].failover_status_codes",
        "custom_error_responses[0].response_page_path",
        "comment",
    ] {
        assert!(p.contains(field), "{field} not named: {p}");
    }

    let (mut s, us, _) = stack("fine");
    s.add_with("cdn", distribution(0), Options::new().provider(&us));
    assert_eq!(problems(&s), "");
}
