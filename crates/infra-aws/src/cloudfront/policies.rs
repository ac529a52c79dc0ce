use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use super::etag::api_enum;
use crate::ids::{CachePolicyId, OriginRequestPolicyId};

/// AWS's managed policies, by ID: a distribution's cache behaviour can
/// name them without a lookup (`managed::caching_optimized()`).
pub mod managed {
    use crate::ids::{CachePolicyId, OriginRequestPolicyId};

    /// `Managed-CachingOptimized`: long TTLs, gzip and brotli, nothing in
    /// the cache key.
    pub fn caching_optimized() -> CachePolicyId {
        CachePolicyId::unchecked("658327ea-f89d-4fab-a63d-7e88639e58f6")
    }

    /// `Managed-CachingDisabled`: every TTL 0 (an API behind the
    /// distribution).
    pub fn caching_disabled() -> CachePolicyId {
        CachePolicyId::unchecked("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    }

    /// `Managed-AllViewer`: every viewer header, cookie and query string
    /// goes to the origin.
    pub fn all_viewer() -> OriginRequestPolicyId {
        OriginRequestPolicyId::unchecked("216adef6-5c7f-47e4-b989-5492eafa07d3")
    }
}

api_enum!(
    /// Which cookies (`none`, `whitelist`: those named, `allExcept`: all
    /// but those named, `all`).
    CookieBehavior {
        #[default]
        None = "none",
        Whitelist = "whitelist",
        AllExcept = "allExcept",
        All = "all",
    }
);

api_enum!(
    /// Which query strings (as [`CookieBehavior`]).
    QueryStringBehavior {
        #[default]
        None = "none",
        Whitelist = "whitelist",
        AllExcept = "allExcept",
        All = "all",
    }
);

api_enum!(
    /// Which headers a cache policy puts in the cache key (`none` or the
    /// `whitelist` named).
    CacheHeaderBehavior {
        #[default]
        None = "none",
        Whitelist = "whitelist",
    }
);

api_enum!(
    /// Which headers an origin request policy forwards.
    OriginRequestHeaderBehavior {
        #[default]
        None = "none",
        Whitelist = "whitelist",
        AllViewer = "allViewer",
        /// Every viewer header and the CloudFront headers named.
        AllViewerAndWhitelistCloudFront = "allViewerAndWhitelistCloudFront",
        AllExcept = "allExcept",
    }
);

/// Cookies: a behavior and, for `whitelist` and `allExcept`, the names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CookiesConfig {
    pub cookie_behavior: CookieBehavior,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<String>,
}

/// Query strings: a behavior and, for `whitelist` and `allExcept`, the
/// names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryStringsConfig {
    pub query_string_behavior: QueryStringBehavior,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_strings: Vec<String>,
}

/// A cache policy's headers: `whitelist` names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheHeadersConfig {
    pub header_behavior: CacheHeaderBehavior,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

/// An origin request policy's headers: `whitelist`, `allExcept` and
/// `allViewerAndWhitelistCloudFront` name them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginRequestHeadersConfig {
    pub header_behavior: OriginRequestHeaderBehavior,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

/// What goes in the cache key (and so to the origin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheKeyParameters {
    pub headers_config: CacheHeadersConfig,
    pub cookies_config: CookiesConfig,
    pub query_strings_config: QueryStringsConfig,
    pub enable_accept_encoding_gzip: bool,
    pub enable_accept_encoding_brotli: bool,
}

/// A CloudFront cache policy (`aws_cloudfront_cache_policy`): TTLs and
/// what goes in the cache key. Every field changes in place
/// (`UpdateCachePolicy` takes the whole configuration with the current
/// ETag): nothing forces a replacement. Its name is unique in the account:
/// a create answered `CachePolicyAlreadyExists` adopts the policy of that
/// name. Unset TTLs are AWS's defaults (default 86400 s, or `min_ttl` if
/// larger; max 31536000 s, or the default if larger), recorded as unset.
/// With every TTL 0 (caching disabled) nothing may be in the cache key.
/// AWS's own policies need no declaration: see [`managed`].
///
/// Outputs: `policy.id()` (`CachePolicyId`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudfront::{CachePolicy, CacheKeyParameters, QueryStringBehavior, QueryStringsConfig};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let policy = stack.add("static", CachePolicy {
///     name: "prod-static".into(),
///     min_ttl: 0,
///     default_ttl: Some(3600),
///     max_ttl: Some(86400),
///     parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters {
///         query_strings_config: QueryStringsConfig {
///             query_string_behavior: QueryStringBehavior::Whitelist,
///             query_strings: vec!["v".into()],
///         },
///         enable_accept_encoding_gzip: true,
///         enable_accept_encoding_brotli: true,
///         ..Default::default()
///     },
///     ..Default::default()
/// });
/// let _id: Output<infra::aws::ids::CachePolicyId> = policy.id();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudfront:CachePolicy",
    outputs(id: CachePolicyId),
    readiness = "on_id",
    validate = validate_cache_policy,
    validate_type = super::etag::unique_names,
    normalise = cache_policy_canonical
)]
pub struct CachePolicy {
    /// 1 to 128 letters, digits, `-` and `_`; unique in the account.
    pub name: String,
    /// At most 128 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub min_ttl: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<i64>,
    pub parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters,
}

