use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use super::etag::api_enum;
use super::policies::{name_and_comment, sorted};
use crate::ids::ResponseHeadersPolicyId;

api_enum!(
    /// `X-Frame-Options`.
    FrameOption {
        #[default]
        Deny = "DENY",
        SameOrigin = "SAMEORIGIN",
    }
);

api_enum!(
    /// `Referrer-Policy`.
    ReferrerPolicy {
        NoReferrer = "no-referrer",
        NoReferrerWhenDowngrade = "no-referrer-when-downgrade",
        Origin = "origin",
        OriginWhenCrossOrigin = "origin-when-cross-origin",
        SameOrigin = "same-origin",
        StrictOrigin = "strict-origin",
        #[default]
        StrictOriginWhenCrossOrigin = "strict-origin-when-cross-origin",
        UnsafeUrl = "unsafe-url",
    }
);

api_enum!(
    /// A method in `Access-Control-Allow-Methods`.
    CorsMethod {
        #[default]
        Get = "GET",
        Head = "HEAD",
        Options = "OPTIONS",
        Post = "POST",
        Put = "PUT",
        Patch = "PATCH",
        Delete = "DELETE",
        All = "ALL",
    }
);

/// `Strict-Transport-Security` (HSTS). `override`: replace the origin's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StrictTransportSecurity {
    /// `max-age`, in seconds (0 or more; a year is 31536000).
    pub access_control_max_age_sec: i32,
    pub include_subdomains: bool,
    pub preload: bool,
    pub r#override: bool,
}

/// `X-Content-Type-Options: nosniff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentTypeOptions {
    pub r#override: bool,
}

/// `X-Frame-Options`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameOptions {
    pub frame_option: FrameOption,
    pub r#override: bool,
}

/// `X-XSS-Protection`: `protection` on (`1`) or off (`0`); with it on,
/// `mode_block` or a `report_uri` (not both).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct XssProtection {
    pub protection: bool,
    pub mode_block: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_uri: Option<String>,
    pub r#override: bool,
}

/// `Referrer-Policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReferrerPolicyHeader {
    pub referrer_policy: ReferrerPolicy,
    pub r#override: bool,
}

/// `Content-Security-Policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentSecurityPolicy {
    pub content_security_policy: String,
    pub r#override: bool,
}

/// The security headers CloudFront adds; each unset one is left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityHeaders {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_transport_security: Option<StrictTransportSecurity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type_options: Option<ContentTypeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_options: Option<FrameOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xss_protection: Option<XssProtection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer_policy: Option<ReferrerPolicyHeader>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_security_policy: Option<ContentSecurityPolicy>,
}

/// CORS: the `Access-Control-*` headers CloudFront answers with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// Not with a `*` origin (browsers refuse credentials then).
    pub access_control_allow_credentials: bool,
    /// At least one (`*` for any).
    pub access_control_allow_headers: Vec<String>,
    /// At least one.
    pub access_control_allow_methods: Vec<CorsMethod>,
    /// At least one (`https://example.com`, or `*`).
    pub access_control_allow_origins: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_expose_headers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_control_max_age_sec: Option<i32>,
    /// Replace the origin's CORS headers.
    pub origin_override: bool,
}

/// A header CloudFront adds to every response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomHeader {
    pub header: String,
    pub value: String,
    pub r#override: bool,
}

