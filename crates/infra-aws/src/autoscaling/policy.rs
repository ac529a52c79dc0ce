use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{AutoScalingGroupName, ScalingPolicyArn};

/// How a simple or step policy's adjustment counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustmentType {
    /// Add (or remove) this many instances.
    #[default]
    ChangeInCapacity,
    /// Set the capacity to this.
    ExactCapacity,
    /// Add (or remove) this percentage of the capacity.
    PercentChangeInCapacity,
}

impl AdjustmentType {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentType::ChangeInCapacity => "ChangeInCapacity",
            AdjustmentType::ExactCapacity => "ExactCapacity",
            AdjustmentType::PercentChangeInCapacity => "PercentChangeInCapacity",
        }
    }

    /// From the API's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ChangeInCapacity, Self::ExactCapacity, Self::PercentChangeInCapacity]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// One step of a step policy: the adjustment for a breach between the
/// bounds (relative to the alarm's threshold; an open end is unset).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepAdjustment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i32,
}

/// The group metrics a target tracking policy can track without a
/// customized metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PredefinedMetricType {
    #[default]
    #[serde(rename = "ASGAverageCPUUtilization")]
    AsgAverageCpuUtilization,
    #[serde(rename = "ASGAverageNetworkIn")]
    AsgAverageNetworkIn,
    #[serde(rename = "ASGAverageNetworkOut")]
    AsgAverageNetworkOut,
    /// Needs `resource_label` (the load balancer's and target group's ARN
    /// suffixes).
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

impl PredefinedMetricType {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PredefinedMetricType::AsgAverageCpuUtilization => "ASGAverageCPUUtilization",
            PredefinedMetricType::AsgAverageNetworkIn => "ASGAverageNetworkIn",
            PredefinedMetricType::AsgAverageNetworkOut => "ASGAverageNetworkOut",
            PredefinedMetricType::AlbRequestCountPerTarget => "ALBRequestCountPerTarget",
        }
    }
}

