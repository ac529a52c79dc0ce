use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use super::Scope;
use crate::ids::{LoadBalancerArn, WebAclArn};

/// A regional web ACL protecting a load balancer
/// (`aws_wafv2_web_acl_association`). Its ID is the load balancer's ARN
/// (a resource has at most one web ACL); it is read with
/// `GetWebACLForResource`. Both fields replace it, destroy first (an
/// association to another ACL for the same load balancer would otherwise
/// be undone by the old one's removal). A distribution takes its
/// (`Cloudfront`-scope) ACL in its own `web_acl_id` instead.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ids::LoadBalancerArn;
/// use infra::aws::wafv2::{Scope, VisibilityConfig, WebAcl, WebAclAssociation};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let acl = stack.add("alb-waf", WebAcl {
///     name: "alb".into(),
///     scope: Scope::Regional,
///     visibility_config: VisibilityConfig::metrics("alb"),
///     ..Default::default()
/// });
/// let alb = LoadBalancerArn::new(
///     "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
/// ).unwrap();
/// stack.add("alb-waf-association", WebAclAssociation {
///     web_acl_arn: acl.arn().into(),
///     resource_arn: alb.into(),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:wafv2:WebAclAssociation",
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_association,
    validate_type = crate::rules::unique
)]
pub struct WebAclAssociation {
    /// A `Regional` web ACL of the load balancer's region.
    #[resource(force_new)]
    pub web_acl_arn: Input<WebAclArn>,
    #[resource(force_new)]
    pub resource_arn: Input<LoadBalancerArn>,
}

fn validate_association(a: &WebAclAssociation, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    let acl = a.web_acl_arn.value().map(|v| v.to_string());
    super::check_arn_scope(ctx, "web_acl_arn", acl.as_deref(), Scope::Regional);
}

#[cfg(feature = "wafv2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{WebAclAssociation, WebAclAssociationOut};
    use crate::ids::{LoadBalancerArn, WebAclArn};
    use crate::kit::{Ctx, Kind, Lookup, Seen, Service, Tags};
    use crate::wafv2::sdk::each;

    /// `aws:wafv2:WebAclAssociation` through the WAFv2 API.
    #[derive(Debug)]
    pub(crate) struct WebAclAssociationKind;

    /// The ARN of the web ACL protecting `resource`, if any.
    async fn acl_of(cx: &Ctx, resource: &str) -> Result<Option<String>, ProviderError> {
        let call = cx.wafv2().get_web_acl_for_resource().resource_arn(resource);
        match cx
            .send_in(Service::Wafv2, "GetWebACLForResource", Operation::Read, || call.clone().send())
            .await
        {
            Ok(out) => Ok(out.web_acl.map(|w| w.arn)),
            Err(e) if e.kind == infra_engine::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn seen(cx: &Ctx, resource: &str) -> Result<Option<Seen<WebAclAssociationKind>>, ProviderError> {
        let Some(acl) = acl_of(cx, resource).await? else { return Ok(None) };
        let decl = WebAclAssociation {
            web_acl_arn: Input::Value(WebAclArn::unchecked(acl)),
            resource_arn: Input::Value(LoadBalancerArn::unchecked(resource)),
        };
        Ok(Some(Seen::ready(resource.to_owned(), decl, WebAclAssociationOut {}, Tags::new())))
    }

    #[async_trait]
    impl Kind for WebAclAssociationKind {
        type Decl = WebAclAssociation;
        type Out = WebAclAssociationOut;
        const SERVICE: Service = Service::Wafv2;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;

        /// One `GetWebACLForResource` per load balancer (WAFv2 has no
        /// batched form), all at once.
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, WebAclAssociation>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let resources = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![d.resource_arn.id().to_owned()],
            };
            let mut out = each(&resources, |r| async move { seen(cx, &r).await }).await?;
            // By key, only an association with the declared ACL is this one.
            if let Lookup::Key(d) = by {
                out.retain(|s| s.decl.web_acl_arn.id() == d.web_acl_arn.id());
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &WebAclAssociation,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .wafv2()
                .associate_web_acl()
                .web_acl_arn(d.web_acl_arn.id())
                .resource_arn(d.resource_arn.id());
            cx.send_in(Service::Wafv2, "AssociateWebACL", Operation::Create, || call.clone().send()).await?;
            Ok(d.resource_arn.id().to_owned())
        }

        /// Only while the load balancer is still protected by the declared
        /// ACL: an association made since to another ACL is not undone.
        async fn delete(&self, cx: &Ctx, id: &str, d: &WebAclAssociation) -> Result<(), ProviderError> {
            match acl_of(cx, id).await? {
                Some(acl) if d.web_acl_arn.id().is_empty() || acl == d.web_acl_arn.id() => {}
                _ => return Ok(()),
            }
            let call = cx.wafv2().disassociate_web_acl().resource_arn(id);
            cx.send_in(Service::Wafv2, "DisassociateWebACL", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
