use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, PrefixListId, SecurityGroupId, SecurityGroupRuleId, VpcId};

/// One inline ingress or egress rule of a [`SecurityGroup`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupRuleSpec {
    /// `tcp`, `udp`, `icmp` or `-1` for all.
    pub protocol: String,
    /// First port (ICMP: the type); 0 for protocols without ports, such as
    /// `-1` (AWS reports none for them).
    pub from_port: i32,
    /// Last port (ICMP: the code); 0 for protocols without ports.
    pub to_port: i32,
    /// Source (ingress) or destination (egress) IPv4 blocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cidr_blocks: Vec<String>,
    /// Source (ingress) or destination (egress) IPv6 blocks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidr_blocks: Vec<String>,
    /// Source (ingress) or destination (egress) managed prefix lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefix_list_ids: Vec<Input<PrefixListId>>,
    /// Source (ingress) or destination (egress) security groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<Input<SecurityGroupId>>,
    /// The group itself as source or destination.
    #[serde(rename = "self", skip_serializing_if = "std::ops::Not::not")]
    pub self_: bool,
    /// The description of the rule (of each of its sources in AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SecurityGroupRuleSpec {
    /// A TCP rule for one port from CIDR blocks:
    /// `tcp_from_cidrs(443, &["10.0.0.0/8"])`.
    pub fn tcp_from_cidrs<C: AsRef<str>>(port: i32, cidrs: &[C]) -> Self {
        SecurityGroupRuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            cidr_blocks: cidrs.iter().map(|c| c.as_ref().to_owned()).collect(),
            ..Default::default()
        }
    }

    /// A TCP rule for one port from other security groups, the same shape:
    /// `tcp_from_groups(443, &[alb_sg.id()])` (outputs or fixed IDs).
    pub fn tcp_from_groups<G: Clone + Into<Input<SecurityGroupId>>>(port: i32, groups: &[G]) -> Self {
        SecurityGroupRuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            security_groups: groups.iter().cloned().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// All traffic to anywhere (the usual egress rule).
    pub fn all_to_anywhere() -> Self {
        SecurityGroupRuleSpec {
            protocol: "-1".into(),
            from_port: 0,
            to_port: 0,
            cidr_blocks: vec!["0.0.0.0/0".into()],
            ..Default::default()
        }
    }
}

/// A security group (`aws_security_group`) with inline rules. Group names
/// are unique per VPC, so a replacement deletes the old group first.
///
/// The inline rules are the group's whole rule set, compared rule by rule:
/// a rule added outside infra is drift, which the next apply revokes. AWS's
/// allow-all egress rule of a new group is revoked unless `egress` declares
/// it. Rules that standalone [`SecurityGroupRule`] resources manage are not
/// part of this set. The rules are recorded one per source (one CIDR block,
/// IPv6 block, prefix list, group or `self` each, with its description),
/// protocol and ports as AWS reports them, in canonical order: the
/// declaration and a read agree whatever grouping the user wrote.
///
/// Outputs: `sg.id()` (`SecurityGroupId`) and `sg.arn()` (`Arn`).
///
/// Every rule needs a source (ingress) or destination (egress):
/// `cidr_blocks`, `ipv6_cidr_blocks`, `prefix_list_ids`, `security_groups`
/// or `self_`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let sg = stack.add("web-sg", SecurityGroup {
///     name: "web".into(),
///     description: "HTTPS from anywhere".into(),
///     vpc_id: vpc.id().into(),
///     ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["0.0.0.0/0"])],
///     egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
///     ..Default::default()
/// });
/// stack.export("web_sg_id", sg.id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SecurityGroup",
    outputs(id: SecurityGroupId, arn: Arn),
    replace = "delete_before_create",
    readiness = "on_id",
    validate = validate_group,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = canonical_group
)]
pub struct SecurityGroup {
    /// The group name, unique in its VPC.
    #[resource(force_new)]
    pub name: String,
    /// The group's description.
    #[resource(force_new)]
    pub description: String,
    /// The VPC.
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// Ingress rules (authorized and revoked in place).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<SecurityGroupRuleSpec>,
    /// Egress rules (authorized and revoked in place).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<SecurityGroupRuleSpec>,
    /// Tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_group(g: &SecurityGroup, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &g.tags);
    if g.name.is_empty() || g.name.len() > 255 {
        ctx.error("name", "must be 1 to 255 characters");
    }
    if g.name.starts_with("sg-") {
        ctx.error("name", "may not start with \"sg-\"");
    }
    if g.description.len() > 255 {
        ctx.error("description", "must be at most 255 characters");
    }
    for (field, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
        for (i, r) in rules.iter().enumerate() {
            let at = format!("{field}[{i}]");
            check_rule(ctx, &at, &r.protocol, r.from_port, r.to_port);
            for (j, c) in r.cidr_blocks.iter().enumerate() {
                super::check_cidr(ctx, &format!("{at}.cidr_blocks[{j}]"), c);
            }
            let sources = r.cidr_blocks.len()
                + r.ipv6_cidr_blocks.len()
                + r.prefix_list_ids.len()
                + r.security_groups.len()
                + usize::from(r.self_);
            if sources == 0 {
                ctx.error(
                    &at,
                    "a rule needs a source or destination: cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, security_groups or self",
                );
            }
        }
    }
}

