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
    /// A TCP rule for one port from CIDR blocks.
    pub fn tcp_from_cidrs(port: i32, cidrs: &[&str]) -> Self {
        SecurityGroupRuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            cidr_blocks: cidrs.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        }
    }

    /// A TCP rule for one port from other security groups.
    pub fn tcp_from_groups(port: i32, groups: Vec<Input<SecurityGroupId>>) -> Self {
        SecurityGroupRuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            security_groups: groups,
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
/// The inline rules are the group's whole rule set, compared rule by rule
/// (one protocol, port range and source each): a rule added outside infra
/// is drift, which the next apply revokes. AWS's allow-all egress rule of a
/// new group is revoked unless `egress` declares it. Rules that standalone
/// [`SecurityGroupRule`] resources manage are not part of this set. A read
/// reports the rules as last applied when they are unchanged; a new process
/// reads them in a canonical form (one rule per protocol, ports and
/// description, sources and rules sorted), so declaring them that way keeps
/// every plan empty.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SecurityGroup",
    outputs(id: SecurityGroupId, arn: Arn),
    replace = "delete_before_create",
    readiness = "on_id",
    validate = validate_group
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
    if g.name.is_empty() || g.name.len() > 255 {
        ctx.error("name", "must be 1 to 255 characters");
    }
    if g.name.starts_with("sg-") {
        ctx.error("name", "may not start with \"sg-\"");
    }
    for (field, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
        for r in rules {
            check_rule(ctx, field, &r.protocol, r.from_port, r.to_port, &r.cidr_blocks);
        }
    }
}

fn check_rule(
    ctx: &mut ValidationContext<'_>,
    field: &str,
    protocol: &str,
    from: i32,
    to: i32,
    cidrs: &[String],
) {
    if !matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6" | "-1" | "all")
        && protocol.parse::<u8>().is_err()
    {
        ctx.error(field, format!("protocol {protocol:?} is not tcp, udp, icmp, -1 or a protocol number"));
    }
    if protocol != "-1" && protocol != "icmp" && from > to {
        ctx.error(field, format!("from_port {from} is greater than to_port {to}"));
    }
    for c in cidrs {
        super::check_cidr(ctx, field, c);
    }
}

