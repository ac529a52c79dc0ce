use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, KmsKeyArn, RepositoryUrl};

/// How a repository's images are encrypted at rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EcrEncryption {
    /// `AES256` (the default, recorded as unset) or `KMS`.
    pub encryption_type: String,
    /// The key for `KMS` (required here: AWS's own `aws/ecr` key would
    /// read back as a key the declaration does not name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<Input<KmsKeyArn>>,
}

/// An ECR repository (`aws_ecr_repository`). Its ID is its name, unique
/// per region; the name and the encryption replace it (destroy first), tag
/// mutability, scan-on-push and tags change in place. `force_delete` lets a
/// delete remove a repository that still holds images (used at delete
/// only; AWS cannot report it).
///
/// Outputs: `repo.arn()`, `repo.repository_url()` (`RepositoryUrl`, for a
/// task's image: `interpolate!(repo.repository_url(), ":latest")`) and
/// `repo.registry_id()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ecr::EcrRepository;
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let repo = stack.add("app", EcrRepository {
///     name: "prod/app".into(),
///     image_tag_mutability: Some("IMMUTABLE".into()),
///     scan_on_push: true,
///     ..Default::default()
/// });
/// let _url: Output<infra::aws::ids::RepositoryUrl> = repo.repository_url();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ecr:Repository",
    outputs(arn: Arn, repository_url: RepositoryUrl, registry_id: String),
    readiness = "on_id",
    replace = "delete_before_create",
    validate = validate_repository,
    validate_type = crate::rules::unique,
    normalise = defaults_unset
)]
pub struct EcrRepository {
    /// 2 to 256 lowercase characters: `team/app`, `app-web`.
    #[resource(force_new)]
    pub name: String,
    /// `MUTABLE` (the default, recorded as unset) or `IMMUTABLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability: Option<String>,
    pub scan_on_push: bool,
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EcrEncryption>,
    /// Delete the repository with its images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_delete: Option<Input<bool>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// `a/b-c.d_e`: lowercase components separated by `/`, each of letters and
/// digits joined by single `.`, `_` or `-`.
fn valid_name(n: &str) -> bool {
    (2..=256).contains(&n.len())
        && n.split('/').all(|part| {
            let bytes = part.as_bytes();
            !part.is_empty()
                && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
                && bytes.first().is_some_and(|b| b.is_ascii_alphanumeric())
                && bytes.last().is_some_and(|b| b.is_ascii_alphanumeric())
                && !bytes.windows(2).any(|w| b"._-".contains(&w[0]) && b"._-".contains(&w[1]))
        })
}

fn validate_repository(r: &EcrRepository, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &r.tags);
    if !valid_name(&r.name) {
        ctx.error(
            "name",
            format!("{:?}: 2 to 256 lowercase letters and digits, joined by single . _ - and /", r.name),
        );
    }
    if let Some(m) = &r.image_tag_mutability
        && m != "MUTABLE"
        && m != "IMMUTABLE"
    {
        ctx.error("image_tag_mutability", format!("{m:?} must be MUTABLE or IMMUTABLE"));
    }
    if let Some(e) = &r.encryption_configuration {
        match (e.encryption_type.as_str(), &e.kms_key) {
            ("AES256", None) | ("KMS", Some(_)) => {}
            ("AES256", Some(_)) => {
                ctx.error("encryption_configuration.kms_key", "a key goes with encryption_type KMS only")
            }
            ("KMS", None) => ctx.error("encryption_configuration.kms_key", "KMS encryption needs its key"),
            (t, _) => {
                ctx.error("encryption_configuration.encryption_type", format!("{t:?} must be AES256 or KMS"))
            }
        }
    }
}

fn defaults_unset(r: &mut EcrRepository) {
    if r.image_tag_mutability.as_deref() == Some("MUTABLE") {
        r.image_tag_mutability = None;
    }
    if r.encryption_configuration
        .as_ref()
        .is_some_and(|e| e.encryption_type == "AES256" && e.kms_key.is_none())
    {
        r.encryption_configuration = None;
    }
}

