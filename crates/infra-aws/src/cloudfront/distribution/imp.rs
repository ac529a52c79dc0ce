//! `aws:cloudfront:Distribution` through the CloudFront API.

use async_trait::async_trait;
use aws_sdk_cloudfront::types as cf;
use infra_core::Input;
use infra_engine::{Deletion, ErrorKind, Operation, ProviderError, Timings};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::cloudfront::sdk::{built, cf_tags, config_of, kept_on_gap, retag, send, tags_of};
use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, user_tags};

/// `aws:cloudfront:Distribution`.
#[derive(Debug)]
pub(crate) struct DistributionKind;

/// The AWS spelling of one of the declaration's enums (their serde names).
fn wire<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// One of the declaration's enums from its AWS spelling.
fn unwire<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

fn n(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

fn methods(v: &[String]) -> Vec<cf::Method> {
    let v = if v.is_empty() { vec!["GET".to_owned(), "HEAD".to_owned()] } else { v.to_vec() };
    v.iter().map(|m| cf::Method::from(m.to_ascii_uppercase().as_str())).collect()
}

fn origin(o: &Origin) -> Result<cf::Origin, ProviderError> {
    let headers = o
        .custom_headers
        .iter()
        .map(|(k, v)| built(cf::OriginCustomHeader::builder().header_name(k).header_value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    let s3 = (o.s3_origin_config.is_some() || o.origin_access_control_id.is_some()).then(|| {
        let oai = o.s3_origin_config.as_ref().and_then(|s| s.origin_access_identity.as_ref());
        cf::S3OriginConfig::builder().origin_access_identity(oai.map_or("", |i| i.as_str())).build()
    });
    let custom = match &o.custom_origin_config {
        None => None,
        Some(c) => {
            let protocols = if c.origin_ssl_protocols.is_empty() {
                vec!["TLSv1.2".to_owned()]
            } else {
                c.origin_ssl_protocols.clone()
            };
            let ssl = built(
                cf::OriginSslProtocols::builder()
                    .quantity(n(protocols.len()))
                    .set_items(Some(protocols.iter().map(|p| cf::SslProtocol::from(p.as_str())).collect()))
                    .build(),
            )?;
            Some(built(
                cf::CustomOriginConfig::builder()
                    .http_port(c.http_port.unwrap_or(80))
                    .https_port(c.https_port.unwrap_or(443))
                    .origin_protocol_policy(cf::OriginProtocolPolicy::from(
                        wire(&c.origin_protocol_policy).as_str(),
                    ))
                    .origin_ssl_protocols(ssl)
                    .origin_read_timeout(c.origin_read_timeout.unwrap_or(30))
                    .origin_keepalive_timeout(c.origin_keepalive_timeout.unwrap_or(5))
                    .build(),
            )?)
        }
    };
    built(
        cf::Origin::builder()
            .id(&o.origin_id)
            .domain_name(o.domain_name.id())
            .origin_path(o.origin_path.clone().unwrap_or_default())
            .custom_headers(built(
                cf::CustomHeaders::builder().quantity(n(headers.len())).set_items(Some(headers)).build(),
            )?)
            .set_s3_origin_config(s3)
            .set_origin_access_control_id(o.origin_access_control_id.as_ref().map(|i| i.id().to_owned()))
            .set_custom_origin_config(custom)
            .connection_attempts(o.connection_attempts.unwrap_or(3))
            .connection_timeout(o.connection_timeout.unwrap_or(10))
            .build(),
    )
}

fn origin_group(g: &OriginGroup) -> Result<cf::OriginGroup, ProviderError> {
    let codes = built(
        cf::StatusCodes::builder()
            .quantity(n(g.failover_status_codes.len()))
            .set_items(Some(g.failover_status_codes.clone()))
            .build(),
    )?;
    let members = g
        .members
        .iter()
        .map(|m| built(cf::OriginGroupMember::builder().origin_id(m).build()))
        .collect::<Result<Vec<_>, _>>()?;
    built(
        cf::OriginGroup::builder()
            .id(&g.origin_id)
            .failover_criteria(cf::OriginGroupFailoverCriteria::builder().status_codes(codes).build())
            .members(built(
                cf::OriginGroupMembers::builder().quantity(n(members.len())).set_items(Some(members)).build(),
            )?)
            .build(),
    )
}

fn forwarded(f: &ForwardedValues) -> Result<cf::ForwardedValues, ProviderError> {
    let names = (!f.cookies_whitelisted_names.is_empty())
        .then(|| {
            built(
                cf::CookieNames::builder()
                    .quantity(n(f.cookies_whitelisted_names.len()))
                    .set_items(Some(f.cookies_whitelisted_names.clone()))
                    .build(),
            )
        })
        .transpose()?;
    let cookies = built(
        cf::CookiePreference::builder()
            .forward(cf::ItemSelection::from(f.cookies_forward.as_deref().unwrap_or("none")))
            .set_whitelisted_names(names)
            .build(),
    )?;
    let headers = built(
        cf::Headers::builder().quantity(n(f.headers.len())).set_items(Some(f.headers.clone())).build(),
    )?;
    built(
        cf::ForwardedValues::builder().query_string(f.query_string).cookies(cookies).headers(headers).build(),
    )
}

/// The parts of a cache behaviour the default and the ordered ones share.
struct BehaviorParts {
    allowed: cf::AllowedMethods,
    forwarded: Option<cf::ForwardedValues>,
    ttls: [Option<i64>; 3],
}

fn parts(b: &CacheBehavior) -> Result<BehaviorParts, ProviderError> {
    let allowed = methods(&b.allowed_methods);
    let cached = methods(&b.cached_methods);
    let cached =
        built(cf::CachedMethods::builder().quantity(n(cached.len())).set_items(Some(cached)).build())?;
    let allowed = built(
        cf::AllowedMethods::builder()
            .quantity(n(allowed.len()))
            .set_items(Some(allowed))
            .cached_methods(cached)
            .build(),
    )?;
    let forwarded = b.forwarded_values.as_ref().map(forwarded).transpose()?;
    let ttls = if forwarded.is_some() {
        [
            Some(b.min_ttl.unwrap_or(0)),
            Some(b.default_ttl.unwrap_or(86_400)),
            Some(b.max_ttl.unwrap_or(31_536_000)),
        ]
    } else {
        [None; 3]
    };
    Ok(BehaviorParts { allowed, forwarded, ttls })
}

/// Sets what the default and the ordered behaviours' builders share.
macro_rules! behavior {
    ($builder:expr, $b:expr, $p:expr) => {
        $builder
            .target_origin_id(&$b.target_origin_id)
            .viewer_protocol_policy(cf::ViewerProtocolPolicy::from(wire(&$b.viewer_protocol_policy).as_str()))
            .allowed_methods($p.allowed)
            .compress($b.compress)
            .set_cache_policy_id($b.cache_policy_id.as_ref().map(|i| i.id().to_owned()))
            .set_origin_request_policy_id($b.origin_request_policy_id.as_ref().map(|i| i.id().to_owned()))
            .set_response_headers_policy_id($b.response_headers_policy_id.as_ref().map(|i| i.id().to_owned()))
            .set_forwarded_values($p.forwarded)
            .set_min_ttl($p.ttls[0])
            .set_default_ttl($p.ttls[1])
            .set_max_ttl($p.ttls[2])
            .build()
    };
}

/// The whole configuration of `d` (UpdateDistribution replaces it all).
// The legacy cache settings (forwarded values, TTLs) are deprecated in the
// SDK, and the seeds use them.
#[allow(deprecated)]
fn config(d: &Distribution, caller_reference: &str) -> Result<cf::DistributionConfig, ProviderError> {
    let origins = d.origins.iter().map(origin).collect::<Result<Vec<_>, _>>()?;
    let groups = d.origin_groups.iter().map(origin_group).collect::<Result<Vec<_>, _>>()?;
    let default = &d.default_cache_behavior;
    let default = built(behavior!(cf::DefaultCacheBehavior::builder(), default, parts(default)?))?;
    let ordered = d
        .ordered_cache_behaviors
        .iter()
        .map(|b| built(behavior!(cf::CacheBehavior::builder().path_pattern(&b.path_pattern), b, parts(b)?)))
        .collect::<Result<Vec<_>, _>>()?;
    let errors = d
        .custom_error_responses
        .iter()
        .map(|e| {
            built(
                cf::CustomErrorResponse::builder()
                    .error_code(e.error_code)
                    .set_response_code(e.response_code.map(|c| c.to_string()))
                    .set_response_page_path(e.response_page_path.clone())
                    .set_error_caching_min_ttl(e.error_caching_min_ttl)
                    .build(),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let viewer = match &d.viewer_certificate {
        Some(v) => cf::ViewerCertificate::builder()
            .cloud_front_default_certificate(false)
            .acm_certificate_arn(v.acm_certificate_arn.id())
            .ssl_support_method(cf::SslSupportMethod::from(wire(&v.ssl_support_method).as_str()))
            .minimum_protocol_version(cf::MinimumProtocolVersion::from(
                wire(&v.minimum_protocol_version).as_str(),
            ))
            .build(),
        None => cf::ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .minimum_protocol_version(cf::MinimumProtocolVersion::TlSv1)
            .build(),
    };
    let geo = d.geo_restriction.clone().unwrap_or_default();
    let geo = built(
        cf::GeoRestriction::builder()
            .restriction_type(cf::GeoRestrictionType::from(wire(&geo.restriction_type).as_str()))
            .quantity(n(geo.locations.len()))
            .set_items((!geo.locations.is_empty()).then_some(geo.locations))
            .build(),
    )?;
    let logging = d.logging.as_ref();
    built(
        cf::DistributionConfig::builder()
            .caller_reference(caller_reference)
            .aliases(built(
                cf::Aliases::builder()
                    .quantity(n(d.aliases.len()))
                    .set_items(Some(d.aliases.clone()))
                    .build(),
            )?)
            .default_root_object(d.default_root_object.clone().unwrap_or_default())
            .origins(built(
                cf::Origins::builder().quantity(n(origins.len())).set_items(Some(origins)).build(),
            )?)
            .origin_groups(built(
                cf::OriginGroups::builder().quantity(n(groups.len())).set_items(Some(groups)).build(),
            )?)
            .default_cache_behavior(default)
            .cache_behaviors(built(
                cf::CacheBehaviors::builder().quantity(n(ordered.len())).set_items(Some(ordered)).build(),
            )?)
            .custom_error_responses(built(
                cf::CustomErrorResponses::builder().quantity(n(errors.len())).set_items(Some(errors)).build(),
            )?)
            .comment(d.comment.clone().unwrap_or_default())
            .logging(
                cf::LoggingConfig::builder()
                    .enabled(logging.is_some())
                    .include_cookies(logging.is_some_and(|l| l.include_cookies))
                    .bucket(logging.map_or("", |l| l.bucket.id()))
                    .prefix(logging.and_then(|l| l.prefix.clone()).unwrap_or_default())
                    .build(),
            )
            .price_class(cf::PriceClass::from(wire(&d.price_class.unwrap_or_default()).as_str()))
            .enabled(d.enabled)
            .viewer_certificate(viewer)
            .restrictions(cf::Restrictions::builder().geo_restriction(geo).build())
            .web_acl_id(d.web_acl_id.as_ref().map_or("", |i| i.id()))
            .http_version(cf::HttpVersion::from(wire(&d.http_version.unwrap_or_default()).as_str()))
            .is_ipv6_enabled(d.is_ipv6_enabled)
            .build(),
    )
}

fn some(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn read_origin(o: &cf::Origin) -> Origin {
    Origin {
        origin_id: o.id().to_owned(),
        domain_name: Input::Value(DnsName::unchecked(o.domain_name())),
        origin_path: some(o.origin_path()),
        origin_access_control_id: some(o.origin_access_control_id())
            .map(|i| Input::Value(OriginAccessControlId::unchecked(i))),
        s3_origin_config: o.s3_origin_config().map(|s| S3OriginConfig {
            origin_access_identity: some(Some(s.origin_access_identity())).map(Input::Value),
        }),
        custom_origin_config: o.custom_origin_config().map(|c| CustomOriginConfig {
            http_port: Some(c.http_port()),
            https_port: Some(c.https_port()),
            origin_protocol_policy: unwire(c.origin_protocol_policy().as_str()).unwrap_or_default(),
            origin_ssl_protocols: c
                .origin_ssl_protocols()
                .map(|p| p.items().iter().map(|i| i.as_str().to_owned()).collect())
                .unwrap_or_default(),
            origin_read_timeout: c.origin_read_timeout(),
            origin_keepalive_timeout: c.origin_keepalive_timeout(),
        }),
        custom_headers: o
            .custom_headers()
            .map(|h| {
                h.items().iter().map(|i| (i.header_name().to_owned(), i.header_value().to_owned())).collect()
            })
            .unwrap_or_default(),
        connection_attempts: o.connection_attempts(),
        connection_timeout: o.connection_timeout(),
    }
}

/// Reads what the default and the ordered behaviours share.
macro_rules! read_behavior {
    ($b:expr, $path:expr) => {{
        let b = $b;
        let allowed = b.allowed_methods();
        let cache_policy_id = some(b.cache_policy_id());
        // With a cache policy, AWS reports no legacy settings (the emulator
        // reports its defaults).
        let legacy = cache_policy_id.is_none();
        let forwarded_values = b.forwarded_values().filter(|_| legacy).map(|f| ForwardedValues {
            query_string: f.query_string(),
            headers: f.headers().map(|h| h.items().to_vec()).unwrap_or_default(),
            cookies_forward: f.cookies().map(|c| c.forward().as_str().to_owned()),
            cookies_whitelisted_names: f
                .cookies()
                .and_then(|c| c.whitelisted_names())
                .map(|w| w.items().to_vec())
                .unwrap_or_default(),
        });
        CacheBehavior {
            path_pattern: $path,
            target_origin_id: b.target_origin_id().to_owned(),
            viewer_protocol_policy: unwire(b.viewer_protocol_policy().as_str()).unwrap_or_default(),
            allowed_methods: allowed
                .map(|a| a.items().iter().map(|m| m.as_str().to_owned()).collect())
                .unwrap_or_default(),
            cached_methods: allowed
                .and_then(|a| a.cached_methods())
                .map(|c| c.items().iter().map(|m| m.as_str().to_owned()).collect())
                .unwrap_or_default(),
            compress: b.compress().unwrap_or(false),
            cache_policy_id: cache_policy_id.map(|i| Input::Value(CachePolicyId::unchecked(i))),
            origin_request_policy_id: some(b.origin_request_policy_id())
                .map(|i| Input::Value(OriginRequestPolicyId::unchecked(i))),
            response_headers_policy_id: some(b.response_headers_policy_id())
                .map(|i| Input::Value(ResponseHeadersPolicyId::unchecked(i))),
            forwarded_values,
            min_ttl: b.min_ttl().filter(|_| legacy),
            default_ttl: b.default_ttl().filter(|_| legacy),
            max_ttl: b.max_ttl().filter(|_| legacy),
        }
    }};
}

/// The declaration as the configuration reads.
#[allow(deprecated)] // the legacy cache settings, as in `config`
fn decl_of(c: &cf::DistributionConfig, tags: &Tags) -> Distribution {
    let viewer = c.viewer_certificate().filter(|v| v.acm_certificate_arn().is_some_and(|a| !a.is_empty()));
    let logging = c.logging().filter(|l| l.enabled());
    let geo = c.restrictions().and_then(|r| r.geo_restriction());
    Distribution {
        origins: c.origins().map(|o| o.items().iter().map(read_origin).collect()).unwrap_or_default(),
        origin_groups: c
            .origin_groups()
            .map(|g| g.items())
            .unwrap_or_default()
            .iter()
            .map(|g| OriginGroup {
                origin_id: g.id().to_owned(),
                members: g
                    .members()
                    .map(|m| m.items().iter().map(|i| i.origin_id().to_owned()).collect())
                    .unwrap_or_default(),
                failover_status_codes: g
                    .failover_criteria()
                    .and_then(|f| f.status_codes())
                    .map(|s| s.items().to_vec())
                    .unwrap_or_default(),
            })
            .collect(),
        default_cache_behavior: c
            .default_cache_behavior()
            .map(|b| read_behavior!(b, String::new()))
            .unwrap_or_default(),
        ordered_cache_behaviors: c
            .cache_behaviors()
            .map(|b| b.items())
            .unwrap_or_default()
            .iter()
            .map(|b| read_behavior!(b, b.path_pattern().to_owned()))
            .collect(),
        aliases: c.aliases().map(|a| a.items().to_vec()).unwrap_or_default(),
        viewer_certificate: viewer.map(|v| ViewerCertificate {
            acm_certificate_arn: Input::Value(CertificateArn::unchecked(
                v.acm_certificate_arn().unwrap_or_default(),
            )),
            ssl_support_method: v.ssl_support_method().and_then(|m| unwire(m.as_str())).unwrap_or_default(),
            minimum_protocol_version: v
                .minimum_protocol_version()
                .and_then(|m| unwire(m.as_str()))
                .unwrap_or_default(),
        }),
        price_class: c.price_class().and_then(|p| unwire(p.as_str())),
        http_version: c.http_version().and_then(|h| unwire(h.as_str())),
        is_ipv6_enabled: c.is_ipv6_enabled().unwrap_or(false),
        enabled: c.enabled(),
        comment: some(Some(c.comment())),
        default_root_object: some(c.default_root_object()),
        logging: logging.map(|l| DistributionLogging {
            bucket: Input::Value(DnsName::unchecked(l.bucket())),
            prefix: some(Some(l.prefix())),
            include_cookies: l.include_cookies(),
        }),
        custom_error_responses: c
            .custom_error_responses()
            .map(|e| e.items())
            .unwrap_or_default()
            .iter()
            .map(|e| CustomErrorResponse {
                error_code: e.error_code(),
                response_code: e.response_code().and_then(|r| r.parse().ok()),
                response_page_path: some(e.response_page_path()),
                error_caching_min_ttl: e.error_caching_min_ttl(),
            })
            .collect(),
        geo_restriction: geo.map(|g| GeoRestriction {
            restriction_type: unwire(g.restriction_type().as_str()).unwrap_or_default(),
            locations: g.items().to_vec(),
        }),
        web_acl_id: some(c.web_acl_id()).map(|a| Input::Value(WebAclArn::unchecked(a))),
        tags: user_tags(tags),
    }
}

fn seen(d: &cf::Distribution, tags: Tags) -> Result<Seen<DistributionKind>, ProviderError> {
    let config = d.distribution_config().ok_or_else(|| missing("distribution config"))?;
    let status = match d.status() {
        "Deployed" => Status::Ready,
        other => Status::Pending(other.to_owned()),
    };
    Ok(Seen {
        id: d.id().to_owned(),
        decl: decl_of(config, &tags),
        out: DistributionOut {
            id: DistributionId::unchecked(d.id()),
            arn: DistributionArn::unchecked(d.arn()),
            domain_name: DnsName::unchecked(d.domain_name()),
            hosted_zone_id: HostedZoneId::unchecked(CLOUDFRONT_HOSTED_ZONE_ID),
        },
        tags,
        status,
    })
}

/// One distribution and its ETag; `None` when it does not exist.
async fn get(cx: &Ctx, id: &str) -> Result<Option<(cf::Distribution, String)>, ProviderError> {
    let call = cx.cloudfront().get_distribution().id(id);
    match send(cx, "GetDistribution", Operation::Read, || call.clone().send()).await {
        Ok(out) => {
            let etag = out.e_tag.unwrap_or_default();
            Ok(Some((out.distribution.ok_or_else(|| missing("distribution"))?, etag)))
        }
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// One distribution as the kit sees it (with its tags).
async fn read_one(cx: &Ctx, id: &str) -> Result<Option<Seen<DistributionKind>>, ProviderError> {
    let Some((d, _)) = get(cx, id).await? else { return Ok(None) };
    let tags = match tags_of(cx, d.arn()).await {
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        other => other?,
    };
    seen(&d, tags).map(Some)
}

/// Every distribution of the account, as listed: (ID, ARN).
async fn every(cx: &Ctx) -> Result<Vec<(String, String)>, ProviderError> {
    cx.paged(|marker| {
        let call = cx.cloudfront().list_distributions().set_marker(marker);
        async move {
            let out = send(cx, "ListDistributions", Operation::Read, || call.clone().send()).await?;
            let list = out.distribution_list.ok_or_else(|| missing("distribution list"))?;
            let items = list.items.unwrap_or_default().into_iter().map(|s| (s.id, s.arn)).collect();
            Ok((items, list.next_marker.filter(|_| list.is_truncated)))
        }
    })
    .await
}

/// The distribution made with `caller_reference`, if any: a create replayed
/// after a lost answer gets `DistributionAlreadyExists`, and must not make
/// a second one. CloudFront cannot list by caller reference: every
/// distribution's configuration is read (ListDistributions, then
/// GetDistributionConfig each).
async fn by_caller_reference(cx: &Ctx, caller_reference: &str) -> Result<Option<String>, ProviderError> {
    let all = every(cx).await?;
    let configs =
        futures_util::future::join_all(all.iter().map(|(id, _)| config_of(cx, id, Operation::Read))).await;
    for ((id, _), c) in all.iter().zip(configs) {
        match c {
            Ok((c, _)) if c.caller_reference() == caller_reference => return Ok(Some(id.clone())),
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// `UpdateDistribution` with the configuration `edit` makes of the current
/// one, under its ETag; a stale ETag (`PreconditionFailed`: someone changed
/// it meanwhile) is read again and the update tried once more.
async fn rewrite(
    cx: &Ctx,
    id: &str,
    edit: impl Fn(cf::DistributionConfig) -> Result<cf::DistributionConfig, ProviderError>,
) -> Result<(), ProviderError> {
    let mut attempt = 0;
    loop {
        let (current, etag) = config_of(cx, id, Operation::Update).await?;
        let call =
            cx.cloudfront().update_distribution().id(id).if_match(&etag).distribution_config(edit(current)?);
        match send(cx, "UpdateDistribution", Operation::Update, || call.clone().send()).await {
            Err(e) if e.kind == ErrorKind::Stale && attempt == 0 => attempt += 1,
            other => return other.map(drop),
        }
    }
}

#[async_trait]
impl Kind for DistributionKind {
    type Decl = Distribution;
    type Out = DistributionOut;
    const SERVICE: Service = Service::CloudFront;
    // Deploys take 3 to 35 minutes; polls every 12 to 20 s, 90 minutes
    // at most.
    const TIMINGS: Timings = Timings::secs(600, 600, 900, 20, 90 * 60);
    const DELETE_WAITS: bool = true;

    fn unread(seen: &Seen<Self>) -> Vec<&'static str> {
        // The emulator's gap (sdk::EMULATOR_GAPS): an origin read back as
        // neither S3 nor custom. AWS always reports one of the two.
        let gap = seen.decl.origins.iter().any(|o| {
            o.s3_origin_config.is_none()
                && o.origin_access_control_id.is_none()
                && o.custom_origin_config.is_none()
        });
        if gap { kept_on_gap() } else { Vec::new() }
    }

    /// By IDs: CloudFront has no batched get, and ListDistributions' summaries
    /// lack the logging, default root object and caller reference, so each
    /// ID is a GetDistribution (and a ListTagsForResource), all at once.
    async fn list(&self, cx: &Ctx, by: Lookup<'_, Distribution>) -> Result<Vec<Seen<Self>>, ProviderError> {
        let ids: Vec<String> = match by {
            Lookup::Ids(ids) => ids.to_vec(),
            Lookup::Tag(key, value) => {
                let all = every(cx).await?;
                let tags = futures_util::future::join_all(all.iter().map(|(_, arn)| tags_of(cx, arn))).await;
                let mut ids = Vec::new();
                for ((id, _), t) in all.into_iter().zip(tags) {
                    match t {
                        Ok(t) if t.get(key).map(String::as_str) == Some(value) => ids.push(id),
                        Ok(_) => {}
                        Err(e) if e.kind == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                ids
            }
            // No natural key: the caller reference (the create's token) is
            // how a replayed create finds its distribution.
            Lookup::Key(_) => Vec::new(),
        };
        let read = futures_util::future::join_all(ids.iter().map(|id| read_one(cx, id))).await;
        let mut out = Vec::new();
        for r in read {
            out.extend(r?);
        }
        Ok(out)
    }

    async fn create(
        &self,
        cx: &Ctx,
        d: &Distribution,
        tags: &Tags,
        token: &str,
    ) -> Result<String, ProviderError> {
        let with_tags = cf::DistributionConfigWithTags::builder()
            .distribution_config(config(d, token)?)
            .tags(cf_tags(tags)?)
            .build();
        let call = cx.cloudfront().create_distribution_with_tags().distribution_config_with_tags(with_tags);
        match send(cx, "CreateDistributionWithTags", Operation::Create, || call.clone().send()).await {
            Ok(out) => out.distribution.map(|d| d.id).ok_or_else(|| missing("distribution ID")),
            Err(e) if e.code.as_deref() == Some("DistributionAlreadyExists") => {
                by_caller_reference(cx, token).await?.ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, Distribution>) -> Result<(), ProviderError> {
        rewrite(cx, id, |current| config(c.after, current.caller_reference())).await
    }

    async fn retag(
        &self,
        cx: &Ctx,
        id: &str,
        remove: &[&String],
        add: &[(&String, &String)],
    ) -> Result<(), ProviderError> {
        let (d, _) = get(cx, id).await?.ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, format!("distribution {id} not found"))
                .with_code("NoSuchDistribution")
        })?;
        retag(cx, d.arn(), remove, add).await
    }

    /// The first stage: an enabled distribution is disabled (AWS deletes
    /// only disabled ones); `poll_deleted` takes the rest.
    async fn delete(&self, cx: &Ctx, id: &str, _: &Distribution) -> Result<(), ProviderError> {
        let Some((d, _)) = get(cx, id).await? else { return Ok(()) };
        if d.distribution_config().is_some_and(|c| c.enabled()) {
            disable(cx, id).await?;
        }
        Ok(())
    }

    /// Disabled and deployed: deleted with the current ETag. Still enabled
    /// (re-enabled meanwhile): disabled again. Disabled but `InProgress`:
    /// pending.
    async fn poll_deleted(&self, cx: &Ctx, id: &str) -> Result<Deletion, ProviderError> {
        let Some((d, etag)) = get(cx, id).await? else { return Ok(Deletion::Gone) };
        if d.distribution_config().is_some_and(|c| c.enabled()) {
            disable(cx, id).await?;
            return Ok(Deletion::Pending { status: "disabling".into() });
        }
        if d.status() != "Deployed" {
            return Ok(Deletion::Pending { status: format!("disabling: {}", d.status()) });
        }
        let call = cx.cloudfront().delete_distribution().id(id).if_match(&etag);
        match send(cx, "DeleteDistribution", Operation::Delete, || call.clone().send()).await {
            Ok(_) => Ok(Deletion::Gone),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Deletion::Gone),
            // Changed (or not yet seen disabled) meanwhile: the next poll
            // reads it again.
            Err(e) if e.kind == ErrorKind::Stale || e.code.as_deref() == Some("DistributionNotDisabled") => {
                Ok(Deletion::Pending { status: "deleting: read again".into() })
            }
            Err(e) => Err(e),
        }
    }
}

async fn disable(cx: &Ctx, id: &str) -> Result<(), ProviderError> {
    rewrite(cx, id, |mut c| {
        c.enabled = false;
        Ok(c)
    })
    .await
}
