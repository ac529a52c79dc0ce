use std::collections::BTreeMap;

use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{Arn, NetworkAclId, SubnetId, VpcId};

/// One numbered rule of a [`NetworkAcl`].
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAclRuleSpec {
    /// 1 to 32766; rules are evaluated in ascending order.
    pub rule_no: i32,
    /// `tcp`, `udp`, `icmp` or `-1` for all.
    pub protocol: String,
    /// `allow` or `deny`.
    pub action: String,
    pub cidr_block: String,
    pub from_port: i32,
    pub to_port: i32,
}

impl NetworkAclRuleSpec {
    /// A rule for TCP ports `from..=to`.
    pub fn tcp(rule_no: i32, action: &str, cidr: &str, from: i32, to: i32) -> Self {
        NetworkAclRuleSpec {
            rule_no,
            protocol: "tcp".into(),
            action: action.into(),
            cidr_block: cidr.into(),
            from_port: from,
            to_port: to,
        }
    }

    /// A rule for all traffic.
    pub fn all(rule_no: i32, action: &str, cidr: &str) -> Self {
        NetworkAclRuleSpec {
            rule_no,
            protocol: "-1".into(),
            action: action.into(),
            cidr_block: cidr.into(),
            from_port: 0,
            to_port: 0,
        }
    }
}

/// A network ACL (`aws_network_acl`) with its rules and subnet associations
/// (a subnet removed from `subnet_ids` goes back to the VPC's default ACL).
///
/// Outputs: `acl.id()` (`NetworkAclId`) and `acl.arn()` (`Arn`).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::ec2::{NetworkAcl, NetworkAclRuleSpec, Subnet, Vpc};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let vpc = stack.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
/// let subnet = stack.add("public-a", Subnet {
///     vpc_id: vpc.id().into(),
///     cidr_block: "10.1.1.0/24".into(),
///     availability_zone: "us-east-1a".into(),
///     ..Default::default()
/// });
/// stack.add("public-acl", NetworkAcl {
///     vpc_id: vpc.id().into(),
///     subnet_ids: vec![subnet.id().into()],
///     // Stateless: HTTPS in, and replies to outbound traffic on ephemeral ports.
///     ingress: vec![
///         NetworkAclRuleSpec::tcp(100, "allow", "0.0.0.0/0", 443, 443),
///         NetworkAclRuleSpec::tcp(110, "allow", "0.0.0.0/0", 1024, 65535),
///     ],
///     egress: vec![NetworkAclRuleSpec::all(100, "allow", "0.0.0.0/0")],
///     ..Default::default()
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:ec2:NetworkAcl",
    outputs(id: NetworkAclId, arn: Arn),
    readiness = "on_id",
    validate = validate_nacl,
    validate_stack = crate::rules::relations,
    validate_type = crate::rules::unique,
    normalise = canonical_rules
)]
pub struct NetworkAcl {
    #[resource(force_new)]
    pub vpc_id: Input<VpcId>,
    /// Subnets associated with this ACL (associations replaced in place).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<Input<SubnetId>>,
    /// Inbound rules (added, replaced and removed in place).
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<NetworkAclRuleSpec>,
    /// Outbound rules.
    #[resource(set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<NetworkAclRuleSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn validate_nacl(n: &NetworkAcl, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &n.tags);
    for (field, rules) in [("ingress", &n.ingress), ("egress", &n.egress)] {
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in rules.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if !(1..=32766).contains(&r.rule_no) {
                ctx.error(&format!("{at}.rule_no"), format!("rule_no {} must be 1 to 32766", r.rule_no));
            }
            if !seen.insert(r.rule_no) {
                ctx.error(&format!("{at}.rule_no"), format!("rule_no {} is used twice", r.rule_no));
            }
            if r.action != "allow" && r.action != "deny" {
                ctx.error(&format!("{at}.action"), format!("{:?} must be \"allow\" or \"deny\"", r.action));
            }
            if protocol_number(&r.protocol).is_none() {
                ctx.error(
                    &format!("{at}.protocol"),
                    format!("{:?} is not tcp, udp, icmp, -1 or a number", r.protocol),
                );
            }
            crate::rules::ports(ctx, &at, &r.protocol, r.from_port, r.to_port);
            super::check_cidr(ctx, &format!("{at}.cidr_block"), &r.cidr_block);
        }
    }
}

/// The protocol number AWS uses for a protocol name.
pub(crate) fn protocol_number(p: &str) -> Option<String> {
    match p {
        "tcp" => Some("6".into()),
        "udp" => Some("17".into()),
        "icmp" => Some("1".into()),
        "-1" | "all" => Some("-1".into()),
        n => n.parse::<u8>().ok().map(|v| v.to_string()),
    }
}

