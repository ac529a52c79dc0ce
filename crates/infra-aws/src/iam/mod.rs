//! IAM: roles, their inline and managed policies, instance profiles, and
//! typed policy documents (see docs/aws-provider.md).
//!
//! IAM is global: one account's roles serve every region, so a role is
//! declared once (under any region's provider) and referenced from both;
//! names are unique per account, and AWS meters IAM's API per account.

mod instance_profile;
mod policy;
mod role;
mod role_policy;
#[cfg(feature = "iam")]
pub(crate) mod sdk;

pub use instance_profile::*;
pub use policy::*;
pub use role::*;
pub use role_policy::*;

use infra_core::ValidationContext;

/// An IAM name (a role's, a policy's, an instance profile's): 1 to `max`
/// characters of letters, digits and `+=,.@_-`.
pub(crate) fn check_name(ctx: &mut ValidationContext<'_>, field: &str, name: &str, max: usize) {
    let n = name.chars().count();
    if n == 0 || n > max {
        ctx.error(field, format!("{name:?} must be 1 to {max} characters; it has {n}"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))) {
        ctx.error(field, format!("{name:?} has {c:?}: IAM names take letters, digits and +=,.@_- only"));
    }
}

/// An IAM path: `/` or `/a/b/`, at most 512 characters of printable ASCII.
pub(crate) fn check_path(ctx: &mut ValidationContext<'_>, field: &str, path: &str) {
    let printable = path.chars().all(|c| ('!'..='~').contains(&c));
    if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 || !printable || path.contains("//")
    {
        ctx.error(
            field,
            format!("{path:?} must start and end with / (e.g. /service-role/), at most 512 characters"),
        );
    }
}

/// Registers every IAM resource type's implementation in `instance`.
#[cfg(feature = "iam")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, role::imp::RoleKind);
    register(instance, ctx, role_policy::imp::RolePolicyKind);
    register(instance, ctx, role_policy::imp::RolePolicyAttachmentKind);
    register(instance, ctx, instance_profile::imp::InstanceProfileKind);
}
