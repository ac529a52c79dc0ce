//! `aws:cloudfront:CachePolicy` and `aws:cloudfront:OriginRequestPolicy`
//! through the CloudFront API. Neither has a batched get: one listing of
//! the account's custom policies (`Type=custom`, whole configurations)
//! serves any number of IDs and the lookup by name.

use async_trait::async_trait;
use aws_sdk_cloudfront::types::{
    self as cf, CachePolicyConfig, CachePolicyType, CookieNames, Headers, OriginRequestPolicyConfig,
    OriginRequestPolicyType, ParametersInCacheKeyAndForwardedToOrigin, QueryStringNames,
};
use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

use super::{
    CacheHeaderBehavior, CacheHeadersConfig, CacheKeyParameters, CachePolicy, CachePolicyOut, CookieBehavior,
    CookiesConfig, OriginRequestHeaderBehavior, OriginRequestHeadersConfig, OriginRequestPolicy,
    OriginRequestPolicyOut, QueryStringBehavior, QueryStringsConfig,
};
use crate::cloudfront::etag::{delete_with_etag, etag, with_current_etag};
use crate::ids::{CachePolicyId, OriginRequestPolicyId};
use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing};

const CF: Service = Service::CloudFront;

pub(crate) fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
}

/// The filter of a `list`: the IDs asked for, or the declaration's name;
/// `None` when the lookup cannot match (no IDs, a tag: these carry none).
pub(crate) fn wanted<'a, D>(
    by: &'a Lookup<'a, D>,
    name: impl Fn(&D) -> &str,
) -> Option<(Vec<&'a str>, Option<String>)> {
    match by {
        Lookup::Ids(ids) if !ids.is_empty() => Some((ids.iter().map(String::as_str).collect(), None)),
        Lookup::Key(d) => Some((Vec::new(), Some(name(d).to_owned()))),
        Lookup::Ids(_) | Lookup::Tag(..) => None,
    }
}

/// True when (`id`, `name`) is what [`wanted`] asks for.
pub(crate) fn matches(filter: &(Vec<&str>, Option<String>), id: &str, name: &str) -> bool {
    match &filter.1 {
        Some(n) => n == name,
        None => filter.0.contains(&id),
    }
}

fn headers(items: &[String]) -> Result<Option<Headers>, ProviderError> {
    if items.is_empty() {
        return Ok(None);
    }
    let n = i32::try_from(items.len()).unwrap_or(i32::MAX);
    Headers::builder()
        .quantity(n)
        .set_items(Some(items.to_vec()))
        .build()
        .map(Some)
        .map_err(|e| invalid("headers", e))
}

fn cookies(items: &[String]) -> Result<Option<CookieNames>, ProviderError> {
    if items.is_empty() {
        return Ok(None);
    }
    let n = i32::try_from(items.len()).unwrap_or(i32::MAX);
    CookieNames::builder()
        .quantity(n)
        .set_items(Some(items.to_vec()))
        .build()
        .map(Some)
        .map_err(|e| invalid("cookies", e))
}

fn query_strings(items: &[String]) -> Result<Option<QueryStringNames>, ProviderError> {
    if items.is_empty() {
        return Ok(None);
    }
    let n = i32::try_from(items.len()).unwrap_or(i32::MAX);
    QueryStringNames::builder()
        .quantity(n)
        .set_items(Some(items.to_vec()))
        .build()
        .map(Some)
        .map_err(|e| invalid("query_strings", e))
}

