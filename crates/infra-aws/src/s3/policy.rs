use infra_core::{Identifier, Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::iam::{PolicyDocument, Purpose};
use crate::ids::BucketName;

/// A bucket's policy (`aws_s3_bucket_policy`): a typed
/// [`PolicyDocument`], checked as a resource policy before any call (each
/// statement names principals and resources; at most 20 KiB). Its ID is the
/// bucket's name; the bucket replaces it, the document changes in place,
/// and it is recorded in canonical form, so AWS's reordering of what it
/// was given shows no difference.
///
/// It is a type of its own, not a field of [`super::Bucket`], because a
/// policy usually names what depends on the bucket: a CloudFront
/// distribution whose origin is the bucket's domain name, allowed through
/// an `aws:SourceArn` condition on its ARN.
///
/// Outputs: `policy.id()` (the bucket's name).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::iam::{PolicyDocument, Principal, Statement};
/// use infra::aws::s3::{Bucket, BucketPolicy};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let assets = stack.add("assets", Bucket { bucket: "prod-x7k2-static".into(), ..Default::default() });
/// let distribution = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE";
/// stack.add("assets-policy", BucketPolicy {
///     bucket: assets.id().into(),
///     policy: PolicyDocument::new([Statement::allow(["s3:GetObject"])
///         .sid("AllowCloudFront")
///         .principal(Principal::service("cloudfront.amazonaws.com"))
///         .on(interpolate!(assets.arn(), "/*"))
///         .condition("StringEquals", "AWS:SourceArn", [distribution])]),
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:s3:BucketPolicy",
    outputs(id: BucketName),
    readiness = "on_id",
    validate = validate_policy,
    validate_type = crate::rules::unique,
    normalise = canonical
)]
pub struct BucketPolicy {
    #[resource(force_new)]
    pub bucket: Input<BucketName>,
    pub policy: PolicyDocument,
}

/// S3's limit on a bucket policy.
const MAX_POLICY: usize = 20 * 1024;

fn validate_policy(p: &BucketPolicy, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
    if let Some(b) = p.bucket.value()
        && let Some(problem) = super::settings::bucket_name_problem(b.as_str())
    {
        ctx.error("bucket", problem);
    }
    crate::iam::validate(&p.policy, Purpose::Resource, "policy", ctx);
    if let Ok(json) = p.policy.to_json()
        && json.len() > MAX_POLICY
    {
        ctx.error("policy", format!("{} characters: S3 allows at most {MAX_POLICY}", json.len()));
    }
}

fn canonical(p: &mut BucketPolicy) {
    crate::iam::canonical(&mut p.policy);
}

#[cfg(feature = "s3")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_core::Input;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::super::sdk::invalid;
    use super::{BucketPolicy, BucketPolicyOut};
    use crate::iam::PolicyDocument;
    use crate::ids::BucketName;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, settle};

    /// `aws:s3:BucketPolicy` through the S3 API.
    #[derive(Debug)]
    pub(crate) struct BucketPolicyKind;

    /// The bucket's policy; `None` when it has none (or is gone).
    async fn read(cx: &Ctx, bucket: String) -> Result<Option<Seen<BucketPolicyKind>>, ProviderError> {
        let call = cx.s3().get_bucket_policy().bucket(&bucket);
        let text =
            match cx.send_in(Service::S3, "GetBucketPolicy", Operation::Read, || call.clone().send()).await {
                Ok(out) => out.policy.unwrap_or_default(),
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
        let policy = PolicyDocument::from_json(&text)
            .map_err(|e| ProviderError::new(ErrorKind::Transient, e).with_code("IncompleteResponse"))?;
        let decl = BucketPolicy { bucket: Input::Value(BucketName::unchecked(&bucket)), policy };
        let out = BucketPolicyOut { id: BucketName::unchecked(&bucket) };
        Ok(Some(Seen::ready(bucket, decl, out, Tags::new())))
    }

    async fn put(cx: &Ctx, bucket: &str, d: &BucketPolicy, op: Operation) -> Result<(), ProviderError> {
        let json = d.policy.to_json().map_err(|e| invalid("policy", e))?;
        let call = cx.s3().put_bucket_policy().bucket(bucket).policy(json);
        settle(|| cx.send_in(Service::S3, "PutBucketPolicy", op, || call.clone().send())).await.map(drop)
    }

    #[async_trait]
    impl Kind for BucketPolicyKind {
        type Decl = BucketPolicy;
        type Out = BucketPolicyOut;
        const SERVICE: Service = Service::S3;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 5, 300);
        // A policy carries no tags: its bucket is its key.
        const ADOPT_UNTAGGED: bool = true;
        const TAGGED: bool = false;

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, BucketPolicy>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let buckets = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![d.bucket.id().to_owned()],
            };
            let mut out = Vec::new();
            for r in futures_util::future::join_all(buckets.into_iter().map(|b| read(cx, b))).await {
                out.extend(r?);
            }
            Ok(out)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &BucketPolicy,
            _: &Tags,
            _: &str,
        ) -> Result<String, ProviderError> {
            put(cx, d.bucket.id(), d, Operation::Create).await?;
            Ok(d.bucket.id().to_owned())
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, BucketPolicy>) -> Result<(), ProviderError> {
            put(cx, id, c.after, Operation::Update).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &BucketPolicy) -> Result<(), ProviderError> {
            let call = cx.s3().delete_bucket_policy().bucket(id);
            cx.send_in(Service::S3, "DeleteBucketPolicy", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
