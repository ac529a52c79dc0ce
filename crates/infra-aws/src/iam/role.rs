use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use super::{PolicyDocument, Purpose};
use crate::ids::{PolicyArn, RoleArn, RoleName};

/// An IAM role (`aws_iam_role`): who may assume it (the trust policy, a
/// typed [`PolicyDocument`]) and, through [`super::RolePolicy`] and
/// [`super::RolePolicyAttachment`], what it may do.
///
/// The name is the role's identity in the account (IAM is global: declare
/// a role once, under any region's provider, and use it in every region).
/// Changing the name or path replaces the role, destroy first (a name is
/// unique per account); `Options::create_before_destroy` suits a renamed
/// role. A role is assumable a few seconds after it exists: the types
/// that use one retry what that makes fail.
///
/// Outputs: `role.arn()` (`RoleArn`), `role.name()` (`RoleName`) and
/// `role.unique_id()` (`AROA…`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::iam::{PolicyDocument, Role};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let role = stack.add("ecs-task", Role {
///     name: "prod-ecs-task".into(),
///     assume_role_policy: PolicyDocument::assume_role("ecs-tasks.amazonaws.com"),
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::RoleArn> = role.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:iam:Role",
    outputs(arn: RoleArn, name: RoleName, unique_id: String),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_role,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct Role {
    /// The role's name, unique in the account.
    #[resource(force_new)]
    pub name: String,
    /// `/` (the default, recorded as unset) or e.g. `/service-role/`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Who may assume the role.
    pub assume_role_policy: PolicyDocument,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 3600 (the default, recorded as unset) to 43200 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<i32>,
    /// The managed policy that bounds the role's permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Input<PolicyArn>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_role(r: &Role, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &r.tags);
    super::check_name(ctx, "name", &r.name, 64);
    if let Some(p) = &r.path {
        super::check_path(ctx, "path", p);
    }
    super::validate(&r.assume_role_policy, Purpose::Trust, "assume_role_policy", ctx);
    if let Some(d) = &r.description
        && d.chars().count() > 1000
    {
        ctx.error("description", "a role's description is at most 1000 characters");
    }
    if let Some(s) = r.max_session_duration
        && !(3600..=43200).contains(&s)
    {
        ctx.error("max_session_duration", format!("{s} must be 3600 to 43200 seconds"));
    }
}

/// The canonical form: defaults recorded as unset, the document canonical.
fn defaults_unset(r: &mut Role) {
    if r.path.as_deref() == Some("/") {
        r.path = None;
    }
    if r.max_session_duration == Some(3600) {
        r.max_session_duration = None;
    }
    if r.description.as_deref() == Some("") {
        r.description = None;
    }
    super::canonical(&mut r.assume_role_policy);
}

