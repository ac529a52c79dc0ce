//! What the S3 backend guarantees beyond the shared conformance suite, on
//! the emulator: lease takeover, fencing of a holder that was taken over,
//! uncommitted and unrecorded objects, digest checks, bootstrap, SSE-KMS
//! and migration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use infra_state::conformance::sample_state;
use infra_state::{Backend, Error, LocalBackend, Lock, Migrated, migrate, new_state};
use infra_state_s3::{S3Backend, S3BackendConfig};

const SHORT_LEASE: Duration = Duration::from_secs(1);

fn s3() -> aws_sdk_s3::Client {
    let sdk = common::moto().sdk_config(common::REGION).unwrap();
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
}

fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&common::moto().sdk_config(common::REGION).unwrap())
}

/// Takes the lock of `prod` and freezes the holder (no more renewals), as
/// a paused or partitioned process would be.
async fn frozen_holder(backend: &S3Backend) -> infra_state_s3::S3Lock {
    let mut lock = backend.lock_stack("prod", "apply", Duration::ZERO).await.unwrap();
    lock.stop_renewing();
    lock
}

#[tokio::test]
async fn a_lock_whose_lease_ran_out_is_taken_over_and_the_takeover_is_reported() {
    let backend = common::backend(SHORT_LEASE).await;
    let old = frozen_holder(&backend).await;

    // While the lease runs, a zero timeout fails at once, naming the holder.
    match backend.lock("prod", "apply", Duration::ZERO).await {
        Err(Error::Locked { holder, .. }) => assert_eq!(holder.id, old.info().id),
        other => panic!("wanted Locked, got {other:?}"),
    }
    // Once it ran out, even a zero timeout takes the lock over (watching
    // for one lease that it is not renewed), with no force-unlock.
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(200)).await;
    let new = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    let from = new.taken_over_from().expect("the takeover is reported");
    assert_eq!(from.id, old.info().id);
    assert_eq!(from.pid, std::process::id());
    assert!(new.fencing_token() > old.fencing_token());
    // The old holder's release reports that it lost the lock, and does not
    // release the new holder's.
    match Box::new(old).release().await {
        Err(Error::LockLost { .. }) => {}
        other => panic!("release of a lost lock: wanted LockLost, got {other:?}"),
    }
    assert_eq!(backend.lock_holder("prod").await.unwrap().map(|h| h.id), Some(new.info().id.clone()));
    new.release().await.unwrap();
}

#[tokio::test]
async fn a_live_holder_keeps_its_lock_past_the_lease() {
    let backend = common::backend(SHORT_LEASE).await;
    let held = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    // Three leases: renewals keep it.
    match backend.lock("prod", "apply", SHORT_LEASE * 3).await {
        Err(Error::Locked { holder, .. }) => assert_eq!(holder.id, held.info().id),
        other => panic!("a renewed lock was taken: {other:?}"),
    }
    let state = sample_state(&new_state().unwrap(), 1, "still mine");
    backend.write(&*held, &state, None).await.unwrap();
    held.release().await.unwrap();
}

/// Must-show: a holder whose lease ran out and was taken over tries to
/// write; the write is refused and the newer state is intact.
#[tokio::test]
async fn a_holder_that_was_taken_over_cannot_write() {
    let backend = common::backend(SHORT_LEASE).await;
    let base = new_state().unwrap();
    let old = frozen_holder(&backend).await;
    let v1 = backend.write(&old, &sample_state(&base, 1, "old holder"), None).await.unwrap();

    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(200)).await;
    let new = backend.lock("prod", "apply", Duration::from_secs(5)).await.unwrap();
    let newer = sample_state(&base, 2, "new holder");
    let v2 = backend.write(&*new, &newer, Some(&v1)).await.unwrap();

    // The old holder wakes up and writes, from what it last knew and from
    // what is stored now: both refused by its stale fencing token.
    for expected in [&v1, &v2] {
        match backend.write(&old, &sample_state(&base, 2, "late"), Some(expected)).await {
            Err(Error::LockLost { stack, lock_id, reason }) => {
                assert_eq!(stack, "prod");
                assert_eq!(lock_id, old.info().id);
                assert!(reason.contains(&new.info().id), "{reason}");
            }
            other => panic!("write by a holder that was taken over: wanted LockLost, got {other:?}"),
        }
    }
    let (stored, version) = backend.read("prod").await.unwrap().unwrap();
    assert_eq!(stored, newer);
    assert_eq!(version, v2);
    new.release().await.unwrap();
}

