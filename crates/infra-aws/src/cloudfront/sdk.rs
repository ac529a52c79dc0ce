//! What CloudFront's types share: the calls' metering and error mapping
//! (`Service::CloudFront`, per account), builders' errors, ETags
//! (`GetDistributionConfig` gives the one `UpdateDistribution` and
//! `DeleteDistribution` need), tags (by ARN, one call per resource: CloudFront
//! has no batched tag read), and the emulator's known gaps.

use std::future::Future;

use aws_sdk_cloudfront::types::{DistributionConfig, Tag, TagKeys, Tags as CfTags};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_engine::{ErrorKind, Operation, ProviderError};

use crate::kit::{Ctx, Service, Tags, missing};

/// Fields the emulator (moto 5.2.5) drops on read, each with what infra
/// does about it. This is the only place such gaps are listed
/// (docs/aws-provider.md, "CloudFront distributions"):
///
/// - an S3 origin comes back with neither `S3OriginConfig` nor
///   `OriginAccessControlId` (AWS always returns `S3OriginConfig` for an S3
///   origin, with an empty identity under an origin access control). Only
///   when a read shows an origin with neither `S3OriginConfig` nor
///   `CustomOriginConfig` does the observation report `origins` unknown, so
///   refresh keeps the recorded origins (the kit keeps recorded values per
///   top-level field); on AWS the read is always taken as it is.
pub const EMULATOR_GAPS: &[(&str, &str)] = &[
    ("origins[].origin_access_control_id", "S3 origins lose their origin access control on read"),
    ("origins[].s3_origin_config", "S3 origins lose S3OriginConfig on read"),
];

/// The top-level fields refresh keeps on the gaps (the kit keeps recorded
/// values per top-level field): `origins`.
pub(crate) fn kept_on_gap() -> Vec<&'static str> {
    let mut fields: Vec<&'static str> =
        EMULATOR_GAPS.iter().filter_map(|(f, _)| f.split(['[', '.']).next()).collect();
    fields.dedup();
    fields
}

/// One CloudFront call, counted and metered per account, its errors mapped.
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
    cx.send_in(Service::CloudFront, name, op, call).await
}

/// A builder's missing required field (a bug here, not bad input).
pub(crate) fn built<T>(r: Result<T, aws_sdk_cloudfront::error::BuildError>) -> Result<T, ProviderError> {
    r.map_err(|e| {
        ProviderError::new(ErrorKind::Final, format!("CloudFront request: {e}")).with_code("Internal")
    })
}

/// The distribution's current configuration and its ETag.
pub(crate) async fn config_of(
    cx: &Ctx,
    id: &str,
    op: Operation,
) -> Result<(DistributionConfig, String), ProviderError> {
    let call = cx.cloudfront().get_distribution_config().id(id);
    let out = send(cx, "GetDistributionConfig", op, || call.clone().send()).await?;
    let etag = out.e_tag.ok_or_else(|| missing("ETag"))?;
    let config = out.distribution_config.ok_or_else(|| missing("distribution config"))?;
    Ok((config, etag))
}

/// Tags as CloudFront takes them.
pub(crate) fn cf_tags<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<CfTags, ProviderError> {
    let items = tags
        .into_iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CfTags::builder().set_items(Some(items)).build())
}

/// The tags of one resource (by ARN).
pub(crate) async fn tags_of(cx: &Ctx, arn: &str) -> Result<Tags, ProviderError> {
    let call = cx.cloudfront().list_tags_for_resource().resource(arn);
    let out = send(cx, "ListTagsForResource", Operation::Read, || call.clone().send()).await?;
    Ok(out
        .tags
        .and_then(|t| t.items)
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect())
}

/// Removes, then adds tags on a resource (by ARN).
pub(crate) async fn retag(
    cx: &Ctx,
    arn: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    if !remove.is_empty() {
        let keys = TagKeys::builder().set_items(Some(remove.iter().map(|k| (*k).clone()).collect())).build();
        let call = cx.cloudfront().untag_resource().resource(arn).tag_keys(keys);
        send(cx, "UntagResource", Operation::Update, || call.clone().send()).await?;
    }
    if !add.is_empty() {
        let call = cx.cloudfront().tag_resource().resource(arn).tags(cf_tags(add.iter().copied())?);
        send(cx, "TagResource", Operation::Update, || call.clone().send()).await?;
    }
    Ok(())
}
