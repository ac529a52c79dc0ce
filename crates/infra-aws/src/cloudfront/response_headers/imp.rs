//! `aws:cloudfront:ResponseHeadersPolicy` through the CloudFront API: one
//! listing of the account's custom policies serves any number of IDs and
//! the lookup by name (no batched get).

use async_trait::async_trait;
use aws_sdk_cloudfront::types::{self as cf, ResponseHeadersPolicyConfig, ResponseHeadersPolicyType};
use infra_engine::{Operation, ProviderError, Timings};

use super::{
    ContentSecurityPolicy, ContentTypeOptions, CorsConfig, CorsMethod, CustomHeader, FrameOption,
    FrameOptions, ReferrerPolicy, ReferrerPolicyHeader, ResponseHeadersPolicy, ResponseHeadersPolicyOut,
    SecurityHeaders, StrictTransportSecurity, XssProtection,
};
use crate::cloudfront::etag::{delete_with_etag, etag, with_current_etag};
use crate::cloudfront::policies::imp::{invalid, matches, wanted};
use crate::ids::ResponseHeadersPolicyId;
use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing};

const CF: Service = Service::CloudFront;

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn cors(c: &CorsConfig) -> Result<cf::ResponseHeadersPolicyCorsConfig, ProviderError> {
    let e = |e| invalid("cors_config", e);
    let headers = cf::ResponseHeadersPolicyAccessControlAllowHeaders::builder()
        .quantity(count(c.access_control_allow_headers.len()))
        .set_items(Some(c.access_control_allow_headers.clone()))
        .build()
        .map_err(e)?;
    let methods = cf::ResponseHeadersPolicyAccessControlAllowMethods::builder()
        .quantity(count(c.access_control_allow_methods.len()))
        .set_items(Some(
            c.access_control_allow_methods
                .iter()
                .map(|m| cf::ResponseHeadersPolicyAccessControlAllowMethodsValues::from(m.as_str()))
                .collect(),
        ))
        .build()
        .map_err(e)?;
    let origins = cf::ResponseHeadersPolicyAccessControlAllowOrigins::builder()
        .quantity(count(c.access_control_allow_origins.len()))
        .set_items(Some(c.access_control_allow_origins.clone()))
        .build()
        .map_err(e)?;
    let expose = if c.access_control_expose_headers.is_empty() {
        None
    } else {
        Some(
            cf::ResponseHeadersPolicyAccessControlExposeHeaders::builder()
                .quantity(count(c.access_control_expose_headers.len()))
                .set_items(Some(c.access_control_expose_headers.clone()))
                .build()
                .map_err(e)?,
        )
    };
    cf::ResponseHeadersPolicyCorsConfig::builder()
        .access_control_allow_credentials(c.access_control_allow_credentials)
        .access_control_allow_headers(headers)
        .access_control_allow_methods(methods)
        .access_control_allow_origins(origins)
        .set_access_control_expose_headers(expose)
        .set_access_control_max_age_sec(c.access_control_max_age_sec)
        .origin_override(c.origin_override)
        .build()
        .map_err(e)
}

