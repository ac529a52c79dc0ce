use std::collections::BTreeMap;

use infra_core::{Input, Output, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, ScalingPolicyArn, TopicArn};

/// Where an alarm's state change goes: an SNS topic or a scaling policy
/// (EC2 Auto Scaling or Application Auto Scaling).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AlarmAction {
    Topic(Input<TopicArn>),
    ScalingPolicy(Input<ScalingPolicyArn>),
}

impl AlarmAction {
    #[cfg_attr(not(feature = "cloudwatch"), allow(dead_code))]
    fn arn(&self) -> &str {
        match self {
            AlarmAction::Topic(t) => t.id(),
            AlarmAction::ScalingPolicy(p) => p.id(),
        }
    }
}

impl From<Output<TopicArn>> for AlarmAction {
    fn from(o: Output<TopicArn>) -> Self {
        AlarmAction::Topic(o.into())
    }
}
impl From<Output<ScalingPolicyArn>> for AlarmAction {
    fn from(o: Output<ScalingPolicyArn>) -> Self {
        AlarmAction::ScalingPolicy(o.into())
    }
}

/// One metric of a metric-math alarm (`metric_query` in Terraform): a
/// metric with its statistic, or an expression over the other queries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricQuery {
    /// A lowercase-first identifier (`m1`, `error_rate`).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Exactly one query of an alarm returns the data it alarms on.
    pub return_data: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<QueryMetric>,
}

/// The metric of a [`MetricQuery`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryMetric {
    pub metric_name: String,
    pub namespace: String,
    pub period: i32,
    /// `Average`, `p99`, …
    pub stat: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, Input<String>>,
}

