//! Application Auto Scaling: scalable targets and scaling policies (an ECS
//! service's task count; see docs/aws-provider.md).
//!
//! Neither carries tags here: the emulator answers 500 to the service's
//! tagging calls, and a target or policy is found by its natural key
//! (namespace, resource, dimension, and a policy's name).

mod policy;
mod target;

pub use policy::*;
pub use target::*;

use infra_core::ValidationContext;

/// The service namespaces Application Auto Scaling knows.
const NAMESPACES: &[&str] = &[
    "ecs",
    "elasticmapreduce",
    "ec2",
    "appstream",
    "dynamodb",
    "rds",
    "sagemaker",
    "custom-resource",
    "comprehend",
    "lambda",
    "cassandra",
    "kafka",
    "elasticache",
    "neptune",
    "workspaces",
];

/// Checks a target's key (namespace, resource, dimension): the dimension
/// belongs to the namespace, an ECS resource is `service/<cluster>/<name>`.
pub(crate) fn check_key(
    ctx: &mut ValidationContext<'_>,
    namespace: &str,
    resource_id: &infra_core::Input<String>,
    dimension: &str,
) {
    if !NAMESPACES.contains(&namespace) {
        ctx.error(
            "service_namespace",
            format!("{namespace:?} is not an Application Auto Scaling namespace (e.g. ecs)"),
        );
    }
    if namespace == "ecs" && dimension != "ecs:service:DesiredCount" {
        ctx.error("scalable_dimension", format!("{dimension:?}: ECS scales ecs:service:DesiredCount"));
    }
    if dimension.split(':').count() != 3 {
        ctx.error("scalable_dimension", format!("{dimension:?} must be <service>:<resource>:<property>"));
    }
    if let infra_core::Input::Value(r) = resource_id {
        if namespace == "ecs" && (r.split('/').count() != 3 || !r.starts_with("service/")) {
            ctx.error(
                "resource_id",
                format!("{r:?}: an ECS service's resource ID is service/<cluster>/<service>"),
            );
        }
        if r.is_empty() {
            ctx.error("resource_id", "is empty");
        }
    }
}

/// An ID `namespace/resource_id/dimension[/name]` split into its parts.
#[cfg(feature = "appautoscaling")]
pub(crate) fn split_id(id: &str, named: bool) -> Option<(String, String, String, Option<String>)> {
    let (namespace, rest) = id.split_once('/')?;
    let (rest, name) = if named {
        let (rest, name) = rest.rsplit_once('/')?;
        (rest, Some(name.to_owned()))
    } else {
        (rest, None)
    };
    let (resource, dimension) = rest.rsplit_once('/')?;
    Some((namespace.to_owned(), resource.to_owned(), dimension.to_owned(), name))
}

/// The error of an ID that is not of the type's form.
#[cfg(feature = "appautoscaling")]
pub(crate) fn bad_id(id: &str, form: &str) -> infra_engine::ProviderError {
    infra_engine::ProviderError::new(
        infra_engine::ErrorKind::Final,
        format!("{id:?} is not an ID of the form {form}"),
    )
    .with_code("InvalidInput")
}

/// Registers every appautoscaling resource type's implementation in `instance`.
#[cfg(feature = "appautoscaling")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, target::imp::ScalableTargetKind);
    register(instance, ctx, policy::imp::ScalingPolicyKind);
}
