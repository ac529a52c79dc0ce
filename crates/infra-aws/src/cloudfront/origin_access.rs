use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{OriginAccessControlId, OriginAccessIdentityId};

/// What an origin access control signs requests for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OacOriginType {
    /// An S3 bucket (`s3`).
    #[default]
    #[serde(rename = "s3")]
    S3,
    /// A MediaStore container (`mediastore`).
    #[serde(rename = "mediastore")]
    MediaStore,
    /// A Lambda function URL (`lambda`).
    #[serde(rename = "lambda")]
    Lambda,
    /// A MediaPackage v2 endpoint (`mediapackagev2`).
    #[serde(rename = "mediapackagev2")]
    MediaPackageV2,
}

/// Which viewer requests CloudFront signs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningBehavior {
    /// Every request (`always`; AWS's recommendation).
    #[default]
    #[serde(rename = "always")]
    Always,
    /// None (`never`).
    #[serde(rename = "never")]
    Never,
    /// Those without a viewer `Authorization` header (`no-override`).
    #[serde(rename = "no-override")]
    NoOverride,
}

/// How requests are signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningProtocol {
    /// AWS Signature Version 4 (`sigv4`, the only one).
    #[default]
    #[serde(rename = "sigv4")]
    Sigv4,
}

impl OacOriginType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OacOriginType::S3 => "s3",
            OacOriginType::MediaStore => "mediastore",
            OacOriginType::Lambda => "lambda",
            OacOriginType::MediaPackageV2 => "mediapackagev2",
        }
    }
}

impl SigningBehavior {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningBehavior::Always => "always",
            SigningBehavior::Never => "never",
            SigningBehavior::NoOverride => "no-override",
        }
    }
}

/// A CloudFront origin access control (`aws_cloudfront_origin_access_control`):
/// lets a distribution sign its requests to a private S3 bucket (or a
/// MediaStore container, a Lambda function URL), the successor of origin
/// access identities. Every field changes in place
/// (`UpdateOriginAccessControl` takes the whole configuration, with the
/// current ETag): nothing forces a replacement. Its name is unique in the
/// account: a create answered `OriginAccessControlAlreadyExists` (one
/// whose first answer was lost) adopts the control of that name. It
/// carries no tags. Ready at once.
///
/// Outputs: `oac.id()` (`OriginAccessControlId`, for a distribution's
/// origin).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudfront::{OriginAccessControl, SigningBehavior};
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let oac = stack.add("static-oac", OriginAccessControl {
///     name: "prod-static".into(),
///     description: Some("static assets bucket".into()),
///     signing_behavior: SigningBehavior::Always,
///     ..Default::default()
/// });
/// let _id: Output<infra::aws::ids::OriginAccessControlId> = oac.id();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudfront:OriginAccessControl",
    outputs(id: OriginAccessControlId),
    readiness = "on_id",
    validate = validate_oac,
    validate_type = super::etag::unique_names,
    normalise = oac_defaults_unset
)]
pub struct OriginAccessControl {
    /// 1 to 64 characters, unique in the account.
    pub name: String,
    /// At most 256 characters (empty is recorded as unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub origin_access_control_origin_type: OacOriginType,
    pub signing_behavior: SigningBehavior,
    pub signing_protocol: SigningProtocol,
}

fn validate_oac(o: &OriginAccessControl, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if o.name.is_empty() || o.name.chars().count() > 64 {
        ctx.error("name", format!("{:?} must be 1 to 64 characters", o.name));
    }
    if let Some(d) = &o.description
        && d.chars().count() > 256
    {
        ctx.error("description", format!("{} characters: at most 256", d.chars().count()));
    }
}

fn oac_defaults_unset(o: &mut OriginAccessControl) {
    if o.description.as_deref() == Some("") {
        o.description = None;
    }
}