/// A CloudWatch metric alarm (`aws_cloudwatch_metric_alarm`) on one metric
/// or on metric math. Its ID is its name, unique per region; renaming
/// replaces it, everything else is updated in place (`PutMetricAlarm` is an
/// upsert of the whole alarm; tags change through `TagResource`).
///
/// Outputs: `alarm.arn()`.
///
/// # Example
///
/// ```
/// use std::collections::BTreeMap;
/// use infra::prelude::*;
/// use infra::aws::cloudwatch::MetricAlarm;
/// use infra::aws::sns::SnsTopic;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let alerts = stack.add("alerts", SnsTopic { name: "prod-alerts".into(), ..Default::default() });
/// stack.add("web-cpu-high", MetricAlarm {
///     alarm_name: "prod-web-cpu-high".into(),
///     comparison_operator: "GreaterThanThreshold".into(),
///     evaluation_periods: 2,
///     metric_name: Some("CPUUtilization".into()),
///     namespace: Some("AWS/EC2".into()),
///     period: Some(300),
///     statistic: Some("Average".into()),
///     threshold: Some(70.0),
///     dimensions: BTreeMap::from([("AutoScalingGroupName".into(), "prod-web".into())]),
///     alarm_actions: vec![alerts.arn().into()],
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudwatch:MetricAlarm",
    outputs(arn: Arn),
    readiness = "on_id",
    validate = validate_alarm,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct MetricAlarm {
    #[resource(force_new)]
    pub alarm_name: String,
    /// `GreaterThanThreshold`, `GreaterThanOrEqualToThreshold`,
    /// `LessThanThreshold` or `LessThanOrEqualToThreshold`.
    pub comparison_operator: String,
    pub evaluation_periods: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Seconds: 10, 30 or a multiple of 60.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    /// `SampleCount`, `Average`, `Sum`, `Minimum` or `Maximum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    /// A percentile or trimmed statistic (`p99`, `tm90`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// At most `evaluation_periods` (default: all of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<i32>,
    /// `missing` (the default, recorded as unset), `ignore`, `breaching`
    /// or `notBreaching`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<String>,
    /// Values may be outputs (a load balancer's `arn_suffix`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, Input<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    #[resource(set, reference)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<AlarmAction>,
    #[resource(set, reference)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ok_actions: Vec<AlarmAction>,
    #[resource(set, reference)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub insufficient_data_actions: Vec<AlarmAction>,
    /// Metric math instead of `metric_name` / `namespace` / `statistic`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metric_query: Vec<MetricQuery>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

const OPERATORS: &[&str] = &[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
const MISSING: &[&str] = &["missing", "ignore", "breaching", "notBreaching"];

/// A percentile (`p99`, `p99.9`) or a trimmed / windsorized / percentile
/// rank statistic (`tm90`, `wm(10%:90%)`, `IQM`).
fn extended(s: &str) -> bool {
    if let Some(n) = s.strip_prefix('p') {
        return n.parse::<f64>().is_ok_and(|n| (0.0..=100.0).contains(&n));
    }
    s == "IQM"
        || ["tm", "wm", "tc", "ts", "pr", "TM", "WM", "TC", "TS", "PR"].iter().any(|p| s.starts_with(p))
}

fn check_period(ctx: &mut ValidationContext<'_>, field: &str, p: i32) {
    if !(p == 10 || p == 30 || (p >= 60 && p % 60 == 0)) {
        ctx.error(field, format!("{p} must be 10, 30 or a multiple of 60 seconds"));
    }
}

fn validate_alarm(a: &MetricAlarm, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &a.tags);
    if a.alarm_name.is_empty() || a.alarm_name.chars().count() > 255 {
        ctx.error("alarm_name", "an alarm name is 1 to 255 characters");
    }
    if !OPERATORS.contains(&a.comparison_operator.as_str()) {
        ctx.error(
            "comparison_operator",
            format!("{:?} must be one of {}", a.comparison_operator, OPERATORS.join(", ")),
        );
    }
    if a.evaluation_periods < 1 {
        ctx.error("evaluation_periods", format!("{} must be at least 1", a.evaluation_periods));
    }
    if let Some(d) = a.datapoints_to_alarm
        && (d < 1 || d > a.evaluation_periods)
    {
        ctx.error(
            "datapoints_to_alarm",
            format!("{d} must be 1 to evaluation_periods ({})", a.evaluation_periods),
        );
    }
    if a.threshold.is_none() {
        ctx.error("threshold", "a metric alarm needs its threshold");
    }
    if let Some(t) = &a.treat_missing_data
        && !MISSING.contains(&t.as_str())
    {
        ctx.error("treat_missing_data", format!("{t:?} must be one of {}", MISSING.join(", ")));
    }
    if let Some(p) = a.period {
        check_period(ctx, "period", p);
        if p.saturating_mul(a.evaluation_periods) > 7 * 86_400 {
            ctx.error("evaluation_periods", "period × evaluation_periods must be at most 7 days");
        }
    }
    if let Some(s) = &a.statistic
        && !STATISTICS.contains(&s.as_str())
    {
        ctx.error(
            "statistic",
            format!("{s:?} must be one of {} (percentiles go in extended_statistic)", STATISTICS.join(", ")),
        );
    }
    if let Some(s) = &a.extended_statistic
        && !extended(s)
    {
        ctx.error(
            "extended_statistic",
            format!("{s:?} is not a percentile or trimmed statistic (p99, tm90, …)"),
        );
    }
    let single = a.metric_name.is_some()
        || a.namespace.is_some()
        || a.statistic.is_some()
        || a.extended_statistic.is_some();
    if single && !a.metric_query.is_empty() {
        ctx.error("metric_query", "an alarm takes metric_name/namespace/statistic or metric_query, not both");
    }
    if a.metric_query.is_empty() {
        for (field, set) in [
            ("metric_name", a.metric_name.is_some()),
            ("namespace", a.namespace.is_some()),
            ("period", a.period.is_some()),
        ] {
            if !set {
                ctx.error(
                    field,
                    "an alarm on one metric needs metric_name, namespace, period and a statistic",
                );
            }
        }
        if a.statistic.is_some() == a.extended_statistic.is_some() {
            ctx.error("statistic", "set exactly one of statistic and extended_statistic");
        }
    } else {
        validate_queries(a, ctx);
    }
    if a.dimensions.len() > 30 {
        ctx.error("dimensions", "an alarm takes at most 30 dimensions");
    }
    for (field, list) in [
        ("alarm_actions", &a.alarm_actions),
        ("ok_actions", &a.ok_actions),
        ("insufficient_data_actions", &a.insufficient_data_actions),
    ] {
        if list.len() > 5 {
            ctx.error(field, format!("{} actions: CloudWatch allows 5", list.len()));
        }
    }
}

fn validate_queries(a: &MetricAlarm, ctx: &mut ValidationContext<'_>) {
    let mut ids = std::collections::BTreeSet::new();
    for (i, q) in a.metric_query.iter().enumerate() {
        let at = format!("metric_query[{i}]");
        let id_ok = q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !id_ok {
            ctx.error(
                &format!("{at}.id"),
                format!("{:?} must start with a lowercase letter, then letters, digits and _", q.id),
            );
        }
        if !ids.insert(q.id.as_str()) {
            ctx.error(&format!("{at}.id"), format!("{:?} is used by an earlier query", q.id));
        }
        if q.expression.is_some() == q.metric.is_some() {
            ctx.error(&at, "a query takes exactly one of expression and metric");
        }
        if let Some(m) = &q.metric {
            check_period(ctx, &format!("{at}.metric.period"), m.period);
            if !STATISTICS.contains(&m.stat.as_str()) && !extended(&m.stat) {
                ctx.error(&format!("{at}.metric.stat"), format!("{:?} is not a statistic", m.stat));
            }
        }
    }
    if a.metric_query.iter().filter(|q| q.return_data).count() != 1 {
        ctx.error("metric_query", "exactly one query returns data (return_data = true)");
    }
}

fn defaults_unset(a: &mut MetricAlarm) {
    if a.treat_missing_data.as_deref() == Some("missing") {
        a.treat_missing_data = None;
    }
    if a.datapoints_to_alarm == Some(a.evaluation_periods) {
        a.datapoints_to_alarm = None;
    }
    if a.alarm_description.as_deref() == Some("") {
        a.alarm_description = None;
    }
}

#[cfg(feature = "cloudwatch")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_cloudwatch::types::{
        ComparisonOperator, Dimension, Metric, MetricAlarm as SdkAlarm, MetricDataQuery, MetricStat,
        Statistic, Tag,
    };
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{AlarmAction, MetricAlarm, MetricAlarmOut, MetricQuery, QueryMetric};
    use crate::ids::{Arn, ScalingPolicyArn, TopicArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};

    /// `aws:cloudwatch:MetricAlarm` through the CloudWatch API.
    #[derive(Debug)]
    pub(crate) struct MetricAlarmKind;

    fn action(arn: &str) -> AlarmAction {
        if arn.split(':').nth(2) == Some("sns") {
            AlarmAction::Topic(Input::Value(TopicArn::unchecked(arn)))
        } else {
            AlarmAction::ScalingPolicy(Input::Value(ScalingPolicyArn::unchecked(arn)))
        }
    }

    fn dims(d: &[Dimension]) -> std::collections::BTreeMap<String, Input<String>> {
        d.iter().filter_map(|d| Some((d.name()?.to_owned(), Input::Value(d.value()?.to_owned())))).collect()
    }

    fn sdk_dims(d: &std::collections::BTreeMap<String, Input<String>>) -> Vec<Dimension> {
        d.iter().map(|(k, v)| Dimension::builder().name(k).value(v.as_str()).build()).collect()
    }

    /// Alarms by name, 100 per call.
    async fn named(cx: &Ctx, names: &[String]) -> Result<Vec<SdkAlarm>, ProviderError> {
        let mut out = Vec::new();
        for chunk in names.chunks(100) {
            let listed = cx
                .paged(|next| {
                    let call = cx
                        .cloudwatch()
                        .describe_alarms()
                        .set_alarm_names(Some(chunk.to_vec()))
                        .set_next_token(next);
                    async move {
                        let out = cx
                            .send_in(Service::CloudWatch, "DescribeAlarms", Operation::Read, || {
                                call.clone().send()
                            })
                            .await?;
                        Ok((out.metric_alarms.unwrap_or_default(), out.next_token))
                    }
                })
                .await?;
            out.extend(listed);
        }
        Ok(out)
    }

    async fn seen(cx: &Ctx, a: SdkAlarm) -> Result<Seen<MetricAlarmKind>, ProviderError> {
        let name = a.alarm_name().ok_or_else(|| missing("alarm name"))?.to_owned();
        let arn = a.alarm_arn().unwrap_or_default().to_owned();
        let call = cx.cloudwatch().list_tags_for_resource().resource_arn(&arn);
        let out = cx
            .send_in(Service::CloudWatch, "ListTagsForResource", Operation::Read, || call.clone().send())
            .await?;
        let tags: Tags =
            out.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect();
        let metric_query = a
            .metrics()
            .iter()
            .map(|q| MetricQuery {
                id: q.id().unwrap_or_default().to_owned(),
                expression: q.expression().map(str::to_owned),
                label: q.label().map(str::to_owned),
                return_data: q.return_data().unwrap_or(true),
                metric: q.metric_stat().map(|s| QueryMetric {
                    metric_name: s.metric().and_then(|m| m.metric_name()).unwrap_or_default().to_owned(),
                    namespace: s.metric().and_then(|m| m.namespace()).unwrap_or_default().to_owned(),
                    period: s.period().unwrap_or_default(),
                    stat: s.stat().unwrap_or_default().to_owned(),
                    dimensions: s.metric().map(|m| dims(m.dimensions())).unwrap_or_default(),
                }),
            })
            .collect();
        let decl = MetricAlarm {
            alarm_name: name.clone(),
            comparison_operator: a.comparison_operator().map(|c| c.as_str().to_owned()).unwrap_or_default(),
            evaluation_periods: a.evaluation_periods().unwrap_or_default(),
            metric_name: a.metric_name().map(str::to_owned),
            namespace: a.namespace().map(str::to_owned),
            period: a.period(),
            statistic: a.statistic().map(|s| s.as_str().to_owned()),
            extended_statistic: a.extended_statistic().map(str::to_owned),
            threshold: a.threshold(),
            datapoints_to_alarm: a.datapoints_to_alarm(),
            treat_missing_data: a.treat_missing_data().map(str::to_owned),
            dimensions: dims(a.dimensions()),
            alarm_description: a.alarm_description().map(str::to_owned),
            alarm_actions: a.alarm_actions().iter().map(|s| action(s)).collect(),
            ok_actions: a.ok_actions().iter().map(|s| action(s)).collect(),
            insufficient_data_actions: a.insufficient_data_actions().iter().map(|s| action(s)).collect(),
            metric_query,
            tags: user_tags(&tags),
        };
        Ok(Seen::ready(name, decl, MetricAlarmOut { arn: Arn::unchecked(arn) }, tags))
    }

    /// The whole alarm, created or replaced (`tags` on create only: AWS
    /// ignores them on an update).
    async fn put(cx: &Ctx, d: &MetricAlarm, tags: Option<&Tags>, op: Operation) -> Result<(), ProviderError> {
        let arns = |l: &[AlarmAction]| Some(l.iter().map(|a| a.arn().to_owned()).collect::<Vec<_>>());
        let queries = d
            .metric_query
            .iter()
            .map(|q| {
                let stat = q.metric.as_ref().map(|m| {
                    let metric = Metric::builder()
                        .metric_name(&m.metric_name)
                        .namespace(&m.namespace)
                        .set_dimensions(Some(sdk_dims(&m.dimensions)))
                        .build();
                    MetricStat::builder().metric(metric).period(m.period).stat(&m.stat).build()
                });
                MetricDataQuery::builder()
                    .id(&q.id)
                    .set_expression(q.expression.clone())
                    .set_label(q.label.clone())
                    .return_data(q.return_data)
                    .set_metric_stat(stat)
                    .build()
            })
            .collect::<Vec<_>>();
        let call = cx
            .cloudwatch()
            .put_metric_alarm()
            .alarm_name(&d.alarm_name)
            .comparison_operator(ComparisonOperator::from(d.comparison_operator.as_str()))
            .evaluation_periods(d.evaluation_periods)
            .set_metric_name(d.metric_name.clone())
            .set_namespace(d.namespace.clone())
            .set_period(d.period)
            .set_statistic(d.statistic.as_deref().map(Statistic::from))
            .set_extended_statistic(d.extended_statistic.clone())
            .set_threshold(d.threshold)
            .set_datapoints_to_alarm(d.datapoints_to_alarm)
            .set_treat_missing_data(d.treat_missing_data.clone())
            .set_dimensions((!d.dimensions.is_empty()).then(|| sdk_dims(&d.dimensions)))
            .set_alarm_description(d.alarm_description.clone())
            .set_alarm_actions(arns(&d.alarm_actions))
            .set_ok_actions(arns(&d.ok_actions))
            .set_insufficient_data_actions(arns(&d.insufficient_data_actions))
            .set_metrics((!queries.is_empty()).then_some(queries))
            .set_tags(tags.map(|t| t.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()));
        cx.send_in(Service::CloudWatch, "PutMetricAlarm", op, || call.clone().send()).await.map(drop)
    }

    #[async_trait]
    impl Kind for MetricAlarmKind {
        type Decl = MetricAlarm;
        type Out = MetricAlarmOut;
        const SERVICE: Service = Service::CloudWatch;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, MetricAlarm>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let alarms = match by {
                Lookup::Ids(names) if !names.is_empty() => named(cx, names).await?,
                // CloudWatch lists no tags: a lost create is found by name.
                Lookup::Ids(_) | Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => named(cx, std::slice::from_ref(&d.alarm_name)).await?,
            };
            let mut out = Vec::new();
            for s in futures_util::future::join_all(alarms.into_iter().map(|a| seen(cx, a))).await {
                out.push(s?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &MetricAlarm,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            put(cx, d, Some(tags), Operation::Create).await?;
            Ok(d.alarm_name.clone())
        }

        async fn update(&self, cx: &Ctx, _: &str, c: Change<'_, MetricAlarm>) -> Result<(), ProviderError> {
            put(cx, c.after, None, Operation::Update).await
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let found = named(cx, &[id.to_owned()]).await?;
            let arn = found.first().and_then(|a| a.alarm_arn()).ok_or_else(|| missing("alarm"))?.to_owned();
            let cw = cx.cloudwatch();
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = cw.untag_resource().resource_arn(&arn).set_tag_keys(Some(keys));
                cx.send_in(Service::CloudWatch, "UntagResource", Operation::Update, || call.clone().send())
                    .await?;
            }
            if !add.is_empty() {
                let tags = add.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
                let call = cw.tag_resource().resource_arn(&arn).set_tags(Some(tags));
                cx.send_in(Service::CloudWatch, "TagResource", Operation::Update, || call.clone().send())
                    .await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &MetricAlarm) -> Result<(), ProviderError> {
            let call = cx.cloudwatch().delete_alarms().alarm_names(id);
            cx.send_in(Service::CloudWatch, "DeleteAlarms", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
