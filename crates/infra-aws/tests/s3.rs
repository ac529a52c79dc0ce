//! S3 on the emulator: a bucket with every setting and its policy through
//! their lifecycle in both regions (create, refreshed plan empty, each
//! setting and the policy changed in place, a rename replaces the bucket
//! create-first, destroy leaves nothing), bucket names refused before any
//! call, a bucket holding objects reported by `holds_objects` and refused
//! a delete until `on_delete` decides, then emptied (every version and
//! delete marker, over 1000 objects in batches) and deleted.
//!
//! Emulator gaps: moto 5.2.5 answers 404 for a new bucket's default
//! encryption, ownership controls and public access block, where AWS reads
//! SSE-S3, `BucketOwnerEnforced` and all four blocks on; the provider
//! writes ownership and the block at create and reads SSE-S3 and a 404
//! alike as unset, so both give empty plans. moto names
//! GetBucketVersioning's root element `GetBucketVersioningResponse`
//! (the SDK expects `VersioningConfiguration`); the provider reads that
//! answer's body, which the versioning changes below exercise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::iam::{PolicyDocument, Principal, Statement};
use infra_aws::kms::KmsKey;
use infra_aws::s3::{
    Bucket, BucketEncryption, BucketLogging, BucketPolicy, LifecycleFilter, LifecycleRule,
    LifecycleTransition, ObjectOwnership, PublicAccessBlock, RuleStatus, StorageClass,
};
use infra_core::{OnDelete, Options, ProviderKey, ReplaceOrder, Stack, Value, interpolate};
use infra_engine::Mode;

