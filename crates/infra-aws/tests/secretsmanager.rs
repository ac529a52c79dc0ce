//! Secrets Manager on the emulator: each type's lifecycle in both regions
//! (create, refreshed plan empty, update in place, plan empty, force-new
//! replace in the right order, destroy); lost answers of CreateSecret and
//! PutSecretValue through the fault-injecting proxy; a declared value and a
//! generated password that are in Secrets Manager and nowhere else (plan,
//! state, events); drift; a name scheduled for deletion.
//!
//! Rotation is not exercised here: the emulator has no Lambda to rotate
//! with (RotateSecret with a missing function answers 404 yet records the
//! rotation), and this crate has no Lambda client to make one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::ids::{KmsKeyArn, SecretArn};
use infra_aws::secretsmanager::{GeneratedPassword, Secret, SecretVersion};
use infra_core::plan::PlanOptions;
use infra_core::{Handle, Options, ProviderKey, ReplaceOrder, Sensitive, Stack};
use infra_engine::{Event, Mode};
use infra_testkit::faults::{Effect, Fault};

fn sm(w: &World, region: &str) -> aws_sdk_secretsmanager::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_secretsmanager::Client::from_conf(aws_sdk_secretsmanager::config::Builder::from(&sdk).build())
}

fn both<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str); 2] {
    [(us, "us"), (eu, "eu")]
}