/// One standalone rule (`aws_vpc_security_group_ingress_rule` /
/// `_egress_rule`), for rules between groups that reference each other.
/// Only the description changes in place. The rule carries the engine's
/// tags, which keeps it out of its group's inline rules.
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(
    type = "aws:ec2:SecurityGroupRule",
    outputs(id: SecurityGroupRuleId),
    readiness = "on_id",
    validate = validate_rule
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
    let cidrs: Vec<String> = r.cidr_ipv4.iter().cloned().collect();
    check_rule(ctx, "cidr_ipv4", &r.protocol, r.from_port, r.to_port, &cidrs);
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

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    //! Security groups and standalone rules through the EC2 API.
    //!
    //! A group's inline rules are compared as a set of *atomic* rules: one
    //! protocol, port range, peer (a CIDR block, an IPv6 block, a prefix
    //! list, a group or the group itself) and description each. AWS groups
    //! them its own way (`IpPermissions` per protocol and ports) and in its
    //! own order; the declaration groups them as the user wrote them. A read
    //! whose atomic rules equal those of the inputs this instance last gave
    //! for the group reports those inputs exactly as given; otherwise (a
    //! change made outside infra, or a new process) it reports the rules in
    //! a canonical form: one rule per protocol, ports and description, peers
    //! sorted, rules sorted. Rules that standalone [`super::SecurityGroupRule`]
    //! resources manage (they carry the engine's `infra:token` tag) are not
    //! part of the group's inline rules, so the two can be mixed.

    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{
        Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup as AwsGroup,
        SecurityGroupRule as AwsRule, SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
    };
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError,
        ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use infra_engine::provider::TAG_TOKEN;

    use crate::ec2::sdk::{Memo, filter, missing, settle, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{Ctx, fields, int_of, opt_str, opt_value, req_str, sdk_error, tags_value, user_tags};

    fn timings() -> Timings {
        Timings {
            create: Duration::from_secs(2),
            update: Duration::from_secs(2),
            delete: Duration::from_secs(2),
            poll_interval: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
        }
    }

    fn not_found(what: &str) -> ProviderError {
        ProviderError::new(ErrorKind::NotFound, format!("{what} does not exist")).with_code("NotFound")
    }

    fn ready() -> Readiness {
        Readiness::Ready { outputs: Fields::new() }
    }

    /// The peer of one atomic rule: its source (ingress) or destination
    /// (egress).
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) enum Peer {
        Cidr(String),
        Ipv6(String),
        PrefixList(String),
        Group(String),
        /// The group itself.
        Myself,
    }

    /// One rule with one peer: what AWS authorizes, revokes and describes.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) struct Atom {
        pub(crate) protocol: String,
        pub(crate) from: i32,
        pub(crate) to: i32,
        pub(crate) peer: Peer,
        pub(crate) description: Option<String>,
    }

    /// An atomic rule without its description: two rules with the same key
    /// are the same rule to AWS.
    type Key = (String, i32, i32, Peer);

    /// The protocol as AWS reports it (`all` and `-1` are all traffic,
    /// protocol numbers of named protocols become their names).
    fn canonical_protocol(p: &str) -> String {
        let lower = p.to_ascii_lowercase();
        match lower.as_str() {
            "all" | "-1" => "-1".to_owned(),
            "6" => "tcp".to_owned(),
            "17" => "udp".to_owned(),
            "1" => "icmp".to_owned(),
            "58" => "icmpv6".to_owned(),
            _ => lower,
        }
    }

    /// True for protocols whose rules have ports (types and codes for ICMP).
    fn has_ports(canonical: &str) -> bool {
        matches!(canonical, "tcp" | "udp" | "icmp" | "icmpv6")
    }

    impl Atom {
        /// An atomic rule in canonical form: AWS reports no ports (or -1)
        /// for protocols without ports, such as all traffic (`-1`); they are
        /// 0 here, as declared.
        pub(crate) fn new(protocol: &str, from: i32, to: i32, peer: Peer, description: Option<&str>) -> Atom {
            let protocol = canonical_protocol(protocol);
            let (from, to) = if has_ports(&protocol) { (from, to) } else { (0, 0) };
            let description = description.filter(|d| !d.is_empty()).map(str::to_owned);
            Atom { protocol, from, to, peer, description }
        }

        fn key(&self) -> Key {
            (self.protocol.clone(), self.from, self.to, self.peer.clone())
        }
    }

    fn map_str(m: &BTreeMap<String, Value>, k: &str) -> Option<String> {
        m.get(k).map(Value::reveal).and_then(|v| v.as_str().map(str::to_owned))
    }

    fn map_int(m: &BTreeMap<String, Value>, k: &str) -> i32 {
        m.get(k).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()).unwrap_or(0)
    }

    fn map_strs(m: &BTreeMap<String, Value>, k: &str) -> Vec<String> {
        match m.get(k).map(Value::reveal) {
            Some(Value::List(l)) => l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    }

    /// The atomic rules of an `ingress` or `egress` input (a list of
    /// [`super::SecurityGroupRuleSpec`]) of group `own`.
    pub(crate) fn spec_atoms(list: Option<&Value>, own: &str) -> BTreeSet<Atom> {
        let mut out = BTreeSet::new();
        let Some(Value::List(specs)) = list.map(Value::reveal) else { return out };
        for spec in &specs {
            let Value::Map(m) = spec else { continue };
            let protocol = map_str(m, "protocol").unwrap_or_default();
            let (from, to) = (map_int(m, "from_port"), map_int(m, "to_port"));
            let description = map_str(m, "description");
            let mut peers: Vec<Peer> = Vec::new();
            peers.extend(map_strs(m, "cidr_blocks").into_iter().map(Peer::Cidr));
            peers.extend(map_strs(m, "ipv6_cidr_blocks").into_iter().map(Peer::Ipv6));
            peers.extend(map_strs(m, "prefix_list_ids").into_iter().map(Peer::PrefixList));
            peers.extend(
                map_strs(m, "security_groups")
                    .into_iter()
                    .map(|g| if g == own { Peer::Myself } else { Peer::Group(g) }),
            );
            if matches!(m.get("self"), Some(Value::Bool(true))) {
                peers.push(Peer::Myself);
            }
            for peer in peers {
                out.insert(Atom::new(&protocol, from, to, peer, description.as_deref()));
            }
        }
        out
    }

    /// The atomic rules of one of group `own`'s `IpPermissions`.
    pub(crate) fn permission_atoms(p: &IpPermission, own: &str) -> Vec<Atom> {
        let protocol = p.ip_protocol().unwrap_or("-1");
        let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(0));
        let atom = |peer: Peer, description: Option<&str>| Atom::new(protocol, from, to, peer, description);
        let mut out = Vec::new();
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                out.push(atom(Peer::Cidr(c.to_owned()), r.description()));
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                out.push(atom(Peer::Ipv6(c.to_owned()), r.description()));
            }
        }
        for r in p.prefix_list_ids() {
            if let Some(id) = r.prefix_list_id() {
                out.push(atom(Peer::PrefixList(id.to_owned()), r.description()));
            }
        }
        for r in p.user_id_group_pairs() {
            if let Some(g) = r.group_id() {
                let peer = if g == own { Peer::Myself } else { Peer::Group(g.to_owned()) };
                out.push(atom(peer, r.description()));
            }
        }
        out
    }

    /// Atomic rules of group `own` as `IpPermissions`, one per protocol and
    /// ports, with their descriptions.
    pub(crate) fn permissions<'a>(atoms: impl IntoIterator<Item = &'a Atom>, own: &str) -> Vec<IpPermission> {
        let mut groups: BTreeMap<(&str, i32, i32), Vec<&Atom>> = BTreeMap::new();
        for a in atoms {
            groups.entry((a.protocol.as_str(), a.from, a.to)).or_default().push(a);
        }
        groups
            .into_iter()
            .map(|((protocol, from, to), atoms)| {
                let mut b = IpPermission::builder().ip_protocol(protocol);
                if has_ports(protocol) {
                    b = b.from_port(from).to_port(to);
                }
                for a in atoms {
                    let d = a.description.clone();
                    b = match &a.peer {
                        Peer::Cidr(c) => {
                            b.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build())
                        }
                        Peer::Ipv6(c) => {
                            b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build())
                        }
                        Peer::PrefixList(p) => b.prefix_list_ids(
                            PrefixListId::builder().prefix_list_id(p).set_description(d).build(),
                        ),
                        Peer::Group(g) => b.user_id_group_pairs(
                            UserIdGroupPair::builder().group_id(g).set_description(d).build(),
                        ),
                        Peer::Myself => b.user_id_group_pairs(
                            UserIdGroupPair::builder().group_id(own).set_description(d).build(),
                        ),
                    };
                }
                b.build()
            })
            .collect()
    }

    /// Atomic rules in the declaration's shape, canonically: one rule per
    /// protocol, ports and description, peers sorted, rules sorted.
    pub(crate) fn spec_value(atoms: &BTreeSet<Atom>) -> Value {
        let mut groups: BTreeMap<(&str, i32, i32, Option<&str>), Vec<&Peer>> = BTreeMap::new();
        for a in atoms {
            groups
                .entry((a.protocol.as_str(), a.from, a.to, a.description.as_deref()))
                .or_default()
                .push(&a.peer);
        }
        let list_of = |items: Vec<String>| Value::List(items.into_iter().map(Value::String).collect());
        Value::List(
            groups
                .into_iter()
                .map(|((protocol, from, to, description), peers)| {
                    let (mut cidrs, mut ipv6, mut lists, mut groups, mut myself) =
                        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), false);
                    // Atoms are sorted, so the peers of each kind are too.
                    for p in peers {
                        match p {
                            Peer::Cidr(c) => cidrs.push(c.clone()),
                            Peer::Ipv6(c) => ipv6.push(c.clone()),
                            Peer::PrefixList(id) => lists.push(id.clone()),
                            Peer::Group(g) => groups.push(g.clone()),
                            Peer::Myself => myself = true,
                        }
                    }
                    Value::Map(fields([
                        ("protocol", Value::from(protocol)),
                        ("from_port", Value::from(i64::from(from))),
                        ("to_port", Value::from(i64::from(to))),
                        ("cidr_blocks", list_of(cidrs)),
                        ("ipv6_cidr_blocks", list_of(ipv6)),
                        ("prefix_list_ids", list_of(lists)),
                        ("security_groups", list_of(groups)),
                        ("self", if myself { Value::Bool(true) } else { Value::Null }),
                        ("description", opt_value(description)),
                    ]))
                })
                .collect(),
        )
    }

    /// The atomic rule of a standalone rule, in the terms of its group.
    fn rule_atom(r: &AwsRule) -> Option<Atom> {
        let own = r.group_id()?;
        let peer = if let Some(c) = r.cidr_ipv4() {
            Peer::Cidr(c.to_owned())
        } else if let Some(c) = r.cidr_ipv6() {
            Peer::Ipv6(c.to_owned())
        } else if let Some(p) = r.prefix_list_id() {
            Peer::PrefixList(p.to_owned())
        } else {
            let g = r.referenced_group_info().and_then(|g| g.group_id())?;
            if g == own { Peer::Myself } else { Peer::Group(g.to_owned()) }
        };
        Some(Atom::new(
            r.ip_protocol().unwrap_or("-1"),
            r.from_port().unwrap_or(0),
            r.to_port().unwrap_or(0),
            peer,
            r.description(),
        ))
    }

    /// The rules of a group that are added, removed and re-described to
    /// turn `current` into `wanted`.
    #[derive(Debug, Default, PartialEq)]
    pub(crate) struct RuleDiff<'a> {
        pub(crate) revoke: Vec<&'a Atom>,
        pub(crate) authorize: Vec<&'a Atom>,
        pub(crate) describe: Vec<&'a Atom>,
    }

    /// What turns the rules `current` into `wanted` (rules are the same
    /// when their protocol, ports and peer are).
    pub(crate) fn rule_diff<'a>(current: &'a BTreeSet<Atom>, wanted: &'a BTreeSet<Atom>) -> RuleDiff<'a> {
        let cur: BTreeMap<Key, &Atom> = current.iter().map(|a| (a.key(), a)).collect();
        let want: BTreeMap<Key, &Atom> = wanted.iter().map(|a| (a.key(), a)).collect();
        RuleDiff {
            revoke: cur.iter().filter(|(k, _)| !want.contains_key(*k)).map(|(_, a)| *a).collect(),
            authorize: want.iter().filter(|(k, _)| !cur.contains_key(*k)).map(|(_, a)| *a).collect(),
            describe: want
                .iter()
                .filter(|(k, a)| cur.get(*k).is_some_and(|c| c.description != a.description))
                .map(|(_, a)| *a)
                .collect(),
        }
    }

    /// A group as read: the API's description and its inline rules.
    #[derive(Debug)]
    struct Group {
        id: String,
        arn: String,
        raw: AwsGroup,
        ingress: BTreeSet<Atom>,
        egress: BTreeSet<Atom>,
    }

    /// Makes one rules call (authorize, revoke or describe, ingress or
    /// egress) with `IpPermissions`, through `settle` while creating.
    macro_rules! rules_call {
        ($self:ident, $creating:expr, $name:literal, $method:ident, $id:expr, $perms:expr, $op:expr) => {{
            let ec2 = $self.ctx.ec2();
            let perms = $perms;
            let id: &str = $id;
            let once = || {
                $self.ctx.stats.count($name);
                let call = ec2.$method().group_id(id).set_ip_permissions(Some(perms.clone()));
                async move { call.send().await.map(|_| ()).map_err(|e| sdk_error(e, $op)) }
            };
            if $creating { settle(once).await } else { once().await }
        }};
    }

    /// `aws:ec2:SecurityGroup` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct SecurityGroupProvider {
        ctx: Arc<Ctx>,
        /// The inputs last given per group ID (see the module docs).
        given: Memo,
    }

    impl SecurityGroupProvider {
        /// The provider of one instance, remembering nothing yet.
        pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
            SecurityGroupProvider { ctx, given: Memo::default() }
        }

        /// Groups matching `filters` with their inline rules: one paginated
        /// `DescribeSecurityGroups`, and one `DescribeSecurityGroupRules`
        /// on the groups found to tell apart the rules that standalone
        /// rule resources manage.
        async fn fetch(&self, filters: Vec<Filter>) -> Result<Vec<Group>, ProviderError> {
            let ec2 = self.ctx.ec2();
            let mut raw = Vec::new();
            let mut pages = ec2.describe_security_groups().set_filters(Some(filters)).into_paginator().send();
            while let Some(page) = pages.next().await {
                self.ctx.stats.count("DescribeSecurityGroups");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                raw.extend(page.security_groups().iter().cloned());
            }
            if raw.is_empty() {
                return Ok(Vec::new());
            }
            let ids: BTreeSet<String> = raw.iter().filter_map(|g| g.group_id().map(str::to_owned)).collect();
            // Rules managed by standalone rule resources: (group, egress, key).
            let mut managed: BTreeSet<(String, bool, Key)> = BTreeSet::new();
            let mut pages =
                ec2.describe_security_group_rules().filters(filter("group-id", ids)).into_paginator().send();
            while let Some(page) = pages.next().await {
                self.ctx.stats.count("DescribeSecurityGroupRules");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for r in page.security_group_rules() {
                    let standalone = r.tags().iter().any(|t| t.key() == Some(TAG_TOKEN));
                    if let (true, Some(group), Some(atom)) = (standalone, r.group_id(), rule_atom(r)) {
                        managed.insert((group.to_owned(), r.is_egress().unwrap_or(false), atom.key()));
                    }
                }
            }
            let mut out = Vec::new();
            for g in raw {
                let id = g.group_id().ok_or_else(|| missing("group ID"))?.to_owned();
                let inline = |perms: &[IpPermission], egress: bool| -> BTreeSet<Atom> {
                    perms
                        .iter()
                        .flat_map(|p| permission_atoms(p, &id))
                        .filter(|a| !managed.contains(&(id.clone(), egress, a.key())))
                        .collect()
                };
                let ingress = inline(g.ip_permissions(), false);
                let egress = inline(g.ip_permissions_egress(), true);
                let arn = self.arn(&id, g.security_group_arn(), g.owner_id());
                out.push(Group { id, arn, raw: g, ingress, egress });
            }
            Ok(out)
        }

        fn arn(&self, id: &str, reported: Option<&str>, owner: Option<&str>) -> String {
            reported.map(str::to_owned).unwrap_or_else(|| {
                format!("arn:aws:ec2:{}:{}:security-group/{id}", self.ctx.region, owner.unwrap_or_default())
            })
        }

        async fn one(&self, id: &str) -> Result<Group, ProviderError> {
            self.fetch(vec![filter("group-id", [id.to_owned()])])
                .await?
                .pop()
                .ok_or_else(|| not_found(&format!("security group {id}")).with_code("InvalidGroup.NotFound"))
        }

        /// The inputs and outputs of a group as read.
        fn observe(&self, g: &Group) -> Observed {
            let given = self.given.get(&g.id);
            let rules = |field: &str, atoms: &BTreeSet<Atom>| -> Value {
                match given.as_ref().and_then(|f| f.get(field)) {
                    Some(v) if spec_atoms(Some(v), &g.id) == *atoms => v.clone(),
                    _ => spec_value(atoms),
                }
            };
            Observed {
                id: g.id.clone(),
                inputs: fields([
                    ("name", opt_value(g.raw.group_name())),
                    ("description", opt_value(g.raw.description())),
                    ("vpc_id", opt_value(g.raw.vpc_id())),
                    ("ingress", rules("ingress", &g.ingress)),
                    ("egress", rules("egress", &g.egress)),
                    ("tags", tags_value(tag_pairs(g.raw.tags()))),
                ]),
                outputs: fields([("id", Value::from(g.id.as_str())), ("arn", Value::from(g.arn.as_str()))]),
            }
        }

        /// Makes the inline rules of one direction of group `id` equal
        /// `wanted`: revokes exactly what is not wanted, authorizes exactly
        /// what is missing, re-describes what differs only by description.
        async fn sync(
            &self,
            id: &str,
            egress: bool,
            current: &BTreeSet<Atom>,
            wanted: &BTreeSet<Atom>,
            creating: bool,
        ) -> Result<(), ProviderError> {
            let diff = rule_diff(current, wanted);
            let op = if creating { Operation::Create } else { Operation::Update };
            if !diff.revoke.is_empty() {
                let perms = permissions(diff.revoke.iter().copied(), id);
                if egress {
                    rules_call!(
                        self,
                        creating,
                        "RevokeSecurityGroupEgress",
                        revoke_security_group_egress,
                        id,
                        perms,
                        op
                    )?;
                } else {
                    rules_call!(
                        self,
                        creating,
                        "RevokeSecurityGroupIngress",
                        revoke_security_group_ingress,
                        id,
                        perms,
                        op
                    )?;
                }
            }
            if !diff.authorize.is_empty() {
                let perms = permissions(diff.authorize.iter().copied(), id);
                if egress {
                    rules_call!(
                        self,
                        creating,
                        "AuthorizeSecurityGroupEgress",
                        authorize_security_group_egress,
                        id,
                        perms,
                        op
                    )?;
                } else {
                    rules_call!(
                        self,
                        creating,
                        "AuthorizeSecurityGroupIngress",
                        authorize_security_group_ingress,
                        id,
                        perms,
                        op
                    )?;
                }
            }
            if !diff.describe.is_empty() {
                let perms = permissions(diff.describe.iter().copied(), id);
                if egress {
                    rules_call!(
                        self,
                        creating,
                        "UpdateSecurityGroupRuleDescriptionsEgress",
                        update_security_group_rule_descriptions_egress,
                        id,
                        perms,
                        op
                    )?;
                } else {
                    rules_call!(
                        self,
                        creating,
                        "UpdateSecurityGroupRuleDescriptionsIngress",
                        update_security_group_rule_descriptions_ingress,
                        id,
                        perms,
                        op
                    )?;
                }
            }
            Ok(())
        }

        /// Makes both directions' inline rules of `g` equal those of `f`.
        async fn sync_all(&self, g: &Group, f: &Fields, creating: bool) -> Result<(), ProviderError> {
            self.sync(&g.id, false, &g.ingress, &spec_atoms(f.get("ingress"), &g.id), creating).await?;
            self.sync(&g.id, true, &g.egress, &spec_atoms(f.get("egress"), &g.id), creating).await
        }
    }

    #[async_trait]
    impl ResourceProvider for SecurityGroupProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            timings()
        }

        /// CreateSecurityGroup takes no client token: a create repeated
        /// after a crash meets `InvalidGroup.Duplicate` and adopts the group
        /// its token tag names. Then the rules: AWS gives a new group an
        /// allow-all egress rule, which is revoked unless declared.
        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.ctx.stats.count("CreateSecurityGroup");
            let sent = self
                .ctx
                .ec2()
                .create_security_group()
                .group_name(req_str(f, "name")?)
                .description(req_str(f, "description")?)
                .vpc_id(req_str(f, "vpc_id")?)
                .tag_specifications(tag_spec(ResourceType::SecurityGroup, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create));
            let id = match sent {
                Ok(out) => out.group_id().ok_or_else(|| missing("group ID"))?.to_owned(),
                Err(e) if e.kind == ErrorKind::Conflict => {
                    match self.fetch(vec![token_filter(&req.token)]).await?.pop() {
                        Some(g) => g.id,
                        None => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            };
            let group = settle(|| self.one(&id)).await?;
            self.sync_all(&group, f, true).await?;
            self.given.set(&id, f);
            Ok(Observed {
                inputs: f.clone(),
                outputs: fields([("id", Value::from(id.as_str())), ("arn", Value::from(group.arn.as_str()))]),
                id,
            })
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let groups = self.fetch(vec![filter("group-id", req.ids)]).await?;
            Ok(ReadResponse { found: groups.iter().map(|g| (g.id.clone(), self.observe(g))).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            if req.changed.iter().any(|c| c == "ingress" || c == "egress") {
                // The difference is taken against the group as it is now,
                // so rules added outside infra are revoked.
                let group = self.one(&req.id).await?;
                self.sync_all(&group, f, false).await?;
            }
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.ctx, &req.id, &user_tags(&req.before), &user_tags(f)).await?;
            }
            self.given.set(&req.id, f);
            Ok(Fields::new())
        }

        /// Rules are not revoked first: deleting the group removes them. A
        /// group still in use fails with `DependencyViolation`, which the
        /// executor retries.
        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            self.ctx.stats.count("DeleteSecurityGroup");
            self.ctx
                .ec2()
                .delete_security_group()
                .group_id(&req.id)
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Delete))?;
            self.given.forget(&req.id);
            Ok(())
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(ready())
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.fetch(vec![token_filter(&req.token)]).await?.first().map(|g| self.observe(g)))
        }
    }

    /// The peer fields of a [`super::SecurityGroupRule`].
    const PEERS: [&str; 4] = ["cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id"];

    /// The atomic rule a standalone rule's inputs declare.
    fn declared_atom(f: &Fields) -> Result<Atom, ProviderError> {
        let group = req_str(f, "security_group_id")?;
        let [cidr, ipv6, list, referenced] = PEERS.map(|p| opt_str(f, p));
        let peer = match (cidr, ipv6, list, referenced) {
            (Some(c), ..) => Peer::Cidr(c),
            (_, Some(c), ..) => Peer::Ipv6(c),
            (_, _, Some(p), _) => Peer::PrefixList(p),
            (_, _, _, Some(g)) if g == group => Peer::Myself,
            (_, _, _, Some(g)) => Peer::Group(g),
            _ => {
                return Err(
                    ProviderError::new(ErrorKind::Final, "the rule has no peer").with_code("InvalidInput")
                );
            }
        };
        let port = |name: &str| int_of(f, name).and_then(|n| i32::try_from(n).ok()).unwrap_or(0);
        Ok(Atom::new(
            &req_str(f, "protocol")?,
            port("from_port"),
            port("to_port"),
            peer,
            opt_str(f, "description").as_deref(),
        ))
    }

    /// `aws:ec2:SecurityGroupRule` through the EC2 API (one rule, read with
    /// `DescribeSecurityGroupRules`). Its rule carries the engine's tags,
    /// which is how a group's read tells it from the group's inline rules.
    #[derive(Debug)]
    pub(crate) struct SecurityGroupRuleProvider {
        ctx: Arc<Ctx>,
        /// The inputs last given per rule ID: how the user spelled the
        /// protocol and ports (`all` or `6`, ports of an all-traffic rule).
        given: Memo,
    }

    impl SecurityGroupRuleProvider {
        /// The provider of one instance, remembering nothing yet.
        pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
            SecurityGroupRuleProvider { ctx, given: Memo::default() }
        }

        async fn describe(&self, filters: Vec<Filter>) -> Result<Vec<Observed>, ProviderError> {
            let mut pages = self
                .ctx
                .ec2()
                .describe_security_group_rules()
                .set_filters(Some(filters))
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.ctx.stats.count("DescribeSecurityGroupRules");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for r in page.security_group_rules() {
                    out.push(self.observe(r)?);
                }
            }
            Ok(out)
        }

        fn observe(&self, r: &AwsRule) -> Result<Observed, ProviderError> {
            let id = r.security_group_rule_id().ok_or_else(|| missing("rule ID"))?.to_owned();
            let atom = rule_atom(r).ok_or_else(|| missing("rule peer"))?;
            // Protocol and ports as last given when they mean the same.
            let given = self.given.get(&id);
            let as_given = given.as_ref().and_then(|f| {
                let g = declared_atom(f).ok()?;
                (g.protocol == atom.protocol && g.from == atom.from && g.to == atom.to).then(|| {
                    (f.get("protocol").cloned(), f.get("from_port").cloned(), f.get("to_port").cloned())
                })
            });
            let (protocol, from, to) = match as_given {
                Some((Some(p), Some(from), Some(to))) => (p, from, to),
                _ => (
                    Value::from(atom.protocol.as_str()),
                    Value::from(i64::from(atom.from)),
                    Value::from(i64::from(atom.to)),
                ),
            };
            let direction = if r.is_egress().unwrap_or(false) { "egress" } else { "ingress" };
            let inputs = fields([
                ("type", Value::from(direction)),
                ("security_group_id", opt_value(r.group_id())),
                ("protocol", protocol),
                ("from_port", from),
                ("to_port", to),
                ("cidr_ipv4", opt_value(r.cidr_ipv4())),
                ("cidr_ipv6", opt_value(r.cidr_ipv6())),
                ("prefix_list_id", opt_value(r.prefix_list_id())),
                (
                    "referenced_security_group_id",
                    opt_value(r.referenced_group_info().and_then(|g| g.group_id())),
                ),
                ("description", opt_value(r.description().filter(|d| !d.is_empty()))),
            ]);
            Ok(Observed { outputs: fields([("id", Value::from(id.as_str()))]), id, inputs })
        }
    }

    #[async_trait]
    impl ResourceProvider for SecurityGroupRuleProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            timings()
        }

        /// Authorize takes no client token: a create repeated after a crash
        /// meets `InvalidPermission.Duplicate` and adopts the rule its token
        /// tag names.
        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            let group = req_str(f, "security_group_id")?;
            let atom = declared_atom(f)?;
            let perms = permissions([&atom], &group);
            let tags = tag_spec(ResourceType::SecurityGroupRule, f, &req.tags);
            let ec2 = self.ctx.ec2();
            let sent = if req_str(f, "type")? == "egress" {
                self.ctx.stats.count("AuthorizeSecurityGroupEgress");
                ec2.authorize_security_group_egress()
                    .group_id(&group)
                    .set_ip_permissions(Some(perms))
                    .tag_specifications(tags)
                    .send()
                    .await
                    .map(|o| {
                        o.security_group_rules()
                            .first()
                            .and_then(|r| r.security_group_rule_id())
                            .map(str::to_owned)
                    })
                    .map_err(|e| sdk_error(e, Operation::Create))
            } else {
                self.ctx.stats.count("AuthorizeSecurityGroupIngress");
                ec2.authorize_security_group_ingress()
                    .group_id(&group)
                    .set_ip_permissions(Some(perms))
                    .tag_specifications(tags)
                    .send()
                    .await
                    .map(|o| {
                        o.security_group_rules()
                            .first()
                            .and_then(|r| r.security_group_rule_id())
                            .map(str::to_owned)
                    })
                    .map_err(|e| sdk_error(e, Operation::Create))
            };
            let id = match sent {
                Ok(id) => id.ok_or_else(|| missing("rule ID"))?,
                Err(e) if e.kind == ErrorKind::Conflict => {
                    match self.describe(vec![token_filter(&req.token)]).await?.pop() {
                        Some(o) => o.id,
                        None => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            };
            self.given.set(&id, f);
            Ok(Observed { inputs: f.clone(), outputs: fields([("id", Value::from(id.as_str()))]), id })
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe(vec![filter("security-group-rule-id", req.ids)]).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        /// Only the description changes in place (ModifySecurityGroupRules,
        /// which restates the whole rule).
        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let f = &req.after;
            if req.changed.iter().any(|c| c == "description") {
                let group = req_str(f, "security_group_id")?;
                let atom = declared_atom(f)?;
                // AWS states the ports of a rule without ports as -1.
                let (from, to) = if has_ports(&atom.protocol) { (atom.from, atom.to) } else { (-1, -1) };
                let [cidr, ipv6, list, referenced] = PEERS.map(|p| opt_str(f, p));
                let rule = SecurityGroupRuleRequest::builder()
                    .ip_protocol(&atom.protocol)
                    .from_port(from)
                    .to_port(to)
                    .set_cidr_ipv4(cidr)
                    .set_cidr_ipv6(ipv6)
                    .set_prefix_list_id(list)
                    .set_referenced_group_id(referenced)
                    .set_description(atom.description.clone())
                    .build();
                let update = SecurityGroupRuleUpdate::builder()
                    .security_group_rule_id(&req.id)
                    .security_group_rule(rule)
                    .build();
                self.ctx.stats.count("ModifySecurityGroupRules");
                self.ctx
                    .ec2()
                    .modify_security_group_rules()
                    .group_id(group)
                    .security_group_rules(update)
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, Operation::Update))?;
            }
            self.given.set(&req.id, f);
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            let f = &req.inputs;
            let group = req_str(f, "security_group_id")?;
            let ec2 = self.ctx.ec2();
            if req_str(f, "type")? == "egress" {
                self.ctx.stats.count("RevokeSecurityGroupEgress");
                ec2.revoke_security_group_egress()
                    .group_id(group)
                    .security_group_rule_ids(&req.id)
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, Operation::Delete))?;
            } else {
                self.ctx.stats.count("RevokeSecurityGroupIngress");
                ec2.revoke_security_group_ingress()
                    .group_id(group)
                    .security_group_rule_ids(&req.id)
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, Operation::Delete))?;
            }
            self.given.forget(&req.id);
            Ok(())
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(ready())
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)]).await?.pop())
        }
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

        use super::*;
        use crate::ec2::SecurityGroupRuleSpec;

        const OWN: &str = "sg-own";

        fn specs_value(specs: &[SecurityGroupRuleSpec]) -> Value {
            infra_core::value::to_value(&specs.to_vec()).unwrap()
        }

        /// A spec list as AWS would report it after authorizing it.
        fn round_trip(specs: &Value) -> BTreeSet<Atom> {
            let atoms = spec_atoms(Some(specs), OWN);
            permissions(&atoms, OWN).iter().flat_map(|p| permission_atoms(p, OWN)).collect()
        }

        fn rule(protocol: &str, from: i32, to: i32) -> SecurityGroupRuleSpec {
            SecurityGroupRuleSpec {
                protocol: protocol.into(),
                from_port: from,
                to_port: to,
                ..Default::default()
            }
        }

        #[test]
        fn a_spec_list_and_its_permissions_compare_equal() {
            let specs = vec![
                SecurityGroupRuleSpec {
                    cidr_blocks: vec!["192.168.0.0/16".into(), "10.0.0.0/8".into()],
                    ipv6_cidr_blocks: vec!["::/0".into()],
                    description: Some("web".into()),
                    ..rule("tcp", 443, 443)
                },
                SecurityGroupRuleSpec {
                    security_groups: vec![crate::ids::SecurityGroupId::new("sg-other").into()],
                    self_: true,
                    prefix_list_ids: vec![crate::ids::PrefixListId::new("pl-123").into()],
                    ..rule("udp", 53, 53)
                },
                SecurityGroupRuleSpec::tcp_from_cidrs(80, &["10.0.0.0/8"]),
            ];
            let declared = specs_value(&specs);
            let atoms = spec_atoms(Some(&declared), OWN);
            assert_eq!(atoms.len(), 7);
            assert_eq!(round_trip(&declared), atoms);
            // The canonical form means the same rules, and is its own
            // canonical form.
            let canonical = spec_value(&atoms);
            assert_eq!(spec_atoms(Some(&canonical), OWN), atoms);
            assert_eq!(spec_value(&round_trip(&canonical)), canonical);
        }

        #[test]
        fn the_canonical_form_sorts_rules_and_peers() {
            let unsorted = specs_value(&[
                SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"]),
                SecurityGroupRuleSpec::tcp_from_cidrs(80, &["192.168.0.0/16", "10.0.0.0/8"]),
            ]);
            let sorted = specs_value(&[
                SecurityGroupRuleSpec::tcp_from_cidrs(80, &["10.0.0.0/8", "192.168.0.0/16"]),
                SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"]),
            ]);
            assert_eq!(spec_value(&round_trip(&unsorted)), sorted);
            assert_eq!(spec_atoms(Some(&unsorted), OWN), spec_atoms(Some(&sorted), OWN));
        }

        #[test]
        fn all_traffic_has_ports_zero_whatever_aws_reports() {
            let declared = specs_value(&[SecurityGroupRuleSpec::all_to_anywhere()]);
            // AWS reports no ports for all traffic (and -1 in
            // DescribeSecurityGroupRules), and may spell it `-1` or `all`.
            for (protocol, from, to) in [("-1", None, None), ("-1", Some(-1), Some(-1)), ("all", None, None)]
            {
                let p = IpPermission::builder()
                    .ip_protocol(protocol)
                    .set_from_port(from)
                    .set_to_port(to)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build();
                let observed: BTreeSet<Atom> = permission_atoms(&p, OWN).into_iter().collect();
                assert_eq!(observed, spec_atoms(Some(&declared), OWN));
                assert_eq!(spec_value(&observed), declared);
            }
        }

        #[test]
        fn the_diff_revokes_extra_rules_and_redescribes_in_place() {
            let current = spec_atoms(
                Some(&specs_value(&[
                    SecurityGroupRuleSpec::tcp_from_cidrs(22, &["1.2.3.4/32"]),
                    SecurityGroupRuleSpec {
                        description: Some("old".into()),
                        ..SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])
                    },
                ])),
                OWN,
            );
            let wanted = spec_atoms(
                Some(&specs_value(&[
                    SecurityGroupRuleSpec {
                        description: Some("new".into()),
                        ..SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])
                    },
                    SecurityGroupRuleSpec::tcp_from_cidrs(80, &["10.0.0.0/8"]),
                ])),
                OWN,
            );
            let d = rule_diff(&current, &wanted);
            assert_eq!(d.revoke.iter().map(|a| a.from).collect::<Vec<_>>(), [22]);
            assert_eq!(d.authorize.iter().map(|a| a.from).collect::<Vec<_>>(), [80]);
            assert_eq!(
                d.describe.iter().map(|a| (a.from, a.description.as_deref())).collect::<Vec<_>>(),
                [(443, Some("new"))]
            );
        }
    }
}
