use std::collections::BTreeMap;

use infra_core::{Input, Output, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, DistributionArn, LoadBalancerArn, ShieldProtectionId};

/// What a [`ShieldProtection`] protects.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectedResource {
    /// An application (or classic) load balancer.
    LoadBalancer(Input<LoadBalancerArn>),
    /// A CloudFront distribution.
    Distribution(Input<DistributionArn>),
    /// Any other protectable resource by ARN: an Elastic IP allocation, a
    /// Route 53 hosted zone, a Global Accelerator accelerator.
    Arn(String),
}

impl Default for ProtectedResource {
    fn default() -> Self {
        ProtectedResource::Arn(String::new())
    }
}

impl From<Output<LoadBalancerArn>> for ProtectedResource {
    fn from(o: Output<LoadBalancerArn>) -> Self {
        ProtectedResource::LoadBalancer(o.into())
    }
}

impl From<Output<DistributionArn>> for ProtectedResource {
    fn from(o: Output<DistributionArn>) -> Self {
        ProtectedResource::Distribution(o.into())
    }
}

impl From<LoadBalancerArn> for ProtectedResource {
    fn from(a: LoadBalancerArn) -> Self {
        ProtectedResource::LoadBalancer(a.into())
    }
}

impl From<DistributionArn> for ProtectedResource {
    fn from(a: DistributionArn) -> Self {
        ProtectedResource::Distribution(a.into())
    }
}

impl ProtectedResource {
    /// The resolved ARN (empty while unresolved, which a provider never
    /// sees).
    pub fn arn(&self) -> &str {
        match self {
            ProtectedResource::LoadBalancer(a) => a.id(),
            ProtectedResource::Distribution(a) => a.id(),
            ProtectedResource::Arn(a) => a,
        }
    }

    /// An ARN in its typed form, as the cloud's answers are read.
    pub(crate) fn of_arn(arn: &str) -> Self {
        if LoadBalancerArn::new(arn).is_ok() {
            ProtectedResource::LoadBalancer(Input::Value(LoadBalancerArn::unchecked(arn)))
        } else if DistributionArn::new(arn).is_ok() {
            ProtectedResource::Distribution(Input::Value(DistributionArn::unchecked(arn)))
        } else {
            ProtectedResource::Arn(arn.to_owned())
        }
    }
}

/// A Shield Advanced protection (`aws_shield_protection`) of one resource:
/// a load balancer, a distribution, an Elastic IP, a hosted zone.
///
/// Its ID is the protection's ID. The name and the resource replace it
/// (destroy first: a resource has one protection); tags change in place.
/// Shield's API is in us-east-1 whatever the provider's region, and
/// protections need the account's Shield Advanced subscription (made
/// outside infra; AWS refuses a protection without it).
///
/// Outputs: `p.id()` (`ShieldProtectionId`) and `p.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ids::LoadBalancerArn;
/// use infra::aws::shield::ShieldProtection;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let alb = LoadBalancerArn::new(
///     "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
/// ).unwrap();
/// stack.add("alb-shield", ShieldProtection {
///     name: "alb-us-east-1".into(),
///     resource_arn: alb.into(),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:shield:Protection",
    outputs(id: ShieldProtectionId, arn: Arn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_protection,
    normalise = typed_arn
)]
pub struct ShieldProtection {
    /// 1 to 128 letters, digits, spaces and `_ . -`.
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub resource_arn: ProtectedResource,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// The (service, resource type) pairs Shield protects.
const PROTECTABLE: &[(&str, &str)] = &[
    ("elasticloadbalancing", "loadbalancer"),
    ("cloudfront", "distribution"),
    ("ec2", "eip-allocation"),
    ("route53", "hostedzone"),
    ("globalaccelerator", "accelerator"),
];

fn validate_protection(p: &ShieldProtection, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &p.tags);
    let n = p.name.chars().count();
    if n == 0 || n > 128 {
        ctx.error("name", format!("{:?} must be 1 to 128 characters; it has {n}", p.name));
    }
    if let Some(c) = p.name.chars().find(|c| !(c.is_ascii_alphanumeric() || " _.-".contains(*c))) {
        ctx.error(
            "name",
            format!("{:?} has {c:?}: names take letters, digits, spaces and _ . - only", p.name),
        );
    }
    if let ProtectedResource::Arn(arn) = &p.resource_arn {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let protectable = parts.len() == 6
            && parts[0] == "arn"
            && PROTECTABLE
                .iter()
                .any(|(service, kind)| parts[2] == *service && parts[5].split('/').next() == Some(*kind));
        if !protectable {
            ctx.error(
                "resource_arn",
                format!(
                    "{arn:?} is not the ARN of a resource Shield protects (a load balancer, distribution, \
                     Elastic IP allocation, hosted zone or accelerator)"
                ),
            );
        }
    }
}

