use std::collections::{BTreeMap, BTreeSet};

use infra_core::{Diagnostic, Input, ResourceDecl, Stack, ValidationContext, Value};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{
    CachePolicyId, CertificateArn, DistributionArn, DistributionId, DnsName, HostedZoneId,
    OriginAccessControlId, OriginRequestPolicyId, ResponseHeadersPolicyId, WebAclArn,
};

#[cfg(feature = "cloudfront")]
pub(crate) mod imp;

/// How viewers may reach a cache behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViewerProtocolPolicy {
    AllowAll,
    HttpsOnly,
    /// HTTP requests are redirected to HTTPS (the Rust default).
    #[default]
    RedirectToHttps,
}

/// How CloudFront reaches a custom origin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginProtocolPolicy {
    HttpOnly,
    MatchViewer,
    /// HTTPS only (the Rust default: the seeds' load balancer).
    #[default]
    HttpsOnly,
}

/// The edge locations a distribution is served from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceClass {
    /// Every edge location (AWS's default, recorded as unset).
    #[default]
    #[serde(rename = "PriceClass_All")]
    All,
    /// North America, Europe, Asia, Middle East and Africa.
    #[serde(rename = "PriceClass_200")]
    Class200,
    /// North America and Europe.
    #[serde(rename = "PriceClass_100")]
    Class100,
}

/// The highest HTTP version viewers may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    #[serde(rename = "http1.1")]
    Http1_1,
    /// AWS's default, recorded as unset.
    #[default]
    #[serde(rename = "http2")]
    Http2,
    #[serde(rename = "http3")]
    Http3,
    #[serde(rename = "http2and3")]
    Http2And3,
}

/// The oldest TLS version (and ciphers) viewers may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinimumProtocolVersion {
    #[serde(rename = "SSLv3")]
    SslV3,
    #[serde(rename = "TLSv1")]
    TlsV1,
    #[serde(rename = "TLSv1_2016")]
    TlsV1_2016,
    #[serde(rename = "TLSv1.1_2016")]
    TlsV1_1_2016,
    #[serde(rename = "TLSv1.2_2018")]
    TlsV1_2_2018,
    #[serde(rename = "TLSv1.2_2019")]
    TlsV1_2_2019,
    /// AWS's recommendation (the Rust default).
    #[default]
    #[serde(rename = "TLSv1.2_2021")]
    TlsV1_2_2021,
    #[serde(rename = "TLSv1.2_2025")]
    TlsV1_2_2025,
    #[serde(rename = "TLSv1.3_2025")]
    TlsV1_3_2025,
}

/// How CloudFront serves HTTPS with a custom certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslSupportMethod {
    /// Server Name Indication (the default; no extra charge).
    #[default]
    SniOnly,
    /// Dedicated IP addresses (charged).
    Vip,
    StaticIp,
}

/// Who may (or may not) be served, by country.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeoRestrictionType {
    #[default]
    None,
    /// Only the listed countries.
    Whitelist,
    /// Every country but the listed ones.
    Blacklist,
}

/// S3 origin settings. With an origin access control, leave
/// `origin_access_identity` unset (AWS takes an empty one).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct S3OriginConfig {
    /// The legacy origin access identity's path
    /// (`origin-access-identity/cloudfront/<id>`:
    /// `oai.cloudfront_access_identity_path()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_access_identity: Option<Input<String>>,
}

/// A custom (HTTP) origin: a load balancer, a website.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomOriginConfig {
    /// 80 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<i32>,
    /// 443 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_port: Option<i32>,
    pub origin_protocol_policy: OriginProtocolPolicy,
    /// `SSLv3`, `TLSv1`, `TLSv1.1`, `TLSv1.2` (a set; `["TLSv1.2"]` when
    /// empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origin_ssl_protocols: Vec<String>,
    /// 1–180 s; 30 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_read_timeout: Option<i32>,
    /// 1–180 s; 5 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_keepalive_timeout: Option<i32>,
}

