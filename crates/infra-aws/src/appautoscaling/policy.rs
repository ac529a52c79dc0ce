use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::ScalingPolicyArn;

/// A predefined metric (`predefined_metric_specification`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PredefinedMetric {
    /// e.g. `ECSServiceAverageCPUUtilization`,
    /// `ECSServiceAverageMemoryUtilization`, `ALBRequestCountPerTarget`.
    pub predefined_metric_type: String,
    /// For `ALBRequestCountPerTarget`: `app/<lb>/<id>/targetgroup/<tg>/<id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

/// One dimension of a customized metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricDimension {
    pub name: String,
    pub value: String,
}

/// A CloudWatch metric of one's own (`customized_metric_specification`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomizedMetric {
    pub metric_name: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MetricDimension>,
    /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum`.
    pub statistic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Target tracking (`target_tracking_scaling_policy_configuration`): keep
/// a metric near `target_value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetTracking {
    pub target_value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<CustomizedMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_scale_in: bool,
}

impl TargetTracking {
    /// Keep a predefined metric (`ECSServiceAverageCPUUtilization`) at
    /// `target`.
    pub fn predefined(metric: &str, target: f64) -> Self {
        TargetTracking {
            target_value: target,
            predefined_metric_specification: Some(PredefinedMetric {
                predefined_metric_type: metric.into(),
                resource_label: None,
            }),
            ..Default::default()
        }
    }
}

/// One step of a step scaling policy: the change when the metric is in
/// `[lower, upper)` relative to the alarm's threshold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepAdjustment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i32,
}

/// Step scaling (`step_scaling_policy_configuration`), driven by a
/// CloudWatch alarm whose action is the policy's ARN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepScaling {
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`.
    pub adjustment_type: String,
    pub step_adjustments: Vec<StepAdjustment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<i32>,
    /// `Average`, `Minimum` or `Maximum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i32>,
}

/// A scaling policy (`aws_appautoscaling_policy`) on a [`super::ScalableTarget`].
///
/// Its ID is `namespace/resource_id/dimension/name` (Terraform's import
/// form; a name here has no `/`). The name and the target's key are
/// force-new; the type and its configuration change in place
/// (`PutScalingPolicy` is an upsert). Target tracking makes its CloudWatch
/// alarms itself: their ARNs are an output.
///
/// Outputs: `policy.arn()` (`ScalingPolicyArn`, an alarm action for step
/// scaling), `policy.name()`, `policy.alarm_arns()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::appautoscaling::{ScalableTarget, ScalingPolicy, TargetTracking};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let target = stack.add("app-scaling", ScalableTarget {
///     min_capacity: 2,
///     max_capacity: 20,
///     ..ScalableTarget::ecs_service("prod-cluster", "prod-app")
/// });
/// stack.add("app-cpu", ScalingPolicy {
///     name: "app-cpu".into(),
///     service_namespace: "ecs".into(),
///     resource_id: target.resource_id().into(),
///     scalable_dimension: "ecs:service:DesiredCount".into(),
///     policy_type: "TargetTrackingScaling".into(),
///     target_tracking_scaling_policy_configuration: Some(TargetTracking::predefined(
///         "ECSServiceAverageCPUUtilization",
///         70.0,
///     )),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:appautoscaling:Policy",
    outputs(arn: ScalingPolicyArn, name: String, alarm_arns: Vec<String>),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_policy,
    validate_type = crate::rules::unique
)]
pub struct ScalingPolicy {
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub service_namespace: String,
    /// The target's resource (`target.resource_id()`, which also orders the
    /// policy after its target).
    #[resource(force_new)]
    pub resource_id: Input<String>,
    #[resource(force_new)]
    pub scalable_dimension: String,
    /// `TargetTrackingScaling` or `StepScaling`.
    pub policy_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_tracking_scaling_policy_configuration: Option<TargetTracking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_scaling_policy_configuration: Option<StepScaling>,
}

