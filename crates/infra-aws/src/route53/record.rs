use infra_core::{Handle, Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::elbv2::Alb;
use crate::ids::{DnsName, HealthCheckId, HostedZoneId};

/// A DNS record type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    #[default]
    A,
    Aaaa,
    Caa,
    Cname,
    Ds,
    Https,
    Mx,
    Naptr,
    Ns,
    Ptr,
    Soa,
    Spf,
    Srv,
    Sshfp,
    Svcb,
    Tlsa,
    Txt,
}

impl RecordType {
    /// The type as DNS spells it (`AAAA`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Caa => "CAA",
            RecordType::Cname => "CNAME",
            RecordType::Ds => "DS",
            RecordType::Https => "HTTPS",
            RecordType::Mx => "MX",
            RecordType::Naptr => "NAPTR",
            RecordType::Ns => "NS",
            RecordType::Ptr => "PTR",
            RecordType::Soa => "SOA",
            RecordType::Spf => "SPF",
            RecordType::Srv => "SRV",
            RecordType::Sshfp => "SSHFP",
            RecordType::Svcb => "SVCB",
            RecordType::Tlsa => "TLSA",
            RecordType::Txt => "TXT",
        }
    }

    /// Every type, for parsing.
    pub const ALL: [RecordType; 17] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Caa,
        RecordType::Cname,
        RecordType::Ds,
        RecordType::Https,
        RecordType::Mx,
        RecordType::Naptr,
        RecordType::Ns,
        RecordType::Ptr,
        RecordType::Soa,
        RecordType::Spf,
        RecordType::Srv,
        RecordType::Sshfp,
        RecordType::Svcb,
        RecordType::Tlsa,
        RecordType::Txt,
    ];

    /// The type spelt `s` (`CNAME`).
    pub fn parse(s: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An alias record's target: an AWS resource's DNS name and its hosted
/// zone (a load balancer's canonical zone, a distribution's `Z2FDTNDATAQYW2`).
/// The DNS name is compared lower case without the final dot (AWS adds it,
/// the emulator does not): any other difference is drift.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Alias {
    pub dns_name: Input<DnsName>,
    pub zone_id: Input<HostedZoneId>,
    /// Answer only while the target is healthy (a load balancer: while it
    /// has healthy targets).
    pub evaluate_target_health: bool,
}

impl Alias {
    /// An alias to `dns_name` in `zone_id`, not evaluating target health.
    pub fn new(dns_name: impl Into<Input<DnsName>>, zone_id: impl Into<Input<HostedZoneId>>) -> Self {
        Alias { dns_name: dns_name.into(), zone_id: zone_id.into(), evaluate_target_health: false }
    }

    /// An alias to an application load balancer (its `dns_name()` and
    /// `zone_id()` outputs), evaluating its targets' health: a latency or
    /// failover record stops answering with a load balancer without healthy
    /// targets.
    pub fn load_balancer(alb: &Handle<Alb>) -> Self {
        Alias { dns_name: alb.dns_name().into(), zone_id: alb.zone_id().into(), evaluate_target_health: true }
    }

    /// The same alias, with `evaluate_target_health` set to `on`.
    pub fn evaluate_target_health(mut self, on: bool) -> Self {
        self.evaluate_target_health = on;
        self
    }
}

/// A failover record's role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FailoverRole {
    #[default]
    Primary,
    Secondary,
}

/// Where a geolocation record answers: a continent (`EU`), a country
/// (`DE`; `*` for the default location), or a subdivision of a country
/// (`US` and `CA`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeoLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
}

/// How Route 53 picks among the records of one name and type. Every policy
/// but `Simple` needs the record's `set_identifier` (which tells the
/// records of one name and type apart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    /// One record set for the name and type.
    #[default]
    Simple,
    /// In proportion to `weight` (0 to 255) among the set.
    Weighted { weight: i64 },
    /// The record of the AWS region with the lowest latency to the client.
    Latency { region: String },
    /// The primary while its health check passes, else the secondary.
    Failover { role: FailoverRole },
    /// By the client's location.
    Geolocation(GeoLocation),
    /// Up to eight healthy records at random.
    MultiValue,
}

