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

// ----- the kit's EC2 service pieces ----------------------------------------

/// Tags in a create call (`TagSpecifications`): `tags` holds the user's and
/// the engine's.
pub(crate) fn tags_spec(kind: ResourceType, tags: &crate::kit::Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()
}

/// An SDK tag list as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> crate::kit::Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

/// The filters of a lookup: IDs through `id_filter`, a tag through
/// `tag:<key>`, a natural key through `key` (`None`: the type has none, and
/// the lookup finds nothing).
pub(crate) fn lookup_filters<D>(
    by: &crate::kit::Lookup<'_, D>,
    id_filter: &str,
    key: impl FnOnce(&D) -> Option<Vec<Filter>>,
) -> Option<Vec<Filter>> {
    use crate::kit::Lookup;
    match by {
        Lookup::Ids(ids) => Some(vec![filter(id_filter, ids.iter().cloned())]),
        Lookup::Tag(k, v) => Some(vec![filter(&format!("tag:{k}"), [(*v).to_owned()])]),
        Lookup::Key(d) => key(d),
    }
}

/// EC2's tagging API: removes and adds user tags.
pub(crate) async fn retag(
    ctx: &crate::sdk::Ctx,
    id: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    use infra_engine::Operation;
    let ec2 = ctx.ec2();
    if !remove.is_empty() {
        let tags = remove.iter().map(|k| Tag::builder().key(*k).build()).collect();
        ctx.send("DeleteTags", Operation::Update, ec2.delete_tags().resources(id).set_tags(Some(tags)).send())
            .await?;
    }
    if !add.is_empty() {
        let tags = add.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
        ctx.send("CreateTags", Operation::Update, ec2.create_tags().resources(id).set_tags(Some(tags)).send())
            .await?;
    }
    Ok(())
}

/// EC2's inventory: everything tagged with a stack, through DescribeTags
/// (one paginated call per region for every EC2 type), confirmed live by
/// each type's batched read.
#[derive(Debug)]
pub(crate) struct Ec2Inventory {
    pub(crate) ctx: std::sync::Arc<crate::sdk::Ctx>,
    /// EC2 resource type (`vpc`, `natgateway`) → the types it may be.
    pub(crate) types: BTreeMap<&'static str, Vec<(&'static str, std::sync::Arc<dyn infra_engine::ResourceProvider>)>>,
}

#[async_trait::async_trait]
impl infra_engine::Inventory for Ec2Inventory {
    async fn owned(&self, stack: &str) -> Result<Vec<infra_engine::Owned>, ProviderError> {
        use infra_engine::Operation;
        use infra_engine::provider::{TAG_ADDRESS, TAG_STACK};
        let ctx = &self.ctx;
        let tagged = |key: &'static str, values: Vec<String>| {
            ctx.paged(move |next| {
                let call = ctx
                    .ec2()
                    .describe_tags()
                    .filters(filter("key", [key.to_owned()]))
                    .filters(filter("value", values.clone()))
                    .set_next_token(next);
                async move {
                    let out = ctx.send("DescribeTags", Operation::Read, call.send()).await?;
                    Ok((out.tags.unwrap_or_default(), out.next_token))
                }
            })
        };
        let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in tagged(TAG_STACK, vec![stack.to_owned()]).await? {
            if let (Some(id), Some(kind)) = (t.resource_id(), t.resource_type()) {
                by_type.entry(kind.as_str().to_owned()).or_default().push(id.to_owned());
            }
        }
        let mut out = Vec::new();
        for (kind, ids) in by_type {
            let Some(types) = self.types.get(kind.as_str()) else { continue };
            for (type_name, provider) in types {
                let found = provider.read(infra_engine::ReadRequest { ids: ids.clone() }).await?;
                for (id, o) in found.found {
                    let _ = o;
                    out.push(infra_engine::Owned { type_name: Some((*type_name).to_owned()), id, address: None });
                }
            }
        }
        if !out.is_empty() {
            let ids: Vec<String> = out.iter().map(|o| o.id.clone()).collect();
            let mut addresses = BTreeMap::new();
            let call = ctx
                .ec2()
                .describe_tags()
                .filters(filter("key", [TAG_ADDRESS.to_owned()]))
                .filters(filter("resource-id", ids));
            for t in ctx.send("DescribeTags", Operation::Read, call.send()).await?.tags() {
                if let (Some(id), Some(v)) = (t.resource_id(), t.value()) {
                    addresses.insert(id.to_owned(), v.to_owned());
                }
            }
            for o in &mut out {
                o.address = addresses.get(&o.id).cloned();
            }
        }
        Ok(out)
    }
}