fn kms(region: &str) -> infra_core::Input<KmsKeyArn> {
    KmsKeyArn::new(format!("arn:aws:kms:{region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
        .unwrap()
        .into()
}

/// A secret `name`; v1 changes everything that changes in place.
fn declare_secret(s: &mut Stack, key: &ProviderKey, address: &str, name: &str, v: u8) -> Handle<Secret> {
    let region = if address.contains("-eu") { "eu-west-1" } else { "us-east-1" };
    s.add_with(
        address,
        Secret {
            name: name.to_owned(),
            description: Some(if v >= 1 { "the database password" } else { "db" }.to_owned()),
            kms_key_id: (v >= 1).then(|| kms(region)),
            recovery_window_in_days: Some(if v >= 1 { 7 } else { 0 }),
            rotation: None,
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
        },
        Options::new().provider(key),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret() {
    lifecycle(
        "secret",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                // v2 renames the secret: a replacement, the new one first.
                let name =
                    if v == 2 { format!("prod/{r}/db-password-2") } else { format!("prod/{r}/db-password") };
                declare_secret(s, key, &format!("db-{r}"), &name, v);
            }
        },
        &["db-us", "db-eu"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_version() {
    lifecycle(
        "version",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                // v1 updates the secret; the value stays. v2 changes the value.
                let secret = declare_secret(s, key, &format!("api-{r}"), &format!("prod/{r}/api"), v.min(1));
                s.add_with(
                    &format!("api-{r}-value"),
                    SecretVersion {
                        secret_id: secret.arn().into(),
                        secret_string: Sensitive(format!("{{\"key\":\"value-{r}-{}\"}}", v / 2)),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["api-us-value", "api-eu-value"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_password() {
    lifecycle(
        "password",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                let secret = declare_secret(s, key, &format!("pw-{r}"), &format!("prod/{r}/pw"), v.min(1));
                s.add_with(
                    &format!("pw-{r}-value"),
                    GeneratedPassword {
                        secret_id: secret.arn().into(),
                        length: if v == 2 { 40 } else { 24 },
                        exclude_characters: Some("/@\" ".into()),
                        exclude_punctuation: Some(false),
                        require_each_included_type: Some(true),
                        ..Default::default()
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["pw-us-value", "pw-eu-value"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// The current value of `secret`, asked of the emulator directly.
async fn current(w: &World, region: &str, secret: &str) -> String {
    let out = sm(w, region).get_secret_value().secret_id(secret).send().await.unwrap();
    out.secret_string().unwrap().to_owned()
}

/// The versions of `secret`.
async fn version_count(w: &World, region: &str, secret: &str) -> usize {
    let out = sm(w, region).describe_secret().secret_id(secret).send().await.unwrap();
    out.version_ids_to_stages().map_or(0, |v| v.len())
}

async fn secret_names(w: &World, region: &str) -> Vec<String> {
    let out = sm(w, region).list_secrets().include_planned_deletion(true).send().await.unwrap();
    out.secret_list().iter().filter_map(|s| s.name().map(str::to_owned)).collect()
}

const DECLARED: &str = "s3cr3t-VALUE-3f9a1c";

/// A secret with a declared value and one with a generated password.
fn secrets_stack(name: &str, value: &str) -> Stack {
    let (mut s, us, _) = stack(name);
    let a = declare_secret(&mut s, &us, "a", &format!("{name}/declared"), 0);
    s.add_with(
        "a-value",
        SecretVersion { secret_id: a.arn().into(), secret_string: Sensitive(value.to_owned()) },
        Options::new().provider(&us),
    );
    let b = declare_secret(&mut s, &us, "b", &format!("{name}/generated"), 0);
    s.add_with(
        "b-value",
        GeneratedPassword { secret_id: b.arn().into(), length: 32, ..Default::default() },
        Options::new().provider(&us),
    );
    s.export("generated_secret", b.arn());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_secret_and_one_version() {
    let cases = [
        ("CreateSecret", Effect::LoseResponse),
        ("CreateSecret", Effect::Throttle),
        ("CreateSecret", Effect::Unavailable),
        ("PutSecretValue", Effect::LoseResponse),
        ("PutSecretValue", Effect::Unavailable),
    ];
    for (i, (action, effect)) in cases.into_iter().enumerate() {
        let w = world_through_proxy();
        let name = format!("lost{i}");
        let stack = secrets_stack(&name, DECLARED);
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        let mut names = secret_names(&w, "us-east-1").await;
        names.sort();
        assert_eq!(names, [format!("{name}/declared"), format!("{name}/generated")], "{action} {effect:?}");
        assert_eq!(o.state.resources.len(), 4, "{action} {effect:?}");
        for s in ["declared", "generated"] {
            assert_eq!(
                version_count(&w, "us-east-1", &format!("{name}/{s}")).await,
                1,
                "{action} {effect:?} {s}"
            );
        }
        assert_eq!(current(&w, "us-east-1", &format!("{name}/declared")).await, DECLARED);
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

/// Every place the engine writes: the plans (rendered and JSON), the state
/// (serialized) and the events (Debug-formatted).
fn written(plans: &[&infra_core::plan::Plan], state: &infra_core::State, events: &[Event]) -> String {
    let mut all = String::new();
    for p in plans {
        all.push_str(&infra_core::plan::render::render(p, Default::default()));
        all.push_str(&p.to_json().unwrap());
    }
    all.push_str(&serde_json::to_string(state).unwrap());
    all.push_str(&format!("{events:?}"));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_value_is_in_secrets_manager_and_nowhere_else() {
    let w = world();
    let stack = secrets_stack("hidden", DECLARED);
    let (created, events) = w.apply(&stack).await;
    let generated = current(&w, "us-east-1", "hidden/generated").await;
    assert_eq!(generated.len(), 32);
    assert_eq!(current(&w, "us-east-1", "hidden/declared").await, DECLARED);

    // A new value: the plan replaces the version, showing neither value.
    let changed = secrets_stack("hidden", "n3w-VALUE-77e0b2");
    let (replaced, more) = w.apply(&changed).await;
    assert!(
        matches!(replaced.plan.change(&addr("a-value")).unwrap().action, infra_core::Action::Replace { .. }),
        "{:?}",
        replaced.plan.change(&addr("a-value"))
    );
    assert_eq!(current(&w, "us-east-1", "hidden/declared").await, "n3w-VALUE-77e0b2");
    let (refreshed, last) = w.run(&changed, Mode::Apply(PlanOptions::default())).await;
    assert!(refreshed.plan.is_empty(), "{:?}", refreshed.plan);

    let state = w.state("hidden").await;
    let mut all_events = events;
    all_events.extend(more);
    all_events.extend(last);
    let text = written(&[&created.plan, &replaced.plan, &refreshed.plan], &state, &all_events);
    for secret in [DECLARED, "n3w-VALUE-77e0b2", generated.as_str()] {
        assert!(!text.contains(secret), "a secret value was written out");
    }
    // What was written does show the secrets' existence.
    assert!(text.contains("(sensitive)"), "the plan shows the value as sensitive");
    let recorded = &state.resources[&addr("a-value")].inputs["secret_string"];
    assert!(matches!(recorded, infra_core::Value::SecretHash(_)), "{recorded:?}");
    assert!(!state.resources[&addr("b-value")].outputs.contains_key("password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_put_outside_the_stack_is_put_back() {
    let w = world();
    let stack = secrets_stack("drift", DECLARED);
    w.apply(&stack).await;
    let client = sm(&w, "us-east-1");
    client.put_secret_value().secret_id("drift/declared").secret_string("someone-else").send().await.unwrap();
    client.update_secret().secret_id("drift/generated").description("changed").send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let actions: BTreeMap<_, _> =
        o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(matches!(actions["a-value"], infra_core::Action::Create), "{actions:?}");
    assert!(matches!(actions["b"], infra_core::Action::Update), "{actions:?}");
    assert_eq!(current(&w, "us-east-1", "drift/declared").await, DECLARED);
    // The generated password is not generated again.
    assert_eq!(version_count(&w, "us-east-1", "drift/generated").await, 1);
    assert!(w.converged(&stack).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_scheduled_for_deletion_is_restored_when_it_was_this_secret_and_refused_otherwise() {
    let w = world();
    let (mut s, us, _) = stack("sched");
    declare_secret(&mut s, &us, "kept", "sched/kept", 1);
    w.apply(&s).await;
    w.destroy(&s).await;
    let described = sm(&w, "us-east-1").describe_secret().secret_id("sched/kept").send().await.unwrap();
    assert!(described.deleted_date().is_some(), "a recovery window of 7 days schedules the deletion");
    // Applied again: the scheduled secret was this address's; it is back.
    let (o, _) = w.apply(&s).await;
    assert_eq!(o.state.resources.len(), 1);
    let described = sm(&w, "us-east-1").describe_secret().secret_id("sched/kept").send().await.unwrap();
    assert!(described.deleted_date().is_none(), "restored");
    assert!(w.converged(&s).await);

    // Someone else's secret scheduled for deletion: refused, saying why.
    let client = sm(&w, "us-east-1");
    client.create_secret().name("sched/other").send().await.unwrap();
    client.delete_secret().secret_id("sched/other").recovery_window_in_days(7).send().await.unwrap();
    let (mut s2, us2, _) = stack("sched2");
    declare_secret(&mut s2, &us2, "other", "sched/other", 0);
    let (o, _) = w.run(&s2, Mode::Apply(PlanOptions::default())).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let error = &o.report.failed[0].2;
    assert!(error.contains("scheduled for deletion") && error.contains("sched/other"), "{error}");
    let described = client.describe_secret().secret_id("sched/other").send().await.unwrap();
    assert!(described.deleted_date().is_some(), "someone else's secret was restored");
}

#[test]
fn settings_aws_refuses_are_reported_before_any_call() {
    let (mut s, us, _) = stack("invalid");
    let secret = s.add_with(
        "bad",
        Secret { name: "bad name!".into(), recovery_window_in_days: Some(3), ..Default::default() },
        Options::new().provider(&us),
    );
    s.add_with(
        "bad-pw",
        GeneratedPassword { secret_id: secret.arn().into(), length: 3, ..Default::default() },
        Options::new().provider(&us),
    );
    s.add_with(
        "bad-arn",
        SecretVersion {
            secret_id: SecretArn::new("arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
                .unwrap()
                .into(),
            secret_string: Sensitive("x".repeat(70_000)),
        },
        Options::new().provider(&us),
    );
    let report = s.validate().unwrap_err().to_string();
    for field in ["name", "recovery_window_in_days", "length", "secret_string"] {
        assert!(report.contains(field), "{field}: {report}");
    }
    assert!(!report.contains("xxxxxxxx"), "a secret value in a validation message");
}
