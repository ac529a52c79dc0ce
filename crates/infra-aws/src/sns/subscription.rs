use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::TopicArn;

const PROTOCOLS: &[&str] =
    &["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"];

/// A subscription to an SNS topic (`aws_sns_topic_subscription`). Its ID
/// is the subscription's ARN. The topic, protocol and endpoint replace it;
/// `raw_message_delivery` and `filter_policy` change in place.
///
/// Email, email-json and http(s) subscriptions wait for their owner to
/// confirm (`PendingConfirmation` on AWS): as in Terraform, such a
/// subscription counts as created (its ARN is asked for with
/// `ReturnSubscriptionArn`) and is not waited for; one never confirmed
/// cannot be unsubscribed, so its delete is done (AWS removes unconfirmed
/// subscriptions after three days).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::sns::{SnsSubscription, SnsTopic};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let alerts = stack.add("alerts", SnsTopic { name: "prod-alerts".into(), ..Default::default() });
/// stack.add("oncall", SnsSubscription {
///     topic_arn: alerts.arn().into(),
///     protocol: "email".into(),
///     endpoint: "oncall@example.com".into(),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:sns:Subscription",
    outputs(arn: String),
    readiness = "on_id",
    validate = validate_subscription,
    validate_type = crate::rules::unique,
    normalise = canonical_filter
)]
pub struct SnsSubscription {
    #[resource(force_new)]
    pub topic_arn: Input<TopicArn>,
    /// `sqs`, `lambda`, `https`, `email`, …
    #[resource(force_new)]
    pub protocol: String,
    /// The queue's or function's ARN, the URL, the address.
    #[resource(force_new)]
    pub endpoint: Input<String>,
    /// Deliver the message alone, without SNS's JSON envelope (SQS, HTTP(S)
    /// and Firehose only).
    pub raw_message_delivery: bool,
    /// The filter policy (JSON, compared by meaning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_policy: Option<Input<String>>,
}

fn validate_subscription(s: &SnsSubscription, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if !PROTOCOLS.contains(&s.protocol.as_str()) {
        ctx.error("protocol", format!("{:?} must be one of {}", s.protocol, PROTOCOLS.join(", ")));
    }
    if s.raw_message_delivery && !matches!(s.protocol.as_str(), "sqs" | "http" | "https" | "firehose") {
        ctx.error(
            "raw_message_delivery",
            format!("raw delivery is for sqs, http(s) and firehose, not {}", s.protocol),
        );
    }
    if let Some(Input::Value(p)) = &s.filter_policy
        && crate::json::canonical(p).is_none()
    {
        ctx.error("filter_policy", "the filter policy is not JSON");
    }
}

fn canonical_filter(s: &mut SnsSubscription) {
    if let Some(p) = &mut s.filter_policy {
        crate::json::canonical_input(p);
    }
}

