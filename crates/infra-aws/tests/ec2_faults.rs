//! Faults on the wire, through a proxy in front of the emulator: a create
//! is never repeated blindly. Whichever call of a VPC's create loses its
//! answer after the emulator acted (CreateVpc, the ModifyVpcAttribute
//! follow-up, the describe after it), is throttled or answered 503, the
//! retry adopts what the first attempt made and the cloud holds exactly
//! one VPC. Resources carrying the stack's tags but not in its state are
//! listed as orphans; a not-found on delete completes the step; a name
//! taken by someone else's resource is refused, naming `import`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Vpc};
use infra_core::plan::PlanOptions;
use infra_core::{Options, ProviderKey, Stack};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

fn vpc_stack(name: &str) -> (Stack, ProviderKey) {
    let (mut s, us, _) = stack(name);
    s.add_with(
        "vpc",
        Vpc {
            cidr_block: "10.7.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: BTreeMap::from([("Name".to_owned(), format!("{name}-vpc"))]),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    (s, us)
}

/// The VPCs in us-east-1 that carry `stack`'s tag, asked of the emulator
/// directly (not through the proxy).
async fn vpcs_of(w: &World, stack: &str) -> Vec<String> {
    let out = w
        .ec2(REGIONS[0])
        .describe_vpcs()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:infra:stack").values(stack).build())
        .send()
        .await
        .unwrap();
    out.vpcs()
        .iter()
        .filter(|v| v.tags().iter().any(|t| t.key() == Some("infra:stack") && t.value() == Some(stack)))
        .filter_map(|v| v.vpc_id().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpc_create_whose_answers_are_lost_or_refused_leaves_exactly_one_vpc() {
    let cases = [
        ("CreateVpc", Effect::LoseResponse),
        ("ModifyVpcAttribute", Effect::LoseResponse),
        ("DescribeVpcs", Effect::LoseResponse),
        ("ModifyVpcAttribute", Effect::Throttle),
        ("DescribeVpcAttribute", Effect::Unavailable),
        ("CreateVpc", Effect::Unavailable),
    ];
    for (i, (action, effect)) in cases.into_iter().enumerate() {
        let w = world_through_proxy();
        let name = format!("lost{i}");
        let (stack, _) = vpc_stack(&name);
        proxy().set(vec![Fault::new(action, 1, effect)]);
        let (o, _) = w.apply(&stack).await;
        assert_eq!(
            proxy().injected(),
            vec![(action.to_owned(), effect)],
            "{action} {effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        let held = vpcs_of(&w, &name).await;
        assert_eq!(held.len(), 1, "{action} {effect:?}: the cloud holds {held:?}");
        assert_eq!(o.state.resources.len(), 1);
        assert_eq!(o.state.resources.values().next().map(|r| r.id.clone()), Some(held[0].clone()));
        // The follow-up's effect is there: DNS hostnames on.
        let attr = w
            .ec2(REGIONS[0])
            .describe_vpc_attribute()
            .vpc_id(&held[0])
            .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
            .send()
            .await
            .unwrap();
        assert_eq!(attr.enable_dns_hostnames().and_then(|a| a.value()), Some(true), "{action} {effect:?}");
        assert!(w.converged(&stack).await, "{action} {effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_lists_a_resource_with_the_stacks_tags_that_is_not_in_its_state() {
    let w = world();
    let (stack, _) = vpc_stack("orphans");
    w.apply(&stack).await;
    assert!(w.preview(&stack).await.orphans.is_empty(), "what the state holds is not an orphan");

    // What a create whose outcome was lost leaves: a VPC with the stack's
    // tags that the state does not hold.
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    let made = w
        .ec2(REGIONS[0])
        .create_vpc()
        .cidr_block("10.8.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(tag("infra:stack", "orphans"))
                .tags(tag("infra:address", "lost-vpc"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = made.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();
    let p = w.preview(&stack).await;
    assert_eq!(p.orphans.len(), 1, "{:?}", p.orphans);
    let o = &p.orphans[0];
    assert_eq!(
        (o.id.as_str(), o.address.as_deref(), o.type_name.as_deref()),
        (id.as_str(), Some("lost-vpc"), Some("aws:ec2:Vpc"))
    );
    assert!(p.plan.is_empty(), "an orphan is a warning, not a change");

    // Another stack's resources are not this stack's orphans.
    let (other, _) = vpc_stack("someone-else");
    assert!(w.preview(&other).await.orphans.iter().all(|o| o.id != id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_found_on_delete_completes_the_step() {
    let w = world();
    let (stack, _) = vpc_stack("gone");
    let (o, _) = w.apply(&stack).await;
    let id = o.state.resources.values().next().unwrap().id.clone();
    w.ec2(REGIONS[0]).delete_vpc().vpc_id(&id).send().await.unwrap();
    // Without a refresh, the delete call itself finds it gone.
    let (o, _) = w.run_with(&stack, Mode::Destroy { targets: vec![] }, false).await;
    assert!(o.report.success(), "{:?}", o.report);
    assert_eq!(o.report.applied.len(), 1);
    assert!(o.state.resources.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_by_someone_elses_resource_is_refused_naming_import() {
    let w = world();
    let (mut stack, us) = vpc_stack("taken");
    let (o, _) = w.apply(&stack).await;
    let vpc_id = o.state.resources.values().next().unwrap().id.clone();
    // A group made outside infra, with the name the stack wants.
    w.ec2(REGIONS[0])
        .create_security_group()
        .group_name("web")
        .description("made by hand")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let vpc = infra_core::Handle::<Vpc>::new(common::addr("vpc"));
    stack.add_with(
        "web",
        SecurityGroup {
            name: "web".into(),
            description: "web".into(),
            vpc_id: vpc.id().into(),
            ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["0.0.0.0/0"])],
            egress: vec![],
            tags: BTreeMap::new(),
        },
        Options::new().provider(&us),
    );
    let (o, _) = w.run(&stack, Mode::Apply(PlanOptions::default())).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let error = &o.report.failed[0].2;
    assert!(error.contains("import") && error.contains("web"), "{error}");
    assert!(!o.state.resources.contains_key(&common::addr("web")), "someone else's group was adopted");
    let groups = w
        .ec2(REGIONS[0])
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("group-name").values("web").build())
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1);
}
