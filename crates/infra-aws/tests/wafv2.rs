//! WAFv2 and Shield Advanced on the emulator: each type's lifecycle (create,
//! refreshed plan empty, update in place, plan empty, force-new replace in
//! the declared order, destroy leaving nothing) — IP sets and web ACLs of
//! both scopes (AWS managed rule groups with rule action overrides, a
//! rate-based rule, an IP set reference, a geo match), the association of
//! a regional ACL with an ALB made by the elbv2 types, Shield protections
//! of the ALBs and of a distribution; a lost create answer; the answers
//! the emulator never gives (a stale lock token, an ACL still associated),
//! injected through the fault proxy; the rules checked before any call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::ec2::{SecurityGroup, Subnet, Vpc};
use infra_aws::elbv2::Alb;
use infra_aws::ids::{DistributionArn, IpSetArn, LoadBalancerArn, SubnetId};
use infra_aws::shield::ShieldProtection;
use infra_aws::wafv2::{
    DefaultAction, GeoMatch, IpAddressVersion, IpSet, ManagedRuleGroup, OverrideAction, RateBased, Rule,
    RuleAction, RuleActionOverride, Scope, Statement, VisibilityConfig, WebAcl, WebAclAssociation,
};
use infra_core::{Handle, Input, Options, Output, ProviderKey, ReplaceOrder, Stack};
use infra_testkit::faults::{Effect, Fault};

fn both<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str, &'static str); 2] {
    [(us, "us", REGIONS[0]), (eu, "eu", REGIONS[1])]
}

fn tags(v: u8) -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))])
}

fn add<R: infra_core::Resource + serde::Serialize>(
    s: &mut Stack,
    key: &ProviderKey,
    name: &str,
    r: R,
) -> Handle<R> {
    s.add_with(name, r, Options::new().provider(key))
}

/// An ALB in two subnets of a new VPC (the fixture of tests/elbv2.rs).
fn alb(s: &mut Stack, key: &ProviderKey, r: &str, region: &str) -> Output<LoadBalancerArn> {
    let at = |name: &str| format!("{r}-{name}");
    let vpc = add(s, key, &at("vpc"), Vpc { cidr_block: "10.8.0.0/16".into(), ..Default::default() });
    let subnets: Vec<Output<SubnetId>> = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, az)| {
            let subnet = Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: format!("10.8.{i}.0/24"),
                availability_zone: format!("{region}{az}"),
                map_public_ip_on_launch: false,
                tags: BTreeMap::new(),
            };
            add(s, key, &at(&format!("subnet-{az}")), subnet).id()
        })
        .collect();
    let sg = SecurityGroup {
        name: format!("{r}-alb"),
        description: "the load balancer".into(),
        vpc_id: vpc.id().into(),
        ..Default::default()
    };
    let sg = add(s, key, &at("sg"), sg).id();
    let lb = Alb {
        name: format!("web-{r}"),
        subnets: subnets.iter().map(Input::from).collect(),
        security_groups: vec![sg.into()],
        ..Default::default()
    };
    add(s, key, &at("alb"), lb).arn()
}

fn wafv2(w: &World, region: &str) -> aws_sdk_wafv2::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_wafv2::Client::from_conf(aws_sdk_wafv2::config::Builder::from(&sdk).build())
}

fn shield(w: &World) -> aws_sdk_shield::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, REGIONS[0]).unwrap();
    aws_sdk_shield::Client::from_conf(aws_sdk_shield::config::Builder::from(&sdk).build())
}

