//! Route 53 on the emulator: each type's lifecycle; latency-routed aliases
//! to a load balancer in each region, guarded by health checks; an ACM
//! certificate validated through records made from its validation outputs;
//! the per-zone batching of record changes (counted calls); one rate
//! budget for every region's instance (Route 53 is metered per account); a
//! zone with records refused at delete unless `force_destroy`; a record of
//! the same key with other values refused, naming import; bad input refused
//! before any call.
//!
//! What the emulator cannot show (see `EMULATOR_GAPS` in
//! src/route53/sdk.rs): `GetChange` answers `INSYNC` at once, so the wait
//! for `PENDING` → `INSYNC` is shown on the simulated provider
//! (`a_record_is_waited_for_until_in_sync_on_the_simulated_provider`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use infra_aws::acm::{Certificate, CertificateValidation};
use infra_aws::ec2::{SecurityGroup, Subnet, Vpc};
use infra_aws::elbv2::Alb;
use infra_aws::ids::{DnsName, HostedZoneId};
use infra_aws::route53::{
    Alias, HealthCheck, HealthCheckType, HostedZone, Record, RecordType, Routing, ZoneVpc,
};
use infra_core::plan::PlanOptions;
use infra_core::{Handle, Input, Options, ProviderKey, ReplaceOrder, Stack};
use infra_engine::Mode;

fn r53(w: &World) -> aws_sdk_route53::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, REGIONS[0]).unwrap();
    aws_sdk_route53::Client::from_conf(aws_sdk_route53::config::Builder::from(&sdk).build())
}

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))])
}

fn zone(s: &mut Stack, key: &ProviderKey, address: &str, name: &str) -> Handle<HostedZone> {
    s.add_with(
        address,
        HostedZone { name: name.into(), force_destroy: true, ..Default::default() },
        Options::new().provider(key),
    )
}

fn a_record(zone: &Handle<HostedZone>, name: &str, ip: &str) -> Record {
    Record {
        zone_id: zone.zone_id().into(),
        name: name.into(),
        record_type: RecordType::A,
        ttl: Some(300),
        records: vec![ip.into()],
        ..Default::default()
    }
}