/// An object put by a holder that then lost its lock (it was taken over
/// between its check and its commit) is never read, and does not block the
/// next holder.
#[tokio::test]
async fn an_uncommitted_object_is_never_read_and_does_not_block_writes() {
    let backend = common::backend(Duration::from_secs(5)).await;
    let base = new_state().unwrap();
    let l = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    let committed = sample_state(&base, 1, "committed");
    let v1 = backend.write(&*l, &committed, None).await.unwrap();

    // What the stale holder managed to put before its commit was refused.
    let stale = infra_state::encode(&sample_state(&base, 2, "never committed")).unwrap();
    s3().put_object()
        .bucket(common::BUCKET)
        .key(backend.config().object_key("prod"))
        .metadata("infra-fence", "0")
        .body(ByteStream::from(stale))
        .send()
        .await
        .unwrap();

    let (read, version) = backend.read("prod").await.unwrap().unwrap();
    assert_eq!(read, committed);
    assert_eq!(version, v1);
    let next = sample_state(&base, 2, "next");
    backend.write(&*l, &next, Some(&v1)).await.unwrap();
    assert_eq!(backend.read("prod").await.unwrap().unwrap().0, next);
    l.release().await.unwrap();
}

/// A state object the lock table has no record of (the table was
/// recreated, or the object copied in by hand) is refused, never taken
/// for "no state" (which would make an apply create everything again).
#[tokio::test]
async fn an_unrecorded_object_is_refused_not_taken_for_absent_state() {
    let backend = common::backend(Duration::from_secs(5)).await;
    let bytes = infra_state::encode(&sample_state(&new_state().unwrap(), 4, "hand-copied")).unwrap();
    s3().put_object()
        .bucket(common::BUCKET)
        .key(backend.config().object_key("prod"))
        .body(ByteStream::from(bytes.clone()))
        .send()
        .await
        .unwrap();
    let err = backend.read("prod").await.unwrap_err();
    assert!(matches!(err, Error::Unrecorded { .. }), "{err}");
    assert!(err.to_string().contains("no commit record"), "{err}");

    let l = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    let err = backend.write(&*l, &sample_state(&new_state().unwrap(), 1, "fresh"), None).await.unwrap_err();
    assert!(matches!(err, Error::Unrecorded { .. }), "{err}");
    l.release().await.unwrap();
    let object =
        s3().get_object().bucket(common::BUCKET).key(backend.config().object_key("prod")).send().await;
    let stored = object.unwrap().body.collect().await.unwrap().into_bytes();
    assert_eq!(stored.as_ref(), bytes.as_slice(), "the object was left as it was");
}

/// A read whose bytes do not match the commit record's digest (an older
/// object) is retried and then refused, never used.
#[tokio::test]
async fn bytes_that_do_not_match_the_committed_digest_are_never_used() {
    let backend = common::backend(Duration::from_secs(5)).await;
    let l = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    backend.write(&*l, &sample_state(&new_state().unwrap(), 1, "x"), None).await.unwrap();
    l.release().await.unwrap();
    let bogus = "0".repeat(64);
    dynamodb()
        .update_item()
        .table_name(common::TABLE)
        .key(
            "LockID",
            AttributeValue::S(format!("{}/{}", common::BUCKET, backend.config().object_key("prod"))),
        )
        .update_expression("SET digest = :d")
        .expression_attribute_values(":d", AttributeValue::S(bogus.clone()))
        .send()
        .await
        .unwrap();
    let err = backend.read("prod").await.unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&bogus), "{err}");
}