/// The name of a protocol number, as rules are declared.
fn protocol_name(n: &str) -> String {
    match n {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        other => other.to_owned(),
    }
}

/// The rules as a read reports them: protocols by name (`6` is `tcp`, `all`
/// is `-1`), no ports on an all-traffic rule, in rule number order.
fn canonical_rules(n: &mut NetworkAcl) {
    for rules in [&mut n.ingress, &mut n.egress] {
        for r in rules.iter_mut() {
            if let Some(number) = protocol_number(&r.protocol) {
                r.protocol = protocol_name(&number);
            }
            if r.protocol == "-1" {
                (r.from_port, r.to_port) = (0, 0);
            }
        }
        rules.sort();
    }
}

#[cfg(feature = "ec2")]
pub(crate) mod imp {

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{Filter, PortRange, ResourceType, RuleAction};
    use infra_core::Input;
    use infra_engine::{Operation, ProviderError, Timings};

    use super::{NetworkAcl, NetworkAclOut, NetworkAclRuleSpec, protocol_number};
    use crate::ec2::sdk::{by_id_list, describe, filter, tag_map, tags_spec};
    use crate::ids::{Arn, NetworkAclId, SubnetId, VpcId};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:ec2:NetworkAcl` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct NetworkAclKind;

    async fn describe(
        cx: &Ctx,
        ids: Option<Vec<String>>,
        filters: Option<Vec<Filter>>,
    ) -> Result<Vec<aws_sdk_ec2::types::NetworkAcl>, ProviderError> {
        describe!(cx, describe_network_acls, [set_network_acl_ids(ids), set_filters(filters)] => network_acls, "DescribeNetworkAcls")
    }

    fn seen(cx: &Ctx, acl: &aws_sdk_ec2::types::NetworkAcl) -> Result<Seen<NetworkAclKind>, ProviderError> {
        let id = acl.network_acl_id().ok_or_else(|| missing("network ACL ID"))?.to_owned();
        let rules = |egress: bool| {
            acl.entries()
                .iter()
                // Rule 32767 is the implicit deny-all rule.
                .filter(|e| e.egress().unwrap_or(false) == egress && e.rule_number().unwrap_or(0) < 32767)
                .map(|e| NetworkAclRuleSpec {
                    rule_no: e.rule_number().unwrap_or(0),
                    protocol: e.protocol().unwrap_or("-1").to_owned(),
                    action: e.rule_action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    cidr_block: e.cidr_block().unwrap_or_default().to_owned(),
                    from_port: e.port_range().and_then(|p| p.from()).unwrap_or(0),
                    to_port: e.port_range().and_then(|p| p.to()).unwrap_or(0),
                })
                .collect()
        };
        let mut subnets: Vec<&str> = acl.associations().iter().filter_map(|a| a.subnet_id()).collect();
        subnets.sort_unstable();
        let tags = tag_map(acl.tags());
        let decl = NetworkAcl {
            vpc_id: Input::Value(VpcId::unchecked(acl.vpc_id().unwrap_or_default())),
            subnet_ids: subnets.into_iter().map(|s| Input::Value(SubnetId::unchecked(s))).collect(),
            ingress: rules(false),
            egress: rules(true),
            tags: user_tags(&tags),
        };
        let owner = acl.owner_id().unwrap_or_default();
        let out = NetworkAclOut {
            id: NetworkAclId::unchecked(&id),
            arn: Arn::unchecked(cx.arn("ec2", owner, &format!("network-acl/{id}"))),
        };
        Ok(Seen::ready(id, decl, out, tags))
    }

    /// Removes the rules of `old` that `new` lacks, then adds those it gains.
    async fn sync_rules(
        cx: &Ctx,
        id: &str,
        egress: bool,
        old: &[NetworkAclRuleSpec],
        new: &[NetworkAclRuleSpec],
    ) -> Result<(), ProviderError> {
        for r in old.iter().filter(|r| !new.contains(r)) {
            let call =
                cx.ec2().delete_network_acl_entry().network_acl_id(id).rule_number(r.rule_no).egress(egress);
            cx.send("DeleteNetworkAclEntry", Operation::Update, || call.clone().send()).await?;
        }
        for r in new.iter().filter(|r| !old.contains(r)) {
            let protocol = protocol_number(&r.protocol).unwrap_or_else(|| "-1".into());
            let mut call = cx
                .ec2()
                .create_network_acl_entry()
                .network_acl_id(id)
                .rule_number(r.rule_no)
                .egress(egress)
                .protocol(&protocol)
                .rule_action(RuleAction::from(r.action.as_str()))
                .cidr_block(&r.cidr_block);
            if protocol != "-1" {
                call = call.port_range(PortRange::builder().from(r.from_port).to(r.to_port).build());
            }
            settle(|| cx.send("CreateNetworkAclEntry", Operation::Update, || call.clone().send())).await?;
        }
        Ok(())
    }

    /// Points each subnet's ACL association at `acl`.
    async fn associate(cx: &Ctx, acl: &str, subnets: &[String]) -> Result<(), ProviderError> {
        if subnets.is_empty() {
            return Ok(());
        }
        let call =
            cx.ec2().describe_network_acls().filters(filter("association.subnet-id", subnets.to_vec()));
        let current = cx.send("DescribeNetworkAcls", Operation::Update, || call.clone().send()).await?;
        for a in current.network_acls().iter().flat_map(|n| n.associations()) {
            let (Some(subnet), Some(assoc)) = (a.subnet_id(), a.network_acl_association_id()) else {
                continue;
            };
            if subnets.iter().any(|s| s == subnet) && a.network_acl_id() != Some(acl) {
                let call =
                    cx.ec2().replace_network_acl_association().association_id(assoc).network_acl_id(acl);
                cx.send("ReplaceNetworkAclAssociation", Operation::Update, || call.clone().send()).await?;
            }
        }
        Ok(())
    }

    /// Gives `subnets` back to the default ACL of `vpc`.
    async fn release(cx: &Ctx, vpc: &str, subnets: &[String]) -> Result<(), ProviderError> {
        if subnets.is_empty() {
            return Ok(());
        }
        let filters = vec![filter("vpc-id", [vpc.to_owned()]), filter("default", ["true".to_owned()])];
        let call = cx.ec2().describe_network_acls().set_filters(Some(filters));
        let out = cx.send("DescribeNetworkAcls", Operation::Update, || call.clone().send()).await?;
        let default = out
            .network_acls()
            .first()
            .and_then(|n| n.network_acl_id())
            .ok_or_else(|| missing("default network ACL"))?;
        associate(cx, default, subnets).await
    }

    fn ids(subnets: &[Input<SubnetId>]) -> Vec<String> {
        subnets.iter().map(|s| s.id().to_owned()).collect()
    }

    #[async_trait]
    impl Kind for NetworkAclKind {
        type Decl = NetworkAcl;
        type Out = NetworkAclOut;
        const SERVICE: Service = Service::Ec2;
        const TIMINGS: Timings = Timings::secs(2, 2, 2, 2, 300);

        async fn list(&self, cx: &Ctx, by: Lookup<'_, NetworkAcl>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let acls = match by {
                // The emulator has no `network-acl-id` filter.
                Lookup::Ids(ids) => by_id_list(ids, |ids| describe(cx, Some(ids), None)).await?,
                Lookup::Tag(k, v) => {
                    describe(cx, None, Some(vec![filter(&format!("tag:{k}"), [v.to_owned()])])).await?
                }
                Lookup::Key(_) => return Ok(Vec::new()),
            };
            acls.iter().map(|acl| seen(cx, acl)).collect()
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &NetworkAcl,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            let call = cx
                .ec2()
                .create_network_acl()
                .vpc_id(d.vpc_id.id())
                .client_token(token)
                .tag_specifications(tags_spec(ResourceType::NetworkAcl, tags));
            let out = cx.send("CreateNetworkAcl", Operation::Create, || call.clone().send()).await?;
            let id =
                out.network_acl.and_then(|n| n.network_acl_id).ok_or_else(|| missing("network ACL ID"))?;
            sync_rules(cx, &id, false, &[], &d.ingress).await?;
            sync_rules(cx, &id, true, &[], &d.egress).await?;
            associate(cx, &id, &ids(&d.subnet_ids)).await?;
            Ok(id)
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            change: Change<'_, NetworkAcl>,
        ) -> Result<(), ProviderError> {
            let (before, after, changed) = (change.before, change.after, change.fields);
            sync_rules(cx, id, false, &before.ingress, &after.ingress).await?;
            sync_rules(cx, id, true, &before.egress, &after.egress).await?;
            if changed.iter().any(|c| c == "subnet_ids") {
                let wanted = ids(&after.subnet_ids);
                let dropped: Vec<String> =
                    ids(&before.subnet_ids).into_iter().filter(|s| !wanted.contains(s)).collect();
                release(cx, after.vpc_id.id(), &dropped).await?;
                associate(cx, id, &wanted).await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &NetworkAcl) -> Result<(), ProviderError> {
            // An ACL with subnets cannot be deleted: they go back to the
            // VPC's default ACL first.
            release(cx, d.vpc_id.id(), &ids(&d.subnet_ids)).await?;
            cx.send("DeleteNetworkAcl", Operation::Delete, || {
                cx.ec2().delete_network_acl().network_acl_id(id).send()
            })
            .await
            .map(|_| ())
        }
    }
}
