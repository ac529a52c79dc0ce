use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{DnsName, HealthCheckId};

/// What a health check checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthCheckType {
    #[serde(rename = "HTTP")]
    Http,
    #[default]
    #[serde(rename = "HTTPS")]
    Https,
    /// HTTP, and the body's first 5120 bytes hold `search_string`.
    #[serde(rename = "HTTP_STR_MATCH")]
    HttpStrMatch,
    #[serde(rename = "HTTPS_STR_MATCH")]
    HttpsStrMatch,
    /// A TCP connection.
    #[serde(rename = "TCP")]
    Tcp,
}

impl HealthCheckType {
    /// The type as Route 53 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthCheckType::Http => "HTTP",
            HealthCheckType::Https => "HTTPS",
            HealthCheckType::HttpStrMatch => "HTTP_STR_MATCH",
            HealthCheckType::HttpsStrMatch => "HTTPS_STR_MATCH",
            HealthCheckType::Tcp => "TCP",
        }
    }

    fn https(self) -> bool {
        matches!(self, HealthCheckType::Https | HealthCheckType::HttpsStrMatch)
    }

    fn string_match(self) -> bool {
        matches!(self, HealthCheckType::HttpStrMatch | HealthCheckType::HttpsStrMatch)
    }
}

/// The regions Route 53 checks from.
pub const HEALTH_CHECK_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
];

/// A Route 53 health check (`aws_route53_health_check`) of an endpoint, by
/// domain name (`fqdn`) or IP address, for a record's `health_check_id`
/// (a latency or failover record stops answering with an unhealthy
/// endpoint).
///
/// The type, the IP address, the request interval and latency measurement
/// replace it (AWS cannot change them); the domain name, port, path, search
/// string, failure threshold, regions, inversion, SNI, disabling and tags
/// change in place (`UpdateHealthCheck`, with the version read first: a
/// concurrent change makes AWS refuse it as stale, and the update is read
/// and tried again).
///
/// The create passes the engine's token as `CallerReference`, then tags
/// it: a create whose answer was lost is found by that caller reference or
/// token tag.
///
/// Output: `check.id()` (`HealthCheckId`). Ready on its ID.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ids::DnsName;
/// use infra::aws::route53::{HealthCheck, HealthCheckType};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let check = stack.add("app-us", HealthCheck {
///     check_type: HealthCheckType::Https,
///     fqdn: Some(DnsName::new("app.example.com").unwrap().into()),
///     resource_path: Some("/health".into()),
///     failure_threshold: Some(3),
///     request_interval: Some(10),
///     ..Default::default()
/// });
/// let _for_a_record: Output<infra::aws::ids::HealthCheckId> = check.id();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:route53:HealthCheck",
    outputs(id: HealthCheckId),
    readiness = "on_id",
    validate = validate_check,
    normalise = canonical
)]
pub struct HealthCheck {
    #[resource(force_new)]
    #[serde(rename = "type")]
    pub check_type: HealthCheckType,
    /// The endpoint's domain name (a load balancer's `dns_name()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<Input<DnsName>>,
    /// The endpoint's IP address (instead of, or with, `fqdn`).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// 1 to 65535; the type's default port (80, 443) is recorded as unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The path of an HTTP(S) check (`/health`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_path: Option<String>,
    /// 10 or 30 seconds (30, the default, is recorded as unset).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_interval: Option<i32>,
    /// 1 to 10 failed checks in a row (3, the default, is recorded unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i32>,
    /// The checking regions, at least 3 (empty: Route 53's default set).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub measure_latency: bool,
    /// Healthy when the check fails.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub invert: bool,
    /// Always healthy, without checking.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Send the host name in the TLS handshake: on by default for the HTTPS
    /// types (recorded as unset), off for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_sni: Option<bool>,
    /// What a `*_STR_MATCH` check looks for (up to 255 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_string: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_check(c: &HealthCheck, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &c.tags);
    if c.fqdn.is_none() && c.ip_address.is_none() {
        ctx.error("fqdn", "a health check needs fqdn or ip_address");
    }
    if let Some(ip) = &c.ip_address
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        ctx.error("ip_address", format!("{ip:?} is not an IP address"));
    }
    if let Some(name) = c.fqdn.as_ref().and_then(Input::value)
        && !super::names::is_domain(&name.to_string())
    {
        ctx.error("fqdn", format!("{name} is not a domain name"));
    }
    if let Some(port) = c.port
        && !(1..=65535).contains(&port)
    {
        ctx.error("port", format!("{port} must be 1 to 65535"));
    }
    if c.check_type == HealthCheckType::Tcp {
        if c.port.is_none() {
            ctx.error("port", "a TCP check needs a port");
        }
        if c.resource_path.is_some() {
            ctx.error("resource_path", "a TCP check has no path");
        }
    }
    if let Some(p) = &c.resource_path
        && (!p.starts_with('/') || p.len() > 255)
    {
        ctx.error("resource_path", format!("{p:?} must start with / (at most 255 characters)"));
    }
    if let Some(i) = c.request_interval
        && i != 10
        && i != 30
    {
        ctx.error("request_interval", format!("{i} must be 10 or 30 seconds"));
    }
    if let Some(t) = c.failure_threshold
        && !(1..=10).contains(&t)
    {
        ctx.error("failure_threshold", format!("{t} must be 1 to 10"));
    }
    if !c.regions.is_empty() && c.regions.len() < 3 {
        ctx.error("regions", "at least 3 regions (or none, for Route 53's default set)");
    }
    for (i, r) in c.regions.iter().enumerate() {
        if !HEALTH_CHECK_REGIONS.contains(&r.as_str()) {
            ctx.error(
                &format!("regions[{i}]"),
                format!("{r:?} must be one of {}", HEALTH_CHECK_REGIONS.join(", ")),
            );
        }
    }
    match (&c.search_string, c.check_type.string_match()) {
        (None, true) => ctx.error("search_string", "a *_STR_MATCH check needs a search string"),
        (Some(_), false) => ctx.error("search_string", "only a *_STR_MATCH check has a search string"),
        (Some(s), true) if s.is_empty() || s.len() > 255 => ctx.error("search_string", "1 to 255 characters"),
        _ => {}
    }
    if c.enable_sni == Some(true) && !c.check_type.https() {
        ctx.error("enable_sni", "SNI is for the HTTPS types");
    }
}

