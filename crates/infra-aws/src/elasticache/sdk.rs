//! What the ElastiCache types share: tags by ARN (ElastiCache's tagging
//! calls take the object's ARN, and no describe call returns tags).

use std::future::Future;

use aws_sdk_elasticache::types::Tag;
use infra_engine::{ErrorKind, Operation, ProviderError};

use crate::kit::{Ctx, Lookup, Service, Tags};

/// Records a describe call asks for per page (ElastiCache's maximum).
pub(crate) const PAGE: i32 = 100;

/// Input AWS would refuse, caught at the call (the rest is refused by
/// validation before any call), naming the field.
pub(crate) fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
}

pub(crate) fn ec_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The tags of the object `arn` (one call per object: ElastiCache has no
/// batched form).
pub(crate) async fn tags_of(cx: &Ctx, arn: &str) -> Result<Tags, ProviderError> {
    let call = cx.elasticache().list_tags_for_resource().resource_name(arn);
    let out = cx
        .send_in(Service::ElastiCache, "ListTagsForResource", Operation::Read, || call.clone().send())
        .await?;
    Ok(out
        .tag_list()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect())
}

/// Removes then adds tags on the object `arn` (see `Kind::retag`).
pub(crate) async fn retag(
    cx: &Ctx,
    arn: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    if !remove.is_empty() {
        let keys = remove.iter().map(|k| (*k).clone()).collect();
        let call = cx.elasticache().remove_tags_from_resource().resource_name(arn).set_tag_keys(Some(keys));
        cx.send_in(Service::ElastiCache, "RemoveTagsFromResource", Operation::Update, || call.clone().send())
            .await?;
    }
    if !add.is_empty() {
        let tags = ec_tags(add.iter().copied());
        let call = cx.elasticache().add_tags_to_resource().resource_name(arn).set_tags(Some(tags));
        cx.send_in(Service::ElastiCache, "AddTagsToResource", Operation::Update, || call.clone().send())
            .await?;
    }
    Ok(())
}

/// An answer that the object is missing, as no object.
pub(crate) fn or_none<T>(listed: Result<Vec<T>, ProviderError>) -> Result<Vec<T>, ProviderError> {
    match listed {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// The objects `by` asks for, through `describe(Some(name))` for one name
/// and `describe(None)` (every object, then kept by `name_of`) for several:
/// ElastiCache's describe calls take one name or none. ElastiCache lists
/// nothing by tag, so a lost create is found by its name (`key`).
pub(crate) async fn named<'a, D, T, Fut>(
    by: Lookup<'a, D>,
    key: impl Fn(&'a D) -> &'a str,
    name_of: impl Fn(&T) -> Option<&str>,
    describe: impl FnOnce(Option<String>) -> Fut,
) -> Result<Vec<T>, ProviderError>
where
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let (one, several) = match by {
        Lookup::Ids([]) | Lookup::Tag(..) => return Ok(Vec::new()),
        Lookup::Ids([id]) => (Some(id.clone()), None),
        Lookup::Ids(ids) => (None, Some(ids)),
        Lookup::Key(d) => (Some(key(d).to_owned()), None),
    };
    let mut found = describe(one).await?;
    if let Some(ids) = several {
        found.retain(|t| name_of(t).is_some_and(|n| ids.iter().any(|i| i == n)));
    }
    Ok(found)
}
