//! EC2 lookups (Terraform's data sources): AMIs, availability zones, and
//! existing VPCs and subnets. Each is read before every plan (or during
//! apply, when its query waits on something the apply makes), shown in the
//! plan as a read, and never created, changed or deleted.

use std::collections::BTreeMap;

use infra_core::{Input, Output, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, AmiId, SubnetId, VpcId};

/// A filter of an EC2 Describe call: `name` (`name`, `architecture`,
/// `tag:Name`, `state`, …) matches any of `values` (`*` wildcards where
/// AWS allows them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

impl Filter {
    /// `name` = any of `values`.
    pub fn new<S: Into<String>>(name: &str, values: impl IntoIterator<Item = S>) -> Self {
        Filter { name: name.to_owned(), values: values.into_iter().map(Into::into).collect() }
    }
}

fn check_filters(ctx: &mut ValidationContext<'_>, filters: &[Filter]) {
    for (i, f) in filters.iter().enumerate() {
        if f.name.is_empty() {
            ctx.error(&format!("filters[{i}].name"), "must not be empty");
        }
        if f.values.is_empty() {
            ctx.error(&format!("filters[{i}].values"), "must name at least one value");
        }
    }
}

/// An AMI found by owners and filters (`data "aws_ami"`), read at plan
/// time: a newer image shows as an update of what uses it.
///
/// Outputs: `ami.image_id()` (`AmiId`), `ami.name()`, `ami.owner_id()`
/// (`AccountId`), `ami.creation_date()`, `ami.architecture()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{AmiLookup, Filter, LaunchTemplate};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let ami = stack.add("al2", AmiLookup {
///     owners: vec!["amazon".into()],
///     filters: vec![Filter::new("name", ["amzn2-ami-hvm-*-x86_64-gp2"])],
///     most_recent: true,
/// });
/// stack.add("app-lt", LaunchTemplate {
///     name: "app".into(),
///     image_id: Some(ami.image_id().into()),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:AmiLookup",
    lookup,
    outputs(image_id: AmiId, name: String, owner_id: AccountId, creation_date: String, architecture: String),
    validate = validate_ami
)]
pub struct AmiLookup {
    /// Owners: account IDs, `self`, or an alias (`amazon`,
    /// `aws-marketplace`). At least one (as Terraform requires).
    pub owners: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Take the newest of several matches; without it, more than one match
    /// is an error.
    pub most_recent: bool,
}

fn validate_ami(a: &AmiLookup, ctx: &mut ValidationContext<'_>) {
    if a.owners.is_empty() {
        ctx.error("owners", "must name at least one owner (an account ID, `self` or `amazon`)");
    }
    check_filters(ctx, &a.filters);
}

/// The availability zones of the provider's region
/// (`data "aws_availability_zones"`), names in order.
///
/// Outputs: `azs.names()` (`Vec<String>`), `azs.zone_ids()`, and
/// `azs.name(i)` (`Output<String>`, the i-th name).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::AvailabilityZones;
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("eu-west-1"));
/// let azs = stack.add("azs", AvailabilityZones::default());
/// stack.export("first_az", azs.name(0));
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(type = "aws:ec2:AvailabilityZones", lookup, outputs(names: Vec<String>, zone_ids: Vec<String>))]
pub struct AvailabilityZones {
    /// The zones' state; unset: `available`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Names left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_names: Vec<String>,
}

impl AvailabilityZonesOutputs {
    /// The `i`-th zone name (in name order), known at plan time.
    pub fn name(&self, i: usize) -> Output<String> {
        Output::new(self.address.clone(), &format!("names.{i}"))
    }
}

/// An existing VPC found by tags and filters (`data "aws_vpc"`): exactly
/// one must match.
///
/// Outputs: `vpc.id()` (`VpcId`), `vpc.cidr_block()`, `vpc.is_default()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{SubnetLookup, VpcLookup};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let shared = stack.add("shared", VpcLookup {
///     tags: [("Name".to_string(), "shared".to_string())].into(),
///     ..Default::default()
/// });
/// let app = stack.add("app-a", SubnetLookup {
///     vpc_id: Some(shared.id().into()),
///     tags: [("tier".to_string(), "app".to_string())].into(),
///     availability_zone: Some("us-east-1a".into()),
///     ..Default::default()
/// });
/// stack.export("app_subnet", app.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:VpcLookup",
    lookup,
    outputs(id: VpcId, cidr_block: String, is_default: bool),
    validate = validate_vpc_lookup
)]
pub struct VpcLookup {
    /// Tags the VPC carries (each must match).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
}

