use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{InstanceProfileArn, InstanceProfileName, RoleName};

/// An instance profile (`aws_iam_instance_profile`): how an EC2 instance
/// (a launch template's `iam_instance_profile`) takes a role. It holds at
/// most one role, changed in place. Changing the name or path replaces it,
/// destroy first (a name is unique per account).
///
/// Outputs: `profile.arn()` (`InstanceProfileArn`), `profile.name()`
/// (`InstanceProfileName`) and `profile.unique_id()` (`AIPA…`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::iam::{InstanceProfile, PolicyDocument, Role};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let role = stack.add("web", Role {
///     name: "prod-web".into(),
///     assume_role_policy: PolicyDocument::assume_role("ec2.amazonaws.com"),
///     ..Default::default()
/// });
/// stack.add("web-profile", InstanceProfile {
///     name: "prod-web".into(),
///     role: Some(role.name().into()),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:iam:InstanceProfile",
    outputs(arn: InstanceProfileArn, name: InstanceProfileName, unique_id: String),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_profile,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct InstanceProfile {
    /// The profile's name, unique in the account.
    #[resource(force_new)]
    pub name: String,
    /// `/` (the default, recorded as unset) or e.g. `/web/`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The role (`role.name()`); a profile holds at most one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Input<RoleName>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_profile(p: &InstanceProfile, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &p.tags);
    super::check_name(ctx, "name", &p.name, 128);
    if let Some(path) = &p.path {
        super::check_path(ctx, "path", path);
    }
}

fn defaults_unset(p: &mut InstanceProfile) {
    if p.path.as_deref() == Some("/") {
        p.path = None;
    }
}

#[cfg(feature = "iam")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{InstanceProfile, InstanceProfileOut};
    use crate::iam::sdk::{each, iam_tags, tag_map};
    use crate::ids::{InstanceProfileArn, InstanceProfileName, RoleName};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:iam:InstanceProfile` through the IAM API.
    #[derive(Debug)]
    pub(crate) struct InstanceProfileKind;

    async fn get(cx: &Ctx, name: String) -> Result<Seen<InstanceProfileKind>, ProviderError> {
        let out = cx
            .send_in(Service::Iam, "GetInstanceProfile", Operation::Read, || {
                cx.iam().get_instance_profile().instance_profile_name(&name).send()
            })
            .await?;
        let p = out.instance_profile().ok_or_else(|| missing("instance profile"))?;
        let tags = tag_map(p.tags());
        let decl = InstanceProfile {
            name: p.instance_profile_name().to_owned(),
            path: Some(p.path().to_owned()),
            role: p.roles().first().map(|r| Input::Value(RoleName::unchecked(r.role_name()))),
            tags: user_tags(&tags),
        };
        let out = InstanceProfileOut {
            arn: InstanceProfileArn::unchecked(p.arn()),
            name: InstanceProfileName::unchecked(p.instance_profile_name()),
            unique_id: p.instance_profile_id().to_owned(),
        };
        Ok(Seen::ready(name, decl, out, tags))
    }

    async fn add_role(cx: &Ctx, profile: &str, role: &str) -> Result<(), ProviderError> {
        // A role made moments ago may not be visible to this call yet.
        settle(|| {
            cx.send_in(Service::Iam, "AddRoleToInstanceProfile", Operation::Create, || {
                cx.iam().add_role_to_instance_profile().instance_profile_name(profile).role_name(role).send()
            })
        })
        .await
        .map(drop)
    }

    async fn remove_role(cx: &Ctx, profile: &str, role: &str) -> Result<(), ProviderError> {
        let sent = cx
            .send_in(Service::Iam, "RemoveRoleFromInstanceProfile", Operation::Delete, || {
                cx.iam()
                    .remove_role_from_instance_profile()
                    .instance_profile_name(profile)
                    .role_name(role)
                    .send()
            })
            .await;
        match sent {
            Err(e) if e.kind != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    #[async_trait]
    impl Kind for InstanceProfileKind {
        type Decl = InstanceProfile;
        type Out = InstanceProfileOut;
        const SERVICE: Service = Service::Iam;
        const TIMINGS: Timings = Timings::secs(2, 1, 1, 1, 120);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, InstanceProfile>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(ids, |name| get(cx, name)).await,
                Lookup::Tag(..) => Ok(Vec::new()),
                Lookup::Key(d) => each(std::slice::from_ref(&d.name), |name| get(cx, name)).await,
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &InstanceProfile,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .iam()
                .create_instance_profile()
                .instance_profile_name(&d.name)
                .set_path(d.path.clone())
                .set_tags(Some(iam_tags(tags)?));
            cx.send_in(Service::Iam, "CreateInstanceProfile", Operation::Create, || call.clone().send())
                .await?;
            if let Some(role) = &d.role {
                add_role(cx, &d.name, role.id()).await?;
            }
            Ok(d.name.clone())
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, InstanceProfile>,
        ) -> Result<(), ProviderError> {
            if let Some(old) = &c.before.role {
                remove_role(cx, id, old.id()).await?;
            }
            if let Some(new) = &c.after.role {
                add_role(cx, id, new.id()).await?;
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
            let iam = cx.iam();
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = iam.untag_instance_profile().instance_profile_name(id).set_tag_keys(Some(keys));
                cx.send_in(Service::Iam, "UntagInstanceProfile", Operation::Update, || call.clone().send())
                    .await?;
            }
            if !add.is_empty() {
                let tags = iam_tags(add.iter().copied())?;
                let call = iam.tag_instance_profile().instance_profile_name(id).set_tags(Some(tags));
                cx.send_in(Service::Iam, "TagInstanceProfile", Operation::Update, || call.clone().send())
                    .await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &InstanceProfile) -> Result<(), ProviderError> {
            // A profile with a role cannot be deleted: take out the role it
            // holds now (not necessarily the recorded one).
            let Some(now) = self.list(cx, Lookup::Ids(&[id.to_owned()])).await?.pop() else { return Ok(()) };
            if let Some(role) = &now.decl.role {
                remove_role(cx, id, role.id()).await?;
            }
            cx.send_in(Service::Iam, "DeleteInstanceProfile", Operation::Delete, || {
                cx.iam().delete_instance_profile().instance_profile_name(id).send()
            })
            .await
            .map(drop)
        }
    }
}
