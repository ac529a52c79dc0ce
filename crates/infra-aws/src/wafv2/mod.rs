//! WAFv2: web ACLs, IP sets and their associations (see docs/aws-provider.md).

/// Registers every wafv2 resource type's implementation in `instance`.
#[cfg(feature = "wafv2")]
pub(crate) fn register(
    _instance: &mut infra_engine::ProviderInstance,
    _ctx: &std::sync::Arc<crate::sdk::Ctx>,
) {
}
