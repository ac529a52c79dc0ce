use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::iam::{Effect, PolicyDocument, Purpose};
use crate::ids::KmsKeyArn;

/// A KMS key (`aws_kms_key`). Its ID is the key ID (a UUID).
///
/// The key usage, the key spec and `multi_region` replace the key (a new
/// one is made before the old one is scheduled for deletion); the
/// description, the key policy, rotation and tags change in place. Unset,
/// the policy is KMS's default (the account's IAM policies decide), and a
/// default policy read back is reported unset. A delete schedules the
/// deletion after `deletion_window_in_days` (7–30, default 30): a key
/// pending deletion counts as gone.
///
/// A key has no name: a create whose answer is lost is found by its token
/// tag, searching the region's keys (`ListKeys`, then `ListResourceTags`
/// per key).
///
/// Outputs: `key.arn()` (`KmsKeyArn`) and `key.key_id()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::kms::KmsKey;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let key = stack.add("rds", KmsKey {
///     description: Some("RDS storage".into()),
///     enable_key_rotation: true,
///     deletion_window_in_days: Some(7.into()),
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::KmsKeyArn> = key.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:kms:Key",
    outputs(arn: KmsKeyArn, key_id: String),
    readiness = "on_id",
    validate = validate_key,
    normalise = defaults_unset
)]
pub struct KmsKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key policy (every statement names principals; resource `*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyDocument>,
    /// `ENCRYPT_DECRYPT` (the default, recorded as unset), `SIGN_VERIFY`,
    /// `GENERATE_VERIFY_MAC` or `KEY_AGREEMENT`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<String>,
    /// `SYMMETRIC_DEFAULT` (the default, recorded as unset), `RSA_2048`, …
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<String>,
    /// Yearly rotation of the key material (symmetric keys only).
    pub enable_key_rotation: bool,
    /// Days between the delete and the key's end: 7 to 30 (default 30).
    /// Used at delete only; AWS cannot report it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_window_in_days: Option<Input<i32>>,
    #[resource(force_new)]
    pub multi_region: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

const USAGES: &[&str] = &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"];
const SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];

fn validate_key(k: &KmsKey, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &k.tags);
    if let Some(d) = &k.description
        && d.chars().count() > 8192
    {
        ctx.error("description", "a key's description is at most 8192 characters");
    }
    if let Some(p) = &k.policy {
        crate::iam::validate(p, Purpose::Resource, "policy", ctx);
    }
    if let Some(u) = &k.key_usage
        && !USAGES.contains(&u.as_str())
    {
        ctx.error("key_usage", format!("{u:?} must be one of {}", USAGES.join(", ")));
    }
    let spec = k.customer_master_key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
    if !SPECS.contains(&spec) {
        ctx.error("customer_master_key_spec", format!("{spec:?} must be one of {}", SPECS.join(", ")));
    }
    if k.enable_key_rotation && spec != "SYMMETRIC_DEFAULT" {
        ctx.error("enable_key_rotation", format!("KMS rotates symmetric encryption keys only, not {spec}"));
    }
    if let Some(Input::Value(d)) = &k.deletion_window_in_days
        && !(7..=30).contains(d)
    {
        ctx.error("deletion_window_in_days", format!("{d} must be 7 to 30 days"));
    }
}

/// KMS's default key policy: the account (its IAM policies) may do
/// everything with the key. Read back, it is reported unset.
pub(crate) fn is_default_policy(p: &PolicyDocument) -> bool {
    let [s] = p.statements.as_slice() else { return false };
    let root = |p: &crate::iam::Principal| {
        p.kind == "AWS" && matches!(p.identifiers.as_slice(), [Input::Value(id)] if id.ends_with(":root"))
    };
    s.effect == Effect::Allow
        && matches!(s.principals.as_slice(), [p] if root(p))
        && s.not_principals.is_empty()
        && s.actions == ["kms:*"]
        && matches!(s.resources.as_slice(), [Input::Value(r)] if r == "*")
        && s.conditions.is_empty()
        && s.not_actions.is_empty()
        && s.not_resources.is_empty()
}

fn defaults_unset(k: &mut KmsKey) {
    if k.description.as_deref() == Some("") {
        k.description = None;
    }
    if k.key_usage.as_deref() == Some("ENCRYPT_DECRYPT") {
        k.key_usage = None;
    }
    if k.customer_master_key_spec.as_deref() == Some("SYMMETRIC_DEFAULT") {
        k.customer_master_key_spec = None;
    }
    if k.policy.as_ref().is_some_and(is_default_policy) {
        k.policy = None;
    }
    if let Some(p) = &mut k.policy {
        crate::iam::canonical(p);
    }
}

#[cfg(feature = "kms")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
    use futures_util::future::{join_all, try_join3};
    use infra_core::{Input, Value};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{KmsKey, KmsKeyOut};
    use crate::iam::PolicyDocument;
    use crate::ids::KmsKeyArn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, settle, user_tags};

    /// `aws:kms:Key` through the KMS API.
    #[derive(Debug)]
    pub(crate) struct KmsKeyKind;

    pub(crate) fn invalid(field: &str, e: String) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
    }

    pub(crate) fn kms_tags<'a>(
        tags: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Vec<Tag>, ProviderError> {
        tags.into_iter()
            .map(|(k, v)| {
                Tag::builder().tag_key(k).tag_value(v).build().map_err(|e| invalid("tags", e.to_string()))
            })
            .collect()
    }

    async fn tags_of(cx: &Ctx, id: &str) -> Result<Tags, ProviderError> {
        let pages = cx
            .paged(|next| {
                let call = cx.kms().list_resource_tags().key_id(id).set_marker(next);
                async move {
                    let out = cx
                        .send_in(Service::Kms, "ListResourceTags", Operation::Read, || call.clone().send())
                        .await?;
                    let next = if out.truncated() { out.next_marker().map(str::to_owned) } else { None };
                    Ok((out.tags.unwrap_or_default(), next))
                }
            })
            .await?;
        Ok(pages.into_iter().map(|t| (t.tag_key, t.tag_value)).collect())
    }

    /// The key `id` as KMS reports it; `None` when it does not exist.
    async fn get(cx: &Ctx, id: String) -> Result<Option<Seen<KmsKeyKind>>, ProviderError> {
        let call = cx.kms().describe_key().key_id(&id);
        let m = match cx.send_in(Service::Kms, "DescribeKey", Operation::Read, || call.clone().send()).await {
            Ok(out) => out.key_metadata.ok_or_else(|| missing("key metadata"))?,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let out = KmsKeyOut {
            arn: KmsKeyArn::unchecked(m.arn().unwrap_or_default()),
            key_id: m.key_id().to_owned(),
        };
        let status = match m.key_state() {
            Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => Status::Gone,
            Some(KeyState::Creating) => Status::Pending("Creating".into()),
            _ => Status::Ready,
        };
        let spec = m.key_spec().map(|s| s.as_str().to_owned());
        let symmetric = spec.as_deref().is_none_or(|s| s == "SYMMETRIC_DEFAULT");
        let (policy, rotation, tags) = if status == Status::Gone {
            (None, false, Tags::new())
        } else {
            let kms = cx.kms();
            let policy = async {
                let call = kms.get_key_policy().key_id(&id).policy_name("default");
                let out =
                    cx.send_in(Service::Kms, "GetKeyPolicy", Operation::Read, || call.clone().send()).await?;
                out.policy()
                    .map(PolicyDocument::from_json)
                    .transpose()
                    .map_err(|e| ProviderError::new(ErrorKind::Transient, e).with_code("IncompleteResponse"))
            };
            let rotation = async {
                if !symmetric {
                    return Ok(false);
                }
                let call = kms.get_key_rotation_status().key_id(&id);
                let out = cx
                    .send_in(Service::Kms, "GetKeyRotationStatus", Operation::Read, || call.clone().send())
                    .await?;
                Ok(out.key_rotation_enabled())
            };
            try_join3(policy, rotation, tags_of(cx, &id)).await?
        };
        let decl = KmsKey {
            description: m.description().map(str::to_owned),
            policy,
            key_usage: m.key_usage().map(|u| u.as_str().to_owned()),
            customer_master_key_spec: spec,
            enable_key_rotation: rotation,
            deletion_window_in_days: Some(Input::Expr(Value::Unknown)),
            multi_region: m.multi_region().unwrap_or(false),
            tags: user_tags(&tags),
        };
        Ok(Some(Seen { id: m.key_id().to_owned(), decl, out, tags, status }))
    }

    async fn each(cx: &Ctx, ids: Vec<String>) -> Result<Vec<Seen<KmsKeyKind>>, ProviderError> {
        let mut out = Vec::new();
        for r in join_all(ids.into_iter().map(|id| get(cx, id))).await {
            out.extend(r?);
        }
        Ok(out)
    }

    /// KMS's default policy for a key of `arn`'s account.
    fn default_policy(arn: &str) -> String {
        let account = arn.split(':').nth(4).unwrap_or_default();
        let partition = arn.split(':').nth(1).unwrap_or("aws");
        format!(
            r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
        )
    }

    #[async_trait]
    impl Kind for KmsKeyKind {
        type Decl = KmsKey;
        type Out = KmsKeyOut;
        const SERVICE: Service = Service::Kms;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, KmsKey>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(cx, ids.to_vec()).await,
                // No name and no tag filter: search the region's keys' tags.
                Lookup::Tag(key, value) => {
                    let keys = cx
                        .paged(|next| {
                            let call = cx.kms().list_keys().set_marker(next);
                            async move {
                                let out = cx
                                    .send_in(Service::Kms, "ListKeys", Operation::Read, || {
                                        call.clone().send()
                                    })
                                    .await?;
                                let next =
                                    if out.truncated() { out.next_marker().map(str::to_owned) } else { None };
                                Ok((out.keys.unwrap_or_default(), next))
                            }
                        })
                        .await?;
                    let ids: Vec<String> =
                        keys.iter().filter_map(|k| k.key_id().map(str::to_owned)).collect();
                    let mut matching = Vec::new();
                    for chunk in ids.chunks(20) {
                        let tagged =
                            join_all(chunk.iter().map(|id| async move { (id, tags_of(cx, id).await) })).await;
                        for (id, tags) in tagged {
                            match tags {
                                Ok(t) if t.get(key).map(String::as_str) == Some(value) => {
                                    matching.push(id.clone())
                                }
                                Ok(_) => {}
                                // AWS managed keys and keys of others: not ours.
                                Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Final) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    each(cx, matching).await
                }
                Lookup::Key(_) => Ok(Vec::new()),
            }
        }

        async fn create(&self, cx: &Ctx, d: &KmsKey, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let policy =
                d.policy.as_ref().map(|p| p.to_json().map_err(|e| invalid("policy", e))).transpose()?;
            let call = cx
                .kms()
                .create_key()
                .set_description(d.description.clone())
                .set_policy(policy)
                .set_key_usage(d.key_usage.as_deref().map(KeyUsageType::from))
                .set_key_spec(d.customer_master_key_spec.as_deref().map(KeySpec::from))
                .multi_region(d.multi_region)
                .set_tags(Some(kms_tags(tags)?));
            let out =
                cx.send_in(Service::Kms, "CreateKey", Operation::Create, || call.clone().send()).await?;
            let id = out.key_metadata.map(|m| m.key_id).ok_or_else(|| missing("key ID"))?;
            if d.enable_key_rotation {
                let call = cx.kms().enable_key_rotation().key_id(&id);
                settle(|| {
                    cx.send_in(Service::Kms, "EnableKeyRotation", Operation::Create, || call.clone().send())
                })
                .await?;
            }
            Ok(id)
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, KmsKey>) -> Result<(), ProviderError> {
            let (kms, d) = (cx.kms(), c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("description") {
                let call = kms
                    .update_key_description()
                    .key_id(id)
                    .description(d.description.clone().unwrap_or_default());
                cx.send_in(Service::Kms, "UpdateKeyDescription", Operation::Update, || call.clone().send())
                    .await?;
            }
            if changed("policy") {
                let policy = match &d.policy {
                    Some(p) => p.to_json().map_err(|e| invalid("policy", e))?,
                    None => {
                        let call = kms.describe_key().key_id(id);
                        let out = cx
                            .send_in(Service::Kms, "DescribeKey", Operation::Read, || call.clone().send())
                            .await?;
                        default_policy(out.key_metadata().and_then(|m| m.arn()).unwrap_or_default())
                    }
                };
                let call = kms.put_key_policy().key_id(id).policy_name("default").policy(policy);
                cx.send_in(Service::Kms, "PutKeyPolicy", Operation::Update, || call.clone().send()).await?;
            }
            if changed("enable_key_rotation") {
                if d.enable_key_rotation {
                    let call = kms.enable_key_rotation().key_id(id);
                    cx.send_in(Service::Kms, "EnableKeyRotation", Operation::Update, || call.clone().send())
                        .await?;
                } else {
                    let call = kms.disable_key_rotation().key_id(id);
                    cx.send_in(Service::Kms, "DisableKeyRotation", Operation::Update, || call.clone().send())
                        .await?;
                }
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
                let call = cx.kms().untag_resource().key_id(id).set_tag_keys(Some(keys));
                cx.send_in(Service::Kms, "UntagResource", Operation::Update, || call.clone().send()).await?;
            }
            if !add.is_empty() {
                let call = cx.kms().tag_resource().key_id(id).set_tags(Some(kms_tags(add.iter().copied())?));
                cx.send_in(Service::Kms, "TagResource", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &KmsKey) -> Result<(), ProviderError> {
            let days = d.deletion_window_in_days.as_ref().and_then(|w| w.value().copied());
            let call = cx.kms().schedule_key_deletion().key_id(id).set_pending_window_in_days(days);
            match cx
                .send_in(Service::Kms, "ScheduleKeyDeletion", Operation::Delete, || call.clone().send())
                .await
            {
                Ok(_) => Ok(()),
                // Already pending deletion: done.
                Err(e) if e.code.as_deref() == Some("KMSInvalidStateException") => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}
