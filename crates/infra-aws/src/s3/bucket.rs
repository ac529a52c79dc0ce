use std::collections::BTreeMap;

use infra_core::{OnDelete, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use super::settings::{
    BucketEncryption, BucketLogging, LifecycleRule, ObjectOwnership, PublicAccessBlock, SseAlgorithm,
    bucket_name_problem, canonical_rules, validate_encryption, validate_lifecycle, validate_logging,
};
use crate::ids::{Arn, BucketName, DnsName};

/// An S3 bucket with its settings (`aws_s3_bucket` and the
/// `aws_s3_bucket_*` settings resources). Its ID is its name, unique
/// across all of AWS and checked against S3's naming rules before any
/// call; the name replaces it (create first), every setting and the tags
/// change in place. A bucket's policy is a [`super::BucketPolicy`] of its
/// own: it usually names principals that depend on the bucket.
///
/// Unset settings are AWS's defaults for a new bucket: SSE-S3 encryption,
/// all public access blocked, ACLs disabled (`BucketOwnerEnforced`), no
/// versioning, lifecycle rules or logging; a default declared explicitly
/// reads back unset. S3 cannot turn versioning off once on: `false`
/// suspends it, and a suspended bucket reads `false`.
///
/// **The objects are data.** Deleting or replacing a bucket that holds
/// objects (any version or delete marker: the `holds_objects` output, read
/// at every refresh) is refused until `on_delete` says what happens:
/// `Some(OnDelete::DeleteData)` empties the bucket (every version and
/// delete marker) before deleting it; a bucket has no snapshot, so
/// `OnDelete::FinalSnapshot` is refused. An empty bucket is deleted
/// without a decision.
///
/// Outputs: `bucket.id()` (`BucketName`), `bucket.arn()`,
/// `bucket.bucket_regional_domain_name()` (a CloudFront origin's domain),
/// `bucket.bucket_domain_name()`, `bucket.region()` and
/// `bucket.holds_objects()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::core::OnDelete;
/// use infra::aws::kms::KmsKey;
/// use infra::aws::s3::{Bucket, BucketEncryption, LifecycleRule};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let key = stack.add("key", KmsKey::default());
/// let assets = stack.add("assets", Bucket {
///     bucket: "prod-x7k2-static".into(),
///     versioning: true,
///     server_side_encryption: Some(BucketEncryption::kms(key.arn())),
///     lifecycle_rules: vec![LifecycleRule {
///         id: "old-versions".into(),
///         noncurrent_version_expiration_days: Some(30),
///         ..Default::default()
///     }],
///     on_delete: Some(OnDelete::DeleteData),
///     ..Default::default()
/// });
/// let _origin: Output<infra::aws::ids::DnsName> = assets.bucket_regional_domain_name();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:s3:Bucket",
    outputs(
        id: BucketName,
        arn: Arn,
        bucket_domain_name: DnsName,
        bucket_regional_domain_name: DnsName,
        region: String,
        holds_objects: bool
    ),
    readiness = "on_id",
    validate = validate_bucket,
    validate_type = crate::rules::unique,
    normalise = defaults_unset,
    keeps_data = "on_delete",
    keeps_data_when = "holds_objects"
)]
pub struct Bucket {
    /// The bucket's name: 3–63 lowercase letters, digits, dots and hyphens.
    #[resource(force_new)]
    pub bucket: String,
    /// Keep every version of every object (`Enabled`).
    pub versioning: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_encryption: Option<BucketEncryption>,
    /// Unset: all four blocks on (AWS's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<PublicAccessBlock>,
    /// Unset: `BucketOwnerEnforced` (AWS's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership_controls: Option<ObjectOwnership>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_rules: Vec<LifecycleRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<BucketLogging>,
    /// What deleting the bucket does with its objects (see above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_bucket(b: &Bucket, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &b.tags);
    if let Some(problem) = bucket_name_problem(&b.bucket) {
        ctx.error("bucket", problem);
    }
    if let Some(e) = &b.server_side_encryption {
        validate_encryption(e, ctx);
    }
    if let Some(l) = &b.logging {
        validate_logging(l, ctx);
    }
    validate_lifecycle(&b.lifecycle_rules, ctx);
    if let Some(OnDelete::FinalSnapshot(_)) = &b.on_delete {
        ctx.error(
            "on_delete",
            "a bucket has no snapshot: use OnDelete::DeleteData to delete its objects with it \
             (or leave it unset, and a bucket holding objects is never deleted)",
        );
    }
}