/// The canonical form: AWS's defaults unset, regions sorted.
fn canonical(c: &mut HealthCheck) {
    let default_port = match c.check_type {
        HealthCheckType::Http | HealthCheckType::HttpStrMatch => Some(80),
        HealthCheckType::Https | HealthCheckType::HttpsStrMatch => Some(443),
        HealthCheckType::Tcp => None,
    };
    if c.port.is_some() && c.port == default_port {
        c.port = None;
    }
    if c.request_interval == Some(30) {
        c.request_interval = None;
    }
    if c.failure_threshold == Some(3) {
        c.failure_threshold = None;
    }
    if c.enable_sni == Some(c.check_type.https()) {
        c.enable_sni = None;
    }
    c.regions.sort();
    c.regions.dedup();
}

#[cfg(feature = "route53")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_route53::types::{
        HealthCheck as AwsCheck, HealthCheckConfig, HealthCheckRegion, HealthCheckType as AwsType,
        ResettableElementName, TagResourceType,
    };
    use infra_core::Input;
    use infra_engine::provider::TAG_TOKEN;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{HealthCheck, HealthCheckOut, HealthCheckType};
    use crate::ids::{DnsName, HealthCheckId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::route53::sdk::{refused, retag, tag_new, tags_of};

    /// `aws:route53:HealthCheck`.
    #[derive(Debug)]
    pub(crate) struct HealthCheckKind;

    const CHECK: TagResourceType = TagResourceType::Healthcheck;

    fn check_type(t: &AwsType) -> HealthCheckType {
        match t.as_str() {
            "HTTP" => HealthCheckType::Http,
            "HTTP_STR_MATCH" => HealthCheckType::HttpStrMatch,
            "HTTPS_STR_MATCH" => HealthCheckType::HttpsStrMatch,
            "TCP" => HealthCheckType::Tcp,
            _ => HealthCheckType::Https,
        }
    }

    fn seen(c: &AwsCheck, mut tags: Tags) -> Option<Seen<HealthCheckKind>> {
        let cfg = c.health_check_config()?;
        if c.caller_reference().starts_with("infra-") && !tags.contains_key(TAG_TOKEN) {
            tags.insert(TAG_TOKEN.to_owned(), c.caller_reference().to_owned());
        }
        let decl = HealthCheck {
            check_type: check_type(cfg.r#type()),
            fqdn: cfg.fully_qualified_domain_name().map(|f| Input::Value(DnsName::unchecked(f))),
            ip_address: cfg.ip_address().map(str::to_owned),
            port: cfg.port(),
            resource_path: cfg.resource_path().map(str::to_owned),
            request_interval: cfg.request_interval(),
            failure_threshold: cfg.failure_threshold(),
            regions: cfg.regions().iter().map(|r| r.as_str().to_owned()).collect(),
            measure_latency: cfg.measure_latency().unwrap_or(false),
            invert: cfg.inverted().unwrap_or(false),
            disabled: cfg.disabled().unwrap_or(false),
            enable_sni: cfg.enable_sni(),
            search_string: cfg.search_string().map(str::to_owned),
            tags: user_tags(&tags),
        };
        let id = c.id().to_owned();
        Some(Seen::ready(id.clone(), decl, HealthCheckOut { id: HealthCheckId::unchecked(&id) }, tags))
    }

    /// Every health check of the account (a page per thousand): one call
    /// reads many, where GetHealthCheck reads one.
    async fn all(cx: &Ctx) -> Result<Vec<AwsCheck>, ProviderError> {
        cx.paged(|marker| {
            let call = cx.route53().list_health_checks().set_marker(marker).max_items(1000);
            async move {
                let out = cx
                    .send_in(Service::Route53, "ListHealthChecks", Operation::Read, || call.clone().send())
                    .await?;
                let next = if out.is_truncated() { out.next_marker().map(str::to_owned) } else { None };
                Ok((out.health_checks().to_vec(), next))
            }
        })
        .await
    }

    async fn with_tags(cx: &Ctx, checks: Vec<AwsCheck>) -> Result<Vec<Seen<HealthCheckKind>>, ProviderError> {
        let ids: Vec<String> = checks.iter().map(|c| c.id().to_owned()).collect();
        let mut tags = tags_of(cx, CHECK, &ids).await?;
        Ok(checks.iter().filter_map(|c| seen(c, tags.remove(c.id()).unwrap_or_default())).collect())
    }

    fn config(d: &HealthCheck) -> Result<HealthCheckConfig, ProviderError> {
        HealthCheckConfig::builder()
            .r#type(AwsType::from(d.check_type.as_str()))
            .set_fully_qualified_domain_name(d.fqdn.as_ref().map(|f| f.id().to_owned()))
            .set_ip_address(d.ip_address.clone())
            // AWS's defaults sent explicitly: what reads back is then what
            // was asked for (the emulator defaults every port to 80 and SNI
            // to off).
            .set_port(d.port.or(default_port(d.check_type)))
            .set_resource_path(d.resource_path.clone())
            .set_request_interval(d.request_interval)
            .set_failure_threshold(d.failure_threshold)
            .set_regions((!d.regions.is_empty()).then(|| regions(d)))
            .measure_latency(d.measure_latency)
            .inverted(d.invert)
            .disabled(d.disabled)
            .set_enable_sni(d.enable_sni.or(d.check_type.https().then_some(true)))
            .set_search_string(d.search_string.clone())
            .build()
            .map_err(|e| refused(format!("health check: {e}")))
    }

    fn default_port(t: HealthCheckType) -> Option<i32> {
        match t {
            HealthCheckType::Tcp => None,
            t if t.https() => Some(443),
            _ => Some(80),
        }
    }

    fn regions(d: &HealthCheck) -> Vec<HealthCheckRegion> {
        d.regions.iter().map(|r| HealthCheckRegion::from(r.as_str())).collect()
    }

    #[async_trait]
    impl Kind for HealthCheckKind {
        type Decl = HealthCheck;
        type Out = HealthCheckOut;
        const SERVICE: Service = Service::Route53;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 5, 10 * 60);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, HealthCheck>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => {
                    let checks: Vec<AwsCheck> =
                        all(cx).await?.into_iter().filter(|c| ids.iter().any(|id| id == c.id())).collect();
                    with_tags(cx, checks).await
                }
                Lookup::Tag(key, value) => {
                    let mut found = with_tags(cx, all(cx).await?).await?;
                    found.retain(|s| s.tags.get(key).is_some_and(|v| v == value));
                    Ok(found)
                }
                // A health check has no unique natural key.
                Lookup::Key(_) => Ok(Vec::new()),
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &HealthCheck,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let call =
                cx.route53().create_health_check().caller_reference(token).health_check_config(config(d)?);
            let out = cx
                .send_in(Service::Route53, "CreateHealthCheck", Operation::Create, || call.clone().send())
                .await?;
            let id =
                out.health_check().map(|c| c.id().to_owned()).ok_or_else(|| missing("HealthCheck.Id"))?;
            tag_new(cx, CHECK, &id, tags).await?;
            Ok(id)
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, HealthCheck>) -> Result<(), ProviderError> {
            // The version as of now: a stale one is refused (the executor
            // reads again and retries the update).
            let get = cx.route53().get_health_check().health_check_id(id);
            let current = cx
                .send_in(Service::Route53, "GetHealthCheck", Operation::Update, || get.clone().send())
                .await?;
            let version = current.health_check().map(AwsCheck::health_check_version).unwrap_or(1);
            let d = c.after;
            let mut reset = Vec::new();
            if d.fqdn.is_none() {
                reset.push(ResettableElementName::FullyQualifiedDomainName);
            }
            if d.resource_path.is_none() && d.check_type != HealthCheckType::Tcp {
                reset.push(ResettableElementName::ResourcePath);
            }
            if d.regions.is_empty() {
                reset.push(ResettableElementName::Regions);
            }
            let default_sni = d.check_type.https();
            let call = cx
                .route53()
                .update_health_check()
                .health_check_id(id)
                .health_check_version(version)
                .set_fully_qualified_domain_name(d.fqdn.as_ref().map(|f| f.id().to_owned()))
                .set_port(d.port.or(default_port(d.check_type)))
                .set_resource_path(d.resource_path.clone())
                .failure_threshold(d.failure_threshold.unwrap_or(3))
                .set_regions((!d.regions.is_empty()).then(|| regions(d)))
                .inverted(d.invert)
                .disabled(d.disabled)
                .set_enable_sni(d.enable_sni.or(default_sni.then_some(true)))
                .set_search_string(d.search_string.clone())
                .set_reset_elements((!reset.is_empty()).then_some(reset));
            cx.send_in(Service::Route53, "UpdateHealthCheck", Operation::Update, || call.clone().send())
                .await?;
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, CHECK, id, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &HealthCheck) -> Result<(), ProviderError> {
            let call = cx.route53().delete_health_check().health_check_id(id);
            match cx
                .send_in(Service::Route53, "DeleteHealthCheck", Operation::Delete, || call.clone().send())
                .await
            {
                Ok(_) => Ok(()),
                // A record that used it was deleted moments ago, as Route 53
                // sees it: the executor tries again.
                Err(e) if e.code.as_deref() == Some("HealthCheckInUse") => {
                    Err(ProviderError { kind: ErrorKind::EventualConsistency, ..e })
                }
                Err(e) => Err(e),
            }
        }
    }
}
