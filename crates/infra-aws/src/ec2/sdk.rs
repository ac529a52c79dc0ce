//! EC2's pieces of the kit: tags in create calls, filters of a lookup,
//! the tagging API and the inventory (orphan listing through DescribeTags).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use infra_engine::{ErrorKind, ProviderError};

/// Every object of one paginated EC2 describe, counted and mapped by the
/// kit: `describe!(cx, describe_subnets, set_filters(filters) => subnets, "DescribeSubnets")`.
macro_rules! describe {
    // Setters given `Option` variables (`[set_network_acl_ids(ids), set_filters(filters)]`).
    ($cx:expr, $call:ident, [$($set:ident($value:ident)),+] => $items:ident, $name:literal) => {{
        let cx: &$crate::kit::Ctx = $cx;
        cx.paged(|next| {
            let call = cx.ec2().$call()$(.$set($value.clone()))+.set_next_token(next);
            async move {
                let out = cx.send($name, infra_engine::Operation::Read, || call.clone().send()).await?;
                Ok((out.$items.unwrap_or_default(), out.next_token))
            }
        })
        .await
    }};
    ($cx:expr, $call:ident, $set:ident($filters:expr) => $items:ident, $name:literal) => {{
        let filters = Some($filters);
        $crate::ec2::sdk::describe!($cx, $call, [$set(filters)] => $items, $name)
    }};
}
pub(crate) use describe;

/// Reads by ID list, for describes without an ID filter (in AWS or the
/// emulator). AWS fails the whole call when one ID no longer exists;
/// then each ID is read on its own and the missing ones left out.
pub(crate) async fn by_id_list<T, F, Fut>(ids: &[String], read: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    match read(ids.to_vec()).await {
        Err(e) if e.kind == ErrorKind::NotFound => {
            let mut out = Vec::new();
            for id in ids {
                match read(vec![id.clone()]).await {
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

/// A filter `name` = any of `values`.
pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().collect())).build()
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
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
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
        let tags: Vec<Tag> = remove.iter().map(|k| Tag::builder().key(*k).build()).collect();
        ctx.send("DeleteTags", Operation::Update, || {
            ec2.delete_tags().resources(id).set_tags(Some(tags.clone())).send()
        })
        .await?;
    }
    if !add.is_empty() {
        let tags: Vec<Tag> = add.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
        ctx.send("CreateTags", Operation::Update, || {
            ec2.create_tags().resources(id).set_tags(Some(tags.clone())).send()
        })
        .await?;
    }
    Ok(())
}

/// EC2 resource type (`vpc`, `natgateway`) → the types it may be, with
/// their providers.
pub(crate) type TaggedTypes =
    BTreeMap<&'static str, Vec<(&'static str, std::sync::Arc<dyn infra_engine::ResourceProvider>)>>;

/// EC2's inventory: everything tagged with a stack, through DescribeTags
/// (one paginated call per region for every EC2 type), confirmed live by
/// each type's batched read.
#[derive(Debug)]
pub(crate) struct Ec2Inventory {
    pub(crate) ctx: std::sync::Arc<crate::sdk::Ctx>,
    /// EC2 resource type (`vpc`, `natgateway`) → the types it may be.
    pub(crate) types: TaggedTypes,
}

#[async_trait::async_trait]
impl infra_engine::Inventory for Ec2Inventory {
    async fn owned(
        &self,
        stack: &str,
        known: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<infra_engine::Owned>, ProviderError> {
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
                    let out = ctx.send("DescribeTags", Operation::Read, || call.clone().send()).await?;
                    Ok((out.tags.unwrap_or_default(), out.next_token))
                }
            })
        };
        let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in tagged(TAG_STACK, vec![stack.to_owned()]).await? {
            if let (Some(id), Some(kind)) = (t.resource_id(), t.resource_type())
                && !known.contains(id)
            {
                by_type.entry(kind.as_str().to_owned()).or_default().push(id.to_owned());
            }
        }
        let mut out = Vec::new();
        for (kind, ids) in by_type {
            let Some(types) = self.types.get(kind.as_str()) else { continue };
            for (type_name, provider) in types {
                let found = provider.read(infra_engine::ReadRequest::new(ids.clone())).await?;
                for (id, o) in found.found {
                    let _ = o;
                    out.push(infra_engine::Owned {
                        type_name: Some((*type_name).to_owned()),
                        id,
                        address: None,
                    });
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
            for t in ctx.send("DescribeTags", Operation::Read, || call.clone().send()).await?.tags() {
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
