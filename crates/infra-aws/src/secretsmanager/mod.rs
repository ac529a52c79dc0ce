//! Secrets Manager: secrets, their values, and generated passwords (see
//! docs/aws-provider.md). A value is never read into a plan, the state, an
//! event or a log: a declared one ([`SecretVersion`]) is the engine's
//! secret type, a generated one ([`GeneratedPassword`]) never leaves AWS.

#[cfg(feature = "secretsmanager")]
pub(crate) mod sdk;
mod secret;
mod source;
mod version;

pub use secret::*;
#[cfg(feature = "secretsmanager")]
#[allow(unused_imports)] // used by the rds and elasticache features
pub(crate) use source::imp::reveal;
pub use source::*;
pub use version::*;

/// Registers every secretsmanager resource type's implementation in `instance`.
#[cfg(feature = "secretsmanager")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, secret::imp::SecretKind);
    register(instance, ctx, version::imp::SecretVersionKind);
    register(instance, ctx, version::imp::GeneratedPasswordKind);
}
