//! A bucket's settings, as typed fields of [`super::Bucket`]: default
//! encryption, public access block, object ownership, lifecycle rules and
//! access logging, each checked before any call and each recorded in the
//! form S3 reads back (AWS's defaults unset).

use std::collections::{BTreeMap, BTreeSet};

use infra_core::{Identifier, Input, ValidationContext};
use serde::{Deserialize, Serialize};

use crate::ids::{BucketName, KmsKeyArn};

/// Default encryption of new objects
/// (`aws_s3_bucket_server_side_encryption_configuration`). Unset, a bucket
/// encrypts with S3's own keys (SSE-S3, AWS's default since 2023), and
/// SSE-S3 declared reads back unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketEncryption {
    pub sse_algorithm: SseAlgorithm,
    /// The KMS key for `aws:kms` / `aws:kms:dsse` (`key.arn()`); unset, the
    /// AWS managed key `aws/s3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<Input<KmsKeyArn>>,
    /// S3 Bucket Keys (fewer KMS calls); `aws:kms` only.
    pub bucket_key_enabled: bool,
}

impl BucketEncryption {
    /// SSE-KMS with `key` and S3 Bucket Keys on (what the seed's "KMS
    /// envelope encryption for S3" means).
    pub fn kms(key: impl Into<Input<KmsKeyArn>>) -> Self {
        BucketEncryption {
            sse_algorithm: SseAlgorithm::AwsKms,
            kms_master_key_id: Some(key.into()),
            bucket_key_enabled: true,
        }
    }
}

/// A server-side encryption algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SseAlgorithm {
    /// SSE-S3.
    #[default]
    #[serde(rename = "AES256")]
    Aes256,
    /// SSE-KMS.
    #[serde(rename = "aws:kms")]
    AwsKms,
    /// Dual-layer SSE-KMS.
    #[serde(rename = "aws:kms:dsse")]
    AwsKmsDsse,
}

impl SseAlgorithm {
    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SseAlgorithm::Aes256 => "AES256",
            SseAlgorithm::AwsKms => "aws:kms",
            SseAlgorithm::AwsKmsDsse => "aws:kms:dsse",
        }
    }
}

/// The bucket's public access block (`aws_s3_bucket_public_access_block`).
/// Unset on the bucket means AWS's default for a new bucket: all four on.
/// `PublicAccessBlock::default()` is all four off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub block_public_policy: bool,
    pub ignore_public_acls: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on (the seed's block, and AWS's default).
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
    };
}

/// Who owns objects written to the bucket
/// (`aws_s3_bucket_ownership_controls`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectOwnership {
    /// ACLs disabled, the bucket owner owns every object (AWS's default
    /// for a new bucket, recorded as unset).
    #[default]
    BucketOwnerEnforced,
    /// The bucket owner owns objects written with `bucket-owner-full-control`.
    BucketOwnerPreferred,
    /// The writer owns the object (no ownership controls at all).
    ObjectWriter,
}

impl ObjectOwnership {
    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
        }
    }
}

/// Server access logging (`aws_s3_bucket_logging`): S3 writes access logs
/// to `target_bucket` under `target_prefix`. The target bucket's policy must
/// let `logging.s3.amazonaws.com` put objects (a [`super::BucketPolicy`]
/// the logging bucket depends on).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketLogging {
    pub target_bucket: Input<BucketName>,
    pub target_prefix: String,
}

/// Whether a lifecycle rule is in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleStatus {
    #[default]
    Enabled,
    Disabled,
}

/// An S3 storage class a lifecycle rule moves objects to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StorageClass {
    #[default]
    StandardIa,
    OnezoneIa,
    IntelligentTiering,
    GlacierIr,
    Glacier,
    DeepArchive,
}

impl StorageClass {
    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }

    /// The class of S3's name.
    pub fn parse(s: &str) -> Option<StorageClass> {
        [
            StorageClass::StandardIa,
            StorageClass::OnezoneIa,
            StorageClass::IntelligentTiering,
            StorageClass::GlacierIr,
            StorageClass::Glacier,
            StorageClass::DeepArchive,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Which objects a lifecycle rule applies to: all that match every
/// condition given (none: the whole bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<i64>,
}

/// A move to another storage class `days` after creation (or, for a
/// noncurrent version, after it became noncurrent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleTransition {
    pub days: i32,
    pub storage_class: StorageClass,
}

