//! The hosted zone lookup (see docs/aws-provider.md, "Lookups").

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::HostedZoneId;

/// A hosted zone found by its name (`data "aws_route53_zone"`), read at
/// plan time. `private_zone` picks the private or the public zone of that
/// name (Terraform's default: public).
///
/// Outputs: `zone.zone_id()` (`HostedZoneId`, without `/hostedzone/`),
/// `zone.name()` (without the final dot), `zone.record_count()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::route53::HostedZoneLookup;
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let zone = stack.add("main", HostedZoneLookup { name: "example.com".into(), private_zone: false });
/// stack.export("zone_id", zone.zone_id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:route53:HostedZoneLookup",
    lookup,
    outputs(zone_id: HostedZoneId, name: String, record_count: i64),
    validate = validate_zone
)]
pub struct HostedZoneLookup {
    /// The zone's domain name (`example.com`; a final dot is allowed).
    pub name: String,
    /// The private zone of that name instead of the public one.
    #[serde(default)]
    pub private_zone: bool,
}

fn validate_zone(d: &HostedZoneLookup, ctx: &mut ValidationContext<'_>) {
    let name = d.name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 || name.split('.').any(|l| l.is_empty() || l.len() > 63) {
        ctx.error("name", "must be a domain name: dot-separated labels of 1 to 63 characters");
    }
}

#[cfg(feature = "route53")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_engine::{Operation, ProviderError};

    use super::*;
    use crate::kit::{Ctx, Query, Service, missing};

    #[derive(Debug)]
    pub(crate) struct HostedZoneQuery;

    /// A zone name as compared: lower case, without the final dot.
    fn plain(name: &str) -> String {
        name.trim_end_matches('.').to_ascii_lowercase()
    }

    #[async_trait]
    impl Query for HostedZoneQuery {
        type Decl = HostedZoneLookup;
        type Out = HostedZoneLookupOut;
        const SERVICE: Service = Service::Route53;

        async fn query(
            &self,
            cx: &Ctx,
            d: &HostedZoneLookup,
        ) -> Result<Vec<(String, HostedZoneLookupOut)>, ProviderError> {
            let r53 = cx.route53();
            let want = plain(&d.name);
            // Zones come sorted by name: the first page starting at the
            // name holds every zone of that name (public and private).
            let out = cx
                .send_in(Service::Route53, "ListHostedZonesByName", Operation::Read, || {
                    r53.list_hosted_zones_by_name().dns_name(format!("{want}.")).max_items(100).send()
                })
                .await?;
            let mut found = Vec::new();
            for z in out.hosted_zones() {
                let private = z.config().is_some_and(|c| c.private_zone());
                if plain(z.name()) != want || private != d.private_zone {
                    continue;
                }
                let id = z.id().trim_start_matches("/hostedzone/").to_owned();
                if id.is_empty() {
                    return Err(missing("HostedZone.Id"));
                }
                let o = HostedZoneLookupOut {
                    zone_id: HostedZoneId::unchecked(&id),
                    name: want.clone(),
                    record_count: z.resource_record_set_count().unwrap_or_default(),
                };
                found.push((id, o));
            }
            Ok(found)
        }
    }
}
