//! What S3's types share: calls, tags, each setting to and from the SDK's
//! shapes, the object check and the emptying of a bucket.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLoggingStatus,
    BucketVersioningStatus, Delete, ExpirationStatus, LifecycleExpiration, LifecycleRuleAndOperator,
    LifecycleRuleFilter, LoggingEnabled, NoncurrentVersionExpiration, NoncurrentVersionTransition,
    ObjectIdentifier, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, Transition, TransitionStorageClass,
};
use aws_smithy_runtime_api::client::result::SdkError;
use infra_core::Input;
use infra_engine::{ErrorKind, Operation, ProviderError};

use super::settings::{
    BucketEncryption, BucketLogging, LifecycleFilter, LifecycleRule, LifecycleTransition, ObjectOwnership,
    PublicAccessBlock, RuleStatus, SseAlgorithm, StorageClass,
};
use crate::ids::{BucketName, KmsKeyArn};
use crate::kit::{Ctx, Service, Tags};

pub(crate) fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
}

/// A setting's Get: `None` when S3 answers that the bucket has none (a
/// 404 other than `NoSuchBucket`, which is the bucket gone).
pub(crate) fn unset_ok<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::NotFound && e.code.as_deref() != Some("NoSuchBucket") => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn s3_tags<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| invalid("tags", e)))
        .collect()
}