/// A CloudFront origin access identity (`aws_cloudfront_origin_access_identity`):
/// the legacy way a distribution reads a private S3 bucket (prefer an
/// [`OriginAccessControl`] for new buckets). Its comment changes in place;
/// nothing forces a replacement. The create's idempotency token is its
/// `CallerReference`, so a create whose answer was lost is found again by
/// that reference. It carries no tags. Ready at once.
///
/// Outputs: `oai.id()` (`OriginAccessIdentityId`), `oai.iam_arn()` (the
/// principal for the bucket policy:
/// `arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity <id>`),
/// `oai.cloudfront_access_identity_path()`
/// (`origin-access-identity/cloudfront/<id>`, for a distribution's S3
/// origin) and `oai.s3_canonical_user_id()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::cloudfront::OriginAccessIdentity;
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let oai = stack.add("main", OriginAccessIdentity { comment: "OAI for prod static assets".into() });
/// let _principal: Output<String> = oai.iam_arn();
/// let _path: Output<String> = oai.cloudfront_access_identity_path();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:cloudfront:OriginAccessIdentity",
    outputs(
        id: OriginAccessIdentityId,
        iam_arn: String,
        cloudfront_access_identity_path: String,
        s3_canonical_user_id: String
    ),
    readiness = "on_id",
    validate = validate_oai
)]
pub struct OriginAccessIdentity {
    /// At most 128 characters.
    pub comment: String,
}

fn validate_oai(o: &OriginAccessIdentity, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if o.comment.chars().count() > 128 {
        ctx.error("comment", format!("{} characters: at most 128", o.comment.chars().count()));
    }
}