fn validate_policy(p: &ScalingPolicy, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    super::check_key(ctx, &p.service_namespace, &p.resource_id, &p.scalable_dimension);
    let n = p.name.chars().count();
    if n == 0 || n > 256 || p.name.contains('/') || p.name.chars().any(char::is_control) {
        ctx.error("name", format!("{:?} must be 1 to 256 printable characters without /", p.name));
    }
    let (tt, step) = (&p.target_tracking_scaling_policy_configuration, &p.step_scaling_policy_configuration);
    match p.policy_type.as_str() {
        "TargetTrackingScaling" => {
            if tt.is_none() {
                ctx.error("target_tracking_scaling_policy_configuration", "TargetTrackingScaling needs it");
            }
            if step.is_some() {
                ctx.error("step_scaling_policy_configuration", "only for StepScaling");
            }
        }
        "StepScaling" => {
            if step.is_none() {
                ctx.error("step_scaling_policy_configuration", "StepScaling needs it");
            }
            if tt.is_some() {
                ctx.error("target_tracking_scaling_policy_configuration", "only for TargetTrackingScaling");
            }
        }
        other => ctx.error("policy_type", format!("{other:?} must be TargetTrackingScaling or StepScaling")),
    }
    if let Some(t) = tt {
        validate_tracking(t, &p.service_namespace, ctx);
    }
    if let Some(s) = step {
        validate_step(s, ctx);
    }
}

fn validate_tracking(t: &TargetTracking, namespace: &str, ctx: &mut ValidationContext<'_>) {
    let at = "target_tracking_scaling_policy_configuration";
    if !(t.target_value.is_finite() && t.target_value > 0.0) {
        ctx.error(&format!("{at}.target_value"), format!("{} must be above 0", t.target_value));
    }
    match (&t.predefined_metric_specification, &t.customized_metric_specification) {
        (Some(_), Some(_)) | (None, None) => {
            ctx.error(at, "set one of predefined_metric_specification and customized_metric_specification")
        }
        (Some(m), None) => {
            let ecs = [
                "ECSServiceAverageCPUUtilization",
                "ECSServiceAverageMemoryUtilization",
                "ALBRequestCountPerTarget",
            ];
            if namespace == "ecs" && !ecs.contains(&m.predefined_metric_type.as_str()) {
                ctx.error(
                    &format!("{at}.predefined_metric_specification.predefined_metric_type"),
                    format!("{:?}: an ECS service takes {}", m.predefined_metric_type, ecs.join(", ")),
                );
            }
            if (m.predefined_metric_type == "ALBRequestCountPerTarget") != m.resource_label.is_some() {
                ctx.error(
                    &format!("{at}.predefined_metric_specification.resource_label"),
                    "ALBRequestCountPerTarget, and only it, takes a resource_label",
                );
            }
        }
        (None, Some(c)) => {
            let cat = format!("{at}.customized_metric_specification");
            if c.metric_name.is_empty() {
                ctx.error(&format!("{cat}.metric_name"), "is empty");
            }
            if c.namespace.is_empty() {
                ctx.error(&format!("{cat}.namespace"), "is empty");
            }
            if !matches!(c.statistic.as_str(), "Average" | "Minimum" | "Maximum" | "SampleCount" | "Sum") {
                ctx.error(
                    &format!("{cat}.statistic"),
                    format!("{:?} must be Average, Minimum, Maximum, SampleCount or Sum", c.statistic),
                );
            }
        }
    }
    for (field, v) in
        [("scale_in_cooldown", t.scale_in_cooldown), ("scale_out_cooldown", t.scale_out_cooldown)]
    {
        if let Some(v) = v
            && v < 0
        {
            ctx.error(&format!("{at}.{field}"), format!("{v} must be 0 or more seconds"));
        }
    }
}