/// The bucket's tags (none: S3 answers `NoSuchTagSet`).
pub(crate) async fn tags_of(cx: &Ctx, bucket: &str) -> Result<Tags, ProviderError> {
    let call = cx.s3().get_bucket_tagging().bucket(bucket);
    let out =
        unset_ok(cx.send_in(Service::S3, "GetBucketTagging", Operation::Read, || call.clone().send()).await)?;
    Ok(out
        .map(|o| o.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
        .unwrap_or_default())
}

/// Makes the bucket's tag set `tags` (S3 replaces the whole set).
pub(crate) async fn put_tags(
    cx: &Ctx,
    bucket: &str,
    tags: &Tags,
    op: Operation,
) -> Result<(), ProviderError> {
    if tags.is_empty() {
        let call = cx.s3().delete_bucket_tagging().bucket(bucket);
        return cx.send_in(Service::S3, "DeleteBucketTagging", op, || call.clone().send()).await.map(drop);
    }
    let tagging =
        Tagging::builder().set_tag_set(Some(s3_tags(tags)?)).build().map_err(|e| invalid("tags", e))?;
    let call = cx.s3().put_bucket_tagging().bucket(bucket).tagging(tagging);
    cx.send_in(Service::S3, "PutBucketTagging", op, || call.clone().send()).await.map(drop)
}

// ----- versioning ------------------------------------------------------------

/// True when versioning is `Enabled` (unversioned and `Suspended` read
/// false).
///
/// moto 5.2.5 names the answer's root element `GetBucketVersioningResponse`
/// where S3 says `VersioningConfiguration`, which the SDK refuses as an
/// unhandled error of a 200 answer; that answer's body is read here
/// instead. S3's own answers never take this path.
pub(crate) async fn versioning_enabled(cx: &Ctx, bucket: &str) -> Result<bool, ProviderError> {
    let call = cx.s3().get_bucket_versioning().bucket(bucket);
    let status = cx
        .send_in(Service::S3, "GetBucketVersioning", Operation::Read, || {
            let call = call.clone();
            async move {
                match call.send().await {
                    Ok(out) => Ok(out.status().map(|s| s.as_str().to_owned())),
                    Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 200 => {
                        let body = se.raw().body().bytes().map(|b| String::from_utf8_lossy(b).into_owned());
                        match body.filter(|b| b.contains("GetBucketVersioningResponse")) {
                            Some(b) => Ok(between(&b, "<Status>", "</Status>")),
                            None => Err(SdkError::ServiceError(se)),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
        })
        .await?;
    Ok(status.as_deref() == Some("Enabled"))
}

fn between(text: &str, open: &str, close: &str) -> Option<String> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(text[start..start + len].to_owned())
}

pub(crate) async fn put_versioning(
    cx: &Ctx,
    bucket: &str,
    enabled: bool,
    op: Operation,
) -> Result<(), ProviderError> {
    let status = if enabled { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
    let conf = aws_sdk_s3::types::VersioningConfiguration::builder().status(status).build();
    let call = cx.s3().put_bucket_versioning().bucket(bucket).versioning_configuration(conf);
    cx.send_in(Service::S3, "PutBucketVersioning", op, || call.clone().send()).await.map(drop)
}

// ----- default encryption ----------------------------------------------------

pub(crate) async fn encryption_of(cx: &Ctx, bucket: &str) -> Result<Option<BucketEncryption>, ProviderError> {
    let call = cx.s3().get_bucket_encryption().bucket(bucket);
    let Some(out) = unset_ok(
        cx.send_in(Service::S3, "GetBucketEncryption", Operation::Read, || call.clone().send()).await,
    )?
    else {
        return Ok(None);
    };
    let rule = out.server_side_encryption_configuration().and_then(|c| c.rules().first());
    let Some(by_default) = rule.and_then(|r| r.apply_server_side_encryption_by_default()) else {
        return Ok(None);
    };
    let sse_algorithm = match by_default.sse_algorithm() {
        ServerSideEncryption::AwsKms => SseAlgorithm::AwsKms,
        ServerSideEncryption::AwsKmsDsse => SseAlgorithm::AwsKmsDsse,
        _ => SseAlgorithm::Aes256,
    };
    Ok(Some(BucketEncryption {
        sse_algorithm,
        kms_master_key_id: by_default.kms_master_key_id().map(|k| Input::Value(KmsKeyArn::unchecked(k))),
        bucket_key_enabled: rule.and_then(|r| r.bucket_key_enabled()).unwrap_or(false),
    }))
}

/// Puts the default encryption, or (unset) goes back to S3's default.
pub(crate) async fn put_encryption(
    cx: &Ctx,
    bucket: &str,
    e: Option<&BucketEncryption>,
    op: Operation,
) -> Result<(), ProviderError> {
    let Some(e) = e else {
        let call = cx.s3().delete_bucket_encryption().bucket(bucket);
        return unset_ok(cx.send_in(Service::S3, "DeleteBucketEncryption", op, || call.clone().send()).await)
            .map(drop);
    };
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(e.sse_algorithm.as_str()))
        .set_kms_master_key_id(e.kms_master_key_id.as_ref().map(|k| k.id().to_owned()))
        .build()
        .map_err(|e| invalid("server_side_encryption", e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default)
        .bucket_key_enabled(e.bucket_key_enabled)
        .build();
    let conf = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| invalid("server_side_encryption", e))?;
    let call = cx.s3().put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(conf);
    cx.send_in(Service::S3, "PutBucketEncryption", op, || call.clone().send()).await.map(drop)
}

// ----- public access block and ownership -------------------------------------

/// The bucket's block; none configured reads as all four off.
pub(crate) async fn public_access_block_of(
    cx: &Ctx,
    bucket: &str,
) -> Result<PublicAccessBlock, ProviderError> {
    let call = cx.s3().get_public_access_block().bucket(bucket);
    let out = unset_ok(
        cx.send_in(Service::S3, "GetPublicAccessBlock", Operation::Read, || call.clone().send()).await,
    )?;
    let Some(c) = out.as_ref().and_then(|o| o.public_access_block_configuration()) else {
        return Ok(PublicAccessBlock::default());
    };
    Ok(PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    })
}

/// Puts the block (all four off: deletes it).
pub(crate) async fn put_public_access_block(
    cx: &Ctx,
    bucket: &str,
    b: PublicAccessBlock,
    op: Operation,
) -> Result<(), ProviderError> {
    if b == PublicAccessBlock::default() {
        let call = cx.s3().delete_public_access_block().bucket(bucket);
        return unset_ok(
            cx.send_in(Service::S3, "DeletePublicAccessBlock", op, || call.clone().send()).await,
        )
        .map(drop);
    }
    let conf = PublicAccessBlockConfiguration::builder()
        .block_public_acls(b.block_public_acls)
        .block_public_policy(b.block_public_policy)
        .ignore_public_acls(b.ignore_public_acls)
        .restrict_public_buckets(b.restrict_public_buckets)
        .build();
    let call = cx.s3().put_public_access_block().bucket(bucket).public_access_block_configuration(conf);
    cx.send_in(Service::S3, "PutPublicAccessBlock", op, || call.clone().send()).await.map(drop)
}

/// The bucket's object ownership; no controls at all is `ObjectWriter`.
pub(crate) async fn ownership_of(cx: &Ctx, bucket: &str) -> Result<ObjectOwnership, ProviderError> {
    let call = cx.s3().get_bucket_ownership_controls().bucket(bucket);
    let out = unset_ok(
        cx.send_in(Service::S3, "GetBucketOwnershipControls", Operation::Read, || call.clone().send()).await,
    )?;
    let rule = out.as_ref().and_then(|o| o.ownership_controls()).and_then(|c| c.rules().first());
    Ok(match rule.map(|r| r.object_ownership().as_str()) {
        Some("BucketOwnerEnforced") => ObjectOwnership::BucketOwnerEnforced,
        Some("BucketOwnerPreferred") => ObjectOwnership::BucketOwnerPreferred,
        _ => ObjectOwnership::ObjectWriter,
    })
}

pub(crate) async fn put_ownership(
    cx: &Ctx,
    bucket: &str,
    o: ObjectOwnership,
    op: Operation,
) -> Result<(), ProviderError> {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(aws_sdk_s3::types::ObjectOwnership::from(o.as_str()))
        .build()
        .map_err(|e| invalid("ownership_controls", e))?;
    let conf =
        OwnershipControls::builder().rules(rule).build().map_err(|e| invalid("ownership_controls", e))?;
    let call = cx.s3().put_bucket_ownership_controls().bucket(bucket).ownership_controls(conf);
    cx.send_in(Service::S3, "PutBucketOwnershipControls", op, || call.clone().send()).await.map(drop)
}

// ----- logging ---------------------------------------------------------------

pub(crate) async fn logging_of(cx: &Ctx, bucket: &str) -> Result<Option<BucketLogging>, ProviderError> {
    let call = cx.s3().get_bucket_logging().bucket(bucket);
    let out = cx.send_in(Service::S3, "GetBucketLogging", Operation::Read, || call.clone().send()).await?;
    Ok(out.logging_enabled().map(|l| BucketLogging {
        target_bucket: Input::Value(BucketName::unchecked(l.target_bucket())),
        target_prefix: l.target_prefix().to_owned(),
    }))
}

pub(crate) async fn put_logging(
    cx: &Ctx,
    bucket: &str,
    l: Option<&BucketLogging>,
    op: Operation,
) -> Result<(), ProviderError> {
    let enabled = l
        .map(|l| {
            LoggingEnabled::builder()
                .target_bucket(l.target_bucket.id())
                .target_prefix(&l.target_prefix)
                .build()
                .map_err(|e| invalid("logging", e))
        })
        .transpose()?;
    let status = BucketLoggingStatus::builder().set_logging_enabled(enabled).build();
    let call = cx.s3().put_bucket_logging().bucket(bucket).bucket_logging_status(status);
    cx.send_in(Service::S3, "PutBucketLogging", op, || call.clone().send()).await.map(drop)
}

// ----- lifecycle -------------------------------------------------------------

fn filter(f: &LifecycleFilter) -> Result<LifecycleRuleFilter, ProviderError> {
    let tags = s3_tags(&f.tags)?;
    let conditions = usize::from(f.prefix.is_some())
        + tags.len()
        + usize::from(f.object_size_greater_than.is_some())
        + usize::from(f.object_size_less_than.is_some());
    let b = LifecycleRuleFilter::builder();
    Ok(if conditions > 1 {
        b.and(
            LifecycleRuleAndOperator::builder()
                .set_prefix(f.prefix.clone())
                .set_tags(Some(tags))
                .set_object_size_greater_than(f.object_size_greater_than)
                .set_object_size_less_than(f.object_size_less_than)
                .build(),
        )
        .build()
    } else if conditions == 0 {
        // The whole bucket.
        b.prefix("").build()
    } else {
        b.set_prefix(f.prefix.clone())
            .set_tag(tags.into_iter().next())
            .set_object_size_greater_than(f.object_size_greater_than)
            .set_object_size_less_than(f.object_size_less_than)
            .build()
    })
}

fn storage(c: StorageClass) -> TransitionStorageClass {
    TransitionStorageClass::from(c.as_str())
}

fn rule(r: &LifecycleRule) -> Result<aws_sdk_s3::types::LifecycleRule, ProviderError> {
    let status = match r.status {
        RuleStatus::Enabled => ExpirationStatus::Enabled,
        RuleStatus::Disabled => ExpirationStatus::Disabled,
    };
    let expiration = (r.expiration_days.is_some() || r.expired_object_delete_marker).then(|| {
        LifecycleExpiration::builder()
            .set_days(r.expiration_days)
            .set_expired_object_delete_marker(r.expired_object_delete_marker.then_some(true))
            .build()
    });
    let noncurrent = r.noncurrent_version_expiration_days.map(|d| {
        NoncurrentVersionExpiration::builder()
            .noncurrent_days(d)
            .set_newer_noncurrent_versions(r.newer_noncurrent_versions)
            .build()
    });
    aws_sdk_s3::types::LifecycleRule::builder()
        .id(&r.id)
        .status(status)
        .filter(filter(&r.filter)?)
        .set_expiration(expiration)
        .set_transitions(Some(
            r.transitions
                .iter()
                .map(|t| Transition::builder().days(t.days).storage_class(storage(t.storage_class)).build())
                .collect(),
        ))
        .set_noncurrent_version_expiration(noncurrent)
        .set_noncurrent_version_transitions(Some(
            r.noncurrent_version_transitions
                .iter()
                .map(|t| {
                    NoncurrentVersionTransition::builder()
                        .noncurrent_days(t.days)
                        .storage_class(storage(t.storage_class))
                        .build()
                })
                .collect(),
        ))
        .set_abort_incomplete_multipart_upload(
            r.abort_incomplete_multipart_upload_days
                .map(|d| AbortIncompleteMultipartUpload::builder().days_after_initiation(d).build()),
        )
        .build()
        .map_err(|e| invalid("lifecycle_rules", e))
}

fn rule_of(r: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    let mut f = LifecycleFilter::default();
    if let Some(flt) = r.filter() {
        if let Some(and) = flt.and() {
            f.prefix = and.prefix().map(str::to_owned);
            f.tags = and.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
            f.object_size_greater_than = and.object_size_greater_than();
            f.object_size_less_than = and.object_size_less_than();
        } else {
            f.prefix = flt.prefix().map(str::to_owned);
            f.tags = flt.tag().map(|t| (t.key().to_owned(), t.value().to_owned())).into_iter().collect();
            f.object_size_greater_than = flt.object_size_greater_than();
            f.object_size_less_than = flt.object_size_less_than();
        }
    }
    // The rule's own prefix: the old form of the filter.
    #[allow(deprecated)]
    let legacy = r.prefix().map(str::to_owned);
    if f.prefix.is_none() {
        f.prefix = legacy;
    }
    let transition = |days: Option<i32>, class: Option<&TransitionStorageClass>| LifecycleTransition {
        days: days.unwrap_or_default(),
        storage_class: class.and_then(|c| StorageClass::parse(c.as_str())).unwrap_or_default(),
    };
    LifecycleRule {
        id: r.id().unwrap_or_default().to_owned(),
        status: if r.status() == &ExpirationStatus::Enabled {
            RuleStatus::Enabled
        } else {
            RuleStatus::Disabled
        },
        filter: f,
        expiration_days: r.expiration().and_then(|e| e.days()),
        expired_object_delete_marker: r
            .expiration()
            .and_then(|e| e.expired_object_delete_marker())
            .unwrap_or(false),
        transitions: r.transitions().iter().map(|t| transition(t.days(), t.storage_class())).collect(),
        noncurrent_version_expiration_days: r
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        newer_noncurrent_versions: r
            .noncurrent_version_expiration()
            .and_then(|e| e.newer_noncurrent_versions()),
        noncurrent_version_transitions: r
            .noncurrent_version_transitions()
            .iter()
            .map(|t| transition(t.noncurrent_days(), t.storage_class()))
            .collect(),
        abort_incomplete_multipart_upload_days: r
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
    }
}

pub(crate) async fn lifecycle_of(cx: &Ctx, bucket: &str) -> Result<Vec<LifecycleRule>, ProviderError> {
    let call = cx.s3().get_bucket_lifecycle_configuration().bucket(bucket);
    let out = unset_ok(
        cx.send_in(Service::S3, "GetBucketLifecycleConfiguration", Operation::Read, || call.clone().send())
            .await,
    )?;
    Ok(out.map(|o| o.rules().iter().map(rule_of).collect()).unwrap_or_default())
}

/// Puts the rules (none: deletes the configuration).
pub(crate) async fn put_lifecycle(
    cx: &Ctx,
    bucket: &str,
    rules: &[LifecycleRule],
    op: Operation,
) -> Result<(), ProviderError> {
    if rules.is_empty() {
        let call = cx.s3().delete_bucket_lifecycle().bucket(bucket);
        return unset_ok(cx.send_in(Service::S3, "DeleteBucketLifecycle", op, || call.clone().send()).await)
            .map(drop);
    }
    let conf = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules.iter().map(rule).collect::<Result<_, _>>()?))
        .build()
        .map_err(|e| invalid("lifecycle_rules", e))?;
    let call = cx.s3().put_bucket_lifecycle_configuration().bucket(bucket).lifecycle_configuration(conf);
    cx.send_in(Service::S3, "PutBucketLifecycleConfiguration", op, || call.clone().send()).await.map(drop)
}

// ----- objects ---------------------------------------------------------------

/// True when the bucket holds any object version or delete marker (one
/// listing of one entry).
pub(crate) async fn holds_objects(cx: &Ctx, bucket: &str) -> Result<bool, ProviderError> {
    let call = cx.s3().list_object_versions().bucket(bucket).max_keys(1);
    let out = cx.send_in(Service::S3, "ListObjectVersions", Operation::Read, || call.clone().send()).await?;
    Ok(!out.versions().is_empty() || !out.delete_markers().is_empty())
}

/// Deletes every object version and delete marker, up to 1000 per
/// DeleteObjects, until a listing finds none.
pub(crate) async fn empty(cx: &Ctx, bucket: &str) -> Result<(), ProviderError> {
    loop {
        let call = cx.s3().list_object_versions().bucket(bucket).max_keys(1000);
        let out =
            cx.send_in(Service::S3, "ListObjectVersions", Operation::Delete, || call.clone().send()).await?;
        let mut ids = Vec::new();
        let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = out.delete_markers().iter().map(|m| (m.key(), m.version_id()));
        for (key, version) in versions.chain(markers) {
            let id = ObjectIdentifier::builder()
                .set_key(key.map(str::to_owned))
                .set_version_id(version.map(str::to_owned))
                .build()
                .map_err(|e| invalid("object", e))?;
            ids.push(id);
        }
        if ids.is_empty() {
            return Ok(());
        }
        for chunk in ids.chunks(1000) {
            let delete = Delete::builder()
                .set_objects(Some(chunk.to_vec()))
                .quiet(true)
                .build()
                .map_err(|e| invalid("objects", e))?;
            let call = cx.s3().delete_objects().bucket(bucket).delete(delete);
            let out =
                cx.send_in(Service::S3, "DeleteObjects", Operation::Delete, || call.clone().send()).await?;
            if let Some(err) = out.errors().first() {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!(
                        "{} objects of {bucket} could not be deleted; the first, {:?}: {}",
                        out.errors().len(),
                        err.key().unwrap_or_default(),
                        err.message().unwrap_or_default()
                    ),
                )
                .with_code(err.code().unwrap_or("DeleteObjectsFailed").to_owned()));
            }
        }
    }
}
