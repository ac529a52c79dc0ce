//! ECR: container image repositories (see docs/aws-provider.md).

mod repository;

pub use repository::*;

/// Registers every ecr resource type's implementation in `instance`.
#[cfg(feature = "ecr")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, repository::imp::EcrRepositoryKind);
}
