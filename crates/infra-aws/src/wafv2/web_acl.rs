use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::Serialize;

use super::{DefaultAction, Rule, Scope, VisibilityConfig};
use crate::ids::WebAclArn;

/// A WAFv2 web ACL (`aws_wafv2_web_acl`): a default action and rules in
/// priority order — AWS managed rule groups with rule action overrides,
/// rate-based rules, IP set references, geo matches — with CloudWatch
/// metrics and sampled requests per rule and for the ACL.
///
/// Its ID is its ARN. The name and scope replace it (create first, so a
/// distribution or association moves to the new ACL before the old one
/// goes); the default action, rules, visibility, description and tags
/// change in place (`UpdateWebACL` with the ACL's current lock token; a
/// stale token is read again and retried). A `Cloudfront`-scope ACL (for a
/// distribution's `web_acl_id`) is managed in us-east-1 whatever the
/// provider's region; a `Regional` one is associated with load balancers
/// by [`WebAclAssociation`](super::WebAclAssociation).
///
/// Outputs: `acl.arn()` (`WebAclArn`: what a distribution's `web_acl_id`
/// and an association take), `acl.id()` (the ACL's WAF ID) and
/// `acl.capacity()` (the web ACL capacity units its rules use).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::wafv2::{
///     DefaultAction, ManagedRuleGroup, Rule, RuleAction, RuleActionOverride, Scope,
///     VisibilityConfig, WebAcl,
/// };
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let mut common = ManagedRuleGroup::aws("AWSManagedRulesCommonRuleSet");
/// common.rule_action_overrides =
///     vec![RuleActionOverride { name: "SizeRestrictions_BODY".into(), action: RuleAction::Count }];
/// let acl = stack.add("edge-waf", WebAcl {
///     name: "edge".into(),
///     scope: Scope::Cloudfront,
///     default_action: DefaultAction::Allow,
///     rules: vec![
///         Rule::managed(10, common),
///         Rule::managed(20, ManagedRuleGroup::aws("AWSManagedRulesKnownBadInputsRuleSet")),
///         Rule::managed(30, ManagedRuleGroup::aws("AWSManagedRulesSQLiRuleSet")),
///         Rule::rate_limit("per-ip", 40, 2000),
///     ],
///     visibility_config: VisibilityConfig::metrics("edge"),
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::WebAclArn> = acl.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:wafv2:WebAcl",
    outputs(arn: WebAclArn, id: String, capacity: i64),
    readiness = "on_id",
    validate = validate_web_acl,
    validate_type = crate::rules::unique,
    normalise = canonical
)]
pub struct WebAcl {
    /// 1 to 128 letters, digits, `_` and `-`; unique per scope and region.
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub default_action: DefaultAction,
    pub rules: Vec<Rule>,
    pub visibility_config: VisibilityConfig,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_web_acl(a: &WebAcl, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &a.tags);
    super::check_name(ctx, "name", &a.name);
    super::check_description(ctx, a.description.as_deref());
    super::rule::check_visibility(ctx, "visibility_config", &a.visibility_config);
    super::rule::check_rules(ctx, a.scope, &a.rules);
}

fn canonical(a: &mut WebAcl) {
    if a.description.as_deref() == Some("") {
        a.description = None;
    }
    super::rule::normalise_rules(&mut a.rules);
}

