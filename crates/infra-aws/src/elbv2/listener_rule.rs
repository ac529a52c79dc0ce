use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use super::{Action, Condition};
use crate::ids::{ListenerArn, ListenerRuleArn};

/// A rule of a listener (`aws_lb_listener_rule`): when its conditions
/// match, its action runs instead of the listener's default. Rules are
/// evaluated by priority, lowest first.
///
/// Only the listener cannot change (a change replaces the rule); the
/// priority (`SetRulePriorities`), conditions and actions (`ModifyRule`)
/// change in place. A priority is used once per listener.
///
/// A canary: forward by weight,
/// `Action::forward_weighted([(stable.arn(), 90), (canary.arn(), 10)])`,
/// and change the weights in place.
///
/// Outputs: `rule.arn()` (`ListenerRuleArn`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::elbv2::{Action, Condition, ListenerRule};
/// use infra::aws::ids::{ListenerArn, TargetGroupArn};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let https = ListenerArn::new("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/prod/50dc6c495c0c9188/f2f7dc8efc522ab2").unwrap();
/// let api = TargetGroupArn::new("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/73e2d6bc24d8a067").unwrap();
/// stack.add("api", ListenerRule {
///     listener_arn: https.into(),
///     priority: 100,
///     conditions: vec![Condition::PathPattern(vec!["/api/*".into()])],
///     actions: vec![Action::forward(api)],
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:elbv2:ListenerRule",
    outputs(arn: ListenerRuleArn),
    readiness = "on_id",
    validate = validate_rule,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = canonical
)]
pub struct ListenerRule {
    #[resource(force_new)]
    pub listener_arn: Input<ListenerArn>,
    /// 1 to 50000, once per listener.
    pub priority: i32,
    /// At least one.
    pub conditions: Vec<Condition>,
    /// Exactly one terminal action.
    pub actions: Vec<Action>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_rule(r: &ListenerRule, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &r.tags);
    if !(1..=50000).contains(&r.priority) {
        ctx.error("priority", format!("{} is outside 1-50000", r.priority));
    }
    super::action::check_conditions(ctx, "conditions", &r.conditions);
    super::action::check_actions(ctx, "actions", &r.actions);
}

fn canonical(r: &mut ListenerRule) {
    r.actions.iter_mut().for_each(super::action::canonical_action);
}

