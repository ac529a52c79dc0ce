use infra_core::{Input, Sensitive, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::SecretArn;

/// A secret's value (`aws_secretsmanager_secret_version`): the declared
/// string becomes the secret's current (`AWSCURRENT`) version.
///
/// `secret_string` is the engine's secret type: it is sent to Secrets
/// Manager and nowhere else — plans show `(sensitive)`, state keeps a keyed
/// digest, events and logs never carry it. A changed value replaces the
/// version (a new `PutSecretValue`, which becomes `AWSCURRENT`, then the
/// old version's labels are removed). The ID is `<secret ARN>|<version
/// ID>` (Terraform's form).
///
/// A refresh never reads the value (it keeps what was recorded); it does
/// see when the secret's `AWSCURRENT` version is no longer this one (a
/// value put outside the stack, a rotation): the version then counts as
/// gone and the next apply puts the declared value back. A secret that
/// rotates should not declare its value here (use
/// [`super::GeneratedPassword`] for its first value).
///
/// Outputs: `arn` (the secret's `SecretArn`) and `version_id`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::secretsmanager::{Secret, SecretVersion};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let keys = stack.add("api-keys", Secret { name: "prod/api/keys".into(), ..Default::default() });
/// let from_env = std::env::var("STRIPE_KEY").unwrap_or_default();
/// stack.add("api-keys-value", SecretVersion {
///     secret_id: keys.arn().into(),
///     secret_string: Sensitive(format!(r#"{{"stripe_secret_key":"{from_env}"}}"#)),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:secretsmanager:SecretVersion",
    outputs(arn: SecretArn, version_id: String),
    readiness = "on_id",
    validate = validate_version,
    validate_type = crate::rules::unique
)]
pub struct SecretVersion {
    /// The secret (`secret.arn()`).
    #[resource(force_new)]
    pub secret_id: Input<SecretArn>,
    /// The value (at most 65,536 bytes). Never read back.
    #[resource(force_new, secret)]
    #[serde(skip_serializing_if = "unread")]
    pub secret_string: Sensitive<String>,
}

/// True for the value a read reports: none (Secrets Manager's values are
/// never read into state).
fn unread(s: &Sensitive<String>) -> bool {
    s.0.is_empty()
}

fn validate_version(v: &SecretVersion, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if v.secret_string.0.len() > 65_536 {
        ctx.error("secret_string", "a secret's value is at most 65,536 bytes");
    }
}

/// A password Secrets Manager generates (`GetRandomPassword`) and puts
/// into a secret as its current version — like Terraform's
/// `random_password` with `aws_secretsmanager_secret_version`, except that
/// the value is never returned to the engine: not in a plan, the state, an
/// event or a log. Consumers reference the secret (`secret.arn()`: an ECS
/// container's `secrets`, a database's managed password), never the value.
///
/// Every setting is force-new: a change generates a new password. The ID
/// is `<secret ARN>|<version ID>` (a read needs the secret as well as the
/// version); outputs `secret_arn` and `version_id`. The password counts as
/// present while its version exists in a live secret, whatever its labels
/// (a rotation that moves `AWSCURRENT` on does not make a new one).
/// Deleting it makes no call: the version stops being tracked and the
/// value stays in the secret until the [`super::Secret`] is deleted.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::secretsmanager::{GeneratedPassword, Secret};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let secret = stack.add("db-password", Secret { name: "prod/database/password".into(), ..Default::default() });
/// stack.add("db-password-value", GeneratedPassword {
///     secret_id: secret.arn().into(),
///     length: 32,
///     exclude_characters: Some("/@\" ".into()),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:secretsmanager:GeneratedPassword",
    outputs(secret_arn: SecretArn, version_id: String),
    readiness = "on_id",
    validate = validate_password,
    validate_type = crate::rules::unique,
    normalise = password_defaults_unset
)]
pub struct GeneratedPassword {
    /// The secret the password goes into (`secret.arn()`).
    #[resource(force_new)]
    pub secret_id: Input<SecretArn>,
    /// 4 to 4096 characters.
    #[resource(force_new)]
    pub length: u32,
    /// Characters the password must not contain.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_characters: Option<String>,
    /// No punctuation (``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``); default false.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_punctuation: Option<bool>,
    /// No digits; default false.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_numbers: Option<bool>,
    /// No upper-case letters; default false.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_uppercase: Option<bool>,
    /// No lower-case letters; default false.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_lowercase: Option<bool>,
    /// May contain spaces; default false.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_space: Option<bool>,
    /// At least one character of every included kind; default true.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_each_included_type: Option<bool>,
}