#[cfg(feature = "wafv2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{WebAcl, WebAclOut};
    use crate::ids::WebAclArn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::wafv2::Scope;
    use crate::wafv2::rule::api;
    use crate::wafv2::sdk::{WafArn, api_scope, client, each, gone, parse_arn, retag, tags_of, waf_tags};

    /// `aws:wafv2:WebAcl` through the WAFv2 API.
    #[derive(Debug)]
    pub(crate) struct WebAclKind;

    /// The ACL and its lock token; `None` when it is gone.
    pub(crate) async fn get(
        cx: &Ctx,
        a: &WafArn,
    ) -> Result<Option<(aws_sdk_wafv2::types::WebAcl, String)>, ProviderError> {
        let call = client(cx, a.scope).get_web_acl().name(&a.name).scope(api_scope(a.scope)).id(&a.id);
        match cx.send_in(Service::Wafv2, "GetWebACL", Operation::Read, || call.clone().send()).await {
            Ok(out) => {
                let token = out.lock_token.unwrap_or_default();
                Ok(out.web_acl.map(|w| (w, token)))
            }
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn seen(cx: &Ctx, arn: &str) -> Result<Option<Seen<WebAclKind>>, ProviderError> {
        let a = parse_arn(arn, "webacl")?;
        let Some((w, _)) = get(cx, &a).await? else { return Ok(None) };
        let tags = tags_of(cx, a.scope, arn).await?;
        let decl = WebAcl {
            name: w.name.clone(),
            scope: a.scope,
            description: w.description.clone().filter(|d| !d.is_empty()),
            default_action: api::default_action_of(w.default_action.as_ref()),
            rules: w.rules().iter().map(api::rule_of).collect(),
            visibility_config: api::visibility_of(w.visibility_config.as_ref()),
            tags: user_tags(&tags),
        };
        let out = WebAclOut { arn: WebAclArn::unchecked(&w.arn), id: w.id.clone(), capacity: w.capacity };
        Ok(Some(Seen::ready(arn.to_owned(), decl, out, tags)))
    }

    /// The ARNs of the ACLs named `name` in `scope`.
    async fn named(cx: &Ctx, scope: Scope, name: &str) -> Result<Vec<String>, ProviderError> {
        let waf = client(cx, scope);
        let all = cx
            .paged(|next| {
                let call = waf.list_web_acls().scope(api_scope(scope)).set_next_marker(next);
                async move {
                    let out = cx
                        .send_in(Service::Wafv2, "ListWebACLs", Operation::Read, || call.clone().send())
                        .await?;
                    Ok((out.web_acls.unwrap_or_default(), out.next_marker))
                }
            })
            .await?;
        // The emulator lists every scope's ACLs: the ARN says which.
        let part = format!(":{}/webacl/", scope.arn_part());
        Ok(all
            .into_iter()
            .filter(|s| s.name() == Some(name))
            .filter_map(|s| s.arn)
            .filter(|arn| arn.contains(&part))
            .collect())
    }

    fn rules(d: &WebAcl) -> Result<Vec<aws_sdk_wafv2::types::Rule>, ProviderError> {
        d.rules.iter().map(api::rule).collect()
    }

    #[async_trait]
    impl Kind for WebAclKind {
        type Decl = WebAcl;
        type Out = WebAclOut;
        const SERVICE: Service = Service::Wafv2;
        const TIMINGS: Timings = Timings::secs(1, 1, 2, 2, 600);

        /// WAFv2 has no batch get: one `GetWebACL` (and its tags) per ID,
        /// all at once.
        async fn list(&self, cx: &Ctx, by: Lookup<'_, WebAcl>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let arns = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                // WAFv2 lists no tags: a lost create is found by name.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => named(cx, d.scope, &d.name).await?,
            };
            each(&arns, |a| async move { seen(cx, &a).await }).await
        }

        async fn create(&self, cx: &Ctx, d: &WebAcl, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let call = client(cx, d.scope)
                .create_web_acl()
                .name(&d.name)
                .scope(api_scope(d.scope))
                .set_description(d.description.clone())
                .default_action(api::default_action(d.default_action))
                .set_rules(Some(rules(d)?))
                .visibility_config(api::visibility(&d.visibility_config)?)
                .set_tags(Some(waf_tags(tags)?));
            let out =
                cx.send_in(Service::Wafv2, "CreateWebACL", Operation::Create, || call.clone().send()).await?;
            out.summary.and_then(|s| s.arn).ok_or_else(|| missing("web ACL ARN"))
        }

        /// The whole ACL is sent again with its current lock token (read
        /// first); a stale token answers `WAFOptimisticLockException`
        /// (`Stale`), and the kit reads the ACL again and retries.
        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, WebAcl>) -> Result<(), ProviderError> {
            let a = parse_arn(id, "webacl")?;
            let Some((_, token)) = get(cx, &a).await? else {
                return Err(gone(id));
            };
            let d = c.after;
            let call = client(cx, a.scope)
                .update_web_acl()
                .name(&a.name)
                .scope(api_scope(a.scope))
                .id(&a.id)
                .set_description(d.description.clone())
                .default_action(api::default_action(d.default_action))
                .set_rules(Some(rules(d)?))
                .visibility_config(api::visibility(&d.visibility_config)?)
                .lock_token(token);
            cx.send_in(Service::Wafv2, "UpdateWebACL", Operation::Update, || call.clone().send())
                .await
                .map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, parse_arn(id, "webacl")?.scope, id, remove, add).await
        }

        /// With the current lock token. An ACL still associated answers
        /// `WAFAssociatedItemException` while the association is being
        /// removed: eventual consistency, retried.
        async fn delete(&self, cx: &Ctx, id: &str, _: &WebAcl) -> Result<(), ProviderError> {
            let a = parse_arn(id, "webacl")?;
            let Some((_, token)) = get(cx, &a).await? else { return Ok(()) };
            let call = client(cx, a.scope)
                .delete_web_acl()
                .name(&a.name)
                .scope(api_scope(a.scope))
                .id(&a.id)
                .lock_token(token);
            cx.send_in(Service::Wafv2, "DeleteWebACL", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