/// A rule's protocol and ports, each problem under `at` (`ingress[2]`).
fn check_rule(ctx: &mut ValidationContext<'_>, at: &str, protocol: &str, from: i32, to: i32) {
    if !matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6" | "-1" | "all")
        && protocol.parse::<u8>().is_err()
    {
        ctx.error(
            &format!("{at}.protocol"),
            format!("{protocol:?} is not tcp, udp, icmp, icmpv6, -1 or a protocol number"),
        );
    }
    crate::rules::ports(ctx, at, protocol, from, to);
}

/// One standalone rule (`aws_vpc_security_group_ingress_rule` /
/// `_egress_rule`), for rules between groups that reference each other.
/// Only the description changes in place. The rule carries the engine's
/// tags, which keeps it out of its group's inline rules. Protocol and ports
/// are recorded as AWS reports them.
///
/// Outputs: `rule.id()` (`SecurityGroupRuleId`).
///
/// A rule has exactly one peer: `cidr_ipv4`, `cidr_ipv6`, `prefix_list_id`
/// or `referenced_security_group_id`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{SecurityGroup, SecurityGroupRule, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let group = |name: &str| SecurityGroup {
///     name: name.into(),
///     description: format!("{name} tier"),
///     vpc_id: vpc.id().into(),
///     ..Default::default()
/// };
/// let app = stack.add("app-sg", group("app"));
/// let db = stack.add("db-sg", group("db"));
/// stack.add("db-from-app", SecurityGroupRule {
///     direction: "ingress".into(),
///     security_group_id: db.id().into(),
///     protocol: "tcp".into(),
///     from_port: 5432,
///     to_port: 5432,
///     referenced_security_group_id: Some(app.id().into()),
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SecurityGroupRule",
    outputs(id: SecurityGroupRuleId),
    readiness = "on_id",
    validate = validate_rule,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = canonical_rule
)]
pub struct SecurityGroupRule {
    /// `ingress` or `egress`.
    #[resource(force_new)]
    #[serde(rename = "type")]
    pub direction: String,
    /// The group the rule belongs to.
    #[resource(force_new)]
    pub security_group_id: Input<SecurityGroupId>,
    /// `tcp`, `udp`, `icmp` or `-1` for all.
    #[resource(force_new)]
    pub protocol: String,
    /// First port (0 for protocols without ports, such as `-1`).
    #[resource(force_new)]
    pub from_port: i32,
    /// Last port (0 for protocols without ports).
    #[resource(force_new)]
    pub to_port: i32,
    /// Peer: an IPv4 block.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    /// Peer: an IPv6 block.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ipv6: Option<String>,
    /// Peer: a managed prefix list.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<Input<PrefixListId>>,
    /// Peer: another security group (or this one).
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_security_group_id: Option<Input<SecurityGroupId>>,
    /// Changed in place (ModifySecurityGroupRules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn validate_rule(r: &SecurityGroupRule, ctx: &mut ValidationContext<'_>) {
    if r.direction != "ingress" && r.direction != "egress" {
        ctx.error("type", format!("{:?} must be \"ingress\" or \"egress\"", r.direction));
    }
    crate::rules::region(ctx);
    // The rule's own fields are top-level: `from_port`, not `rule.from_port`.
    let mut inner = ValidationContext::new(ctx.address, ctx.provider);
    check_rule(&mut inner, "rule", &r.protocol, r.from_port, r.to_port);
    for p in inner.into_problems() {
        let field = p.field.as_deref().unwrap_or("rule").trim_start_matches("rule.").to_owned();
        ctx.error(&field, p.message);
    }
    if let Some(c) = &r.cidr_ipv4 {
        super::check_cidr(ctx, "cidr_ipv4", c);
    }
    let sources = [
        r.cidr_ipv4.is_some(),
        r.cidr_ipv6.is_some(),
        r.prefix_list_id.is_some(),
        r.referenced_security_group_id.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if sources != 1 {
        ctx.error(
            "cidr_ipv4",
            format!("a rule needs exactly one of cidr_ipv4, cidr_ipv6, prefix_list_id, referenced_security_group_id; {sources} given"),
        );
    }
}

/// The protocol as AWS reports it (`all` and `-1` are all traffic,
/// protocol numbers of named protocols become their names), and the ports:
/// AWS reports none (or -1) for protocols without ports, such as all
/// traffic; they are 0 here.
fn canonical_ports(protocol: &str, from: i32, to: i32) -> (String, i32, i32) {
    let protocol = match protocol.to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".to_owned(),
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        "1" => "icmp".to_owned(),
        "58" => "icmpv6".to_owned(),
        other => other.to_owned(),
    };
    let (from, to) = if has_ports(&protocol) { (from, to) } else { (0, 0) };
    (protocol, from, to)
}

