use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{HostedZoneId, VpcId};

/// A VPC a private zone answers in (any region).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ZoneVpc {
    pub vpc_id: Input<VpcId>,
    /// The VPC's region (`us-east-1`).
    pub region: String,
}

impl ZoneVpc {
    /// The VPC `vpc_id` of `region`.
    pub fn new(vpc_id: impl Into<Input<VpcId>>, region: &str) -> Self {
        ZoneVpc { vpc_id: vpc_id.into(), region: region.to_owned() }
    }
}

/// A Route 53 hosted zone (`aws_route53_zone`): public, or private to the
/// VPCs of `vpcs` (associated and disassociated in place; a zone cannot
/// change between public and private). The name replaces it; the comment,
/// the VPCs and the tags change in place.
///
/// **A zone with records cannot be deleted**: a delete (or replacement) of
/// a zone holding records other than its own SOA and NS is refused, naming
/// `force_destroy`, unless `force_destroy` is set: then those records are
/// deleted first (Terraform's `force_destroy`).
///
/// The create passes the engine's token as `CallerReference` (AWS refuses a
/// second zone with it), then tags the zone (`CreateHostedZone` takes no
/// tags): a create whose answer was lost is found by that caller reference
/// or by its token tag, and then by its name and the stack's tag.
///
/// Outputs: `zone.zone_id()` (`HostedZoneId`, without `/hostedzone/`) and
/// `zone.name_servers()` (a public zone's delegation set; empty for a
/// private zone). Ready on its ID.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::Vpc;
/// use infra::aws::route53::{HostedZone, ZoneVpc};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let public = stack.add("public", HostedZone { name: "example.com".into(), ..Default::default() });
/// stack.export("name_servers", public.name_servers());
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// stack.add("internal", HostedZone {
///     name: "internal.example.com".into(),
///     vpcs: vec![ZoneVpc::new(vpc.id(), "us-east-1")],
///     force_destroy: true,
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:route53:HostedZone",
    outputs(zone_id: HostedZoneId, name_servers: Vec<String>),
    readiness = "on_id",
    validate = validate_zone,
    normalise = canonical
)]
pub struct HostedZone {
    /// The domain (`example.com`; recorded lower case, without the final
    /// dot).
    #[resource(force_new)]
    pub name: String,
    /// Up to 256 characters; unset and empty are the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The VPCs of a private zone; empty for a public zone.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<ZoneVpc>,
    /// Delete the zone's records with it (never read from AWS).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force_destroy: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_zone(z: &HostedZone, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &z.tags);
    if !super::names::is_domain(&z.name) || z.name.contains('*') {
        ctx.error("name", format!("{:?} is not a domain name (e.g. example.com)", z.name));
    }
    if z.comment.as_ref().is_some_and(|c| c.chars().count() > 256) {
        ctx.error("comment", "at most 256 characters");
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, v) in z.vpcs.iter().enumerate() {
        if let Some(problem) = crate::rules::unknown_region(&v.region) {
            ctx.error(&format!("vpcs[{i}].region"), problem);
        }
        if let Some(id) = v.vpc_id.value()
            && !seen.insert(id.to_string())
        {
            ctx.error(&format!("vpcs[{i}].vpc_id"), format!("{id} is listed twice"));
        }
    }
}

fn canonical(z: &mut HostedZone) {
    z.name = super::names::canonical_name(&z.name);
    if z.comment.as_deref() == Some("") {
        z.comment = None;
    }
}

