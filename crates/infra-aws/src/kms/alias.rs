use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{Arn, KmsKeyArn};

/// A KMS alias (`aws_kms_alias`): a name for a key, `alias/…`. Its ID is
/// the name, unique per region; renaming replaces it (destroy first), and
/// pointing it at another key is an in-place `UpdateAlias`. Aliases carry
/// no tags: a lost create is found by name.
///
/// Outputs: `alias.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::kms::{KmsAlias, KmsKey};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let key = stack.add("rds", KmsKey::default());
/// stack.add("rds-alias", KmsAlias { name: "alias/prod-rds".into(), target_key_id: key.arn().into() });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:kms:Alias",
    outputs(arn: Arn),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_alias,
    validate_type = crate::rules::unique
)]
pub struct KmsAlias {
    /// `alias/` then letters, digits and `/_-` (not `alias/aws/`).
    #[resource(force_new)]
    pub name: String,
    /// The key it names (`key.arn()`).
    pub target_key_id: Input<KmsKeyArn>,
}

fn validate_alias(a: &KmsAlias, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    let Some(rest) = a.name.strip_prefix("alias/") else {
        ctx.error("name", format!("{:?} must start with alias/", a.name));
        return;
    };
    if rest.is_empty() || a.name.len() > 256 {
        ctx.error("name", format!("{:?} must be alias/ and 1 to 250 more characters", a.name));
    }
    if rest.starts_with("aws/") {
        ctx.error("name", format!("{:?}: alias/aws/ is reserved for AWS managed keys", a.name));
    }
    if let Some(c) = rest.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_-".contains(*c))) {
        ctx.error("name", format!("{:?} has {c:?}: an alias takes letters, digits and /_- only", a.name));
    }
}

#[cfg(feature = "kms")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_kms::types::AliasListEntry;
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{KmsAlias, KmsAliasOut};
    use crate::ids::{Arn, KmsKeyArn};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags};

    /// `aws:kms:Alias` through the KMS API.
    #[derive(Debug)]
    pub(crate) struct KmsAliasKind;

    fn seen(a: &AliasListEntry) -> Option<Seen<KmsAliasKind>> {
        let name = a.alias_name()?.to_owned();
        let arn = a.alias_arn().unwrap_or_default();
        // KMS answers the key's ID; the declaration names its ARN.
        let key = a.target_key_id()?;
        let key_arn = match arn.rsplit_once(":alias/") {
            Some((head, _)) => format!("{head}:key/{key}"),
            None => key.to_owned(),
        };
        let decl =
            KmsAlias { name: name.clone(), target_key_id: Input::Value(KmsKeyArn::unchecked(key_arn)) };
        Some(Seen::ready(name, decl, KmsAliasOut { arn: Arn::unchecked(arn) }, Tags::new()))
    }

    #[async_trait]
    impl Kind for KmsAliasKind {
        type Decl = KmsAlias;
        type Out = KmsAliasOut;
        const SERVICE: Service = Service::Kms;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, KmsAlias>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let names: Vec<&str> = match &by {
                Lookup::Ids(ids) => ids.iter().map(String::as_str).collect(),
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![d.name.as_str()],
            };
            if names.is_empty() {
                return Ok(Vec::new());
            }
            // One listing of the region's aliases serves every name.
            let aliases = cx
                .paged(|next| {
                    let call = cx.kms().list_aliases().set_marker(next);
                    async move {
                        let out = cx
                            .send_in(Service::Kms, "ListAliases", Operation::Read, || call.clone().send())
                            .await?;
                        let next = if out.truncated() { out.next_marker().map(str::to_owned) } else { None };
                        Ok((out.aliases.unwrap_or_default(), next))
                    }
                })
                .await?;
            Ok(aliases
                .iter()
                .filter(|a| a.alias_name().is_some_and(|n| names.contains(&n)))
                .filter_map(seen)
                .collect())
        }

        async fn create(&self, cx: &Ctx, d: &KmsAlias, _: &Tags, _: &str) -> Result<String, ProviderError> {
            let call = cx.kms().create_alias().alias_name(&d.name).target_key_id(d.target_key_id.id());
            cx.send_in(Service::Kms, "CreateAlias", Operation::Create, || call.clone().send()).await?;
            Ok(d.name.clone())
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, KmsAlias>) -> Result<(), ProviderError> {
            let call = cx.kms().update_alias().alias_name(id).target_key_id(c.after.target_key_id.id());
            cx.send_in(Service::Kms, "UpdateAlias", Operation::Update, || call.clone().send()).await.map(drop)
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

        async fn delete(&self, cx: &Ctx, id: &str, _: &KmsAlias) -> Result<(), ProviderError> {
            let call = cx.kms().delete_alias().alias_name(id);
            cx.send_in(Service::Kms, "DeleteAlias", Operation::Delete, || call.clone().send()).await.map(drop)
        }
    }
}