fn security(s: &SecurityHeaders) -> Result<cf::ResponseHeadersPolicySecurityHeadersConfig, ProviderError> {
    let e = |e| invalid("security_headers_config", e);
    let hsts = s
        .strict_transport_security
        .as_ref()
        .map(|h| {
            cf::ResponseHeadersPolicyStrictTransportSecurity::builder()
                .access_control_max_age_sec(h.access_control_max_age_sec)
                .include_subdomains(h.include_subdomains)
                .preload(h.preload)
                .r#override(h.r#override)
                .build()
                .map_err(e)
        })
        .transpose()?;
    let nosniff = s
        .content_type_options
        .as_ref()
        .map(|h| {
            cf::ResponseHeadersPolicyContentTypeOptions::builder().r#override(h.r#override).build().map_err(e)
        })
        .transpose()?;
    let frame = s
        .frame_options
        .as_ref()
        .map(|h| {
            cf::ResponseHeadersPolicyFrameOptions::builder()
                .frame_option(cf::FrameOptionsList::from(h.frame_option.as_str()))
                .r#override(h.r#override)
                .build()
                .map_err(e)
        })
        .transpose()?;
    let xss = s
        .xss_protection
        .as_ref()
        .map(|h| {
            cf::ResponseHeadersPolicyXssProtection::builder()
                .protection(h.protection)
                .set_mode_block(h.protection.then_some(h.mode_block))
                .set_report_uri(h.report_uri.clone())
                .r#override(h.r#override)
                .build()
                .map_err(e)
        })
        .transpose()?;
    let referrer = s
        .referrer_policy
        .as_ref()
        .map(|h| {
            cf::ResponseHeadersPolicyReferrerPolicy::builder()
                .referrer_policy(cf::ReferrerPolicyList::from(h.referrer_policy.as_str()))
                .r#override(h.r#override)
                .build()
                .map_err(e)
        })
        .transpose()?;
    let csp = s
        .content_security_policy
        .as_ref()
        .map(|h| {
            cf::ResponseHeadersPolicyContentSecurityPolicy::builder()
                .content_security_policy(&h.content_security_policy)
                .r#override(h.r#override)
                .build()
                .map_err(e)
        })
        .transpose()?;
    Ok(cf::ResponseHeadersPolicySecurityHeadersConfig::builder()
        .set_strict_transport_security(hsts)
        .set_content_type_options(nosniff)
        .set_frame_options(frame)
        .set_xss_protection(xss)
        .set_referrer_policy(referrer)
        .set_content_security_policy(csp)
        .build())
}