/// The settings a [`GeneratedPassword`] is made with: Secrets Manager
/// never reports them, so a refresh keeps what was recorded.
#[cfg_attr(not(feature = "secretsmanager"), allow(dead_code))]
pub(crate) const PASSWORD_SETTINGS: &[&str] = &[
    "length",
    "exclude_characters",
    "exclude_punctuation",
    "exclude_numbers",
    "exclude_uppercase",
    "exclude_lowercase",
    "include_space",
    "require_each_included_type",
];

fn validate_password(p: &GeneratedPassword, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if !(4..=4096).contains(&p.length) {
        ctx.error("length", format!("{} must be 4 to 4096 characters", p.length));
    }
    if let Some(x) = &p.exclude_characters
        && x.chars().count() > 4096
    {
        ctx.error("exclude_characters", "at most 4096 characters");
    }
    let on = |b: Option<bool>| b == Some(true);
    if on(p.exclude_punctuation)
        && on(p.exclude_numbers)
        && on(p.exclude_uppercase)
        && on(p.exclude_lowercase)
        && !on(p.include_space)
    {
        ctx.error(
            "exclude_lowercase",
            "every kind of character is excluded: nothing is left to generate from",
        );
    }
}

/// AWS's defaults recorded as unset.
fn password_defaults_unset(p: &mut GeneratedPassword) {
    for flag in [
        &mut p.exclude_punctuation,
        &mut p.exclude_numbers,
        &mut p.exclude_uppercase,
        &mut p.exclude_lowercase,
        &mut p.include_space,
    ] {
        if *flag == Some(false) {
            *flag = None;
        }
    }
    if p.require_each_included_type == Some(true) {
        p.require_each_included_type = None;
    }
    if p.exclude_characters.as_deref() == Some("") {
        p.exclude_characters = None;
    }
}

