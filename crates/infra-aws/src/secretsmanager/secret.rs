use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{KmsKeyArn, LambdaFunctionArn, SecretArn};

/// A Secrets Manager secret (`aws_secretsmanager_secret`): the container
/// of a value. The value itself is a [`super::SecretVersion`] (a value the
/// stack declares, kept out of plans and state) or a
/// [`super::GeneratedPassword`] (a value nobody sees).
///
/// The name is the secret's identity in the region: changing it replaces
/// the secret. `description`, `kms_key_id`, `rotation` and `tags` change
/// in place. `recovery_window_in_days` is used when the secret is deleted:
/// 0 deletes it at once (`ForceDeleteWithoutRecovery`), 7 to 30 schedule
/// the deletion (the default is 30); a secret scheduled for deletion
/// counts as gone.
///
/// AWS refuses a new secret whose name is scheduled for deletion. When
/// that secret was this one (it carries this stack's and address's tags,
/// e.g. after a `destroy` with a recovery window), the create restores it
/// and brings it to the declaration; otherwise the create fails, saying
/// when the name frees up and how to restore or purge it.
///
/// Outputs: `secret.arn()` (`SecretArn`, where consumers reference the
/// secret: a container's `secrets`, an IAM policy) and `secret.name()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::secretsmanager::Secret;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let secret = stack.add("db-password", Secret {
///     name: "prod/database/password".into(),
///     description: Some("Database password for prod".into()),
///     recovery_window_in_days: Some(30),
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::SecretArn> = secret.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:secretsmanager:Secret",
    outputs(arn: SecretArn, name: String),
    readiness = "on_id",
    validate = validate_secret,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct Secret {
    /// The secret's name, unique in the region: letters, digits and
    /// `/_+=.@-`, at most 512 characters.
    #[resource(force_new)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The KMS key that encrypts the secret's values; unset: AWS's own
    /// (`aws/secretsmanager`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<KmsKeyArn>>,
    /// Days a deleted secret can be restored: 0 (deleted at once) or 7 to
    /// 30 (the default, recorded as unset). Used at delete; AWS does not
    /// report it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_window_in_days: Option<i32>,
    /// Rotation by a Lambda function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<SecretRotation>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A secret's rotation (`aws_secretsmanager_secret_rotation`): the function
/// and either a number of days or a schedule expression.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecretRotation {
    /// The rotation function.
    pub rotation_lambda_arn: Input<LambdaFunctionArn>,
    /// Rotate every this many days (1 to 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<i64>,
    /// Or on a schedule: `rate(10 days)`, `cron(0 16 1,15 * ? *)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    /// The rotation window (`3h`), within the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

fn validate_secret(s: &Secret, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &s.tags);
    let n = s.name.chars().count();
    if n == 0 || n > 512 {
        ctx.error("name", format!("{:?} must be 1 to 512 characters; it has {n}", s.name));
    }
    if let Some(c) = s.name.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c))) {
        ctx.error(
            "name",
            format!("{:?} has {c:?}: secret names take letters, digits and /_+=.@- only", s.name),
        );
    }
    if let Some(d) = &s.description
        && d.chars().count() > 2048
    {
        ctx.error("description", "a secret's description is at most 2048 characters");
    }
    if let Some(w) = s.recovery_window_in_days
        && w != 0
        && !(7..=30).contains(&w)
    {
        ctx.error("recovery_window_in_days", format!("{w} must be 0 (delete at once) or 7 to 30 days"));
    }
    if let Some(r) = &s.rotation {
        match (r.automatically_after_days, &r.schedule_expression) {
            (None, None) => {
                ctx.error("rotation", "set automatically_after_days or schedule_expression: when to rotate")
            }
            (Some(_), Some(_)) => ctx.error(
                "rotation.schedule_expression",
                "set automatically_after_days or schedule_expression, not both",
            ),
            (Some(d), None) if !(1..=1000).contains(&d) => {
                ctx.error("rotation.automatically_after_days", format!("{d} must be 1 to 1000 days"))
            }
            (None, Some(e)) if !(e.starts_with("rate(") || e.starts_with("cron(")) || !e.ends_with(')') => {
                ctx.error(
                    "rotation.schedule_expression",
                    format!("{e:?} must be rate(…) or cron(…), e.g. rate(10 days)"),
                )
            }
            _ => {}
        }
    }
}