fn validate_vpc_lookup(v: &VpcLookup, ctx: &mut ValidationContext<'_>) {
    if v.tags.is_empty() && v.filters.is_empty() {
        ctx.error("tags", "a VPC lookup needs tags or filters");
    }
    check_filters(ctx, &v.filters);
}

/// An existing subnet found by VPC, zone, tags and filters
/// (`data "aws_subnet"`): exactly one must match. Given the ID of a VPC
/// the same apply makes, it is read during apply, before its dependents.
///
/// Outputs: `subnet.id()` (`SubnetId`), `subnet.vpc_id()` (`VpcId`),
/// `subnet.cidr_block()`, `subnet.availability_zone()`.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SubnetLookup",
    lookup,
    outputs(id: SubnetId, vpc_id: VpcId, cidr_block: String, availability_zone: String),
    validate = validate_subnet_lookup
)]
pub struct SubnetLookup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Input<VpcId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Tags the subnet carries (each must match).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
}

fn validate_subnet_lookup(s: &SubnetLookup, ctx: &mut ValidationContext<'_>) {
    if s.vpc_id.is_none() && s.availability_zone.is_none() && s.tags.is_empty() && s.filters.is_empty() {
        ctx.error("tags", "a subnet lookup needs a VPC, a zone, tags or filters");
    }
    if let Some(az) = &s.availability_zone {
        super::check_az(ctx, "availability_zone", az);
    }
    check_filters(ctx, &s.filters);
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_ec2::types::Filter as SdkFilter;
    use infra_engine::{Operation, ProviderError};

    use super::*;
    use crate::ec2::sdk::filter;
    use crate::kit::{Ctx, Query, Service};

    fn filters(tags: &BTreeMap<String, String>, extra: &[Filter]) -> Vec<SdkFilter> {
        tags.iter()
            .map(|(k, v)| filter(&format!("tag:{k}"), [v.clone()]))
            .chain(extra.iter().map(|f| filter(&f.name, f.values.clone())))
            .collect()
    }

    #[derive(Debug)]
    pub(crate) struct AmiQuery;

    #[async_trait]
    impl Query for AmiQuery {
        type Decl = AmiLookup;
        type Out = AmiLookupOut;
        const SERVICE: Service = Service::Ec2;

        async fn query(&self, cx: &Ctx, d: &AmiLookup) -> Result<Vec<(String, AmiLookupOut)>, ProviderError> {
            let call = cx
                .ec2()
                .describe_images()
                .set_owners(Some(d.owners.clone()))
                .set_filters(Some(filters(&BTreeMap::new(), &d.filters)));
            let out = cx.send("DescribeImages", Operation::Read, || call.clone().send()).await?;
            let mut images: Vec<_> = out
                .images
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| {
                    let id = i.image_id()?.to_owned();
                    let o = AmiLookupOut {
                        image_id: AmiId::unchecked(&id),
                        name: i.name().unwrap_or_default().to_owned(),
                        owner_id: AccountId::unchecked(i.owner_id().unwrap_or_default()),
                        creation_date: i.creation_date().unwrap_or_default().to_owned(),
                        architecture: i.architecture().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    };
                    Some((id, o))
                })
                .collect();
            // Newest first (ISO 8601 dates sort as strings); ties by name,
            // then ID, so the answer is the same every time.
            images.sort_by(|(a_id, a), (b_id, b)| {
                (&b.creation_date, &b.name, b_id).cmp(&(&a.creation_date, &a.name, a_id))
            });
            if d.most_recent {
                images.truncate(1);
            }
            Ok(images)
        }
    }

    #[derive(Debug)]
    pub(crate) struct AzQuery;

    #[async_trait]
    impl Query for AzQuery {
        type Decl = AvailabilityZones;
        type Out = AvailabilityZonesOut;
        const SERVICE: Service = Service::Ec2;

        async fn query(
            &self,
            cx: &Ctx,
            d: &AvailabilityZones,
        ) -> Result<Vec<(String, AvailabilityZonesOut)>, ProviderError> {
            let state = d.state.clone().unwrap_or_else(|| "available".to_owned());
            let call = cx.ec2().describe_availability_zones().filters(filter("state", [state]));
            let out = cx.send("DescribeAvailabilityZones", Operation::Read, || call.clone().send()).await?;
            let mut zones: Vec<(String, String)> = out
                .availability_zones
                .unwrap_or_default()
                .into_iter()
                .filter_map(|z| Some((z.zone_name?, z.zone_id.unwrap_or_default())))
                .filter(|(name, _)| !d.exclude_names.contains(name))
                .collect();
            zones.sort();
            if zones.is_empty() {
                return Ok(Vec::new());
            }
            let out = AvailabilityZonesOut {
                names: zones.iter().map(|(n, _)| n.clone()).collect(),
                zone_ids: zones.into_iter().map(|(_, id)| id).collect(),
            };
            Ok(vec![(cx.region.clone(), out)])
        }
    }

    #[derive(Debug)]
    pub(crate) struct VpcQuery;

    #[async_trait]
    impl Query for VpcQuery {
        type Decl = VpcLookup;
        type Out = VpcLookupOut;
        const SERVICE: Service = Service::Ec2;

        async fn query(&self, cx: &Ctx, d: &VpcLookup) -> Result<Vec<(String, VpcLookupOut)>, ProviderError> {
            let f = filters(&d.tags, &d.filters);
            let vpcs = cx
                .paged(|next| {
                    let call = cx.ec2().describe_vpcs().set_filters(Some(f.clone())).set_next_token(next);
                    async move {
                        let out = cx.send("DescribeVpcs", Operation::Read, || call.clone().send()).await?;
                        Ok((out.vpcs.unwrap_or_default(), out.next_token))
                    }
                })
                .await?;
            Ok(vpcs
                .into_iter()
                .filter_map(|v| {
                    let id = v.vpc_id()?.to_owned();
                    let o = VpcLookupOut {
                        id: VpcId::unchecked(&id),
                        cidr_block: v.cidr_block().unwrap_or_default().to_owned(),
                        is_default: v.is_default().unwrap_or(false),
                    };
                    Some((id, o))
                })
                .collect())
        }
    }

    #[derive(Debug)]
    pub(crate) struct SubnetQuery;

    #[async_trait]
    impl Query for SubnetQuery {
        type Decl = SubnetLookup;
        type Out = SubnetLookupOut;
        const SERVICE: Service = Service::Ec2;

        async fn query(
            &self,
            cx: &Ctx,
            d: &SubnetLookup,
        ) -> Result<Vec<(String, SubnetLookupOut)>, ProviderError> {
            let mut f = filters(&d.tags, &d.filters);
            if let Some(vpc) = &d.vpc_id {
                f.push(filter("vpc-id", [vpc.id().to_owned()]));
            }
            if let Some(az) = &d.availability_zone {
                f.push(filter("availability-zone", [az.clone()]));
            }
            let subnets = cx
                .paged(|next| {
                    let call = cx.ec2().describe_subnets().set_filters(Some(f.clone())).set_next_token(next);
                    async move {
                        let out = cx.send("DescribeSubnets", Operation::Read, || call.clone().send()).await?;
                        Ok((out.subnets.unwrap_or_default(), out.next_token))
                    }
                })
                .await?;
            Ok(subnets
                .into_iter()
                .filter_map(|s| {
                    let id = s.subnet_id()?.to_owned();
                    let o = SubnetLookupOut {
                        id: SubnetId::unchecked(&id),
                        vpc_id: VpcId::unchecked(s.vpc_id().unwrap_or_default()),
                        cidr_block: s.cidr_block().unwrap_or_default().to_owned(),
                        availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
                    };
                    Some((id, o))
                })
                .collect())
        }
    }
}
