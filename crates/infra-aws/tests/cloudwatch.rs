//! CloudWatch: a metric alarm's (one metric, and metric math) and a
//! dashboard's lifecycle in both regions (create, refreshed plan empty,
//! in-place upserts, a rename replaces, destroy), drift, and the checks
//! made before any call.
//!
//! On the emulator: aws-sdk-cloudwatch after 1.99 speaks CloudWatch's
//! Smithy RPC v2 CBOR protocol, which moto 5.2.5 does not route (404), so
//! the workspace pins 1.99.0, the last release speaking the Query
//! protocol (AWS accepts both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::cloudwatch::{Dashboard, DashboardBody, MetricAlarm, MetricQuery, MetricWidget, QueryMetric};
use infra_aws::sns::SnsTopic;
use infra_core::{Options, ProviderKey, ReplaceOrder, Stack};

fn cloudwatch(w: &World, region: &str) -> aws_sdk_cloudwatch::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_cloudwatch::Client::from_conf(aws_sdk_cloudwatch::config::Builder::from(&sdk).build())
}

fn alarms(s: &mut Stack, key: &ProviderKey, r: &str, v: u8) {
    let topic = s.add_with(
        &format!("alerts-{r}"),
        SnsTopic { name: format!("alerts-{r}"), ..Default::default() },
        Options::new().provider(key),
    );
    s.add_with(
        &format!("cpu-{r}"),
        MetricAlarm {
            alarm_name: if v == 2 { format!("cpu-high-{r}-2") } else { format!("cpu-high-{r}") },
            comparison_operator: "GreaterThanThreshold".into(),
            evaluation_periods: if v == 0 { 2 } else { 3 },
            metric_name: Some("CPUUtilization".into()),
            namespace: Some("AWS/EC2".into()),
            period: Some(300),
            statistic: Some("Average".into()),
            threshold: Some(if v == 0 { 70.0 } else { 80.5 }),
            datapoints_to_alarm: (v >= 1).then_some(2),
            treat_missing_data: (v >= 1).then(|| "breaching".into()),
            // A dimension whose value is another resource's output.
            dimensions: BTreeMap::from([("AutoScalingGroupName".into(), topic.name().into())]),
            alarm_description: (v >= 1).then(|| "CPU high".into()),
            alarm_actions: vec![topic.arn().into()],
            ok_actions: if v >= 1 { vec![topic.arn().into()] } else { vec![] },
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
            ..Default::default()
        },
        Options::new().provider(key),
    );
    let query = |id: &str, metric: &str| MetricQuery {
        id: id.into(),
        metric: Some(QueryMetric {
            metric_name: metric.into(),
            namespace: "AWS/ApplicationELB".into(),
            period: 60,
            stat: "Sum".into(),
            dimensions: BTreeMap::from([("LoadBalancer".into(), "app/prod/50dc6c495c0c9188".into())]),
        }),
        ..Default::default()
    };
    s.add_with(
        &format!("slo-{r}"),
        MetricAlarm {
            alarm_name: format!("slo-burn-{r}"),
            comparison_operator: "GreaterThanOrEqualToThreshold".into(),
            evaluation_periods: 5,
            threshold: Some(if v == 0 { 1.0 } else { 2.0 }),
            metric_query: vec![
                query("errors", "HTTPCode_Target_5XX_Count"),
                query("requests", "RequestCount"),
                MetricQuery {
                    id: "rate".into(),
                    expression: Some("100 * errors / requests".into()),
                    label: Some(format!("error rate v{}", v.min(1))),
                    return_data: true,
                    metric: None,
                },
            ],
            alarm_actions: vec![topic.arn().into()],
            ..Default::default()
        },
        Options::new().provider(key),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_alarm() {
    lifecycle(
        "alarm",
        |s, us, eu, v| {
            alarms(s, us, "us", v);
            alarms(s, eu, "eu", v);
        },
        &["cpu-us", "cpu-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

fn dashboard(s: &mut Stack, key: &ProviderKey, r: &str, v: u8) {
    let topic = s.add_with(
        &format!("t-{r}"),
        SnsTopic { name: format!("t-{r}"), ..Default::default() },
        Options::new().provider(key),
    );
    let region = if r == "us" { "us-east-1" } else { "eu-west-1" };
    s.add_with(
        &format!("main-{r}"),
        Dashboard {
            dashboard_name: if v == 2 { format!("main-{r}-2") } else { format!("main-{r}") },
            dashboard_body: DashboardBody::new([MetricWidget::new(
                &format!("Topic v{}", v.min(1)),
                region,
                300,
            )
            .at(0, 0, 12, 6)
            .metric([
                "AWS/SNS".into(),
                "NumberOfMessagesPublished".into(),
                "TopicName".into(),
                topic.name().into(),
            ])
            .metric([".".into(), "NumberOfNotificationsFailed".into(), ".".into(), ".".into()])])
            .into(),
        },
        Options::new().provider(key),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_lifecycle() {
    lifecycle(
        "dashboard",
        |s, us, eu, v| {
            dashboard(s, us, "us", v);
            dashboard(s, eu, "eu", v);
        },
        &["main-us", "main-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_outside_the_stack_shows_in_the_plan_and_is_undone() {
    let w = world();
    let (mut stack, us, _) = stack("drift");
    alarms(&mut stack, &us, "us", 1);
    dashboard(&mut stack, &us, "us", 1);
    w.apply(&stack).await;
    let c = cloudwatch(&w, "us-east-1");
    c.put_metric_alarm()
        .alarm_name("cpu-high-us")
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::LessThanThreshold)
        .evaluation_periods(1)
        .metric_name("CPUUtilization")
        .namespace("AWS/EC2")
        .period(60)
        .statistic(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .threshold(1.0)
        .send()
        .await
        .unwrap();
    // The same body, reformatted: no drift.
    let body = c
        .get_dashboard()
        .dashboard_name("main-us")
        .send()
        .await
        .unwrap()
        .dashboard_body()
        .unwrap()
        .to_owned();
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&body).unwrap()).unwrap();
    c.put_dashboard().dashboard_name("main-us").dashboard_body(pretty).send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| c.address.to_string()).collect();
    assert_eq!(actions, ["cpu-us"], "{actions:?}");
    let a = c.describe_alarms().alarm_names("cpu-high-us").send().await.unwrap();
    assert_eq!(a.metric_alarms()[0].threshold(), Some(80.5));
    assert!(w.converged(&stack).await);
}

fn problems(s: &Stack) -> String {
    match s.validate() {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_rule_aws_would_refuse_is_reported_before_any_call() {
    let (mut s, us, _) = stack("bad");
    alarms(&mut s, &us, "us", 1);
    dashboard(&mut s, &us, "us", 1);
    assert_eq!(problems(&s), "", "the seed-like stack is valid");
    let (mut s, us, _) = stack("bad");
    s.add_with(
        "bad",
        MetricAlarm {
            alarm_name: "bad".into(),
            comparison_operator: "GreaterThan".into(),
            evaluation_periods: 2,
            metric_name: Some("CPUUtilization".into()),
            namespace: Some("AWS/EC2".into()),
            period: Some(90),
            statistic: Some("p99".into()),
            threshold: Some(1.0),
            datapoints_to_alarm: Some(3),
            treat_missing_data: Some("zero".into()),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "math",
        MetricAlarm {
            alarm_name: "math".into(),
            comparison_operator: "LessThanThreshold".into(),
            evaluation_periods: 1,
            threshold: Some(1.0),
            metric_query: vec![
                MetricQuery { id: "Rate".into(), expression: Some("1".into()), ..Default::default() },
                MetricQuery { id: "x".into(), ..Default::default() },
            ],
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "dash",
        Dashboard { dashboard_name: "a b".into(), dashboard_body: r#"{"widget": []}"#.into() },
        Options::new().provider(&us),
    );
    s.add_with(
        "dash2",
        Dashboard { dashboard_name: "a b".into(), dashboard_body: r#"{"widgets": []}"#.into() },
        Options::new().provider(&us),
    );
    let p = problems(&s);
    for expected in [
        "comparison_operator",
        "period",
        "statistic",
        "datapoints_to_alarm",
        "treat_missing_data",
        "metric_query[0].id",
        "metric_query[1]",
        "return_data",
        "dashboard_name",
        "dashboard_body",
        "already declares a dashboard of this name",
    ] {
        assert!(p.contains(expected), "{expected} not reported:\n{p}");
    }
}
