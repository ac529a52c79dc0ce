//! What ELBv2's types share: describes of at most 20 ARNs a call, tags
//! (`DescribeTags`, `AddTags`, `RemoveTags`, on any ELBv2 ARN).

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_elasticloadbalancingv2::types::Tag;
use infra_engine::{ErrorKind, Operation, ProviderError};

use crate::kit::{Ctx, Service, Tags};

/// ARNs (or names) ELBv2's describes take in one call.
pub(crate) const PER_CALL: usize = 20;

/// `describe` of `arns`, 20 a call, all at once. AWS fails a whole call
/// when one of its ARNs does not exist: such a call is asked again one ARN
/// at a time, and the ARNs that do not exist are left out.
pub(crate) async fn batched<T, F, Fut>(arns: &[String], describe: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let describe = &describe;
    let chunks = arns.chunks(PER_CALL).map(|chunk| async move {
        match describe(chunk.to_vec()).await {
            Err(e) if e.kind == ErrorKind::NotFound && chunk.len() > 1 => {
                let ones = futures_util::future::join_all(chunk.iter().map(|a| describe(vec![a.clone()])));
                let mut out = Vec::new();
                for r in ones.await {
                    match r {
                        Ok(v) => out.extend(v),
                        Err(e) if e.kind == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            }
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    });
    let mut out = Vec::new();
    for r in futures_util::future::join_all(chunks).await {
        out.extend(r?);
    }
    Ok(out)
}

/// Tags as ELBv2 takes them.
pub(crate) fn elb_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The tags of each of `arns` (20 a call).
pub(crate) async fn tags_of(cx: &Ctx, arns: &[String]) -> Result<BTreeMap<String, Tags>, ProviderError> {
    let described = batched(arns, |chunk| async move {
        let call = cx.elbv2().describe_tags().set_resource_arns(Some(chunk));
        let out = cx.send_in(Service::Elbv2, "DescribeTags", Operation::Read, || call.clone().send()).await?;
        Ok(out.tag_descriptions.unwrap_or_default())
    })
    .await?;
    Ok(described
        .into_iter()
        .filter_map(|d| {
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            Some((d.resource_arn?, tags))
        })
        .collect())
}

/// [`crate::kit::Kind::retag`] of every ELBv2 type.
pub(crate) async fn retag(
    cx: &Ctx,
    arn: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    if !remove.is_empty() {
        let keys = remove.iter().map(|k| (*k).clone()).collect();
        let call = cx.elbv2().remove_tags().resource_arns(arn).set_tag_keys(Some(keys));
        cx.send_in(Service::Elbv2, "RemoveTags", Operation::Update, || call.clone().send()).await?;
    }
    if !add.is_empty() {
        let call = cx
            .elbv2()
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(elb_tags(add.iter().map(|(k, v)| (*k, *v)))));
        cx.send_in(Service::Elbv2, "AddTags", Operation::Update, || call.clone().send()).await?;
    }
    Ok(())
}

/// A string attribute (`key=value`) of a describe's answer.
pub(crate) fn attr<'a>(attrs: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    attrs.get(key).map(String::as_str).filter(|v| !v.is_empty())
}
