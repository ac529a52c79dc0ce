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
#[derive(Debug, Clone, Serialize, Resource)]
#[resource(type = "aws:ec2:NetworkAcl", outputs(id: NetworkAclId, arn: Arn), readiness = "on_id", validate = validate_nacl)]
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
    for (field, rules) in [("ingress", &n.ingress), ("egress", &n.egress)] {
        let mut seen = std::collections::BTreeSet::new();
        for r in rules {
            if !(1..=32766).contains(&r.rule_no) {
                ctx.error(field, format!("rule_no {} must be 1 to 32766", r.rule_no));
            }
            if !seen.insert(r.rule_no) {
                ctx.error(field, format!("rule_no {} is used twice", r.rule_no));
            }
            if r.action != "allow" && r.action != "deny" {
                ctx.error(field, format!("action {:?} must be \"allow\" or \"deny\"", r.action));
            }
            if protocol_number(&r.protocol).is_none() {
                ctx.error(field, format!("protocol {:?} is not tcp, udp, icmp, -1 or a number", r.protocol));
            }
            super::check_cidr(ctx, field, &r.cidr_block);
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
#[cfg(feature = "ec2")]
pub(crate) fn protocol_name(n: &str) -> String {
    match n {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        other => other.to_owned(),
    }
}

#[cfg(any())] // PORTING: not yet on the kit
pub(crate) mod imp {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use aws_sdk_ec2::types::{PortRange, ResourceType, RuleAction};
    use infra_core::{Fields, Value};
    use infra_engine::{
        ApiClass, CreateRequest, DeleteRequest, FindRequest, Observed, Operation, ProviderError, ReadRequest,
        ReadResponse, Readiness, ResourceProvider, Timings, UpdateRequest,
    };

    use super::{NetworkAclRuleSpec, protocol_name, protocol_number};
    use crate::ec2::sdk::{filter, missing, settle, sync_tags, tag_pairs, tag_spec, token_filter};
    use crate::sdk::{Ctx, fields, list_value, req_str, sdk_error, str_list, tags_value, user_tags};

    /// `aws:ec2:NetworkAcl` through the EC2 API.
    #[derive(Debug)]
    pub(crate) struct NetworkAclProvider(pub(crate) Arc<Ctx>);

    fn rules_of(f: &Fields, name: &str) -> BTreeSet<NetworkAclRuleSpec> {
        let Some(Value::List(items)) = f.get(name).map(Value::reveal) else {
            return BTreeSet::new();
        };
        items
            .into_iter()
            .filter_map(|v| match v {
                Value::Map(m) => Some(NetworkAclRuleSpec {
                    rule_no: m
                        .get("rule_no")
                        .and_then(Value::as_i64)
                        .and_then(|n| i32::try_from(n).ok())
                        .unwrap_or(0),
                    protocol: m.get("protocol").and_then(Value::as_str).unwrap_or("-1").to_owned(),
                    action: m.get("action").and_then(Value::as_str).unwrap_or("allow").to_owned(),
                    cidr_block: m.get("cidr_block").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    from_port: m
                        .get("from_port")
                        .and_then(Value::as_i64)
                        .and_then(|n| i32::try_from(n).ok())
                        .unwrap_or(0),
                    to_port: m
                        .get("to_port")
                        .and_then(Value::as_i64)
                        .and_then(|n| i32::try_from(n).ok())
                        .unwrap_or(0),
                }),
                _ => None,
            })
            .collect()
    }

    fn rules_value(rules: &BTreeSet<NetworkAclRuleSpec>) -> Value {
        Value::List(
            rules
                .iter()
                .map(|r| {
                    Value::Map(BTreeMap::from([
                        ("rule_no".to_string(), Value::from(i64::from(r.rule_no))),
                        ("protocol".to_string(), Value::from(r.protocol.clone())),
                        ("action".to_string(), Value::from(r.action.clone())),
                        ("cidr_block".to_string(), Value::from(r.cidr_block.clone())),
                        ("from_port".to_string(), Value::from(i64::from(r.from_port))),
                        ("to_port".to_string(), Value::from(i64::from(r.to_port))),
                    ]))
                })
                .collect(),
        )
    }

    impl NetworkAclProvider {
        /// Reads ACLs by ID list (the emulator lacks the ID filter); see
        /// [`crate::ec2::sdk::by_ids`].
        async fn describe_ids(&self, ids: Vec<String>) -> Result<Vec<Observed>, ProviderError> {
            crate::ec2::sdk::by_ids(ids, |ids| self.describe_with(ids, Vec::new())).await
        }

        async fn describe(
            &self,
            filters: Vec<aws_sdk_ec2::types::Filter>,
        ) -> Result<Vec<Observed>, ProviderError> {
            self.describe_with(Vec::new(), filters).await
        }

        async fn describe_with(
            &self,
            ids: Vec<String>,
            filters: Vec<aws_sdk_ec2::types::Filter>,
        ) -> Result<Vec<Observed>, ProviderError> {
            let mut call = self.0.ec2().describe_network_acls();
            if !ids.is_empty() {
                call = call.set_network_acl_ids(Some(ids));
            }
            if !filters.is_empty() {
                call = call.set_filters(Some(filters));
            }
            let mut pages = call.into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.0.stats.count("DescribeNetworkAcls");
                let page = page.map_err(|e| sdk_error(e, Operation::Read))?;
                for acl in page.network_acls() {
                    let id = acl.network_acl_id().ok_or_else(|| missing("network ACL ID"))?.to_owned();
                    let (mut ingress, mut egress) = (BTreeSet::new(), BTreeSet::new());
                    for e in acl.entries() {
                        let rule_no = e.rule_number().unwrap_or(0);
                        if rule_no >= 32767 {
                            continue; // the implicit deny-all rule
                        }
                        let rule = NetworkAclRuleSpec {
                            rule_no,
                            protocol: protocol_name(e.protocol().unwrap_or("-1")),
                            action: e.rule_action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                            cidr_block: e.cidr_block().unwrap_or_default().to_owned(),
                            from_port: e.port_range().and_then(|p| p.from()).unwrap_or(0),
                            to_port: e.port_range().and_then(|p| p.to()).unwrap_or(0),
                        };
                        if e.egress().unwrap_or(false) {
                            egress.insert(rule);
                        } else {
                            ingress.insert(rule);
                        }
                    }
                    let mut subnets: Vec<String> =
                        acl.associations().iter().filter_map(|a| a.subnet_id().map(str::to_owned)).collect();
                    subnets.sort();
                    let owner = acl.owner_id().unwrap_or_default();
                    let inputs = fields([
                        ("vpc_id", Value::from(acl.vpc_id().unwrap_or_default())),
                        ("subnet_ids", list_value(subnets)),
                        ("ingress", rules_value(&ingress)),
                        ("egress", rules_value(&egress)),
                        ("tags", tags_value(tag_pairs(acl.tags()))),
                    ]);
                    let outputs = fields([
                        ("id", Value::from(id.clone())),
                        (
                            "arn",
                            Value::from(format!("arn:aws:ec2:{}:{owner}:network-acl/{id}", self.0.region)),
                        ),
                    ]);
                    out.push(Observed { id, inputs, outputs });
                }
            }
            Ok(out)
        }

        async fn add_rule(
            &self,
            id: &str,
            egress: bool,
            r: &NetworkAclRuleSpec,
        ) -> Result<(), ProviderError> {
            let protocol = protocol_number(&r.protocol).unwrap_or_else(|| "-1".into());
            settle(|| {
                self.0.stats.count("CreateNetworkAclEntry");
                let mut call = self
                    .0
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
                async move { call.send().await.map(|_| ()).map_err(|e| sdk_error(e, Operation::Update)) }
            })
            .await
        }

        async fn remove_rule(&self, id: &str, egress: bool, rule_no: i32) -> Result<(), ProviderError> {
            self.0.stats.count("DeleteNetworkAclEntry");
            self.0
                .ec2()
                .delete_network_acl_entry()
                .network_acl_id(id)
                .rule_number(rule_no)
                .egress(egress)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(e, Operation::Update))
        }

        async fn sync_rules(&self, id: &str, before: &Fields, after: &Fields) -> Result<(), ProviderError> {
            for (name, egress) in [("ingress", false), ("egress", true)] {
                let old = rules_of(before, name);
                let new = rules_of(after, name);
                for r in old.difference(&new) {
                    self.remove_rule(id, egress, r.rule_no).await?;
                }
                for r in new.difference(&old) {
                    self.add_rule(id, egress, r).await?;
                }
            }
            Ok(())
        }

        /// Points each subnet's ACL association at `acl`.
        async fn associate(&self, acl: &str, subnets: &[String]) -> Result<(), ProviderError> {
            if subnets.is_empty() {
                return Ok(());
            }
            let ec2 = self.0.ec2();
            self.0.stats.count("DescribeNetworkAcls");
            let current = ec2
                .describe_network_acls()
                .filters(filter("association.subnet-id", subnets.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Update))?;
            for a in current.network_acls().iter().flat_map(|n| n.associations()) {
                let (Some(subnet), Some(assoc)) = (a.subnet_id(), a.network_acl_association_id()) else {
                    continue;
                };
                if subnets.iter().any(|s| s == subnet) && a.network_acl_id() != Some(acl) {
                    self.0.stats.count("ReplaceNetworkAclAssociation");
                    ec2.replace_network_acl_association()
                        .association_id(assoc)
                        .network_acl_id(acl)
                        .send()
                        .await
                        .map_err(|e| sdk_error(e, Operation::Update))?;
                }
            }
            Ok(())
        }

        async fn default_acl(&self, vpc: &str) -> Result<String, ProviderError> {
            self.0.stats.count("DescribeNetworkAcls");
            let out = self
                .0
                .ec2()
                .describe_network_acls()
                .filters(filter("vpc-id", [vpc.to_owned()]))
                .filters(filter("default", ["true".to_owned()]))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Update))?;
            out.network_acls()
                .first()
                .and_then(|n| n.network_acl_id())
                .map(str::to_owned)
                .ok_or_else(|| missing("default network ACL"))
        }
    }

    #[async_trait]
    impl ResourceProvider for NetworkAclProvider {
        fn api_class(&self, op: Operation) -> ApiClass {
            ApiClass::generic("ec2", op)
        }

        fn timings(&self) -> Timings {
            Timings {
                create: Duration::from_secs(2),
                update: Duration::from_secs(2),
                delete: Duration::from_secs(2),
                poll_interval: Duration::from_secs(2),
                timeout: Duration::from_secs(300),
            }
        }

        async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
            let f = &req.inputs;
            self.0.stats.count("CreateNetworkAcl");
            let out = self
                .0
                .ec2()
                .create_network_acl()
                .vpc_id(req_str(f, "vpc_id")?)
                .client_token(&req.token)
                .tag_specifications(tag_spec(ResourceType::NetworkAcl, f, &req.tags))
                .send()
                .await
                .map_err(|e| sdk_error(e, Operation::Create))?;
            let id = out
                .network_acl()
                .and_then(|n| n.network_acl_id())
                .ok_or_else(|| missing("network ACL ID"))?
                .to_owned();
            self.sync_rules(&id, &Fields::new(), f).await?;
            self.associate(&id, &str_list(f, "subnet_ids")).await?;
            self.describe_ids(vec![id]).await?.pop().ok_or_else(|| missing("new network ACL"))
        }

        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            if req.ids.is_empty() {
                return Ok(ReadResponse::default());
            }
            let found = self.describe_ids(req.ids).await?;
            Ok(ReadResponse { found: found.into_iter().map(|o| (o.id.clone(), o)).collect() })
        }

        async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
            let (b, a) = (&req.before, &req.after);
            if req.changed.iter().any(|c| c == "ingress" || c == "egress") {
                self.sync_rules(&req.id, b, a).await?;
            }
            if req.changed.iter().any(|c| c == "subnet_ids") {
                let wanted = str_list(a, "subnet_ids");
                let dropped: Vec<String> =
                    str_list(b, "subnet_ids").into_iter().filter(|s| !wanted.contains(s)).collect();
                if !dropped.is_empty() {
                    let default = self.default_acl(&req_str(a, "vpc_id")?).await?;
                    self.associate(&default, &dropped).await?;
                }
                self.associate(&req.id, &wanted).await?;
            }
            if req.changed.iter().any(|c| c == "tags") {
                sync_tags(&self.0, &req.id, &user_tags(b), &user_tags(a)).await?;
            }
            Ok(Fields::new())
        }

        async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
            let subnets = str_list(&req.inputs, "subnet_ids");
            if !subnets.is_empty()
                && let Ok(vpc) = req_str(&req.inputs, "vpc_id")
            {
                let default = self.default_acl(&vpc).await?;
                self.associate(&default, &subnets).await?;
            }
            self.0.stats.count("DeleteNetworkAcl");
            self.0
                .ec2()
                .delete_network_acl()
                .network_acl_id(&req.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error(e, Operation::Delete))
        }

        async fn poll(&self, _id: &str) -> Result<Readiness, ProviderError> {
            Ok(Readiness::Ready { outputs: Fields::new() })
        }

        async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(self.describe(vec![token_filter(&req.token)]).await?.into_iter().next())
        }
    }
}