/// The record sets of a zone other than its SOA and NS.
async fn records(w: &World, zone: &str) -> Vec<aws_sdk_route53::types::ResourceRecordSet> {
    let out = r53(w).list_resource_record_sets().hosted_zone_id(zone).send().await.unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|r| !matches!(r.r#type().as_str(), "SOA" | "NS"))
        .cloned()
        .collect()
}

async fn zone_ids(w: &World) -> Vec<String> {
    let out = r53(w).list_hosted_zones().send().await.unwrap();
    out.hosted_zones().iter().map(|z| z.id().trim_start_matches("/hostedzone/").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_zone_lifecycle() {
    lifecycle(
        "zone",
        |s, us, _, v| {
            s.add_with(
                "zone",
                HostedZone {
                    name: if v < 2 { "life.example.com".into() } else { "life2.example.com".into() },
                    comment: Some(format!("v{}", v.min(1))),
                    tags: tags(v),
                    ..Default::default()
                },
                Options::new().provider(us),
            );
        },
        &["zone"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_zones_vpcs_are_associated_and_disassociated_in_place() {
    let w = world();
    let build = |vpcs: &[&str]| {
        let (mut s, us, eu) = stack("private");
        let vpc_us = s.add_with(
            "vpc-us",
            Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() },
            Options::new().provider(&us),
        );
        let vpc_eu = s.add_with(
            "vpc-eu",
            Vpc { cidr_block: "10.2.0.0/16".into(), ..Default::default() },
            Options::new().provider(&eu),
        );
        let mut list = Vec::new();
        for v in vpcs {
            list.push(match *v {
                "us" => ZoneVpc::new(vpc_us.id(), REGIONS[0]),
                _ => ZoneVpc::new(vpc_eu.id(), REGIONS[1]),
            });
        }
        s.add_with(
            "zone",
            HostedZone { name: "internal.example.com".into(), vpcs: list, ..Default::default() },
            Options::new().provider(&us),
        );
        s
    };
    let (o, _) = w.apply(&build(&["us"])).await;
    let id = o.state.resources[&addr("zone")].id.clone();
    assert!(w.converged(&build(&["us"])).await);
    let regions = async || {
        let out = r53(&w).get_hosted_zone().id(&id).send().await.unwrap();
        let mut r: Vec<String> =
            out.vpcs().iter().map(|v| v.vpc_region().unwrap().as_str().to_owned()).collect();
        r.sort();
        r
    };
    let (o, _) = w.apply(&build(&["us", "eu"])).await;
    assert!(o.plan.actionable().all(|c| c.action == infra_core::Action::Update), "in place");
    assert_eq!(regions().await, ["eu-west-1", "us-east-1"]);
    assert!(w.converged(&build(&["us", "eu"])).await);
    w.apply(&build(&["eu"])).await;
    assert_eq!(regions().await, ["eu-west-1"]);
    assert!(w.converged(&build(&["eu"])).await);
    assert_eq!(w.state("private").await.resources[&addr("zone")].id, id, "never replaced");
    w.destroy(&build(&["eu"])).await;
    assert!(zone_ids(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_lifecycle() {
    lifecycle(
        "records",
        |s, us, _, v| {
            let z = zone(s, us, "zone", "rec.example.com");
            let mut a = a_record(&z, "www.rec.example.com", "192.0.2.10");
            if v >= 1 {
                a.ttl = Some(60);
                a.records = vec!["192.0.2.11".into(), "192.0.2.12".into()];
            }
            s.add_with("www", a, Options::new().provider(us));
            s.add_with(
                "weighted",
                Record {
                    zone_id: z.zone_id().into(),
                    name: "api.rec.example.com".into(),
                    record_type: RecordType::Txt,
                    ttl: Some(300),
                    records: vec!["\"v1\"".into()],
                    routing: Routing::Weighted { weight: if v >= 1 { 20 } else { 10 } },
                    set_identifier: Some(if v < 2 { "blue".into() } else { "green".into() }),
                    ..Default::default()
                },
                Options::new().provider(us),
            );
        },
        &["weighted"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_lifecycle() {
    lifecycle(
        "checks",
        |s, us, _, v| {
            s.add_with(
                "check",
                HealthCheck {
                    check_type: HealthCheckType::Https,
                    fqdn: Some(DnsName::new("app.example.com").unwrap().into()),
                    resource_path: Some(if v >= 1 { "/ready".into() } else { "/health".into() }),
                    failure_threshold: Some(if v >= 1 { 5 } else { 3 }),
                    request_interval: Some(if v >= 2 { 10 } else { 30 }),
                    regions: if v >= 1 {
                        vec!["us-east-1".into(), "eu-west-1".into(), "us-west-2".into()]
                    } else {
                        Vec::new()
                    },
                    tags: tags(v),
                    ..Default::default()
                },
                Options::new().provider(us),
            );
        },
        &["check"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

struct Net {
    subnets: Vec<infra_core::Output<infra_aws::ids::SubnetId>>,
    group: infra_core::Output<infra_aws::ids::SecurityGroupId>,
}

fn net(s: &mut Stack, key: &ProviderKey, r: &str, region: &str, second: u8) -> Net {
    let opts = || Options::new().provider(key);
    let vpc = s.add_with(
        &format!("{r}-vpc"),
        Vpc { cidr_block: format!("10.{second}.0.0/16"), ..Default::default() },
        opts(),
    );
    let subnets = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, az)| {
            let subnet = Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: format!("10.{second}.{i}.0/24"),
                availability_zone: format!("{region}{az}"),
                ..Default::default()
            };
            s.add_with(&format!("{r}-subnet-{az}"), subnet, opts()).id()
        })
        .collect();
    let sg = SecurityGroup {
        name: format!("{r}-alb"),
        description: "the load balancer".into(),
        vpc_id: vpc.id().into(),
        ..Default::default()
    };
    let group = s.add_with(&format!("{r}-sg"), sg, opts()).id();
    Net { subnets, group }
}

/// The seed's global tier: `app.example.com` answers with the ALB of the
/// closest region, while its health check passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_aliases_to_a_load_balancer_in_each_region_with_health_checks() {
    let w = world();
    let build = || {
        let (mut s, us, eu) = stack("latency");
        let z = zone(&mut s, &us, "zone", "example.com");
        for (key, r, region, second) in [(&us, "us", REGIONS[0], 1u8), (&eu, "eu", REGIONS[1], 2)] {
            let n = net(&mut s, key, r, region, second);
            let alb = s.add_with(
                &format!("{r}-alb"),
                Alb {
                    name: format!("web-{r}"),
                    subnets: n.subnets.iter().map(Input::from).collect(),
                    security_groups: vec![n.group.clone().into()],
                    ..Default::default()
                },
                Options::new().provider(key),
            );
            let check = s.add_with(
                &format!("{r}-check"),
                HealthCheck {
                    check_type: HealthCheckType::Https,
                    fqdn: Some(alb.dns_name().into()),
                    resource_path: Some("/health".into()),
                    request_interval: Some(10),
                    ..Default::default()
                },
                Options::new().provider(key),
            );
            s.add_with(
                &format!("{r}-app"),
                Record {
                    zone_id: z.zone_id().into(),
                    name: "app.example.com".into(),
                    record_type: RecordType::A,
                    alias: Some(Alias::load_balancer(&alb)),
                    routing: Routing::Latency { region: region.into() },
                    set_identifier: Some(region.into()),
                    health_check_id: Some(check.id().into()),
                    ..Default::default()
                },
                Options::new().provider(key),
            );
        }
        s
    };
    let (o, _) = w.apply(&build()).await;
    let zone_id = o.state.resources[&addr("zone")].id.clone();
    let sets = records(&w, &zone_id).await;
    assert_eq!(sets.len(), 2, "{sets:?}");
    for (r, region) in [("us", REGIONS[0]), ("eu", REGIONS[1])] {
        let set = sets.iter().find(|s| s.set_identifier() == Some(region)).unwrap();
        assert_eq!(set.region().unwrap().as_str(), region);
        let alb = &o.state.resources[&addr(&format!("{r}-alb"))];
        let alias = set.alias_target().unwrap();
        assert_eq!(alias.dns_name().trim_end_matches('.'), alb.outputs["dns_name"].as_str().unwrap());
        assert_eq!(alias.hosted_zone_id(), alb.outputs["zone_id"].as_str().unwrap());
        assert!(alias.evaluate_target_health());
        let check = &o.state.resources[&addr(&format!("{r}-check"))];
        assert_eq!(set.health_check_id(), Some(check.id.as_str()));
        let record = &o.state.resources[&addr(&format!("{r}-app"))];
        assert_eq!(record.id, format!("{zone_id}_app.example.com_A_{region}"));
        assert_eq!(record.outputs["fqdn"].as_str(), Some("app.example.com"));
    }
    // The alias target reads back without its final dot on the emulator
    // (with it on AWS): either way, no drift.
    assert!(w.converged(&build()).await);
    w.destroy(&build()).await;
    assert!(zone_ids(&w).await.is_empty());
    let checks = r53(&w).list_health_checks().send().await.unwrap();
    assert!(checks.health_checks().is_empty());
}

/// The seed's DNS validation: a CNAME per validation record of the
/// certificate, from its typed outputs (the name with its final dot), and
/// the validation waiting on the records' names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_validated_through_records_made_from_its_outputs() {
    let w = world();
    let build = || {
        let (mut s, us, _) = stack("acm");
        let z = zone(&mut s, &us, "zone", "example.com");
        let cert = s.add_with(
            "cert",
            Certificate {
                domain_name: "example.com".into(),
                subject_alternative_names: vec!["api.example.com".into()],
                validation_method: "DNS".into(),
                ..Default::default()
            },
            Options::new().provider(&us).create_before_destroy(),
        );
        let fqdns: Vec<Input<String>> = (0..2)
            .map(|i| {
                let v = cert.validation_record(i);
                let record = s.add_with(
                    &format!("validation-{i}"),
                    Record {
                        zone_id: z.zone_id().into(),
                        name: v.resource_record_name.into(),
                        record_type: RecordType::Cname,
                        ttl: Some(60),
                        records: vec![v.resource_record_value.into()],
                        ..Default::default()
                    },
                    Options::new().provider(&us),
                );
                record.fqdn().into()
            })
            .collect();
        s.add_with(
            "validation",
            CertificateValidation { certificate_arn: cert.arn().into(), validation_record_fqdns: fqdns },
            Options::new().provider(&us),
        );
        s
    };
    let (o, _) = w.apply(&build()).await;
    let zone_id = o.state.resources[&addr("zone")].id.clone();
    let cert = &o.state.resources[&addr("cert")];
    let sets = records(&w, &zone_id).await;
    assert_eq!(sets.len(), 2, "{sets:?}");
    for i in 0..2 {
        let name = infra_core::value::output_at(
            &cert.outputs,
            &format!("domain_validation_options.{i}.resource_record_name"),
        )
        .unwrap();
        let name = name.as_str().unwrap().trim_end_matches('.').to_owned();
        assert!(
            sets.iter().any(|s| s.name().trim_end_matches('.') == name && s.r#type().as_str() == "CNAME")
        );
    }
    // Both changes went in one batch.
    assert_eq!(w.stats(&o_key(&w, 0)).snapshot().get("ChangeResourceRecordSets").copied(), Some(1));
    // The names (with their final dot) are kept as declared: no drift.
    assert!(w.converged(&build()).await);
    w.destroy(&build()).await;
    assert!(zone_ids(&w).await.is_empty());
}

fn o_key(w: &World, i: usize) -> ProviderKey {
    w.stats[i].0.clone()
}

/// Required: the records of one zone created by one apply go in one
/// `ChangeResourceRecordSets` (or a few), not one call each; records of
/// two zones, one call per zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_changes_of_one_zone_are_batched() {
    const N: usize = 20;
    let w = world();
    let build = |zones: &[&str]| {
        let (mut s, us, _) = stack("batch");
        for z in zones {
            let h = zone(&mut s, &us, z, &format!("{z}.example.com"));
            for i in 0..N {
                s.add_with(
                    &format!("{z}-r{i}"),
                    a_record(&h, &format!("h{i}.{z}.example.com"), &format!("192.0.2.{}", i + 1)),
                    Options::new().provider(&us),
                );
            }
        }
        s
    };
    let us = o_key(&w, 0);
    // Each phase is a run of its own, with the run's own rate budget (the
    // executor meters a step per record; the provider makes one call per
    // batch).
    let mut w = w;
    let fresh_budget = |w: &mut World| {
        let registry = Arc::new(w.executor.registry().clone());
        w.executor = infra_engine::Executor::new(
            registry,
            infra_engine::Budget::new(infra_engine::BudgetConfig::default()),
            infra_engine::ExecutorConfig::default(),
        );
    };
    w.apply(&build(&["one"])).await;
    let calls = w.stats(&us).snapshot().get("ChangeResourceRecordSets").copied().unwrap_or(0);
    assert!((1..=2).contains(&calls), "{N} records in one zone took {calls} ChangeResourceRecordSets");
    let zone_id = w.state("batch").await.resources[&addr("one")].id.clone();
    assert_eq!(records(&w, &zone_id).await.len(), N);
    assert!(w.converged(&build(&["one"])).await);

    // A second zone of N records: one more call (the first zone's records
    // are unchanged).
    fresh_budget(&mut w);
    w.stats(&us).reset();
    w.apply(&build(&["one", "two"])).await;
    let calls = w.stats(&us).snapshot().get("ChangeResourceRecordSets").copied().unwrap_or(0);
    assert_eq!(calls, 1, "{N} records in a new zone");

    // Destroying both: the deletes of each zone in one call per zone.
    fresh_budget(&mut w);
    w.stats(&us).reset();
    w.destroy(&build(&["one", "two"])).await;
    let calls = w.stats(&us).snapshot().get("ChangeResourceRecordSets").copied().unwrap_or(0);
    assert!((2..=4).contains(&calls), "{} deletes in two zones took {calls} calls", 2 * N);
    assert!(zone_ids(&w).await.is_empty());
}

/// Route 53 is metered per account: the steps of both regions' instances
/// draw from one budget (`account:default`), never from a per-region one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_regions_instances_draw_from_one_route53_budget() {
    let w = world();
    let (mut s, us, eu) = stack("budget");
    let z = zone(&mut s, &us, "zone", "budget.example.com");
    for (key, r) in [(&us, "us"), (&eu, "eu")] {
        for i in 0..3 {
            s.add_with(
                &format!("{r}-{i}"),
                a_record(&z, &format!("{r}{i}.budget.example.com"), "192.0.2.1"),
                Options::new().provider(key),
            );
        }
        s.add_with(
            &format!("{r}-check"),
            HealthCheck {
                check_type: HealthCheckType::Tcp,
                ip_address: Some("192.0.2.1".into()),
                port: Some(443),
                ..Default::default()
            },
            Options::new().provider(key),
        );
    }
    w.apply(&s).await;
    let buckets: Vec<_> =
        w.executor.budget().stats().into_iter().filter(|b| b.key.class.service == "route53").collect();
    assert!(!buckets.is_empty());
    for b in &buckets {
        assert_eq!(b.key.provider.0, "account:default", "{:?}", b.key);
        assert!(b.key.class.per_account);
    }
    // 1 zone + 8 creates of both instances, at least, in the mutating one.
    let mutating: u64 =
        buckets.iter().filter(|b| b.key.class.category != "non-mutating").map(|b| b.calls).sum();
    assert!(mutating >= 9, "{buckets:?}");
    // Both instances did make Route 53 calls.
    for key in [&us, &eu] {
        assert!(w.stats(key).total("ChangeResourceRecordSets") >= 1, "{key:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_with_records_is_refused_at_delete_unless_force_destroy() {
    let w = world();
    let (mut s, us, _) = stack("guard");
    s.add_with(
        "zone",
        HostedZone { name: "guard.example.com".into(), ..Default::default() },
        Options::new().provider(&us),
    );
    let (o, _) = w.apply(&s).await;
    let id = o.state.resources[&addr("zone")].id.clone();
    // A record made outside the stack.
    let rrset = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name("x.guard.example.com.")
        .r#type(aws_sdk_route53::types::RrType::A)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder().value("192.0.2.1").build().unwrap(),
        )
        .build()
        .unwrap();
    let change = aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Create)
        .resource_record_set(rrset)
        .build()
        .unwrap();
    r53(&w)
        .change_resource_record_sets()
        .hosted_zone_id(&id)
        .change_batch(aws_sdk_route53::types::ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();
    let (o, _) = w.run(&s, Mode::Destroy { targets: vec![] }).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let error = &o.report.failed[0].2;
    assert!(error.contains("force_destroy") && error.contains("x.guard.example.com"), "{error}");
    assert_eq!(zone_ids(&w).await, std::slice::from_ref(&id));
    // With force_destroy, the records go with the zone.
    let (mut s, us, _) = stack("guard");
    s.add_with(
        "zone",
        HostedZone { name: "guard.example.com".into(), force_destroy: true, ..Default::default() },
        Options::new().provider(&us),
    );
    w.apply(&s).await;
    w.destroy(&s).await;
    assert!(zone_ids(&w).await.is_empty());
}

/// A CREATE answered "already exists" (as after a lost answer) adopts the
/// record when it holds what was asked for. (A record of the same key with
/// other values is refused on AWS, naming import; the emulator cannot show
/// it: it refuses a CREATE only when the very same change was made before,
/// and otherwise adds a second record of the key. `same` in
/// src/route53/record/imp.rs is the decision, unit-tested there.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_made_by_a_create_whose_answer_was_lost_is_adopted() {
    let w = world();
    let (mut s, us, _) = stack("taken");
    let z = zone(&mut s, &us, "zone", "taken.example.com");
    let (o, _) = w.apply(&s).await;
    let zone_id = o.state.resources[&addr("zone")].id.clone();
    // The change a first create sent, its answer lost.
    let rrset = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name("www.taken.example.com.")
        .r#type(aws_sdk_route53::types::RrType::A)
        .ttl(300)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder().value("192.0.2.1").build().unwrap(),
        )
        .build()
        .unwrap();
    let change = aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Create)
        .resource_record_set(rrset)
        .build()
        .unwrap();
    r53(&w)
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(aws_sdk_route53::types::ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();
    s.add_with("www", a_record(&z, "WWW.taken.example.com.", "192.0.2.1"), Options::new().provider(&us));
    let (o, _) = w.apply(&s).await;
    assert_eq!(o.state.resources[&addr("www")].id, format!("{zone_id}_www.taken.example.com_A"));
    assert_eq!(records(&w, &zone_id).await.len(), 1, "adopted, not made twice");
    // The declared spelling (upper case, final dot) is kept: no drift.
    assert!(w.converged(&s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_any_call_naming_the_field() {
    let (mut s, us, _) = stack("bad");
    let z = zone(&mut s, &us, "zone", "bad..example.com");
    let opts = || Options::new().provider(&us);
    s.add_with(
        "both",
        Record {
            alias: Some(Alias::new(
                DnsName::new("d1.cloudfront.net").unwrap(),
                HostedZoneId::new("Z2FDTNDATAQYW2").unwrap(),
            )),
            ..a_record(&z, "www.example.com", "192.0.2.1")
        },
        opts(),
    );
    s.add_with("ip", a_record(&z, "ip.example.com", "not-an-ip"), opts());
    s.add_with(
        "latency",
        Record {
            routing: Routing::Latency { region: "us-esat-1".into() },
            ..a_record(&z, "l.example.com", "192.0.2.1")
        },
        opts(),
    );
    s.add_with(
        "weight",
        Record {
            routing: Routing::Weighted { weight: 300 },
            set_identifier: Some("a".into()),
            ..a_record(&z, "w.example.com", "192.0.2.1")
        },
        opts(),
    );
    s.add_with(
        "check",
        HealthCheck {
            check_type: HealthCheckType::Https,
            fqdn: Some(DnsName::new("app.example.com").unwrap().into()),
            request_interval: Some(15),
            failure_threshold: Some(11),
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            ..Default::default()
        },
        opts(),
    );
    let problems = s.validate().unwrap_err().to_string();
    let has = |address: &str, field: &str| {
        problems.lines().any(|p| p.contains(&format!("{address}: field `{field}`")))
    };
    for (address, field) in [
        ("zone", "name"),
        ("both", "alias"),
        ("ip", "records[0]"),
        ("latency", "routing.region"),
        ("latency", "set_identifier"),
        ("weight", "routing.weight"),
        ("check", "request_interval"),
        ("check", "failure_threshold"),
        ("check", "regions"),
    ] {
        assert!(has(address, field), "{address}.{field} not reported: {problems}");
    }
    // Refused before any call.
    let w = world();
    let text = refused(&w, &s, Mode::Apply(PlanOptions::default())).await;
    assert!(text.contains("routing.weight"), "{text}");
    for (key, stats) in &w.stats {
        assert!(stats.snapshot().is_empty(), "{key:?} made calls: {:?}", stats.snapshot());
    }
}

/// The emulator answers `INSYNC` at once for any change, so the wait for a
/// record's change to reach every Route 53 server (`PENDING` → `INSYNC`,
/// about a minute) is shown on the simulated provider, whose
/// `aws:route53:Record` becomes ready 60 s after its create: what depends
/// on the record (the certificate's validation) starts only then.
#[tokio::test(start_paused = true)]
async fn a_record_is_waited_for_until_in_sync_on_the_simulated_provider() {
    use infra_core::ProviderConfig;
    use infra_engine::{
        Budget, BudgetConfig, Event, Events, Executor, ExecutorConfig, Interrupt, RunOptions, run,
    };
    use infra_sim::{SimCloud, SimConfig, sim_registry};
    use infra_state::{Backend, MemoryBackend};

    let types = ["aws:route53:Record", "aws:acm:CertificateValidation"];
    let cloud = SimCloud::new(SimConfig::default());
    let registry = sim_registry(&cloud, &[ProviderConfig::aws("us-east-1")], &types);
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    let mut s = Stack::new("insync");
    s.provider(ProviderConfig::aws("us-east-1"));
    let record = s.add(
        "validation-record",
        Record {
            zone_id: HostedZoneId::new("Z0SIMULATED").unwrap().into(),
            name: "_x1.example.com.".into(),
            record_type: RecordType::Cname,
            ttl: Some(60),
            records: vec!["_y1.acm-validations.aws.".into()],
            ..Default::default()
        },
    );
    s.add(
        "validation",
        CertificateValidation {
            certificate_arn: infra_aws::ids::CertificateArn::new(
                "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            )
            .unwrap()
            .into(),
            validation_record_fqdns: vec![record.fqdn().into()],
        },
    );
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let (events, mut rx) = Events::channel();
    let options = RunOptions {
        mode: Mode::Apply(PlanOptions::default()),
        lock_timeout: std::time::Duration::from_secs(1),
        refresh: true,
    };
    let outcome = run(&executor, backend, &s, &options, &events, &Interrupt::new()).await.unwrap();
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    assert!(outcome.report.success(), "{:?}", outcome.report);
    let waited = seen
        .iter()
        .any(|e| matches!(e, Event::Waiting { address, .. } if *address == addr("validation-record")));
    assert!(waited, "the record's change was not waited for: {seen:?}");
    let done_at = seen
        .iter()
        .position(|e| matches!(e, Event::Done { address, .. } if *address == addr("validation-record")))
        .unwrap();
    let started_at = seen
        .iter()
        .position(|e| matches!(e, Event::Started { address, .. } if *address == addr("validation")))
        .unwrap();
    assert!(started_at > done_at, "the validation started before the record was in sync");
    let elapsed = seen.iter().find_map(|e| match e {
        Event::Done { address, elapsed_ms, .. } if *address == addr("validation-record") => Some(*elapsed_ms),
        _ => None,
    });
    assert!(elapsed.unwrap() >= 60_000, "{elapsed:?}");
}
