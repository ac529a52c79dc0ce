//! CloudFront's origin access identities and its cache, origin request and
//! response headers policies, where the emulator cannot show them.
//!
//! **Substitutions.** moto 5.2.5 has no route for
//! `CreateCloudFrontOriginAccessIdentity` nor for any policy call (404), and
//! the test harness has no canned-answer HTTP endpoint. So:
//! - their lifecycle (create, an empty plan after it, every field changed
//!   in place with none replacing the resource, an empty plan again,
//!   destroy) runs on the simulated provider, which does not run the
//!   CloudFront provider code: it shows the declarations (which fields
//!   force a replacement, normalisation that keeps a plan empty), not the
//!   API calls (the provider's conversions to and from AWS's
//!   configurations are unit tests of `cloudfront::policies::imp` and
//!   `cloudfront::response_headers::imp`);
//! - the rules the types check are shown with `Stack::validate` (each bad
//!   value refused, naming the field), and one refused run shows no call
//!   reaches the cloud.
//!
//! The origin access control runs on the emulator
//! (`crates/infra-aws/tests/cloudfront_access.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use infra_aws::cloudfront::{
    CacheHeaderBehavior, CacheHeadersConfig, CacheKeyParameters, CachePolicy, ContentTypeOptions,
    CookieBehavior, CookiesConfig, CorsConfig, CorsMethod, CustomHeader, FrameOption, FrameOptions,
    OriginAccessControl, OriginAccessIdentity, OriginRequestHeaderBehavior, OriginRequestHeadersConfig,
    OriginRequestPolicy, QueryStringBehavior, QueryStringsConfig, ReferrerPolicy, ReferrerPolicyHeader,
    ResponseHeadersPolicy, SecurityHeaders, StrictTransportSecurity, XssProtection,
};
use infra_core::plan::PlanOptions;
use infra_core::{Action, Options, ProviderConfig, Stack};
use infra_engine::{
    Budget, BudgetConfig, Events, Executor, ExecutorConfig, Interrupt, Mode, Outcome, RunOptions, run,
};
use infra_sim::{SimCloud, SimConfig, sim_registry};
use infra_state::{Backend, MemoryBackend};

const TYPES: [&str; 5] = [
    "aws:cloudfront:OriginAccessIdentity",
    "aws:cloudfront:OriginAccessControl",
    "aws:cloudfront:CachePolicy",
    "aws:cloudfront:OriginRequestPolicy",
    "aws:cloudfront:ResponseHeadersPolicy",
];

fn cache_policy(v: u8) -> CachePolicy {
    CachePolicy {
        name: format!("static-v{v}"),
        comment: (v > 0).then(|| "static assets".to_owned()),
        min_ttl: i64::from(v),
        default_ttl: Some(3600 * (i64::from(v) + 1)),
        // v0 states AWS's default max (recorded as unset), v1 its own.
        max_ttl: Some(if v == 0 { 31_536_000 } else { 604_800 }),
        parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters {
            headers_config: CacheHeadersConfig {
                header_behavior: if v == 0 {
                    CacheHeaderBehavior::None
                } else {
                    CacheHeaderBehavior::Whitelist
                },
                headers: if v == 0 { vec![] } else { vec!["Origin".into(), "Accept".into()] },
            },
            cookies_config: CookiesConfig::default(),
            query_strings_config: QueryStringsConfig {
                query_string_behavior: if v == 0 {
                    QueryStringBehavior::All
                } else {
                    QueryStringBehavior::Whitelist
                },
                query_strings: if v == 0 { vec![] } else { vec!["v".into()] },
            },
            enable_accept_encoding_gzip: true,
            enable_accept_encoding_brotli: v > 0,
        },
    }
}

fn origin_request_policy(v: u8) -> OriginRequestPolicy {
    OriginRequestPolicy {
        name: format!("api-v{v}"),
        comment: None,
        headers_config: OriginRequestHeadersConfig {
            header_behavior: if v == 0 {
                OriginRequestHeaderBehavior::AllViewer
            } else {
                OriginRequestHeaderBehavior::Whitelist
            },
            headers: if v == 0 { vec![] } else { vec!["Authorization".into(), "Accept-Language".into()] },
        },
        cookies_config: CookiesConfig {
            cookie_behavior: if v == 0 { CookieBehavior::All } else { CookieBehavior::AllExcept },
            cookies: if v == 0 { vec![] } else { vec!["tracking".into()] },
        },
        query_strings_config: QueryStringsConfig::default(),
    }
}

