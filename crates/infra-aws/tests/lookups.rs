//! Lookups on the emulator: read at plan time and shown as reads, wired
//! into resources, never a mutating call, re-read by every plan (a newer
//! AMI updates the launch template that uses it), read during apply when
//! the query waits on something the apply makes, an empty result refused
//! at plan naming the address and the query, and forgotten with no call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::ec2::{
    AmiLookup, AvailabilityZones, Filter, LaunchTemplate, SecurityGroup, Subnet, SubnetLookup, Vpc, VpcLookup,
};
use infra_aws::sts::CallerIdentity;
use infra_core::plan::PlanOptions;
use infra_core::plan::render::render;
use infra_core::{Action, Options, Stack, Value};
use infra_engine::{Events, PreviewMode};

/// The error of a plan of `s` that must fail.
async fn plan_error(w: &World, s: &Stack) -> String {
    let mode = PreviewMode::Apply(PlanOptions::default());
    let result =
        infra_engine::preview(w.executor.registry(), w.backend.as_ref(), s, &mode, true, &Events::none())
            .await;
    result.unwrap_err().to_string()
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn action(p: &infra_core::Plan, a: &str) -> Action {
    p.change(&addr(a)).unwrap_or_else(|| panic!("{a} not in the plan")).action.clone()
}

fn all_calls(w: &World) -> BTreeMap<&'static str, u64> {
    let mut all = BTreeMap::new();
    for (_, s) in &w.stats {
        for (k, v) in s.snapshot() {
            *all.entry(k).or_insert(0) += v;
        }
    }
    all
}

fn reset_calls(w: &World) {
    for (_, s) in &w.stats {
        s.reset();
    }
}

/// Registers an AMI named `name` owned by the emulator's account.
async fn register_image(w: &World, name: &str) -> String {
    w.ec2("us-east-1")
        .register_image()
        .name(name)
        .root_device_name("/dev/xvda")
        .send()
        .await
        .unwrap()
        .image_id
        .unwrap()
}

