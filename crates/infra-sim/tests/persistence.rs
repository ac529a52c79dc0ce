//! A persisted cloud survives its process: reloads, and calls cut short.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use infra_core::{Fields, Value};
use infra_engine::ResourceProvider;
use infra_sim::{CallOutcome, Error, Profile, SimCloud, SimConfig, SimStatus};
use tokio::time::{sleep, timeout};

fn on_disk(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn ids_on_disk(path: &Path) -> Vec<String> {
    on_disk(path)["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn seed() -> SimConfig {
    config(Profile::seed())
}

#[tokio::test(start_paused = true)]
async fn a_reloaded_cloud_has_the_same_resources() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");
    let cloud = SimCloud::persisted(&path, seed()).unwrap();
    assert_eq!(ids_on_disk(&path), Vec::<String>::new(), "opening writes the (empty) cloud");

    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let subnet = cloud.provider(us(), "aws:ec2:Subnet");
    let nat = cloud.provider(eu(), "aws:ec2:NatGateway");
    let secret = Value::Secret(Box::new("hunter2".into()));
    let v = vpc.create(create("net.vpc", "v", fields(&[("password", secret)]))).await.unwrap();
    let s = subnet.create(create("net.a", "a", fields(&[("vpc_id", Value::string(&v.id))]))).await.unwrap();
    let n = nat.create(create("net.nat", "n", fields(&[("subnet_id", Value::string(&s.id))]))).await.unwrap();
    let gone = subnet.create(create("net.b", "b", Fields::new())).await.unwrap();
    subnet
        .update(update("net.a", &s.id, s.inputs.clone(), fields(&[("cidr", "10.0.1.0/24".into())])))
        .await
        .unwrap();
    subnet.delete(delete("net.b", &gone.id)).await.unwrap();
    assert_eq!(cloud.resource(&n.id).unwrap().status, SimStatus::Creating);

    let before = cloud.resources();
    drop((vpc, subnet, nat, cloud));
    // Opening an existing file only reads it: a second process opening the
    // cloud while the first changes it must not write back its own copy.
    let written = std::fs::read(&path).unwrap();
    std::fs::write(&path, serde_json::to_vec(&on_disk(&path)).unwrap()).unwrap();
    let compact = std::fs::read(&path).unwrap();
    assert_ne!(written, compact);
    let reloaded = SimCloud::persisted(&path, seed()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), compact, "opening rewrote an existing cloud file");
    let after = reloaded.resources();

    let strip = |rs: &[infra_sim::SimResource]| {
        rs.iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.type_name.clone(),
                    r.provider.clone(),
                    r.region.clone(),
                    r.address.clone(),
                    r.inputs.clone(),
                    r.outputs.clone(),
                    r.tags.clone(),
                    r.token.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&after), strip(&before));
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|r| r.status == SimStatus::Available), "after a load everything is ready");
    assert_eq!(
        after[0].inputs.get("password"),
        Some(&Value::string("hunter2")),
        "a fake cloud keeps plaintext"
    );
    assert_eq!(after[1].inputs.get("cidr"), Some(&Value::string("10.0.1.0/24")));

    // IDs are never reused across a reload.
    let next =
        reloaded.provider(us(), "aws:ec2:Subnet").create(create("net.c", "c", Fields::new())).await.unwrap();
    assert_eq!(next.id, "subnet-00000005");
    assert_eq!(on_disk(&path)["format"], 1);
}

