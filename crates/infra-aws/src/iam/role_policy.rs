use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use super::{PolicyDocument, Purpose};
use crate::ids::{PolicyArn, RoleName};

/// A role's inline policy (`aws_iam_role_policy`): a typed
/// [`PolicyDocument`] that lives and dies with the role. Its ID is
/// `role:name`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::iam::{PolicyDocument, Role, RolePolicy, Statement};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let role = stack.add("task", Role {
///     name: "prod-task".into(),
///     assume_role_policy: PolicyDocument::assume_role("ecs-tasks.amazonaws.com"),
///     ..Default::default()
/// });
/// stack.add("task-s3", RolePolicy {
///     role: role.name().into(),
///     name: "s3-read".into(),
///     policy: PolicyDocument::new([
///         Statement::allow(["s3:GetObject"]).on("arn:aws:s3:::prod-assets/*"),
///     ]),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:iam:RolePolicy",
    outputs(id: String),
    readiness = "on_id",
    validate = validate_role_policy,
    validate_type = crate::rules::unique,
    normalise = canonical_policy
)]
pub struct RolePolicy {
    /// The role's name (`role.name()`).
    #[resource(force_new)]
    pub role: Input<RoleName>,
    /// The policy's name, unique among the role's inline policies.
    #[resource(force_new)]
    pub name: String,
    pub policy: PolicyDocument,
}

fn validate_role_policy(p: &RolePolicy, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    super::check_name(ctx, "name", &p.name, 128);
    super::validate(&p.policy, Purpose::Identity, "policy", ctx);
}

fn canonical_policy(p: &mut RolePolicy) {
    super::canonical(&mut p.policy);
}

/// A managed policy attached to a role (`aws_iam_role_policy_attachment`).
/// Its ID is `role/policy_arn`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::iam::{PolicyDocument, Role, RolePolicyAttachment};
/// use infra::aws::ids::PolicyArn;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let role = stack.add("exec", Role {
///     name: "prod-ecs-execution".into(),
///     assume_role_policy: PolicyDocument::assume_role("ecs-tasks.amazonaws.com"),
///     ..Default::default()
/// });
/// stack.add("exec-policy", RolePolicyAttachment {
///     role: role.name().into(),
///     policy_arn: PolicyArn::new(
///         "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
///     ).unwrap().into(),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:iam:RolePolicyAttachment",
    outputs(id: String),
    readiness = "on_id",
    validate = validate_attachment,
    validate_type = crate::rules::unique
)]
pub struct RolePolicyAttachment {
    /// The role's name (`role.name()`).
    #[resource(force_new)]
    pub role: Input<RoleName>,
    /// The managed policy (AWS's or the account's).
    #[resource(force_new)]
    pub policy_arn: Input<PolicyArn>,
}

fn validate_attachment(_: &RolePolicyAttachment, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
}

#[cfg(feature = "iam")]
pub(crate) mod imp {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{RolePolicy, RolePolicyAttachment, RolePolicyAttachmentOut, RolePolicyOut};
    use crate::iam::sdk::{document, each, json};
    use crate::ids::{PolicyArn, RoleName};
    use crate::kit::{Change, Created, Ctx, Kind, Lookup, Seen, Service, Tags};