/// The names of the web ACLs of `scope` the emulator holds, asked of
/// `region`'s endpoint (CLOUDFRONT: us-east-1's).
async fn acls(w: &World, region: &str, scope: &str) -> Vec<String> {
    let out = wafv2(w, region)
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::from(scope))
        .send()
        .await
        .unwrap();
    let part = if scope == "CLOUDFRONT" { ":global/" } else { ":regional/" };
    let mut names: Vec<String> = out
        .web_acls()
        .iter()
        .filter(|a| a.arn().is_some_and(|arn| arn.contains(part)))
        .filter_map(|a| a.name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The seed's web ACL: the three AWS managed groups (the common rule set
/// with a body-size rule counted only), a rate-based rule per IP, a block
/// list by IP set; `v >= 1` tightens the limit, blocks by default and adds
/// a geo match.
fn acl(name: &str, scope: Scope, blocked: Output<IpSetArn>, v: u8) -> WebAcl {
    let mut common = ManagedRuleGroup::aws("AWSManagedRulesCommonRuleSet");
    common.rule_action_overrides =
        vec![RuleActionOverride { name: "SizeRestrictions_BODY".into(), action: RuleAction::Count }];
    if v >= 1 {
        common.excluded_rules = vec!["NoUserAgent_HEADER".into()];
    }
    let mut rules = vec![
        Rule::managed(10, common),
        Rule::managed(20, ManagedRuleGroup::aws("AWSManagedRulesKnownBadInputsRuleSet")),
        Rule::managed(30, ManagedRuleGroup::aws("AWSManagedRulesSQLiRuleSet")),
        Rule::rate_limit("per-ip", 40, if v == 0 { 2000 } else { 500 }),
        Rule::ip_set("blocked", 5, blocked, RuleAction::Block),
    ];
    if v >= 1 {
        rules[2].override_action = OverrideAction::Count;
        rules.push(Rule::with_action(
            "embargo",
            50,
            Statement::GeoMatch(GeoMatch { country_codes: vec!["KP".into(), "IR".into()] }),
            RuleAction::Block,
        ));
    }
    WebAcl {
        name: name.to_owned(),
        scope,
        description: (v >= 1).then(|| "the edge's firewall".into()),
        default_action: if v == 0 { DefaultAction::Allow } else { DefaultAction::Block },
        rules,
        visibility_config: VisibilityConfig::metrics(name),
        tags: tags(v),
    }
}

fn ip_set(name: &str, scope: Scope, v: u8) -> IpSet {
    IpSet {
        name: name.to_owned(),
        scope,
        addresses: if v == 0 {
            vec!["192.0.2.0/24".into()]
        } else {
            vec!["198.51.100.7/32".into(), "192.0.2.0/24".into()]
        },
        description: (v >= 1).then(|| "blocked sources".into()),
        tags: tags(v),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_set_lifecycle() {
    lifecycle(
        "ipset",
        |s, us, eu, v| {
            for (key, r, _) in both(us, eu) {
                // v2 renames: a replacement, made first.
                let name = if v == 2 { format!("{r}-deny") } else { format!("{r}-blocked") };
                add(s, key, &format!("{r}-set"), ip_set(&name, Scope::Regional, v));
            }
            // A CLOUDFRONT-scope set declared on the eu-west-1 provider
            // (managed through us-east-1), with IPv6 ranges in a
            // non-canonical spelling.
            let mut edge = ip_set(if v == 2 { "edge-deny" } else { "edge-blocked" }, Scope::Cloudfront, v);
            edge.ip_address_version = IpAddressVersion::Ipv6;
            edge.addresses = vec!["2001:DB8:0:0::/32".into()];
            if v >= 1 {
                edge.addresses.push("2001:db8:ffff::1/128".into());
            }
            add(s, eu, "edge-set", edge);
        },
        &["us-set", "eu-set", "edge-set"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_acl_lifecycle_in_both_scopes() {
    lifecycle(
        "acl",
        |s, us, eu, v| {
            for (key, r, _) in both(us, eu) {
                let set =
                    add(s, key, &format!("{r}-set"), ip_set(&format!("{r}-blocked"), Scope::Regional, 0));
                // v2 renames: a replacement, made first.
                let name = if v == 2 { format!("{r}-alb-v2") } else { format!("{r}-alb") };
                add(s, key, &format!("{r}-acl"), acl(&name, Scope::Regional, set.arn(), v));
            }
            let set = add(s, eu, "edge-set", ip_set("edge-blocked", Scope::Cloudfront, 0));
            let name = if v == 2 { "edge-v2" } else { "edge" };
            add(s, eu, "edge-acl", acl(name, Scope::Cloudfront, set.arn(), v));
        },
        &["us-acl", "eu-acl", "edge-acl"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

/// The ACLs as the emulator holds them after one apply: the regional one
/// in its region, the CLOUDFRONT one (declared on eu-west-1) listed under
/// us-east-1 with a us-east-1 ARN, read back and destroyed through the
/// same provider. (The emulator keeps every region's CLOUDFRONT objects in
/// one store, so which endpoint the calls reached is checked by the unit
/// test `wafv2::sdk::tests::the_cloudfront_scope_goes_to_us_east_1`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloudfront_acl_of_an_eu_provider_is_made_in_us_east_1() {
    let w = world();
    let (mut s, _, eu) = stack("scopes");
    let set = add(&mut s, &eu, "eu-set", ip_set("eu-blocked", Scope::Regional, 0));
    add(&mut s, &eu, "eu-acl", acl("eu-alb", Scope::Regional, set.arn(), 0));
    let edge = add(&mut s, &eu, "edge-set", ip_set("edge-blocked", Scope::Cloudfront, 0));
    add(&mut s, &eu, "edge-acl", acl("edge", Scope::Cloudfront, edge.arn(), 0));
    let (o, _) = w.apply(&s).await;
    assert_eq!(acls(&w, REGIONS[1], "REGIONAL").await, ["eu-alb"]);
    assert_eq!(acls(&w, REGIONS[0], "REGIONAL").await, Vec::<String>::new());
    assert_eq!(acls(&w, REGIONS[0], "CLOUDFRONT").await, ["edge"]);
    let arn = o.state.resources[&addr("edge-acl")].id.clone();
    assert!(arn.starts_with("arn:aws:wafv2:us-east-1:") && arn.contains(":global/webacl/edge/"), "{arn}");
    w.destroy(&s).await;
    assert!(acls(&w, REGIONS[0], "CLOUDFRONT").await.is_empty());
}

/// A regional ACL on an ALB: created after both, the ACL updated in place
/// while associated, the association moved to another ACL (destroy first:
/// one ACL per load balancer), then everything destroyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn association_with_an_alb() {
    lifecycle(
        "assoc",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let lb = alb(s, key, r, region);
                let set =
                    add(s, key, &format!("{r}-set"), ip_set(&format!("{r}-blocked"), Scope::Regional, 0));
                let first = add(
                    s,
                    key,
                    &format!("{r}-acl"),
                    acl(&format!("{r}-alb"), Scope::Regional, set.arn(), v.min(1)),
                );
                let web_acl_arn = if v == 2 {
                    let other = acl(&format!("{r}-alb-strict"), Scope::Regional, set.arn(), 1);
                    add(s, key, &format!("{r}-strict"), other).arn()
                } else {
                    first.arn()
                };
                add(
                    s,
                    key,
                    &format!("{r}-assoc"),
                    WebAclAssociation { web_acl_arn: web_acl_arn.into(), resource_arn: lb.into() },
                );
            }
        },
        &["us-assoc", "eu-assoc"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// Shield protections of both regions' ALBs and of a distribution (by ARN:
/// the emulator does not check that it exists), made through Shield's
/// us-east-1 endpoint. The emulator needs no subscription (AWS does: the
/// account's Shield Advanced subscription is made outside infra).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shield_protection_lifecycle() {
    lifecycle(
        "shield",
        |s, us, eu, v| {
            for (key, r, region) in both(us, eu) {
                let lb = alb(s, key, r, region);
                // v2 renames: a replacement, destroy first (one protection
                // per resource).
                let name = if v == 2 { format!("{r} alb v2") } else { format!("{r}-alb") };
                let p = ShieldProtection { name, resource_arn: lb.into(), tags: tags(v) };
                add(s, key, &format!("{r}-shield"), p);
            }
            let cdn =
                DistributionArn::new("arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE").unwrap();
            let p = ShieldProtection { name: "cdn".into(), resource_arn: cdn.into(), tags: tags(v) };
            add(s, us, "cdn-shield", p);
        },
        &["us-shield", "eu-shield"],
        ReplaceOrder::DeleteBeforeCreate,
    )
    .await;
}

/// A web ACL changed outside infra (its default action and its rate limit,
/// through the emulator's own API) shows as drift and is put back in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_changed_outside_is_put_back() {
    let w = world();
    let (mut s, us, _) = stack("drift");
    let set = add(&mut s, &us, "set", ip_set("blocked", Scope::Regional, 0));
    add(&mut s, &us, "acl", acl("alb", Scope::Regional, set.arn(), 0));
    let (o, _) = w.apply(&s).await;
    let arn = o.state.resources[&addr("acl")].id.clone();
    let waf = wafv2(&w, REGIONS[0]);
    let id = arn.rsplit('/').next().unwrap();
    let scope = aws_sdk_wafv2::types::Scope::Regional;
    let got = waf.get_web_acl().name("alb").scope(scope.clone()).id(id).send().await.unwrap();
    let acl = got.web_acl().unwrap();
    let mut rules = acl.rules().to_vec();
    let rate = rules.iter_mut().find(|r| r.name() == "per-ip").unwrap();
    let mut statement = rate.statement().unwrap().clone();
    statement.rate_based_statement.as_mut().unwrap().limit = 100;
    rate.statement = Some(statement);
    let block = aws_sdk_wafv2::types::DefaultAction::builder()
        .block(aws_sdk_wafv2::types::BlockAction::builder().build())
        .build();
    waf.update_web_acl()
        .name("alb")
        .scope(scope)
        .id(id)
        .default_action(block)
        .set_rules(Some(rules))
        .set_visibility_config(acl.visibility_config().cloned())
        .lock_token(got.lock_token().unwrap())
        .send()
        .await
        .unwrap();
    let (o, _) = w.apply(&s).await;
    let change = o.plan.change(&addr("acl")).unwrap();
    assert_eq!(change.action, infra_core::Action::Update, "{change:?}");
    assert!(w.converged(&s).await);
}

/// A create whose answer is lost: the ACL, the IP set and the protection
/// are made once, found by their natural key (the name in the scope, the
/// protected resource) when the retried create is refused as a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_makes_one_of_each() {
    let w = world_through_proxy();
    let (mut s, us, _) = stack("lost");
    let set = add(&mut s, &us, "set", ip_set("blocked", Scope::Regional, 0));
    add(&mut s, &us, "acl", acl("alb", Scope::Regional, set.arn(), 0));
    let lb =
        LoadBalancerArn::new("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1")
            .unwrap();
    add(
        &mut s,
        &us,
        "shield",
        ShieldProtection { name: "web".into(), resource_arn: lb.into(), ..Default::default() },
    );
    proxy().set(vec![
        Fault::new("CreateWebACL", 1, Effect::LoseResponse),
        Fault::new("CreateIPSet", 1, Effect::LoseResponse),
        Fault::new("CreateProtection", 1, Effect::LoseResponse),
    ]);
    let (o, _) = w.apply(&s).await;
    assert_eq!(proxy().injected().len(), 3, "{:?}", proxy().injected());
    proxy().set(Vec::new());
    assert!(o.report.success(), "{:?}", o.report);
    assert_eq!(acls(&w, REGIONS[0], "REGIONAL").await, ["alb"]);
    let sets = wafv2(&w, REGIONS[0])
        .list_ip_sets()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .send()
        .await
        .unwrap();
    assert_eq!(sets.ip_sets().len(), 1);
    let protections = shield(&w).list_protections().send().await.unwrap();
    assert_eq!(protections.protections().len(), 1);
    assert!(w.converged(&s).await);
}

/// AWS answers `WAFOptimisticLockException` when the ACL changed between
/// the read of its lock token and the update; the emulator enforces lock
/// tokens but nothing else writes in between, so the proxy injects that
/// answer (the substitution) to the first UpdateWebACL and DeleteWebACL:
/// each is read again (a new GetWebACL) and sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lock_token_is_read_again_and_retried() {
    let w = world_through_proxy();
    let version = |v: u8| {
        let (mut s, us, _) = stack("stale");
        let set = add(&mut s, &us, "set", ip_set("blocked", Scope::Regional, 0));
        add(&mut s, &us, "acl", acl("alb", Scope::Regional, set.arn(), v));
        s
    };
    w.apply(&version(0)).await;
    let stale = Effect::Refuse("WAFOptimisticLockException");
    proxy().set(vec![Fault::new("UpdateWebACL", 1, stale), Fault::new("DeleteWebACL", 1, stale)]);
    let us = &w.stats[0].1;
    us.reset();
    w.apply(&version(1)).await;
    let calls = us.snapshot();
    assert_eq!(calls.get("UpdateWebACL"), Some(&2), "{calls:?}");
    assert!(w.converged(&version(1)).await);
    w.destroy(&version(1)).await;
    assert_eq!(proxy().injected().len(), 2, "{:?}", proxy().injected());
    proxy().set(Vec::new());
    assert!(acls(&w, REGIONS[0], "REGIONAL").await.is_empty());
}

/// AWS refuses to delete an ACL still associated
/// (`WAFAssociatedItemException`) while a removed association settles; the
/// emulator deletes it anyway, so the proxy injects that answer (the
/// substitution) to the first two DeleteWebACL calls, sent after the
/// association's removal: the delete is retried (its lock token read
/// again each time) until it passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_still_associated_is_deleted_once_the_association_is_gone() {
    let w = world_through_proxy();
    let (mut s, us, _) = stack("associated");
    let lb = alb(&mut s, &us, "us", REGIONS[0]);
    let set = add(&mut s, &us, "set", ip_set("blocked", Scope::Regional, 0));
    let a = add(&mut s, &us, "acl", acl("alb", Scope::Regional, set.arn(), 0));
    add(&mut s, &us, "assoc", WebAclAssociation { web_acl_arn: a.arn().into(), resource_arn: lb.into() });
    w.apply(&s).await;
    let busy = Effect::Refuse("WAFAssociatedItemException");
    proxy().set(vec![Fault::new("DeleteWebACL", 1, busy), Fault::new("DeleteWebACL", 2, busy)]);
    let calls = &w.stats[0].1;
    calls.reset();
    let o = w.destroy(&s).await;
    assert_eq!(proxy().injected(), vec![("DeleteWebACL".to_owned(), busy); 2]);
    proxy().set(Vec::new());
    let calls = calls.snapshot();
    assert_eq!(calls.get("DisassociateWebACL"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("DeleteWebACL"), Some(&3), "{calls:?}");
    assert!(o.state.resources.is_empty());
    assert!(acls(&w, REGIONS[0], "REGIONAL").await.is_empty());
}

// ---------------------------------------------------------------------
// Validation: refused before any call, naming the field.
// ---------------------------------------------------------------------

fn refused(stack: &Stack) -> Vec<String> {
    match stack.validate() {
        Err(infra_core::Error::Invalid(d)) => d.iter().filter_map(|p| p.field.clone()).collect(),
        Err(e) => panic!("{e}"),
        Ok(_) => Vec::new(),
    }
}

fn regional_set() -> IpSetArn {
    IpSetArn::new("arn:aws:wafv2:us-east-1:123456789012:regional/ipset/blocked/a1b2").unwrap()
}

fn valid_acl() -> WebAcl {
    WebAcl {
        name: "alb".into(),
        rules: vec![
            Rule::managed(1, ManagedRuleGroup::aws("AWSManagedRulesSQLiRuleSet")),
            Rule::rate_limit("per-ip", 2, 2000),
            Rule::ip_set("blocked", 3, regional_set(), RuleAction::Block),
        ],
        visibility_config: VisibilityConfig::metrics("alb"),
        ..Default::default()
    }
}

#[test]
fn invalid_web_acls_are_refused_naming_the_field() {
    let with = |f: &dyn Fn(&mut WebAcl)| {
        let mut a = valid_acl();
        f(&mut a);
        a
    };
    let rate = |limit: i64, window: Option<i64>| {
        Statement::RateBased(RateBased { limit, evaluation_window_sec: window, ..Default::default() })
    };
    let cases: Vec<(&str, WebAcl)> = vec![
        ("name", with(&|a| a.name = "has space".into())),
        ("name", with(&|a| a.name = "n".repeat(129))),
        ("visibility_config.metric_name", with(&|a| a.visibility_config.metric_name = "All".into())),
        ("visibility_config.metric_name", with(&|a| a.visibility_config.metric_name = String::new())),
        ("rules[1].name", with(&|a| a.rules[1].name = a.rules[0].name.clone())),
        ("rules[2].priority", with(&|a| a.rules[2].priority = 1)),
        ("rules[1].priority", with(&|a| a.rules[1].priority = -1)),
        ("rules[1].statement.rate_based.limit", with(&|a| a.rules[1].statement = rate(9, None))),
        ("rules[1].statement.rate_based.limit", with(&|a| a.rules[1].statement = rate(2_000_000_001, None))),
        (
            "rules[1].statement.rate_based.evaluation_window_sec",
            with(&|a| a.rules[1].statement = rate(100, Some(30))),
        ),
        ("rules[0].action", with(&|a| a.rules[0].action = Some(RuleAction::Block))),
        ("rules[1].action", with(&|a| a.rules[1].action = None)),
        ("rules[1].override_action", with(&|a| a.rules[1].override_action = OverrideAction::Count)),
        (
            "rules[2].visibility_config.metric_name",
            with(&|a| a.rules[2].visibility_config.metric_name = "a b".into()),
        ),
        // A CLOUDFRONT ACL takes CLOUDFRONT (global) IP sets only.
        ("rules[2].statement.ip_set.arn", with(&|a| a.scope = Scope::Cloudfront)),
        (
            "rules[0].statement.geo_match.country_codes[0]",
            with(&|a| {
                a.rules[0] = Rule::with_action(
                    "geo",
                    1,
                    Statement::GeoMatch(GeoMatch { country_codes: vec!["usa".into()] }),
                    RuleAction::Block,
                )
            }),
        ),
        (
            "rules[0].statement.managed_rule_group.rule_action_overrides[1].name",
            with(&|a| {
                let mut g = ManagedRuleGroup::aws("AWSManagedRulesCommonRuleSet");
                let o = RuleActionOverride { name: "NoUserAgent_HEADER".into(), action: RuleAction::Count };
                g.rule_action_overrides = vec![o.clone(), o];
                a.rules[0] = Rule::managed(1, g);
            }),
        ),
    ];
    for (field, a) in cases {
        let (mut s, us, _) = stack("invalid");
        add(&mut s, &us, "acl", a);
        let fields = refused(&s);
        assert!(fields.iter().any(|f| f == field), "{field}: refused for {fields:?}");
    }
    let (mut s, us, _) = stack("valid");
    add(&mut s, &us, "acl", valid_acl());
    assert_eq!(refused(&s), Vec::<String>::new());
}

#[test]
fn invalid_ip_sets_associations_and_protections_are_refused_naming_the_field() {
    let set = |f: &dyn Fn(&mut IpSet)| {
        let mut s = ip_set("blocked", Scope::Regional, 0);
        f(&mut s);
        s
    };
    let sets: Vec<(&str, IpSet)> = vec![
        ("name", set(&|s| s.name = "a/b".into())),
        ("addresses[0]", set(&|s| s.addresses = vec!["10.0.0.0/33".into()])),
        ("addresses[0]", set(&|s| s.addresses = vec!["10.0.0.0/0".into()])),
        ("addresses[0]", set(&|s| s.addresses = vec!["10.0.0.0".into()])),
        ("addresses[0]", set(&|s| s.addresses = vec!["2001:db8::/32".into()])),
        ("addresses[1]", set(&|s| s.addresses = vec!["10.0.0.0/8".into(), "10.0.0.0/8".into()])),
        ("description", set(&|s| s.description = Some("d".repeat(257)))),
    ];
    for (field, ip) in sets {
        let (mut s, us, _) = stack("invalid");
        add(&mut s, &us, "set", ip);
        let fields = refused(&s);
        assert!(fields.iter().any(|f| f == field), "{field}: refused for {fields:?}");
    }
    // An association takes a REGIONAL ACL.
    let (mut s, us, _) = stack("invalid");
    let global =
        infra_aws::ids::WebAclArn::new("arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/x").unwrap();
    let lb =
        LoadBalancerArn::new("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1")
            .unwrap();
    add(&mut s, &us, "assoc", WebAclAssociation { web_acl_arn: global.into(), resource_arn: lb.into() });
    assert_eq!(refused(&s), ["web_acl_arn"]);
    // A protection's name, and a resource Shield does not protect.
    let (mut s, us, _) = stack("invalid");
    let bucket = infra_aws::shield::ProtectedResource::Arn("arn:aws:s3:::my-bucket".into());
    add(
        &mut s,
        &us,
        "p",
        ShieldProtection { name: "a/b".into(), resource_arn: bucket, ..Default::default() },
    );
    let mut fields = refused(&s);
    fields.sort();
    assert_eq!(fields, ["name", "resource_arn"]);
    // Two ACLs of one name in one scope and region.
    let (mut s, us, _) = stack("invalid");
    add(&mut s, &us, "a", valid_acl());
    add(&mut s, &us, "b", valid_acl());
    assert_eq!(refused(&s), ["name"]);
}