#[tokio::test(start_paused = true)]
async fn a_create_killed_mid_latency_leaves_the_resource_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");
    let slow = || {
        config(Profile::uniform(Duration::from_secs(60), Duration::ZERO))
            .with_api_latency(Duration::from_millis(100))
    };
    let cloud = SimCloud::persisted(&path, slow()).unwrap();
    let db = cloud.provider(us(), "aws:rds:Cluster");
    let inputs = fields(&[("engine", "aurora-postgresql".into())]);

    // Dropped before the request arrived: nothing happened.
    assert!(
        timeout(Duration::from_millis(50), db.create(create("db.main", "tok", inputs.clone())))
            .await
            .is_err()
    );
    assert!(ids_on_disk(&path).is_empty());

    // Dropped after the insert, during the create latency: the process dies
    // without learning the ID, but the cloud has the resource.
    assert!(
        timeout(Duration::from_secs(1), db.create(create("db.main", "tok", inputs.clone()))).await.is_err()
    );
    assert_eq!(ids_on_disk(&path), ["sim-00000001"]);
    let log = cloud.call_log();
    assert_eq!(
        log.iter().map(|c| c.outcome.clone()).collect::<Vec<_>>(),
        [CallOutcome::Cancelled, CallOutcome::Cancelled]
    );
    assert_eq!(log[1].id.as_deref(), Some("sim-00000001"));
    drop((db, cloud));

    // The next process finds it by token, and a retried create does not duplicate it.
    let reloaded = SimCloud::persisted(&path, slow()).unwrap();
    let db = reloaded.provider(us(), "aws:rds:Cluster");
    let found = db.find(find("db.main", "tok")).await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), &found.inputs), ("sim-00000001", &inputs));
    let retried = db.create(create("db.main", "tok", inputs)).await.unwrap();
    assert_eq!(retried, found);
    assert_eq!(reloaded.count_by_address().get(&addr("db.main")), Some(&1));
}

#[tokio::test(start_paused = true)]
async fn a_delete_cut_short_has_completed_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");
    let slow = || config(Profile::uniform(Duration::from_secs(60), Duration::ZERO));
    let cloud = SimCloud::persisted(&path, slow()).unwrap();
    let nat = cloud.provider(us(), "aws:ec2:NatGateway");
    let obs = nat.create(create("net.nat", "tok", Fields::new())).await.unwrap();
    assert!(timeout(Duration::from_secs(1), nat.delete(delete("net.nat", &obs.id))).await.is_err());
    assert_eq!(on_disk(&path)["resources"][0]["deleting"], true);

    // Another process loading now sees the delete as done.
    assert!(SimCloud::persisted(&path, slow()).unwrap().resources().is_empty());
    // And this process's cloud finishes it too, on disk included.
    sleep(Duration::from_secs(60)).await;
    assert!(cloud.resources().is_empty());
    assert!(ids_on_disk(&path).is_empty());
}

#[tokio::test(start_paused = true)]
async fn every_change_is_on_disk_when_it_happens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");
    let cloud = SimCloud::persisted(&path, config(Profile::uniform(Duration::ZERO, Duration::ZERO))).unwrap();
    let vpc = cloud.provider(us(), "aws:ec2:Vpc");
    let a = vpc.create(create("net.a", "a", Fields::new())).await.unwrap();
    let b = vpc.create(create("net.b", "b", Fields::new())).await.unwrap();
    assert_eq!(ids_on_disk(&path), [a.id.clone(), b.id.clone()]);
    vpc.update(update("net.a", &a.id, Fields::new(), fields(&[("x", 1.into())]))).await.unwrap();
    assert_eq!(on_disk(&path)["resources"][0]["inputs"]["x"], 1);
    cloud.set_input_outside(&a.id, "x", 2.into()).unwrap();
    assert_eq!(on_disk(&path)["resources"][0]["inputs"]["x"], 2);
    cloud.delete_outside(&a.id).unwrap();
    assert_eq!(ids_on_disk(&path), [b.id.as_str()]);
    vpc.delete(delete("net.b", &b.id)).await.unwrap();
    assert!(ids_on_disk(&path).is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["cloud.json"], "no temporary file is left behind");
}

#[test]
fn unreadable_corrupt_or_newer_files_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");

    std::fs::write(&path, "not json").unwrap();
    let e = SimCloud::persisted(&path, SimConfig::instant()).unwrap_err();
    assert!(matches!(e, Error::Parse { .. }), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");

    std::fs::write(&path, r#"{"format": 2, "next_id": 1, "resources": []}"#).unwrap();
    let e = SimCloud::persisted(&path, SimConfig::instant()).unwrap_err();
    assert!(matches!(e, Error::Format { found: 2, expected: 1, .. }), "{e}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        r#"{"format": 2, "next_id": 1, "resources": []}"#,
        "left alone"
    );

    let e = SimCloud::persisted(dir.path(), SimConfig::instant()).unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
}