    fn bad_id(id: &str, shape: &str) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{id:?} is not an ID of the form {shape}"))
            .with_code("InvalidInput")
    }

    /// `aws:iam:RolePolicy`: Get/Put/DeleteRolePolicy. Carries no tags: a
    /// lost create is found by (role, name).
    #[derive(Debug)]
    pub(crate) struct RolePolicyKind;

    async fn get_policy(cx: &Ctx, id: String) -> Result<Seen<RolePolicyKind>, ProviderError> {
        let (role, name) = id.split_once(':').ok_or_else(|| bad_id(&id, "role:name"))?;
        let out = cx
            .send_in(Service::Iam, "GetRolePolicy", Operation::Read, || {
                cx.iam().get_role_policy().role_name(role).policy_name(name).send()
            })
            .await?;
        let decl = RolePolicy {
            role: Input::Value(RoleName::unchecked(out.role_name())),
            name: out.policy_name().to_owned(),
            policy: document(out.policy_document())?,
        };
        Ok(Seen::ready(id.clone(), decl, RolePolicyOut { id }, Tags::new()))
    }

    async fn put(cx: &Ctx, d: &RolePolicy, op: Operation) -> Result<(), ProviderError> {
        let call = cx
            .iam()
            .put_role_policy()
            .role_name(d.role.id())
            .policy_name(&d.name)
            .policy_document(json(&d.policy, "policy")?);
        cx.send_in(Service::Iam, "PutRolePolicy", op, || call.clone().send()).await.map(drop)
    }

    #[async_trait]
    impl Kind for RolePolicyKind {
        type Decl = RolePolicy;
        type Out = RolePolicyOut;
        const SERVICE: Service = Service::Iam;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 60);
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;

        async fn list(&self, cx: &Ctx, by: Lookup<'_, RolePolicy>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(ids, |id| get_policy(cx, id)).await,
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => {
                    each(&[format!("{}:{}", d.role.id(), d.name)], |id| get_policy(cx, id)).await
                }
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &RolePolicy,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &RolePolicy,
            _: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            put(cx, d, Operation::Create).await?;
            let id = format!("{}:{}", d.role.id(), d.name);
            Ok(Created::Seen(Seen::ready(id.clone(), d.clone(), RolePolicyOut { id }, Tags::new())))
        }

        async fn update(&self, cx: &Ctx, _: &str, c: Change<'_, RolePolicy>) -> Result<(), ProviderError> {
            put(cx, c.after, Operation::Update).await
        }

        async fn delete(&self, cx: &Ctx, _: &str, d: &RolePolicy) -> Result<(), ProviderError> {
            cx.send_in(Service::Iam, "DeleteRolePolicy", Operation::Delete, || {
                cx.iam().delete_role_policy().role_name(d.role.id()).policy_name(&d.name).send()
            })
            .await
            .map(drop)
        }
    }

    /// `aws:iam:RolePolicyAttachment`: one ListAttachedRolePolicies per
    /// role read. Carries no tags: a lost attach is found by its pair.
    #[derive(Debug)]
    pub(crate) struct RolePolicyAttachmentKind;

    /// The policies attached to `role`.
    async fn attached(cx: &Ctx, role: String) -> Result<(String, Vec<String>), ProviderError> {
        let arns = cx
            .paged(|marker| {
                let call = cx.iam().list_attached_role_policies().role_name(&role).set_marker(marker);
                async move {
                    let out = cx
                        .send_in(Service::Iam, "ListAttachedRolePolicies", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    let arns =
                        out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned));
                    let next = if out.is_truncated() { out.marker().map(str::to_owned) } else { None };
                    Ok((arns.collect::<Vec<_>>(), next))
                }
            })
            .await?;
        Ok((role, arns))
    }

    #[async_trait]
    impl Kind for RolePolicyAttachmentKind {
        type Decl = RolePolicyAttachment;
        type Out = RolePolicyAttachmentOut;
        const SERVICE: Service = Service::Iam;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 60);
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, RolePolicyAttachment>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let ids: Vec<String> = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![format!("{}/{}", d.role.id(), d.policy_arn.id())],
            };
            // One listing per role (role names hold no `/`).
            let mut roles: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for id in &ids {
                let (role, arn) = id.split_once('/').ok_or_else(|| bad_id(id, "role/policy_arn"))?;
                roles.entry(role.to_owned()).or_default().push(arn);
            }
            let names: Vec<String> = roles.keys().cloned().collect();
            let mut out = Vec::new();
            for (role, arns) in each(&names, |role| attached(cx, role)).await? {
                for arn in arns.iter().filter(|a| roles.get(&role).is_some_and(|w| w.contains(&a.as_str()))) {
                    let id = format!("{role}/{arn}");
                    let decl = RolePolicyAttachment {
                        role: Input::Value(RoleName::unchecked(&role)),
                        policy_arn: Input::Value(PolicyArn::unchecked(arn)),
                    };
                    out.push(Seen::ready(id.clone(), decl, RolePolicyAttachmentOut { id }, Tags::new()));
                }
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &RolePolicyAttachment,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &RolePolicyAttachment,
            _: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let call = cx.iam().attach_role_policy().role_name(d.role.id()).policy_arn(d.policy_arn.id());
            cx.send_in(Service::Iam, "AttachRolePolicy", Operation::Create, || call.clone().send()).await?;
            let id = format!("{}/{}", d.role.id(), d.policy_arn.id());
            Ok(Created::Seen(Seen::ready(id.clone(), d.clone(), RolePolicyAttachmentOut { id }, Tags::new())))
        }

        async fn delete(&self, cx: &Ctx, _: &str, d: &RolePolicyAttachment) -> Result<(), ProviderError> {
            cx.send_in(Service::Iam, "DetachRolePolicy", Operation::Delete, || {
                cx.iam().detach_role_policy().role_name(d.role.id()).policy_arn(d.policy_arn.id()).send()
            })
            .await
            .map(drop)
        }
    }
}