/// A CloudFront origin request policy (`aws_cloudfront_origin_request_policy`):
/// the headers, cookies and query strings sent to the origin beyond the
/// cache key. Every field changes in place; the name is unique in the
/// account (a create answered `OriginRequestPolicyAlreadyExists` adopts
/// the policy of that name). AWS's `Managed-AllViewer` needs no
/// declaration: [`managed::all_viewer`].
///
/// Outputs: `policy.id()` (`OriginRequestPolicyId`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudfront::{
///     CookieBehavior, CookiesConfig, OriginRequestHeaderBehavior, OriginRequestHeadersConfig,
///     OriginRequestPolicy,
/// };
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// stack.add("api", OriginRequestPolicy {
///     name: "prod-api".into(),
///     headers_config: OriginRequestHeadersConfig {
///         header_behavior: OriginRequestHeaderBehavior::Whitelist,
///         headers: vec!["Accept".into(), "Accept-Language".into(), "Authorization".into()],
///     },
///     cookies_config: CookiesConfig { cookie_behavior: CookieBehavior::All, cookies: vec![] },
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudfront:OriginRequestPolicy",
    outputs(id: OriginRequestPolicyId),
    readiness = "on_id",
    validate = validate_origin_request_policy,
    validate_type = super::etag::unique_names,
    normalise = origin_request_policy_canonical
)]
pub struct OriginRequestPolicy {
    /// 1 to 128 letters, digits, `-` and `_`; unique in the account.
    pub name: String,
    /// At most 128 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub headers_config: OriginRequestHeadersConfig,
    pub cookies_config: CookiesConfig,
    pub query_strings_config: QueryStringsConfig,
}

/// AWS's defaults for the TTLs a cache policy leaves unset.
pub(crate) const DEFAULT_TTL: i64 = 86_400;
pub(crate) const MAX_TTL: i64 = 31_536_000;

impl CachePolicy {
    /// The TTLs AWS applies: (min, default, max).
    pub fn effective_ttls(&self) -> (i64, i64, i64) {
        let default = self.default_ttl.unwrap_or(DEFAULT_TTL.max(self.min_ttl));
        (self.min_ttl, default, self.max_ttl.unwrap_or(MAX_TTL.max(default)))
    }
}

/// A policy's name and comment (the rules every policy type shares).
pub(crate) fn name_and_comment(ctx: &mut ValidationContext<'_>, name: &str, comment: Option<&str>) {
    crate::rules::region(ctx);
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || name.len() > 128 || !name.chars().all(ok) {
        ctx.error("name", format!("{name:?} must be 1 to 128 letters, digits, - and _"));
    }
    if let Some(c) = comment
        && c.chars().count() > 128
    {
        ctx.error("comment", format!("{} characters: at most 128", c.chars().count()));
    }
}

/// Names go with the behaviours that take them (`named`), and only there.
pub(crate) fn items(
    ctx: &mut ValidationContext<'_>,
    field: &str,
    behavior: &str,
    named: bool,
    items: &[String],
) {
    match (named, items.is_empty()) {
        (true, true) => ctx.error(field, format!("behavior {behavior} needs at least one name")),
        (false, false) => ctx.error(field, format!("behavior {behavior} takes no names")),
        _ => {}
    }
    if let Some(i) = items.iter().position(String::is_empty) {
        ctx.error(&format!("{field}[{i}]"), "an empty name");
    }
}