#[cfg(feature = "elbv2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_elasticloadbalancingv2::types::{Rule, RulePriorityPair};
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{ListenerRule, ListenerRuleOut};
    use crate::elbv2::action::imp::{conditions_from_sdk, conditions_to_sdk, from_sdk, to_sdk};
    use crate::elbv2::sdk::{batched, elb_tags, retag, tags_of};
    use crate::ids::{ListenerArn, ListenerRuleArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};

    /// `aws:elbv2:ListenerRule` through the ELBv2 API.
    #[derive(Debug)]
    pub(crate) struct ListenerRuleKind;

    /// A rule's listener: its ARN is the listener's with `listener-rule/`
    /// for `listener/` and the rule's own ID after it.
    fn listener_of(rule_arn: &str) -> String {
        let arn = rule_arn.replacen(":listener-rule/", ":listener/", 1);
        arn.rsplit_once('/').map_or(arn.clone(), |(l, _)| l.to_owned())
    }

    async fn seen_all(cx: &Ctx, rules: Vec<Rule>) -> Result<Vec<Seen<ListenerRuleKind>>, ProviderError> {
        // The listener's default rule is the listener's, not a rule.
        let rules: Vec<Rule> = rules.into_iter().filter(|r| r.is_default() != Some(true)).collect();
        let arns: Vec<String> = rules.iter().filter_map(|r| r.rule_arn().map(str::to_owned)).collect();
        let mut tags = tags_of(cx, &arns).await?;
        rules
            .iter()
            .map(|r| {
                let arn = r.rule_arn().ok_or_else(|| missing("rule ARN"))?.to_owned();
                let tags = tags.remove(&arn).unwrap_or_default();
                let decl = ListenerRule {
                    listener_arn: Input::Value(ListenerArn::unchecked(listener_of(&arn))),
                    priority: r.priority().and_then(|p| p.parse().ok()).unwrap_or_default(),
                    conditions: conditions_from_sdk(r.conditions()),
                    actions: from_sdk(r.actions()),
                    tags: user_tags(&tags),
                };
                let out = ListenerRuleOut { arn: ListenerRuleArn::unchecked(&arn) };
                Ok(Seen::ready(arn, decl, out, tags))
            })
            .collect()
    }

    #[async_trait]
    impl Kind for ListenerRuleKind {
        type Decl = ListenerRule;
        type Out = ListenerRuleOut;
        const SERVICE: Service = Service::Elbv2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 120);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, ListenerRule>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let rules = match by {
                Lookup::Ids(arns) => {
                    batched(arns, |chunk| async move {
                        let call = cx.elbv2().describe_rules().set_rule_arns(Some(chunk));
                        let out = cx
                            .send_in(Service::Elbv2, "DescribeRules", Operation::Read, || call.clone().send())
                            .await?;
                        Ok(out.rules.unwrap_or_default())
                    })
                    .await?
                }
                // ELBv2 lists nothing by tag: a lost create is found by
                // its listener and priority.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => {
                    let listener = d.listener_arn.id().to_owned();
                    let all = cx
                        .paged(|marker| {
                            let call = cx.elbv2().describe_rules().listener_arn(&listener).set_marker(marker);
                            async move {
                                let out = cx
                                    .send_in(Service::Elbv2, "DescribeRules", Operation::Read, || {
                                        call.clone().send()
                                    })
                                    .await?;
                                Ok((out.rules.unwrap_or_default(), out.next_marker))
                            }
                        })
                        .await?;
                    let priority = d.priority.to_string();
                    all.into_iter().filter(|r| r.priority() == Some(priority.as_str())).collect()
                }
            };
            seen_all(cx, rules).await
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &ListenerRule,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .elbv2()
                .create_rule()
                .listener_arn(d.listener_arn.id())
                .priority(d.priority)
                .set_conditions(Some(conditions_to_sdk(&d.conditions)))
                .set_actions(Some(to_sdk(&d.actions)))
                .set_tags(Some(elb_tags(tags)));
            let out = match cx
                .send_in(Service::Elbv2, "CreateRule", Operation::Create, || call.clone().send())
                .await
            {
                // The priority is taken: by this create, if its answer was
                // lost (the engine looks for it by listener and priority),
                // or by another rule.
                Err(e) if e.code.as_deref() == Some("PriorityInUse") => {
                    return Err(ProviderError { kind: ErrorKind::Conflict, ..e });
                }
                other => other?,
            };
            out.rules()
                .first()
                .and_then(|r| r.rule_arn())
                .map(str::to_owned)
                .ok_or_else(|| missing("rule ARN"))
        }

        async fn update(
            &self,
            cx: &Ctx,
            arn: &str,
            c: Change<'_, ListenerRule>,
        ) -> Result<(), ProviderError> {
            let d = c.after;
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("priority") {
                let pair = RulePriorityPair::builder().rule_arn(arn).priority(d.priority).build();
                let call = cx.elbv2().set_rule_priorities().rule_priorities(pair);
                cx.send_in(Service::Elbv2, "SetRulePriorities", Operation::Update, || call.clone().send())
                    .await?;
            }
            if changed("conditions") || changed("actions") {
                let call = cx
                    .elbv2()
                    .modify_rule()
                    .rule_arn(arn)
                    .set_conditions(changed("conditions").then(|| conditions_to_sdk(&d.conditions)))
                    .set_actions(changed("actions").then(|| to_sdk(&d.actions)));
                cx.send_in(Service::Elbv2, "ModifyRule", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            arn: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, arn, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, arn: &str, _: &ListenerRule) -> Result<(), ProviderError> {
            cx.send_in(Service::Elbv2, "DeleteRule", Operation::Delete, || {
                cx.elbv2().delete_rule().rule_arn(arn).send()
            })
            .await
            .map(drop)
        }
    }
}