/// A lifecycle rule (`aws_s3_bucket_lifecycle_configuration`'s `rule`).
///
/// ```
/// use infra::aws::s3::{LifecycleFilter, LifecycleRule, LifecycleTransition, StorageClass};
///
/// let rule = LifecycleRule {
///     id: "logs".into(),
///     filter: LifecycleFilter { prefix: Some("logs/".into()), ..Default::default() },
///     expiration_days: Some(365),
///     transitions: vec![LifecycleTransition { days: 30, storage_class: StorageClass::StandardIa }],
///     noncurrent_version_expiration_days: Some(30),
///     abort_incomplete_multipart_upload_days: Some(7),
///     ..Default::default()
/// };
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleRule {
    /// Unique in the bucket, 1 to 255 characters.
    pub id: String,
    pub status: RuleStatus,
    pub filter: LifecycleFilter,
    /// Objects expire this many days after creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    /// Removes delete markers with no noncurrent version left (versioned
    /// buckets); not with `expiration_days` or a tag filter.
    pub expired_object_delete_marker: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<LifecycleTransition>,
    /// Noncurrent versions expire this many days after they became
    /// noncurrent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<i32>,
    /// Keep this many newest noncurrent versions from expiring (1–100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_version_transitions: Vec<LifecycleTransition>,
    /// Incomplete multipart uploads are aborted this many days after they
    /// began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload_days: Option<i32>,
}

// ----- validation ------------------------------------------------------------

/// Why `name` is not an S3 bucket name (general purpose buckets), or
/// `None`: 3–63 characters of lowercase letters, digits, dots and hyphens,
/// beginning and ending with a letter or digit, no `..`, `.-` or `-.`, not
/// an IP address, not AWS's reserved prefixes and suffixes.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    let problem = |why: &str| Some(format!("{name:?} is not a bucket name: {why}"));
    if !(3..=63).contains(&name.len()) {
        return problem(&format!("3 to 63 characters, it has {}", name.len()));
    }
    if let Some(c) =
        name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return problem(&format!("{c:?}: lowercase letters, digits, dots and hyphens only"));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return problem("it must begin and end with a letter or digit");
    }
    if let Some(pair) = ["..", ".-", "-."].into_iter().find(|p| name.contains(p)) {
        return problem(&format!("{pair:?} is not allowed"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return problem("it must not look like an IP address");
    }
    if let Some(prefix) = ["xn--", "sthree-", "amzn-s3-demo-"].into_iter().find(|p| name.starts_with(p)) {
        return problem(&format!("the prefix {prefix:?} is reserved"));
    }
    if let Some(suffix) =
        ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].into_iter().find(|s| name.ends_with(s))
    {
        return problem(&format!("the suffix {suffix:?} is reserved"));
    }
    None
}

pub(crate) fn validate_encryption(e: &BucketEncryption, ctx: &mut ValidationContext<'_>) {
    let kms = matches!(e.sse_algorithm, SseAlgorithm::AwsKms | SseAlgorithm::AwsKmsDsse);
    if e.kms_master_key_id.is_some() && !kms {
        ctx.error(
            "server_side_encryption.kms_master_key_id",
            "a KMS key goes with sse_algorithm aws:kms or aws:kms:dsse only",
        );
    }
    if e.bucket_key_enabled && e.sse_algorithm != SseAlgorithm::AwsKms {
        ctx.error(
            "server_side_encryption.bucket_key_enabled",
            "S3 Bucket Keys work with sse_algorithm aws:kms only",
        );
    }
}

pub(crate) fn validate_logging(l: &BucketLogging, ctx: &mut ValidationContext<'_>) {
    if let Some(target) = l.target_bucket.value()
        && let Some(problem) = bucket_name_problem(target.as_str())
    {
        ctx.error("logging.target_bucket", problem);
    }
    if l.target_prefix.len() > 1024 {
        ctx.error("logging.target_prefix", "a prefix is at most 1024 characters");
    }
}

fn check_days(ctx: &mut ValidationContext<'_>, field: &str, days: i32, min: i32) {
    if days < min {
        ctx.error(field, format!("{days} days: at least {min}"));
    }
}

fn check_transitions(ctx: &mut ValidationContext<'_>, at: &str, list: &[LifecycleTransition]) {
    let mut classes = BTreeSet::new();
    for (j, t) in list.iter().enumerate() {
        // S3 refuses moving to an infrequent-access class before 30 days.
        let min = match t.storage_class {
            StorageClass::StandardIa | StorageClass::OnezoneIa => 30,
            _ => 0,
        };
        check_days(ctx, &format!("{at}[{j}].days"), t.days, min);
        if !classes.insert(t.storage_class) {
            ctx.error(
                &format!("{at}[{j}].storage_class"),
                format!("{} is named by an earlier transition of this rule", t.storage_class.as_str()),
            );
        }
    }
}