/// One origin. Exactly one of `s3_origin_config` (or just
/// `origin_access_control_id`) and `custom_origin_config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Origin {
    /// Unique in the distribution; cache behaviours and origin groups name it.
    pub origin_id: String,
    /// The bucket's regional domain name (`bucket.bucket_regional_domain_name()`)
    /// or the load balancer's (`alb.dns_name()`).
    pub domain_name: Input<DnsName>,
    /// A path prefix (`/static`); none when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_path: Option<String>,
    /// An S3 origin reached through an origin access control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_access_control_id: Option<Input<OriginAccessControlId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_origin_config: Option<S3OriginConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_origin_config: Option<CustomOriginConfig>,
    /// Headers CloudFront adds to every request to the origin (e.g. a
    /// shared secret the load balancer checks).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_headers: BTreeMap<String, String>,
    /// 1–3; 3 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_attempts: Option<i32>,
    /// 1–10 s; 10 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_timeout: Option<i32>,
}

/// Two origins, the second used when the first answers one of
/// `failover_status_codes` (origin failover).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginGroup {
    /// Unique among the origins and groups; behaviours may target it.
    pub origin_id: String,
    /// The primary and the secondary origin's IDs.
    pub members: Vec<String>,
    /// Of 400, 403, 404, 416, 500, 502, 503, 504 (a set).
    pub failover_status_codes: Vec<i32>,
}

/// The legacy cache settings (`forwarded_values`): what is forwarded to the
/// origin and is part of the cache key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForwardedValues {
    pub query_string: bool,
    /// Headers forwarded (a set; `*` for all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// `none` (the default, recorded as unset), `all` or `whitelist`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies_forward: Option<String>,
    /// With `cookies_forward = "whitelist"` (a set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies_whitelisted_names: Vec<String>,
}

/// A cache behaviour: the default one (no `path_pattern`) or an ordered one.
/// Either `cache_policy_id` (with optional origin request and response
/// headers policies) or the legacy `forwarded_values` with TTLs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheBehavior {
    /// `/api/*` (ordered behaviours only; empty for the default one).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path_pattern: String,
    /// An origin's or origin group's ID.
    pub target_origin_id: String,
    pub viewer_protocol_policy: ViewerProtocolPolicy,
    /// `GET, HEAD` (unset, the default), `GET, HEAD, OPTIONS`, or all seven
    /// (a set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_methods: Vec<String>,
    /// `GET, HEAD` (unset, the default) or `GET, HEAD, OPTIONS` (a set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cached_methods: Vec<String>,
    pub compress: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_policy_id: Option<Input<CachePolicyId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_request_policy_id: Option<Input<OriginRequestPolicyId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_headers_policy_id: Option<Input<ResponseHeadersPolicyId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_values: Option<ForwardedValues>,
    /// With `forwarded_values`: seconds; 0 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<i64>,
    /// With `forwarded_values`: 86400 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<i64>,
    /// With `forwarded_values`: 31536000 when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<i64>,
}

/// HTTPS with a custom certificate for the aliases. Unset, the
/// distribution uses CloudFront's default certificate (`*.cloudfront.net`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewerCertificate {
    /// An ACM certificate **in us-east-1** (`validation.certificate_arn()`).
    pub acm_certificate_arn: Input<CertificateArn>,
    pub ssl_support_method: SslSupportMethod,
    pub minimum_protocol_version: MinimumProtocolVersion,
}

/// Standard access logs to an S3 bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DistributionLogging {
    /// The bucket's domain name (`bucket.bucket_domain_name()`,
    /// `<name>.s3.amazonaws.com`).
    pub bucket: Input<DnsName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub include_cookies: bool,
}