fn validate_step(s: &StepScaling, ctx: &mut ValidationContext<'_>) {
    let at = "step_scaling_policy_configuration";
    if !matches!(s.adjustment_type.as_str(), "ChangeInCapacity" | "ExactCapacity" | "PercentChangeInCapacity")
    {
        ctx.error(
            &format!("{at}.adjustment_type"),
            format!(
                "{:?} must be ChangeInCapacity, ExactCapacity or PercentChangeInCapacity",
                s.adjustment_type
            ),
        );
    }
    if s.step_adjustments.is_empty() {
        ctx.error(&format!("{at}.step_adjustments"), "needs at least one step");
    }
    for (i, a) in s.step_adjustments.iter().enumerate() {
        if let (Some(lo), Some(hi)) = (a.metric_interval_lower_bound, a.metric_interval_upper_bound)
            && lo >= hi
        {
            ctx.error(
                &format!("{at}.step_adjustments[{i}]"),
                format!("the lower bound {lo} is not below the upper {hi}"),
            );
        }
    }
    let unbounded =
        |f: fn(&StepAdjustment) -> Option<f64>| s.step_adjustments.iter().filter(|a| f(a).is_none()).count();
    if unbounded(|a| a.metric_interval_lower_bound) > 1 || unbounded(|a| a.metric_interval_upper_bound) > 1 {
        ctx.error(&format!("{at}.step_adjustments"), "at most one step is open below, and one above");
    }
    if let Some(m) = &s.metric_aggregation_type
        && !matches!(m.as_str(), "Average" | "Minimum" | "Maximum")
    {
        ctx.error(
            &format!("{at}.metric_aggregation_type"),
            format!("{m:?} must be Average, Minimum or Maximum"),
        );
    }
    if s.min_adjustment_magnitude.is_some() && s.adjustment_type != "PercentChangeInCapacity" {
        ctx.error(&format!("{at}.min_adjustment_magnitude"), "only with PercentChangeInCapacity");
    }
}

