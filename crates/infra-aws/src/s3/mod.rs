//! S3: buckets with their settings, and bucket policies (see
//! docs/aws-provider.md).

/// Registers every s3 resource type's implementation in `instance`.
#[cfg(feature = "s3")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    let _ = (instance, ctx);
}