/// True for protocols whose rules have ports (types and codes for ICMP).
fn has_ports(canonical: &str) -> bool {
    matches!(canonical, "tcp" | "udp" | "icmp" | "icmpv6")
}

/// A rule's canonical form: one rule per source, each with the description.
fn split(r: &SecurityGroupRuleSpec) -> Vec<SecurityGroupRuleSpec> {
    let (protocol, from_port, to_port) = canonical_ports(&r.protocol, r.from_port, r.to_port);
    let description = r.description.clone().filter(|d| !d.is_empty());
    let base = SecurityGroupRuleSpec { protocol, from_port, to_port, description, ..Default::default() };
    let mut out: Vec<SecurityGroupRuleSpec> = Vec::new();
    out.extend(
        r.cidr_blocks.iter().map(|c| SecurityGroupRuleSpec { cidr_blocks: vec![c.clone()], ..base.clone() }),
    );
    out.extend(
        r.ipv6_cidr_blocks
            .iter()
            .map(|c| SecurityGroupRuleSpec { ipv6_cidr_blocks: vec![c.clone()], ..base.clone() }),
    );
    out.extend(
        r.prefix_list_ids
            .iter()
            .map(|p| SecurityGroupRuleSpec { prefix_list_ids: vec![p.clone()], ..base.clone() }),
    );
    out.extend(
        r.security_groups
            .iter()
            .map(|g| SecurityGroupRuleSpec { security_groups: vec![g.clone()], ..base.clone() }),
    );
    if r.self_ {
        out.push(SecurityGroupRuleSpec { self_: true, ..base });
    }
    out
}

/// The sort and identity key of a canonical rule: its text (stable for
/// references not resolved yet too).
fn rule_key(r: &SecurityGroupRuleSpec) -> String {
    format!("{r:?}")
}

/// Rules in canonical form: split one per source, sorted, deduplicated.
fn canonical_rules(rules: &mut Vec<SecurityGroupRuleSpec>) {
    // Ports in numeric order first, so a plan reads naturally.
    type Key = (i32, i32, String, String);
    let mut keyed: Vec<(Key, SecurityGroupRuleSpec)> = rules
        .iter()
        .flat_map(split)
        .map(|r| ((r.from_port, r.to_port, r.protocol.clone(), rule_key(&r)), r))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    *rules = keyed.into_iter().map(|(_, r)| r).collect();
}

fn canonical_group(g: &mut SecurityGroup) {
    canonical_rules(&mut g.ingress);
    canonical_rules(&mut g.egress);
}