#[cfg(feature = "appautoscaling")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_applicationautoscaling::types::{
        self as sdk, AdjustmentType, MetricAggregationType, MetricStatistic, MetricType, PolicyType,
        ScalableDimension, ServiceNamespace,
    };
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::*;
    use crate::appautoscaling::{bad_id, split_id};
    use crate::kit::{Change, Created, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle};

    /// `aws:appautoscaling:Policy` through the Application Auto Scaling API.
    #[derive(Debug)]
    pub(crate) struct ScalingPolicyKind;

    const FORM: &str = "namespace/resource/dimension/name";

    fn id_of(d: &ScalingPolicy) -> String {
        format!("{}/{}/{}/{}", d.service_namespace, d.resource_id.as_str(), d.scalable_dimension, d.name)
    }

    fn invalid(what: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{what}: {e}")).with_code("InvalidInput")
    }

    fn tracking(t: &sdk::TargetTrackingScalingPolicyConfiguration) -> TargetTracking {
        TargetTracking {
            target_value: t.target_value(),
            predefined_metric_specification: t.predefined_metric_specification().map(|m| PredefinedMetric {
                predefined_metric_type: m.predefined_metric_type().as_str().to_owned(),
                resource_label: m.resource_label().map(str::to_owned),
            }),
            customized_metric_specification: t.customized_metric_specification().map(|c| CustomizedMetric {
                metric_name: c.metric_name().unwrap_or_default().to_owned(),
                namespace: c.namespace().unwrap_or_default().to_owned(),
                dimensions: c
                    .dimensions()
                    .iter()
                    .map(|d| MetricDimension { name: d.name().to_owned(), value: d.value().to_owned() })
                    .collect(),
                statistic: c.statistic().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                unit: c.unit().map(str::to_owned),
            }),
            scale_in_cooldown: t.scale_in_cooldown(),
            scale_out_cooldown: t.scale_out_cooldown(),
            disable_scale_in: t.disable_scale_in().unwrap_or(false),
        }
    }

    fn step(s: &sdk::StepScalingPolicyConfiguration) -> StepScaling {
        StepScaling {
            adjustment_type: s.adjustment_type().map(|a| a.as_str().to_owned()).unwrap_or_default(),
            step_adjustments: s
                .step_adjustments()
                .iter()
                .map(|a| StepAdjustment {
                    metric_interval_lower_bound: a.metric_interval_lower_bound(),
                    metric_interval_upper_bound: a.metric_interval_upper_bound(),
                    scaling_adjustment: a.scaling_adjustment(),
                })
                .collect(),
            cooldown: s.cooldown(),
            metric_aggregation_type: s.metric_aggregation_type().map(|m| m.as_str().to_owned()),
            min_adjustment_magnitude: s.min_adjustment_magnitude(),
        }
    }

    fn seen(p: &sdk::ScalingPolicy) -> Seen<ScalingPolicyKind> {
        let decl = ScalingPolicy {
            name: p.policy_name().to_owned(),
            service_namespace: p.service_namespace().as_str().to_owned(),
            resource_id: Input::Value(p.resource_id().to_owned()),
            scalable_dimension: p.scalable_dimension().as_str().to_owned(),
            policy_type: p.policy_type().as_str().to_owned(),
            target_tracking_scaling_policy_configuration: p
                .target_tracking_scaling_policy_configuration()
                .map(tracking),
            step_scaling_policy_configuration: p.step_scaling_policy_configuration().map(step),
        };
        let out = ScalingPolicyOut {
            arn: ScalingPolicyArn::unchecked(p.policy_arn()),
            name: p.policy_name().to_owned(),
            alarm_arns: p.alarms().iter().map(|a| a.alarm_arn().to_owned()).collect(),
        };
        Seen::ready(id_of(&decl), decl, out, Tags::new())
    }

    /// The policies `names` on one target.
    async fn describe(
        cx: &Ctx,
        (namespace, resource, dimension): (&str, &str, &str),
        names: &[String],
    ) -> Result<Vec<Seen<ScalingPolicyKind>>, ProviderError> {
        let policies = cx
            .paged(|next| {
                let call = cx
                    .appautoscaling()
                    .describe_scaling_policies()
                    .service_namespace(ServiceNamespace::from(namespace))
                    .resource_id(resource)
                    .scalable_dimension(ScalableDimension::from(dimension))
                    .set_policy_names(Some(names.to_vec()))
                    .set_next_token(next);
                async move {
                    let out = cx
                        .send_in(Service::AppAutoScaling, "DescribeScalingPolicies", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    Ok((out.scaling_policies.unwrap_or_default(), out.next_token))
                }
            })
            .await?;
        Ok(policies.iter().filter(|p| names.iter().any(|n| n == p.policy_name())).map(seen).collect())
    }

    fn to_tracking(
        t: &TargetTracking,
    ) -> Result<sdk::TargetTrackingScalingPolicyConfiguration, ProviderError> {
        let at = "target_tracking_scaling_policy_configuration";
        let predefined = match &t.predefined_metric_specification {
            None => None,
            Some(m) => Some(
                sdk::PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::from(m.predefined_metric_type.as_str()))
                    .set_resource_label(m.resource_label.clone())
                    .build()
                    .map_err(|e| invalid(at, e))?,
            ),
        };
        let customized = match &t.customized_metric_specification {
            None => None,
            Some(c) => {
                let dimensions = c
                    .dimensions
                    .iter()
                    .map(|d| sdk::MetricDimension::builder().name(&d.name).value(&d.value).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(at, e))?;
                Some(
                    sdk::CustomizedMetricSpecification::builder()
                        .metric_name(&c.metric_name)
                        .namespace(&c.namespace)
                        .set_dimensions((!dimensions.is_empty()).then_some(dimensions))
                        .statistic(MetricStatistic::from(c.statistic.as_str()))
                        .set_unit(c.unit.clone())
                        .build(),
                )
            }
        };
        sdk::TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(t.target_value)
            .set_predefined_metric_specification(predefined)
            .set_customized_metric_specification(customized)
            .set_scale_in_cooldown(t.scale_in_cooldown)
            .set_scale_out_cooldown(t.scale_out_cooldown)
            .disable_scale_in(t.disable_scale_in)
            .build()
            .map_err(|e| invalid(at, e))
    }

    fn to_step(s: &StepScaling) -> Result<sdk::StepScalingPolicyConfiguration, ProviderError> {
        let steps = s
            .step_adjustments
            .iter()
            .map(|a| {
                sdk::StepAdjustment::builder()
                    .set_metric_interval_lower_bound(a.metric_interval_lower_bound)
                    .set_metric_interval_upper_bound(a.metric_interval_upper_bound)
                    .scaling_adjustment(a.scaling_adjustment)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("step_scaling_policy_configuration.step_adjustments", e))?;
        Ok(sdk::StepScalingPolicyConfiguration::builder()
            .adjustment_type(AdjustmentType::from(s.adjustment_type.as_str()))
            .set_step_adjustments(Some(steps))
            .set_cooldown(s.cooldown)
            .set_metric_aggregation_type(
                s.metric_aggregation_type.as_deref().map(MetricAggregationType::from),
            )
            .set_min_adjustment_magnitude(s.min_adjustment_magnitude)
            .build())
    }

    /// `PutScalingPolicy`: creates or replaces the policy; the answer gives
    /// its ARN and alarms.
    async fn put(cx: &Ctx, d: &ScalingPolicy, op: Operation) -> Result<ScalingPolicyOut, ProviderError> {
        let call = cx
            .appautoscaling()
            .put_scaling_policy()
            .policy_name(&d.name)
            .service_namespace(ServiceNamespace::from(d.service_namespace.as_str()))
            .resource_id(d.resource_id.as_str())
            .scalable_dimension(ScalableDimension::from(d.scalable_dimension.as_str()))
            .policy_type(PolicyType::from(d.policy_type.as_str()))
            .set_target_tracking_scaling_policy_configuration(
                d.target_tracking_scaling_policy_configuration.as_ref().map(to_tracking).transpose()?,
            )
            .set_step_scaling_policy_configuration(
                d.step_scaling_policy_configuration.as_ref().map(to_step).transpose()?,
            );
        // A target registered moments ago may not be visible yet
        // (ObjectNotFoundException, retried on a create).
        let out =
            settle(|| cx.send_in(Service::AppAutoScaling, "PutScalingPolicy", op, || call.clone().send()))
                .await?;
        Ok(ScalingPolicyOut {
            arn: ScalingPolicyArn::unchecked(out.policy_arn()),
            name: d.name.clone(),
            alarm_arns: out.alarms().iter().map(|a| a.alarm_arn().to_owned()).collect(),
        })
    }

    #[async_trait]
    impl Kind for ScalingPolicyKind {
        type Decl = ScalingPolicy;
        type Out = ScalingPolicyOut;
        const SERVICE: Service = Service::AppAutoScaling;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, ScalingPolicy>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let ids: Vec<String> = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                Lookup::Tag(..) => Vec::new(),
                Lookup::Key(d) => vec![id_of(d)],
            };
            let mut per_target: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
            for id in &ids {
                let (n, r, d, name) = split_id(id, true).ok_or_else(|| bad_id(id, FORM))?;
                per_target.entry((n, r, d)).or_default().push(name.ok_or_else(|| missing("policy name"))?);
            }
            let calls = per_target.iter().map(|((n, r, d), names)| describe(cx, (n, r, d), names));
            let mut out = Vec::new();
            for r in futures_util::future::join_all(calls).await {
                out.extend(r?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &ScalingPolicy,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &ScalingPolicy,
            _: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let out = put(cx, d, Operation::Create).await?;
            Ok(Created::Seen(Seen::ready(id_of(d), d.clone(), out, Tags::new())))
        }

        async fn update(&self, cx: &Ctx, _: &str, c: Change<'_, ScalingPolicy>) -> Result<(), ProviderError> {
            put(cx, c.after, Operation::Update).await.map(drop)
        }

        async fn retag(
            &self,
            _: &Ctx,
            _: &str,
            _: &[&String],
            _: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &ScalingPolicy) -> Result<(), ProviderError> {
            let call = cx
                .appautoscaling()
                .delete_scaling_policy()
                .policy_name(&d.name)
                .service_namespace(ServiceNamespace::from(d.service_namespace.as_str()))
                .resource_id(d.resource_id.as_str())
                .scalable_dimension(ScalableDimension::from(d.scalable_dimension.as_str()));
            match cx
                .send_in(Service::AppAutoScaling, "DeleteScalingPolicy", Operation::Delete, || {
                    call.clone().send()
                })
                .await
            {
                Ok(_) => Ok(()),
                // AWS: ObjectNotFoundException (done); the emulator: a
                // ValidationException, done when a read no longer finds it.
                Err(e) if e.kind == ErrorKind::Final && e.code.as_deref() == Some("ValidationException") => {
                    if self.list(cx, Lookup::Ids(&[id.to_owned()])).await?.is_empty() {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
                Err(e) => Err(e),
            }
        }
    }
}
