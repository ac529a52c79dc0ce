//! Helpers shared by the EC2 resource implementations.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use infra_core::Fields;
use infra_engine::{ErrorKind, ProviderError};

use crate::sdk::user_tags;

/// Tags for a create: the user's `tags` input plus the engine's.
pub(crate) fn tag_spec(
    kind: ResourceType,
    inputs: &Fields,
    engine: &BTreeMap<String, String>,
) -> TagSpecification {
    let mut all = user_tags(inputs);
    all.extend(engine.iter().map(|(k, v)| (k.clone(), v.clone())));
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(all.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()
}

/// A filter `name` = any of `values`.
pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().collect())).build()
}

/// The filter that finds what a create with `token` made (its engine tag).
pub(crate) fn token_filter(token: &str) -> Filter {
    filter("tag:infra:token", [token.to_owned()])
}

/// Tags as `(key, value)` pairs.
pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))).collect()
}

/// A missing field in a response.
pub(crate) fn missing(what: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Transient, format!("the response has no {what}"))
        .with_code("IncompleteResponse")
}

/// Runs a follow-up call made right after a create (an attribute, an
/// attachment), retrying what eventual consistency makes fail for a moment.
pub(crate) async fn settle<T, F, Fut>(mut f: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let mut delay = Duration::from_millis(250);
    for _ in 0..8 {
        match f().await {
            Err(e) if e.kind.is_retryable() || e.kind == ErrorKind::NotFound => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
    f().await
}

/// Makes the user tags of a resource equal `wanted` (the engine's own tags
/// are left alone).
pub(crate) async fn sync_tags(
    ctx: &crate::sdk::Ctx,
    id: &str,
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    use infra_engine::Operation;
    let ec2 = ctx.ec2();
    let remove: Vec<Tag> = current
        .iter()
        .filter(|(k, _)| !k.starts_with("infra:") && !wanted.contains_key(*k))
        .map(|(k, _)| Tag::builder().key(k).build())
        .collect();
    if !remove.is_empty() {
        ctx.stats.count("DeleteTags");
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(remove))
            .send()
            .await
            .map_err(|e| crate::sdk::sdk_error(e, Operation::Update))?;
    }
    let add: Vec<Tag> = wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    if !add.is_empty() {
        ctx.stats.count("CreateTags");
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(add))
            .send()
            .await
            .map_err(|e| crate::sdk::sdk_error(e, Operation::Update))?;
    }
    Ok(())
}

/// True when `tags` carry the engine's token tag with value `token` (a
/// client-side check after a `tag:` filter, which some emulators ignore).
pub(crate) fn has_token(tags: &[Tag], token: &str) -> bool {
    tags.iter().any(|t| t.key() == Some(infra_engine::provider::TAG_TOKEN) && t.value() == Some(token))
}

/// What a provider was last given, by key (a resource ID or a create's
/// token), kept in memory for the life of the provider instance.
///
/// Used where the cloud cannot say it: which inputs a create with a given
/// token had (for `find` of resources that carry no tags), and how the user
/// spelled a set of rules the cloud reports in its own grouping and order.
#[derive(Debug, Default)]
pub(crate) struct Memo(std::sync::Mutex<BTreeMap<String, Fields>>);

impl Memo {
    /// Remembers `inputs` under `key`.
    pub(crate) fn set(&self, key: &str, inputs: &Fields) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.to_owned(), inputs.clone());
    }

    /// What was remembered under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<Fields> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    /// Forgets `key`.
    pub(crate) fn forget(&self, key: &str) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

/// Reads by ID list in one call, for describes that take IDs but no ID
/// filter in the emulator. AWS fails the whole call when one ID no longer
/// exists; then each ID is read on its own and the missing ones left out.
pub(crate) async fn by_ids<F, Fut>(
    ids: Vec<String>,
    read: F,
) -> Result<Vec<infra_engine::Observed>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<infra_engine::Observed>, ProviderError>>,
{
    match read(ids.clone()).await {
        Err(e) if e.kind == ErrorKind::NotFound => {
            let mut out = Vec::new();
            for id in ids {
                match read(vec![id]).await {
                    Ok(found) => out.extend(found),
                    Err(e) if e.kind == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        other => other,
    }
}
