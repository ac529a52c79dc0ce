use infra_core::typed::TemplatePart;
use infra_core::{Input, ValidationContext, interpolate};
use infra_derive::Resource;
use serde::Serialize;

/// A scalable target (`aws_appautoscaling_target`): the range Application
/// Auto Scaling keeps a resource's capacity in, e.g. an ECS service's task
/// count.
///
/// Its ID is `namespace/resource_id/dimension` (Terraform's import form).
/// The namespace, resource and dimension are force-new; the capacities
/// change in place (`RegisterScalableTarget` is an upsert). It carries no
/// tags (the emulator answers 500 to the service's tagging calls), so a
/// create whose answer was lost is found by its key.
///
/// Outputs: `target.resource_id()`, `target.arn()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::appautoscaling::ScalableTarget;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// // `cluster.name()` and `service.name()` in a stack.
/// stack.add("app-scaling", ScalableTarget {
///     min_capacity: 2,
///     max_capacity: 20,
///     ..ScalableTarget::ecs_service("prod-cluster", "prod-app")
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:appautoscaling:Target",
    outputs(resource_id: String, arn: String),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_target,
    validate_type = crate::rules::unique
)]
pub struct ScalableTarget {
    /// `ecs` for an ECS service.
    #[resource(force_new)]
    pub service_namespace: String,
    /// `service/<cluster name>/<service name>` for an ECS service.
    #[resource(force_new)]
    pub resource_id: Input<String>,
    /// `ecs:service:DesiredCount` for an ECS service.
    #[resource(force_new)]
    pub scalable_dimension: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
}

impl ScalableTarget {
    /// The desired count of the ECS service `service` of `cluster` (their
    /// names or name outputs: `cluster.name()`, `service.name()`).
    pub fn ecs_service(cluster: impl Into<TemplatePart>, service: impl Into<TemplatePart>) -> Self {
        ScalableTarget {
            service_namespace: "ecs".into(),
            resource_id: interpolate!("service/", cluster.into(), "/", service.into()).into(),
            scalable_dimension: "ecs:service:DesiredCount".into(),
            min_capacity: 1,
            max_capacity: 1,
        }
    }
}

fn validate_target(t: &ScalableTarget, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    super::check_key(ctx, &t.service_namespace, &t.resource_id, &t.scalable_dimension);
    if t.min_capacity < 0 {
        ctx.error("min_capacity", format!("{} must be 0 or more", t.min_capacity));
    }
    if t.max_capacity < t.min_capacity {
        ctx.error("max_capacity", format!("{} is below min_capacity {}", t.max_capacity, t.min_capacity));
    }
}