fn config(d: &ResponseHeadersPolicy) -> Result<ResponseHeadersPolicyConfig, ProviderError> {
    let custom = if d.custom_headers.is_empty() {
        None
    } else {
        let items = d
            .custom_headers
            .iter()
            .map(|h| {
                cf::ResponseHeadersPolicyCustomHeader::builder()
                    .header(&h.header)
                    .value(&h.value)
                    .r#override(h.r#override)
                    .build()
                    .map_err(|e| invalid("custom_headers", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(
            cf::ResponseHeadersPolicyCustomHeadersConfig::builder()
                .quantity(count(items.len()))
                .set_items(Some(items))
                .build()
                .map_err(|e| invalid("custom_headers", e))?,
        )
    };
    ResponseHeadersPolicyConfig::builder()
        .name(&d.name)
        .set_comment(d.comment.clone())
        .set_cors_config(d.cors_config.as_ref().map(cors).transpose()?)
        .set_security_headers_config(d.security_headers_config.as_ref().map(security).transpose()?)
        .set_custom_headers_config(custom)
        .build()
        .map_err(|e| invalid("response headers policy", e))
}

fn decl(c: &ResponseHeadersPolicyConfig) -> ResponseHeadersPolicy {
    let cors_config = c.cors_config().map(|c| CorsConfig {
        access_control_allow_credentials: c.access_control_allow_credentials(),
        access_control_allow_headers: c
            .access_control_allow_headers()
            .map(|h| h.items().to_vec())
            .unwrap_or_default(),
        access_control_allow_methods: c
            .access_control_allow_methods()
            .map(|m| m.items().iter().filter_map(|v| CorsMethod::parse(v.as_str())).collect())
            .unwrap_or_default(),
        access_control_allow_origins: c
            .access_control_allow_origins()
            .map(|o| o.items().to_vec())
            .unwrap_or_default(),
        access_control_expose_headers: c
            .access_control_expose_headers()
            .map(|h| h.items().to_vec())
            .unwrap_or_default(),
        access_control_max_age_sec: c.access_control_max_age_sec(),
        origin_override: c.origin_override(),
    });
    let security_headers_config = c.security_headers_config().map(|s| SecurityHeaders {
        strict_transport_security: s.strict_transport_security().map(|h| StrictTransportSecurity {
            access_control_max_age_sec: h.access_control_max_age_sec(),
            include_subdomains: h.include_subdomains().unwrap_or(false),
            preload: h.preload().unwrap_or(false),
            r#override: h.r#override(),
        }),
        content_type_options: s
            .content_type_options()
            .map(|h| ContentTypeOptions { r#override: h.r#override() }),
        frame_options: s.frame_options().map(|h| FrameOptions {
            frame_option: FrameOption::parse(h.frame_option().as_str()).unwrap_or_default(),
            r#override: h.r#override(),
        }),
        xss_protection: s.xss_protection().map(|h| XssProtection {
            protection: h.protection(),
            mode_block: h.mode_block().unwrap_or(false),
            report_uri: h.report_uri().filter(|u| !u.is_empty()).map(str::to_owned),
            r#override: h.r#override(),
        }),
        referrer_policy: s.referrer_policy().map(|h| ReferrerPolicyHeader {
            referrer_policy: ReferrerPolicy::parse(h.referrer_policy().as_str()).unwrap_or_default(),
            r#override: h.r#override(),
        }),
        content_security_policy: s.content_security_policy().map(|h| ContentSecurityPolicy {
            content_security_policy: h.content_security_policy().to_owned(),
            r#override: h.r#override(),
        }),
    });
    let custom_headers = c
        .custom_headers_config()
        .map(|h| {
            h.items()
                .iter()
                .map(|h| CustomHeader {
                    header: h.header().to_owned(),
                    value: h.value().to_owned(),
                    r#override: h.r#override(),
                })
                .collect()
        })
        .unwrap_or_default();
    ResponseHeadersPolicy {
        name: c.name().to_owned(),
        comment: c.comment().map(str::to_owned),
        cors_config,
        security_headers_config,
        custom_headers,
    }
}

/// `aws:cloudfront:ResponseHeadersPolicy`.
#[derive(Debug)]
pub(crate) struct ResponseHeadersPolicyKind;

async fn current_etag(cx: &Ctx, id: &str) -> Result<String, ProviderError> {
    let call = cx.cloudfront().get_response_headers_policy_config().id(id);
    let out =
        cx.send_in(CF, "GetResponseHeadersPolicyConfig", Operation::Read, || call.clone().send()).await?;
    etag(out.e_tag())
}

#[async_trait]
impl Kind for ResponseHeadersPolicyKind {
    type Decl = ResponseHeadersPolicy;
    type Out = ResponseHeadersPolicyOut;
    const SERVICE: Service = CF;
    const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);
    const TAGGED: bool = false;
    const ADOPT_UNTAGGED: bool = true;

    async fn list(
        &self,
        cx: &Ctx,
        by: Lookup<'_, ResponseHeadersPolicy>,
    ) -> Result<Vec<Seen<Self>>, ProviderError> {
        let Some(filter) = wanted(&by, |d: &ResponseHeadersPolicy| d.name.as_str()) else {
            return Ok(Vec::new());
        };
        let policies = cx
            .paged(|next| {
                let call = cx
                    .cloudfront()
                    .list_response_headers_policies()
                    .r#type(ResponseHeadersPolicyType::Custom)
                    .set_marker(next);
                async move {
                    let out = cx
                        .send_in(CF, "ListResponseHeadersPolicies", Operation::Read, || call.clone().send())
                        .await?;
                    Ok(match out.response_headers_policy_list {
                        Some(l) => (
                            l.items
                                .unwrap_or_default()
                                .into_iter()
                                .filter_map(|s| s.response_headers_policy)
                                .collect(),
                            l.next_marker,
                        ),
                        None => (Vec::new(), None),
                    })
                }
            })
            .await?;
        Ok(policies
            .into_iter()
            .filter_map(|p| {
                let d = decl(p.response_headers_policy_config.as_ref()?);
                matches(&filter, &p.id, &d.name).then(|| {
                    let out = ResponseHeadersPolicyOut { id: ResponseHeadersPolicyId::unchecked(&p.id) };
                    Seen::ready(p.id, d, out, Tags::new())
                })
            })
            .collect())
    }

    async fn create(
        &self,
        cx: &Ctx,
        d: &ResponseHeadersPolicy,
        _: &Tags,
        _: &str,
    ) -> Result<String, ProviderError> {
        let call =
            cx.cloudfront().create_response_headers_policy().response_headers_policy_config(config(d)?);
        let out =
            cx.send_in(CF, "CreateResponseHeadersPolicy", Operation::Create, || call.clone().send()).await?;
        out.response_headers_policy.map(|p| p.id).ok_or_else(|| missing("response headers policy"))
    }

    async fn update(
        &self,
        cx: &Ctx,
        id: &str,
        c: Change<'_, ResponseHeadersPolicy>,
    ) -> Result<(), ProviderError> {
        let config = config(c.after)?;
        let write = |tag: String| {
            let call = cx
                .cloudfront()
                .update_response_headers_policy()
                .id(id)
                .if_match(tag)
                .response_headers_policy_config(config.clone());
            async move {
                cx.send_in(CF, "UpdateResponseHeadersPolicy", Operation::Update, || call.clone().send()).await
            }
        };
        with_current_etag(|| current_etag(cx, id), write).await.map(drop)
    }

    async fn delete(&self, cx: &Ctx, id: &str, _: &ResponseHeadersPolicy) -> Result<(), ProviderError> {
        let delete = |tag: String| {
            let call = cx.cloudfront().delete_response_headers_policy().id(id).if_match(tag);
            async move {
                cx.send_in(CF, "DeleteResponseHeadersPolicy", Operation::Delete, || call.clone().send()).await
            }
        };
        delete_with_etag(|| current_etag(cx, id), delete).await
    }
}

/// The provider's conversions without an endpoint (the emulator has no
/// policy calls): a declaration sent as AWS's configuration and read back
/// is the declaration again, in canonical form.
#[cfg(test)]
mod tests {
    use infra_core::Resource as _;

    use super::*;

    fn canonical(mut r: ResponseHeadersPolicy) -> String {
        r.normalise();
        format!("{r:?}")
    }

    #[test]
    fn a_response_headers_policy_reads_back_as_declared() {
        let p = ResponseHeadersPolicy {
            name: "security".into(),
            comment: Some("seed".into()),
            cors_config: Some(CorsConfig {
                access_control_allow_credentials: true,
                access_control_allow_headers: vec!["Authorization".into(), "Content-Type".into()],
                access_control_allow_methods: vec![CorsMethod::Post, CorsMethod::Get],
                access_control_allow_origins: vec!["https://example.com".into()],
                access_control_expose_headers: vec!["ETag".into()],
                access_control_max_age_sec: Some(600),
                origin_override: true,
            }),
            security_headers_config: Some(SecurityHeaders {
                strict_transport_security: Some(StrictTransportSecurity {
                    access_control_max_age_sec: 31_536_000,
                    include_subdomains: true,
                    preload: false,
                    r#override: true,
                }),
                content_type_options: Some(ContentTypeOptions { r#override: true }),
                frame_options: Some(FrameOptions {
                    frame_option: FrameOption::SameOrigin,
                    r#override: false,
                }),
                xss_protection: Some(XssProtection {
                    protection: true,
                    mode_block: false,
                    report_uri: Some("https://example.com/xss".into()),
                    r#override: true,
                }),
                referrer_policy: Some(ReferrerPolicyHeader {
                    referrer_policy: ReferrerPolicy::NoReferrer,
                    r#override: true,
                }),
                content_security_policy: Some(ContentSecurityPolicy {
                    content_security_policy: "default-src 'self'".into(),
                    r#override: true,
                }),
            }),
            custom_headers: vec![
                CustomHeader { header: "X-Team".into(), value: "web".into(), r#override: false },
                CustomHeader { header: "X-Env".into(), value: "prod".into(), r#override: true },
            ],
        };
        let sent = config(&p).unwrap();
        let frame =
            sent.security_headers_config().and_then(|s| s.frame_options()).map(|f| f.frame_option().as_str());
        assert_eq!(frame, Some("SAMEORIGIN"));
        assert_eq!(canonical(decl(&sent)), canonical(p));
    }
}
