use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, FlowLogId, RoleArn, VpcId};

/// A VPC flow log (`aws_flow_log`) to CloudWatch Logs or S3. A VPC takes one
/// flow log per destination and configuration, so a replacement deletes the
/// old one first.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:FlowLog",
    outputs(id: FlowLogId, arn: Arn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_flow_log
)]
pub struct FlowLog {
    /// The VPC whose traffic is logged.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    #[resource(force_new)]
    pub traffic_type: String,
    /// `cloud-watch-logs` (default) or `s3`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_destination_type: Option<String>,
    /// The destination's ARN (a log group or a bucket).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_destination: Option<Input<String>>,
    /// The role that delivers to CloudWatch Logs.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_role_arn: Option<Input<RoleArn>>,
    /// 60 or 600 seconds.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_aggregation_interval: Option<i32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_flow_log(f: &FlowLog, ctx: &mut ValidationContext<'_>) {
    if !matches!(f.traffic_type.as_str(), "ACCEPT" | "REJECT" | "ALL") {
        ctx.error("traffic_type", format!("{:?} must be ACCEPT, REJECT or ALL", f.traffic_type));
    }
    if let Some(t) = &f.log_destination_type
        && t != "cloud-watch-logs"
        && t != "s3"
    {
        ctx.error("log_destination_type", format!("{t:?} must be cloud-watch-logs or s3"));
    }
    if let Some(i) = f.max_aggregation_interval
        && i != 60
        && i != 600
    {
        ctx.error("max_aggregation_interval", format!("{i} must be 60 or 600"));
    }
}

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError,
        ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use crate::ec2::sdk::{filter, missing, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{Ctx, fields, int_of, opt_str, opt_value, req_str, sdk_error, tags_value, user_tags};

    /// `aws:ec2:FlowLog` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct FlowLogProvider(pub(crate) Arc<Ctx>);

    impl FlowLogProvider {
        async fn describe(
            &self,
            filters: Vec<aws_sdk_ec2::types::Filter>,
        ) -> Result<Vec<Observed>, ProviderError> {
            let mut pages =
                self.0.ec2().describe_flow_logs().set_filter(Some(filters)).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeFlowLogs");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for fl in page.flow_logs() {
                    let id = fl.flow_log_id().ok_or_else(|| missing("flow log ID"))?.to_owned();
                    let dest_type = fl.log_destination_type().map(|t| t.as_str().to_owned());
                    let inputs = fields([
                        ("vpc_id", Value::from(fl.resource_id().unwrap_or_default())),
                        ("traffic_type", Value::from(fl.traffic_type().map(|t| t.as_str()).unwrap_or("ALL"))),
                        (
                            "log_destination_type",
                            opt_value(dest_type.as_deref().filter(|t| *t != "cloud-watch-logs")),
                        ),
                        ("log_destination", opt_value(fl.log_destination())),
                        ("iam_role_arn", opt_value(fl.deliver_logs_permission_arn())),
                        (
                            "max_aggregation_interval",
                            fl.max_aggregation_interval().map_or(Value::Null, |i| Value::from(i64::from(i))),
                        ),
                        ("tags", tags_value(tag_pairs(fl.tags()))),
                    ]);
                    let outputs = fields([
                        ("id", Value::from(id.clone())),
                        ("arn", Value::from(format!("arn:aws:ec2:{}::vpc-flow-log/{id}", self.0.region))),
                    ]);
                    out.push(Observed { id, inputs, outputs });
                }
            }
            Ok(out)
        }
    }

    #[async_trait]
    impl ResourceProvider for FlowLogProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(3),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(2),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateFlowLogs");
            let mut call = self
                .0
                .ec2()
                .create_flow_logs()
                .resource_ids(req_str(f, "vpc_id")?)
                .resource_type(FlowLogsResourceType::Vpc)
                .traffic_type(TrafficType::from(req_str(f, "traffic_type")?.as_str()))
                .client_token(&req.token)
                .tag_specifications(tag_spec(ResourceType::VpcFlowLog, f, &req.tags));
            if let Some(t) = opt_str(f, "log_destination_type") {
                call = call.log_destination_type(LogDestinationType::from(t.as_str()));
            }
            if let Some(d) = opt_str(f, "log_destination") {
                call = call.log_destination(d);
            }
            if let Some(r) = opt_str(f, "iam_role_arn") {
                call = call.deliver_logs_permission_arn(r);
            }
            if let Some(i) = int_of(f, "max_aggregation_interval").and_then(|i| i32::try_from(i).ok()) {
                call = call.max_aggregation_interval(i);
            }
            let out = call.send().await.map_err(|e| sdk_error(e, Operation::Create))?;
            if let Some(u) = out.unsuccessful().first() {
                let msg =
                    u.error().and_then(|e| e.message()).unwrap_or("the flow log was not created").to_owned();
                let code = u.error().and_then(|e| e.code()).unwrap_or("Unsuccessful").to_owned();
                return Err(ProviderError::new(ErrorKind::Final, msg).with_code(code));
            }
            let id = out.flow_log_ids().first().ok_or_else(|| missing("flow log ID"))?.clone();
            self.describe(vec![filter("flow-log-id", [id])])
                .await?
                .pop()
                .ok_or_else(|| missing("new flow log"))
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("flow-log-id", req.ids)]).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(&req.before), &user_tags(&req.after)).await?;
            }
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteFlowLogs");
            let out = self
                .0
                .ec2()
                .delete_flow_logs()
                .flow_log_ids(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            match out.unsuccessful().first().and_then(|u| u.error()) {
                Some(e) if e.code().is_some_and(|c| c.contains("NotFound")) => {
                    Err(ProviderError::new(ErrorKind::NotFound, e.message().unwrap_or("not found")))
                }
                Some(e) => Err(ProviderError::new(ErrorKind::Final, e.message().unwrap_or("delete failed"))
                    .with_code(e.code().unwrap_or("Unsuccessful"))),
                None => Ok(()),
            }
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(Readiness::Ready { outputs: Fields::new() })
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)]).await?.into_iter().next())
        }
    }
}