fn cache_config(d: &CachePolicy) -> Result<CachePolicyConfig, ProviderError> {
    let k = &d.parameters_in_cache_key_and_forwarded_to_origin;
    let b = |e| invalid("parameters_in_cache_key_and_forwarded_to_origin", e);
    let (min, default, max) = d.effective_ttls();
    let params = ParametersInCacheKeyAndForwardedToOrigin::builder()
        .enable_accept_encoding_gzip(k.enable_accept_encoding_gzip)
        .enable_accept_encoding_brotli(k.enable_accept_encoding_brotli)
        .headers_config(
            cf::CachePolicyHeadersConfig::builder()
                .header_behavior(cf::CachePolicyHeaderBehavior::from(
                    k.headers_config.header_behavior.as_str(),
                ))
                .set_headers(headers(&k.headers_config.headers)?)
                .build()
                .map_err(b)?,
        )
        .cookies_config(
            cf::CachePolicyCookiesConfig::builder()
                .cookie_behavior(cf::CachePolicyCookieBehavior::from(
                    k.cookies_config.cookie_behavior.as_str(),
                ))
                .set_cookies(cookies(&k.cookies_config.cookies)?)
                .build()
                .map_err(b)?,
        )
        .query_strings_config(
            cf::CachePolicyQueryStringsConfig::builder()
                .query_string_behavior(cf::CachePolicyQueryStringBehavior::from(
                    k.query_strings_config.query_string_behavior.as_str(),
                ))
                .set_query_strings(query_strings(&k.query_strings_config.query_strings)?)
                .build()
                .map_err(b)?,
        )
        .build()
        .map_err(b)?;
    CachePolicyConfig::builder()
        .name(&d.name)
        .set_comment(d.comment.clone())
        .min_ttl(min)
        .default_ttl(default)
        .max_ttl(max)
        .parameters_in_cache_key_and_forwarded_to_origin(params)
        .build()
        .map_err(|e| invalid("cache policy", e))
}

fn cache_decl(c: &CachePolicyConfig) -> CachePolicy {
    let k = c.parameters_in_cache_key_and_forwarded_to_origin();
    let h = k.and_then(|k| k.headers_config());
    let ck = k.and_then(|k| k.cookies_config());
    let q = k.and_then(|k| k.query_strings_config());
    CachePolicy {
        name: c.name().to_owned(),
        comment: c.comment().map(str::to_owned),
        min_ttl: c.min_ttl(),
        default_ttl: c.default_ttl(),
        max_ttl: c.max_ttl(),
        parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters {
            headers_config: CacheHeadersConfig {
                header_behavior: h
                    .and_then(|h| CacheHeaderBehavior::parse(h.header_behavior().as_str()))
                    .unwrap_or_default(),
                headers: h.and_then(|h| h.headers()).map(|n| n.items().to_vec()).unwrap_or_default(),
            },
            cookies_config: CookiesConfig {
                cookie_behavior: ck
                    .and_then(|c| CookieBehavior::parse(c.cookie_behavior().as_str()))
                    .unwrap_or_default(),
                cookies: ck.and_then(|c| c.cookies()).map(|n| n.items().to_vec()).unwrap_or_default(),
            },
            query_strings_config: QueryStringsConfig {
                query_string_behavior: q
                    .and_then(|q| QueryStringBehavior::parse(q.query_string_behavior().as_str()))
                    .unwrap_or_default(),
                query_strings: q
                    .and_then(|q| q.query_strings())
                    .map(|n| n.items().to_vec())
                    .unwrap_or_default(),
            },
            enable_accept_encoding_gzip: k.is_some_and(|k| k.enable_accept_encoding_gzip()),
            enable_accept_encoding_brotli: k.and_then(|k| k.enable_accept_encoding_brotli()).unwrap_or(false),
        },
    }
}

/// `aws:cloudfront:CachePolicy`.
#[derive(Debug)]
pub(crate) struct CachePolicyKind;

async fn cache_etag(cx: &Ctx, id: &str) -> Result<String, ProviderError> {
    let call = cx.cloudfront().get_cache_policy_config().id(id);
    let out = cx.send_in(CF, "GetCachePolicyConfig", Operation::Read, || call.clone().send()).await?;
    etag(out.e_tag())
}