fn cookies_and_query_strings(
    ctx: &mut ValidationContext<'_>,
    at: &str,
    c: &CookiesConfig,
    q: &QueryStringsConfig,
) {
    use {CookieBehavior as C, QueryStringBehavior as Q};
    let named = matches!(c.cookie_behavior, C::Whitelist | C::AllExcept);
    items(ctx, &format!("{at}cookies_config.cookies"), c.cookie_behavior.as_str(), named, &c.cookies);
    let named = matches!(q.query_string_behavior, Q::Whitelist | Q::AllExcept);
    let field = format!("{at}query_strings_config.query_strings");
    items(ctx, &field, q.query_string_behavior.as_str(), named, &q.query_strings);
}

fn validate_cache_policy(p: &CachePolicy, ctx: &mut ValidationContext<'_>) {
    name_and_comment(ctx, &p.name, p.comment.as_deref());
    let (min, default, max) = p.effective_ttls();
    for (field, v) in [("min_ttl", Some(min)), ("default_ttl", p.default_ttl), ("max_ttl", p.max_ttl)] {
        if v.is_some_and(|v| v < 0) {
            ctx.error(field, "a TTL is at least 0 seconds");
        }
    }
    if default < min {
        ctx.error("default_ttl", format!("{default} s is below min_ttl {min} s"));
    }
    if max < default {
        let unset = if p.default_ttl.is_none() { " (unset: AWS's default)" } else { "" };
        ctx.error("max_ttl", format!("{max} s is below default_ttl {default} s{unset}"));
    }
    let k = &p.parameters_in_cache_key_and_forwarded_to_origin;
    let at = "parameters_in_cache_key_and_forwarded_to_origin.";
    let named = k.headers_config.header_behavior == CacheHeaderBehavior::Whitelist;
    let field = format!("{at}headers_config.headers");
    items(ctx, &field, k.headers_config.header_behavior.as_str(), named, &k.headers_config.headers);
    cookies_and_query_strings(ctx, at, &k.cookies_config, &k.query_strings_config);
    // Caching disabled: AWS refuses anything in the cache key.
    if max == 0 {
        let keyed = [
            ("headers_config.header_behavior", k.headers_config.header_behavior != CacheHeaderBehavior::None),
            ("cookies_config.cookie_behavior", k.cookies_config.cookie_behavior != CookieBehavior::None),
            (
                "query_strings_config.query_string_behavior",
                k.query_strings_config.query_string_behavior != QueryStringBehavior::None,
            ),
            ("enable_accept_encoding_gzip", k.enable_accept_encoding_gzip),
            ("enable_accept_encoding_brotli", k.enable_accept_encoding_brotli),
        ];
        for (field, set) in keyed {
            if set {
                ctx.error(
                    &format!("{at}{field}"),
                    "caching is disabled (max_ttl 0): nothing goes in the cache key",
                );
            }
        }
    }
}

fn validate_origin_request_policy(p: &OriginRequestPolicy, ctx: &mut ValidationContext<'_>) {
    use OriginRequestHeaderBehavior as H;
    name_and_comment(ctx, &p.name, p.comment.as_deref());
    let h = &p.headers_config;
    let named = matches!(h.header_behavior, H::Whitelist | H::AllExcept | H::AllViewerAndWhitelistCloudFront);
    items(ctx, "headers_config.headers", h.header_behavior.as_str(), named, &h.headers);
    cookies_and_query_strings(ctx, "", &p.cookies_config, &p.query_strings_config);
}

/// Names in a canonical order: AWS keeps them as sets. Header names are
/// case-insensitive (AWS answers them as declared; sorted here as such).
pub(crate) fn sorted(items: &mut Vec<String>) {
    items.sort();
    items.dedup();
}

fn cache_policy_canonical(p: &mut CachePolicy) {
    // The effective default first: an unset max follows it.
    let (_, default, _) = p.effective_ttls();
    if p.default_ttl == Some(DEFAULT_TTL.max(p.min_ttl)) {
        p.default_ttl = None;
    }
    if p.max_ttl == Some(MAX_TTL.max(default)) {
        p.max_ttl = None;
    }
    if p.comment.as_deref() == Some("") {
        p.comment = None;
    }
    let k = &mut p.parameters_in_cache_key_and_forwarded_to_origin;
    sorted(&mut k.headers_config.headers);
    sorted(&mut k.cookies_config.cookies);
    sorted(&mut k.query_strings_config.query_strings);
}

fn origin_request_policy_canonical(p: &mut OriginRequestPolicy) {
    if p.comment.as_deref() == Some("") {
        p.comment = None;
    }
    sorted(&mut p.headers_config.headers);
    sorted(&mut p.cookies_config.cookies);
    sorted(&mut p.query_strings_config.query_strings);
}

#[cfg(feature = "cloudfront")]
pub(crate) mod imp;
