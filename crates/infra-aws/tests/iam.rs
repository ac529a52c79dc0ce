//! IAM on the emulator: each type's lifecycle (create, refreshed plan
//! empty, update in place, plan empty, force-new replace in the right
//! order, destroy), declared under each region's provider (IAM is global);
//! lost answers through the fault-injecting proxy; a name taken by someone
//! else's role is refused, naming `import`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::iam::{
    InstanceProfile, PolicyDocument, Principal, Role, RolePolicy, RolePolicyAttachment, Statement,
};
use infra_aws::ids::PolicyArn;
use infra_core::plan::PlanOptions;
use infra_core::{Handle, Options, ProviderKey, ReplaceOrder, Stack};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

const EXECUTION_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn policy(arn: &str) -> infra_core::Input<PolicyArn> {
    PolicyArn::new(arn).unwrap().into()
}

/// A role per region's provider (`<prefix>-us`, `<prefix>-eu`).
fn declare_role(s: &mut Stack, key: &ProviderKey, name: &str, v: u8) -> Handle<Role> {
    let mut trust = PolicyDocument::assume_role("ecs-tasks.amazonaws.com");
    if v >= 1 {
        // A second principal of the same kind: AWS answers one entry.
        trust.statements[0].principals.push(Principal::service("ec2.amazonaws.com"));
        trust.statements[0] =
            trust.statements[0].clone().condition("StringEquals", "aws:SourceAccount", ["123456789012"]);
    }
    s.add_with(
        name,
        Role {
            name: name.to_owned(),
            path: (v == 2).then(|| "/service-role/".to_owned()),
            assume_role_policy: trust,
            description: (v >= 1).then(|| "the app's tasks".to_owned()),
            max_session_duration: (v >= 1).then_some(7200),
            permissions_boundary: (v >= 1).then(|| policy(READ_ONLY)),
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
        },
        Options::new().provider(key),
    )
}

fn both<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str); 2] {
    [(us, "us"), (eu, "eu")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role() {
    lifecycle(
        "role",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                // v2 moves the role to another path: a replacement.
                declare_role(s, key, &format!("app-{r}"), v);
            }
        },
        &["app-us", "app-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_policy() {
    lifecycle(
        "inline",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                let role = declare_role(s, key, &format!("task-{r}"), 0);
                let bucket = format!("arn:aws:s3:::assets-{r}/*");
                let mut actions = vec!["s3:GetObject"];
                if v >= 1 {
                    actions.push("s3:PutObject");
                }
                s.add_with(
                    &format!("task-{r}-s3"),
                    RolePolicy {
                        role: role.name().into(),
                        name: if v == 2 { "s3-rw".into() } else { "s3".into() },
                        policy: PolicyDocument::new([Statement::allow(actions)
                            .on(bucket.as_str())
                            .on(role.arn())]),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["task-us-s3", "task-eu-s3"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_policy_attachment() {
    lifecycle(
        "attach",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                // v1 updates the role in place; the attachment stays.
                let role = declare_role(s, key, &format!("exec-{r}"), v.min(1));
                s.add_with(
                    &format!("exec-{r}-policy"),
                    RolePolicyAttachment {
                        role: role.name().into(),
                        policy_arn: policy(if v == 2 { READ_ONLY } else { EXECUTION_POLICY }),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["exec-us-policy", "exec-eu-policy"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_profile() {
    lifecycle(
        "profile",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                let a = declare_role(s, key, &format!("web-{r}-a"), 0);
                let b = declare_role(s, key, &format!("web-{r}-b"), 0);
                s.add_with(
                    &format!("web-{r}"),
                    InstanceProfile {
                        name: format!("web-{r}"),
                        path: (v == 2).then(|| "/web/".to_owned()),
                        role: Some(if v == 0 { a.name() } else { b.name() }.into()),
                        tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
                    },
                    Options::new().provider(key),
                );
            }
        },
        &["web-us", "web-eu"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

fn role_stack(name: &str) -> Stack {
    let (mut s, us, _) = stack(name);
    let r = declare_role(&mut s, &us, &format!("{name}-role"), 1);
    s.add_with(
        "policy",
        RolePolicyAttachment { role: r.name().into(), policy_arn: policy(EXECUTION_POLICY) },
        Options::new().provider(&us),
    );
    s
}

/// Roles whose name starts with `prefix`, asked of the emulator directly.
async fn roles(w: &World, prefix: &str) -> Vec<String> {
    let out = w.iam().list_roles().send().await.unwrap();
    out.roles().iter().map(|r| r.role_name().to_owned()).filter(|n| n.starts_with(prefix)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_or_refused_leaves_one_role_in_the_state() {
    let cases = [
        ("CreateRole", Effect::LoseResponse),
        ("CreateRole", Effect::Throttle),
        ("CreateRole", Effect::Unavailable),
        ("AttachRolePolicy", Effect::LoseResponse),
        ("AttachRolePolicy", Effect::Unavailable),
    ];
    for (i, (action, effect)) in cases.into_iter().enumerate() {
        let w = world_through_proxy();
        let name = format!("lost{i}");
        let stack = role_stack(&name);
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{action} {effect:?}: {:?}", o.report);
        assert_eq!(roles(&w, &name).await, [format!("{name}-role")], "{action} {effect:?}");
        assert_eq!(o.state.resources.len(), 2, "{action} {effect:?}");
        let attached = w.iam().list_attached_role_policies().role_name(format!("{name}-role")).send();
        assert_eq!(attached.await.unwrap().attached_policies().len(), 1, "{action} {effect:?}");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_name_taken_outside_the_stack_is_refused_naming_import() {
    let w = world();
    let trust = PolicyDocument::assume_role("ec2.amazonaws.com").to_json().unwrap();
    w.iam().create_role().role_name("taken-role").assume_role_policy_document(trust).send().await.unwrap();
    let stack = role_stack("taken");
    let (o, _) = w.run(&stack, Mode::Apply(PlanOptions::default())).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let error = &o.report.failed[0].2;
    assert!(error.contains("import") && error.contains("taken-role"), "{error}");
    assert!(o.state.resources.is_empty(), "someone else's role was adopted: {:?}", o.state.resources.keys());
    let role = w.iam().get_role().role_name("taken-role").send().await.unwrap();
    assert!(role.role().unwrap().tags().is_empty(), "someone else's role was tagged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_outside_the_stack_shows_in_the_plan_and_is_undone() {
    let w = world();
    let stack = role_stack("drift");
    w.apply(&stack).await;
    let iam = w.iam();
    iam.update_role().role_name("drift-role").max_session_duration(3600).send().await.unwrap();
    iam.detach_role_policy().role_name("drift-role").policy_arn(EXECUTION_POLICY).send().await.unwrap();
    let wide = PolicyDocument::assume_role("lambda.amazonaws.com").to_json().unwrap();
    iam.update_assume_role_policy().role_name("drift-role").policy_document(wide).send().await.unwrap();
    let (o, _) = w.apply(&stack).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(matches!(o.plan.change(&addr("drift-role")).unwrap().action, infra_core::Action::Update));
    assert!(matches!(o.plan.change(&addr("policy")).unwrap().action, infra_core::Action::Create));
    let role = iam.get_role().role_name("drift-role").send().await.unwrap();
    let trust =
        PolicyDocument::from_json(role.role().unwrap().assume_role_policy_document().unwrap()).unwrap();
    assert_eq!(trust.statements[0].principals[0].identifiers.len(), 2, "the trust policy is back");
    assert!(w.converged(&stack).await);
}