#[cfg(feature = "secretsmanager")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use infra_core::{Input, Sensitive};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{GeneratedPassword, GeneratedPasswordOut, SecretVersion, SecretVersionOut};
    use crate::ids::SecretArn;
    use crate::kit::{Created, Ctx, Kind, Lookup, Seen, Service, Status, Tags, missing};
    use crate::secretsmanager::sdk::{each, request_token, split_version_id, versions};

    const CURRENT: &str = "AWSCURRENT";

    /// The versions asked for, one DescribeSecret per secret: each found
    /// version's (secret ARN, version ID, labels).
    async fn find_versions(
        cx: &Ctx,
        ids: &[String],
    ) -> Result<Vec<(String, String, Vec<String>)>, ProviderError> {
        let mut per_secret: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in ids {
            let (arn, version) = split_version_id(id)?;
            per_secret.entry(arn.to_owned()).or_default().push(version.to_owned());
        }
        let secrets: Vec<String> = per_secret.keys().cloned().collect();
        let found =
            each(&secrets, |arn| async move { Ok(versions(cx, &arn).await?.map(|v| (arn, v))) }).await?;
        let mut out = Vec::new();
        for (arn, held) in found {
            for version in per_secret.get(&arn).into_iter().flatten() {
                if let Some(labels) = held.get(version) {
                    out.push((arn.clone(), version.clone(), labels.clone()));
                }
            }
        }
        Ok(out)
    }

    /// `PutSecretValue` with the create's token as the version ID: a
    /// repeated call (its first answer lost) with the same value makes no
    /// second version. The value is in the request only (the SDK redacts
    /// it from its own debug output).
    async fn put(cx: &Ctx, secret: &str, value: &str, token: &str) -> Result<String, ProviderError> {
        let call = cx
            .secretsmanager()
            .put_secret_value()
            .secret_id(secret)
            .secret_string(value)
            .client_request_token(request_token(token));
        let out = cx
            .send_in(Service::SecretsManager, "PutSecretValue", Operation::Create, || call.clone().send())
            .await?;
        out.version_id.ok_or_else(|| missing("version ID"))
    }

    /// `aws:secretsmanager:SecretVersion`.
    #[derive(Debug)]
    pub(crate) struct SecretVersionKind;

    #[async_trait]
    impl Kind for SecretVersionKind {
        type Decl = SecretVersion;
        type Out = SecretVersionOut;
        const SERVICE: Service = Service::SecretsManager;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 60);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, SecretVersion>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            // Versions carry no tags, and the secret's current version may
            // be anyone's value: a lost create is not searched for; its
            // retry, with the same token and value, is idempotent.
            let Lookup::Ids(ids) = by else { return Ok(Vec::new()) };
            let found = find_versions(cx, ids).await?;
            Ok(found
                .into_iter()
                .map(|(arn, version, labels)| {
                    let id = format!("{arn}|{version}");
                    let decl = SecretVersion {
                        secret_id: Input::Value(SecretArn::unchecked(&arn)),
                        secret_string: Sensitive(String::new()),
                    };
                    let out = SecretVersionOut { arn: SecretArn::unchecked(&arn), version_id: version };
                    let status = if labels.iter().any(|l| l == CURRENT) {
                        Status::Ready
                    } else {
                        Status::Failed("no longer the secret's AWSCURRENT version".into())
                    };
                    Seen { id, decl, out, tags: Tags::new(), status }
                })
                .collect())
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &SecretVersion,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &SecretVersion,
            _: &Tags,
            token: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let arn = d.secret_id.id();
            let version = put(cx, arn, &d.secret_string.0, token).await?;
            let decl =
                SecretVersion { secret_id: d.secret_id.clone(), secret_string: Sensitive(String::new()) };
            let out = SecretVersionOut { arn: SecretArn::unchecked(arn), version_id: version.clone() };
            Ok(Created::Seen(Seen::ready(format!("{arn}|{version}"), decl, out, Tags::new())))
        }

        /// A current version stays (a secret always has one; it goes with
        /// the secret); an older one loses its labels, so AWS drops it.
        async fn delete(&self, cx: &Ctx, id: &str, _: &SecretVersion) -> Result<(), ProviderError> {
            let (arn, version) = split_version_id(id)?;
            let Some(held) = versions(cx, arn).await? else { return Ok(()) };
            let Some(labels) = held.get(version) else { return Ok(()) };
            if labels.iter().any(|l| l == CURRENT) {
                return Ok(());
            }
            for label in labels {
                let call = cx
                    .secretsmanager()
                    .update_secret_version_stage()
                    .secret_id(arn)
                    .version_stage(label)
                    .remove_from_version_id(version);
                let name = "UpdateSecretVersionStage";
                cx.send_in(Service::SecretsManager, name, Operation::Delete, || call.clone().send()).await?;
            }
            Ok(())
        }
    }

    /// `aws:secretsmanager:GeneratedPassword`.
    #[derive(Debug)]
    pub(crate) struct GeneratedPasswordKind;

    #[async_trait]
    impl Kind for GeneratedPasswordKind {
        type Decl = GeneratedPassword;
        type Out = GeneratedPasswordOut;
        const SERVICE: Service = Service::SecretsManager;
        const TIMINGS: Timings = Timings::secs(1, 1, 0, 1, 60);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;
        const WRITE_ONLY: &'static [&'static str] = super::PASSWORD_SETTINGS;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, GeneratedPassword>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let Lookup::Ids(ids) = by else { return Ok(Vec::new()) };
            let found = find_versions(cx, ids).await?;
            Ok(found
                .into_iter()
                .map(|(arn, version, _)| {
                    let id = format!("{arn}|{version}");
                    // The settings are reported unknown (WRITE_ONLY).
                    let decl = GeneratedPassword {
                        secret_id: Input::Value(SecretArn::unchecked(&arn)),
                        ..Default::default()
                    };
                    let out =
                        GeneratedPasswordOut { secret_arn: SecretArn::unchecked(&arn), version_id: version };
                    Seen::ready(id, decl, out, Tags::new())
                })
                .collect())
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &GeneratedPassword,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &GeneratedPassword,
            _: &Tags,
            token: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let arn = d.secret_id.id();
            let call = cx
                .secretsmanager()
                .get_random_password()
                .password_length(i64::from(d.length))
                .set_exclude_characters(d.exclude_characters.clone())
                .set_exclude_punctuation(d.exclude_punctuation)
                .set_exclude_numbers(d.exclude_numbers)
                .set_exclude_uppercase(d.exclude_uppercase)
                .set_exclude_lowercase(d.exclude_lowercase)
                .set_include_space(d.include_space)
                .set_require_each_included_type(d.require_each_included_type);
            let generated = cx
                .send_in(Service::SecretsManager, "GetRandomPassword", Operation::Create, || {
                    call.clone().send()
                })
                .await?;
            let password = Sensitive(generated.random_password.ok_or_else(|| missing("random password"))?);
            let version = match put(cx, arn, &password.0, token).await {
                Ok(version) => version,
                // The token is taken by another value: an earlier attempt
                // of this create put its password, and its answer was
                // lost. That version is this password.
                Err(e) if e.kind == ErrorKind::Conflict => request_token(token),
                Err(e) => return Err(e),
            };
            drop(password);
            let decl = GeneratedPassword { secret_id: d.secret_id.clone(), ..d.clone() };
            let out =
                GeneratedPasswordOut { secret_arn: SecretArn::unchecked(arn), version_id: version.clone() };
            Ok(Created::Seen(Seen::ready(format!("{arn}|{version}"), decl, out, Tags::new())))
        }

        /// No call: the version stops being tracked; the value stays in the
        /// secret until the secret is deleted.
        async fn delete(&self, _: &Ctx, _: &str, _: &GeneratedPassword) -> Result<(), ProviderError> {
            Ok(())
        }
    }
}
