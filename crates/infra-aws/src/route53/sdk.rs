//! What Route 53's types share: tags (one `ListTagsForResources` per ten
//! objects), names as DNS writes them, change IDs and their status, and the
//! emulator's known gaps.

use std::collections::BTreeMap;

use aws_sdk_route53::types::{ChangeStatus, Tag, TagResourceType};
use infra_engine::{ErrorKind, Operation, ProviderError};

pub(crate) use super::names::canonical_name;
use crate::kit::{Ctx, Service, Tags};

/// What the emulator (moto 5.2.5) does differently from Route 53, in one
/// place (docs/aws-provider.md, "Route 53", names this list). None of them
/// hides a field from drift: each is either normalised on both sides (the
/// alias target's final dot) or shown on the simulated provider.
pub const EMULATOR_GAPS: &[(&str, &str)] = &[
    (
        "AliasTarget.DNSName",
        "returned without the final dot (AWS adds it): both sides are compared without it, lower case",
    ),
    (
        "CallerReference",
        "ignored (a repeated CreateHostedZone/CreateHealthCheck makes a second object): a lost create is found by its caller reference or token tag instead",
    ),
    ("GetChange", "INSYNC for any change ID at once: PENDING -> INSYNC is shown on the simulated provider"),
    (
        "ChangeResourceRecordSets DELETE",
        "a missing record or stale values are accepted: a delete reads first",
    ),
    ("HealthCheckVersion", "never increments and is not checked: a stale version is shown only on AWS"),
    (
        "ChangeResourceRecordSets CREATE",
        "refused only when the very same change was made before; a record of the same key with other values is added beside it (AWS refuses it): the refusal naming import is unit-tested, not shown",
    ),
    (
        "ChangeResourceRecordSets DELETE with a set identifier",
        "deletes every record of that set identifier in the zone, whatever its name: tests give set identifiers once per zone",
    ),
];

/// Tags given to one `ChangeTagsForResource` and asked of one
/// `ListTagsForResources`.
const TAGS_PER_CALL: usize = 10;

/// A hosted zone ID without its `/hostedzone/` prefix.
pub(crate) fn plain_zone_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_owned()
}

/// A change ID without its `/change/` prefix.
pub(crate) fn plain_change_id(id: &str) -> String {
    id.trim_start_matches("/change/").to_owned()
}

/// A change's status as the engine's wait sees it: `PENDING` until every
/// Route 53 server has it.
pub(crate) async fn change_pending(cx: &Ctx, change: &str) -> Result<bool, ProviderError> {
    let call = cx.route53().get_change().id(change);
    match cx.send_in(Service::Route53, "GetChange", Operation::Poll, || call.clone().send()).await {
        Ok(out) => Ok(out.change_info().is_some_and(|c| *c.status() == ChangeStatus::Pending)),
        // Changes are kept for a while only: one long gone is done.
        Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The tags of objects of one kind (`hostedzone`, `healthcheck`), ten per
/// call, all at once.
pub(crate) async fn tags_of(
    cx: &Ctx,
    kind: TagResourceType,
    ids: &[String],
) -> Result<BTreeMap<String, Tags>, ProviderError> {
    let calls = ids.chunks(TAGS_PER_CALL).map(|chunk| {
        let call = cx
            .route53()
            .list_tags_for_resources()
            .resource_type(kind.clone())
            .set_resource_ids(Some(chunk.to_vec()));
        async move {
            cx.send_in(Service::Route53, "ListTagsForResources", Operation::Read, || call.clone().send())
                .await
        }
    });
    let mut out = BTreeMap::new();
    for answer in futures_util::future::join_all(calls).await {
        for set in answer?.resource_tag_sets() {
            let tags: Tags = set
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            out.insert(set.resource_id().unwrap_or_default().to_owned(), tags);
        }
    }
    Ok(out)
}

/// Adds and removes tags of one object, ten per call.
pub(crate) async fn retag(
    cx: &Ctx,
    kind: TagResourceType,
    id: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    for keys in remove.chunks(TAGS_PER_CALL) {
        let call = cx
            .route53()
            .change_tags_for_resource()
            .resource_type(kind.clone())
            .resource_id(id)
            .set_remove_tag_keys(Some(keys.iter().map(|k| (*k).clone()).collect()));
        cx.send_in(Service::Route53, "ChangeTagsForResource", Operation::Update, || call.clone().send())
            .await?;
    }
    for pairs in add.chunks(TAGS_PER_CALL) {
        let tags = pairs.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
        let call = cx
            .route53()
            .change_tags_for_resource()
            .resource_type(kind.clone())
            .resource_id(id)
            .set_add_tags(Some(tags));
        cx.send_in(Service::Route53, "ChangeTagsForResource", Operation::Update, || call.clone().send())
            .await?;
    }
    Ok(())
}

/// Puts every tag of `tags` on a new object (Route 53's creates take none).
pub(crate) async fn tag_new(
    cx: &Ctx,
    kind: TagResourceType,
    id: &str,
    tags: &Tags,
) -> Result<(), ProviderError> {
    let add: Vec<(&String, &String)> = tags.iter().collect();
    retag(cx, kind, id, &[], &add).await
}

/// A final error about the input, before or instead of a call.
pub(crate) fn refused(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Final, message).with_code("InvalidInput")
}