#[tokio::test]
async fn force_unlock_with_the_right_id_frees_the_stack_and_fences_the_old_holder() {
    let backend = common::backend(Duration::from_secs(5)).await;
    let old = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    backend.force_unlock("prod", &old.info().id).await.unwrap();
    match backend.write(&*old, &sample_state(&new_state().unwrap(), 1, "x"), None).await {
        Err(Error::NotLocked { .. }) => {}
        other => panic!("write after force-unlock: wanted NotLocked, got {other:?}"),
    }
    let new = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    new.release().await.unwrap();
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_locks_the_bucket_down() {
    let name = format!("infra-boot-{}", uuid::Uuid::new_v4().simple());
    let mut config = S3BackendConfig::new(&name[..40], "eu-central-1", &name[..40]);
    config.kms_key_id = Some("alias/infra-state".into());
    let sdk = common::moto().sdk_config("eu-central-1").unwrap();
    let backend = S3Backend::with_sdk_config(config.clone(), &sdk).unwrap();
    let first = backend.bootstrap().await.unwrap();
    assert!(first.bucket_created && first.table_created, "{first:?}");
    let second = backend.bootstrap().await.unwrap();
    assert!(!second.bucket_created && !second.table_created, "{second:?}");

    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let block = s3.get_public_access_block().bucket(&config.bucket).send().await.unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let encryption = s3.get_bucket_encryption().bucket(&config.bucket).send().await.unwrap();
    let rule = &encryption.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some("alias/infra-state"));
    let location = s3.get_bucket_location().bucket(&config.bucket).send().await.unwrap();
    assert_eq!(location.location_constraint().map(|c| c.as_str()), Some("eu-central-1"));

    // Versioning is on: every write is a new version, each readable.
    let l = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    let base = new_state().unwrap();
    let mut v = None;
    for serial in 1..=3 {
        v = Some(backend.write(&*l, &sample_state(&base, serial, "v"), v.as_ref()).await.unwrap());
    }
    l.release().await.unwrap();
    let versions = s3.list_object_versions().bucket(&config.bucket).send().await.unwrap();
    assert_eq!(versions.versions().len(), 3);
    // SSE-KMS on each state object.
    let head = s3.head_object().bucket(&config.bucket).key(config.object_key("prod")).send().await.unwrap();
    assert_eq!(head.server_side_encryption().map(|e| e.as_str()), Some("aws:kms"));
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_call() {
    let sdk = common::moto().sdk_config(common::REGION).unwrap();
    let bad = S3BackendConfig::new("ok-bucket", common::REGION, "locks").with_key("no-placeholder.json");
    let err = S3Backend::with_sdk_config(bad, &sdk).unwrap_err();
    assert!(err.to_string().contains("S3 backend setting key"), "{err}");
}

/// Migration from the local backend to S3 and back keeps lineage, serial
/// and content.
#[tokio::test]
async fn migration_between_local_and_s3_keeps_lineage_and_serial() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalBackend::new(dir.path().join("a"));
    let state = sample_state(&new_state().unwrap(), 12, "migrating");
    let l = local.lock("prod", "apply", Duration::ZERO).await.unwrap();
    local.write(&*l, &state, None).await.unwrap();
    l.release().await.unwrap();

    let s3_backend = common::backend(Duration::from_secs(5)).await;
    let copied = migrate(&local, &s3_backend, "prod", Duration::ZERO).await.unwrap();
    assert!(matches!(copied, Migrated::Copied(ref v) if v.serial == 12), "{copied:?}");
    let (in_s3, _) = s3_backend.read("prod").await.unwrap().unwrap();
    assert_eq!(in_s3, state);

    // An apply in S3, then back into a fresh local directory.
    let l = s3_backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    let (_, v) = s3_backend.read("prod").await.unwrap().unwrap();
    let moved_on = sample_state(&state, 13, "applied in s3");
    s3_backend.write(&*l, &moved_on, Some(&v)).await.unwrap();
    l.release().await.unwrap();
    let back = LocalBackend::new(dir.path().join("b"));
    migrate(&s3_backend, &back, "prod", Duration::ZERO).await.unwrap();
    let (local_again, _) = back.read("prod").await.unwrap().unwrap();
    assert_eq!(local_again, moved_on);
    assert_eq!(local_again.lineage, state.lineage);
    // Migrating the older local copy over the newer S3 state is refused.
    let err = migrate(&local, &s3_backend, "prod", Duration::ZERO).await.unwrap_err();
    assert!(matches!(err, Error::Migration { .. }), "{err}");
}