/// A load balancer's or distribution's ARN given as a plain one is
/// recorded in its typed form.
fn typed_arn(p: &mut ShieldProtection) {
    if let ProtectedResource::Arn(arn) = &p.resource_arn {
        p.resource_arn = ProtectedResource::of_arn(arn);
    }
}

#[cfg(feature = "shield")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_shield::types::{InclusionProtectionFilters, Protection, Tag};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{ProtectedResource, ShieldProtection, ShieldProtectionOut};
    use crate::ids::{Arn, ShieldProtectionId};
    use crate::kit::{Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};

    /// `aws:shield:Protection` through the Shield API (us-east-1).
    #[derive(Debug)]
    pub(crate) struct ShieldProtectionKind;

    fn shield_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
        tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
    }

    /// Every protection of the account (one listing for many IDs), or
    /// those of one resource.
    async fn protections(cx: &Ctx, resource: Option<&str>) -> Result<Vec<Protection>, ProviderError> {
        let filter = resource.map(|r| InclusionProtectionFilters::builder().resource_arns(r).build());
        cx.paged(|next| {
            let call =
                cx.shield().list_protections().set_inclusion_filters(filter.clone()).set_next_token(next);
            async move {
                let out = match cx
                    .send_in(Service::Shield, "ListProtections", Operation::Read, || call.clone().send())
                    .await
                {
                    Ok(out) => out,
                    // Shield answers not-found for a listing with no match.
                    Err(e) if e.kind == ErrorKind::NotFound => return Ok((Vec::new(), None)),
                    Err(e) => return Err(e),
                };
                Ok((out.protections.unwrap_or_default(), out.next_token))
            }
        })
        .await
    }

    async fn tags_of(cx: &Ctx, arn: &str) -> Result<Tags, ProviderError> {
        let call = cx.shield().list_tags_for_resource().resource_arn(arn);
        let out = cx
            .send_in(Service::Shield, "ListTagsForResource", Operation::Read, || call.clone().send())
            .await?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
            .collect())
    }

    async fn seen(cx: &Ctx, p: Protection) -> Result<Seen<ShieldProtectionKind>, ProviderError> {
        let id = p.id.clone().ok_or_else(|| missing("protection ID"))?;
        let arn = p.protection_arn.clone().unwrap_or_default();
        let tags = if arn.is_empty() { Tags::new() } else { tags_of(cx, &arn).await? };
        let decl = ShieldProtection {
            name: p.name.clone().unwrap_or_default(),
            resource_arn: ProtectedResource::of_arn(p.resource_arn.as_deref().unwrap_or_default()),
            tags: user_tags(&tags),
        };
        let out = ShieldProtectionOut { id: ShieldProtectionId::unchecked(&id), arn: Arn::unchecked(arn) };
        Ok(Seen::ready(id, decl, out, tags))
    }

    async fn arn_of(cx: &Ctx, id: &str) -> Result<String, ProviderError> {
        let call = cx.shield().describe_protection().protection_id(id);
        let out = cx
            .send_in(Service::Shield, "DescribeProtection", Operation::Read, || call.clone().send())
            .await?;
        out.protection.and_then(|p| p.protection_arn).ok_or_else(|| missing("protection ARN"))
    }

    #[async_trait]
    impl Kind for ShieldProtectionKind {
        type Decl = ShieldProtection;
        type Out = ShieldProtectionOut;
        const SERVICE: Service = Service::Shield;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);

        /// One `ListProtections` for any number of IDs; each protection's
        /// tags are a call of their own (Shield has no batched form).
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, ShieldProtection>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let found = match by {
                Lookup::Ids(ids) => {
                    let mut all = protections(cx, None).await?;
                    all.retain(|p| p.id.as_ref().is_some_and(|id| ids.contains(id)));
                    all
                }
                // Shield lists no tags: a lost create is found by resource.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => protections(cx, Some(d.resource_arn.arn())).await?,
            };
            let mut out = Vec::new();
            for s in futures_util::future::join_all(found.into_iter().map(|p| seen(cx, p))).await {
                out.push(s?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &ShieldProtection,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .shield()
                .create_protection()
                .name(&d.name)
                .resource_arn(d.resource_arn.arn())
                .set_tags(Some(shield_tags(tags)));
            let out = cx
                .send_in(Service::Shield, "CreateProtection", Operation::Create, || call.clone().send())
                .await?;
            out.protection_id.ok_or_else(|| missing("protection ID"))
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let arn = arn_of(cx, id).await?;
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = cx.shield().untag_resource().resource_arn(&arn).set_tag_keys(Some(keys));
                cx.send_in(Service::Shield, "UntagResource", Operation::Update, || call.clone().send())
                    .await?;
            }
            if !add.is_empty() {
                let call = cx
                    .shield()
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(shield_tags(add.iter().copied())));
                cx.send_in(Service::Shield, "TagResource", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &ShieldProtection) -> Result<(), ProviderError> {
            let call = cx.shield().delete_protection().protection_id(id);
            cx.send_in(Service::Shield, "DeleteProtection", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
