//! ECS on Fargate: clusters, task definitions and services (see
//! docs/aws-provider.md).
//!
//! ECS tags through `TagResource` / `UntagResource` on an ARN and cannot
//! search by tag: a create whose answer was lost is found by its natural
//! key (a cluster's name, a service's cluster and name, a task
//! definition's family and its token tag).

mod cluster;
mod service;
mod task_definition;

pub use cluster::*;
pub use service::*;
pub use task_definition::*;

use infra_core::ValidationContext;

/// An ECS name (a cluster's, a service's, a family's, a container's): 1 to
/// 255 letters, digits, hyphens and underscores.
pub(crate) fn check_name(ctx: &mut ValidationContext<'_>, field: &str, name: &str) {
    let n = name.chars().count();
    if n == 0 || n > 255 {
        ctx.error(field, format!("{name:?} must be 1 to 255 characters; it has {n}"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        ctx.error(field, format!("{name:?} has {c:?}: ECS names take letters, digits, - and _ only"));
    }
}

#[cfg(feature = "ecs")]
pub(crate) mod sdk {
    //! What ECS's types share: tags and tagging calls.

    use aws_sdk_ecs::types::Tag;
    use infra_engine::{ErrorKind, Operation, ProviderError};

    use crate::kit::{Ctx, Service, Tags};

    /// Tags as ECS takes them.
    pub(crate) fn ecs_tags<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
        tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
    }

    /// Tags as a map.
    pub(crate) fn tag_map(tags: &[Tag]) -> Tags {
        tags.iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect()
    }

    /// `TagResource` / `UntagResource` on an ECS ARN (every ECS type's
    /// `Kind::retag`).
    pub(crate) async fn retag(
        cx: &Ctx,
        arn: &str,
        remove: &[&String],
        add: &[(&String, &String)],
    ) -> Result<(), ProviderError> {
        if !remove.is_empty() {
            let keys = remove.iter().map(|k| (*k).clone()).collect();
            let call = cx.ecs().untag_resource().resource_arn(arn).set_tag_keys(Some(keys));
            cx.send_in(Service::Ecs, "UntagResource", Operation::Update, || call.clone().send()).await?;
        }
        if !add.is_empty() {
            let call =
                cx.ecs().tag_resource().resource_arn(arn).set_tags(Some(ecs_tags(add.iter().copied())));
            cx.send_in(Service::Ecs, "TagResource", Operation::Update, || call.clone().send()).await?;
        }
        Ok(())
    }

    /// A request ECS refused before sending (a required field unset).
    pub(crate) fn invalid(what: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{what}: {e}")).with_code("InvalidInput")
    }

    /// The same error, of another kind (ECS answers `ClientException` or
    /// `InvalidParameterException` for states that pass).
    pub(crate) fn as_kind(e: ProviderError, kind: ErrorKind) -> ProviderError {
        ProviderError { kind, ..e }
    }
}

/// Registers every ecs resource type's implementation in `instance`.
#[cfg(feature = "ecs")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, cluster::imp::EcsClusterKind);
    register(instance, ctx, task_definition::imp::TaskDefinitionKind);
    register(instance, ctx, service::imp::FargateServiceKind);
}
