//! DynamoDB on the emulator: a table through its lifecycle in both regions
//! (create with an index, KMS encryption, TTL and point-in-time
//! recovery; refreshed plan empty; an index dropped and one rebuilt,
//! on-demand to provisioned with the kept index's capacity, an index
//! added, a stream added, TTL's
//! attribute, recovery and tags changed in place; a new sort key replaces
//! it destroy-first; destroy waits until it is gone), the state backend's
//! lock table, a lost or refused CreateTable answer leaving one table (the
//! fault proxy), a table holding items refused a delete until `on_delete`
//! decides and then backed up, deletion protection, and bad input refused
//! before any call.
//!
//! Emulator gaps (moto 5.2.5), and what stands in for them:
//! - UpdateTable ignores `SSESpecification`: a new key is not shown by a
//!   read, so the lifecycle keeps one key and
//!   `a_new_encryption_key_is_one_update_table` checks the call is made
//!   (the simulated provider cannot stand in: it replaces the provider
//!   whose calls are under test).
//! - A table that ever had a stream cannot have one enabled again ("Cannot
//!   enable stream": moto keeps the old stream's label), so a new view type
//!   (a disable, then an enable) is not shown; adding a stream is.
//! - DescribeTable has no `TableClassSummary`: `STANDARD` (the default)
//!   reads unset as on AWS, so unset converges; a table class is not
//!   exercised here.
//! - Tables, indexes and deletes are immediate (`ACTIVE` at once, gone at
//!   once; DeleteTable answers `ACTIVE` where AWS says `DELETING`), so the
//!   waits run their first check only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::dynamodb::{
    BillingMode, GlobalSecondaryIndex, KeyAttribute, ProjectionType, StreamViewType, Table, TableEncryption,
    Ttl,
};
use infra_aws::kms::KmsKey;
use infra_core::{OnDelete, Options, ProviderKey, ReplaceOrder, Stack, Value};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

fn ddb(w: &World, region: &str) -> aws_sdk_dynamodb::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&sdk).build())
}

fn by_customer(v: u8) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex {
        name: "by-customer".into(),
        hash_key: KeyAttribute::string("customer"),
        range_key: Some(KeyAttribute::number("placed")),
        projection_type: ProjectionType::Include,
        non_key_attributes: vec!["total".into(), "status".into()],
        read_capacity: (v >= 1).then_some(2),
        write_capacity: (v >= 1).then_some(3),
    }
}

