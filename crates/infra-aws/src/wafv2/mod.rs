//! WAFv2: web ACLs ([`WebAcl`], with typed rules: AWS managed rule groups
//! with rule action overrides, rate-based rules, IP set references, geo
//! matches), IP sets ([`IpSet`]) and the association of a regional web ACL
//! with a load balancer ([`WebAclAssociation`]) (see docs/aws-provider.md).
//!
//! Web ACLs and IP sets are identified by their ARN (import by ARN); the
//! ARN carries the scope, name and ID every WAFv2 call takes. A
//! `CLOUDFRONT`-scope object lives in us-east-1 whatever region its
//! provider instance is for: its calls go through the instance's us-east-1
//! WAFv2 client. Updates and deletes carry the object's current lock token
//! (read first); a stale one (`WAFOptimisticLockException`) is read again
//! and retried.

mod association;
mod ip_set;
mod rule;
#[cfg(feature = "wafv2")]
pub(crate) mod sdk;
mod web_acl;

pub use association::*;
pub use ip_set::*;
pub use rule::*;
pub use web_acl::*;

use infra_core::ValidationContext;
use serde::{Deserialize, Serialize};

/// Where a web ACL or IP set applies: `Regional` (load balancers, API
/// Gateway stages; in the provider's region) or `Cloudfront`
/// (distributions; managed in us-east-1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    #[default]
    #[serde(rename = "REGIONAL")]
    Regional,
    #[serde(rename = "CLOUDFRONT")]
    Cloudfront,
}

impl Scope {
    /// The API's spelling (`REGIONAL`, `CLOUDFRONT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Regional => "REGIONAL",
            Scope::Cloudfront => "CLOUDFRONT",
        }
    }

    /// The scope's part of an ARN (`regional/…`, `global/…`).
    pub(crate) fn arn_part(self) -> &'static str {
        match self {
            Scope::Regional => "regional",
            Scope::Cloudfront => "global",
        }
    }
}

/// A WAFv2 object's name (web ACL, IP set, rule): 1 to 128 letters,
/// digits, `_` and `-`.
pub(crate) fn check_name(ctx: &mut ValidationContext<'_>, field: &str, name: &str) {
    let n = name.chars().count();
    if n == 0 || n > 128 {
        ctx.error(field, format!("{name:?} must be 1 to 128 characters; it has {n}"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        ctx.error(field, format!("{name:?} has {c:?}: names take letters, digits, _ and - only"));
    }
}

/// A description: at most 256 characters.
pub(crate) fn check_description(ctx: &mut ValidationContext<'_>, description: Option<&str>) {
    if let Some(d) = description
        && d.chars().count() > 256
    {
        ctx.error("description", "at most 256 characters");
    }
}

/// When an ARN is known now, its scope must be `scope` (a regional ACL
/// takes regional IP sets; an association takes a regional ACL).
pub(crate) fn check_arn_scope(ctx: &mut ValidationContext<'_>, field: &str, arn: Option<&str>, scope: Scope) {
    let Some(arn) = arn else { return };
    let part = arn.split(':').nth(5).and_then(|r| r.split('/').next());
    if part != Some(scope.arn_part()) {
        ctx.error(field, format!("{arn:?} is not a {} ARN", scope.as_str()));
    }
}

/// Registers every wafv2 resource type's implementation in `instance`.
#[cfg(feature = "wafv2")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, ip_set::imp::IpSetKind);
    register(instance, ctx, web_acl::imp::WebAclKind);
    register(instance, ctx, association::imp::WebAclAssociationKind);
}