/// A state of `n` resources besides the sample's.
fn big_state(n: usize) -> infra_core::State {
    let mut state = sample_state(&new_state().unwrap(), 1, "big");
    let vpc = state.resources[&infra_core::Address::parse("net.vpc").unwrap()].clone();
    for i in 0..n {
        let mut r = vpc.clone();
        r.id = format!("vpc-{i:017x}");
        state.resources.insert(infra_core::Address::parse(&format!("net.r-{i:03}")).unwrap(), r);
    }
    state
}

/// An operation's writes are journal entries of what changed, not the
/// whole state each time; the operation's end (`settle`) stores the state
/// whole once. An operation killed before its end leaves a journal that
/// another process reads exactly, and the next operation stores it whole
/// first, so the history still names one object per operation.
#[tokio::test]
async fn writes_store_what_changed_and_a_killed_operations_journal_is_read_then_settled() {
    let proxy = infra_testkit::faults::FaultProxy::start(&common::moto().endpoint()).unwrap();
    let config = common::config(Duration::from_secs(30));
    let sdk = infra_testkit::loopback_sdk_config(&proxy.endpoint(), common::REGION).unwrap();
    let backend = S3Backend::with_sdk_config(config.clone(), &sdk).unwrap();
    backend.bootstrap().await.unwrap();
    let state = big_state(300);
    let size = infra_state::encode(&state).unwrap().len() as u64;
    let l = backend.lock("prod", "apply", Duration::from_secs(5)).await.unwrap();
    let v = backend.write(&*l, &state, None).await.unwrap();
    let v = backend.settle(&*l, &v).await.unwrap();

    // A one-resource change as an apply writes it: twice (intent, result).
    proxy.reset_counts();
    let vpc = infra_core::Address::parse("net.r-007").unwrap();
    let mut changed = state.clone();
    changed.serial = 2;
    let mut steps = Vec::new();
    for name in ["intent", "result"] {
        let r = changed.resources.get_mut(&vpc).unwrap();
        r.outputs.insert("marker".into(), infra_core::Value::from(name));
        steps.push(changed.clone());
    }
    let mut version = v;
    for step in &steps {
        version = backend.write(&*l, step, Some(&version)).await.unwrap();
    }
    let journaled = proxy.counts().put_bytes;
    assert!(
        journaled > 0 && journaled * 20 < size,
        "two one-resource writes put {journaled} bytes; the state is {size}"
    );
    let settled = backend.settle(&*l, &version).await.unwrap();
    let op = proxy.counts().put_bytes;
    assert!(op <= 2 * size, "the operation put {op} bytes; the state is {size}");

    // Another operation, killed after its first write: no settle.
    let mut killed = changed.clone();
    killed.serial = 3;
    killed.resources.remove(&infra_core::Address::parse("net.r-100").unwrap());
    let killed_at = backend.write(&*l, &killed, Some(&settled)).await.unwrap();
    drop(backend);
    // A fresh process reads the journal exactly…
    let other = common::backend_with(config).await;
    let (read, at) = other.read("prod").await.unwrap().unwrap();
    assert_eq!(read, killed);
    assert_eq!(at, killed_at);
    // …and its next operation stores the killed one whole first.
    let mut next = killed.clone();
    next.serial = 4;
    next.resources.remove(&infra_core::Address::parse("net.r-200").unwrap());
    let v4 = other.write(&*l, &next, Some(&killed_at)).await.unwrap();
    other.settle(&*l, &v4).await.unwrap();
    assert_eq!(other.read("prod").await.unwrap().unwrap().0, next);
    let history = other.history("prod").await.unwrap();
    let entry = history.iter().find(|h| h.serial == 3).expect("the killed operation in the history");
    assert_eq!(other.read_version("prod", &entry.version_id).await.unwrap(), killed);
    l.release().await.unwrap();
}