/// What viewers get for an origin's error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomErrorResponse {
    /// 400, 403, 404, 405, 414, 416, 500, 501, 502, 503 or 504.
    pub error_code: i32,
    /// The status viewers get (with `response_page_path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i32>,
    /// `/index.html` (with `response_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_page_path: Option<String>,
    /// Seconds the error is cached; 10 (the default) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_caching_min_ttl: Option<i64>,
}

/// Country restrictions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeoRestriction {
    pub restriction_type: GeoRestrictionType,
    /// ISO 3166-1 alpha-2 codes (`US`, `DE`; a set).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

/// A CloudFront distribution (`aws_cloudfront_distribution`): origins (S3
/// through an origin access control or identity, custom origins such as a
/// load balancer over HTTPS), origin groups for failover, a default and
/// ordered cache behaviours, aliases with an ACM certificate (in
/// us-east-1), a web ACL, logging, custom error responses and country
/// restrictions.
///
/// Every field changes in place (`UpdateDistribution` with the current
/// ETag; a stale ETag is read again): nothing forces a replacement. A
/// distribution deploys for minutes (`InProgress` → `Deployed`):
/// dependents wait, up to 90 minutes. A delete disables it first, waits
/// until that is deployed, then deletes it.
///
/// Outputs: `cdn.id()` (`DistributionId`), `cdn.arn()` (`DistributionArn`),
/// `cdn.domain_name()` (`DnsName`, `d123.cloudfront.net`) and
/// `cdn.hosted_zone_id()` (`HostedZoneId`, CloudFront's alias zone).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudfront::{
///     CacheBehavior, CustomOriginConfig, Distribution, ForwardedValues, Origin, ViewerCertificate,
///     ViewerProtocolPolicy,
/// };
/// use infra::aws::ids::{CertificateArn, DnsName};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let cdn = stack.add("cdn", Distribution {
///     origins: vec![Origin {
///         origin_id: "alb".into(),
///         domain_name: DnsName::unchecked("prod-alb-1.us-east-1.elb.amazonaws.com").into(),
///         custom_origin_config: Some(CustomOriginConfig {
///             origin_ssl_protocols: vec!["TLSv1.2".into()],
///             ..Default::default()
///         }),
///         ..Default::default()
///     }],
///     default_cache_behavior: CacheBehavior {
///         target_origin_id: "alb".into(),
///         viewer_protocol_policy: ViewerProtocolPolicy::RedirectToHttps,
///         compress: true,
///         forwarded_values: Some(ForwardedValues { query_string: true, ..Default::default() }),
///         ..Default::default()
///     },
///     aliases: vec!["www.example.com".into()],
///     viewer_certificate: Some(ViewerCertificate {
///         acm_certificate_arn: CertificateArn::unchecked(
///             "arn:aws:acm:us-east-1:123456789012:certificate/0b7e4b6a-1111-2222-3333-444455556666",
///         )
///         .into(),
///         ..Default::default()
///     }),
///     enabled: true,
///     comment: Some("the shop".into()),
///     ..Default::default()
/// });
/// stack.export("cdn_domain", cdn.domain_name());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudfront:Distribution",
    outputs(id: DistributionId, arn: DistributionArn, domain_name: DnsName, hosted_zone_id: HostedZoneId),
    readiness = "on_available",
    validate = validate_distribution,
    validate_stack = certificate_in_us_east_1,
    normalise = canonical
)]
pub struct Distribution {
    /// At least one. (Left out of the serialized form only when empty, so
    /// a state whose origins are unknown, as a read on the emulator's gap
    /// after a crash leaves them, still reads back.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origin_groups: Vec<OriginGroup>,
    pub default_cache_behavior: CacheBehavior,
    /// In order: the first whose `path_pattern` matches serves a request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ordered_cache_behaviors: Vec<CacheBehavior>,
    /// Alternate domain names (CNAMEs); they need `viewer_certificate`.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer_certificate: Option<ViewerCertificate>,
    /// Unset: every edge location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_class: Option<PriceClass>,
    /// Unset: HTTP/2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_version: Option<HttpVersion>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_ipv6_enabled: bool,
    /// Serves requests (Terraform requires it; `false` here is disabled).
    pub enabled: bool,
    /// At most 128 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `index.html` (no leading `/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_root_object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<DistributionLogging>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_error_responses: Vec<CustomErrorResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_restriction: Option<GeoRestriction>,
    /// A WAFv2 web ACL of scope `CLOUDFRONT` (`acl.arn()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_acl_id: Option<Input<WebAclArn>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// CloudFront's hosted zone for alias records (the same everywhere).
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];
const FAILOVER_CODES: [i32; 8] = [400, 403, 404, 416, 500, 502, 503, 504];
const ERROR_CODES: [i32; 11] = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];
const SSL_PROTOCOLS: [&str; 4] = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2"];

