use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::iam::{PolicyDocument, Purpose};
use crate::ids::TopicArn;

/// An SNS topic (`aws_sns_topic`). Its ID is its ARN; the name is unique
/// per region (CreateTopic is idempotent by name, so a lost create is found
/// by name). The name and `fifo_topic` replace the topic (destroy first);
/// the display name, the KMS key, the policy, content-based deduplication
/// and tags change in place. Unset, the policy is SNS's default (the
/// owner's account), and the default read back is reported unset.
///
/// Outputs: `topic.arn()` (`TopicArn`) and `topic.name()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::sns::SnsTopic;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let alerts = stack.add("alerts", SnsTopic { name: "prod-alerts".into(), ..Default::default() });
/// let _arn: Output<infra::aws::ids::TopicArn> = alerts.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:sns:Topic",
    outputs(arn: TopicArn, name: String),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_topic,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct SnsTopic {
    /// Letters, digits, `-` and `_`, at most 256; a FIFO topic's ends in
    /// `.fifo`.
    #[resource(force_new)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The KMS key for server-side encryption: a key ARN (`key.arn()`), ID
    /// or alias (`alias/aws/sns`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<Input<String>>,
    /// The topic's access policy (principals and resources per statement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyDocument>,
    #[resource(force_new)]
    pub fifo_topic: bool,
    /// FIFO topics only.
    pub content_based_deduplication: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_topic(t: &SnsTopic, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &t.tags);
    let base = t.name.strip_suffix(".fifo").unwrap_or(&t.name);
    if t.name.is_empty() || t.name.len() > 256 {
        ctx.error("name", format!("{:?} must be 1 to 256 characters", t.name));
    }
    if let Some(c) = base.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_".contains(*c))) {
        ctx.error("name", format!("{:?} has {c:?}: a topic name takes letters, digits, - and _", t.name));
    }
    match (t.fifo_topic, t.name.ends_with(".fifo")) {
        (true, false) => ctx.error("name", format!("{:?}: a FIFO topic's name ends in .fifo", t.name)),
        (false, true) => ctx.error("fifo_topic", format!("{:?} ends in .fifo: set fifo_topic", t.name)),
        _ => {}
    }
    if t.content_based_deduplication && !t.fifo_topic {
        ctx.error("content_based_deduplication", "content-based deduplication is for FIFO topics only");
    }
    if let Some(p) = &t.policy {
        crate::iam::validate(p, Purpose::Resource, "policy", ctx);
    }
    if let Some(d) = &t.display_name
        && d.chars().count() > 100
    {
        ctx.error("display_name", "a display name is at most 100 characters");
    }
}

/// SNS's default topic policy (`__default_policy_ID`): reported unset.
fn is_default_policy(p: &PolicyDocument) -> bool {
    p.id.as_deref() == Some("__default_policy_ID")
        || matches!(p.statements.as_slice(), [s] if s.sid.as_deref() == Some("__default_statement_ID"))
}

fn defaults_unset(t: &mut SnsTopic) {
    if t.display_name.as_deref() == Some("") {
        t.display_name = None;
    }
    if matches!(&t.kms_master_key_id, Some(Input::Value(k)) if k.is_empty()) {
        t.kms_master_key_id = None;
    }
    if t.policy.as_ref().is_some_and(is_default_policy) {
        t.policy = None;
    }
    if let Some(p) = &mut t.policy {
        crate::iam::canonical(p);
    }
}