/// AWS's defaults recorded as unset, so that either spelling converges.
fn defaults_unset(s: &mut Secret) {
    if s.description.as_deref() == Some("") {
        s.description = None;
    }
    if s.recovery_window_in_days == Some(30) {
        s.recovery_window_in_days = None;
    }
    if s.kms_key_id
        .as_ref()
        .and_then(Input::value)
        .is_some_and(|k| k.to_string() == "alias/aws/secretsmanager")
    {
        s.kms_key_id = None;
    }
}

#[cfg(feature = "secretsmanager")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, RotationRulesType};
    use infra_core::Input;
    use infra_engine::provider::{TAG_ADDRESS, TAG_STACK};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{Secret, SecretOut, SecretRotation};
    use crate::ids::{KmsKeyArn, LambdaFunctionArn, SecretArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing, sync_tags, user_tags};
    use crate::secretsmanager::sdk::{describe, each, request_token, sm_tags, tag_map};

    /// `aws:secretsmanager:Secret`.
    #[derive(Debug)]
    pub(crate) struct SecretKind;

    /// What DescribeSecret and ListSecrets both answer.
    struct Fields<'a> {
        arn: Option<&'a str>,
        name: Option<&'a str>,
        description: Option<&'a str>,
        kms_key_id: Option<&'a str>,
        rotation_enabled: Option<bool>,
        rotation_lambda_arn: Option<&'a str>,
        rotation_rules: Option<&'a RotationRulesType>,
        deleted: bool,
        tags: Tags,
    }

    fn seen(f: Fields<'_>) -> Result<Seen<SecretKind>, ProviderError> {
        let arn = f.arn.ok_or_else(|| missing("secret ARN"))?.to_owned();
        let name = f.name.unwrap_or_default().to_owned();
        let rotation = match (f.rotation_enabled, f.rotation_lambda_arn) {
            (Some(true), Some(lambda)) if !lambda.is_empty() => {
                let rules = f.rotation_rules;
                Some(SecretRotation {
                    rotation_lambda_arn: Input::Value(LambdaFunctionArn::unchecked(lambda)),
                    automatically_after_days: rules
                        .and_then(RotationRulesType::automatically_after_days)
                        .filter(|d| *d > 0),
                    schedule_expression: rules.and_then(|r| r.schedule_expression()).map(str::to_owned),
                    duration: rules.and_then(|r| r.duration()).map(str::to_owned),
                })
            }
            _ => None,
        };
        let decl = Secret {
            name: name.clone(),
            description: f.description.map(str::to_owned),
            kms_key_id: f.kms_key_id.map(|k| Input::Value(KmsKeyArn::unchecked(k))),
            recovery_window_in_days: None,
            rotation,
            tags: user_tags(&f.tags),
        };
        let out = SecretOut { arn: SecretArn::unchecked(&arn), name };
        let status =
            if f.deleted { Status::Deleting("scheduled for deletion".into()) } else { Status::Ready };
        Ok(Seen { id: arn, decl, out, tags: f.tags, status })
    }

    async fn get(cx: &Ctx, id: String) -> Result<Option<Seen<SecretKind>>, ProviderError> {
        let Some(d) = describe(cx, &id).await? else { return Ok(None) };
        seen(Fields {
            arn: d.arn(),
            name: d.name(),
            description: d.description(),
            kms_key_id: d.kms_key_id(),
            rotation_enabled: d.rotation_enabled(),
            rotation_lambda_arn: d.rotation_lambda_arn(),
            rotation_rules: d.rotation_rules(),
            deleted: d.deleted_date().is_some(),
            tags: tag_map(d.tags()),
        })
        .map(Some)
    }

    /// Secrets carrying tag `key` with `value` (scheduled ones included).
    async fn by_tag(cx: &Ctx, key: &str, value: &str) -> Result<Vec<Seen<SecretKind>>, ProviderError> {
        let filters = vec![
            Filter::builder().key(FilterNameStringType::TagKey).values(key).build(),
            Filter::builder().key(FilterNameStringType::TagValue).values(value).build(),
        ];
        let entries = cx
            .paged(|next| {
                let call = cx
                    .secretsmanager()
                    .list_secrets()
                    .include_planned_deletion(true)
                    .set_filters(Some(filters.clone()))
                    .set_next_token(next);
                async move {
                    let out = cx
                        .send_in(Service::SecretsManager, "ListSecrets", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    Ok((out.secret_list.unwrap_or_default(), out.next_token))
                }
            })
            .await?;
        entries
            .iter()
            .filter(|e| tag_map(e.tags()).get(key).map(String::as_str) == Some(value))
            .map(|e| {
                seen(Fields {
                    arn: e.arn(),
                    name: e.name(),
                    description: e.description(),
                    kms_key_id: e.kms_key_id(),
                    rotation_enabled: e.rotation_enabled(),
                    rotation_lambda_arn: e.rotation_lambda_arn(),
                    rotation_rules: e.rotation_rules(),
                    deleted: e.deleted_date().is_some(),
                    tags: tag_map(e.tags()),
                })
            })
            .collect()
    }

    async fn rotate(cx: &Ctx, id: &str, r: &SecretRotation, op: Operation) -> Result<(), ProviderError> {
        let rules = RotationRulesType::builder()
            .set_automatically_after_days(r.automatically_after_days)
            .set_schedule_expression(r.schedule_expression.clone())
            .set_duration(r.duration.clone())
            .build();
        let call = cx
            .secretsmanager()
            .rotate_secret()
            .secret_id(id)
            .rotation_lambda_arn(r.rotation_lambda_arn.id())
            .rotation_rules(rules)
            .rotate_immediately(false);
        cx.send_in(Service::SecretsManager, "RotateSecret", op, || call.clone().send()).await.map(drop)
    }

    /// The description and key as declared (`UpdateSecret`).
    async fn update_secret(cx: &Ctx, id: &str, d: &Secret, op: Operation) -> Result<(), ProviderError> {
        let call = cx
            .secretsmanager()
            .update_secret()
            .secret_id(id)
            .description(d.description.clone().unwrap_or_default())
            .kms_key_id(d.kms_key_id.as_ref().map_or("alias/aws/secretsmanager", Input::id));
        cx.send_in(Service::SecretsManager, "UpdateSecret", op, || call.clone().send()).await.map(drop)
    }

    /// A create refused because the name is scheduled for deletion: this
    /// address's secret is restored and brought to the declaration; anyone
    /// else's is named, with the way out.
    async fn restore_or_explain(
        kind: &SecretKind,
        cx: &Ctx,
        d: &Secret,
        tags: &Tags,
        refused: ProviderError,
    ) -> Result<String, ProviderError> {
        let Some(found) = describe(cx, &d.name).await? else { return Err(refused) };
        let Some(deleted) = found.deleted_date() else { return Err(refused) };
        let arn = found.arn().ok_or_else(|| missing("secret ARN"))?.to_owned();
        let have = tag_map(found.tags());
        let ours =
            [TAG_STACK, TAG_ADDRESS].iter().all(|k| have.get(*k).is_some_and(|v| tags.get(*k) == Some(v)));
        if !ours {
            let message = format!(
                "a secret named {:?} is scheduled for deletion (it was deleted on {deleted}; AWS frees the name when its recovery window ends): restore it (aws secretsmanager restore-secret --secret-id {arn:?}) and `import` it, purge it (delete-secret --force-delete-without-recovery), or choose another name",
                d.name
            );
            return Err(ProviderError { message, kind: ErrorKind::Final, ..refused });
        }
        let call = cx.secretsmanager().restore_secret().secret_id(&arn);
        cx.send_in(Service::SecretsManager, "RestoreSecret", Operation::Create, || call.clone().send())
            .await?;
        update_secret(cx, &arn, d, Operation::Create).await?;
        match (&d.rotation, found.rotation_enabled()) {
            (Some(r), _) => rotate(cx, &arn, r, Operation::Create).await?,
            (None, Some(true)) => cancel_rotation(cx, &arn, Operation::Create).await?,
            (None, _) => {}
        }
        sync_tags(kind, cx, &arn, &have, tags).await?;
        Ok(arn)
    }

    async fn cancel_rotation(cx: &Ctx, id: &str, op: Operation) -> Result<(), ProviderError> {
        let call = cx.secretsmanager().cancel_rotate_secret().secret_id(id);
        cx.send_in(Service::SecretsManager, "CancelRotateSecret", op, || call.clone().send()).await.map(drop)
    }

    #[async_trait]
    impl Kind for SecretKind {
        type Decl = Secret;
        type Out = SecretOut;
        const SERVICE: Service = Service::SecretsManager;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const WRITE_ONLY: &'static [&'static str] = &["recovery_window_in_days"];

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Secret>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(ids, |id| get(cx, id)).await,
                Lookup::Tag(key, value) => by_tag(cx, key, value).await,
                Lookup::Key(d) => each(std::slice::from_ref(&d.name), |name| get(cx, name)).await,
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &Secret,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .secretsmanager()
                .create_secret()
                .name(&d.name)
                .set_description(d.description.clone())
                .set_kms_key_id(d.kms_key_id.as_ref().map(|k| k.id().to_owned()))
                .client_request_token(request_token(token))
                .set_tags(Some(sm_tags(tags)));
            let arn = match cx
                .send_in(Service::SecretsManager, "CreateSecret", Operation::Create, || call.clone().send())
                .await
            {
                Ok(out) => out.arn.ok_or_else(|| missing("secret ARN"))?,
                // AWS answers InvalidRequestException (the emulator
                // ResourceExistsException) for a name scheduled for deletion.
                Err(e) if matches!(e.kind, ErrorKind::Conflict | ErrorKind::Final) => {
                    return restore_or_explain(self, cx, d, tags, e).await;
                }
                Err(e) => return Err(e),
            };
            if let Some(r) = &d.rotation {
                crate::kit::settle(|| rotate(cx, &arn, r, Operation::Create)).await?;
            }
            Ok(arn)
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, Secret>) -> Result<(), ProviderError> {
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("description") || changed("kms_key_id") {
                update_secret(cx, id, c.after, Operation::Update).await?;
            }
            if changed("rotation") {
                match &c.after.rotation {
                    Some(r) => rotate(cx, id, r, Operation::Update).await?,
                    None => cancel_rotation(cx, id, Operation::Update).await?,
                }
            }
            // `recovery_window_in_days` is used at delete: nothing to call.
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let sm = cx.secretsmanager();
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = sm.untag_resource().secret_id(id).set_tag_keys(Some(keys));
                cx.send_in(Service::SecretsManager, "UntagResource", Operation::Update, || {
                    call.clone().send()
                })
                .await?;
            }
            if !add.is_empty() {
                let call = sm.tag_resource().secret_id(id).set_tags(Some(sm_tags(add.iter().copied())));
                cx.send_in(Service::SecretsManager, "TagResource", Operation::Update, || call.clone().send())
                    .await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &Secret) -> Result<(), ProviderError> {
            let mut call = cx.secretsmanager().delete_secret().secret_id(id);
            call = match d.recovery_window_in_days {
                Some(0) => call.force_delete_without_recovery(true),
                Some(days) => call.recovery_window_in_days(i64::from(days)),
                None => call,
            };
            match cx
                .send_in(Service::SecretsManager, "DeleteSecret", Operation::Delete, || call.clone().send())
                .await
            {
                Ok(_) => Ok(()),
                // Already scheduled for deletion (deleted outside, or a
                // repeated delete whose first answer was lost): done.
                Err(e) if e.code.as_deref() == Some("InvalidRequestException") => {
                    match describe(cx, id).await? {
                        None => Ok(()),
                        Some(s) if s.deleted_date().is_some() => Ok(()),
                        Some(_) => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
    }
}