fn app_stack(owners: &str, pattern: &str) -> Stack {
    let (mut s, us, _) = stack("lookups");
    let ami = s.add_with(
        "ami",
        AmiLookup {
            owners: vec![owners.into()],
            filters: vec![Filter::new("name", [pattern])],
            most_recent: true,
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "app-lt",
        LaunchTemplate {
            name: "app".into(),
            image_id: Some(ami.image_id().into()),
            instance_type: Some("t3.micro".into()),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.export("ami", ami.image_id());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ami_lookup_is_read_at_plan_and_feeds_a_launch_template() {
    let w = world();
    let s = app_stack("amazon", "amzn2-ami-hvm-*");

    // The plan reads the AMI: shown as a read, and the launch template
    // plans with the image ID it found (not "known after apply").
    let preview = w.preview(&s).await;
    let p = &preview.plan;
    assert_eq!(action(p, "ami"), Action::Read { during_apply: false });
    assert_eq!(action(p, "app-lt"), Action::Create);
    let lt = p.change(&addr("app-lt")).unwrap();
    let image = lt.after.as_ref().unwrap().get("image_id").cloned();
    assert!(matches!(&image, Some(Value::String(id)) if id.starts_with("ami-")), "{image:?}");
    let text = render(p, Default::default());
    assert!(text.contains(" <= read (lookups)"), "{text}");
    assert!(text.contains("# ami (aws:ec2:AmiLookup) will be read (nothing in the cloud changes)"), "{text}");
    assert!(text.contains("1 to add, 0 to change, 0 to destroy, 1 to read"), "{text}");
    assert_eq!(p.summary().read, 1);

    // Apply: the lookup costs reads only (the template its create).
    reset_calls(&w);
    let (o, _) = w.apply(&s).await;
    let calls = all_calls(&w);
    let writes: Vec<_> = calls
        .keys()
        .filter(|k| !(k.starts_with("Describe") || k.starts_with("Get")))
        .filter(|k| !k.contains("LaunchTemplate"))
        .collect();
    assert!(writes.is_empty(), "mutating calls besides the template's: {writes:?}");
    assert_eq!(calls.get("DescribeImages").copied(), Some(2), "one read at plan, one at apply: {calls:?}");
    assert_eq!(
        o.state.resources[&addr("ami")].id,
        match &image {
            Some(Value::String(id)) => id.clone(),
            _ => unreachable!(),
        }
    );
    let lts = w
        .ec2("us-east-1")
        .describe_launch_template_versions()
        .launch_template_name("app")
        .send()
        .await
        .unwrap();
    let got = lts.launch_template_versions()[0]
        .launch_template_data()
        .and_then(|d| d.image_id())
        .map(str::to_owned);
    assert_eq!(got.map(Value::String), image);

    // Every plan reads it again; the same answer is no change.
    reset_calls(&w);
    assert!(w.converged(&s).await);
    assert_eq!(all_calls(&w).get("DescribeImages").copied(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_ami_updates_the_launch_template_in_place() {
    let w = world();
    let first = register_image(&w, "infra-app-1").await;
    let s = app_stack("self", "infra-app-*");
    let (o, _) = w.apply(&s).await;
    assert_eq!(o.state.outputs.get("ami"), Some(&Value::String(first.clone())));
    assert!(w.converged(&s).await);

    // A newer image appears: the plan reads it, and the template that uses
    // it is updated in place.
    let second = register_image(&w, "infra-app-2").await;
    let p = w.preview(&s).await.plan;
    assert_eq!(action(&p, "ami"), Action::Read { during_apply: false });
    assert_eq!(action(&p, "app-lt"), Action::Update);
    let text = render(&p, Default::default());
    assert!(text.contains(&format!("image_id = \"{first}\" -> \"{second}\"")), "{text}");
    let (o, _) = w.apply(&s).await;
    assert_eq!(o.state.outputs.get("ami"), Some(&Value::String(second)));
    assert!(w.converged(&s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_that_finds_nothing_fails_at_plan_naming_the_address_and_query() {
    let w = world();
    let s = app_stack("amazon", "no-such-image-*");
    let err = plan_error(&w, &s).await;
    assert!(err.starts_with("ami: the lookup failed"), "{err}");
    assert!(err.contains("found nothing"), "{err}");
    assert!(err.contains("aws:ec2:AmiLookup") && err.contains("no-such-image-*"), "{err}");

    // Several matches where one is wanted: refused too, naming them.
    let (mut s, us, _) = stack("lookups");
    s.add_with(
        "many",
        AmiLookup { owners: vec!["amazon".into()], filters: vec![], most_recent: false },
        Options::new().provider(&us),
    );
    let err = plan_error(&w, &s).await;
    assert!(err.starts_with("many: the lookup failed") && err.contains("takes exactly one"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zones_and_caller_identity_in_both_regions_make_no_mutating_call() {
    let w = world();
    let (mut s, us, eu) = stack("lookups");
    for (key, r) in [(&us, "us"), (&eu, "eu")] {
        let azs = s.add_with(&format!("{r}-azs"), AvailabilityZones::default(), Options::new().provider(key));
        s.export(&format!("{r}_first_az"), azs.name(0));
        let me = s.add_with(&format!("{r}-me"), CallerIdentity {}, Options::new().provider(key));
        s.export(&format!("{r}_account"), me.account_id());
    }
    reset_calls(&w);
    let (o, _) = w.apply(&s).await;
    let calls = all_calls(&w);
    assert!(
        calls.keys().all(|k| k.starts_with("Describe") || k.starts_with("Get")),
        "a lookup made a call that is not a read: {calls:?}"
    );
    assert_eq!(o.state.outputs["us_first_az"], Value::from("us-east-1a"));
    assert_eq!(o.state.outputs["eu_first_az"], Value::from("eu-west-1a"));
    assert_eq!(o.state.outputs["us_account"], Value::from("123456789012"));
    assert_eq!(o.state.outputs["eu_account"], Value::from("123456789012"));
    let names = &o.state.resources[&addr("eu-azs")].outputs["names"];
    assert!(matches!(names, Value::List(l) if l.len() >= 3), "{names:?}");
    assert!(w.converged(&s).await);

    // Removed from the stack: forgotten, with no call at all.
    let (empty, _, _) = stack("lookups");
    reset_calls(&w);
    let (o, _) = w.apply(&empty).await;
    assert!(o.plan.actionable().all(|c| c.action == Action::Forget), "{:?}", o.plan);
    assert_eq!(o.plan.actionable().count(), 4);
    assert!(o.state.resources.is_empty());
    assert_eq!(all_calls(&w), BTreeMap::new(), "forgetting lookups made calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc_and_subnet_made_outside_the_stack_are_found_by_tag() {
    let w = world();
    let ec2 = w.ec2("eu-west-1");
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    let spec = |t: aws_sdk_ec2::types::ResourceType, tags: Vec<aws_sdk_ec2::types::Tag>| {
        aws_sdk_ec2::types::TagSpecification::builder().resource_type(t).set_tags(Some(tags)).build()
    };
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.40.0.0/16")
        .tag_specifications(spec(aws_sdk_ec2::types::ResourceType::Vpc, vec![tag("Name", "shared")]))
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.40.1.0/24")
        .availability_zone("eu-west-1a")
        .tag_specifications(spec(aws_sdk_ec2::types::ResourceType::Subnet, vec![tag("tier", "app")]))
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();

    let (mut s, _, eu) = stack("lookups");
    let on = Options::new().provider(&eu);
    let shared = s.add_with(
        "shared",
        VpcLookup { tags: tags(&[("Name", "shared")]), ..Default::default() },
        on.clone(),
    );
    let app = s.add_with(
        "app-a",
        SubnetLookup {
            vpc_id: Some(shared.id().into()),
            tags: tags(&[("tier", "app")]),
            ..Default::default()
        },
        on.clone(),
    );
    s.add_with(
        "app-sg",
        SecurityGroup {
            name: "app".into(),
            description: "in the shared VPC".into(),
            vpc_id: shared.id().into(),
            ..Default::default()
        },
        on.clone(),
    );
    s.export("subnet", app.id());
    s.export("cidr", shared.cidr_block());

    // Both read at plan (the subnet's query uses the VPC lookup's answer).
    let p = w.preview(&s).await.plan;
    assert_eq!(action(&p, "shared"), Action::Read { during_apply: false });
    assert_eq!(action(&p, "app-a"), Action::Read { during_apply: false });
    let (o, _) = w.apply(&s).await;
    assert_eq!(o.state.outputs["subnet"], Value::String(subnet));
    assert_eq!(o.state.outputs["cidr"], Value::from("10.40.0.0/16"));
    assert_eq!(o.state.resources[&addr("app-sg")].inputs["vpc_id"], Value::String(vpc));
    assert!(w.converged(&s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_on_something_the_apply_makes_is_read_during_apply() {
    let w = world();
    let (mut s, us, _) = stack("lookups");
    let on = Options::new().provider(&us);
    let vpc = s.add_with("vpc", Vpc { cidr_block: "10.50.0.0/16".into(), ..Default::default() }, on.clone());
    let made = s.add_with(
        "made",
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: "10.50.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            tags: tags(&[("tier", "db")]),
            ..Default::default()
        },
        on.clone(),
    );
    let found = s.add_with(
        "found",
        SubnetLookup { vpc_id: Some(vpc.id().into()), tags: tags(&[("tier", "db")]), ..Default::default() },
        on.clone().depends_on(&made),
    );
    s.export("found", found.id());
    s.export("made", made.id());

    let p = w.preview(&s).await.plan;
    assert_eq!(action(&p, "found"), Action::Read { during_apply: true });
    let text = render(&p, Default::default());
    assert!(text.contains("# found (aws:ec2:SubnetLookup) will be read during apply"), "{text}");
    let (o, events) = w.apply(&s).await;
    assert_eq!(starts(&events, &addr("found")), vec![infra_core::plan::StepKind::Read]);
    assert_eq!(o.state.outputs["found"], o.state.outputs["made"]);
    assert!(w.converged(&s).await);
}

/// Route 53 is global: both regions' providers find the same zones. A
/// public and a private zone share a name; `private_zone` picks one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_zones_are_found_by_name_public_or_private() {
    use aws_sdk_route53::types::{HostedZoneConfig, Vpc as ZoneVpc, VpcRegion};
    use infra_aws::route53::HostedZoneLookup;
    let w = world();
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, "us-east-1").unwrap();
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let public = r53.create_hosted_zone().name("zones.example").caller_reference("pub").send().await.unwrap();
    let vpc = w.ec2("us-east-1").create_vpc().cidr_block("10.41.0.0/16").send().await.unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap();
    let private = r53
        .create_hosted_zone()
        .name("zones.example")
        .caller_reference("priv")
        .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
        .vpc(ZoneVpc::builder().vpc_id(vpc_id).vpc_region(VpcRegion::UsEast1).build())
        .send()
        .await
        .unwrap();
    let id = |z: &aws_sdk_route53::operation::create_hosted_zone::CreateHostedZoneOutput| {
        z.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_owned()
    };

    let (mut s, us, eu) = stack("lookups");
    s.add_with(
        "pub-us",
        HostedZoneLookup { name: "zones.example.".into(), private_zone: false },
        Options::new().provider(&us),
    );
    s.add_with(
        "pub-eu",
        HostedZoneLookup { name: "Zones.Example".into(), private_zone: false },
        Options::new().provider(&eu),
    );
    s.add_with(
        "priv",
        HostedZoneLookup { name: "zones.example".into(), private_zone: true },
        Options::new().provider(&us),
    );
    reset_calls(&w);
    let (o, _) = w.apply(&s).await;
    let calls = all_calls(&w);
    assert_eq!(calls.keys().copied().collect::<Vec<_>>(), ["ListHostedZonesByName"], "{calls:?}");
    for (a, want) in [("pub-us", id(&public)), ("pub-eu", id(&public)), ("priv", id(&private))] {
        let r = &o.state.resources[&addr(a)];
        assert_eq!(r.outputs["zone_id"], Value::from(want.as_str()), "{a}");
        assert_eq!(r.outputs["name"], Value::from("zones.example"), "{a}");
    }
    assert!(w.converged(&s).await);

    let (mut s, us, _) = stack("lookups");
    s.add_with(
        "none",
        HostedZoneLookup { name: "missing.example".into(), private_zone: false },
        Options::new().provider(&us),
    );
    let err = plan_error(&w, &s).await;
    assert!(err.starts_with("none: the lookup failed") && err.contains("missing.example"), "{err}");
}