#[cfg(feature = "sns")]
pub(crate) mod imp {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{SnsSubscription, SnsSubscriptionOut};
    use crate::ids::TopicArn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle};

    /// `aws:sns:Subscription` through the SNS API. Carries no tags: a lost
    /// create is found by (topic, protocol, endpoint), and Subscribe is
    /// idempotent for them.
    #[derive(Debug)]
    pub(crate) struct SnsSubscriptionKind;

    fn seen(arn: String, a: &HashMap<String, String>) -> Seen<SnsSubscriptionKind> {
        let get = |k: &str| a.get(k).cloned().unwrap_or_default();
        let decl = SnsSubscription {
            topic_arn: Input::Value(TopicArn::unchecked(get("TopicArn"))),
            protocol: get("Protocol"),
            endpoint: Input::Value(get("Endpoint")),
            raw_message_delivery: a.get("RawMessageDelivery").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            filter_policy: a.get("FilterPolicy").filter(|p| !p.is_empty()).map(|p| Input::Value(p.clone())),
        };
        Seen::ready(arn.clone(), decl, SnsSubscriptionOut { arn }, Tags::new())
    }

    async fn get(cx: &Ctx, arn: String) -> Result<Option<Seen<SnsSubscriptionKind>>, ProviderError> {
        let call = cx.sns().get_subscription_attributes().subscription_arn(&arn);
        match cx
            .send_in(Service::Sns, "GetSubscriptionAttributes", Operation::Read, || call.clone().send())
            .await
        {
            Ok(out) => Ok(Some(seen(arn, &out.attributes.unwrap_or_default()))),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn set(cx: &Ctx, arn: &str, name: &str, value: String, op: Operation) -> Result<(), ProviderError> {
        let call = cx
            .sns()
            .set_subscription_attributes()
            .subscription_arn(arn)
            .attribute_name(name)
            .attribute_value(value);
        settle(|| cx.send_in(Service::Sns, "SetSubscriptionAttributes", op, || call.clone().send()))
            .await
            .map(drop)
    }

    #[async_trait]
    impl Kind for SnsSubscriptionKind {
        type Decl = SnsSubscription;
        type Out = SnsSubscriptionOut;
        const SERVICE: Service = Service::Sns;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, SnsSubscription>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(arns) => {
                    let mut out = Vec::new();
                    for r in futures_util::future::join_all(arns.iter().cloned().map(|a| get(cx, a))).await {
                        out.extend(r?);
                    }
                    Ok(out)
                }
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => {
                    let topic = d.topic_arn.id().to_owned();
                    let subs = cx
                        .paged(|next| {
                            let call =
                                cx.sns().list_subscriptions_by_topic().topic_arn(&topic).set_next_token(next);
                            async move {
                                let out = cx
                                    .send_in(
                                        Service::Sns,
                                        "ListSubscriptionsByTopic",
                                        Operation::Read,
                                        || call.clone().send(),
                                    )
                                    .await?;
                                Ok((out.subscriptions.unwrap_or_default(), out.next_token))
                            }
                        })
                        .await;
                    let subs = match subs {
                        Ok(s) => s,
                        Err(e) if e.kind == ErrorKind::NotFound => return Ok(Vec::new()),
                        Err(e) => return Err(e),
                    };
                    let arns = subs.into_iter().filter(|s| {
                        s.protocol() == Some(d.protocol.as_str()) && s.endpoint() == Some(d.endpoint.as_str())
                    });
                    let mut out = Vec::new();
                    for s in arns.filter_map(|s| s.subscription_arn).filter(|a| a.starts_with("arn:")) {
                        out.extend(get(cx, s).await?);
                    }
                    Ok(out)
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &SnsSubscription,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let mut attrs = HashMap::new();
            if d.raw_message_delivery {
                attrs.insert("RawMessageDelivery".to_owned(), "true".to_owned());
            }
            if let Some(p) = &d.filter_policy {
                attrs.insert("FilterPolicy".to_owned(), p.as_str().to_owned());
            }
            let call = cx
                .sns()
                .subscribe()
                .topic_arn(d.topic_arn.id())
                .protocol(&d.protocol)
                .endpoint(d.endpoint.as_str())
                .set_attributes(Some(attrs))
                .return_subscription_arn(true);
            let out =
                cx.send_in(Service::Sns, "Subscribe", Operation::Create, || call.clone().send()).await?;
            out.subscription_arn.ok_or_else(|| missing("subscription ARN"))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, SnsSubscription>,
        ) -> Result<(), ProviderError> {
            let (d, op) = (c.after, Operation::Update);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("raw_message_delivery") {
                set(cx, id, "RawMessageDelivery", d.raw_message_delivery.to_string(), op).await?;
            }
            if changed("filter_policy") {
                // An empty policy removes it.
                let p = d.filter_policy.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default();
                set(cx, id, "FilterPolicy", p, op).await?;
            }
            Ok(())
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

        async fn delete(&self, cx: &Ctx, id: &str, _: &SnsSubscription) -> Result<(), ProviderError> {
            let call = cx.sns().unsubscribe().subscription_arn(id);
            match cx.send_in(Service::Sns, "Unsubscribe", Operation::Delete, || call.clone().send()).await {
                Ok(_) => Ok(()),
                // Never confirmed: it cannot be removed; AWS drops it.
                Err(e) if e.message.to_ascii_lowercase().contains("pending confirmation") => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}
