//! Deleting data is never silent: a plan that would delete or replace an
//! Aurora cluster, a Redis replication group or a bucket that holds
//! objects, while the declaration does not say what happens to the data
//! (`on_delete`), is refused at plan time — before any call — naming the
//! address and the field; a decided delete shows the final snapshot in the
//! plan. Planner-only: no cloud is involved, so nothing can be called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use infra_aws::elasticache::ReplicationGroup;
use infra_aws::ids::SecurityGroupId;
use infra_aws::rds::AuroraCluster;
use infra_aws::s3::Bucket;
use infra_core::plan::{PlanOptions, plan, plan_destroy};
use infra_core::{Action, Error, Fields, Input, OnDelete, ProviderConfig, ResourceDecl, Stack, State, Value};
use infra_tests::{default_outputs, empty_state, fake_apply_with};

fn stack(build: impl FnOnce(&mut Stack)) -> Stack {
    let mut s = Stack::new("data");
    s.provider(ProviderConfig::aws("us-east-1"));
    build(&mut s);
    s
}

fn cluster(id: &str, on_delete: Option<OnDelete>) -> AuroraCluster {
    AuroraCluster {
        cluster_identifier: id.into(),
        engine: "aurora-postgresql".into(),
        master_username: Some("dbadmin".into()),
        manage_master_user_password: Some(true),
        vpc_security_group_ids: vec![Input::Value(SecurityGroupId::unchecked("sg-0123456789abcdef0"))],
        on_delete,
        ..Default::default()
    }
}

fn cache(on_delete: Option<OnDelete>) -> ReplicationGroup {
    ReplicationGroup {
        replication_group_id: "prod-redis".into(),
        description: "cache".into(),
        node_type: "cache.t4g.micro".into(),
        on_delete,
        ..Default::default()
    }
}

fn bucket(on_delete: Option<OnDelete>) -> Bucket {
    Bucket { bucket: "prod-static-assets-7f3a".into(), on_delete, ..Default::default() }
}

/// Applies `before` with buckets reporting `holds_objects`, then plans
/// `after`.
fn applied(before: &Stack, holds_objects: bool) -> State {
    let mut state = empty_state();
    let p = plan(before, &state, &PlanOptions::default()).unwrap();
    let outputs = move |d: &ResourceDecl, id: &str| -> Fields {
        let mut o = default_outputs(d, id);
        if o.contains_key("holds_objects") {
            o.insert("holds_objects".into(), Value::Bool(holds_objects));
        }
        o
    };
    fake_apply_with(before, &mut state, &p, &outputs);
    state
}

/// The refusals' lines (`address: field `f`: message`), or the plan's changes
/// as `<action> <address>: <reason>`.
fn check(result: Result<infra_core::Plan, Error>) -> Vec<String> {
    match result {
        Err(Error::Refused(d)) => d.0.iter().map(|d| d.to_string()).collect(),
        Err(e) => panic!("{e}"),
        Ok(p) => p
            .actionable()
            .map(|c| format!("{:?} {}: {}", c.action, c.address, c.reason.clone().unwrap_or_default()))
            .collect(),
    }
}

fn refusal(lines: &[String], address: &str, what: &str) {
    let line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{address}: field `on_delete`: ")))
        .unwrap_or_else(|| panic!("no refusal naming {address} and on_delete: {lines:?}"));
    assert!(line.contains(&format!("the plan would {what} it")), "{line}");
    assert!(line.contains("OnDelete::FinalSnapshot") && line.contains("OnDelete::DeleteData"), "{line}");
}

#[test]
fn removing_undecided_data_is_refused_naming_the_address_and_the_field() {
    let before = stack(|s| {
        s.add("db", cluster("product-db", None));
        s.add("cache", cache(None));
        s.add("assets", bucket(None));
    });
    let state = applied(&before, true);
    let lines = check(plan(&stack(|_| {}), &state, &PlanOptions::default()));
    assert_eq!(lines.len(), 3, "{lines:?}");
    for address in ["db", "cache", "assets"] {
        refusal(&lines, address, "delete");
    }
    // A destroy is refused the same way, with no stack program.
    let lines = check(plan_destroy("data", &state, &[]));
    assert_eq!(lines.len(), 3, "{lines:?}");
    refusal(&lines, "db", "delete");
}

#[test]
fn replacing_undecided_data_is_refused() {
    let before = stack(|s| {
        s.add("db", cluster("product-db", None));
    });
    let state = applied(&before, true);
    let after = stack(|s| {
        s.add("db", cluster("product-db-2", None));
    });
    refusal(&check(plan(&after, &state, &PlanOptions::default())), "db", "replace");
}

#[test]
fn an_empty_bucket_is_deleted_without_a_decision() {
    let before = stack(|s| {
        s.add("assets", bucket(None));
    });
    let lines = check(plan(&stack(|_| {}), &applied(&before, false), &PlanOptions::default()));
    assert_eq!(lines, ["Delete assets: no longer declared"]);
}

#[test]
fn a_decided_delete_shows_the_final_snapshot_in_the_plan() {
    let before = stack(|s| {
        s.add("db", cluster("product-db", Some(OnDelete::FinalSnapshot("product-db-final".into()))));
        s.add("cache", cache(Some(OnDelete::DeleteData)));
        s.add("assets", bucket(Some(OnDelete::DeleteData)));
    });
    let state = applied(&before, true);
    let p = plan(&stack(|_| {}), &state, &PlanOptions::default()).unwrap();
    assert!(p.actionable().all(|c| c.action == Action::Delete));
    let mut lines = check(Ok(p.clone()));
    lines.sort();
    assert_eq!(
        lines,
        [
            "Delete assets: no longer declared; its data will be deleted with it (no final snapshot)",
            "Delete cache: no longer declared; its data will be deleted with it (no final snapshot)",
            "Delete db: no longer declared; a final snapshot `product-db-final` will be taken",
        ]
    );
    // The rendered plan, which reads only the plan, shows it too.
    let text = infra_core::plan::render::render(&p, Default::default());
    assert!(text.contains("a final snapshot `product-db-final` will be taken"), "{text}");
}

#[test]
fn deciding_is_an_update_that_then_lets_the_delete_through() {
    let before = stack(|s| {
        s.add("db", cluster("product-db", None));
    });
    let mut state = applied(&before, true);
    let decided = stack(|s| {
        s.add("db", cluster("product-db", Some(OnDelete::FinalSnapshot("last".into()))));
    });
    let p = plan(&decided, &state, &PlanOptions::default()).unwrap();
    assert_eq!(check(Ok(p.clone())), ["Update db: on_delete changed"]);
    fake_apply_with(&decided, &mut state, &p, &default_outputs);
    let lines = check(plan(&stack(|_| {}), &state, &PlanOptions::default()));
    assert_eq!(lines, ["Delete db: no longer declared; a final snapshot `last` will be taken"]);
}
