use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, FlowLogId, RoleArn, VpcId};

/// A VPC flow log (`aws_flow_log`) to CloudWatch Logs or S3. A VPC takes one
/// flow log per destination and configuration, so a replacement deletes the
/// old one first.
///
/// Outputs: `flow_log.id()` (`FlowLogId`) and `flow_log.arn()` (`Arn`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{FlowLog, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// stack.add("vpc-flow-log", FlowLog {
///     vpc_id: vpc.id().into(),
///     traffic_type: "REJECT".into(),
///     log_destination_type: Some("s3".into()),
///     log_destination: Some("arn:aws:s3:::example-flow-logs".into()),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:FlowLog",
    outputs(id: FlowLogId, arn: Arn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_flow_log,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct FlowLog {
    /// The VPC whose traffic is logged.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    #[resource(force_new)]
    pub traffic_type: String,
    /// `cloud-watch-logs` (default, recorded as unset) or `s3`.
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
    /// 60 or 600 (default, recorded as unset) seconds.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_aggregation_interval: Option<i32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_flow_log(f: &FlowLog, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &f.tags);
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

/// The defaults recorded as unset, the way a read reports them, so that
/// either spelling converges.
fn defaults_unset(f: &mut FlowLog) {
    if f.log_destination_type.as_deref() == Some("cloud-watch-logs") {
        f.log_destination_type = None;
    }
    if f.max_aggregation_interval == Some(600) {
        f.max_aggregation_interval = None;
    }
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType, UnsuccessfulItem,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{FlowLog, FlowLogOut};
    use crate::ec2::sdk::{describe, lookup_filters, tag_map, tags_spec};
    use crate::ids::{Arn, FlowLogId, RoleArn, VpcId};
    use crate::kit::{Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};

    /// `aws:ec2:FlowLog` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct FlowLogKind;

    /// The error of an item the call reports unsuccessful (CreateFlowLogs
    /// and DeleteFlowLogs answer 200 and list their failures).
    fn failed(items: &[UnsuccessfulItem], what: &str) -> Result<(), ProviderError> {
        let Some(e) = items.first().map(|u| u.error()) else { return Ok(()) };
        let code = e.and_then(|e| e.code()).unwrap_or("Unsuccessful");
        let message = e.and_then(|e| e.message()).unwrap_or(what);
        let kind = if code.contains("NotFound") { ErrorKind::NotFound } else { ErrorKind::Final };
        Err(ProviderError::new(kind, message).with_code(code))
    }

    #[async_trait]
    impl Kind for FlowLogKind {
        type Decl = FlowLog;
        type Out = FlowLogOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(3, 2, 2, 2, 300);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, FlowLog>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Some(filters) = lookup_filters(&by, "flow-log-id", |_| None) else { return Ok(Vec::new()) };
            let logs =
                describe!(cx, describe_flow_logs, set_filter(filters) => flow_logs, "DescribeFlowLogs")?;
            logs.iter()
                .map(|fl| {
                    let id = fl.flow_log_id().ok_or_else(|| missing("flow log ID"))?.to_owned();
                    let tags = tag_map(fl.tags());
                    let decl = FlowLog {
                        vpc_id: Input::Value(VpcId::unchecked(fl.resource_id().unwrap_or_default())),
                        traffic_type: fl.traffic_type().map_or("ALL", |t| t.as_str()).to_owned(),
                        log_destination_type: fl.log_destination_type().map(|t| t.as_str().to_owned()),
                        log_destination: fl.log_destination().map(|d| Input::Value(d.to_owned())),
                        iam_role_arn: fl
                            .deliver_logs_permission_arn()
                            .map(|r| Input::Value(RoleArn::unchecked(r))),
                        max_aggregation_interval: fl.max_aggregation_interval(),
                        tags: user_tags(&tags),
                    };
                    let out = FlowLogOut {
                        id: FlowLogId::unchecked(&id),
                        arn: Arn::unchecked(cx.arn("ec2", "", &format!("vpc-flow-log/{id}"))),
                    };
                    Ok(Seen::ready(id, decl, out, tags))
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &FlowLog,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .ec2()
                .create_flow_logs()
                .resource_ids(d.vpc_id.id())
                .resource_type(FlowLogsResourceType::Vpc)
                .traffic_type(TrafficType::from(d.traffic_type.as_str()))
                .set_log_destination_type(d.log_destination_type.as_deref().map(LogDestinationType::from))
                .set_log_destination(d.log_destination.as_ref().map(|l| l.as_str().to_owned()))
                .set_deliver_logs_permission_arn(d.iam_role_arn.as_ref().map(|r| r.id().to_owned()))
                .set_max_aggregation_interval(d.max_aggregation_interval)
                .client_token(token)
                .tag_specifications(tags_spec(ResourceType::VpcFlowLog, tags));
            let out = cx.send("CreateFlowLogs", Operation::Create, || call.clone().send()).await?;
            failed(out.unsuccessful(), "the flow log was not created")?;
            out.flow_log_ids().first().cloned().ok_or_else(|| missing("flow log ID"))
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &FlowLog) -> Result<(), ProviderError> {
            let out = cx
                .send("DeleteFlowLogs", Operation::Delete, || {
                    cx.ec2().delete_flow_logs().flow_log_ids(id).send()
                })
                .await?;
            failed(out.unsuccessful(), "the delete failed")
        }
    }
}