#[cfg(feature = "ecr")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_ecr::types::{
        EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Repository,
        Tag,
    };
    use infra_core::{Input, Value};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{EcrEncryption, EcrRepository, EcrRepositoryOut};
    use crate::ids::{Arn, KmsKeyArn, RepositoryUrl};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:ecr:Repository` through the ECR API.
    #[derive(Debug)]
    pub(crate) struct EcrRepositoryKind;

    fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
    }

    fn ecr_tags<'a>(
        tags: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Vec<Tag>, ProviderError> {
        tags.into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| invalid("tags", e)))
            .collect()
    }

    async fn describe(cx: &Ctx, names: &[String]) -> Result<Vec<Repository>, ProviderError> {
        cx.paged(|next| {
            let call = cx
                .ecr()
                .describe_repositories()
                .set_repository_names(Some(names.to_vec()))
                .set_next_token(next);
            async move {
                let out = cx
                    .send_in(Service::Ecr, "DescribeRepositories", Operation::Read, || call.clone().send())
                    .await?;
                Ok((out.repositories.unwrap_or_default(), out.next_token))
            }
        })
        .await
    }

    /// The repositories named `names`, 100 per call; a call fails whole when
    /// one name is missing, so then each name is read alone.
    async fn named(cx: &Ctx, names: &[String]) -> Result<Vec<Repository>, ProviderError> {
        let mut out = Vec::new();
        for chunk in names.chunks(100) {
            match describe(cx, chunk).await {
                Ok(found) => out.extend(found),
                Err(e) if e.kind == ErrorKind::NotFound && chunk.len() > 1 => {
                    let each = chunk.iter().map(|n| describe(cx, std::slice::from_ref(n)));
                    for r in futures_util::future::join_all(each).await {
                        match r {
                            Ok(found) => out.extend(found),
                            Err(e) if e.kind == ErrorKind::NotFound => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn seen(cx: &Ctx, r: Repository) -> Result<Seen<EcrRepositoryKind>, ProviderError> {
        let name = r.repository_name().ok_or_else(|| missing("repository name"))?.to_owned();
        let arn = r.repository_arn().unwrap_or_default().to_owned();
        let call = cx.ecr().list_tags_for_resource().resource_arn(&arn);
        let out =
            cx.send_in(Service::Ecr, "ListTagsForResource", Operation::Read, || call.clone().send()).await?;
        let tags: Tags = out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        let decl = EcrRepository {
            name: name.clone(),
            image_tag_mutability: r.image_tag_mutability().map(|m| m.as_str().to_owned()),
            scan_on_push: r.image_scanning_configuration().is_some_and(|s| s.scan_on_push()),
            encryption_configuration: r.encryption_configuration().map(|e| EcrEncryption {
                encryption_type: e.encryption_type().as_str().to_owned(),
                kms_key: e.kms_key().map(|k| Input::Value(KmsKeyArn::unchecked(k))),
            }),
            force_delete: Some(Input::Expr(Value::Unknown)),
            tags: user_tags(&tags),
        };
        let out = EcrRepositoryOut {
            arn: Arn::unchecked(arn),
            repository_url: RepositoryUrl::unchecked(r.repository_uri().unwrap_or_default()),
            registry_id: r.registry_id().unwrap_or_default().to_owned(),
        };
        Ok(Seen::ready(name, decl, out, tags))
    }

    async fn arn_of(cx: &Ctx, name: &str) -> Result<String, ProviderError> {
        let found = named(cx, &[name.to_owned()]).await?;
        found.first().and_then(|r| r.repository_arn()).map(str::to_owned).ok_or_else(|| missing("repository"))
    }

    #[async_trait]
    impl Kind for EcrRepositoryKind {
        type Decl = EcrRepository;
        type Out = EcrRepositoryOut;
        const SERVICE: Service = Service::Ecr;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 120);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, EcrRepository>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let repos = match by {
                Lookup::Ids(names) if !names.is_empty() => named(cx, names).await?,
                // ECR lists no tags: a lost create is found by its name.
                Lookup::Ids(_) | Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => named(cx, std::slice::from_ref(&d.name)).await?,
            };
            let mut out = Vec::new();
            for s in futures_util::future::join_all(repos.into_iter().map(|r| seen(cx, r))).await {
                out.push(s?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &EcrRepository,
            tags: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let encryption = d
                .encryption_configuration
                .as_ref()
                .map(|e| {
                    EncryptionConfiguration::builder()
                        .encryption_type(EncryptionType::from(e.encryption_type.as_str()))
                        .set_kms_key(e.kms_key.as_ref().map(|k| k.id().to_owned()))
                        .build()
                        .map_err(|e| invalid("encryption_configuration", e))
                })
                .transpose()?;
            let call = cx
                .ecr()
                .create_repository()
                .repository_name(&d.name)
                .set_image_tag_mutability(d.image_tag_mutability.as_deref().map(ImageTagMutability::from))
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder().scan_on_push(d.scan_on_push).build(),
                )
                .set_encryption_configuration(encryption)
                .set_tags(Some(ecr_tags(tags)?));
            cx.send_in(Service::Ecr, "CreateRepository", Operation::Create, || call.clone().send()).await?;
            Ok(d.name.clone())
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, EcrRepository>,
        ) -> Result<(), ProviderError> {
            let (ecr, d) = (cx.ecr(), c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            if changed("image_tag_mutability") {
                let m = ImageTagMutability::from(d.image_tag_mutability.as_deref().unwrap_or("MUTABLE"));
                let call = ecr.put_image_tag_mutability().repository_name(id).image_tag_mutability(m);
                settle(|| {
                    cx.send_in(Service::Ecr, "PutImageTagMutability", Operation::Update, || {
                        call.clone().send()
                    })
                })
                .await?;
            }
            if changed("scan_on_push") {
                let scan = ImageScanningConfiguration::builder().scan_on_push(d.scan_on_push).build();
                let call = ecr
                    .put_image_scanning_configuration()
                    .repository_name(id)
                    .image_scanning_configuration(scan);
                let name = "PutImageScanningConfiguration";
                settle(|| cx.send_in(Service::Ecr, name, Operation::Update, || call.clone().send())).await?;
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
            let arn = arn_of(cx, id).await?;
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = cx.ecr().untag_resource().resource_arn(&arn).set_tag_keys(Some(keys));
                cx.send_in(Service::Ecr, "UntagResource", Operation::Update, || call.clone().send()).await?;
            }
            if !add.is_empty() {
                let call =
                    cx.ecr().tag_resource().resource_arn(&arn).set_tags(Some(ecr_tags(add.iter().copied())?));
                cx.send_in(Service::Ecr, "TagResource", Operation::Update, || call.clone().send()).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &EcrRepository) -> Result<(), ProviderError> {
            let force = d.force_delete.as_ref().and_then(|f| f.value().copied()).unwrap_or(false);
            let call = cx.ecr().delete_repository().repository_name(id).force(force);
            cx.send_in(Service::Ecr, "DeleteRepository", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
