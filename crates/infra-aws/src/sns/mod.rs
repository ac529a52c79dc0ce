//! SNS: topics and subscriptions (see docs/aws-provider.md).

mod subscription;
mod topic;

pub use subscription::*;
pub use topic::*;

/// Registers every sns resource type's implementation in `instance`.
#[cfg(feature = "sns")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, topic::imp::SnsTopicKind);
    crate::kit::register(instance, ctx, subscription::imp::SnsSubscriptionKind);
}
