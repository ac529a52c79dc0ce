//! What Secrets Manager's types share: tags, one read per secret, the
//! versions a secret holds.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::Tag;
use infra_engine::{ErrorKind, Operation, ProviderError};

use crate::kit::{Ctx, Service, Tags};

/// Tags as Secrets Manager takes them.
pub(crate) fn sm_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Tags as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

/// `read` of each ID at once (Secrets Manager describes one secret per
/// call); the IDs that do not exist are left out.
pub(crate) async fn each<T, F, Fut>(ids: &[String], read: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut out = Vec::new();
    for r in futures_util::future::join_all(ids.iter().cloned().map(read)).await {
        match r {
            Ok(Some(v)) => out.push(v),
            Ok(None) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The secret `id` (an ARN or a name), also when scheduled for deletion;
/// `None` when it does not exist.
pub(crate) async fn describe(cx: &Ctx, id: &str) -> Result<Option<DescribeSecretOutput>, ProviderError> {
    let call = cx.secretsmanager().describe_secret().secret_id(id);
    match cx.send_in(Service::SecretsManager, "DescribeSecret", Operation::Read, || call.clone().send()).await
    {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The versions of a live secret and their staging labels; `None` when the
/// secret is gone or scheduled for deletion (its versions count as gone).
pub(crate) async fn versions(
    cx: &Ctx,
    secret: &str,
) -> Result<Option<HashMap<String, Vec<String>>>, ProviderError> {
    Ok(describe(cx, secret)
        .await?
        .filter(|d| d.deleted_date().is_none())
        .map(|d| d.version_ids_to_stages().cloned().unwrap_or_default()))
}

/// A version's ID, `<secret ARN>|<version ID>` (Terraform's form), split.
pub(crate) fn split_version_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.rsplit_once('|').filter(|(a, v)| !a.is_empty() && !v.is_empty()).ok_or_else(|| {
        ProviderError::new(
            ErrorKind::Final,
            format!("{id:?} is not an ID of the form <secret ARN>|<version ID>"),
        )
        .with_code("InvalidInput")
    })
}

/// The client request token of a create: the engine's token (`infra-` and
/// 32 hex digits, within Secrets Manager's 32 to 64 characters). A version
/// made with it has it as its ID, and the same token with the same value
/// makes no second version.
pub(crate) fn request_token(token: &str) -> String {
    if (32..=64).contains(&token.len()) { token.to_owned() } else { format!("{token:0>32}") }
}