#[async_trait]
impl Kind for CachePolicyKind {
    type Decl = CachePolicy;
    type Out = CachePolicyOut;
    const SERVICE: Service = CF;
    const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);
    const TAGGED: bool = false;
    const ADOPT_UNTAGGED: bool = true;

    async fn list(&self, cx: &Ctx, by: Lookup<'_, CachePolicy>) -> Result<Vec<Seen<Self>>, ProviderError> {
        let Some(filter) = wanted(&by, |d: &CachePolicy| d.name.as_str()) else { return Ok(Vec::new()) };
        let policies = cx
            .paged(|next| {
                let call =
                    cx.cloudfront().list_cache_policies().r#type(CachePolicyType::Custom).set_marker(next);
                async move {
                    let out =
                        cx.send_in(CF, "ListCachePolicies", Operation::Read, || call.clone().send()).await?;
                    Ok(match out.cache_policy_list {
                        Some(l) => (
                            l.items.unwrap_or_default().into_iter().filter_map(|s| s.cache_policy).collect(),
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
                let decl = cache_decl(p.cache_policy_config.as_ref()?);
                matches(&filter, &p.id, &decl.name).then(|| {
                    let out = CachePolicyOut { id: CachePolicyId::unchecked(&p.id) };
                    Seen::ready(p.id, decl, out, Tags::new())
                })
            })
            .collect())
    }

    async fn create(&self, cx: &Ctx, d: &CachePolicy, _: &Tags, _: &str) -> Result<String, ProviderError> {
        let call = cx.cloudfront().create_cache_policy().cache_policy_config(cache_config(d)?);
        let out = cx.send_in(CF, "CreateCachePolicy", Operation::Create, || call.clone().send()).await?;
        out.cache_policy.map(|p| p.id).ok_or_else(|| missing("cache policy"))
    }

    async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, CachePolicy>) -> Result<(), ProviderError> {
        let config = cache_config(c.after)?;
        let write = |tag: String| {
            let call = cx
                .cloudfront()
                .update_cache_policy()
                .id(id)
                .if_match(tag)
                .cache_policy_config(config.clone());
            async move { cx.send_in(CF, "UpdateCachePolicy", Operation::Update, || call.clone().send()).await }
        };
        with_current_etag(|| cache_etag(cx, id), write).await.map(drop)
    }

    async fn delete(&self, cx: &Ctx, id: &str, _: &CachePolicy) -> Result<(), ProviderError> {
        let delete = |tag: String| {
            let call = cx.cloudfront().delete_cache_policy().id(id).if_match(tag);
            async move { cx.send_in(CF, "DeleteCachePolicy", Operation::Delete, || call.clone().send()).await }
        };
        delete_with_etag(|| cache_etag(cx, id), delete).await
    }
}

fn origin_request_config(d: &OriginRequestPolicy) -> Result<OriginRequestPolicyConfig, ProviderError> {
    let headers = cf::OriginRequestPolicyHeadersConfig::builder()
        .header_behavior(cf::OriginRequestPolicyHeaderBehavior::from(
            d.headers_config.header_behavior.as_str(),
        ))
        .set_headers(headers(&d.headers_config.headers)?)
        .build()
        .map_err(|e| invalid("headers_config", e))?;
    let cookies = cf::OriginRequestPolicyCookiesConfig::builder()
        .cookie_behavior(cf::OriginRequestPolicyCookieBehavior::from(
            d.cookies_config.cookie_behavior.as_str(),
        ))
        .set_cookies(cookies(&d.cookies_config.cookies)?)
        .build()
        .map_err(|e| invalid("cookies_config", e))?;
    let query_strings = cf::OriginRequestPolicyQueryStringsConfig::builder()
        .query_string_behavior(cf::OriginRequestPolicyQueryStringBehavior::from(
            d.query_strings_config.query_string_behavior.as_str(),
        ))
        .set_query_strings(query_strings(&d.query_strings_config.query_strings)?)
        .build()
        .map_err(|e| invalid("query_strings_config", e))?;
    OriginRequestPolicyConfig::builder()
        .name(&d.name)
        .set_comment(d.comment.clone())
        .headers_config(headers)
        .cookies_config(cookies)
        .query_strings_config(query_strings)
        .build()
        .map_err(|e| invalid("origin request policy", e))
}

fn origin_request_decl(c: &OriginRequestPolicyConfig) -> OriginRequestPolicy {
    let h = c.headers_config();
    let ck = c.cookies_config();
    let q = c.query_strings_config();
    OriginRequestPolicy {
        name: c.name().to_owned(),
        comment: c.comment().map(str::to_owned),
        headers_config: OriginRequestHeadersConfig {
            header_behavior: h
                .and_then(|h| OriginRequestHeaderBehavior::parse(h.header_behavior().as_str()))
                .unwrap_or_default(),
            headers: h.and_then(|h| h.headers()).map(|n| n.items().to_vec()).unwrap_or_default(),
        },
        cookies_config: CookiesConfig {
            cookie_behavior: ck
                .and_then(|c| CookieBehavior::parse(c.cookie_behavior().as_str()))
                .unwrap_or_default(),
            cookies: ck.and_then(|c| c.cookies()).map(|n| n.items().to_vec()).unwrap_or_default(),
        },
        query_strings_config: QueryStringsConfig {
            query_string_behavior: q
                .and_then(|q| QueryStringBehavior::parse(q.query_string_behavior().as_str()))
                .unwrap_or_default(),
            query_strings: q.and_then(|q| q.query_strings()).map(|n| n.items().to_vec()).unwrap_or_default(),
        },
    }
}

/// `aws:cloudfront:OriginRequestPolicy`.
#[derive(Debug)]
pub(crate) struct OriginRequestPolicyKind;

async fn origin_request_etag(cx: &Ctx, id: &str) -> Result<String, ProviderError> {
    let call = cx.cloudfront().get_origin_request_policy_config().id(id);
    let out = cx.send_in(CF, "GetOriginRequestPolicyConfig", Operation::Read, || call.clone().send()).await?;
    etag(out.e_tag())
}

#[async_trait]
impl Kind for OriginRequestPolicyKind {
    type Decl = OriginRequestPolicy;
    type Out = OriginRequestPolicyOut;
    const SERVICE: Service = CF;
    const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);
    const TAGGED: bool = false;
    const ADOPT_UNTAGGED: bool = true;

    async fn list(
        &self,
        cx: &Ctx,
        by: Lookup<'_, OriginRequestPolicy>,
    ) -> Result<Vec<Seen<Self>>, ProviderError> {
        let Some(filter) = wanted(&by, |d: &OriginRequestPolicy| d.name.as_str()) else {
            return Ok(Vec::new());
        };
        let policies = cx
            .paged(|next| {
                let call = cx
                    .cloudfront()
                    .list_origin_request_policies()
                    .r#type(OriginRequestPolicyType::Custom)
                    .set_marker(next);
                async move {
                    let out = cx
                        .send_in(CF, "ListOriginRequestPolicies", Operation::Read, || call.clone().send())
                        .await?;
                    Ok(match out.origin_request_policy_list {
                        Some(l) => (
                            l.items
                                .unwrap_or_default()
                                .into_iter()
                                .filter_map(|s| s.origin_request_policy)
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
                let decl = origin_request_decl(p.origin_request_policy_config.as_ref()?);
                matches(&filter, &p.id, &decl.name).then(|| {
                    let out = OriginRequestPolicyOut { id: OriginRequestPolicyId::unchecked(&p.id) };
                    Seen::ready(p.id, decl, out, Tags::new())
                })
            })
            .collect())
    }

    async fn create(
        &self,
        cx: &Ctx,
        d: &OriginRequestPolicy,
        _: &Tags,
        _: &str,
    ) -> Result<String, ProviderError> {
        let call = cx
            .cloudfront()
            .create_origin_request_policy()
            .origin_request_policy_config(origin_request_config(d)?);
        let out =
            cx.send_in(CF, "CreateOriginRequestPolicy", Operation::Create, || call.clone().send()).await?;
        out.origin_request_policy.map(|p| p.id).ok_or_else(|| missing("origin request policy"))
    }

    async fn update(
        &self,
        cx: &Ctx,
        id: &str,
        c: Change<'_, OriginRequestPolicy>,
    ) -> Result<(), ProviderError> {
        let config = origin_request_config(c.after)?;
        let write = |tag: String| {
            let call = cx
                .cloudfront()
                .update_origin_request_policy()
                .id(id)
                .if_match(tag)
                .origin_request_policy_config(config.clone());
            async move {
                cx.send_in(CF, "UpdateOriginRequestPolicy", Operation::Update, || call.clone().send()).await
            }
        };
        with_current_etag(|| origin_request_etag(cx, id), write).await.map(drop)
    }

    async fn delete(&self, cx: &Ctx, id: &str, _: &OriginRequestPolicy) -> Result<(), ProviderError> {
        let delete = |tag: String| {
            let call = cx.cloudfront().delete_origin_request_policy().id(id).if_match(tag);
            async move {
                cx.send_in(CF, "DeleteOriginRequestPolicy", Operation::Delete, || call.clone().send()).await
            }
        };
        delete_with_etag(|| origin_request_etag(cx, id), delete).await
    }
}

/// The provider's conversions without an endpoint (the emulator has no
/// policy calls): a declaration sent as AWS's configuration and read back
/// from it is the declaration again, once both are in canonical form. AWS
/// answers with what was sent, the TTLs included (sent explicitly, so an
/// unset one comes back as AWS's default and is recorded unset).
#[cfg(test)]
mod tests {
    use super::*;

    fn canonical<R: infra_core::Resource + std::fmt::Debug>(mut r: R) -> String {
        r.normalise();
        format!("{r:?}")
    }

    fn policy() -> CachePolicy {
        CachePolicy {
            name: "static".into(),
            comment: Some("assets".into()),
            min_ttl: 1,
            default_ttl: None,
            max_ttl: None,
            parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters {
                headers_config: CacheHeadersConfig {
                    header_behavior: CacheHeaderBehavior::Whitelist,
                    headers: vec!["Origin".into(), "Accept".into()],
                },
                cookies_config: CookiesConfig {
                    cookie_behavior: CookieBehavior::AllExcept,
                    cookies: vec!["session".into()],
                },
                query_strings_config: QueryStringsConfig {
                    query_string_behavior: QueryStringBehavior::All,
                    query_strings: vec![],
                },
                enable_accept_encoding_gzip: true,
                enable_accept_encoding_brotli: true,
            },
        }
    }

    #[test]
    fn a_cache_policy_reads_back_as_declared() {
        let sent = cache_config(&policy()).unwrap();
        // Unset TTLs are sent as AWS's defaults …
        assert_eq!((sent.min_ttl(), sent.default_ttl(), sent.max_ttl()), (1, Some(86_400), Some(31_536_000)));
        let read = cache_decl(&sent);
        assert_eq!(read.default_ttl, Some(86_400));
        // … and recorded unset again.
        assert_eq!(canonical(read), canonical(policy()));
        // A declared TTL stays declared.
        let mut p = policy();
        p.max_ttl = Some(3600 * 48);
        p.min_ttl = 100_000;
        let read = cache_decl(&cache_config(&p).unwrap());
        assert_eq!((read.default_ttl, read.max_ttl), (Some(100_000), Some(172_800)));
        assert_eq!(canonical(read), canonical(p));
    }

    #[test]
    fn an_origin_request_policy_reads_back_as_declared() {
        let p = OriginRequestPolicy {
            name: "api".into(),
            comment: None,
            headers_config: OriginRequestHeadersConfig {
                header_behavior: OriginRequestHeaderBehavior::AllViewerAndWhitelistCloudFront,
                headers: vec!["CloudFront-Viewer-Country".into()],
            },
            cookies_config: CookiesConfig { cookie_behavior: CookieBehavior::All, cookies: vec![] },
            query_strings_config: QueryStringsConfig {
                query_string_behavior: QueryStringBehavior::Whitelist,
                query_strings: vec!["page".into(), "q".into()],
            },
        };
        let sent = origin_request_config(&p).unwrap();
        assert_eq!(
            sent.headers_config().map(|h| h.header_behavior().as_str()),
            Some("allViewerAndWhitelistCloudFront")
        );
        assert_eq!(canonical(origin_request_decl(&sent)), canonical(p));
    }
}
