//! What the WAFv2 types share: the client of a scope, ARNs as IDs, tags.
//!
//! Emulator (moto 5.2.5) gaps, each covered elsewhere (docs/aws-provider.md,
//! "WAFv2"): it answers 500 for ListAvailableManagedRuleGroups,
//! DescribeManagedRuleGroup, CheckCapacity and ListResourcesForWebACL (none
//! is called); it deletes a web ACL that is still associated (AWS answers
//! `WAFAssociatedItemException`, injected through the fault proxy in
//! `tests/wafv2.rs`); it accepts a CLOUDFRONT scope from any region (infra
//! sends that scope to us-east-1 anyway); its `Capacity` counts rules, not
//! WCUs (an output only); an update with no rules keeps the old ones. It
//! reads every declared field back as written: no field is masked from
//! drift on the emulator.

use std::future::Future;

use aws_sdk_wafv2::Client;
use aws_sdk_wafv2::types::Tag;
use infra_engine::{ErrorKind, Operation, ProviderError};

use super::Scope;
use crate::kit::{Ctx, Kind, Seen, Service, Tags};

/// The client serving `scope`: the instance's own region for `REGIONAL`,
/// us-east-1 for `CLOUDFRONT`.
pub(crate) fn client(cx: &Ctx, scope: Scope) -> &Client {
    match scope {
        Scope::Regional => cx.wafv2(),
        Scope::Cloudfront => cx.wafv2_us_east_1(),
    }
}

/// The API's form of a scope.
pub(crate) fn api_scope(s: Scope) -> aws_sdk_wafv2::types::Scope {
    aws_sdk_wafv2::types::Scope::from(s.as_str())
}

/// The objects `read` finds among `ids`, read all at once (WAFv2 has no
/// batch get).
pub(crate) async fn each<K: Kind, F, Fut>(ids: &[String], read: F) -> Result<Vec<Seen<K>>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<Seen<K>>, ProviderError>>,
{
    let mut out = Vec::new();
    for s in futures_util::future::join_all(ids.iter().cloned().map(read)).await {
        out.extend(s?);
    }
    Ok(out)
}

/// An update of an object that is gone.
pub(crate) fn gone(id: &str) -> ProviderError {
    ProviderError::new(ErrorKind::NotFound, format!("{id} is gone"))
}

/// A web ACL's or IP set's ARN, parsed:
/// `arn:aws:wafv2:<region>:<account>:<regional|global>/<webacl|ipset>/<name>/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WafArn {
    pub scope: Scope,
    pub name: String,
    pub id: String,
}

pub(crate) fn parse_arn(arn: &str, kind: &str) -> Result<WafArn, ProviderError> {
    let bad = || {
        ProviderError::new(ErrorKind::Final, format!("{arn:?} is not a WAFv2 {kind} ARN"))
            .with_code("InvalidId")
    };
    let resource = arn.splitn(6, ':').nth(5).ok_or_else(bad)?;
    let parts: Vec<&str> = resource.split('/').collect();
    let [scope, k, name, id] = parts.as_slice() else { return Err(bad()) };
    let scope = match *scope {
        "regional" => Scope::Regional,
        "global" => Scope::Cloudfront,
        _ => return Err(bad()),
    };
    if *k != kind || name.is_empty() || id.is_empty() {
        return Err(bad());
    }
    Ok(WafArn { scope, name: (*name).to_owned(), id: (*id).to_owned() })
}

pub(crate) fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
}

pub(crate) fn waf_tags<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| invalid("tags", e)))
        .collect()
}

/// Every tag of the object at `arn`.
pub(crate) async fn tags_of(cx: &Ctx, scope: Scope, arn: &str) -> Result<Tags, ProviderError> {
    let waf = client(cx, scope);
    let pages = cx
        .paged(|next| {
            let call = waf.list_tags_for_resource().resource_arn(arn).set_next_marker(next);
            async move {
                let out = cx
                    .send_in(Service::Wafv2, "ListTagsForResource", Operation::Read, || call.clone().send())
                    .await?;
                let tags: Vec<(String, String)> = out
                    .tag_info_for_resource()
                    .map(|t| {
                        t.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
                    })
                    .unwrap_or_default();
                Ok((tags, out.next_marker))
            }
        })
        .await?;
    Ok(pages.into_iter().collect())
}

/// Removes then adds tags on the object at `arn`.
pub(crate) async fn retag(
    cx: &Ctx,
    scope: Scope,
    arn: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), ProviderError> {
    let waf = client(cx, scope);
    if !remove.is_empty() {
        let keys = remove.iter().map(|k| (*k).clone()).collect();
        let call = waf.untag_resource().resource_arn(arn).set_tag_keys(Some(keys));
        cx.send_in(Service::Wafv2, "UntagResource", Operation::Update, || call.clone().send()).await?;
    }
    if !add.is_empty() {
        let call = waf.tag_resource().resource_arn(arn).set_tags(Some(waf_tags(add.iter().copied())?));
        cx.send_in(Service::Wafv2, "TagResource", Operation::Update, || call.clone().send()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse_to_scope_name_and_id() {
        let a = parse_arn("arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/abc-1", "webacl");
        assert_eq!(
            a.ok(),
            Some(WafArn { scope: Scope::Cloudfront, name: "edge".into(), id: "abc-1".into() })
        );
        let b = parse_arn("arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/office/x", "ipset");
        assert_eq!(b.map(|b| b.scope).ok(), Some(Scope::Regional));
        assert!(parse_arn("arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/office/x", "webacl").is_err());
        assert!(parse_arn("edge|abc|REGIONAL", "webacl").is_err());
    }

    /// The emulator keeps every region's CLOUDFRONT objects in one store,
    /// so where the calls go is checked here: an eu-west-1 instance sends
    /// the CLOUDFRONT scope to us-east-1 and the REGIONAL one to its own
    /// region.
    #[test]
    fn the_cloudfront_scope_goes_to_us_east_1() {
        let config = infra_core::ProviderConfig::aws("eu-west-1");
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let cx = crate::sdk::AwsProvider::context(&config, sdk);
        let region = |s: Scope| client(&cx, s).config().region().map(|r| r.as_ref().to_owned());
        assert_eq!(region(Scope::Cloudfront).as_deref(), Some("us-east-1"));
        assert_eq!(region(Scope::Regional).as_deref(), Some("eu-west-1"));
    }
}