#[cfg(feature = "iam")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{Role, RoleOut};
    use crate::iam::sdk::{document, each, iam_tags, json, tag_map};
    use crate::ids::{PolicyArn, RoleArn, RoleName};
    use crate::kit::{Change, Created, Ctx, Kind, Lookup, Seen, Service, Tags, user_tags};

    /// `aws:iam:Role` through the IAM API.
    #[derive(Debug)]
    pub(crate) struct RoleKind;

    fn seen(r: &aws_sdk_iam::types::Role) -> Result<Seen<RoleKind>, ProviderError> {
        let tags = tag_map(r.tags());
        let decl = Role {
            name: r.role_name().to_owned(),
            path: Some(r.path().to_owned()),
            assume_role_policy: document(r.assume_role_policy_document().unwrap_or_default())?,
            description: r.description().map(str::to_owned),
            max_session_duration: r.max_session_duration(),
            permissions_boundary: r
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(|a| Input::Value(PolicyArn::unchecked(a))),
            tags: user_tags(&tags),
        };
        let out = RoleOut {
            arn: RoleArn::unchecked(r.arn()),
            name: RoleName::unchecked(r.role_name()),
            unique_id: r.role_id().to_owned(),
        };
        Ok(Seen::ready(r.role_name().to_owned(), decl, out, tags))
    }

    async fn get(cx: &Ctx, name: String) -> Result<Seen<RoleKind>, ProviderError> {
        let out = cx
            .send_in(Service::Iam, "GetRole", Operation::Read, || cx.iam().get_role().role_name(&name).send())
            .await?;
        seen(out.role().ok_or_else(|| crate::kit::missing("role"))?)
    }

    #[async_trait]
    impl Kind for RoleKind {
        type Decl = Role;
        type Out = RoleOut;
        const SERVICE: Service = Service::Iam;
        const TIMINGS: Timings = Timings::secs(2, 1, 1, 1, 120);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Role>) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(ids, |name| get(cx, name)).await,
                // IAM lists no tags: a lost create is found by its name.
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => each(std::slice::from_ref(&d.name), |name| get(cx, name)).await,
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &Role,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &Role,
            tags: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let call = cx
                .iam()
                .create_role()
                .role_name(&d.name)
                .set_path(d.path.clone())
                .assume_role_policy_document(json(&d.assume_role_policy, "assume_role_policy")?)
                .set_description(d.description.clone())
                .set_max_session_duration(d.max_session_duration)
                .set_permissions_boundary(d.permissions_boundary.as_ref().map(|b| b.id().to_owned()))
                .set_tags(Some(iam_tags(tags)?));
            let out =
                cx.send_in(Service::Iam, "CreateRole", Operation::Create, || call.clone().send()).await?;
            let r = out.role().ok_or_else(|| crate::kit::missing("role"))?;
            let out = RoleOut {
                arn: RoleArn::unchecked(r.arn()),
                name: RoleName::unchecked(r.role_name()),
                unique_id: r.role_id().to_owned(),
            };
            let decl = Role { tags: user_tags(tags), ..d.clone() };
            Ok(Created::Seen(Seen::ready(d.name.clone(), decl, out, tags.clone())))
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, Role>) -> Result<(), ProviderError> {
            let (iam, d) = (cx.iam(), c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("assume_role_policy") {
                let policy = json(&d.assume_role_policy, "assume_role_policy")?;
                let call = iam.update_assume_role_policy().role_name(id).policy_document(policy);
                cx.send_in(Service::Iam, "UpdateAssumeRolePolicy", Operation::Update, || call.clone().send())
                    .await?;
            }
            if changed("description") || changed("max_session_duration") {
                let call = iam
                    .update_role()
                    .role_name(id)
                    .description(d.description.clone().unwrap_or_default())
                    .max_session_duration(d.max_session_duration.unwrap_or(3600));
                cx.send_in(Service::Iam, "UpdateRole", Operation::Update, || call.clone().send()).await?;
            }
            if changed("permissions_boundary") {
                match &d.permissions_boundary {
                    Some(b) => {
                        let call =
                            iam.put_role_permissions_boundary().role_name(id).permissions_boundary(b.id());
                        let name = "PutRolePermissionsBoundary";
                        cx.send_in(Service::Iam, name, Operation::Update, || call.clone().send()).await?;
                    }
                    None => {
                        let call = iam.delete_role_permissions_boundary().role_name(id);
                        let name = "DeleteRolePermissionsBoundary";
                        cx.send_in(Service::Iam, name, Operation::Update, || call.clone().send()).await?;
                    }
                }
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            if !remove.is_empty() {
                let call = cx
                    .iam()
                    .untag_role()
                    .role_name(id)
                    .set_tag_keys(Some(remove.iter().map(|k| (*k).clone()).collect()));
                cx.send_in(Service::Iam, "UntagRole", Operation::Update, || call.clone().send()).await?;
            }
            if !add.is_empty() {
                let call = cx.iam().tag_role().role_name(id).set_tags(Some(iam_tags(add.iter().copied())?));
                cx.send_in(Service::Iam, "TagRole", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &Role) -> Result<(), ProviderError> {
            cx.send_in(Service::Iam, "DeleteRole", Operation::Delete, || {
                cx.iam().delete_role().role_name(id).send()
            })
            .await
            .map(drop)
        }
    }
}