#[cfg(feature = "sns")]
pub(crate) mod imp {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use aws_sdk_sns::types::Tag;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{SnsTopic, SnsTopicOut};
    use crate::iam::PolicyDocument;
    use crate::ids::TopicArn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:sns:Topic` through the SNS API.
    #[derive(Debug)]
    pub(crate) struct SnsTopicKind;

    pub(crate) fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
    }

    pub(crate) fn sns_tags<'a>(
        tags: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Vec<Tag>, ProviderError> {
        tags.into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| invalid("tags", e)))
            .collect()
    }

    fn name_of(arn: &str) -> &str {
        arn.rsplit(':').next().unwrap_or(arn)
    }

    async fn get(cx: &Ctx, arn: String) -> Result<Option<Seen<SnsTopicKind>>, ProviderError> {
        let sns = cx.sns();
        let call = sns.get_topic_attributes().topic_arn(&arn);
        let a: HashMap<String, String> = match cx
            .send_in(Service::Sns, "GetTopicAttributes", Operation::Read, || call.clone().send())
            .await
        {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let call = sns.list_tags_for_resource().resource_arn(&arn);
        let out =
            cx.send_in(Service::Sns, "ListTagsForResource", Operation::Read, || call.clone().send()).await?;
        let tags: Tags = out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        let flag = |k: &str| a.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let policy = a
            .get("Policy")
            .filter(|p| !p.is_empty())
            .map(|p| PolicyDocument::from_json(p))
            .transpose()
            .map_err(|e| ProviderError::new(ErrorKind::Transient, e).with_code("IncompleteResponse"))?;
        let decl = SnsTopic {
            name: name_of(&arn).to_owned(),
            display_name: a.get("DisplayName").cloned(),
            kms_master_key_id: a.get("KmsMasterKeyId").map(|k| Input::Value(k.clone())),
            policy,
            fifo_topic: flag("FifoTopic"),
            content_based_deduplication: flag("ContentBasedDeduplication"),
            tags: user_tags(&tags),
        };
        let out = SnsTopicOut { arn: TopicArn::unchecked(&arn), name: name_of(&arn).to_owned() };
        Ok(Some(Seen::ready(arn, decl, out, tags)))
    }

    async fn each(cx: &Ctx, arns: Vec<String>) -> Result<Vec<Seen<SnsTopicKind>>, ProviderError> {
        let mut out = Vec::new();
        for r in futures_util::future::join_all(arns.into_iter().map(|a| get(cx, a))).await {
            out.extend(r?);
        }
        Ok(out)
    }

    /// The topic's policy as SNS takes it: the declared one, or SNS's
    /// default for the topic `arn`.
    fn policy_json(d: &SnsTopic, arn: &str) -> Result<String, ProviderError> {
        if let Some(p) = &d.policy {
            return p.to_json().map_err(|e| invalid("policy", e));
        }
        let account = arn.split(':').nth(4).unwrap_or_default();
        Ok(format!(
            r#"{{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"{arn}","Condition":{{"StringEquals":{{"AWS:SourceOwner":"{account}"}}}}}}]}}"#
        ))
    }

    async fn set(cx: &Ctx, arn: &str, name: &str, value: String, op: Operation) -> Result<(), ProviderError> {
        let call = cx.sns().set_topic_attributes().topic_arn(arn).attribute_name(name).attribute_value(value);
        settle(|| cx.send_in(Service::Sns, "SetTopicAttributes", op, || call.clone().send())).await.map(drop)
    }

    #[async_trait]
    impl Kind for SnsTopicKind {
        type Decl = SnsTopic;
        type Out = SnsTopicOut;
        const SERVICE: Service = Service::Sns;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, SnsTopic>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(arns) => each(cx, arns.to_vec()).await,
                // SNS lists no tags: a lost create is found by its name.
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => {
                    let topics = cx
                        .paged(|next| {
                            let call = cx.sns().list_topics().set_next_token(next);
                            async move {
                                let out = cx
                                    .send_in(Service::Sns, "ListTopics", Operation::Read, || {
                                        call.clone().send()
                                    })
                                    .await?;
                                Ok((out.topics.unwrap_or_default(), out.next_token))
                            }
                        })
                        .await?;
                    let arns = topics
                        .into_iter()
                        .filter_map(|t| t.topic_arn)
                        .filter(|a| name_of(a) == d.name)
                        .collect();
                    each(cx, arns).await
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &SnsTopic,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let mut attrs = HashMap::new();
            if d.fifo_topic {
                attrs.insert("FifoTopic".to_owned(), "true".to_owned());
            }
            if d.content_based_deduplication {
                attrs.insert("ContentBasedDeduplication".to_owned(), "true".to_owned());
            }
            if let Some(n) = &d.display_name {
                attrs.insert("DisplayName".to_owned(), n.clone());
            }
            if let Some(k) = &d.kms_master_key_id {
                attrs.insert("KmsMasterKeyId".to_owned(), k.as_str().to_owned());
            }
            if let Some(p) = &d.policy {
                attrs.insert("Policy".to_owned(), p.to_json().map_err(|e| invalid("policy", e))?);
            }
            let call = cx
                .sns()
                .create_topic()
                .name(&d.name)
                .set_attributes(Some(attrs))
                .set_tags(Some(sns_tags(tags)?));
            let out =
                cx.send_in(Service::Sns, "CreateTopic", Operation::Create, || call.clone().send()).await?;
            out.topic_arn.ok_or_else(|| missing("topic ARN"))
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, SnsTopic>) -> Result<(), ProviderError> {
            let (d, op) = (c.after, Operation::Update);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("display_name") {
                set(cx, id, "DisplayName", d.display_name.clone().unwrap_or_default(), op).await?;
            }
            if changed("kms_master_key_id") {
                let key = d.kms_master_key_id.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default();
                set(cx, id, "KmsMasterKeyId", key, op).await?;
            }
            if changed("policy") {
                set(cx, id, "Policy", policy_json(d, id)?, op).await?;
            }
            if changed("content_based_deduplication") {
                set(cx, id, "ContentBasedDeduplication", d.content_based_deduplication.to_string(), op)
                    .await?;
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = cx.sns().untag_resource().resource_arn(id).set_tag_keys(Some(keys));
                cx.send_in(Service::Sns, "UntagResource", Operation::Update, || call.clone().send()).await?;
            }
            if !add.is_empty() {
                let call =
                    cx.sns().tag_resource().resource_arn(id).set_tags(Some(sns_tags(add.iter().copied())?));
                cx.send_in(Service::Sns, "TagResource", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &SnsTopic) -> Result<(), ProviderError> {
            let call = cx.sns().delete_topic().topic_arn(id);
            cx.send_in(Service::Sns, "DeleteTopic", Operation::Delete, || call.clone().send()).await.map(drop)
        }
    }
}