impl Routing {
    /// True for [`Routing::Simple`].
    pub fn is_simple(&self) -> bool {
        *self == Routing::Simple
    }
}

/// A Route 53 record set (`aws_route53_record`): `ttl` and `records`, or
/// an `alias` to an AWS resource (a load balancer with
/// [`Alias::load_balancer`], a distribution with [`Alias::new`]), routed by
/// `routing` (simple, weighted, latency, failover, geolocation, multivalue
/// answer; all but simple need a `set_identifier`), optionally guarded by a
/// health check.
///
/// The zone, name, type and set identifier identify the record and replace
/// it; everything else changes in place (`UPSERT`). Its ID is Terraform's:
/// `<zone>_<name>_<type>[_<set identifier>]` (`import` takes it). A record
/// carries no tags: a create whose answer was lost finds it by that key,
/// and adopts it only when it holds what was asked; a record of that key
/// holding anything else is refused, naming `import`.
///
/// **Batching**: the changes of one zone made within 25 ms of each other
/// by one provider instance go in one `ChangeResourceRecordSets` (up to
/// 1000), so a hundred records are one call, not a hundred; a batch AWS
/// refuses is sent again change by change, so each record gets its own
/// error.
///
/// Names are recorded as declared (a certificate's validation record name
/// with its final dot is fine) and compared as DNS writes them: lower
/// case, without the final dot, `\052` as `*`. Ready once the change is
/// `INSYNC` on every Route 53 server (`GetChange`; about a minute).
///
/// Output: `record.fqdn()` (the name, lower case, without the final dot).
///
/// # Example
///
/// Latency-routed aliases to a load balancer in each region:
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::elbv2::Alb;
/// use infra::aws::route53::{Alias, HostedZone, Record, RecordType, Routing};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
/// let zone = stack.add("zone", HostedZone { name: "example.com".into(), ..Default::default() });
/// for (key, region) in [(&us, "us-east-1"), (&eu, "eu-west-1")] {
///     let alb = stack.add_with(&format!("alb-{region}"), Alb {
///         name: format!("web-{region}"),
///         subnets: vec!["subnet-0a".parse::<infra::aws::ids::SubnetId>().unwrap().into(),
///                       "subnet-0b".parse::<infra::aws::ids::SubnetId>().unwrap().into()],
///         ..Default::default()
///     }, Options::new().provider(key));
///     stack.add(&format!("app-{region}"), Record {
///         zone_id: zone.zone_id().into(),
///         name: "app.example.com".into(),
///         record_type: RecordType::A,
///         alias: Some(Alias::load_balancer(&alb)),
///         routing: Routing::Latency { region: region.into() },
///         set_identifier: Some(region.into()),
///         ..Default::default()
///     });
/// }
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:route53:Record",
    outputs(fqdn: String),
    readiness = "on_available",
    replace = "delete_before_create",
    validate = validate_record,
    normalise = canonical
)]
pub struct Record {
    #[resource(force_new)]
    pub zone_id: Input<HostedZoneId>,
    /// The full name (`app.example.com`, `*.example.com`).
    #[resource(force_new)]
    pub name: Input<String>,
    #[resource(force_new)]
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// Seconds; with `records`, not with `alias`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// The values (a set), e.g. a certificate's
    /// `validation_record(i).resource_record_value`.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<Input<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<Alias>,
    #[serde(skip_serializing_if = "Routing::is_simple")]
    pub routing: Routing,
    /// Tells records of one name and type apart (every routing but simple).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<Input<HealthCheckId>>,
}

const CONTINENTS: &[&str] = &["AF", "AN", "AS", "EU", "OC", "NA", "SA"];