#[cfg(feature = "appautoscaling")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{ScalableTarget, ScalableTargetOut};
    use crate::appautoscaling::{bad_id, split_id};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, settle};

    /// `aws:appautoscaling:Target` through the Application Auto Scaling API.
    #[derive(Debug)]
    pub(crate) struct ScalableTargetKind;

    /// Resource IDs DescribeScalableTargets takes at once.
    const PER_CALL: usize = 50;

    fn id_of(namespace: &str, resource: &str, dimension: &str) -> String {
        format!("{namespace}/{resource}/{dimension}")
    }

    /// The targets of `namespace` on `resources`, in `dimension` only when
    /// given.
    async fn describe(
        cx: &Ctx,
        namespace: &str,
        resources: &[String],
    ) -> Result<Vec<Seen<ScalableTargetKind>>, ProviderError> {
        let mut found = Vec::new();
        for chunk in resources.chunks(PER_CALL) {
            let targets = cx
                .paged(|next| {
                    let call = cx
                        .appautoscaling()
                        .describe_scalable_targets()
                        .service_namespace(ServiceNamespace::from(namespace))
                        .set_resource_ids(Some(chunk.to_vec()))
                        .set_next_token(next);
                    async move {
                        let out = cx
                            .send_in(
                                Service::AppAutoScaling,
                                "DescribeScalableTargets",
                                Operation::Read,
                                || call.clone().send(),
                            )
                            .await?;
                        Ok((out.scalable_targets.unwrap_or_default(), out.next_token))
                    }
                })
                .await?;
            for t in targets {
                let (ns, dim) = (t.service_namespace().as_str(), t.scalable_dimension().as_str());
                let id = id_of(ns, t.resource_id(), dim);
                let decl = ScalableTarget {
                    service_namespace: ns.to_owned(),
                    resource_id: Input::Value(t.resource_id().to_owned()),
                    scalable_dimension: dim.to_owned(),
                    min_capacity: t.min_capacity(),
                    max_capacity: t.max_capacity(),
                };
                let out = ScalableTargetOut {
                    resource_id: t.resource_id().to_owned(),
                    arn: t.scalable_target_arn().unwrap_or_default().to_owned(),
                };
                found.push(Seen::ready(id, decl, out, Tags::new()));
            }
        }
        Ok(found)
    }

    async fn register(cx: &Ctx, d: &ScalableTarget, op: Operation) -> Result<(), ProviderError> {
        let call = cx
            .appautoscaling()
            .register_scalable_target()
            .service_namespace(ServiceNamespace::from(d.service_namespace.as_str()))
            .resource_id(d.resource_id.as_str())
            .scalable_dimension(ScalableDimension::from(d.scalable_dimension.as_str()))
            .min_capacity(d.min_capacity)
            .max_capacity(d.max_capacity);
        // A service made moments ago may not be visible to the call yet.
        settle(|| cx.send_in(Service::AppAutoScaling, "RegisterScalableTarget", op, || call.clone().send()))
            .await
            .map(drop)
    }

    #[async_trait]
    impl Kind for ScalableTargetKind {
        type Decl = ScalableTarget;
        type Out = ScalableTargetOut;
        const SERVICE: Service = Service::AppAutoScaling;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, ScalableTarget>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let wanted: Vec<(String, String, String)> = match by {
                Lookup::Ids(ids) => ids
                    .iter()
                    .map(|id| {
                        split_id(id, false)
                            .map(|(n, r, d, _)| (n, r, d))
                            .ok_or_else(|| bad_id(id, "namespace/resource/dimension"))
                    })
                    .collect::<Result<_, _>>()?,
                Lookup::Tag(..) => Vec::new(),
                Lookup::Key(d) => vec![(
                    d.service_namespace.clone(),
                    d.resource_id.as_str().to_owned(),
                    d.scalable_dimension.clone(),
                )],
            };
            let mut per_namespace: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (n, r, _) in &wanted {
                per_namespace.entry(n).or_default().push(r.clone());
            }
            let ids: Vec<String> = wanted.iter().map(|(n, r, d)| id_of(n, r, d)).collect();
            let mut out = Vec::new();
            for (namespace, resources) in per_namespace {
                out.extend(
                    describe(cx, namespace, &resources).await?.into_iter().filter(|s| ids.contains(&s.id)),
                );
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &ScalableTarget,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            register(cx, d, Operation::Create).await?;
            Ok(id_of(&d.service_namespace, d.resource_id.as_str(), &d.scalable_dimension))
        }

        async fn update(
            &self,
            cx: &Ctx,
            _: &str,
            c: Change<'_, ScalableTarget>,
        ) -> Result<(), ProviderError> {
            register(cx, c.after, Operation::Update).await
        }

        async fn retag(
            &self,
            _: &Ctx,
            _: &str,
            _: &[&String],
            _: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &ScalableTarget) -> Result<(), ProviderError> {
            let call = cx
                .appautoscaling()
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::from(d.service_namespace.as_str()))
                .resource_id(d.resource_id.as_str())
                .scalable_dimension(ScalableDimension::from(d.scalable_dimension.as_str()));
            match cx
                .send_in(Service::AppAutoScaling, "DeregisterScalableTarget", Operation::Delete, || {
                    call.clone().send()
                })
                .await
            {
                Ok(_) => Ok(()),
                // AWS answers ObjectNotFoundException for one already gone
                // (done); the emulator a ValidationException: gone too when
                // a read no longer finds it.
                Err(e) if e.kind == ErrorKind::Final && e.code.as_deref() == Some("ValidationException") => {
                    if self.list(cx, Lookup::Ids(&[id.to_owned()])).await?.is_empty() {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
                Err(e) => Err(e),
            }
        }
    }
}