/// A CloudFront response headers policy (`aws_cloudfront_response_headers_policy`):
/// security headers (HSTS, `X-Content-Type-Options`, `X-Frame-Options`,
/// `X-XSS-Protection`, `Referrer-Policy`, `Content-Security-Policy`),
/// CORS and custom headers added to responses. Every field changes in
/// place; the name is unique in the account (a create answered
/// `ResponseHeadersPolicyAlreadyExists` adopts the policy of that name).
/// Not expressed: headers to remove and `Server-Timing`.
///
/// Outputs: `policy.id()` (`ResponseHeadersPolicyId`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudfront::{
///     ContentTypeOptions, FrameOption, FrameOptions, ResponseHeadersPolicy, SecurityHeaders,
///     StrictTransportSecurity,
/// };
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// stack.add("security", ResponseHeadersPolicy {
///     name: "prod-security".into(),
///     security_headers_config: Some(SecurityHeaders {
///         strict_transport_security: Some(StrictTransportSecurity {
///             access_control_max_age_sec: 31_536_000,
///             include_subdomains: true,
///             preload: true,
///             r#override: true,
///         }),
///         content_type_options: Some(ContentTypeOptions { r#override: true }),
///         frame_options: Some(FrameOptions { frame_option: FrameOption::Deny, r#override: true }),
///         ..Default::default()
///     }),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudfront:ResponseHeadersPolicy",
    outputs(id: ResponseHeadersPolicyId),
    readiness = "on_id",
    validate = validate_response_headers_policy,
    validate_type = super::etag::unique_names,
    normalise = response_headers_canonical
)]
pub struct ResponseHeadersPolicy {
    /// 1 to 128 letters, digits, `-` and `_`; unique in the account.
    pub name: String,
    /// At most 128 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_config: Option<CorsConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_headers_config: Option<SecurityHeaders>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_headers: Vec<CustomHeader>,
}

fn validate_response_headers_policy(p: &ResponseHeadersPolicy, ctx: &mut ValidationContext<'_>) {
    name_and_comment(ctx, &p.name, p.comment.as_deref());
    if let Some(c) = &p.cors_config {
        for (field, empty) in [
            ("cors_config.access_control_allow_headers", c.access_control_allow_headers.is_empty()),
            ("cors_config.access_control_allow_methods", c.access_control_allow_methods.is_empty()),
            ("cors_config.access_control_allow_origins", c.access_control_allow_origins.is_empty()),
        ] {
            if empty {
                ctx.error(field, "at least one value (`*` for any)");
            }
        }
        if c.access_control_allow_credentials && c.access_control_allow_origins.iter().any(|o| o == "*") {
            ctx.error(
                "cors_config.access_control_allow_credentials",
                "credentials cannot go with the origin `*`",
            );
        }
        if c.access_control_max_age_sec.is_some_and(|s| s < 0) {
            ctx.error("cors_config.access_control_max_age_sec", "0 seconds or more");
        }
    }
    if let Some(s) = &p.security_headers_config {
        if s.strict_transport_security.as_ref().is_some_and(|h| h.access_control_max_age_sec < 0) {
            let field = "security_headers_config.strict_transport_security.access_control_max_age_sec";
            ctx.error(field, "0 seconds or more");
        }
        if let Some(x) = &s.xss_protection {
            let at = "security_headers_config.xss_protection";
            if !x.protection && (x.mode_block || x.report_uri.is_some()) {
                ctx.error(&format!("{at}.protection"), "mode_block and report_uri need protection on");
            }
            if x.mode_block && x.report_uri.is_some() {
                ctx.error(&format!("{at}.report_uri"), "either mode_block or a report_uri, not both");
            }
        }
        if s.content_security_policy.as_ref().is_some_and(|c| c.content_security_policy.is_empty()) {
            let field = "security_headers_config.content_security_policy.content_security_policy";
            ctx.error(field, "an empty policy");
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, h) in p.custom_headers.iter().enumerate() {
        if h.header.is_empty() {
            ctx.error(&format!("custom_headers[{i}].header"), "an empty header name");
        } else if !seen.insert(h.header.to_ascii_lowercase()) {
            ctx.error(&format!("custom_headers[{i}].header"), format!("{:?} is declared twice", h.header));
        }
    }
}

fn response_headers_canonical(p: &mut ResponseHeadersPolicy) {
    if p.comment.as_deref() == Some("") {
        p.comment = None;
    }
    if let Some(c) = &mut p.cors_config {
        sorted(&mut c.access_control_allow_headers);
        sorted(&mut c.access_control_allow_origins);
        sorted(&mut c.access_control_expose_headers);
        c.access_control_allow_methods.sort();
        c.access_control_allow_methods.dedup();
    }
    if p.security_headers_config.as_ref().is_some_and(|s| *s == SecurityHeaders::default()) {
        p.security_headers_config = None;
    }
    p.custom_headers.sort_by_key(|h| h.header.to_ascii_lowercase());
}

#[cfg(feature = "cloudfront")]
pub(crate) mod imp;