fn validate_record(r: &Record, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if let Some(name) = r.name.value()
        && !super::names::is_domain(name)
    {
        ctx.error("name", format!("{name:?} is not a domain name (e.g. app.example.com or *.example.com)"));
    }
    match (&r.alias, r.records.is_empty()) {
        (Some(_), false) => {
            ctx.error("alias", "an alias record has no records: set alias or ttl and records")
        }
        (Some(_), true) if r.ttl.is_some() => {
            ctx.error("ttl", "an alias record takes its target's TTL: leave ttl unset")
        }
        (Some(_), true)
            if !matches!(
                r.record_type,
                RecordType::A | RecordType::Aaaa | RecordType::Cname | RecordType::Txt
            ) =>
        {
            ctx.error(
                "alias",
                format!("an alias record is A, AAAA, CNAME or TXT, not {}", r.record_type.as_str()),
            )
        }
        (None, true) => ctx.error("records", "a record needs ttl and records, or an alias"),
        (None, false) if r.ttl.is_none() => ctx.error("ttl", "records need a ttl (e.g. 300)"),
        _ => {}
    }
    if let Some(ttl) = r.ttl
        && !(0..=2_147_483_647).contains(&ttl)
    {
        ctx.error("ttl", format!("{ttl} must be 0 to 2147483647 seconds"));
    }
    if r.record_type == RecordType::Cname && r.records.len() > 1 {
        ctx.error("records", "a CNAME record has one value");
    }
    for (i, v) in r.records.iter().enumerate() {
        let Some(v) = v.value() else { continue };
        let bad = match r.record_type {
            RecordType::A => v.parse::<std::net::Ipv4Addr>().is_err(),
            RecordType::Aaaa => v.parse::<std::net::Ipv6Addr>().is_err(),
            _ => v.is_empty() || v.len() > 4000,
        };
        if bad {
            ctx.error(&format!("records[{i}]"), format!("{v:?} is not a {} value", r.record_type.as_str()));
        }
    }
    if matches!(r.record_type, RecordType::Soa) {
        ctx.error("type", "a zone's SOA record is Route 53's own");
    }
    match (&r.set_identifier, r.routing.is_simple()) {
        (Some(_), true) => {
            ctx.error("set_identifier", "only records with a routing policy other than simple have one")
        }
        (None, false) => ctx.error("set_identifier", "a record with a routing policy needs a set identifier"),
        (Some(s), false) if s.is_empty() || s.chars().count() > 128 => {
            ctx.error("set_identifier", "1 to 128 characters")
        }
        _ => {}
    }
    match &r.routing {
        Routing::Weighted { weight } if !(0..=255).contains(weight) => {
            ctx.error("routing.weight", format!("{weight} must be 0 to 255"))
        }
        Routing::Latency { region } => {
            if let Some(problem) = crate::rules::unknown_region(region) {
                ctx.error("routing.region", problem);
            }
        }
        Routing::Geolocation(g) => match (&g.continent, &g.country) {
            (Some(_), Some(_)) | (None, None) => ctx
                .error("routing.geolocation", "a location is a continent or a country (with a subdivision)"),
            (Some(c), None) if !CONTINENTS.contains(&c.as_str()) => {
                ctx.error("routing.continent", format!("{c:?} must be one of {}", CONTINENTS.join(", ")))
            }
            (Some(_), None) if g.subdivision.is_some() => {
                ctx.error("routing.subdivision", "a subdivision is of a country, not a continent")
            }
            (None, Some(c)) if !(c == "*" || c.len() == 2 && c.chars().all(|c| c.is_ascii_uppercase())) => {
                ctx.error("routing.country", format!("{c:?} must be a two-letter country code (or *)"))
            }
            _ => {}
        },
        Routing::MultiValue if r.alias.is_some() => {
            ctx.error("routing", "a multivalue answer record cannot be an alias")
        }
        _ => {}
    }
}

/// The canonical form: an alias target's DNS name lower case, without the
/// final dot; the values sorted.
fn canonical(r: &mut Record) {
    if let Some(a) = &mut r.alias
        && let Some(dns) = a.dns_name.value()
    {
        a.dns_name = Input::Value(DnsName::unchecked(super::names::canonical_name(&dns.to_string())));
    }
    r.records.sort_by(|a, b| a.value().cmp(&b.value()));
}

#[cfg(feature = "route53")]
pub(crate) mod imp;
