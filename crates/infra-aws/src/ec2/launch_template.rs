use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{AmiId, Arn, InstanceProfileName, LaunchTemplateId, SecurityGroupId};

/// The EBS settings of a block device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EbsSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_size: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
}

/// One block device mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockDeviceMapping {
    pub device_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs: Option<EbsSpec>,
}

/// Instance metadata service settings (`http_tokens = "required"` is IMDSv2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetadataOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<String>,
}

/// A launch template (`aws_launch_template`). Changing its data creates a
/// new version and makes it the default, in place.
///
/// Outputs: `lt.id()` (`LaunchTemplateId`), `lt.arn()` (`Arn`),
/// `lt.latest_version()` and `lt.default_version()` (`i64`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::AmiId;
/// use infra::aws::ec2::{LaunchTemplate, MetadataOptions, SecurityGroup, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let sg = stack.add("app-sg", SecurityGroup {
///     name: "app".into(),
///     description: "application instances".into(),
///     vpc_id: vpc.id().into(),
///     ..Default::default()
/// });
/// let lt = stack.add("app-lt", LaunchTemplate {
///     name: "app".into(),
///     image_id: Some(AmiId::new("ami-0123456789abcdef0")?.into()),
///     instance_type: Some("t3.micro".into()),
///     vpc_security_group_ids: vec![sg.id().into()],
///     // IMDSv2 only.
///     metadata_options: Some(MetadataOptions {
///         http_tokens: Some("required".into()),
///         ..Default::default()
///     }),
///     ..Default::default()
/// });
/// stack.export("launch_template_id", lt.id());
/// assert!(stack.validate().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:LaunchTemplate",
    outputs(id: LaunchTemplateId, arn: Arn, latest_version: i64, default_version: i64),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_template,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique
)]
pub struct LaunchTemplate {
    /// The template's name (unique per region).
    #[resource(force_new)]
    pub name: String,
    /// The AMI (`ami.image_id()` of an `AmiLookup`, or
    /// `AmiId::new("ami-…")?.into()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<Input<AmiId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpc_security_group_ids: Vec<Input<SecurityGroupId>>,
    /// The IAM instance profile's name (`profile.name()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_instance_profile: Option<Input<InstanceProfileName>>,
    /// Base64-encoded user data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_optimized: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub block_device_mappings: Vec<BlockDeviceMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_options: Option<MetadataOptions>,
    /// Detailed monitoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
    /// Tags the template gives the instances it launches.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub instance_tags: BTreeMap<String, String>,
    /// Tags of the template itself.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_template(t: &LaunchTemplate, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &t.tags);
    crate::rules::tags(ctx, "instance_tags", &t.instance_tags);
    if t.name.len() < 3 || t.name.len() > 128 {
        ctx.error("name", "must be 3 to 128 characters");
    }
    if let Some(m) = &t.metadata_options
        && let Some(tokens) = &m.http_tokens
        && tokens != "optional"
        && tokens != "required"
    {
        ctx.error("metadata_options", format!("http_tokens {tokens:?} must be \"optional\" or \"required\""));
    }
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use std::collections::BTreeMap;
    use std::hash::{DefaultHasher, Hash, Hasher};

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        Filter, InstanceType, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
        LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
        LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
        LaunchTemplateTagSpecificationRequest, LaunchTemplatesMonitoringRequest, RequestLaunchTemplateData,
        ResourceType, ResponseLaunchTemplateData, Tag, VolumeType,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{BlockDeviceMapping, EbsSpec, LaunchTemplate, LaunchTemplateOut, MetadataOptions};
    use crate::ec2::sdk::{by_id_list, describe};
    use crate::ec2::sdk::{filter, tags_spec};
    use crate::ids::{AmiId, Arn, InstanceProfileName, LaunchTemplateId, SecurityGroupId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};

    /// `aws:ec2:LaunchTemplate` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct LaunchTemplateKind;