pub(crate) fn validate_lifecycle(rules: &[LifecycleRule], ctx: &mut ValidationContext<'_>) {
    if rules.len() > 1000 {
        ctx.error("lifecycle_rules", format!("{} rules: S3 allows at most 1000", rules.len()));
    }
    let mut ids = BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        let at = format!("lifecycle_rules[{i}]");
        if r.id.is_empty() || r.id.len() > 255 {
            ctx.error(&format!("{at}.id"), "a rule's ID is 1 to 255 characters");
        } else if !ids.insert(r.id.as_str()) {
            ctx.error(&format!("{at}.id"), format!("{:?} is the ID of an earlier rule", r.id));
        }
        let acts = r.expiration_days.is_some()
            || r.expired_object_delete_marker
            || !r.transitions.is_empty()
            || r.noncurrent_version_expiration_days.is_some()
            || !r.noncurrent_version_transitions.is_empty()
            || r.abort_incomplete_multipart_upload_days.is_some();
        if !acts {
            ctx.error(&at, "a rule needs an action (an expiration, a transition or an abort of uploads)");
        }
        if let Some(d) = r.expiration_days {
            check_days(ctx, &format!("{at}.expiration_days"), d, 1);
            if r.expired_object_delete_marker {
                ctx.error(
                    &format!("{at}.expired_object_delete_marker"),
                    "S3 takes expiration_days or expired_object_delete_marker in a rule, not both",
                );
            }
        }
        let tagged = !r.filter.tags.is_empty();
        if r.expired_object_delete_marker && tagged {
            ctx.error(&format!("{at}.expired_object_delete_marker"), "not with a tag filter (S3 refuses it)");
        }
        if let Some(d) = r.abort_incomplete_multipart_upload_days {
            check_days(ctx, &format!("{at}.abort_incomplete_multipart_upload_days"), d, 1);
            if tagged
                || r.filter.object_size_greater_than.is_some()
                || r.filter.object_size_less_than.is_some()
            {
                ctx.error(
                    &format!("{at}.abort_incomplete_multipart_upload_days"),
                    "not with a tag or object size filter (S3 refuses it)",
                );
            }
        }
        if let Some(d) = r.noncurrent_version_expiration_days {
            check_days(ctx, &format!("{at}.noncurrent_version_expiration_days"), d, 1);
        }
        if let Some(n) = r.newer_noncurrent_versions {
            if !(1..=100).contains(&n) {
                ctx.error(&format!("{at}.newer_noncurrent_versions"), format!("{n}: 1 to 100"));
            }
            if r.noncurrent_version_expiration_days.is_none() {
                ctx.error(
                    &format!("{at}.newer_noncurrent_versions"),
                    "goes with noncurrent_version_expiration_days",
                );
            }
        }
        check_transitions(ctx, &format!("{at}.transitions"), &r.transitions);
        check_transitions(
            ctx,
            &format!("{at}.noncurrent_version_transitions"),
            &r.noncurrent_version_transitions,
        );
        let f = &r.filter;
        for (k, v) in &f.tags {
            if k.is_empty() || k.len() > 128 || v.len() > 256 {
                ctx.error(
                    &format!("{at}.filter.tags[{k:?}]"),
                    "tag keys are 1 to 128 characters, values at most 256",
                );
            }
        }
        for (name, size) in [
            ("object_size_greater_than", f.object_size_greater_than),
            ("object_size_less_than", f.object_size_less_than),
        ] {
            if size.is_some_and(|s| s < 0) {
                ctx.error(&format!("{at}.filter.{name}"), "a size is at least 0 bytes");
            }
        }
        if let (Some(gt), Some(lt)) = (f.object_size_greater_than, f.object_size_less_than)
            && gt >= lt
        {
            ctx.error(
                &format!("{at}.filter.object_size_less_than"),
                format!("{lt} must be greater than object_size_greater_than ({gt})"),
            );
        }
    }
}

// ----- canonical form --------------------------------------------------------

/// The form S3 reads back: rules by ID, transitions by day, an empty
/// prefix unset.
pub(crate) fn canonical_rules(rules: &mut [LifecycleRule]) {
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    for r in rules {
        if r.filter.prefix.as_deref() == Some("") {
            r.filter.prefix = None;
        }
        for list in [&mut r.transitions, &mut r.noncurrent_version_transitions] {
            list.sort_by_key(|t| (t.days, t.storage_class));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_s_rules() {
        for ok in ["abc", "my-bucket.logs", "a1-b2", "prod-x7k2-static", &"a".repeat(63)] {
            assert_eq!(bucket_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "my_bucket",
            "-abc",
            "abc-",
            ".abc",
            "a..b",
            "a.-b",
            "a-.b",
            "192.168.5.4",
            "xn--abc",
            "sthree-abc",
            "abc-s3alias",
            "abc--ol-s3",
            "abc.mrap",
        ] {
            assert!(bucket_name_problem(bad).is_some(), "{bad}");
        }
    }
}