fn canonical_rule(r: &mut SecurityGroupRule) {
    (r.protocol, r.from_port, r.to_port) = canonical_ports(&r.protocol, r.from_port, r.to_port);
    r.description = r.description.take().filter(|d| !d.is_empty());
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {
    //! Security groups and standalone rules through the EC2 API. A rule of
    //! the canonical form is one `IpPermission` with one source; AWS's own
    //! grouping (`IpPermissions` per protocol and ports) is split the same
    //! way on read. Rules that standalone [`super::SecurityGroupRule`]
    //! resources manage (they carry the engine's `infra:token` tag) are not
    //! part of the group's inline rules, so the two can be mixed.

    use std::collections::{BTreeMap, BTreeSet};

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        Filter, IpPermission, IpRange, Ipv6Range, PrefixListId as AwsPrefixList, ResourceType,
        SecurityGroupRule as AwsRule, SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
    };
    use infra_core::Input;
    use infra_engine::provider::TAG_TOKEN;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{
        SecurityGroup, SecurityGroupOut, SecurityGroupRule, SecurityGroupRuleOut,
        SecurityGroupRuleSpec as Spec,
    };
    use super::{canonical_group, canonical_ports, has_ports, rule_key, split};
    use crate::ec2::sdk::{describe, filter, lookup_filters, tag_map, tags_spec};
    use crate::ids::{Arn, PrefixListId, SecurityGroupId, SecurityGroupRuleId, VpcId};
    use crate::kit::{Change, Created, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// A rule's identity to AWS: the rule without its description.
    fn key(r: &Spec) -> String {
        rule_key(&Spec { description: None, ..r.clone() })
    }

    /// A rule of group `own` as one `IpPermission`.
    fn permission(r: &Spec, own: &str) -> IpPermission {
        let d = || r.description.clone();
        let mut b = IpPermission::builder().ip_protocol(&r.protocol);
        if has_ports(&r.protocol) {
            b = b.from_port(r.from_port).to_port(r.to_port);
        }
        let b = r
            .cidr_blocks
            .iter()
            .fold(b, |b, c| b.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d()).build()));
        let b = r
            .ipv6_cidr_blocks
            .iter()
            .fold(b, |b, c| b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d()).build()));
        let list = |p: &Input<PrefixListId>| {
            AwsPrefixList::builder().prefix_list_id(p.id()).set_description(d()).build()
        };
        let b = r.prefix_list_ids.iter().fold(b, |b, p| b.prefix_list_ids(list(p)));
        let pair = |g: &str| UserIdGroupPair::builder().group_id(g).set_description(d()).build();
        let groups = r.security_groups.iter().map(Input::id).chain(r.self_.then_some(own));
        groups.fold(b, |b, g| b.user_id_group_pairs(pair(g))).build()
    }

    /// The canonical rules of one of group `own`'s `IpPermissions`.
    fn rules_of(p: &IpPermission, own: &str) -> Vec<Spec> {
        let (from_port, to_port) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(0));
        let base = Spec {
            protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
            from_port,
            to_port,
            ..Spec::default()
        };
        let one = |d: Option<&str>| Spec { description: d.map(str::to_owned), ..base.clone() };
        let mut out = Vec::new();
        let v4 =
            |r: &IpRange| Some(Spec { cidr_blocks: vec![r.cidr_ip()?.to_owned()], ..one(r.description()) });
        let v6 = |r: &Ipv6Range| {
            Some(Spec { ipv6_cidr_blocks: vec![r.cidr_ipv6()?.to_owned()], ..one(r.description()) })
        };
        out.extend(p.ip_ranges().iter().filter_map(v4).chain(p.ipv6_ranges().iter().filter_map(v6)));
        out.extend(p.prefix_list_ids().iter().filter_map(|r| {
            Some(Spec {
                prefix_list_ids: vec![Input::Value(PrefixListId::unchecked(r.prefix_list_id()?))],
                ..one(r.description())
            })
        }));
        out.extend(p.user_id_group_pairs().iter().filter_map(|r| {
            let g = r.group_id()?;
            let groups = if g == own { vec![] } else { vec![Input::Value(SecurityGroupId::unchecked(g))] };
            Some(Spec { security_groups: groups, self_: g == own, ..one(r.description()) })
        }));
        out.iter().flat_map(split).collect()
    }

    /// A standalone rule as AWS reports it.
    fn observed_rule(r: &AwsRule) -> SecurityGroupRule {
        let group = |g: &str| Input::Value(SecurityGroupId::unchecked(g));
        SecurityGroupRule {
            direction: if r.is_egress().unwrap_or(false) { "egress" } else { "ingress" }.to_owned(),
            security_group_id: group(r.group_id().unwrap_or_default()),
            protocol: r.ip_protocol().unwrap_or("-1").to_owned(),
            from_port: r.from_port().unwrap_or(0),
            to_port: r.to_port().unwrap_or(0),
            cidr_ipv4: r.cidr_ipv4().map(str::to_owned),
            cidr_ipv6: r.cidr_ipv6().map(str::to_owned),
            prefix_list_id: r.prefix_list_id().map(|p| Input::Value(PrefixListId::unchecked(p))),
            referenced_security_group_id: r.referenced_group_info().and_then(|g| g.group_id()).map(group),
            description: r.description().map(str::to_owned),
        }
    }

    /// A standalone rule as its group's canonical rule (the group itself as
    /// source is `self`).
    fn as_spec(r: &SecurityGroupRule) -> Spec {
        let group = r.referenced_security_group_id.clone();
        let myself = group.as_ref().is_some_and(|g| g.id() == r.security_group_id.id());
        let spec = Spec {
            protocol: r.protocol.clone(),
            from_port: r.from_port,
            to_port: r.to_port,
            cidr_blocks: r.cidr_ipv4.iter().cloned().collect(),
            ipv6_cidr_blocks: r.cidr_ipv6.iter().cloned().collect(),
            prefix_list_ids: r.prefix_list_id.iter().cloned().collect(),
            security_groups: group.into_iter().filter(|_| !myself).collect(),
            self_: myself,
            description: r.description.clone(),
        };
        split(&spec).pop().unwrap_or(spec)
    }

    /// Standalone rules matching `filters` (one paginated call).
    async fn describe_rules(cx: &Ctx, filters: Vec<Filter>) -> Result<Vec<AwsRule>, ProviderError> {
        describe!(cx, describe_security_group_rules, set_filters(filters) => security_group_rules, "DescribeSecurityGroupRules")
    }

    /// The permissions that revoke, authorize and re-describe rules to turn
    /// `have` into `want` (rules are the same when all but their
    /// descriptions are).
    fn diff(have: &[Spec], want: &[Spec], id: &str) -> [Vec<IpPermission>; 3] {
        let keyed = |rules: &[Spec]| -> BTreeMap<String, Spec> {
            rules.iter().flat_map(split).map(|r| (key(&r), r)).collect()
        };
        let (cur, wanted) = (keyed(have), keyed(want));
        let perms = |from: &BTreeMap<String, Spec>, keep: &dyn Fn(&String, &Spec) -> bool| {
            from.iter().filter(|(k, r)| keep(k, r)).map(|(_, r)| permission(r, id)).collect()
        };
        [
            perms(&cur, &|k, _| !wanted.contains_key(k)),
            perms(&wanted, &|k, _| !cur.contains_key(k)),
            perms(&wanted, &|k, r| cur.get(k).is_some_and(|c| c.description != r.description)),
        ]
    }

    /// Makes the inline rules of group `id` (now `have`) those of `want`:
    /// revokes exactly what is not wanted, authorizes exactly what is
    /// missing, re-describes what differs only by description.
    async fn sync(
        cx: &Ctx,
        id: &str,
        have: &SecurityGroup,
        want: &SecurityGroup,
        creating: bool,
    ) -> Result<(), ProviderError> {
        let op = if creating { Operation::Create } else { Operation::Update };
        // One rules call, through `settle` while creating.
        macro_rules! call {
            ($perms:expr, $name:literal, $method:ident) => {
                if !$perms.is_empty() {
                    let once = || {
                        cx.send($name, op, || {
                            cx.ec2().$method().group_id(id).set_ip_permissions(Some($perms.clone())).send()
                        })
                    };
                    if creating {
                        settle(once).await?;
                    } else {
                        once().await?;
                    }
                }
            };
        }
        let [revoke, authorize, describe] = diff(&have.ingress, &want.ingress, id);
        call!(revoke, "RevokeSecurityGroupIngress", revoke_security_group_ingress);
        call!(authorize, "AuthorizeSecurityGroupIngress", authorize_security_group_ingress);
        call!(
            describe,
            "UpdateSecurityGroupRuleDescriptionsIngress",
            update_security_group_rule_descriptions_ingress
        );
        let [revoke, authorize, describe] = diff(&have.egress, &want.egress, id);
        call!(revoke, "RevokeSecurityGroupEgress", revoke_security_group_egress);
        call!(authorize, "AuthorizeSecurityGroupEgress", authorize_security_group_egress);
        call!(
            describe,
            "UpdateSecurityGroupRuleDescriptionsEgress",
            update_security_group_rule_descriptions_egress
        );
        Ok(())
    }

    /// `aws:ec2:SecurityGroup` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct SecurityGroupKind;

    /// The group `id` as it is now.
    async fn now(cx: &Ctx, id: &str) -> Result<SecurityGroup, ProviderError> {
        let found =
            SecurityGroupKind.list(cx, Lookup::Ids(&[id.to_owned()])).await?.into_iter().find(|s| s.id == id);
        let gone = format!("security group {id} does not exist");
        let gone = || ProviderError::new(ErrorKind::NotFound, gone).with_code("InvalidGroup.NotFound");
        found.map(|s| s.decl).ok_or_else(gone)
    }

    #[async_trait]
    impl Kind for SecurityGroupKind {
        type Decl = SecurityGroup;
        type Out = SecurityGroupOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 300);

        /// One paginated `DescribeSecurityGroups`, and one
        /// `DescribeSecurityGroupRules` on the groups found to tell apart the
        /// rules that standalone rule resources manage. A group name is
        /// unique per VPC: the natural key.
        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, SecurityGroup>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let natural = |d: &SecurityGroup| {
                Some(vec![
                    filter("vpc-id", [d.vpc_id.id().to_owned()]),
                    filter("group-name", [d.name.clone()]),
                ])
            };
            let Some(filters) = lookup_filters(&by, "group-id", natural) else { return Ok(Vec::new()) };
            let groups = describe!(cx, describe_security_groups, set_filters(filters) => security_groups, "DescribeSecurityGroups")?;
            if groups.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<String> = groups.iter().filter_map(|g| g.group_id().map(str::to_owned)).collect();
            // Rules managed by standalone rule resources: (group, egress, key).
            let rules = crate::kit::by_filter_chunks(&ids, |ids| {
                describe_rules(cx, vec![filter("group-id", ids.iter().cloned())])
            })
            .await?;
            let managed: BTreeSet<(String, bool, String)> = rules
                .iter()
                .filter(|r| r.tags().iter().any(|t| t.key() == Some(TAG_TOKEN)))
                .map(observed_rule)
                .map(|r| (r.security_group_id.id().to_owned(), r.direction == "egress", key(&as_spec(&r))))
                .collect();
            groups
                .iter()
                .map(|g| {
                    let id = g.group_id().ok_or_else(|| missing("group ID"))?.to_owned();
                    let inline = |perms: &[IpPermission], egress: bool| -> Vec<Spec> {
                        let rules = perms.iter().flat_map(|p| rules_of(p, &id));
                        rules.filter(|r| !managed.contains(&(id.clone(), egress, key(r)))).collect()
                    };
                    let tags = tag_map(g.tags());
                    let decl = SecurityGroup {
                        name: g.group_name().unwrap_or_default().to_owned(),
                        description: g.description().unwrap_or_default().to_owned(),
                        vpc_id: Input::Value(VpcId::unchecked(g.vpc_id().unwrap_or_default())),
                        ingress: inline(g.ip_permissions(), false),
                        egress: inline(g.ip_permissions_egress(), true),
                        tags: user_tags(&tags),
                    };
                    let arn = g.security_group_arn().map(str::to_owned);
                    let arn = arn.unwrap_or_else(|| {
                        cx.arn("ec2", g.owner_id().unwrap_or_default(), &format!("security-group/{id}"))
                    });
                    let out =
                        SecurityGroupOut { id: SecurityGroupId::unchecked(&id), arn: Arn::unchecked(arn) };
                    Ok(Seen::ready(id, decl, out, tags))
                })
                .collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &SecurityGroup,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        /// Two calls for a group with AWS's default egress and any number
        /// of ingress rules: the create (with its tags), then one
        /// authorize. A new group holds exactly AWS's allow-all egress
        /// rule, so nothing is read before the rules are set (it is revoked
        /// unless declared), and nothing after: the create's answer has the
        /// ID and the ARN.
        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &SecurityGroup,
            tags: &Tags,
            _token: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let call = cx
                .ec2()
                .create_security_group()
                .group_name(&d.name)
                .description(&d.description)
                .vpc_id(d.vpc_id.id());
            let call = call.tag_specifications(tags_spec(ResourceType::SecurityGroup, tags));
            let out = cx.send("CreateSecurityGroup", Operation::Create, || call.clone().send()).await?;
            let id = out.group_id.clone().ok_or_else(|| missing("group ID"))?;
            let mut fresh = SecurityGroup {
                ingress: Vec::new(),
                egress: vec![Spec::all_to_anywhere()],
                tags: BTreeMap::new(),
                ..d.clone()
            };
            canonical_group(&mut fresh);
            sync(cx, &id, &fresh, d, true).await?;
            let Some(arn) = out.security_group_arn.filter(|a| !a.is_empty()) else {
                return Ok(Created::Id(id));
            };
            let mut decl = d.clone();
            decl.tags = user_tags(tags);
            let out = SecurityGroupOut { id: SecurityGroupId::unchecked(&id), arn: Arn::unchecked(arn) };
            Ok(Created::Seen(Seen::ready(id, decl, out, tags.clone())))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, SecurityGroup>,
        ) -> Result<(), ProviderError> {
            let (d, changed) = (change.after, change.fields);
            if changed.iter().any(|c| c == "ingress" || c == "egress") {
                // The difference is taken against the group as it is now,
                // so rules added outside infra are revoked.
                sync(cx, id, &now(cx, id).await?, d, false).await?;
            }
            Ok(())
        }

        /// Rules are not revoked first: deleting the group removes them. A
        /// group still in use fails with `DependencyViolation`, which the
        /// executor retries.
        async fn delete(&self, cx: &Ctx, id: &str, _: &SecurityGroup) -> Result<(), ProviderError> {
            cx.send("DeleteSecurityGroup", Operation::Delete, || {
                cx.ec2().delete_security_group().group_id(id).send()
            })
            .await
            .map(|_| ())
        }
    }

    /// `aws:ec2:SecurityGroupRule` through the EC2 API (one rule, read with
    /// `DescribeSecurityGroupRules`). Its rule carries the engine's tags,
    /// which is how a group's read tells it from the group's inline rules.
    /// Its natural key: group, direction, protocol, ports and source (only
    /// rules with engine tags: a group's inline rule is never adopted).
    #[derive(Debug)]
    pub(crate) struct SecurityGroupRuleKind;

    #[async_trait]
    impl Kind for SecurityGroupRuleKind {
        type Decl = SecurityGroupRule;
        type Out = SecurityGroupRuleOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 300);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, SecurityGroupRule>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            let natural =
                |d: &SecurityGroupRule| Some(vec![filter("group-id", [d.security_group_id.id().to_owned()])]);
            let Some(filters) = lookup_filters(&by, "security-group-rule-id", natural) else {
                return Ok(Vec::new());
            };
            let wanted =
                if let Lookup::Key(d) = by { Some((d.direction.as_str(), key(&as_spec(d)))) } else { None };
            let mut seen = Vec::new();
            for r in describe_rules(cx, filters).await? {
                let id = r.security_group_rule_id().ok_or_else(|| missing("rule ID"))?.to_owned();
                let (decl, tags) = (observed_rule(&r), tag_map(r.tags()));
                if let Some((direction, k)) = &wanted
                    && (*direction != decl.direction
                        || *k != key(&as_spec(&decl))
                        || !tags.contains_key(TAG_TOKEN))
                {
                    continue;
                }
                let out = SecurityGroupRuleOut { id: SecurityGroupRuleId::unchecked(&id) };
                seen.push(Seen::ready(id, decl, out, tags));
            }
            Ok(seen)
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &SecurityGroupRule,
            tags: &Tags,
            _token: &str,
        ) -> Result<String, ProviderError> {
            let (ec2, group) = (cx.ec2(), d.security_group_id.id());
            let (perm, spec) =
                (permission(&as_spec(d), group), tags_spec(ResourceType::SecurityGroupRule, tags));
            let rules = if d.direction == "egress" {
                let call = ec2
                    .authorize_security_group_egress()
                    .group_id(group)
                    .ip_permissions(perm)
                    .tag_specifications(spec);
                cx.send("AuthorizeSecurityGroupEgress", Operation::Create, || call.clone().send())
                    .await?
                    .security_group_rules
            } else {
                let call = ec2
                    .authorize_security_group_ingress()
                    .group_id(group)
                    .ip_permissions(perm)
                    .tag_specifications(spec);
                cx.send("AuthorizeSecurityGroupIngress", Operation::Create, || call.clone().send())
                    .await?
                    .security_group_rules
            };
            rules
                .unwrap_or_default()
                .into_iter()
                .find_map(|r| r.security_group_rule_id)
                .ok_or_else(|| missing("rule ID"))
        }

        /// Only the description changes in place (ModifySecurityGroupRules,
        /// which restates the whole rule).
        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, SecurityGroupRule>,
        ) -> Result<(), ProviderError> {
            let (r, changed) = (change.after, change.fields);
            if !changed.iter().any(|c| c == "description") {
                return Ok(());
            }
            let (protocol, from, to) = canonical_ports(&r.protocol, r.from_port, r.to_port);
            // AWS states the ports of a rule without ports as -1.
            let (from, to) = if has_ports(&protocol) { (from, to) } else { (-1, -1) };
            let (list, group) = (
                r.prefix_list_id.as_ref().map(|p| p.id().to_owned()),
                r.referenced_security_group_id.as_ref(),
            );
            let rule = SecurityGroupRuleRequest::builder().ip_protocol(protocol).from_port(from).to_port(to);
            let rule = rule.set_description(r.description.clone());
            let rule = rule
                .set_cidr_ipv4(r.cidr_ipv4.clone())
                .set_cidr_ipv6(r.cidr_ipv6.clone())
                .set_prefix_list_id(list);
            let rule = rule.set_referenced_group_id(group.map(|g| g.id().to_owned())).build();
            let update = SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(id)
                .security_group_rule(rule)
                .build();
            let call = cx
                .ec2()
                .modify_security_group_rules()
                .group_id(r.security_group_id.id())
                .security_group_rules(update);
            cx.send("ModifySecurityGroupRules", Operation::Update, || call.clone().send()).await.map(|_| ())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &SecurityGroupRule) -> Result<(), ProviderError> {
            let (ec2, group) = (cx.ec2(), d.security_group_id.id());
            if d.direction == "egress" {
                let call = ec2.revoke_security_group_egress().group_id(group).security_group_rule_ids(id);
                cx.send("RevokeSecurityGroupEgress", Operation::Delete, || call.clone().send())
                    .await
                    .map(|_| ())
            } else {
                let call = ec2.revoke_security_group_ingress().group_id(group).security_group_rule_ids(id);
                cx.send("RevokeSecurityGroupIngress", Operation::Delete, || call.clone().send())
                    .await
                    .map(|_| ())
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

        use super::super::canonical_group;
        use super::*;

        const OWN: &str = "sg-own";

        fn canonical(ingress: Vec<Spec>, egress: Vec<Spec>) -> SecurityGroup {
            let tags = Default::default();
            let vpc_id = VpcId::unchecked("vpc-1").into();
            let mut g =
                SecurityGroup { name: "g".into(), description: "d".into(), vpc_id, ingress, egress, tags };
            canonical_group(&mut g);
            g
        }

        #[test]
        fn any_grouping_reads_back_as_declared() {
            let web = Spec::tcp_from_cidrs(443, &["192.168.0.0/16", "10.0.0.0/8"]);
            let web = Spec { ipv6_cidr_blocks: vec!["::/0".into()], description: Some("web".into()), ..web };
            let dns = Spec::tcp_from_groups(53, &[SecurityGroupId::unchecked("sg-other")]);
            let dns = Spec { protocol: "17".into(), self_: true, ..dns };
            let all = Spec { protocol: "all".into(), from_port: 5, to_port: 9, ..Spec::all_to_anywhere() };
            let declared = canonical(vec![web, dns.clone(), dns], vec![all, Spec::all_to_anywhere()]);
            assert_eq!((declared.ingress.len(), declared.egress.len()), (5, 1));
            // Authorized one permission per rule, read back through AWS's grouping.
            let read =
                |rules: &[Spec]| rules.iter().flat_map(|r| rules_of(&permission(r, OWN), OWN)).collect();
            let observed = canonical(read(&declared.ingress), read(&declared.egress));
            assert_eq!(format!("{observed:?}"), format!("{declared:?}"));
        }

        #[test]
        fn aws_grouping_is_split_per_source_with_canonical_ports() {
            let range = |c: &str| IpRange::builder().cidr_ip(c).description("x").build();
            let p = IpPermission::builder().ip_protocol("-1").from_port(-1).to_port(-1);
            let rules =
                rules_of(&p.ip_ranges(range("0.0.0.0/0")).ip_ranges(range("10.0.0.0/8")).build(), OWN);
            assert_eq!(rules.len(), 2);
            assert!(rules.iter().all(
                |r| (r.protocol.as_str(), r.from_port, r.to_port, r.cidr_blocks.len()) == ("-1", 0, 0, 1)
            ));
        }
    }
}
