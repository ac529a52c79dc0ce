//! The seeds' hardest patterns, expressed with the model: jsonencode'd
//! container definitions wired to other resources' outputs, interpolated
//! resource IDs, secrets, `ignore_changes`, hidden `depends_on`,
//! create-before-destroy, structured outputs (ACM validation records) and
//! two regions. The resource structs here are minimal stand-ins shaped like
//! the Terraform resources in `../shared/seeds/`; the typed AWS resources
//! follow the same pattern in `infra-aws`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use infra_core::plan::{PlanOptions, plan};
use infra_core::{
    Action, Fields, Input, JsonEncoded, Options, Output, ProviderConfig, Sensitive, Stack, Value, interpolate,
};
use infra_derive::Resource;
use infra_tests::{addr, default_outputs, empty_state, fake_apply_with};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:logs:LogGroup", outputs(name: String, arn: String))]
struct LogGroup {
    #[resource(force_new)]
    name: String,
    retention_in_days: i64,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ecr:Repository", outputs(repository_url: String))]
struct Repository {
    #[resource(force_new)]
    name: String,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:secretsmanager:Secret", outputs(arn: String))]
struct Secret {
    #[resource(force_new)]
    name: String,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:secretsmanager:SecretVersion", outputs(version_id: String))]
struct SecretVersion {
    #[resource(force_new)]
    secret_id: Input<String>,
    #[resource(secret)]
    secret_string: Input<String>,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:rds:Cluster", outputs(endpoint: String, engine_version: String))]
struct RdsCluster {
    #[resource(force_new)]
    cluster_identifier: String,
    master_username: String,
    #[resource(secret)]
    master_password: String,
    backup_retention_period: i64,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ecs:TaskDefinition", outputs(arn: String), replace = "create_before_destroy")]
struct TaskDefinition {
    #[resource(force_new)]
    family: String,
    #[resource(force_new)]
    container_definitions: Input<String>,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ecs:Service", outputs(name: String))]
struct EcsService {
    #[resource(force_new)]
    name: String,
    task_definition: Input<String>,
    desired_count: i64,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:appautoscaling:Target", outputs(resource_id: String))]
struct ScalableTarget {
    #[resource(force_new)]
    resource_id: Input<String>,
    min_capacity: i64,
    max_capacity: i64,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:acm:Certificate", outputs(arn: String, domain_validation_options: String))]
struct Certificate {
    #[resource(force_new)]
    domain_name: String,
    #[resource(force_new)]
    subject_alternative_names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:route53:Record", outputs(fqdn: String))]
struct Record {
    #[resource(force_new)]
    name: Input<String>,
    #[resource(force_new)]
    r#type: Input<String>,
    records: Vec<Input<String>>,
    ttl: i64,
}

#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:elbv2:Listener", outputs(arn: String))]
struct Listener {
    port: i64,
}

#[derive(Serialize)]
struct KeyValue {
    name: &'static str,
    value: Input<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretRef {
    name: &'static str,
    value_from: Output<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: &'static str,
    image: Input<String>,
    environment: Vec<KeyValue>,
    secrets: Vec<SecretRef>,
    log_configuration: BTreeMap<&'static str, Input<String>>,
}

fn app(stack: &mut Stack, region: &str, db_password: &str, image_tag: &str) {
    let key = stack.provider(ProviderConfig::aws(region));
    let mut s = stack.scope(region).with_provider(&key);
    let logs = s.add("logs", LogGroup { name: "/ecs/product-service".into(), retention_in_days: 30 });
    let repo = s.add("repo", Repository { name: "product".into() });
    let secret = s.add("db-secret", Secret { name: "prod/database/password".into() });
    s.add(
        "db-secret-version",
        SecretVersion {
            secret_id: secret.arn().into(),
            secret_string: JsonEncoded(BTreeMap::from([("password", Sensitive(db_password.to_owned()))]))
                .into(),
        },
    );
    let db = s.add_with(
        "db",
        RdsCluster {
            cluster_identifier: "product-db-primary".into(),
            master_username: "dbadmin".into(),
            master_password: db_password.into(),
            backup_retention_period: 35,
        },
        Options::new().protect(),
    );
    let task = s.add(
        "task",
        TaskDefinition {
            family: "product-service".into(),
            container_definitions: JsonEncoded(vec![Container {
                name: "product-service",
                image: interpolate!(repo.repository_url(), ":", image_tag).into(),
                environment: vec![KeyValue { name: "DB_HOST", value: db.endpoint().into() }],
                secrets: vec![SecretRef { name: "DB_PASSWORD", value_from: secret.arn() }],
                log_configuration: BTreeMap::from([
                    ("awslogs-group", logs.name().into()),
                    ("awslogs-region", region.into()),
                ]),
            }])
            .into(),
        },
    );
    let listener = s.add("https", Listener { port: 443 });
    let svc = s.add_with(
        "service",
        EcsService { name: "product".into(), task_definition: task.arn().into(), desired_count: 2 },
        Options::new().ignore_changes(["desired_count"]).depends_on(&listener),
    );
    s.add(
        "scaling",
        ScalableTarget {
            resource_id: interpolate!("service/prod-cluster/", svc.name()).into(),
            min_capacity: 2,
            max_capacity: 20,
        },
    );
    let cert = s.add_with(
        "cert",
        Certificate {
            domain_name: "example.com".into(),
            subject_alternative_names: vec!["*.example.com".into()],
        },
        Options::new().create_before_destroy(),
    );
    for i in 0..2 {
        s.add(
            &format!("cert-validation-{i}"),
            Record {
                name: cert.output(&format!("domain_validation_options.{i}.resource_record_name")).into(),
                r#type: cert.output(&format!("domain_validation_options.{i}.resource_record_type")).into(),
                records: vec![
                    cert.output(&format!("domain_validation_options.{i}.resource_record_value")).into(),
                ],
                ttl: 60,
            },
        );
    }
}

fn outputs(decl: &infra_core::ResourceDecl, id: &str) -> Fields {
    let mut out = default_outputs(decl, id);
    if decl.schema.type_name == "aws:acm:Certificate" {
        let record = |n: &str| {
            Value::Map(BTreeMap::from([
                ("resource_record_name".to_string(), Value::from(format!("_{n}.example.com."))),
                ("resource_record_type".to_string(), Value::from("CNAME")),
                ("resource_record_value".to_string(), Value::from(format!("_{n}.acm-validations.aws."))),
            ]))
        };
        out.insert("domain_validation_options".into(), Value::List(vec![record("a"), record("b")]));
    }
    out
}

fn seed_stack(password: &str, tag: &str) -> Stack {
    let mut stack = Stack::new("prod");
    app(&mut stack, "us-east-1", password, tag);
    app(&mut stack, "eu-west-1", password, tag);
    stack
}

#[test]
fn seed_patterns_plan_apply_and_converge() {
    let stack = seed_stack("s3cret-pw", "v1");
    let graph = stack.validate().unwrap();
    // Hidden dependency and reference edges are both in the graph.
    assert!(graph.dependencies(&addr("us-east-1.service")).contains(&&addr("us-east-1.https")));
    assert!(graph.dependencies(&addr("us-east-1.task")).contains(&&addr("us-east-1.db")));

    let mut state = empty_state();
    let p = plan(&stack, &state, &PlanOptions::default()).unwrap();
    assert_eq!(p.summary().add, 2 * 12);
    fake_apply_with(&stack, &mut state, &p, &outputs);

    // JSON-encoded container definitions with every reference resolved.
    let task = &state.resources[&addr("eu-west-1.task")];
    let defs: serde_json::Value =
        serde_json::from_str(task.inputs["container_definitions"].as_str().unwrap()).unwrap();
    let c = &defs[0];
    assert_eq!(c["image"], format!("{}/repository_url:v1", state.resources[&addr("eu-west-1.repo")].id));
    assert_eq!(
        c["environment"][0]["value"],
        format!("{}/endpoint", state.resources[&addr("eu-west-1.db")].id)
    );
    assert_eq!(
        c["secrets"][0]["valueFrom"],
        format!("{}/arn", state.resources[&addr("eu-west-1.db-secret")].id)
    );
    assert_eq!(c["logConfiguration"]["awslogs-region"], "eu-west-1");
    // Interpolated resource ID and structured outputs.
    assert_eq!(
        state.resources[&addr("us-east-1.scaling")].inputs["resource_id"],
        "service/prod-cluster/service".into()
    );
    assert_eq!(
        state.resources[&addr("us-east-1.cert-validation-1")].inputs["name"],
        "_b.example.com.".into()
    );
    // Secrets: only digests in state.
    let text = serde_json::to_string(&state).unwrap();
    assert!(!text.contains("s3cret-pw"));
    assert!(matches!(
        state.resources[&addr("us-east-1.db-secret-version")].inputs["secret_string"],
        Value::SecretHash(_)
    ));

    assert!(plan(&stack, &state, &PlanOptions::default()).unwrap().is_empty());

    // A new image tag replaces the task definitions create-before-destroy and
    // updates the services in place.
    let next = seed_stack("s3cret-pw", "v2");
    let p = plan(&next, &state, &PlanOptions::default()).unwrap();
    let actions: Vec<(String, &Action)> =
        p.actionable().map(|c| (c.address.to_string(), &c.action)).collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert!(matches!(p.change(&addr("us-east-1.task")).unwrap().action, Action::Replace { .. }));
    assert_eq!(p.change(&addr("us-east-1.service")).unwrap().action, Action::Update);

    // A rotated password updates the secret and the cluster, never shown.
    let rotated = seed_stack("n3w-pw", "v1");
    let p = plan(&rotated, &state, &PlanOptions::default()).unwrap();
    let changed: Vec<String> = p.actionable().map(|c| c.address.to_string()).collect();
    assert_eq!(
        changed,
        ["eu-west-1.db", "eu-west-1.db-secret-version", "us-east-1.db", "us-east-1.db-secret-version"]
    );
    assert!(!p.to_json().unwrap().contains("n3w-pw"));
}

#[test]
fn drift_in_an_ignored_field_is_not_planned() {
    let stack = seed_stack("pw", "v1");
    let mut state = empty_state();
    let p = plan(&stack, &state, &PlanOptions::default()).unwrap();
    fake_apply_with(&stack, &mut state, &p, &outputs);
    // The autoscaler moved desired_count; the stack ignores that field.
    state
        .resources
        .get_mut(&addr("us-east-1.service"))
        .unwrap()
        .inputs
        .insert("desired_count".into(), 7.into());
    assert!(plan(&stack, &state, &PlanOptions::default()).unwrap().is_empty());
}