/// The metric a target tracking policy keeps at its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrackedMetric {
    /// A predefined group metric.
    Predefined {
        predefined_metric_type: PredefinedMetricType,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource_label: Option<String>,
    },
    /// A CloudWatch metric of one's own.
    Customized {
        metric_name: String,
        namespace: String,
        /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum`.
        statistic: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        dimensions: BTreeMap<String, String>,
    },
}

impl Default for TrackedMetric {
    fn default() -> Self {
        TrackedMetric::Predefined {
            predefined_metric_type: PredefinedMetricType::AsgAverageCpuUtilization,
            resource_label: None,
        }
    }
}

/// What a policy does (`policy_type` and its settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PolicyType {
    /// One adjustment per alarm, then a cooldown.
    SimpleScaling {
        adjustment_type: AdjustmentType,
        scaling_adjustment: i32,
        /// Seconds; unset: the group's default cooldown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cooldown: Option<i32>,
        /// For `PercentChangeInCapacity`: at least this many instances.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_adjustment_magnitude: Option<i32>,
    },
    /// Adjustments by how far the alarm's metric is past its threshold.
    StepScaling {
        adjustment_type: AdjustmentType,
        step_adjustments: Vec<StepAdjustment>,
        /// `Average` (the default, recorded as unset), `Minimum` or
        /// `Maximum`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metric_aggregation_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_instance_warmup: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_adjustment_magnitude: Option<i32>,
    },
    /// Keep a metric at a target value (AWS makes and owns the alarms).
    TargetTrackingScaling {
        metric: TrackedMetric,
        target_value: f64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        disable_scale_in: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_instance_warmup: Option<i32>,
    },
}

impl Default for PolicyType {
    fn default() -> Self {
        PolicyType::SimpleScaling {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            scaling_adjustment: 0,
            cooldown: None,
            min_adjustment_magnitude: None,
        }
    }
}

impl PolicyType {
    /// A simple policy adding `n` instances (removing, when negative).
    pub fn change_in_capacity(n: i32, cooldown: i32) -> Self {
        PolicyType::SimpleScaling {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            scaling_adjustment: n,
            cooldown: Some(cooldown),
            min_adjustment_magnitude: None,
        }
    }

    /// A target tracking policy keeping the group's average CPU at
    /// `percent`.
    pub fn average_cpu(percent: f64) -> Self {
        PolicyType::TargetTrackingScaling {
            metric: TrackedMetric::default(),
            target_value: percent,
            disable_scale_in: false,
            estimated_instance_warmup: None,
        }
    }
}

/// A scaling policy of an Auto Scaling group (`aws_autoscaling_policy`):
/// simple, step or target tracking ([`PolicyType`]).
///
/// The group and the name identify it (changing either replaces it, the
/// old one first: a name is unique in its group); everything else changes
/// in place (`PutScalingPolicy` is an upsert). Its ID is its ARN.
///
/// Outputs: `policy.arn()` (`ScalingPolicyArn`), for an alarm's actions.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::autoscaling::{AutoScalingPolicy, PolicyType};
/// use infra::aws::ids::{AutoScalingGroupName, ScalingPolicyArn};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let up = stack.add("web-scale-up", AutoScalingPolicy {
///     name: "prod-web-scale-up".into(),
///     autoscaling_group_name: AutoScalingGroupName::unchecked("prod-web-asg").into(),
///     policy_type: PolicyType::change_in_capacity(1, 300),
/// });
/// let _alarm_action: Output<ScalingPolicyArn> = up.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:autoscaling:Policy",
    outputs(arn: ScalingPolicyArn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_policy,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct AutoScalingPolicy {
    /// Unique in its group.
    #[resource(force_new)]
    pub name: String,
    /// `asg.name()`.
    #[resource(force_new)]
    pub autoscaling_group_name: Input<AutoScalingGroupName>,
    pub policy_type: PolicyType,
}

fn validate_policy(p: &AutoScalingPolicy, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    super::check_name(ctx, "name", &p.name);
    let non_negative = |ctx: &mut ValidationContext<'_>, field: &str, v: Option<i32>| {
        if let Some(v) = v
            && v < 0
        {
            ctx.error(field, format!("{v} must be 0 or more"));
        }
    };
    let magnitude = |ctx: &mut ValidationContext<'_>, t: AdjustmentType, m: Option<i32>| {
        if m.is_some() && t != AdjustmentType::PercentChangeInCapacity {
            ctx.error("policy_type.min_adjustment_magnitude", "applies to PercentChangeInCapacity only");
        }
    };
    match &p.policy_type {
        PolicyType::SimpleScaling { adjustment_type, cooldown, min_adjustment_magnitude, .. } => {
            non_negative(ctx, "policy_type.cooldown", *cooldown);
            magnitude(ctx, *adjustment_type, *min_adjustment_magnitude);
        }
        PolicyType::StepScaling {
            adjustment_type,
            step_adjustments,
            metric_aggregation_type,
            estimated_instance_warmup,
            min_adjustment_magnitude,
        } => {
            magnitude(ctx, *adjustment_type, *min_adjustment_magnitude);
            non_negative(ctx, "policy_type.estimated_instance_warmup", *estimated_instance_warmup);
            if step_adjustments.is_empty() {
                ctx.error("policy_type.step_adjustments", "a step policy needs at least one step");
            }
            for (i, s) in step_adjustments.iter().enumerate() {
                if let (Some(lo), Some(hi)) = (s.metric_interval_lower_bound, s.metric_interval_upper_bound)
                    && lo >= hi
                {
                    ctx.error(
                        &format!("policy_type.step_adjustments[{i}].metric_interval_upper_bound"),
                        format!("{hi} must be greater than the lower bound {lo}"),
                    );
                }
            }
            let open_low =
                step_adjustments.iter().filter(|s| s.metric_interval_lower_bound.is_none()).count();
            let open_high =
                step_adjustments.iter().filter(|s| s.metric_interval_upper_bound.is_none()).count();
            if open_low > 1 || open_high > 1 {
                ctx.error("policy_type.step_adjustments", "at most one step may leave each bound open");
            }
            if let Some(m) = metric_aggregation_type
                && !matches!(m.as_str(), "Average" | "Minimum" | "Maximum")
            {
                ctx.error(
                    "policy_type.metric_aggregation_type",
                    format!("{m:?} must be Average, Minimum or Maximum"),
                );
            }
        }
        PolicyType::TargetTrackingScaling { metric, target_value, estimated_instance_warmup, .. } => {
            non_negative(ctx, "policy_type.estimated_instance_warmup", *estimated_instance_warmup);
            if !target_value.is_finite() || *target_value <= 0.0 {
                ctx.error("policy_type.target_value", format!("{target_value} must be greater than 0"));
            }
            match metric {
                TrackedMetric::Predefined { predefined_metric_type, resource_label } => {
                    let alb = *predefined_metric_type == PredefinedMetricType::AlbRequestCountPerTarget;
                    if alb != resource_label.is_some() {
                        ctx.error(
                            "policy_type.metric.resource_label",
                            "ALBRequestCountPerTarget needs a resource_label; the other metrics take none",
                        );
                    }
                }
                TrackedMetric::Customized { statistic, .. } => {
                    if !matches!(
                        statistic.as_str(),
                        "Average" | "Minimum" | "Maximum" | "SampleCount" | "Sum"
                    ) {
                        ctx.error(
                            "policy_type.metric.statistic",
                            format!("{statistic:?} must be Average, Minimum, Maximum, SampleCount or Sum"),
                        );
                    }
                }
            }
        }
    }
}

/// AWS's defaults recorded as unset.
fn defaults_unset(p: &mut AutoScalingPolicy) {
    if let PolicyType::StepScaling { metric_aggregation_type, .. } = &mut p.policy_type
        && metric_aggregation_type.as_deref() == Some("Average")
    {
        *metric_aggregation_type = None;
    }
}

#[cfg(feature = "autoscaling")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_autoscaling::types::{
        CustomizedMetricSpecification, MetricDimension, MetricStatistic, MetricType,
        PredefinedMetricSpecification, ScalingPolicy, StepAdjustment as SdkStep, TargetTrackingConfiguration,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{
        AdjustmentType, AutoScalingPolicy, AutoScalingPolicyOut, PolicyType, StepAdjustment, TrackedMetric,
    };
    use crate::autoscaling::sdk::done_if_gone;
    use crate::ids::{AutoScalingGroupName, ScalingPolicyArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle};

    /// `aws:autoscaling:Policy` through the Auto Scaling API.
    #[derive(Debug)]
    pub(crate) struct PolicyKind;

    /// The group and the policy's name in a policy ARN
    /// (`…:scalingPolicy:<uuid>:autoScalingGroupName/<group>:policyName/<name>`).
    fn parse_arn(arn: &str) -> Option<(String, String)> {
        let (rest, name) = arn.rsplit_once(":policyName/")?;
        let (_, group) = rest.rsplit_once(":autoScalingGroupName/")?;
        Some((group.to_owned(), name.to_owned()))
    }

    /// Policies of `group` named `names` (all of them when empty).
    async fn describe(
        cx: &Ctx,
        group: &str,
        names: Vec<String>,
    ) -> Result<Vec<ScalingPolicy>, ProviderError> {
        let found = cx
            .paged(|next| {
                let call = cx
                    .autoscaling()
                    .describe_policies()
                    .auto_scaling_group_name(group)
                    .set_policy_names((!names.is_empty()).then(|| names.clone()))
                    .set_next_token(next);
                async move {
                    let out = cx
                        .send_in(Service::AutoScaling, "DescribePolicies", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    Ok((out.scaling_policies.unwrap_or_default(), out.next_token))
                }
            })
            .await;
        match found {
            // The group is gone, and its policies with it.
            Err(e) if crate::autoscaling::sdk::is_gone(&e) => Ok(Vec::new()),
            other => other,
        }
    }

    fn adjustment(p: &ScalingPolicy) -> AdjustmentType {
        p.adjustment_type().and_then(AdjustmentType::parse).unwrap_or_default()
    }

    fn declared(p: &ScalingPolicy) -> PolicyType {
        match p.policy_type().unwrap_or("SimpleScaling") {
            "StepScaling" => PolicyType::StepScaling {
                adjustment_type: adjustment(p),
                step_adjustments: p
                    .step_adjustments()
                    .iter()
                    .map(|s| StepAdjustment {
                        metric_interval_lower_bound: s.metric_interval_lower_bound(),
                        metric_interval_upper_bound: s.metric_interval_upper_bound(),
                        scaling_adjustment: s.scaling_adjustment().unwrap_or_default(),
                    })
                    .collect(),
                metric_aggregation_type: p.metric_aggregation_type().map(str::to_owned),
                estimated_instance_warmup: p.estimated_instance_warmup(),
                min_adjustment_magnitude: p.min_adjustment_magnitude(),
            },
            "TargetTrackingScaling" => {
                let t = p.target_tracking_configuration();
                let metric = match t.and_then(|t| t.customized_metric_specification()) {
                    Some(c) => TrackedMetric::Customized {
                        metric_name: c.metric_name().unwrap_or_default().to_owned(),
                        namespace: c.namespace().unwrap_or_default().to_owned(),
                        statistic: c.statistic().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        unit: c.unit().map(str::to_owned),
                        dimensions: c
                            .dimensions()
                            .iter()
                            .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
                            .collect(),
                    },
                    None => {
                        let m = t.and_then(|t| t.predefined_metric_specification());
                        let kind = m.and_then(|m| m.predefined_metric_type()).map(|k| k.as_str());
                        TrackedMetric::Predefined {
                            predefined_metric_type: serde_json::from_value(serde_json::Value::String(
                                kind.unwrap_or_default().to_owned(),
                            ))
                            .unwrap_or_default(),
                            resource_label: m.and_then(|m| m.resource_label()).map(str::to_owned),
                        }
                    }
                };
                PolicyType::TargetTrackingScaling {
                    metric,
                    target_value: t.and_then(|t| t.target_value()).unwrap_or_default(),
                    disable_scale_in: t.and_then(|t| t.disable_scale_in()).unwrap_or(false),
                    estimated_instance_warmup: p.estimated_instance_warmup(),
                }
            }
            _ => PolicyType::SimpleScaling {
                adjustment_type: adjustment(p),
                scaling_adjustment: p.scaling_adjustment().unwrap_or_default(),
                cooldown: p.cooldown(),
                min_adjustment_magnitude: p.min_adjustment_magnitude(),
            },
        }
    }

    fn seen(p: &ScalingPolicy) -> Result<Seen<PolicyKind>, ProviderError> {
        let arn = p.policy_arn().ok_or_else(|| missing("policy ARN"))?.to_owned();
        let decl = AutoScalingPolicy {
            name: p.policy_name().unwrap_or_default().to_owned(),
            autoscaling_group_name: Input::Value(AutoScalingGroupName::unchecked(
                p.auto_scaling_group_name().unwrap_or_default(),
            )),
            policy_type: declared(p),
        };
        let out = AutoScalingPolicyOut { arn: ScalingPolicyArn::unchecked(&arn) };
        Ok(Seen::ready(arn, decl, out, Tags::new()))
    }

    /// `PutScalingPolicy` of the declaration: creates or replaces the
    /// policy's settings (an upsert, so a repeated call is harmless).
    async fn put(cx: &Ctx, d: &AutoScalingPolicy, op: Operation) -> Result<(), ProviderError> {
        let mut call = cx
            .autoscaling()
            .put_scaling_policy()
            .auto_scaling_group_name(d.autoscaling_group_name.id())
            .policy_name(&d.name);
        match &d.policy_type {
            PolicyType::SimpleScaling {
                adjustment_type,
                scaling_adjustment,
                cooldown,
                min_adjustment_magnitude,
            } => {
                call = call
                    .policy_type("SimpleScaling")
                    .adjustment_type(adjustment_type.as_str())
                    .scaling_adjustment(*scaling_adjustment)
                    .set_cooldown(*cooldown)
                    .set_min_adjustment_magnitude(*min_adjustment_magnitude);
            }
            PolicyType::StepScaling {
                adjustment_type,
                step_adjustments,
                metric_aggregation_type,
                estimated_instance_warmup,
                min_adjustment_magnitude,
            } => {
                let steps: Vec<SdkStep> = step_adjustments
                    .iter()
                    .map(|s| {
                        SdkStep::builder()
                            .set_metric_interval_lower_bound(s.metric_interval_lower_bound)
                            .set_metric_interval_upper_bound(s.metric_interval_upper_bound)
                            .scaling_adjustment(s.scaling_adjustment)
                            .build()
                    })
                    .collect();
                call = call
                    .policy_type("StepScaling")
                    .adjustment_type(adjustment_type.as_str())
                    .set_step_adjustments(Some(steps))
                    .set_metric_aggregation_type(metric_aggregation_type.clone())
                    .set_estimated_instance_warmup(*estimated_instance_warmup)
                    .set_min_adjustment_magnitude(*min_adjustment_magnitude);
            }
            PolicyType::TargetTrackingScaling {
                metric,
                target_value,
                disable_scale_in,
                estimated_instance_warmup,
            } => {
                let mut config = TargetTrackingConfiguration::builder()
                    .target_value(*target_value)
                    .disable_scale_in(*disable_scale_in);
                config = match metric {
                    TrackedMetric::Predefined { predefined_metric_type, resource_label } => config
                        .predefined_metric_specification(
                            PredefinedMetricSpecification::builder()
                                .predefined_metric_type(MetricType::from(predefined_metric_type.as_str()))
                                .set_resource_label(resource_label.clone())
                                .build(),
                        ),
                    TrackedMetric::Customized { metric_name, namespace, statistic, unit, dimensions } => {
                        let dims = dimensions
                            .iter()
                            .map(|(k, v)| MetricDimension::builder().name(k).value(v).build())
                            .collect::<Vec<_>>();
                        config.customized_metric_specification(
                            CustomizedMetricSpecification::builder()
                                .metric_name(metric_name)
                                .namespace(namespace)
                                .statistic(MetricStatistic::from(statistic.as_str()))
                                .set_unit(unit.clone())
                                .set_dimensions((!dims.is_empty()).then_some(dims))
                                .build(),
                        )
                    }
                };
                let config = config.build();
                call = call
                    .policy_type("TargetTrackingScaling")
                    .target_tracking_configuration(config)
                    .set_estimated_instance_warmup(*estimated_instance_warmup);
            }
        }
        cx.send_in(Service::AutoScaling, "PutScalingPolicy", op, || call.clone().send()).await.map(drop)
    }

    #[async_trait]
    impl Kind for PolicyKind {
        type Decl = AutoScalingPolicy;
        type Out = AutoScalingPolicyOut;
        const SERVICE: Service = Service::AutoScaling;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, AutoScalingPolicy>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let found = match by {
                // One call per group, for all its policies asked.
                Lookup::Ids(arns) => {
                    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
                    for (group, name) in arns.iter().filter_map(|a| parse_arn(a)) {
                        by_group.entry(group).or_default().push(name);
                    }
                    let mut all = Vec::new();
                    for (group, names) in by_group {
                        all.extend(describe(cx, &group, names).await?);
                    }
                    all.retain(|p| p.policy_arn().is_some_and(|a| arns.iter().any(|x| x == a)));
                    all
                }
                // Policies carry no tags.
                Lookup::Tag(..) => Vec::new(),
                Lookup::Key(d) => {
                    let mut all = describe(cx, d.autoscaling_group_name.id(), vec![d.name.clone()]).await?;
                    all.retain(|p| p.policy_name() == Some(d.name.as_str()));
                    all
                }
            };
            found.iter().map(seen).collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &AutoScalingPolicy,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            put(cx, d, Operation::Create).await?;
            // The answer's PolicyARN is the ID; the emulator answers an
            // empty body, so the policy is read by its name.
            let found = settle(|| async {
                let mut all = describe(cx, d.autoscaling_group_name.id(), vec![d.name.clone()]).await?;
                all.retain(|p| p.policy_name() == Some(d.name.as_str()));
                all.first().and_then(|p| p.policy_arn().map(str::to_owned)).ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::EventualConsistency,
                        format!("policy {} is not visible yet", d.name),
                    )
                    .with_code("NotVisibleYet")
                })
            })
            .await?;
            Ok(found)
        }

        async fn update(
            &self,
            cx: &Ctx,
            _: &str,
            c: Change<'_, AutoScalingPolicy>,
        ) -> Result<(), ProviderError> {
            put(cx, c.after, Operation::Update).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &AutoScalingPolicy) -> Result<(), ProviderError> {
            let (group, name) =
                parse_arn(id).unwrap_or_else(|| (d.autoscaling_group_name.id().to_owned(), d.name.clone()));
            let call = cx.autoscaling().delete_policy().auto_scaling_group_name(group).policy_name(name);
            done_if_gone(
                cx.send_in(Service::AutoScaling, "DeletePolicy", Operation::Delete, || call.clone().send())
                    .await,
            )
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn a_policy_arn_names_its_group_and_name() {
            let arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:8f1c-2b:autoScalingGroupName/web:asg:policyName/scale-up";
            assert_eq!(super::parse_arn(arn), Some(("web:asg".into(), "scale-up".into())));
            assert_eq!(super::parse_arn("arn:aws:autoscaling:us-east-1:1:scalingPolicy:x"), None);
        }
    }
}