fn declare(s: &mut Stack, key: &ProviderKey, r: &str, v: u8) {
    let opts = || Options::new().provider(key);
    let kms = s.add_with(&format!("key-{r}"), KmsKey::default(), opts());
    // The log bucket and the policy that lets S3 write access logs to it.
    let logs = s.add_with(
        &format!("logs-{r}"),
        // It fills with access logs.
        Bucket {
            bucket: format!("infra-test-logs-{r}"),
            on_delete: Some(OnDelete::DeleteData),
            ..Default::default()
        },
        opts(),
    );
    let logs_policy = s.add_with(
        &format!("logs-policy-{r}"),
        BucketPolicy {
            bucket: logs.id().into(),
            policy: PolicyDocument::new([Statement::allow(["s3:PutObject"])
                .sid("S3ServerAccessLogs")
                .principal(Principal::service("logging.s3.amazonaws.com"))
                .on(interpolate!(logs.arn(), "/*"))]),
        },
        opts(),
    );
    let name = if v == 2 { format!("infra-test-assets-{r}-2") } else { format!("infra-test-assets-{r}") };
    let rules = vec![LifecycleRule {
        id: "logs".into(),
        filter: LifecycleFilter { prefix: Some("logs/".into()), ..Default::default() },
        expiration_days: Some(if v == 0 { 365 } else { 400 }),
        transitions: vec![LifecycleTransition { days: 30, storage_class: StorageClass::StandardIa }],
        noncurrent_version_expiration_days: Some(30),
        abort_incomplete_multipart_upload_days: Some(7),
        ..Default::default()
    }];
    let mut rules = rules;
    if v >= 1 {
        rules.push(LifecycleRule {
            id: "tmp".into(),
            status: RuleStatus::Disabled,
            filter: LifecycleFilter {
                prefix: Some("tmp/".into()),
                tags: BTreeMap::from([("class".to_owned(), "scratch".to_owned())]),
                ..Default::default()
            },
            expiration_days: Some(1),
            ..Default::default()
        });
    }
    let assets = s.add_with(
        &format!("assets-{r}"),
        Bucket {
            bucket: name,
            versioning: v == 0,
            server_side_encryption: (v == 0).then(|| BucketEncryption::kms(kms.arn())),
            public_access_block: (v >= 1).then_some(PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                ..Default::default()
            }),
            ownership_controls: (v >= 1).then_some(ObjectOwnership::BucketOwnerPreferred),
            lifecycle_rules: rules,
            logging: Some(BucketLogging {
                target_bucket: logs.id().into(),
                target_prefix: format!("assets-v{}/", v.min(1)),
            }),
            on_delete: None,
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
        },
        // S3 checks the log bucket's policy when logging is put.
        Options::new().provider(key).depends_on(&logs_policy),
    );
    let reader = if v == 0 { "s3:GetObject" } else { "s3:GetObjectVersion" };
    s.add_with(
        &format!("assets-policy-{r}"),
        BucketPolicy {
            bucket: assets.id().into(),
            policy: PolicyDocument::new([Statement::allow(["s3:GetObject", reader])
                .sid("CloudFrontRead")
                .principal(Principal::service("cloudfront.amazonaws.com"))
                .on(interpolate!(assets.arn(), "/*"))
                .condition(
                    "StringEquals",
                    "AWS:SourceArn",
                    ["arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"],
                )]),
        },
        opts(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_and_policy_lifecycle() {
    lifecycle(
        "s3",
        |s, us, eu, v| {
            declare(s, us, "us", v);
            declare(s, eu, "eu", v);
        },
        // A new bucket, and so a new policy (its bucket is force-new).
        &["assets-us", "assets-eu", "assets-policy-us", "assets-policy-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[test]
fn bad_bucket_names_and_settings_are_refused_before_any_call() {
    let (mut s, us, _) = stack("invalid");
    let bad =
        ["ab", "My-Bucket", "bucket_1", "-abc", "a..b", "192.168.5.4", "xn--abc", "abc-s3alias", "a.-b"];
    for (i, name) in bad.iter().enumerate() {
        s.add_with(
            &format!("b{i}"),
            Bucket { bucket: (*name).into(), ..Default::default() },
            Options::new().provider(&us),
        );
    }
    s.add_with(
        "snap",
        Bucket {
            bucket: "infra-test-snap".into(),
            on_delete: Some(OnDelete::FinalSnapshot("x".into())),
            server_side_encryption: Some(BucketEncryption { bucket_key_enabled: true, ..Default::default() }),
            lifecycle_rules: vec![LifecycleRule {
                id: "r".into(),
                transitions: vec![LifecycleTransition { days: 7, storage_class: StorageClass::StandardIa }],
                ..Default::default()
            }],
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    let Err(e) = s.validate() else { panic!("the stack is invalid") };
    let text = e.to_string();
    for (i, name) in bad.iter().enumerate() {
        let expected = format!("b{i}: field `bucket`: \"{name}\" is not a bucket name");
        assert!(text.contains(&expected), "{expected} not reported:\n{text}");
    }
    for field in
        ["on_delete", "server_side_encryption.bucket_key_enabled", "lifecycle_rules[0].transitions[0].days"]
    {
        let expected = format!("snap: field `{field}`");
        assert!(text.contains(&expected), "{expected} not reported:\n{text}");
    }
}

fn data_stack(decision: Option<OnDelete>) -> Stack {
    let (mut s, us, _) = stack("data");
    s.add_with(
        "versioned",
        Bucket {
            bucket: "infra-test-versioned".into(),
            versioning: true,
            on_delete: decision.clone(),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "plain",
        Bucket { bucket: "infra-test-plain".into(), on_delete: decision, ..Default::default() },
        Options::new().provider(&us),
    );
    s
}

fn holds_objects(state: &infra_core::State, address: &str) -> Option<Value> {
    state.resources.get(&addr(address)).and_then(|r| r.outputs.get("holds_objects").cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_holding_objects_is_deleted_only_when_decided_and_then_emptied() {
    let w = world();
    w.apply(&data_stack(None)).await;
    let state = w.state("data").await;
    assert_eq!(holds_objects(&state, "versioned"), Some(Value::Bool(false)));
    let s3 = w.s3("us-east-1");
    // Three versions of one key, a deleted key (a version and a delete
    // marker), and over a thousand objects in the unversioned bucket.
    for body in ["1", "2", "3"] {
        s3.put_object()
            .bucket("infra-test-versioned")
            .key("a")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3.put_object().bucket("infra-test-versioned").key("b").body(b"x".to_vec().into()).send().await.unwrap();
    s3.delete_object().bucket("infra-test-versioned").key("b").send().await.unwrap();
    for chunk in (0..1003).collect::<Vec<_>>().chunks(50) {
        let puts = chunk.iter().map(|i| {
            s3.put_object().bucket("infra-test-plain").key(format!("k/{i}")).body(b"x".to_vec().into()).send()
        });
        for r in futures_util::future::join_all(puts).await {
            r.unwrap();
        }
    }
    // A refresh reads the objects.
    assert!(w.converged(&data_stack(None)).await);
    let state = w.state("data").await;
    assert_eq!(holds_objects(&state, "versioned"), Some(Value::Bool(true)));
    assert_eq!(holds_objects(&state, "plain"), Some(Value::Bool(true)));
    // Undecided: the destroy is refused, naming the field; nothing goes.
    let text = refused(&w, &data_stack(None), Mode::Destroy { targets: vec![] }).await;
    assert!(text.contains("on_delete") && text.contains("versioned") && text.contains("plain"), "{text}");
    assert!(s3.head_bucket().bucket("infra-test-versioned").send().await.is_ok());
    // Deciding is an update of infra's own field: no call changes the bucket.
    let decided = data_stack(Some(OnDelete::DeleteData));
    let key = w.stats.first().map(|(k, _)| k.clone()).unwrap();
    w.stats(&key).reset();
    let (o, _) = w.apply(&decided).await;
    assert!(o.plan.actionable().all(|c| c.action == infra_core::Action::Update), "{:?}", o.plan);
    let writes: Vec<_> = w
        .stats(&key)
        .snapshot()
        .into_iter()
        .filter(|(op, _)| op.starts_with("Put") || op.starts_with("Delete") || op.starts_with("Create"))
        .collect();
    assert!(writes.is_empty(), "deciding on_delete made calls: {writes:?}");
    assert!(w.converged(&decided).await);
    // The destroy empties each bucket (every version and delete marker,
    // 1000 per DeleteObjects) and deletes it.
    w.stats(&key).reset();
    let o = w.destroy(&decided).await;
    assert!(o.state.resources.is_empty());
    assert!(w.stats(&key).snapshot().get("DeleteObjects").copied().unwrap_or(0) >= 3);
    for b in ["infra-test-versioned", "infra-test-plain"] {
        assert!(s3.head_bucket().bucket(b).send().await.is_err(), "{b} is still there");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_bucket_is_deleted_without_a_decision_and_drift_is_undone() {
    let w = world();
    let (mut s, us, _) = stack("drift");
    s.add_with(
        "b",
        Bucket { bucket: "infra-test-drift".into(), versioning: true, ..Default::default() },
        Options::new().provider(&us),
    );
    w.apply(&s).await;
    let s3 = w.s3("us-east-1");
    let suspended = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
        .build();
    s3.put_bucket_versioning()
        .bucket("infra-test-drift")
        .versioning_configuration(suspended)
        .send()
        .await
        .unwrap();
    s3.delete_public_access_block().bucket("infra-test-drift").send().await.unwrap();
    let (o, _) = w.apply(&s).await;
    let change = o.plan.change(&addr("b")).unwrap();
    let fields: Vec<&str> = change.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(fields, ["public_access_block", "versioning"], "{change:?}");
    assert!(w.converged(&s).await);
    let pab = s3.get_public_access_block().bucket("infra-test-drift").send().await.unwrap();
    assert_eq!(pab.public_access_block_configuration().and_then(|c| c.block_public_policy()), Some(true));
    let o = w.destroy(&s).await;
    assert!(o.state.resources.is_empty());
}
