//! CloudWatch Logs: log groups (see docs/aws-provider.md).

mod log_group;

pub use log_group::*;

/// Registers every logs resource type's implementation in `instance`.
#[cfg(feature = "logs")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, log_group::imp::LogGroupKind);
}
