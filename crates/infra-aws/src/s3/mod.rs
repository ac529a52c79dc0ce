//! S3: buckets with their settings, and bucket policies (see
//! docs/aws-provider.md).

mod bucket;
mod policy;
#[cfg(feature = "s3")]
mod sdk;
mod settings;

pub use bucket::*;
pub use policy::*;
pub use settings::*;

/// Registers every s3 resource type's implementation in `instance`.
#[cfg(feature = "s3")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, bucket::imp::BucketKind);
    crate::kit::register(instance, ctx, policy::imp::BucketPolicyKind);
}