#[cfg(feature = "cloudfront")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_cloudfront::types::{
        CloudFrontOriginAccessIdentityConfig, OriginAccessControlConfig, OriginAccessControlOriginTypes,
        OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols, OriginAccessControlSummary,
    };
    use infra_engine::provider::TAG_TOKEN;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{
        OacOriginType, OriginAccessControl, OriginAccessControlOut, OriginAccessIdentity,
        OriginAccessIdentityOut, SigningBehavior, SigningProtocol,
    };
    use crate::cloudfront::etag::{delete_with_etag, etag, with_current_etag};
    use crate::ids::{OriginAccessControlId, OriginAccessIdentityId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing};

    const CF: Service = Service::CloudFront;

    fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
    }

    /// `aws:cloudfront:OriginAccessControl` through the CloudFront API.
    #[derive(Debug)]
    pub(crate) struct OriginAccessControlKind;

    fn oac_config(d: &OriginAccessControl) -> Result<OriginAccessControlConfig, ProviderError> {
        OriginAccessControlConfig::builder()
            .name(&d.name)
            .description(d.description.clone().unwrap_or_default())
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::from(
                d.origin_access_control_origin_type.as_str(),
            ))
            .signing_behavior(OriginAccessControlSigningBehaviors::from(d.signing_behavior.as_str()))
            .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
            .build()
            .map_err(|e| invalid("origin access control", e))
    }

    fn oac_seen(s: OriginAccessControlSummary) -> Seen<OriginAccessControlKind> {
        let origin_type = match s.origin_access_control_origin_type.as_str() {
            "mediastore" => OacOriginType::MediaStore,
            "lambda" => OacOriginType::Lambda,
            "mediapackagev2" => OacOriginType::MediaPackageV2,
            _ => OacOriginType::S3,
        };
        let signing = match s.signing_behavior.as_str() {
            "never" => SigningBehavior::Never,
            "no-override" => SigningBehavior::NoOverride,
            _ => SigningBehavior::Always,
        };
        let decl = OriginAccessControl {
            name: s.name,
            description: Some(s.description),
            origin_access_control_origin_type: origin_type,
            signing_behavior: signing,
            signing_protocol: SigningProtocol::Sigv4,
        };
        let out = OriginAccessControlOut { id: OriginAccessControlId::unchecked(&s.id) };
        Seen::ready(s.id, decl, out, Tags::new())
    }

    /// Every origin access control of the account: one listing serves any
    /// number of IDs (CloudFront has no batched get).
    async fn all_oacs(cx: &Ctx) -> Result<Vec<OriginAccessControlSummary>, ProviderError> {
        cx.paged(|next| {
            let call = cx.cloudfront().list_origin_access_controls().set_marker(next);
            async move {
                let out = cx
                    .send_in(CF, "ListOriginAccessControls", Operation::Read, || call.clone().send())
                    .await?;
                Ok(match out.origin_access_control_list {
                    Some(l) => (l.items.unwrap_or_default(), l.next_marker.filter(|_| l.is_truncated)),
                    None => (Vec::new(), None),
                })
            }
        })
        .await
    }

    /// The current ETag (`GetOriginAccessControl` answers it as the
    /// `…Config` call does; the emulator has only the former).
    async fn oac_etag(cx: &Ctx, id: &str) -> Result<String, ProviderError> {
        let call = cx.cloudfront().get_origin_access_control().id(id);
        let out = cx.send_in(CF, "GetOriginAccessControl", Operation::Read, || call.clone().send()).await?;
        etag(out.e_tag())
    }

    #[async_trait]
    impl Kind for OriginAccessControlKind {
        type Decl = OriginAccessControl;
        type Out = OriginAccessControlOut;
        const SERVICE: Service = CF;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, OriginAccessControl>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let keep: Box<dyn Fn(&OriginAccessControlSummary) -> bool + Send + Sync> = match by {
                Lookup::Ids(ids) if !ids.is_empty() => {
                    let ids = ids.to_vec();
                    Box::new(move |s| ids.contains(&s.id))
                }
                Lookup::Key(d) => {
                    let name = d.name.clone();
                    Box::new(move |s| s.name == name)
                }
                Lookup::Ids(_) | Lookup::Tag(..) => return Ok(Vec::new()),
            };
            Ok(all_oacs(cx).await?.into_iter().filter(|s| keep(s)).map(oac_seen).collect())
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &OriginAccessControl,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            let call =
                cx.cloudfront().create_origin_access_control().origin_access_control_config(oac_config(d)?);
            let out = cx
                .send_in(CF, "CreateOriginAccessControl", Operation::Create, || call.clone().send())
                .await?;
            out.origin_access_control.map(|o| o.id).ok_or_else(|| missing("origin access control"))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, OriginAccessControl>,
        ) -> Result<(), ProviderError> {
            let config = oac_config(c.after)?;
            with_current_etag(
                || oac_etag(cx, id),
                |tag| {
                    let call = cx
                        .cloudfront()
                        .update_origin_access_control()
                        .id(id)
                        .if_match(tag)
                        .origin_access_control_config(config.clone());
                    async move {
                        cx.send_in(CF, "UpdateOriginAccessControl", Operation::Update, || call.clone().send())
                            .await
                    }
                },
            )
            .await
            .map(drop)
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &OriginAccessControl) -> Result<(), ProviderError> {
            delete_with_etag(
                || oac_etag(cx, id),
                |tag| {
                    let call = cx.cloudfront().delete_origin_access_control().id(id).if_match(tag);
                    async move {
                        cx.send_in(CF, "DeleteOriginAccessControl", Operation::Delete, || call.clone().send())
                            .await
                    }
                },
            )
            .await
        }
    }

    /// `aws:cloudfront:OriginAccessIdentity` through the CloudFront API.
    #[derive(Debug)]
    pub(crate) struct OriginAccessIdentityKind;

    /// `aws`, `aws-cn` or `aws-us-gov`, from the instance's region.
    fn partition(region: &str) -> &'static str {
        if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    fn oai_seen(
        cx: &Ctx,
        id: String,
        canonical: String,
        comment: String,
        tags: Tags,
    ) -> Seen<OriginAccessIdentityKind> {
        let out = OriginAccessIdentityOut {
            id: OriginAccessIdentityId::unchecked(&id),
            iam_arn: format!(
                "arn:{}:iam::cloudfront:user/CloudFront Origin Access Identity {id}",
                partition(&cx.region)
            ),
            cloudfront_access_identity_path: format!("origin-access-identity/cloudfront/{id}"),
            s3_canonical_user_id: canonical,
        };
        Seen::ready(id, OriginAccessIdentity { comment }, out, tags)
    }

    /// Every origin access identity of the account (at most 100 by AWS's
    /// quota): one listing serves any number of IDs.
    async fn all_oais(cx: &Ctx) -> Result<Vec<Seen<OriginAccessIdentityKind>>, ProviderError> {
        let found = cx
            .paged(|next| {
                let call = cx.cloudfront().list_cloud_front_origin_access_identities().set_marker(next);
                async move {
                    let out = cx
                        .send_in(CF, "ListCloudFrontOriginAccessIdentities", Operation::Read, || {
                            call.clone().send()
                        })
                        .await?;
                    Ok(match out.cloud_front_origin_access_identity_list {
                        Some(l) => (l.items.unwrap_or_default(), l.next_marker.filter(|_| l.is_truncated)),
                        None => (Vec::new(), None),
                    })
                }
            })
            .await?;
        Ok(found
            .into_iter()
            .map(|s| oai_seen(cx, s.id, s.s3_canonical_user_id, s.comment, Tags::new()))
            .collect())
    }

    /// The configuration (with its `CallerReference`) and ETag of one.
    async fn oai_config(
        cx: &Ctx,
        id: &str,
    ) -> Result<(CloudFrontOriginAccessIdentityConfig, String), ProviderError> {
        let call = cx.cloudfront().get_cloud_front_origin_access_identity_config().id(id);
        let out = cx
            .send_in(CF, "GetCloudFrontOriginAccessIdentityConfig", Operation::Read, || call.clone().send())
            .await?;
        let tag = etag(out.e_tag())?;
        let config =
            out.cloud_front_origin_access_identity_config.ok_or_else(|| missing("identity configuration"))?;
        Ok((config, tag))
    }

    #[async_trait]
    impl Kind for OriginAccessIdentityKind {
        type Decl = OriginAccessIdentity;
        type Out = OriginAccessIdentityOut;
        const SERVICE: Service = CF;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, OriginAccessIdentity>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) if !ids.is_empty() => {
                    Ok(all_oais(cx).await?.into_iter().filter(|s| ids.contains(&s.id)).collect())
                }
                // A create whose answer was lost: its token is the
                // identity's CallerReference, which only the configuration
                // shows (one read per identity, at most 100).
                Lookup::Tag(key, token) if key == TAG_TOKEN => {
                    let mut out = Vec::new();
                    for s in all_oais(cx).await? {
                        match oai_config(cx, &s.id).await {
                            Ok((config, _)) if config.caller_reference == token => {
                                let tags = Tags::from([(TAG_TOKEN.to_owned(), token.to_owned())]);
                                out.push(Seen { tags, ..s });
                            }
                            Ok(_) => {}
                            Err(e) if e.kind == ErrorKind::NotFound => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(out)
                }
                // Comments are not unique: no natural key.
                Lookup::Ids(_) | Lookup::Tag(..) | Lookup::Key(_) => Ok(Vec::new()),
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &OriginAccessIdentity,
            _: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let config = CloudFrontOriginAccessIdentityConfig::builder()
                .caller_reference(token)
                .comment(&d.comment)
                .build()
                .map_err(|e| invalid("origin access identity", e))?;
            let call = cx
                .cloudfront()
                .create_cloud_front_origin_access_identity()
                .cloud_front_origin_access_identity_config(config);
            let out = cx
                .send_in(CF, "CreateCloudFrontOriginAccessIdentity", Operation::Create, || {
                    call.clone().send()
                })
                .await?;
            out.cloud_front_origin_access_identity
                .map(|o| o.id)
                .ok_or_else(|| missing("origin access identity"))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: Change<'_, OriginAccessIdentity>,
        ) -> Result<(), ProviderError> {
            let comment = c.after.comment.clone();
            // The update restates the identity's CallerReference, read with
            // the ETag.
            with_current_etag(
                || oai_config(cx, id),
                |(mut config, tag): (CloudFrontOriginAccessIdentityConfig, String)| {
                    config.comment.clone_from(&comment);
                    let call = cx
                        .cloudfront()
                        .update_cloud_front_origin_access_identity()
                        .id(id)
                        .if_match(tag)
                        .cloud_front_origin_access_identity_config(config);
                    async move {
                        let name = "UpdateCloudFrontOriginAccessIdentity";
                        cx.send_in(CF, name, Operation::Update, || call.clone().send()).await
                    }
                },
            )
            .await
            .map(drop)
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &OriginAccessIdentity) -> Result<(), ProviderError> {
            delete_with_etag(
                || async { oai_config(cx, id).await.map(|(_, tag)| tag) },
                |tag| {
                    let call =
                        cx.cloudfront().delete_cloud_front_origin_access_identity().id(id).if_match(tag);
                    async move {
                        cx.send_in(CF, "DeleteCloudFrontOriginAccessIdentity", Operation::Delete, || {
                            call.clone().send()
                        })
                        .await
                    }
                },
            )
            .await
        }
    }
}