fn response_headers_policy(v: u8) -> ResponseHeadersPolicy {
    ResponseHeadersPolicy {
        name: format!("security-v{v}"),
        comment: Some(format!("v{v}")),
        cors_config: (v > 0).then(|| CorsConfig {
            access_control_allow_headers: vec!["*".into()],
            access_control_allow_methods: vec![CorsMethod::Get, CorsMethod::Head],
            access_control_allow_origins: vec!["https://example.com".into()],
            access_control_max_age_sec: Some(600),
            ..Default::default()
        }),
        security_headers_config: Some(SecurityHeaders {
            strict_transport_security: Some(StrictTransportSecurity {
                access_control_max_age_sec: if v == 0 { 63_072_000 } else { 31_536_000 },
                include_subdomains: true,
                preload: v == 0,
                r#override: true,
            }),
            content_type_options: Some(ContentTypeOptions { r#override: true }),
            frame_options: Some(FrameOptions {
                frame_option: if v == 0 { FrameOption::Deny } else { FrameOption::SameOrigin },
                r#override: true,
            }),
            xss_protection: Some(XssProtection {
                protection: true,
                mode_block: v == 0,
                ..Default::default()
            }),
            referrer_policy: Some(ReferrerPolicyHeader {
                referrer_policy: ReferrerPolicy::StrictOriginWhenCrossOrigin,
                r#override: v > 0,
            }),
            content_security_policy: None,
        }),
        custom_headers: vec![CustomHeader {
            header: "X-Env".into(),
            value: format!("v{v}"),
            r#override: false,
        }],
    }
}

fn stack(v: u8) -> Stack {
    let mut s = Stack::new("edge");
    s.provider(ProviderConfig::aws("us-east-1"));
    s.add("oai", OriginAccessIdentity { comment: format!("OAI for static assets v{v}") });
    s.add("cache", cache_policy(v));
    s.add("origin-request", origin_request_policy(v));
    s.add("headers", response_headers_policy(v));
    s
}

struct World {
    cloud: SimCloud,
    executor: Executor,
    backend: Arc<MemoryBackend>,
}

fn world() -> World {
    let cloud = SimCloud::new(SimConfig::default());
    let registry = sim_registry(&cloud, &[ProviderConfig::aws("us-east-1")], &TYPES);
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    World { cloud, executor, backend: Arc::new(MemoryBackend::new()) }
}

async fn go(w: &World, stack: &Stack, mode: Mode) -> Result<Outcome, infra_engine::Error> {
    let options = RunOptions { mode, lock_timeout: std::time::Duration::from_secs(1), refresh: true };
    let backend: Arc<dyn Backend> = w.backend.clone();
    run(&w.executor, backend, stack, &options, &Events::none(), &Interrupt::new()).await
}

async fn apply(w: &World, stack: &Stack) -> Outcome {
    let o = go(w, stack, Mode::Apply(PlanOptions::default())).await.unwrap();
    assert!(o.report.success(), "apply failed: {:?}", o.report);
    o
}

/// Every field of the four types changes in place (nothing in them
/// forces a replacement), and their normalisation keeps the plan empty
/// after each apply (AWS's default max TTL recorded as unset, names in a
/// canonical order). On the simulated provider: see the module comment.
#[tokio::test(start_paused = true)]
async fn identities_and_policies_change_in_place_and_converge() {
    let w = world();
    let o = apply(&w, &stack(0)).await;
    assert_eq!(o.plan.actionable().count(), 4);
    assert!(apply(&w, &stack(0)).await.plan.is_empty(), "the plan after create is not empty");
    assert_eq!(w.cloud.resources().len(), 4);

    let o = apply(&w, &stack(1)).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert!(actions.iter().all(|(_, a)| *a == Action::Update), "{actions:?}");
    assert!(apply(&w, &stack(1)).await.plan.is_empty(), "the plan after update is not empty");

    let o = go(&w, &stack(1), Mode::Destroy { targets: vec![] }).await.unwrap();
    assert!(o.report.success());
    assert!(w.cloud.resources().is_empty(), "{:?}", w.cloud.resources());
}

/// The fields a stack names wrongly, per resource: (address, field).
fn problems(stack: &Stack) -> Vec<(String, String)> {
    match stack.validate() {
        Err(infra_core::Error::Invalid(d)) => {
            d.0.iter()
                .map(|p| {
                    (
                        p.address.as_ref().map(ToString::to_string).unwrap_or_default(),
                        p.field.clone().unwrap_or_default(),
                    )
                })
                .collect()
        }
        Err(e) => panic!("another error: {e}"),
        Ok(_) => Vec::new(),
    }
}

fn one(add: impl FnOnce(&mut Stack)) -> Stack {
    let mut s = Stack::new("bad");
    s.provider(ProviderConfig::aws("us-east-1"));
    add(&mut s);
    s
}

fn refused(add: impl FnOnce(&mut Stack), field: &str) {
    let found = problems(&one(add));
    assert!(found.iter().any(|(a, f)| a == "bad" && f == field), "{field} not named: {found:?}");
}

/// Each rule of the five types refuses a bad value before any call,
/// naming the field (and a good declaration of each passes).
#[test]
fn bad_values_are_refused_naming_the_field() {
    // The good ones pass.
    assert!(problems(&stack(0)).is_empty() && problems(&stack(1)).is_empty());
    let oac = |o: OriginAccessControl| {
        move |s: &mut Stack| {
            s.add("bad", o);
        }
    };
    refused(oac(OriginAccessControl { name: String::new(), ..Default::default() }), "name");
    refused(oac(OriginAccessControl { name: "x".repeat(65), ..Default::default() }), "name");
    refused(
        oac(OriginAccessControl {
            name: "ok".into(),
            description: Some("d".repeat(257)),
            ..Default::default()
        }),
        "description",
    );
    refused(
        |s| {
            s.add("bad", OriginAccessIdentity { comment: "c".repeat(129) });
        },
        "comment",
    );

    let cache = |f: fn(&mut CachePolicy)| {
        move |s: &mut Stack| {
            let mut p = cache_policy(1);
            f(&mut p);
            s.add("bad", p);
        }
    };
    refused(cache(|p| p.name = "has space".into()), "name");
    refused(cache(|p| p.comment = Some("c".repeat(129))), "comment");
    refused(cache(|p| p.min_ttl = -1), "min_ttl");
    refused(cache(|p| p.min_ttl = 10_000), "default_ttl");
    refused(cache(|p| p.max_ttl = Some(60)), "max_ttl");
    // An unset default (86400 s) above a declared max.
    refused(
        cache(|p| {
            p.default_ttl = None;
            p.max_ttl = Some(3600);
        }),
        "max_ttl",
    );
    let at = "parameters_in_cache_key_and_forwarded_to_origin";
    refused(
        cache(|p| p.parameters_in_cache_key_and_forwarded_to_origin.headers_config.headers.clear()),
        &format!("{at}.headers_config.headers"),
    );
    refused(
        cache(|p| {
            p.parameters_in_cache_key_and_forwarded_to_origin.cookies_config.cookies = vec!["a".into()]
        }),
        &format!("{at}.cookies_config.cookies"),
    );
    // Caching disabled: nothing in the cache key, no compression.
    fn disabled(p: &mut CachePolicy) {
        p.min_ttl = 0;
        p.default_ttl = Some(0);
        p.max_ttl = Some(0);
    }
    refused(
        cache(|p| {
            disabled(p);
            let k = &mut p.parameters_in_cache_key_and_forwarded_to_origin;
            k.headers_config = CacheHeadersConfig::default();
            k.query_strings_config = QueryStringsConfig::default();
            k.enable_accept_encoding_brotli = false;
        }),
        &format!("{at}.enable_accept_encoding_gzip"),
    );
    refused(cache(disabled), &format!("{at}.headers_config.header_behavior"));
    // … and a disabled policy with an empty key passes.
    let mut off = cache_policy(0);
    disabled(&mut off);
    off.parameters_in_cache_key_and_forwarded_to_origin = CacheKeyParameters::default();
    assert!(
        problems(&one(|s| {
            s.add("ok", off);
        }))
        .is_empty()
    );

    let origin = |f: fn(&mut OriginRequestPolicy)| {
        move |s: &mut Stack| {
            let mut p = origin_request_policy(1);
            f(&mut p);
            s.add("bad", p);
        }
    };
    refused(origin(|p| p.name = String::new()), "name");
    refused(
        origin(|p| p.headers_config.header_behavior = OriginRequestHeaderBehavior::AllViewer),
        "headers_config.headers",
    );
    refused(origin(|p| p.cookies_config.cookies.clear()), "cookies_config.cookies");
    refused(
        origin(|p| p.query_strings_config.query_string_behavior = QueryStringBehavior::Whitelist),
        "query_strings_config.query_strings",
    );

    let headers = |f: fn(&mut ResponseHeadersPolicy)| {
        move |s: &mut Stack| {
            let mut p = response_headers_policy(1);
            f(&mut p);
            s.add("bad", p);
        }
    };
    refused(
        headers(|p| p.cors_config.as_mut().unwrap().access_control_allow_methods.clear()),
        "cors_config.access_control_allow_methods",
    );
    refused(
        headers(|p| {
            let c = p.cors_config.as_mut().unwrap();
            c.access_control_allow_origins = vec!["*".into()];
            c.access_control_allow_credentials = true;
        }),
        "cors_config.access_control_allow_credentials",
    );
    refused(
        headers(|p| {
            let s = p.security_headers_config.as_mut().unwrap();
            s.xss_protection =
                Some(XssProtection { protection: false, mode_block: true, ..Default::default() });
        }),
        "security_headers_config.xss_protection.protection",
    );
    refused(
        headers(|p| {
            let s = p.security_headers_config.as_mut().unwrap();
            s.xss_protection = Some(XssProtection {
                protection: true,
                mode_block: true,
                report_uri: Some("https://r".into()),
                ..Default::default()
            });
        }),
        "security_headers_config.xss_protection.report_uri",
    );
    refused(
        headers(|p| {
            p.security_headers_config
                .as_mut()
                .unwrap()
                .strict_transport_security
                .as_mut()
                .unwrap()
                .access_control_max_age_sec = -1
        }),
        "security_headers_config.strict_transport_security.access_control_max_age_sec",
    );
    refused(
        headers(|p| {
            p.custom_headers.push(CustomHeader {
                header: "x-env".into(),
                value: "dup".into(),
                r#override: true,
            })
        }),
        "custom_headers[1].header",
    );
}

/// CloudFront names are unique in the account: a second policy of one
/// name is refused, whichever region's provider declares it.
#[test]
fn a_name_is_declared_once_in_the_account() {
    let mut s = Stack::new("bad");
    let us = s.provider(ProviderConfig::aws("us-east-1"));
    let eu = s.provider(ProviderConfig::aws("eu-west-1"));
    s.add_with("first", cache_policy(1), Options::new().provider(&us));
    s.add_with("second", cache_policy(1), Options::new().provider(&eu));
    let oac = || OriginAccessControl { name: "static".into(), ..Default::default() };
    s.add_with("oac-a", oac(), Options::new().provider(&us));
    s.add_with("oac-b", oac(), Options::new().provider(&us));
    let found = problems(&s);
    assert!(found.contains(&("second".into(), "name".into())), "{found:?}");
    assert!(found.contains(&("oac-b".into(), "name".into())), "{found:?}");
    assert!(!found.iter().any(|(a, _)| a == "first" || a == "oac-a"), "{found:?}");
}

/// A stack with a bad policy is refused before any call reaches the cloud.
#[tokio::test(start_paused = true)]
async fn a_refused_stack_makes_no_call() {
    let w = world();
    let mut s = stack(0);
    let mut bad = cache_policy(0);
    bad.min_ttl = 100_000;
    bad.default_ttl = Some(10);
    s.add("bad", bad);
    let e = go(&w, &s, Mode::Apply(PlanOptions::default()))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("default_ttl"), "{e}");
    assert!(w.cloud.call_log().is_empty(), "{:?}", w.cloud.call_log());
}