fn sorted(v: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = v.iter().map(|m| m.to_ascii_uppercase()).collect();
    set.into_iter().collect()
}

fn methods_ok(v: &[String], sets: &[&[&str]]) -> bool {
    let have = sorted(v);
    sets.iter().any(|s| {
        let mut want: Vec<&str> = s.to_vec();
        want.sort_unstable();
        have.iter().map(String::as_str).eq(want)
    })
}

fn literal<T: ToString>(i: &Input<T>) -> Option<String> {
    i.value().map(ToString::to_string)
}

fn check_behavior(ctx: &mut ValidationContext<'_>, at: &str, b: &CacheBehavior, targets: &BTreeSet<&str>) {
    if !targets.contains(b.target_origin_id.as_str()) {
        ctx.error(
            &format!("{at}.target_origin_id"),
            format!(
                "{:?} is not the ID of an origin or origin group of this distribution",
                b.target_origin_id
            ),
        );
    }
    let get_head: &[&str] = &["GET", "HEAD"];
    let with_options: &[&str] = &["GET", "HEAD", "OPTIONS"];
    if !b.allowed_methods.is_empty()
        && !methods_ok(&b.allowed_methods, &[get_head, with_options, &ALL_METHODS])
    {
        ctx.error(
            &format!("{at}.allowed_methods"),
            "must be GET, HEAD; GET, HEAD, OPTIONS; or all of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        );
    }
    if !b.cached_methods.is_empty() {
        let allowed = if b.allowed_methods.is_empty() {
            vec!["GET".into(), "HEAD".into()]
        } else {
            sorted(&b.allowed_methods)
        };
        if !methods_ok(&b.cached_methods, &[get_head, with_options]) {
            ctx.error(&format!("{at}.cached_methods"), "must be GET, HEAD or GET, HEAD, OPTIONS");
        } else if sorted(&b.cached_methods).iter().any(|m| !allowed.contains(m)) {
            ctx.error(&format!("{at}.cached_methods"), "may only hold allowed methods");
        }
    }
    match (&b.cache_policy_id, &b.forwarded_values) {
        (Some(_), Some(_)) => ctx.error(
            &format!("{at}.forwarded_values"),
            "a behaviour takes a cache policy or the legacy forwarded_values, not both",
        ),
        (None, None) => ctx.error(
            &format!("{at}.cache_policy_id"),
            "a behaviour needs a cache policy (cache_policy_id) or the legacy forwarded_values",
        ),
        _ => {}
    }
    if b.cache_policy_id.is_some() {
        for (f, v) in [("min_ttl", b.min_ttl), ("default_ttl", b.default_ttl), ("max_ttl", b.max_ttl)] {
            if v.is_some() {
                ctx.error(&format!("{at}.{f}"), "TTLs go in the cache policy when cache_policy_id is set");
            }
        }
    }
    if b.origin_request_policy_id.is_some() && b.cache_policy_id.is_none() {
        ctx.error(&format!("{at}.origin_request_policy_id"), "an origin request policy needs a cache policy");
    }
    let (min, def, max) =
        (b.min_ttl.unwrap_or(0), b.default_ttl.unwrap_or(86_400), b.max_ttl.unwrap_or(31_536_000));
    if min < 0 || def < 0 || max < 0 {
        ctx.error(&format!("{at}.min_ttl"), "TTLs may not be negative");
    } else if b.forwarded_values.is_some() && !(min <= def && def <= max) {
        ctx.error(
            &format!("{at}.default_ttl"),
            format!("TTLs must be ordered min ≤ default ≤ max ({min}, {def}, {max})"),
        );
    }
    if let Some(f) = &b.forwarded_values {
        let fwd = f.cookies_forward.as_deref().unwrap_or("none");
        if !matches!(fwd, "none" | "all" | "whitelist") {
            ctx.error(
                &format!("{at}.forwarded_values.cookies_forward"),
                format!("{fwd:?} must be none, all or whitelist"),
            );
        }
        if (fwd == "whitelist") == f.cookies_whitelisted_names.is_empty() {
            ctx.error(
                &format!("{at}.forwarded_values.cookies_whitelisted_names"),
                "cookie names go with cookies_forward = \"whitelist\", and only with it",
            );
        }
    }
}

fn check_origin(ctx: &mut ValidationContext<'_>, at: &str, o: &Origin) {
    if o.origin_id.is_empty() || o.origin_id.len() > 128 {
        ctx.error(&format!("{at}.origin_id"), "must be 1 to 128 characters");
    }
    if literal(&o.domain_name).is_some_and(|d| d.is_empty()) {
        ctx.error(&format!("{at}.domain_name"), "is empty");
    }
    if let Some(p) = &o.origin_path
        && !p.is_empty()
        && (!p.starts_with('/') || p.ends_with('/'))
    {
        ctx.error(&format!("{at}.origin_path"), format!("{p:?} must begin with / and not end with /"));
    }
    let s3 = o.s3_origin_config.is_some() || o.origin_access_control_id.is_some();
    match (s3, &o.custom_origin_config) {
        (true, Some(_)) => ctx.error(
            &format!("{at}.custom_origin_config"),
            "an origin is an S3 origin (s3_origin_config, origin_access_control_id) or a custom one, not both",
        ),
        (false, None) => ctx.error(
            &format!("{at}.custom_origin_config"),
            "an origin needs custom_origin_config, s3_origin_config or origin_access_control_id",
        ),
        _ => {}
    }
    if o.origin_access_control_id.is_some()
        && o.s3_origin_config.as_ref().is_some_and(|s| s.origin_access_identity.is_some())
    {
        ctx.error(
            &format!("{at}.origin_access_control_id"),
            "an S3 origin takes an origin access control or an origin access identity, not both",
        );
    }
    if let Some(c) = &o.custom_origin_config {
        for (f, p) in [("http_port", c.http_port), ("https_port", c.https_port)] {
            if let Some(p) = p
                && !(1..=65_535).contains(&p)
            {
                ctx.error(&format!("{at}.custom_origin_config.{f}"), format!("{p} must be 1 to 65535"));
            }
        }
        for p in &c.origin_ssl_protocols {
            if !SSL_PROTOCOLS.contains(&p.as_str()) {
                ctx.error(
                    &format!("{at}.custom_origin_config.origin_ssl_protocols"),
                    format!("{p:?} must be SSLv3, TLSv1, TLSv1.1 or TLSv1.2"),
                );
            }
        }
        for (f, t) in [
            ("origin_read_timeout", c.origin_read_timeout),
            ("origin_keepalive_timeout", c.origin_keepalive_timeout),
        ] {
            if let Some(t) = t
                && !(1..=180).contains(&t)
            {
                ctx.error(&format!("{at}.custom_origin_config.{f}"), format!("{t} must be 1 to 180 seconds"));
            }
        }
    }
    if let Some(n) = o.connection_attempts
        && !(1..=3).contains(&n)
    {
        ctx.error(&format!("{at}.connection_attempts"), format!("{n} must be 1 to 3"));
    }
    if let Some(n) = o.connection_timeout
        && !(1..=10).contains(&n)
    {
        ctx.error(&format!("{at}.connection_timeout"), format!("{n} must be 1 to 10 seconds"));
    }
    if o.custom_headers.keys().any(String::is_empty) {
        ctx.error(&format!("{at}.custom_headers"), "a header name is empty");
    }
}

fn domain_ok(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn validate_distribution(d: &Distribution, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &d.tags);
    if d.origins.is_empty() {
        ctx.error("origins", "a distribution needs at least one origin");
    }
    let mut ids = BTreeSet::new();
    for (i, o) in d.origins.iter().enumerate() {
        check_origin(ctx, &format!("origins[{i}]"), o);
        if !ids.insert(o.origin_id.as_str()) {
            ctx.error(&format!("origins[{i}].origin_id"), format!("{:?} is used twice", o.origin_id));
        }
    }
    let origins = ids.clone();
    for (i, g) in d.origin_groups.iter().enumerate() {
        let at = format!("origin_groups[{i}]");
        if !ids.insert(g.origin_id.as_str()) {
            ctx.error(
                &format!("{at}.origin_id"),
                format!("{:?} is already an origin's or group's ID", g.origin_id),
            );
        }
        if g.members.len() != 2
            || g.members.iter().any(|m| !origins.contains(m.as_str()))
            || g.members[0] == g.members[1]
        {
            ctx.error(
                &format!("{at}.members"),
                "an origin group has two different origins of this distribution",
            );
        }
        if g.failover_status_codes.is_empty()
            || g.failover_status_codes.iter().any(|c| !FAILOVER_CODES.contains(c))
        {
            ctx.error(
                &format!("{at}.failover_status_codes"),
                "one or more of 400, 403, 404, 416, 500, 502, 503, 504",
            );
        }
    }
    if !d.default_cache_behavior.path_pattern.is_empty() {
        ctx.error("default_cache_behavior.path_pattern", "the default behaviour has no path pattern");
    }
    check_behavior(ctx, "default_cache_behavior", &d.default_cache_behavior, &ids);
    let mut patterns = BTreeSet::new();
    for (i, b) in d.ordered_cache_behaviors.iter().enumerate() {
        let at = format!("ordered_cache_behaviors[{i}]");
        if b.path_pattern.is_empty() || b.path_pattern.len() > 255 {
            ctx.error(&format!("{at}.path_pattern"), "must be 1 to 255 characters (`/api/*`)");
        } else if !patterns.insert(b.path_pattern.as_str()) {
            ctx.error(
                &format!("{at}.path_pattern"),
                format!("{:?} is used by an earlier behaviour", b.path_pattern),
            );
        }
        check_behavior(ctx, &at, b, &ids);
    }
    for (i, a) in d.aliases.iter().enumerate() {
        if !domain_ok(a) {
            ctx.error(&format!("aliases[{i}]"), format!("{a:?} is not a domain name"));
        }
    }
    if !d.aliases.is_empty() && d.viewer_certificate.is_none() {
        ctx.error(
            "viewer_certificate",
            "aliases need a certificate that covers them (an ACM certificate in us-east-1)",
        );
    }
    if let Some(v) = &d.viewer_certificate {
        if let Some(arn) = literal(&v.acm_certificate_arn)
            && arn.split(':').nth(3) != Some("us-east-1")
        {
            ctx.error(
                "viewer_certificate.acm_certificate_arn",
                format!("{arn}: CloudFront takes ACM certificates from us-east-1 only"),
            );
        }
        if v.minimum_protocol_version == MinimumProtocolVersion::SslV3
            && v.ssl_support_method != SslSupportMethod::Vip
        {
            ctx.error("viewer_certificate.minimum_protocol_version", "SSLv3 needs ssl_support_method = vip");
        }
    }
    if let Some(c) = &d.comment
        && c.chars().count() > 128
    {
        ctx.error("comment", "at most 128 characters");
    }
    if let Some(r) = &d.default_root_object
        && (r.starts_with('/') || r.len() > 255)
    {
        ctx.error(
            "default_root_object",
            format!("{r:?}: an object name without a leading /, at most 255 characters"),
        );
    }
    if let Some(l) = &d.logging {
        if let Some(b) = literal(&l.bucket)
            && !b.ends_with(".amazonaws.com")
        {
            ctx.error(
                "logging.bucket",
                format!("{b:?} must be the bucket's domain name (<bucket>.s3.amazonaws.com)"),
            );
        }
        if l.prefix.as_deref().is_some_and(|p| p.starts_with('/')) {
            ctx.error("logging.prefix", "may not begin with /");
        }
    }
    let mut codes = BTreeSet::new();
    for (i, e) in d.custom_error_responses.iter().enumerate() {
        let at = format!("custom_error_responses[{i}]");
        if !ERROR_CODES.contains(&e.error_code) {
            ctx.error(
                &format!("{at}.error_code"),
                format!("{} is not an error CloudFront lets you customise", e.error_code),
            );
        } else if !codes.insert(e.error_code) {
            ctx.error(&format!("{at}.error_code"), format!("{} is customised twice", e.error_code));
        }
        if let Some(c) = e.response_code
            && c != 200
            && !ERROR_CODES.contains(&c)
        {
            ctx.error(
                &format!("{at}.response_code"),
                format!("{c} must be 200 or an error code CloudFront returns"),
            );
        }
        if e.response_code.is_some() != e.response_page_path.is_some() {
            ctx.error(
                &format!("{at}.response_page_path"),
                "response_code and response_page_path go together",
            );
        }
        if e.response_page_path.as_deref().is_some_and(|p| !p.starts_with('/')) {
            ctx.error(&format!("{at}.response_page_path"), "must begin with /");
        }
        if e.error_caching_min_ttl.is_some_and(|t| t < 0) {
            ctx.error(&format!("{at}.error_caching_min_ttl"), "may not be negative");
        }
    }
    if let Some(g) = &d.geo_restriction {
        if (g.restriction_type == GeoRestrictionType::None) != g.locations.is_empty() {
            ctx.error(
                "geo_restriction.locations",
                "countries go with a whitelist or blacklist, and only with them",
            );
        }
        if let Some(l) =
            g.locations.iter().find(|l| l.len() != 2 || !l.chars().all(|c| c.is_ascii_uppercase()))
        {
            ctx.error(
                "geo_restriction.locations",
                format!("{l:?} is not a two-letter country code (US, DE)"),
            );
        }
    }
    if let Some(arn) = d.web_acl_id.as_ref().and_then(literal)
        && !arn.contains(":global/webacl/")
    {
        ctx.error(
            "web_acl_id",
            format!("{arn}: a distribution takes a web ACL of scope CLOUDFRONT (…:global/webacl/…)"),
        );
    }
}

/// AWS's defaults recorded as unset, sets in order.
fn canonical(d: &mut Distribution) {
    if d.price_class == Some(PriceClass::All) {
        d.price_class = None;
    }
    if d.http_version == Some(HttpVersion::Http2) {
        d.http_version = None;
    }
    for v in [&mut d.comment, &mut d.default_root_object] {
        if v.as_deref() == Some("") {
            *v = None;
        }
    }
    d.aliases.sort();
    d.aliases.dedup();
    for o in &mut d.origins {
        if o.origin_path.as_deref() == Some("") {
            o.origin_path = None;
        }
        if o.connection_attempts == Some(3) {
            o.connection_attempts = None;
        }
        if o.connection_timeout == Some(10) {
            o.connection_timeout = None;
        }
        if let Some(s) = &mut o.s3_origin_config
            && s.origin_access_identity.as_ref().is_some_and(|i| i.value().is_some_and(String::is_empty))
        {
            s.origin_access_identity = None;
        }
        // An S3 origin with an origin access control only: AWS reports an
        // empty S3OriginConfig, the declaration may leave it out.
        if o.origin_access_control_id.is_some()
            && o.s3_origin_config.as_ref().is_some_and(|s| s.origin_access_identity.is_none())
        {
            o.s3_origin_config = None;
        }
        if let Some(c) = &mut o.custom_origin_config {
            if c.http_port == Some(80) {
                c.http_port = None;
            }
            if c.https_port == Some(443) {
                c.https_port = None;
            }
            c.origin_ssl_protocols = sorted(&c.origin_ssl_protocols)
                .into_iter()
                .map(|p| p.replace("TLSV", "TLSv").replace("SSLV", "SSLv"))
                .collect();
            if c.origin_ssl_protocols == ["TLSv1.2"] {
                c.origin_ssl_protocols.clear();
            }
            if c.origin_read_timeout == Some(30) {
                c.origin_read_timeout = None;
            }
            if c.origin_keepalive_timeout == Some(5) {
                c.origin_keepalive_timeout = None;
            }
        }
    }
    for g in &mut d.origin_groups {
        g.failover_status_codes.sort_unstable();
        g.failover_status_codes.dedup();
    }
    for b in std::iter::once(&mut d.default_cache_behavior).chain(d.ordered_cache_behaviors.iter_mut()) {
        for m in [&mut b.allowed_methods, &mut b.cached_methods] {
            *m = sorted(m);
            if *m == ["GET", "HEAD"] {
                m.clear();
            }
        }
        if let Some(f) = &mut b.forwarded_values {
            f.headers.sort();
            f.headers.dedup();
            f.cookies_whitelisted_names.sort();
            if f.cookies_forward.as_deref() == Some("none") {
                f.cookies_forward = None;
            }
            if b.min_ttl == Some(0) {
                b.min_ttl = None;
            }
            if b.default_ttl == Some(86_400) {
                b.default_ttl = None;
            }
            if b.max_ttl == Some(31_536_000) {
                b.max_ttl = None;
            }
        }
    }
    d.custom_error_responses.sort_by_key(|e| e.error_code);
    for e in &mut d.custom_error_responses {
        if e.error_caching_min_ttl == Some(10) {
            e.error_caching_min_ttl = None;
        }
        if e.response_page_path.as_deref() == Some("") {
            e.response_page_path = None;
        }
    }
    if let Some(g) = &mut d.geo_restriction {
        g.locations.sort();
        g.locations.dedup();
        if g.restriction_type == GeoRestrictionType::None && g.locations.is_empty() {
            d.geo_restriction = None;
        }
    }
    if let Some(l) = &mut d.logging
        && l.prefix.as_deref() == Some("")
    {
        l.prefix = None;
    }
}

/// The distribution's stack rule: its viewer certificate is an ACM
/// certificate declared with a us-east-1 provider (CloudFront reads
/// certificates from us-east-1 only), and its web ACL is declared there
/// too. A literal ARN's region is checked by the per-resource validation.
fn certificate_in_us_east_1(decl: &ResourceDecl, stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut check = |field: &str, value: Option<&Value>, what: &str| {
        let Some(Value::Ref(r)) = value else { return };
        let Some(target) = stack.resource(&r.address) else { return };
        let region = stack.provider_of(target).map(|p| p.region.as_str());
        if let Some(region) = region
            && region != "us-east-1"
        {
            out.push(Diagnostic::field(
                decl.address.clone(),
                field,
                format!(
                    "{} is declared in {region}: CloudFront takes {what} from us-east-1 only; declare it with a us-east-1 provider",
                    r.address
                ),
            ));
        }
    };
    let cert = match decl.inputs.get("viewer_certificate") {
        Some(Value::Map(m)) => m.get("acm_certificate_arn"),
        _ => None,
    };
    check("viewer_certificate.acm_certificate_arn", cert, "ACM certificates");
    check("web_acl_id", decl.inputs.get("web_acl_id"), "web ACLs");
    out
}
