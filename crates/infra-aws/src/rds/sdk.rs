//! What RDS's types share: calls counted under the service, tags, the
//! describe filters, statuses, and the read-first refusal of a taken
//! identifier.

use std::future::Future;

use aws_sdk_rds::types::{Filter, GlobalCluster, Tag};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_engine::{ErrorKind, Operation, ProviderError};

use crate::kit::{Ctx, Service, Status, Tags};

/// One RDS call (see [`Ctx::send_in`]).
pub(crate) async fn send<T, E, F, Fut>(
    cx: &Ctx,
    name: &'static str,
    op: Operation,
    call: F,
) -> Result<T, ProviderError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    cx.send_in(Service::Rds, name, op, call).await
}

/// Tags as RDS takes them.
pub(crate) fn rds_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Tags as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

/// The tags of the object `arn` (for the types whose describe call does
/// not return them: subnet and parameter groups).
pub(crate) async fn list_tags(cx: &Ctx, arn: &str) -> Result<Tags, ProviderError> {
    let call = cx.rds().list_tags_for_resource().resource_name(arn);
    let out = send(cx, "ListTagsForResource", Operation::Read, || call.clone().send()).await?;
    Ok(tag_map(out.tag_list()))
}

/// `RemoveTagsFromResource` / `AddTagsToResource` on the object `arn`.
pub(crate) async fn retag(
    cx: &Ctx,
    arn: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    if !remove.is_empty() {
        let keys = remove.iter().map(|k| (*k).clone()).collect();
        let call = cx.rds().remove_tags_from_resource().resource_name(arn).set_tag_keys(Some(keys));
        send(cx, "RemoveTagsFromResource", Operation::Update, || call.clone().send()).await?;
    }
    if !add.is_empty() {
        let tags = rds_tags(add.iter().copied());
        let call = cx.rds().add_tags_to_resource().resource_name(arn).set_tags(Some(tags));
        send(cx, "AddTagsToResource", Operation::Update, || call.clone().send()).await?;
    }
    Ok(())
}

/// `retag` of the object whose ARN a read found (`None`: it is gone).
pub(crate) async fn retag_found(
    cx: &Ctx,
    arn: Option<&str>,
    what: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    retag(cx, arn.ok_or_else(|| crate::kit::missing(what))?, remove, add).await
}

/// The refusal to delete `id` while its deletion protection is on.
pub(crate) fn protected(id: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Final,
        format!("{id} has deletion_protection on: set it to false and apply before deleting it"),
    )
    .with_code("DeletionProtection")
}

/// A describe filter (`db-cluster-id`, `db-instance-id`) with these values.
pub(crate) fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder().name(name).set_values(Some(values.to_vec())).build()
}

/// Values RDS takes in one describe filter.
pub(crate) const PER_FILTER: usize = 100;

/// A cluster's, instance's or global cluster's status: `available` is
/// ready, `deleting` going, `failed` failed; every other (`creating`,
/// `modifying`, `backing-up`, `upgrading`, `rebooting`, …) pending, with
/// the status shown while the engine waits.
pub(crate) fn status(s: Option<&str>) -> Status {
    match s.unwrap_or("available") {
        "available" => Status::Ready,
        "deleting" => Status::Deleting("deleting".into()),
        "failed" | "inaccessible-encryption-credentials" => {
            Status::Failed(format!("status {}", s.unwrap_or_default()))
        }
        other => Status::Pending(other.to_owned()),
    }
}

/// The refusal of a create whose identifier is taken (a `Conflict`: the
/// engine then adopts the object if it is this stack's own, and otherwise
/// fails naming `import`).
pub(crate) fn taken(what: &str, id: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Conflict, format!("{what} {id:?} already exists"))
        .with_code("AlreadyExists")
}

/// A declaration the provider cannot act on.
pub(crate) fn invalid(field: &str, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("{field}: {message}")).with_code("InvalidInput")
}

/// `read` of each item at once, for the reads RDS makes per object (tags
/// and parameters of groups); the objects gone meanwhile are left out.
pub(crate) async fn each<I, T, F, Fut>(items: Vec<I>, read: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut out = Vec::new();
    for r in futures_util::future::join_all(items.into_iter().map(read)).await {
        match r {
            Ok(v) => out.push(v),
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The identifier in a global cluster's ARN (`…:global-cluster:<id>`), or
/// the identifier itself.
pub(crate) fn global_id(s: &str) -> &str {
    s.rsplit_once(":global-cluster:").map_or(s, |(_, id)| id)
}

/// The global clusters (`id`, or every one the account has; each lists its
/// members in every region). A partition without global databases answers
/// none.
pub(crate) async fn global_clusters(cx: &Ctx, id: Option<&str>) -> Result<Vec<GlobalCluster>, ProviderError> {
    let found = cx
        .paged(|next| {
            let call = cx
                .rds()
                .describe_global_clusters()
                .set_global_cluster_identifier(id.map(str::to_owned))
                .set_marker(next);
            async move {
                let out = send(cx, "DescribeGlobalClusters", Operation::Read, || call.clone().send()).await?;
                Ok((out.global_clusters.unwrap_or_default(), out.marker))
            }
        })
        .await;
    match found {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) if e.message.contains("APIGlobalDatabases") => Ok(Vec::new()),
        other => other,
    }
}

/// A global cluster's writer: the member flagged `IsWriter`, else (an
/// answer that flags none, as the emulator gives) the first member, the
/// one it was made from.
pub(crate) fn writer(g: &GlobalCluster) -> Option<&str> {
    let members = g.global_cluster_members();
    members
        .iter()
        .find(|m| m.is_writer() == Some(true))
        .or_else(|| members.first())
        .and_then(|m| m.db_cluster_arn())
}

/// `RemoveFromGlobalCluster` of the cluster `arn`; done when it is not a
/// member (any more).
pub(crate) async fn leave_global(
    cx: &Ctx,
    global: &str,
    arn: &str,
    op: Operation,
) -> Result<(), ProviderError> {
    let call =
        cx.rds().remove_from_global_cluster().global_cluster_identifier(global).db_cluster_identifier(arn);
    match send(cx, "RemoveFromGlobalCluster", op, || call.clone().send()).await {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
        Err(e) if e.code.as_deref() == Some("InvalidParameterValue") && e.message.contains("not found") => {
            Ok(())
        }
        other => other.map(drop),
    }
}

/// The resolved identifier of an optional input.
pub(crate) fn id_of<T: infra_core::Identifier>(i: &Option<infra_core::Input<T>>) -> Option<String> {
    i.as_ref().map(|i| i.id().to_owned())
}