    /// The template data the declaration describes.
    fn data(d: &LaunchTemplate) -> RequestLaunchTemplateData {
        let devices: Vec<_> = d
            .block_device_mappings
            .iter()
            .map(|b| {
                let ebs = b.ebs.as_ref().filter(|e| **e != EbsSpec::default()).map(|e| {
                    LaunchTemplateEbsBlockDeviceRequest::builder()
                        .set_volume_size(e.volume_size)
                        .set_volume_type(e.volume_type.as_deref().map(VolumeType::from))
                        .set_delete_on_termination(e.delete_on_termination)
                        .set_encrypted(e.encrypted)
                        .build()
                });
                LaunchTemplateBlockDeviceMappingRequest::builder()
                    .device_name(&b.device_name)
                    .set_ebs(ebs)
                    .build()
            })
            .collect();
        let meta = d.metadata_options.as_ref().filter(|m| **m != MetadataOptions::default()).map(|m| {
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .set_http_endpoint(
                    m.http_endpoint.as_deref().map(LaunchTemplateInstanceMetadataEndpointState::from),
                )
                .set_http_tokens(m.http_tokens.as_deref().map(LaunchTemplateHttpTokensState::from))
                .build()
        });
        let instance_tags = (!d.instance_tags.is_empty()).then(|| {
            let tags = d.instance_tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
            vec![
                LaunchTemplateTagSpecificationRequest::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(tags))
                    .build(),
            ]
        });
        let profile = d
            .iam_instance_profile
            .as_ref()
            .map(|p| LaunchTemplateIamInstanceProfileSpecificationRequest::builder().name(p.id()).build());
        let sgs: Vec<String> = d.vpc_security_group_ids.iter().map(|s| s.id().to_owned()).collect();
        RequestLaunchTemplateData::builder()
            .set_image_id(d.image_id.as_ref().map(|i| i.id().to_owned()))
            .set_instance_type(d.instance_type.as_deref().map(InstanceType::from))
            .set_key_name(d.key_name.clone())
            .set_user_data(d.user_data.clone())
            .set_ebs_optimized(d.ebs_optimized)
            .set_security_group_ids((!sgs.is_empty()).then_some(sgs))
            .set_iam_instance_profile(profile)
            .set_monitoring(
                d.monitoring.map(|m| LaunchTemplatesMonitoringRequest::builder().enabled(m).build()),
            )
            .set_block_device_mappings((!devices.is_empty()).then_some(devices))
            .set_metadata_options(meta)
            .set_tag_specifications(instance_tags)
            .build()
    }

    /// The declaration a version's data describes (the inverse of [`data`]).
    fn declared(name: &str, data: Option<&ResponseLaunchTemplateData>, tags: &Tags) -> LaunchTemplate {
        let (name, tags) = (name.to_owned(), user_tags(tags));
        let Some(d) = data else { return LaunchTemplate { name, tags, ..Default::default() } };
        let devices = d.block_device_mappings().iter().map(|b| BlockDeviceMapping {
            device_name: b.device_name().unwrap_or_default().to_owned(),
            ebs: b.ebs().map(|e| EbsSpec {
                volume_size: e.volume_size(),
                volume_type: e.volume_type().map(|v| v.as_str().to_owned()),
                delete_on_termination: e.delete_on_termination(),
                encrypted: e.encrypted(),
            }),
        });
        let instance_tags = d
            .tag_specifications()
            .iter()
            .filter(|t| t.resource_type() == Some(&ResourceType::Instance))
            .flat_map(|t| t.tags())
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect();
        LaunchTemplate {
            name,
            image_id: d.image_id().map(|i| Input::Value(AmiId::unchecked(i))),
            instance_type: d.instance_type().map(|t| t.as_str().to_owned()),
            key_name: d.key_name().map(str::to_owned),
            vpc_security_group_ids: d
                .security_group_ids()
                .iter()
                .map(|s| Input::Value(SecurityGroupId::unchecked(s)))
                .collect(),
            iam_instance_profile: d
                .iam_instance_profile()
                .and_then(|p| p.name())
                .map(|p| Input::Value(InstanceProfileName::unchecked(p))),
            user_data: d.user_data().map(str::to_owned),
            ebs_optimized: d.ebs_optimized(),
            block_device_mappings: devices.collect(),
            metadata_options: d.metadata_options().map(|m| MetadataOptions {
                http_endpoint: m.http_endpoint().map(|v| v.as_str().to_owned()),
                http_tokens: m.http_tokens().map(|v| v.as_str().to_owned()),
            }),
            monitoring: d.monitoring().and_then(|m| m.enabled()),
            instance_tags,
            tags,
        }
    }

    async fn describe(
        cx: &Ctx,
        ids: Option<Vec<String>>,
        filters: Option<Vec<Filter>>,
    ) -> Result<Vec<aws_sdk_ec2::types::LaunchTemplate>, ProviderError> {
        describe!(cx, describe_launch_templates, [set_launch_template_ids(ids), set_filters(filters)] => launch_templates, "DescribeLaunchTemplates")
    }

    /// Tags through the tag API, in one call for the batch: it is the
    /// source of truth (the emulator's template view keeps the tags given
    /// at create).
    async fn tags_of(cx: &Ctx, ids: &[String]) -> Result<BTreeMap<String, Tags>, ProviderError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let tags = cx
            .paged(|next| {
                let call = cx
                    .ec2()
                    .describe_tags()
                    .filters(filter("resource-id", ids.to_vec()))
                    .set_next_token(next);
                async move {
                    let out = cx.send("DescribeTags", Operation::Read, || call.clone().send()).await?;
                    Ok((out.tags.unwrap_or_default(), out.next_token))
                }
            })
            .await?;
        let mut by_id: BTreeMap<String, Tags> = BTreeMap::new();
        for t in &tags {
            if let (Some(id), Some(k)) = (t.resource_id(), t.key()) {
                by_id
                    .entry(id.to_owned())
                    .or_default()
                    .insert(k.to_owned(), t.value().unwrap_or_default().to_owned());
            }
        }
        Ok(by_id)
    }

    #[async_trait]
    impl Kind for LaunchTemplateKind {
        type Decl = LaunchTemplate;
        type Out = LaunchTemplateOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 300);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, LaunchTemplate>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let by_filter = |name: &str, value: &str| Some(vec![filter(name, [value.to_owned()])]);
            let templates = match by {
                // There is no ID filter.
                Lookup::Ids(ids) => by_id_list(ids, |ids| describe(cx, Some(ids), None)).await?,
                Lookup::Tag(k, v) => describe(cx, None, by_filter(&format!("tag:{k}"), v)).await?,
                // The name is unique per region.
                Lookup::Key(d) => describe(cx, None, by_filter("launch-template-name", &d.name)).await?,
            };
            let ids: Vec<String> =
                templates.iter().filter_map(|t| t.launch_template_id().map(str::to_owned)).collect();
            let mut tags_by_id = tags_of(cx, &ids).await?;
            let mut seen = Vec::new();
            for t in &templates {
                let id = t.launch_template_id().ok_or_else(|| missing("launch template ID"))?.to_owned();
                // A template's data lives in its default version: one call
                // per template (the API takes one template's versions at a
                // time).
                let call =
                    cx.ec2().describe_launch_template_versions().launch_template_id(&id).versions("$Default");
                let versions = match cx
                    .send("DescribeLaunchTemplateVersions", Operation::Read, || call.clone().send())
                    .await
                {
                    Err(e) if e.kind == ErrorKind::NotFound => continue, // deleted meanwhile
                    other => other?,
                };
                let data = versions.launch_template_versions().first().and_then(|v| v.launch_template_data());
                let tags = tags_by_id.remove(&id).unwrap_or_default();
                let decl = declared(t.launch_template_name().unwrap_or_default(), data, &tags);
                let out = LaunchTemplateOut {
                    id: LaunchTemplateId::unchecked(&id),
                    arn: Arn::unchecked(cx.arn("ec2", "", &format!("launch-template/{id}"))),
                    latest_version: t.latest_version_number().unwrap_or_default(),
                    default_version: t.default_version_number().unwrap_or_default(),
                };
                seen.push(Seen::ready(id, decl, out, tags));
            }
            Ok(seen)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &LaunchTemplate,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            // The emulator ignores the ClientToken: a retried create fails
            // with `AlreadyExists`, and the engine finds the template by its
            // name.
            let call = cx
                .ec2()
                .create_launch_template()
                .launch_template_name(&d.name)
                .launch_template_data(data(d))
                .client_token(token)
                .tag_specifications(tags_spec(ResourceType::LaunchTemplate, tags));
            let out = cx.send("CreateLaunchTemplate", Operation::Create, || call.clone().send()).await?;
            out.launch_template
                .and_then(|t| t.launch_template_id)
                .ok_or_else(|| missing("launch template ID"))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, LaunchTemplate>,
        ) -> Result<(), ProviderError> {
            let after = change.after;
            // New data is a new version, made the default. Its ClientToken
            // comes from the template and the data, so a retried update
            // returns the version it made instead of adding another.
            let mut h = DefaultHasher::new();
            format!("{after:?}").hash(&mut h);
            let call = cx
                .ec2()
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(data(after))
                .client_token(format!("{id}-{:016x}", h.finish()));
            let out =
                cx.send("CreateLaunchTemplateVersion", Operation::Update, || call.clone().send()).await?;
            let number = out
                .launch_template_version
                .and_then(|v| v.version_number)
                .ok_or_else(|| missing("version"))?;
            let call =
                cx.ec2().modify_launch_template().launch_template_id(id).default_version(number.to_string());
            cx.send("ModifyLaunchTemplate", Operation::Update, || call.clone().send()).await.map(|_| ())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &LaunchTemplate) -> Result<(), ProviderError> {
            let call = cx.ec2().delete_launch_template().launch_template_id(id);
            cx.send("DeleteLaunchTemplate", Operation::Delete, || call.clone().send()).await.map(|_| ())
        }
    }
}