#[cfg(feature = "route53")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, HostedZone as AwsZone, HostedZoneConfig, RrType, TagResourceType,
        Vpc, VpcRegion,
    };
    use infra_core::Input;
    use infra_engine::provider::TAG_TOKEN;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{HostedZone, HostedZoneOut, ZoneVpc};
    use crate::ids::{HostedZoneId, VpcId};
    use crate::kit::{Change as Diff, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::route53::sdk::{canonical_name, plain_zone_id, refused, retag, tag_new, tags_of};

    /// `aws:route53:HostedZone`.
    #[derive(Debug)]
    pub(crate) struct HostedZoneKind;

    const ZONE: TagResourceType = TagResourceType::Hostedzone;

    /// One zone by ID (GetHostedZone describes one zone, and only it
    /// gives the VPCs and name servers); `None` when it does not exist.
    async fn get(cx: &Ctx, id: &str, tags: Tags) -> Result<Option<Seen<HostedZoneKind>>, ProviderError> {
        let call = cx.route53().get_hosted_zone().id(id);
        let out = match cx
            .send_in(Service::Route53, "GetHostedZone", Operation::Read, || call.clone().send())
            .await
        {
            Ok(out) => out,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let zone = out.hosted_zone().ok_or_else(|| missing("HostedZone"))?;
        let mut vpcs: Vec<ZoneVpc> = out
            .vpcs()
            .iter()
            .map(|v| ZoneVpc {
                vpc_id: Input::Value(VpcId::unchecked(v.vpc_id().unwrap_or_default())),
                region: v.vpc_region().map(|r| r.as_str().to_owned()).unwrap_or_default(),
            })
            .collect();
        vpcs.sort_by(|a, b| (a.vpc_id.id(), &a.region).cmp(&(b.vpc_id.id(), &b.region)));
        let mut tags = tags;
        // A zone made by a create whose tags were never put on (its answer
        // lost) is still known by the create's caller reference.
        if zone.caller_reference().starts_with("infra-") && !tags.contains_key(TAG_TOKEN) {
            tags.insert(TAG_TOKEN.to_owned(), zone.caller_reference().to_owned());
        }
        let decl = HostedZone {
            name: zone.name().to_owned(),
            comment: zone.config().and_then(|c| c.comment()).map(str::to_owned),
            vpcs,
            force_destroy: false,
            tags: user_tags(&tags),
        };
        let id = plain_zone_id(zone.id());
        let out = HostedZoneOut {
            zone_id: HostedZoneId::unchecked(&id),
            name_servers: out.delegation_set().map(|d| d.name_servers().to_vec()).unwrap_or_default(),
        };
        Ok(Some(Seen::ready(id, decl, out, tags)))
    }

    async fn by_ids(cx: &Ctx, ids: &[String]) -> Result<Vec<Seen<HostedZoneKind>>, ProviderError> {
        let mut tags = tags_of(cx, ZONE, ids).await.or_else(|e| {
            // One unknown ID fails the whole tag call: read each zone alone.
            if e.kind == ErrorKind::NotFound { Ok(Default::default()) } else { Err(e) }
        })?;
        let reads = ids.iter().map(|id| get(cx, id, tags.remove(id).unwrap_or_default()));
        let mut out = Vec::new();
        for seen in futures_util::future::join_all(reads).await {
            out.extend(seen?);
        }
        // Tags missing from a failed batch: read them for what exists.
        let untagged: Vec<String> = out.iter().filter(|s| s.tags.is_empty()).map(|s| s.id.clone()).collect();
        if !untagged.is_empty() && ids.len() > 1 {
            let mut more = tags_of(cx, ZONE, &untagged).await?;
            for s in out.iter_mut().filter(|s| s.tags.is_empty()) {
                s.tags = more.remove(&s.id).unwrap_or_default();
                s.decl.tags = user_tags(&s.tags);
            }
        }
        Ok(out)
    }

    /// Every zone of the account (a page per hundred).
    async fn all_zones(cx: &Ctx) -> Result<Vec<AwsZone>, ProviderError> {
        cx.paged(|marker| {
            let call = cx.route53().list_hosted_zones().set_marker(marker);
            async move {
                let out = cx
                    .send_in(Service::Route53, "ListHostedZones", Operation::Read, || call.clone().send())
                    .await?;
                let next = if out.is_truncated() { out.next_marker().map(str::to_owned) } else { None };
                Ok((out.hosted_zones().to_vec(), next))
            }
        })
        .await
    }

    fn vpc(v: &ZoneVpc) -> Vpc {
        Vpc::builder().vpc_id(v.vpc_id.id()).vpc_region(VpcRegion::from(v.region.as_str())).build()
    }

    fn same_vpc(a: &ZoneVpc, b: &ZoneVpc) -> bool {
        a.vpc_id.id() == b.vpc_id.id() && a.region == b.region
    }

    /// The zone's records other than its own SOA and NS.
    async fn records(
        cx: &Ctx,
        id: &str,
        name: &str,
    ) -> Result<Vec<aws_sdk_route53::types::ResourceRecordSet>, ProviderError> {
        let all = crate::route53::record::imp::list_zone(cx, id, None).await?;
        let apex = canonical_name(name);
        Ok(all
            .into_iter()
            .filter(|r| !(canonical_name(r.name()) == apex && matches!(r.r#type(), RrType::Soa | RrType::Ns)))
            .collect())
    }

    #[async_trait]
    impl Kind for HostedZoneKind {
        type Decl = HostedZone;
        type Out = HostedZoneOut;
        const SERVICE: Service = Service::Route53;
        const TIMINGS: Timings = Timings::secs(3, 2, 3, 5, 15 * 60);
        const WRITE_ONLY: &'static [&'static str] = &["force_destroy"];

        async fn list(&self, cx: &Ctx, by: Lookup<'_, HostedZone>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => by_ids(cx, ids).await,
                Lookup::Tag(key, value) => {
                    let zones = all_zones(cx).await?;
                    let ids: Vec<String> = zones.iter().map(|z| plain_zone_id(z.id())).collect();
                    let tags = tags_of(cx, ZONE, &ids).await?;
                    let matching: Vec<String> = zones
                        .iter()
                        .filter(|z| {
                            let id = plain_zone_id(z.id());
                            let tagged = tags.get(&id).and_then(|t| t.get(key)).is_some_and(|v| v == value);
                            tagged || (key == TAG_TOKEN && z.caller_reference() == value)
                        })
                        .map(|z| plain_zone_id(z.id()))
                        .collect();
                    by_ids(cx, &matching).await
                }
                Lookup::Key(d) => {
                    let want = canonical_name(&d.name);
                    let call =
                        cx.route53().list_hosted_zones_by_name().dns_name(format!("{want}.")).max_items(100);
                    let out = cx
                        .send_in(Service::Route53, "ListHostedZonesByName", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    let ids: Vec<String> = out
                        .hosted_zones()
                        .iter()
                        .filter(|z| {
                            let private = z.config().is_some_and(HostedZoneConfig::private_zone);
                            canonical_name(z.name()) == want && private != d.vpcs.is_empty()
                        })
                        .map(|z| plain_zone_id(z.id()))
                        .collect();
                    by_ids(cx, &ids).await
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &HostedZone,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let config = HostedZoneConfig::builder()
                .set_comment(d.comment.clone())
                .private_zone(!d.vpcs.is_empty())
                .build();
            let call = cx
                .route53()
                .create_hosted_zone()
                .name(&d.name)
                .caller_reference(token)
                .hosted_zone_config(config)
                .set_vpc(d.vpcs.first().map(vpc));
            let out = cx
                .send_in(Service::Route53, "CreateHostedZone", Operation::Create, || call.clone().send())
                .await?;
            let id =
                out.hosted_zone().map(|z| plain_zone_id(z.id())).ok_or_else(|| missing("HostedZone.Id"))?;
            tag_new(cx, ZONE, &id, tags).await?;
            for v in d.vpcs.iter().skip(1) {
                associate(cx, &id, v, Operation::Create).await?;
            }
            Ok(id)
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Diff<'_, HostedZone>) -> Result<(), ProviderError> {
            if c.fields.iter().any(|f| f == "comment") {
                let call = cx
                    .route53()
                    .update_hosted_zone_comment()
                    .id(id)
                    .comment(c.after.comment.clone().unwrap_or_default());
                cx.send_in(Service::Route53, "UpdateHostedZoneComment", Operation::Update, || {
                    call.clone().send()
                })
                .await?;
            }
            if c.fields.iter().any(|f| f == "vpcs") {
                if c.before.vpcs.is_empty() != c.after.vpcs.is_empty() {
                    return Err(refused(format!(
                        "vpcs: the zone {id} cannot change between public and private; declare a new zone (another address) instead"
                    )));
                }
                // Associate first: a private zone keeps at least one VPC.
                for v in c.after.vpcs.iter().filter(|v| !c.before.vpcs.iter().any(|b| same_vpc(b, v))) {
                    associate(cx, id, v, Operation::Update).await?;
                }
                for v in c.before.vpcs.iter().filter(|v| !c.after.vpcs.iter().any(|a| same_vpc(a, v))) {
                    let call =
                        cx.route53().disassociate_vpc_from_hosted_zone().hosted_zone_id(id).vpc(vpc(v));
                    match cx
                        .send_in(Service::Route53, "DisassociateVPCFromHostedZone", Operation::Update, || {
                            call.clone().send()
                        })
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if e.code.as_deref() == Some("VPCAssociationNotFound") => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, ZONE, id, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &HostedZone) -> Result<(), ProviderError> {
            let held = match records(cx, id, &d.name).await {
                Ok(held) => held,
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            if !held.is_empty() {
                if !d.force_destroy {
                    let names: Vec<String> = held
                        .iter()
                        .take(5)
                        .map(|r| format!("{} {}", canonical_name(r.name()), r.r#type().as_str()))
                        .collect();
                    return Err(ProviderError::new(
                        ErrorKind::Final,
                        format!(
                            "the hosted zone {id} ({}) holds {} record(s) other than its SOA and NS ({}{}): delete them first, or set force_destroy to delete them with the zone",
                            d.name,
                            held.len(),
                            names.join(", "),
                            if held.len() > 5 { ", …" } else { "" }
                        ),
                    )
                    .with_code("HostedZoneNotEmpty"));
                }
                for chunk in held.chunks(super::super::batch::MAX_CHANGES) {
                    let changes = chunk
                        .iter()
                        .map(|r| {
                            Change::builder()
                                .action(ChangeAction::Delete)
                                .resource_record_set(r.clone())
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| refused(format!("change: {e}")))?;
                    let batch = ChangeBatch::builder()
                        .set_changes(Some(changes))
                        .build()
                        .map_err(|e| refused(format!("change batch: {e}")))?;
                    let call =
                        cx.route53().change_resource_record_sets().hosted_zone_id(id).change_batch(batch);
                    cx.send_in(Service::Route53, "ChangeResourceRecordSets", Operation::Delete, || {
                        call.clone().send()
                    })
                    .await?;
                }
            }
            let call = cx.route53().delete_hosted_zone().id(id);
            cx.send_in(Service::Route53, "DeleteHostedZone", Operation::Delete, || call.clone().send())
                .await
                .map(|_| ())
        }
    }

    async fn associate(cx: &Ctx, id: &str, v: &ZoneVpc, op: Operation) -> Result<(), ProviderError> {
        let call = cx.route53().associate_vpc_with_hosted_zone().hosted_zone_id(id).vpc(vpc(v));
        match cx.send_in(Service::Route53, "AssociateVPCWithHostedZone", op, || call.clone().send()).await {
            Ok(_) => Ok(()),
            Err(e) if e.code.as_deref() == Some("ConflictingDomainExists") => Err(e),
            // Associated already (a repeated call).
            Err(e) if e.message.contains("already associated") => Ok(()),
            Err(e) => Err(e),
        }
    }
}
