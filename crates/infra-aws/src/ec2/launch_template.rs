use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, LaunchTemplateId, SecurityGroupId};

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
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:LaunchTemplate",
    outputs(id: LaunchTemplateId, arn: Arn, latest_version: i64, default_version: i64),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_template
)]
pub struct LaunchTemplate {
    /// The template's name (unique per region).
    #[resource(force_new)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpc_security_group_ids: Vec<Input<SecurityGroupId>>,
    /// The IAM instance profile's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_instance_profile: Option<Input<String>>,
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

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
        LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
        LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
        LaunchTemplateTagSpecificationRequest, LaunchTemplatesMonitoringRequest, RequestLaunchTemplateData,
        ResourceType, ResponseLaunchTemplateData, Tag, VolumeType,
    };
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, FindRequest, Observed, Operation, ProviderError, ReadRequest,
        ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{missing, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{
        Ctx, fields, list_value, opt_str, opt_value, req_str, sdk_error, str_list, tags_value, user_tags,
    };

    /// `aws:ec2:LaunchTemplate` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct LaunchTemplateProvider(pub(crate) Arc<Ctx>);

    fn map_of(v: Option<&Value>) -> BTreeMap<String, Value> {
        match v.map(Value::reveal) {
            Some(Value::Map(m)) => m,
            _ => BTreeMap::new(),
        }
    }

    fn opt_bool(f: &Fields, name: &str) -> Option<bool> {
        match f.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn i32_of(m: &BTreeMap<String, Value>, name: &str) -> Option<i32> {
        m.get(name).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok())
    }

    fn bool_in(m: &BTreeMap<String, Value>, name: &str) -> Option<bool> {
        match m.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The template data the inputs describe.
    fn data(f: &Fields) -> RequestLaunchTemplateData {
        let mut d = RequestLaunchTemplateData::builder()
            .set_image_id(opt_str(f, "image_id"))
            .set_instance_type(opt_str(f, "instance_type").map(|t| t.as_str().into()))
            .set_key_name(opt_str(f, "key_name"))
            .set_user_data(opt_str(f, "user_data"))
            .set_ebs_optimized(opt_bool(f, "ebs_optimized"));
        let sgs = str_list(f, "vpc_security_group_ids");
        if !sgs.is_empty() {
            d = d.set_security_group_ids(Some(sgs));
        }
        if let Some(p) = opt_str(f, "iam_instance_profile") {
            d = d.iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder().name(p).build(),
            );
        }
        if let Some(m) = opt_bool(f, "monitoring") {
            d = d.monitoring(LaunchTemplatesMonitoringRequest::builder().enabled(m).build());
        }
        if let Some(Value::List(devices)) = f.get("block_device_mappings").map(Value::reveal) {
            for dev in devices {
                let Value::Map(dev) = dev else { continue };
                let name = dev.get("device_name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let ebs = map_of(dev.get("ebs"));
                let mut b = LaunchTemplateBlockDeviceMappingRequest::builder().device_name(name);
                if !ebs.is_empty() {
                    b = b.ebs(
                        LaunchTemplateEbsBlockDeviceRequest::builder()
                            .set_volume_size(i32_of(&ebs, "volume_size"))
                            .set_volume_type(
                                ebs.get("volume_type").and_then(Value::as_str).map(VolumeType::from),
                            )
                            .set_delete_on_termination(bool_in(&ebs, "delete_on_termination"))
                            .set_encrypted(bool_in(&ebs, "encrypted"))
                            .build(),
                    );
                }
                d = d.block_device_mappings(b.build());
            }
        }
        let meta = map_of(f.get("metadata_options"));
        if !meta.is_empty() {
            d = d.metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .set_http_endpoint(
                        meta.get("http_endpoint")
                            .and_then(Value::as_str)
                            .map(LaunchTemplateInstanceMetadataEndpointState::from),
                    )
                    .set_http_tokens(
                        meta.get("http_tokens")
                            .and_then(Value::as_str)
                            .map(LaunchTemplateHttpTokensState::from),
                    )
                    .build(),
            );
        }
        let instance_tags = match f.get("instance_tags").map(Value::reveal) {
            Some(Value::Map(m)) => m,
            _ => BTreeMap::new(),
        };
        if !instance_tags.is_empty() {
            d = d.tag_specifications(
                LaunchTemplateTagSpecificationRequest::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(
                        instance_tags
                            .iter()
                            .map(|(k, v)| Tag::builder().key(k).value(v.as_str().unwrap_or_default()).build())
                            .collect(),
                    ))
                    .build(),
            );
        }
        d.build()
    }

    /// The inputs a version's data describes (the inverse of [`data`]).
    fn inputs_of(name: &str, d: Option<&ResponseLaunchTemplateData>, tags: Value) -> Fields {
        let Some(d) = d else { return fields([("name", Value::from(name)), ("tags", tags)]) };
        let devices: Vec<Value> = d
            .block_device_mappings()
            .iter()
            .map(|b| {
                let mut m = BTreeMap::from([(
                    "device_name".to_string(),
                    Value::from(b.device_name().unwrap_or_default()),
                )]);
                if let Some(e) = b.ebs() {
                    let ebs = fields([
                        ("volume_size", e.volume_size().map_or(Value::Null, |v| Value::from(i64::from(v)))),
                        ("volume_type", opt_value(e.volume_type().map(|v| v.as_str()))),
                        ("delete_on_termination", e.delete_on_termination().map_or(Value::Null, Value::Bool)),
                        ("encrypted", e.encrypted().map_or(Value::Null, Value::Bool)),
                    ]);
                    m.insert("ebs".into(), Value::Map(ebs));
                }
                Value::Map(m)
            })
            .collect();
        let meta = d.metadata_options().map(|m| {
            Value::Map(fields([
                ("http_endpoint", opt_value(m.http_endpoint().map(|v| v.as_str()))),
                ("http_tokens", opt_value(m.http_tokens().map(|v| v.as_str()))),
            ]))
        });
        let instance_tags = d
            .tag_specifications()
            .iter()
            .filter(|t| t.resource_type().is_some_and(|r| *r == ResourceType::Instance))
            .flat_map(|t| t.tags())
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
            .collect::<Vec<_>>();
        fields([
            ("name", Value::from(name)),
            ("image_id", opt_value(d.image_id())),
            ("instance_type", opt_value(d.instance_type().map(|t| t.as_str()))),
            ("key_name", opt_value(d.key_name())),
            ("vpc_security_group_ids", list_value(d.security_group_ids().iter().cloned())),
            ("iam_instance_profile", opt_value(d.iam_instance_profile().and_then(|p| p.name()))),
            ("user_data", opt_value(d.user_data())),
            ("ebs_optimized", d.ebs_optimized().map_or(Value::Null, Value::Bool)),
            ("block_device_mappings", Value::List(devices)),
            ("metadata_options", meta.unwrap_or(Value::Null)),
            ("monitoring", d.monitoring().and_then(|m| m.enabled()).map_or(Value::Null, Value::Bool)),
            ("instance_tags", tags_value(instance_tags)),
            ("tags", tags),
        ])
    }

    impl LaunchTemplateProvider {
        /// Reads templates by ID list (the emulator lacks the ID filter); see
        /// [`crate::ec2::sdk::by_ids`].
        async fn describe_ids(&self, ids: Vec<String>) -> Result<Vec<Observed>, ProviderError> {
            crate::ec2::sdk::by_ids(ids, |ids| self.describe_with(ids, Vec::new())).await
        }

        async fn describe(
            &self,
            filters: Vec<aws_sdk_ec2::types::Filter>,
        ) -> Result<Vec<Observed>, ProviderError> {
            self.describe_with(Vec::new(), filters).await
        }

        async fn describe_with(
            &self,
            ids: Vec<String>,
            filters: Vec<aws_sdk_ec2::types::Filter>,
        ) -> Result<Vec<Observed>, ProviderError> {
            let ec2 = self.0.ec2();
            let mut call = ec2.describe_launch_templates();
            if !ids.is_empty() {
                call = call.set_launch_template_ids(Some(ids));
            }
            if !filters.is_empty() {
                call = call.set_filters(Some(filters));
            }
            let mut pages = call.into_paginator().send();
            let mut templates = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeLaunchTemplates");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                templates.extend(page.launch_templates().iter().cloned());
            }
            // Tags through the tag API, in one call for the batch: it is the
            // source of truth (the emulator's template view keeps the tags
            // given at create).
            let ids: Vec<String> =
                templates.iter().filter_map(|t| t.launch_template_id().map(str::to_owned)).collect();
            let mut tags_by_id: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            if !ids.is_empty() {
                let mut tag_pages = ec2
                    .describe_tags()
                    .filters(crate::ec2::sdk::filter("resource-id", ids.clone()))
                    .into_paginator()
                    .send();
                while let Some(page) = tag_pages.next().await {
                    self.0.stats.count("DescribeTags");
                    let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                    for t in page.tags() {
                        if let (Some(id), Some(k)) = (t.resource_id(), t.key()) {
                            tags_by_id
                                .entry(id.to_owned())
                                .or_default()
                                .insert(k.to_owned(), t.value().unwrap_or_default().to_owned());
                        }
                    }
                }
                for id in &ids {
                    tags_by_id.entry(id.clone()).or_default();
                }
            }
            let mut out = Vec::new();
            {
                for t in &templates {
                    let id = t.launch_template_id().ok_or_else(|| missing("launch template ID"))?.to_owned();
                    let name = t.launch_template_name().unwrap_or_default().to_owned();
                    // A template's data lives in its default version: one
                    // call per template (the API takes one template's versions
                    // at a time).
                    self.0.stats.count("DescribeLaunchTemplateVersions");
                    let versions = ec2
                        .describe_launch_template_versions()
                        .launch_template_id(&id)
                        .versions("$Default")
                        .send()
                        .await
                        .map_err(|e| sdk_error(e, Operation::Read))?;
                    let data =
                        versions.launch_template_versions().first().and_then(|v| v.launch_template_data());
                    let tags = match tags_by_id.get(&id) {
                        Some(t) => tags_value(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                        None => tags_value(tag_pairs(t.tags())),
                    };
                    let inputs = inputs_of(&name, data, tags);
                    let outputs = fields([
                        ("id", Value::from(id.clone())),
                        ("arn", Value::from(format!("arn:aws:ec2:{}::launch-template/{id}", self.0.region))),
                        ("latest_version", t.latest_version_number().map_or(Value::Null, Value::from)),
                        ("default_version", t.default_version_number().map_or(Value::Null, Value::from)),
                    ]);
                    out.push(Observed { id, inputs, outputs });
                }
            }
            Ok(out)
        }
    }

    #[async_trait]
    impl ResourceProvider for LaunchTemplateProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(2),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(2),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateLaunchTemplate");
            let out = self
                .0
                .ec2()
                .create_launch_template()
                .launch_template_name(req_str(f, "name")?)
                .launch_template_data(data(f))
                .client_token(&req.token)
                .tag_specifications(tag_spec(ResourceType::LaunchTemplate, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            let id = out
                .launch_template()
                .and_then(|t| t.launch_template_id())
                .ok_or_else(|| missing("launch template ID"))?
                .to_owned();
            self.describe_ids(vec![id]).await?.pop().ok_or_else(|| missing("new launch template"))
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe_ids(req.ids).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let ec2 = self.0.ec2();
            if req.changed.iter().any(|c| c != "tags") {
                self.0.stats.count("CreateLaunchTemplateVersion");
                let v = ec2
                    .create_launch_template_version()
                    .launch_template_id(&req.id)
                    .launch_template_data(data(&req.after))
                    .client_token(&req.token)
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, Operation::Update))?;
                let number = v
                    .launch_template_version()
                    .and_then(|v| v.version_number())
                    .ok_or_else(|| missing("version"))?;
                self.0.stats.count("ModifyLaunchTemplate");
                ec2.modify_launch_template()
                    .launch_template_id(&req.id)
                    .default_version(number.to_string())
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, Operation::Update))?;
            }
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            let now = self.describe_ids(vec![req.id.clone()]).await?;
            Ok(now.into_iter().next().map(|o| o.outputs).unwrap_or_default())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteLaunchTemplate");
            self.0
                .ec2()
                .delete_launch_template()
                .launch_template_id(&req.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(e, Operation::Delete))
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(Readiness::Ready { outputs: Fields::new() })
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)]).await?.into_iter().next())
        }
    }
}