/// AWS's defaults for a new bucket, read back or declared, are unset.
fn defaults_unset(b: &mut Bucket) {
    if b.server_side_encryption.as_ref().is_some_and(|e| {
        e.sse_algorithm == SseAlgorithm::Aes256 && e.kms_master_key_id.is_none() && !e.bucket_key_enabled
    }) {
        b.server_side_encryption = None;
    }
    if b.public_access_block == Some(PublicAccessBlock::ALL) {
        b.public_access_block = None;
    }
    if b.ownership_controls == Some(ObjectOwnership::BucketOwnerEnforced) {
        b.ownership_controls = None;
    }
    canonical_rules(&mut b.lifecycle_rules);
}

#[cfg(feature = "s3")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    use infra_core::OnDelete;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::super::sdk;
    use super::super::settings::{ObjectOwnership, PublicAccessBlock};
    use super::{Bucket, BucketOut};
    use crate::ids::{Arn, BucketName, DnsName};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, settle, user_tags};

    /// `aws:s3:Bucket` through the S3 API.
    #[derive(Debug)]
    pub(crate) struct BucketKind;

    /// The partition's DNS suffix and name for `region`.
    fn partition(region: &str) -> (&'static str, &'static str) {
        if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        }
    }

    fn gone(e: &ProviderError) -> bool {
        e.kind == ErrorKind::NotFound
    }

    /// The bucket and every setting, each with its Get (S3 has no batched
    /// read: one HeadBucket and nine Gets per bucket, sent at once).
    /// `None` when it does not exist, or lives in another region.
    async fn read(cx: &Ctx, name: &str) -> Result<Option<Seen<BucketKind>>, ProviderError> {
        let call = cx.s3().head_bucket().bucket(name);
        let head = match cx.send_in(Service::S3, "HeadBucket", Operation::Read, || call.clone().send()).await
        {
            Ok(h) => h,
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if head.bucket_region().is_some_and(|r| r != cx.region) {
            return Ok(None);
        }
        let (versioning, encryption, block, ownership, rules, logging, tags, holds) = tokio::join!(
            sdk::versioning_enabled(cx, name),
            sdk::encryption_of(cx, name),
            sdk::public_access_block_of(cx, name),
            sdk::ownership_of(cx, name),
            sdk::lifecycle_of(cx, name),
            sdk::logging_of(cx, name),
            sdk::tags_of(cx, name),
            sdk::holds_objects(cx, name),
        );
        let seen = (|| -> Result<Seen<BucketKind>, ProviderError> {
            let tags = tags?;
            let decl = Bucket {
                bucket: name.to_owned(),
                versioning: versioning?,
                server_side_encryption: encryption?,
                public_access_block: Some(block?),
                ownership_controls: Some(ownership?),
                lifecycle_rules: rules?,
                logging: logging?,
                on_delete: None,
                tags: user_tags(&tags),
            };
            let (partition, dns) = partition(&cx.region);
            let out = BucketOut {
                id: BucketName::unchecked(name),
                arn: Arn::unchecked(format!("arn:{partition}:s3:::{name}")),
                bucket_domain_name: DnsName::unchecked(format!("{name}.s3.{dns}")),
                bucket_regional_domain_name: DnsName::unchecked(format!("{name}.s3.{}.{dns}", cx.region)),
                region: cx.region.clone(),
                holds_objects: holds?,
            };
            Ok(Seen::ready(name.to_owned(), decl, out, tags))
        })();
        match seen {
            Ok(s) => Ok(Some(s)),
            // Deleted while it was read.
            Err(e) if gone(&e) && e.code.as_deref() == Some("NoSuchBucket") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Each setting of `d` that `changed` names, in place.
    async fn apply(
        cx: &Ctx,
        name: &str,
        d: &Bucket,
        changed: impl Fn(&str) -> bool,
        op: Operation,
    ) -> Result<(), ProviderError> {
        if changed("ownership_controls") {
            let o = d.ownership_controls.unwrap_or(ObjectOwnership::BucketOwnerEnforced);
            settle(|| sdk::put_ownership(cx, name, o, op)).await?;
        }
        if changed("public_access_block") {
            let b = d.public_access_block.unwrap_or(PublicAccessBlock::ALL);
            settle(|| sdk::put_public_access_block(cx, name, b, op)).await?;
        }
        if changed("versioning") {
            settle(|| sdk::put_versioning(cx, name, d.versioning, op)).await?;
        }
        if changed("server_side_encryption") {
            settle(|| sdk::put_encryption(cx, name, d.server_side_encryption.as_ref(), op)).await?;
        }
        if changed("lifecycle_rules") {
            settle(|| sdk::put_lifecycle(cx, name, &d.lifecycle_rules, op)).await?;
        }
        if changed("logging") {
            settle(|| sdk::put_logging(cx, name, d.logging.as_ref(), op)).await?;
        }
        Ok(())
    }

    #[async_trait]
    impl Kind for BucketKind {
        type Decl = Bucket;
        type Out = BucketOut;
        const SERVICE: Service = Service::S3;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 5, 600);
        // Tags are put right after CreateBucket: a create whose tagging
        // was lost is found by its name, untagged.
        const ADOPT_UNTAGGED: bool = true;
        const WRITE_ONLY: &'static [&'static str] = &["on_delete"];

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Bucket>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let names: Vec<&str> = match by {
                Lookup::Ids(ids) => ids.iter().map(String::as_str).collect(),
                // S3 lists no buckets by tag: a lost create is found by name.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![d.bucket.as_str()],
            };
            let key = matches!(by, Lookup::Key(_));
            let mut out = Vec::new();
            for r in futures_util::future::join_all(names.into_iter().map(|n| read(cx, n))).await {
                match r {
                    Ok(seen) => out.extend(seen),
                    // Someone else's bucket of that name (403), or one in
                    // another region (301): not this provider's.
                    Err(e)
                        if key
                            && matches!(
                                e.code.as_deref(),
                                Some(
                                    "HTTP403"
                                        | "Forbidden"
                                        | "AccessDenied"
                                        | "HTTP301"
                                        | "PermanentRedirect"
                                )
                            ) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }

        async fn create(&self, cx: &Ctx, d: &Bucket, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let name = d.bucket.as_str();
            let mut call = cx.s3().create_bucket().bucket(name);
            if cx.region != "us-east-1" {
                call = call.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(cx.region.as_str()))
                        .build(),
                );
            }
            cx.send_in(Service::S3, "CreateBucket", Operation::Create, || call.clone().send()).await?;
            let op = Operation::Create;
            settle(|| sdk::put_tags(cx, name, tags, op)).await?;
            // Ownership and the block always: AWS sets its defaults on a
            // new bucket, emulators may not.
            let set = |f: &str| match f {
                "ownership_controls" | "public_access_block" => true,
                "versioning" => d.versioning,
                "server_side_encryption" => d.server_side_encryption.is_some(),
                "lifecycle_rules" => !d.lifecycle_rules.is_empty(),
                "logging" => d.logging.is_some(),
                _ => false,
            };
            apply(cx, name, d, set, op).await?;
            Ok(name.to_owned())
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, Bucket>) -> Result<(), ProviderError> {
            // `on_delete` is infra's own: no call.
            apply(cx, id, c.after, |f| c.fields.iter().any(|x| x == f), Operation::Update).await
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let mut tags = sdk::tags_of(cx, id).await?;
            for k in remove {
                tags.remove(*k);
            }
            for (k, v) in add {
                tags.insert((*k).clone(), (*v).clone());
            }
            sdk::put_tags(cx, id, &tags, Operation::Update).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &Bucket) -> Result<(), ProviderError> {
            let delete_data = match &d.on_delete {
                Some(OnDelete::FinalSnapshot(_)) => {
                    return Err(sdk::invalid(
                        "on_delete",
                        "a bucket has no snapshot; use OnDelete::DeleteData",
                    ));
                }
                Some(OnDelete::DeleteData) => true,
                None => false,
            };
            // Objects written while it is emptied make the delete fail:
            // empty it again, a few times.
            let mut attempt = 0;
            loop {
                if delete_data {
                    sdk::empty(cx, id).await?;
                }
                let call = cx.s3().delete_bucket().bucket(id);
                match cx.send_in(Service::S3, "DeleteBucket", Operation::Delete, || call.clone().send()).await
                {
                    Err(e) if delete_data && attempt < 3 && e.code.as_deref() == Some("BucketNotEmpty") => {
                        attempt += 1;
                    }
                    other => return other.map(drop),
                }
            }
        }
    }
}