fn declare(s: &mut Stack, key: &ProviderKey, r: &str, v: u8) {
    let kms = s.add_with(&format!("key-{r}"), KmsKey::default(), Options::new().provider(key));
    let capacity = (v >= 1).then_some(1);
    let mut indexes = vec![
        by_customer(v),
        // Rebuilt in v1 (a new projection: dropped, then created).
        GlobalSecondaryIndex {
            name: "by-region".into(),
            hash_key: KeyAttribute::string("region"),
            projection_type: if v == 0 { ProjectionType::KeysOnly } else { ProjectionType::All },
            read_capacity: capacity,
            write_capacity: capacity,
            ..Default::default()
        },
    ];
    if v == 0 {
        // Dropped in v1.
        indexes.push(GlobalSecondaryIndex {
            name: "by-day".into(),
            hash_key: KeyAttribute::string("day"),
            ..Default::default()
        });
    }
    if v >= 1 {
        indexes.push(GlobalSecondaryIndex {
            name: "by-status".into(),
            hash_key: KeyAttribute::string("status"),
            projection_type: ProjectionType::KeysOnly,
            read_capacity: Some(1),
            write_capacity: Some(1),
            ..Default::default()
        });
    }
    s.add_with(
        &format!("orders-{r}"),
        Table {
            name: format!("orders-{r}"),
            hash_key: KeyAttribute::string("pk"),
            range_key: Some(if v == 2 { KeyAttribute::string("sk2") } else { KeyAttribute::number("sk") }),
            billing_mode: if v >= 1 { BillingMode::Provisioned } else { BillingMode::PayPerRequest },
            read_capacity: (v >= 1).then_some(5),
            write_capacity: (v >= 1).then_some(4),
            global_secondary_indexes: indexes,
            point_in_time_recovery: v == 0,
            server_side_encryption: Some(TableEncryption { kms_key_arn: kms.arn().into() }),
            ttl: Some(Ttl { attribute_name: if v == 0 { "expires".into() } else { "expires_at".into() } }),
            stream: (v >= 1).then_some(StreamViewType::KeysOnly),
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
            ..Default::default()
        },
        Options::new().provider(key),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_lifecycle() {
    lifecycle(
        "ddb",
        |s, us, eu, v| {
            declare(s, us, "us", v);
            declare(s, eu, "eu", v);
        },
        &["orders-us", "orders-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// The table infra's S3 state backend locks with (as the seed's
/// `s3-backend` module makes it): partition key `LockID`, on demand.
fn locks() -> Stack {
    let (mut s, us, _) = stack("locks");
    s.add_with(
        "locks",
        Table { name: "infra-locks".into(), hash_key: KeyAttribute::string("LockID"), ..Default::default() },
        Options::new().provider(&us),
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_backend_s_lock_table() {
    let w = world();
    w.apply(&locks()).await;
    assert!(w.converged(&locks()).await);
    let t = ddb(&w, "us-east-1").describe_table().table_name("infra-locks").send().await.unwrap();
    let t = t.table().unwrap();
    assert_eq!(t.key_schema().len(), 1);
    assert_eq!(t.key_schema()[0].attribute_name(), "LockID");
    assert_eq!(t.attribute_definitions()[0].attribute_type().as_str(), "S");
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let o = w.destroy(&locks()).await;
    assert!(o.state.resources.is_empty());
}

/// A stream added, then removed, in place (a new view type is a disable
/// then an enable, which moto refuses: see the module).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_added_and_removed_in_place() {
    let w = world();
    let streamed = |on: bool| {
        let (mut s, us, _) = stack("stream");
        s.add_with(
            "t",
            Table {
                name: "events".into(),
                hash_key: KeyAttribute::string("id"),
                stream: on.then_some(StreamViewType::NewAndOldImages),
                ..Default::default()
            },
            Options::new().provider(&us),
        );
        s
    };
    w.apply(&streamed(false)).await;
    for on in [true, false] {
        let (o, _) = w.apply(&streamed(on)).await;
        assert!(o.plan.actionable().all(|c| c.action == infra_core::Action::Update), "{on}");
        assert!(w.converged(&streamed(on)).await, "{on}");
        let arn = w.state("stream").await.resources[&addr("t")].outputs.get("stream_arn").cloned();
        let Some(Value::String(arn)) = arn else { panic!("no stream_arn output") };
        assert_eq!(arn.contains("/stream/"), on, "{arn}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_table() {
    for effect in [Effect::LoseResponse, Effect::Unavailable] {
        let w = world_through_proxy();
        let (mut s, us, _) = stack("lost");
        s.add_with(
            "t",
            Table {
                name: "lost".into(),
                hash_key: KeyAttribute::string("id"),
                point_in_time_recovery: true,
                ..Default::default()
            },
            Options::new().provider(&us),
        );
        proxy().set(vec![Fault::new("CreateTable", 1, effect)]);
        let (o, _) = w.apply(&s).await;
        assert_eq!(proxy().injected(), vec![("CreateTable".to_owned(), effect)], "{effect:?}: no fault hit");
        proxy().set(Vec::new());
        assert!(o.report.success(), "{effect:?}: {:?}", o.report);
        let tables = ddb(&w, "us-east-1").list_tables().send().await.unwrap();
        assert_eq!(tables.table_names(), ["lost"], "{effect:?}");
        assert!(w.converged(&s).await, "{effect:?}: the plan after apply is not empty");
    }
}

fn data(decision: Option<OnDelete>, protected: bool) -> Stack {
    let (mut s, us, _) = stack("data");
    s.add_with(
        "items",
        Table {
            name: "items".into(),
            hash_key: KeyAttribute::string("id"),
            deletion_protection_enabled: protected,
            on_delete: decision,
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_holding_items_is_deleted_only_when_decided_with_its_final_backup() {
    let w = world();
    w.apply(&data(None, false)).await;
    let holds = |s: &infra_core::State| s.resources[&addr("items")].outputs.get("holds_items").cloned();
    assert_eq!(holds(&w.state("data").await), Some(Value::Bool(false)));
    let c = ddb(&w, "us-east-1");
    let item = aws_sdk_dynamodb::types::AttributeValue::S("a".into());
    c.put_item().table_name("items").item("id", item).send().await.unwrap();
    assert!(w.converged(&data(None, false)).await);
    assert_eq!(holds(&w.state("data").await), Some(Value::Bool(true)));
    let text = refused(&w, &data(None, false), Mode::Destroy { targets: vec![] }).await;
    assert!(text.contains("items") && text.contains("on_delete"), "{text}");
    // A key change would replace it: refused the same way.
    let (mut s, us, _) = stack("data");
    s.add_with(
        "items",
        Table { name: "items".into(), hash_key: KeyAttribute::number("id"), ..Default::default() },
        Options::new().provider(&us),
    );
    let text = refused(&w, &s, Mode::Apply(Default::default())).await;
    assert!(text.contains("replace") && text.contains("on_delete"), "{text}");
    // Deciding makes no call; the destroy backs the table up, then deletes it.
    let decided = data(Some(OnDelete::FinalSnapshot("items-final".into())), false);
    let key = w.stats.first().map(|(k, _)| k.clone()).unwrap();
    w.stats(&key).reset();
    w.apply(&decided).await;
    let writes: Vec<_> = w
        .stats(&key)
        .snapshot()
        .into_iter()
        .filter(|(op, _)| op.starts_with("Update") || op.starts_with("Create") || op.starts_with("Delete"))
        .collect();
    assert!(writes.is_empty(), "deciding on_delete made calls: {writes:?}");
    let o = w.destroy(&decided).await;
    assert!(o.state.resources.is_empty());
    let backups = c.list_backups().table_name("items").send().await.unwrap();
    let names: Vec<_> = backups.backup_summaries().iter().filter_map(|b| b.backup_name()).collect();
    assert_eq!(names, ["items-final"]);
    assert!(c.describe_table().table_name("items").send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_protection_holds_until_turned_off() {
    let w = world();
    w.apply(&data(None, true)).await;
    let (o, _) = w.run(&data(None, true), Mode::Destroy { targets: vec![] }).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    assert!(o.report.failed[0].2.contains("deletion protection"), "{:?}", o.report.failed);
    w.apply(&data(None, false)).await;
    let o = w.destroy(&data(None, false)).await;
    assert!(o.state.resources.is_empty());
}

/// moto ignores a new key in UpdateTable (see the module): the update is
/// shown to make exactly one UpdateTable, with nothing else changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_encryption_key_is_one_update_table() {
    let w = world();
    let encrypted = |k: &str| {
        let (mut s, us, _) = stack("sse");
        let a = s.add_with("key-a", KmsKey::default(), Options::new().provider(&us));
        let b = s.add_with("key-b", KmsKey::default(), Options::new().provider(&us));
        let key = if k == "a" { a.arn() } else { b.arn() };
        s.add_with(
            "t",
            Table {
                name: "sse".into(),
                hash_key: KeyAttribute::string("id"),
                server_side_encryption: Some(TableEncryption { kms_key_arn: key.into() }),
                ..Default::default()
            },
            Options::new().provider(&us),
        );
        s
    };
    w.apply(&encrypted("a")).await;
    assert!(w.converged(&encrypted("a")).await);
    let key = w.stats.first().map(|(k, _)| k.clone()).unwrap();
    w.stats(&key).reset();
    let (o, _) = w.apply(&encrypted("b")).await;
    let change = o.plan.change(&addr("t")).unwrap();
    assert!(matches!(change.action, infra_core::Action::Update), "{change:?}");
    assert_eq!(change.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["server_side_encryption"]);
    assert_eq!(w.stats(&key).snapshot().get("UpdateTable").copied(), Some(1));
}

#[test]
fn bad_tables_are_refused_before_any_call() {
    let (mut s, us, _) = stack("invalid");
    s.add_with(
        "t",
        Table {
            name: "ab".into(),
            hash_key: KeyAttribute::string("id"),
            range_key: Some(KeyAttribute::number("id")),
            read_capacity: Some(5),
            global_secondary_indexes: vec![
                GlobalSecondaryIndex {
                    name: "by-x".into(),
                    hash_key: KeyAttribute::number("x"),
                    projection_type: ProjectionType::Include,
                    ..Default::default()
                },
                GlobalSecondaryIndex {
                    name: "by-x".into(),
                    hash_key: KeyAttribute::string("x"),
                    non_key_attributes: vec!["y".into()],
                    ..Default::default()
                },
            ],
            on_delete: Some(OnDelete::FinalSnapshot("no spaces".into())),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "p",
        Table {
            name: "provisioned".into(),
            hash_key: KeyAttribute::string("id"),
            billing_mode: BillingMode::Provisioned,
            write_capacity: Some(0),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    let Err(e) = s.validate() else { panic!("the stack is invalid") };
    let text = e.to_string();
    for (address, field) in [
        ("t", "name"),
        ("t", "range_key.type"),
        ("t", "range_key.name"),
        ("t", "read_capacity"),
        ("t", "global_secondary_indexes[0].non_key_attributes"),
        ("t", "global_secondary_indexes[1].name"),
        ("t", "global_secondary_indexes[1].hash_key.type"),
        ("t", "global_secondary_indexes[1].non_key_attributes"),
        ("t", "on_delete"),
        ("p", "read_capacity"),
        ("p", "write_capacity"),
    ] {
        let expected = format!("{address}: field `{field}`");
        assert!(text.contains(&expected), "{expected} not reported:\n{text}");
    }
}
