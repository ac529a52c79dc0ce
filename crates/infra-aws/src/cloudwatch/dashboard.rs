use infra_core::{Input, JsonEncoded, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::Arn;

/// A CloudWatch dashboard (`aws_cloudwatch_dashboard`). Its ID is its name,
/// unique in the account (dashboards are global); renaming replaces it, the
/// body is updated in place (`PutDashboard` is an upsert). Dashboards carry
/// no tags. The body is JSON compared by meaning (key order and whitespace
/// aside); build it with [`DashboardBody`] (outputs fit in a widget's
/// metrics) or any serializable value through `JsonEncoded`.
///
/// Outputs: `dashboard.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudwatch::{Dashboard, DashboardBody, MetricWidget};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let lb_suffix: Input<String> = "app/prod-alb/50dc6c495c0c9188".into();
/// stack.add("main", Dashboard {
///     dashboard_name: "prod-dashboard".into(),
///     dashboard_body: DashboardBody::new([MetricWidget::new("Load Balancer Metrics", "us-east-1", 300)
///         .at(0, 0, 12, 6)
///         .metric(["AWS/ApplicationELB".into(), "RequestCount".into(), "LoadBalancer".into(), lb_suffix])])
///     .into(),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudwatch:Dashboard",
    outputs(arn: Arn),
    readiness = "on_id",
    validate = validate_dashboard,
    validate_type = crate::rules::unique,
    normalise = canonical_body
)]
pub struct Dashboard {
    /// Letters, digits, `-` and `_`, at most 255.
    #[resource(force_new)]
    pub dashboard_name: String,
    /// The body (JSON, `{"widgets": […]}`).
    pub dashboard_body: Input<String>,
}

/// A dashboard's body: its widgets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DashboardBody {
    pub widgets: Vec<MetricWidget>,
}

impl DashboardBody {
    pub fn new(widgets: impl IntoIterator<Item = MetricWidget>) -> Self {
        DashboardBody { widgets: widgets.into_iter().collect() }
    }
}

impl From<DashboardBody> for Input<String> {
    fn from(b: DashboardBody) -> Self {
        JsonEncoded(b).into()
    }
}

/// A metric graph widget.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricWidget {
    #[serde(rename = "type")]
    pub kind: String,
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    pub properties: MetricProperties,
}

/// What a metric widget shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricProperties {
    /// Rows of `[namespace, metric, dimension, value, …]` (`"."` repeats
    /// the row above's value); values may be outputs.
    pub metrics: Vec<Vec<Input<String>>>,
    /// `timeSeries` or `singleValue`.
    pub view: String,
    pub stacked: bool,
    pub region: String,
    pub title: String,
    pub period: i32,
}

impl MetricWidget {
    /// A time series of `period` seconds in `region`.
    pub fn new(title: &str, region: &str, period: i32) -> Self {
        MetricWidget {
            kind: "metric".into(),
            x: 0,
            y: 0,
            width: 6,
            height: 6,
            properties: MetricProperties {
                view: "timeSeries".into(),
                region: region.into(),
                title: title.into(),
                period,
                ..Default::default()
            },
        }
    }

    /// Places it on the 24-column grid.
    pub fn at(mut self, x: i32, y: i32, width: i32, height: i32) -> Self {
        (self.x, self.y, self.width, self.height) = (x, y, width, height);
        self
    }

    /// Adds a metric row.
    pub fn metric(mut self, row: impl IntoIterator<Item = Input<String>>) -> Self {
        self.properties.metrics.push(row.into_iter().collect());
        self
    }
}

fn validate_dashboard(d: &Dashboard, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    let n = &d.dashboard_name;
    if n.is_empty() || n.len() > 255 || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        ctx.error("dashboard_name", format!("{n:?} must be 1 to 255 letters, digits, - and _"));
    }
    if let Input::Value(body) = &d.dashboard_body {
        let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
        if !v.as_ref().is_some_and(|v| v.get("widgets").is_some_and(serde_json::Value::is_array)) {
            ctx.error("dashboard_body", "the body must be JSON with a \"widgets\" list");
        }
    }
}

fn canonical_body(d: &mut Dashboard) {
    crate::json::canonical_input(&mut d.dashboard_body);
}

#[cfg(feature = "cloudwatch")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{Dashboard, DashboardOut};
    use crate::ids::Arn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags};

    /// `aws:cloudwatch:Dashboard` through the CloudWatch API.
    #[derive(Debug)]
    pub(crate) struct DashboardKind;

    async fn get(cx: &Ctx, name: String) -> Result<Option<Seen<DashboardKind>>, ProviderError> {
        let call = cx.cloudwatch().get_dashboard().dashboard_name(&name);
        let out = match cx
            .send_in(Service::CloudWatch, "GetDashboard", Operation::Read, || call.clone().send())
            .await
        {
            Ok(out) => out,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let decl = Dashboard {
            dashboard_name: name.clone(),
            dashboard_body: Input::Value(out.dashboard_body().unwrap_or_default().to_owned()),
        };
        let arn = Arn::unchecked(out.dashboard_arn().unwrap_or_default());
        Ok(Some(Seen::ready(name, decl, DashboardOut { arn }, Tags::new())))
    }

    async fn put(cx: &Ctx, d: &Dashboard, op: Operation) -> Result<(), ProviderError> {
        let call = cx
            .cloudwatch()
            .put_dashboard()
            .dashboard_name(&d.dashboard_name)
            .dashboard_body(d.dashboard_body.as_str());
        let out = cx.send_in(Service::CloudWatch, "PutDashboard", op, || call.clone().send()).await?;
        // Problems CloudWatch accepts the body with.
        if let Some(m) = out.dashboard_validation_messages().first() {
            let message = format!("dashboard_body: {}", m.message().unwrap_or("invalid"));
            return Err(ProviderError::new(ErrorKind::Final, message).with_code("InvalidParameterInput"));
        }
        Ok(())
    }

    #[async_trait]
    impl Kind for DashboardKind {
        type Decl = Dashboard;
        type Out = DashboardOut;
        const SERVICE: Service = Service::CloudWatch;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Dashboard>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let names = match by {
                Lookup::Ids(names) => names.to_vec(),
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![d.dashboard_name.clone()],
            };
            let mut out = Vec::new();
            for r in futures_util::future::join_all(names.into_iter().map(|n| get(cx, n))).await {
                out.extend(r?);
            }
            Ok(out)
        }

        async fn create(&self, cx: &Ctx, d: &Dashboard, _: &Tags, _: &str) -> Result<String, ProviderError> {
            put(cx, d, Operation::Create).await?;
            Ok(d.dashboard_name.clone())
        }

        async fn update(&self, cx: &Ctx, _: &str, c: Change<'_, Dashboard>) -> Result<(), ProviderError> {
            put(cx, c.after, Operation::Update).await
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

        async fn delete(&self, cx: &Ctx, id: &str, _: &Dashboard) -> Result<(), ProviderError> {
            let call = cx.cloudwatch().delete_dashboards().dashboard_names(id);
            cx.send_in(Service::CloudWatch, "DeleteDashboards", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
