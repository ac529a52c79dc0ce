//! A web tier on EC2 instances (the seeds' `web_asg` module): a launch
//! template (IMDSv2 only, encrypted gp3 root volume, detailed monitoring),
//! an Auto Scaling group behind target groups with ELB health checks and
//! rolling instance refresh, scale-up and scale-down policies, and the CPU
//! alarms that trigger them.

use std::collections::BTreeMap;

use infra_core::{Handle, Input, Scope};

use crate::autoscaling::{
    AutoScalingGroup, AutoScalingPolicy, GroupLaunchTemplate, GroupTag, InstanceRefresh, PolicyType,
    TemplateVersion,
};
use crate::cloudwatch::{AlarmAction, MetricAlarm};
use crate::ec2::{BlockDeviceMapping, EbsSpec, LaunchTemplate, MetadataOptions};
use crate::ids::{AmiId, InstanceProfileName, SecurityGroupId, SubnetId, TargetGroupArn};

/// Inputs of [`web_asg`].
#[derive(Debug, Clone, Default)]
pub struct WebAsgConfig {
    /// Prefix of every name (`prod-web`).
    pub name: String,
    /// The instances' image (an `AmiLookup`'s `image_id()`, or a literal).
    pub image_id: Input<AmiId>,
    pub instance_type: String,
    pub key_name: Option<String>,
    /// Private subnets, one per zone.
    pub subnets: Vec<Input<SubnetId>>,
    pub security_groups: Vec<Input<SecurityGroupId>>,
    pub target_group_arns: Vec<Input<TargetGroupArn>>,
    pub instance_profile: Option<Input<InstanceProfileName>>,
    /// Base64-encoded user data.
    pub user_data: Option<String>,
    /// GiB of the root volume (`/dev/xvda`).
    pub root_volume_size: i32,
    pub min_size: i32,
    pub max_size: i32,
    pub desired_capacity: i32,
    /// Average CPU (percent) above which one instance is added, and below
    /// which one is removed, each after two 5-minute periods.
    pub scale_up_above: f64,
    pub scale_down_below: f64,
    pub tags: BTreeMap<String, String>,
}

/// The handles a [`web_asg`] exposes.
#[derive(Debug, Clone)]
pub struct WebAsg {
    pub launch_template: Handle<LaunchTemplate>,
    pub group: Handle<AutoScalingGroup>,
    pub scale_up: Handle<AutoScalingPolicy>,
    pub scale_down: Handle<AutoScalingPolicy>,
    pub cpu_high: Handle<MetricAlarm>,
    pub cpu_low: Handle<MetricAlarm>,
}

/// Adds the web tier under `scope.<name>`.
pub fn web_asg(scope: &mut Scope<'_>, name: &str, cfg: &WebAsgConfig) -> WebAsg {
    let mut s = scope.scope(name);
    let mut instance_tags = cfg.tags.clone();
    instance_tags.insert("Name".into(), format!("{}-asg", cfg.name));
    let launch_template = s.add(
        "template",
        LaunchTemplate {
            name: cfg.name.clone(),
            image_id: Some(cfg.image_id.clone()),
            instance_type: Some(cfg.instance_type.clone()),
            key_name: cfg.key_name.clone(),
            vpc_security_group_ids: cfg.security_groups.clone(),
            iam_instance_profile: cfg.instance_profile.clone(),
            user_data: cfg.user_data.clone(),
            ebs_optimized: Some(true),
            block_device_mappings: vec![BlockDeviceMapping {
                device_name: "/dev/xvda".into(),
                ebs: Some(EbsSpec {
                    volume_size: Some(cfg.root_volume_size),
                    volume_type: Some("gp3".into()),
                    delete_on_termination: Some(true),
                    encrypted: Some(true),
                }),
            }],
            metadata_options: Some(MetadataOptions {
                http_endpoint: Some("enabled".into()),
                http_tokens: Some("required".into()),
            }),
            monitoring: Some(true),
            instance_tags,
            tags: cfg.tags.clone(),
        },
    );
    let mut tag = vec![GroupTag::propagated("Name", &format!("{}-asg", cfg.name))];
    tag.extend(cfg.tags.iter().map(|(k, v)| GroupTag::propagated(k, v)));
    let group = s.add(
        "group",
        AutoScalingGroup {
            name: format!("{}-asg", cfg.name),
            launch_template: GroupLaunchTemplate {
                id: launch_template.id().into(),
                version: TemplateVersion::Latest,
            },
            min_size: cfg.min_size,
            max_size: cfg.max_size,
            desired_capacity: Some(cfg.desired_capacity),
            vpc_zone_identifier: cfg.subnets.clone(),
            target_group_arns: cfg.target_group_arns.clone(),
            health_check_type: Some(if cfg.target_group_arns.is_empty() { "EC2" } else { "ELB" }.into()),
            health_check_grace_period: Some(300),
            tag,
            instance_refresh: Some(InstanceRefresh::rolling(50).into()),
            ..Default::default()
        },
    );
    let policy = |s: &mut Scope<'_>, dir: &str, n: i32| {
        s.add(
            &format!("scale-{dir}"),
            AutoScalingPolicy {
                name: format!("{}-scale-{dir}", cfg.name),
                autoscaling_group_name: group.name().into(),
                policy_type: PolicyType::change_in_capacity(n, 300),
            },
        )
    };
    let scale_up = policy(&mut s, "up", 1);
    let scale_down = policy(&mut s, "down", -1);
    let alarm = |s: &mut Scope<'_>, dir: &str, op: &str, threshold: f64, p: &Handle<AutoScalingPolicy>| {
        s.add(
            &format!("cpu-{dir}"),
            MetricAlarm {
                alarm_name: format!("{}-cpu-{dir}", cfg.name),
                alarm_description: Some(format!("scales {} on average CPU", cfg.name)),
                comparison_operator: op.into(),
                evaluation_periods: 2,
                metric_name: Some("CPUUtilization".into()),
                namespace: Some("AWS/EC2".into()),
                period: Some(300),
                statistic: Some("Average".into()),
                threshold: Some(threshold),
                dimensions: BTreeMap::from([(
                    "AutoScalingGroupName".to_owned(),
                    group.name().to_string_output().into(),
                )]),
                alarm_actions: vec![AlarmAction::ScalingPolicy(p.arn().into())],
                tags: cfg.tags.clone(),
                ..Default::default()
            },
        )
    };
    let cpu_high = alarm(&mut s, "high", "GreaterThanThreshold", cfg.scale_up_above, &scale_up);
    let cpu_low = alarm(&mut s, "low", "LessThanThreshold", cfg.scale_down_below, &scale_down);
    WebAsg { launch_template, group, scale_up, scale_down, cpu_high, cpu_low }
}
