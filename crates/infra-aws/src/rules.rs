//! AWS's rules, checked before any API call (docs/validation.md).
//!
//! Three levels, every problem reported at once with the address and the
//! field (with the index inside a list, `ingress[2].to_port`):
//! - per field: [`tags`], [`ports`], [`cidr_prefix`], [`region`];
//! - per resource: each type's `validate` function (combinations);
//! - across the stack: [`relations`] — references stay in their region and
//!   in one VPC, and what AWS allows once (a route per destination and
//!   table, an association per subnet, a NAT gateway per Elastic IP, a group
//!   name per VPC, …) is declared once.

use std::collections::BTreeMap;

use infra_core::{Diagnostic, Reference, ResourceDecl, Stack, ValidationContext, Value};

/// The AWS regions (commercial, China, GovCloud, European Sovereign Cloud).
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Tags AWS allows on one resource; the engine's own three
/// (`infra:stack`, `infra:address`, `infra:token`) count too.
pub const MAX_TAGS: usize = 50;
const ENGINE_TAGS: usize = 3;

/// Why `region` is not an AWS region, naming the closest one; `None` when
/// it is one.
pub fn unknown_region(region: &str) -> Option<String> {
    if REGIONS.contains(&region) {
        return None;
    }
    let closest = REGIONS.iter().map(|r| (distance(r, region), *r)).min().filter(|(d, _)| *d <= 3);
    Some(match closest {
        Some((_, r)) => format!("region {region:?} is not an AWS region (did you mean {r}?)"),
        None => format!("region {region:?} is not an AWS region (e.g. us-east-1, eu-west-1)"),
    })
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The checks every AWS type makes: its provider's region is one, and its
/// tags are ones AWS accepts.
pub fn common(ctx: &mut ValidationContext<'_>, tags: &BTreeMap<String, String>) {
    region(ctx);
    self::tags(ctx, "tags", tags);
}

/// Reports an unknown region of the resource's provider once for the
/// whole stack (the same problem from every resource is merged).
pub fn region(ctx: &mut ValidationContext<'_>) {
    if let Some(p) = ctx.provider
        && p.kind == "aws"
        && let Some(problem) = unknown_region(&p.region)
    {
        ctx.stack_error(format!("provider instance {}: {problem}", p.key));
    }
}

/// Tag keys of 1–128 characters, not `aws:` (AWS's) nor `infra:` (the
/// engine's); values of at most 256; at most 47 user tags (50 with the
/// engine's).
pub fn tags(ctx: &mut ValidationContext<'_>, field: &str, tags: &BTreeMap<String, String>) {
    let allowed = MAX_TAGS - ENGINE_TAGS;
    if tags.len() > allowed {
        ctx.error(
            field,
            format!(
                "{} tags: AWS allows {MAX_TAGS} per resource, {ENGINE_TAGS} of them infra's own, so at most {allowed}",
                tags.len()
            ),
        );
    }
    for (k, v) in tags {
        let at = format!("{field}[{k:?}]");
        let chars = k.chars().count();
        if chars == 0 || chars > 128 {
            ctx.error(&at, format!("a tag key must be 1 to 128 characters; this one has {chars}"));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            ctx.error(&at, "tag keys starting with \"aws:\" are reserved for AWS");
        }
        if k.starts_with("infra:") {
            ctx.error(&at, "tag keys starting with \"infra:\" are reserved for infra's own tags");
        }
        if v.chars().count() > 256 {
            ctx.error(
                &at,
                format!("a tag value must be at most 256 characters; this one has {}", v.chars().count()),
            );
        }
    }
}

/// A port range of a rule: for TCP and UDP each port is 0–65535 and
/// `from` ≤ `to`; for ICMP `from`/`to` are the type and code (-1 for all,
/// else 0–255); protocols without ports take any (AWS ignores them).
pub fn ports(ctx: &mut ValidationContext<'_>, at: &str, protocol: &str, from: i32, to: i32) {
    match protocol.to_ascii_lowercase().as_str() {
        "tcp" | "udp" | "6" | "17" => {
            for (name, p) in [("from_port", from), ("to_port", to)] {
                if !(0..=65535).contains(&p) {
                    ctx.error(&format!("{at}.{name}"), format!("port {p} is outside 0-65535"));
                }
            }
            if from > to {
                ctx.error(
                    &format!("{at}.from_port"),
                    format!("from_port {from} is greater than to_port {to}"),
                );
            }
        }
        "icmp" | "icmpv6" | "1" | "58" => {
            for (name, p) in [("from_port", from), ("to_port", to)] {
                if !(-1..=255).contains(&p) {
                    ctx.error(&format!("{at}.{name}"), format!("ICMP type/code {p} is outside -1-255"));
                }
            }
        }
        _ => {}
    }
}

/// An IPv4 block whose prefix length AWS allows for `what` (a VPC's or a
/// subnet's block: /16 to /28).
pub fn cidr_prefix(ctx: &mut ValidationContext<'_>, field: &str, what: &str, cidr: &crate::net::Ipv4Cidr) {
    if !(16..=28).contains(&cidr.prefix()) {
        ctx.error(
            field,
            format!("{cidr}: a {what} block must be between /16 and /28 (a /{} is not)", cidr.prefix()),
        );
    }
}

/// Every reference in `value`, with its field path (`subnet_ids[1]`).
fn references<'v>(path: &str, value: &'v Value, out: &mut Vec<(String, &'v Reference)>) {
    match value {
        Value::Ref(r) => out.push((path.to_owned(), r)),
        Value::List(items) => {
            for (i, v) in items.iter().enumerate() {
                references(&format!("{path}[{i}]"), v, out);
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                references(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Secret(v) | Value::Json(v) => references(path, v, out),
        Value::Template(parts) => {
            for v in parts {
                references(path, v, out);
            }
        }
        _ => {}
    }
}

/// Fields whose references may cross regions or VPCs by design (peering,
/// global clusters), or name groups of peered VPCs
/// (security group rules' sources).
fn crosses_by_design(type_name: &str, field: &str) -> bool {
    let top = field.split(['.', '[']).next().unwrap_or(field);
    type_name.contains("Peering")
        || top.starts_with("peer_")
        || (type_name == "aws:ec2:SecurityGroup" && (top == "ingress" || top == "egress"))
        || (type_name == "aws:ec2:SecurityGroupRule" && top == "referenced_security_group_id")
        // A secondary cluster joins a global cluster declared with its
        // primary's region.
        || (type_name == "aws:rds:Cluster" && top == "global_cluster_identifier")
}

fn region_of<'s>(stack: &'s Stack, decl: &ResourceDecl) -> Option<&'s str> {
    stack.provider_of(decl).map(|p| p.region.as_str())
}

/// The VPC (its address) a declared resource lives in, when the stack
/// says: a VPC itself, or a subnet, group, route table, network ACL,
/// internet gateway or NAT gateway through its `vpc_id` or `subnet_id`.
fn vpc_of(stack: &Stack, address: &infra_core::Address, depth: u8) -> Option<infra_core::Address> {
    let decl = stack.resource(address)?;
    match decl.schema.type_name {
        "aws:ec2:Vpc" => Some(decl.address.clone()),
        "aws:ec2:Subnet"
        | "aws:ec2:SecurityGroup"
        | "aws:ec2:RouteTable"
        | "aws:ec2:NetworkAcl"
        | "aws:ec2:InternetGateway"
        | "aws:ec2:NatGateway"
            if depth < 3 =>
        {
            let via = decl.inputs.get("vpc_id").or_else(|| decl.inputs.get("subnet_id"));
            match via {
                Some(Value::Ref(r)) => vpc_of(stack, &r.address, depth + 1),
                _ => None,
            }
        }
        _ => None,
    }
}

/// What one declaration may not share with another of its type: AWS
/// allows it once (per region). Each entry: (field path, key, what).
fn unique_keys(decl: &ResourceDecl) -> Vec<(String, String, &'static str)> {
    let part = |name: &str| -> Option<String> {
        match decl.inputs.get(name)? {
            Value::Ref(r) => Some(format!("{}.{}", r.address, r.output)),
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let pair = |a: &str, b: &str| Some(format!("{}|{}", part(a)?, part(b)?));
    let one = |field: &str, key: Option<String>, what: &'static str| {
        key.map(|k| vec![(field.to_owned(), k, what)]).unwrap_or_default()
    };
    match decl.schema.type_name {
        "aws:ec2:Route" => one(
            "destination_cidr_block",
            pair("route_table_id", "destination_cidr_block"),
            "a route for this destination in this route table",
        ),
        "aws:ec2:TransitGatewayRoute" => one(
            "destination_cidr_block",
            pair("transit_gateway_route_table_id", "destination_cidr_block"),
            "a route for this destination in this transit gateway route table",
        ),
        "aws:ec2:RouteTableAssociation" => {
            one("subnet_id", part("subnet_id"), "a route table association for this subnet")
        }
        "aws:ec2:NatGateway" => {
            one("allocation_id", part("allocation_id"), "a NAT gateway with this Elastic IP")
        }
        "aws:ec2:InternetGateway" => {
            one("vpc_id", part("vpc_id"), "an internet gateway attached to this VPC")
        }
        "aws:ec2:SecurityGroup" => {
            one("name", pair("vpc_id", "name"), "a security group of this name in this VPC")
        }
        "aws:ec2:TransitGatewayVpcAttachment" => one(
            "vpc_id",
            pair("transit_gateway_id", "vpc_id"),
            "an attachment of this VPC to this transit gateway",
        ),
        "aws:ec2:LaunchTemplate" => one("name", part("name"), "a launch template of this name"),
        "aws:autoscaling:Group" => one("name", part("name"), "an Auto Scaling group of this name"),
        "aws:autoscaling:Policy" => {
            one("name", pair("autoscaling_group_name", "name"), "a scaling policy of this name in this group")
        }
        "aws:iam:Role" => one("name", part("name"), "a role of this name in the account"),
        "aws:iam:InstanceProfile" => {
            one("name", part("name"), "an instance profile of this name in the account")
        }
        "aws:iam:RolePolicy" => {
            one("name", pair("role", "name"), "an inline policy of this name on this role")
        }
        "aws:iam:RolePolicyAttachment" => {
            one("policy_arn", pair("role", "policy_arn"), "an attachment of this policy to this role")
        }
        "aws:ecs:Cluster" => one("name", part("name"), "an ECS cluster of this name"),
        "aws:wafv2:WebAcl" => one("name", pair("scope", "name"), "a web ACL of this name in this scope"),
        "aws:wafv2:IpSet" => one("name", pair("scope", "name"), "an IP set of this name in this scope"),
        "aws:wafv2:WebAclAssociation" => {
            one("resource_arn", part("resource_arn"), "a web ACL association for this resource")
        }
        "aws:ecs:Service" => {
            one("name", pair("cluster", "name"), "an ECS service of this name in this cluster")
        }
        "aws:appautoscaling:Target" => one(
            "resource_id",
            pair("service_namespace", "resource_id")
                .and_then(|k| Some(format!("{k}|{}", part("scalable_dimension")?))),
            "a scalable target for this resource and dimension",
        ),
        "aws:appautoscaling:Policy" => one(
            "name",
            pair("resource_id", "scalable_dimension").and_then(|k| Some(format!("{k}|{}", part("name")?))),
            "a scaling policy of this name on this scalable target",
        ),
        "aws:secretsmanager:Secret" => one("name", part("name"), "a secret of this name in the region"),
        "aws:secretsmanager:SecretVersion" => {
            one("secret_id", part("secret_id"), "the value of this secret (its AWSCURRENT version)")
        }
        "aws:secretsmanager:GeneratedPassword" => {
            one("secret_id", part("secret_id"), "a generated password in this secret")
        }
        "aws:elbv2:LoadBalancer" => one("name", part("name"), "a load balancer of this name"),
        "aws:elbv2:TargetGroup" => one("name", part("name"), "a target group of this name"),
        "aws:elbv2:Listener" => {
            one("port", pair("load_balancer_arn", "port"), "a listener on this port of this load balancer")
        }
        "aws:elbv2:ListenerRule" => {
            one("priority", pair("listener_arn", "priority"), "a rule of this priority on this listener")
        }
        "aws:logs:LogGroup" => one("name", part("name"), "a log group of this name in the region"),
        "aws:kms:Alias" => one("name", part("name"), "a KMS alias of this name in the region"),
        "aws:sns:Topic" => one("name", part("name"), "an SNS topic of this name in the region"),
        "aws:sns:Subscription" => one(
            "endpoint",
            part("endpoint").and_then(|e| Some(format!("{}|{}|{e}", part("topic_arn")?, part("protocol")?))),
            "a subscription of this endpoint to this topic",
        ),
        "aws:cloudwatch:MetricAlarm" => {
            one("alarm_name", part("alarm_name"), "a metric alarm of this name in the region")
        }
        "aws:cloudwatch:Dashboard" => {
            one("dashboard_name", part("dashboard_name"), "a dashboard of this name in the account")
        }
        "aws:ecr:Repository" => one("name", part("name"), "an ECR repository of this name in the region"),
        "aws:elasticache:SubnetGroup" => {
            one("name", part("name"), "an ElastiCache subnet group of this name in the region")
        }
        "aws:elasticache:ParameterGroup" => {
            one("name", part("name"), "an ElastiCache parameter group of this name in the region")
        }
        "aws:elasticache:ReplicationGroup" => one(
            "replication_group_id",
            part("replication_group_id"),
            "a replication group of this ID in the region",
        ),
        "aws:s3:Bucket" => one("bucket", part("bucket"), "a bucket of this name (bucket names are global)"),
        "aws:s3:BucketPolicy" => one("bucket", part("bucket"), "the policy of this bucket"),
        "aws:dynamodb:Table" => one("name", part("name"), "a DynamoDB table of this name in the region"),
        "aws:rds:SubnetGroup" => one("name", part("name"), "a DB subnet group of this name in the region"),
        "aws:rds:ClusterParameterGroup" => {
            one("name", part("name"), "a cluster parameter group of this name in the region")
        }
        "aws:rds:ParameterGroup" => {
            one("name", part("name"), "a DB parameter group of this name in the region")
        }
        "aws:rds:Cluster" => one(
            "cluster_identifier",
            part("cluster_identifier"),
            "a DB cluster of this identifier in the region",
        ),
        "aws:rds:ClusterInstance" => {
            one("identifier", part("identifier"), "a DB instance of this identifier in the region")
        }
        "aws:rds:GlobalCluster" => one(
            "global_cluster_identifier",
            part("global_cluster_identifier"),
            "a global cluster of this identifier in the account",
        ),
        "aws:ec2:NetworkAcl" => match decl.inputs.get("subnet_ids") {
            // A subnet is associated with one network ACL.
            Some(Value::List(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::Ref(r) => Some((
                        format!("subnet_ids[{i}]"),
                        format!("{}.{}", r.address, r.output),
                        "a network ACL associated with this subnet",
                    )),
                    Value::String(s) => Some((
                        format!("subnet_ids[{i}]"),
                        s.clone(),
                        "a network ACL associated with this subnet",
                    )),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The checks across the stack every EC2 type makes (its `validate_stack`):
/// - a reference to another EC2 or ELBv2 resource stays in this resource's
///   region (their IDs are regional), except the peer fields of a peering;
/// - the references of one resource (its subnets, groups, route table, NAT
///   gateway, …) are all in one VPC;
///
/// What AWS allows once is checked per type, by [`unique`].
pub fn relations(decl: &ResourceDecl, stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut refs = Vec::new();
    for (name, value) in &decl.inputs {
        references(name, value, &mut refs);
    }
    let here = region_of(stack, decl);
    let mut first_vpc: Option<(String, infra_core::Address)> = None;
    for (field, r) in &refs {
        if crosses_by_design(decl.schema.type_name, field) {
            continue;
        }
        let Some(target) = stack.resource(&r.address) else { continue };
        let there = region_of(stack, target);
        // A peering's ID is the same in both regions (the accepter side
        // and its routes use the requester's).
        let regional = !target.schema.type_name.contains("Peering");
        let what = if target.schema.type_name.starts_with("aws:ec2:") {
            "EC2 IDs"
        } else if target.schema.type_name.starts_with("aws:elbv2:") {
            "load balancer ARNs"
        } else {
            ""
        };
        if regional
            && !what.is_empty()
            && let (Some(here), Some(there)) = (here, there)
            && here != there
        {
            out.push(Diagnostic::field(
                decl.address.clone(),
                field,
                format!(
                    "{} lives in {there} (provider {}), but this resource is in {here}: {what} are regional; bind both to one region's provider",
                    r.address,
                    target.provider.as_ref().map(ToString::to_string).unwrap_or_default()
                ),
            ));
            continue;
        }
        let Some(vpc) = vpc_of(stack, &r.address, 0) else { continue };
        match &first_vpc {
            None => first_vpc = Some((field.clone(), vpc)),
            Some((first_field, first)) if *first != vpc => out.push(Diagnostic::field(
                decl.address.clone(),
                field,
                format!(
                    "{} is in VPC {vpc}, but `{first_field}` is in VPC {first}: one resource's references must be in one VPC",
                    r.address
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

/// What AWS allows once per region is declared once (every EC2 type's
/// `validate_type`): one pass over the type's declarations, reporting each
/// later one and naming the first.
pub fn unique(decls: &[&ResourceDecl], stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut first: std::collections::HashMap<(Option<&str>, String), &infra_core::Address> =
        std::collections::HashMap::new();
    for decl in decls {
        // IAM is global: its names are unique in the account, whatever
        // region's provider declares them.
        // CloudWatch dashboards, RDS global clusters and S3 bucket names
        // (in all of AWS) too.
        let global = decl.schema.type_name.starts_with("aws:iam:")
            || decl.schema.type_name.starts_with("aws:s3:")
            || decl.schema.type_name == "aws:cloudwatch:Dashboard"
            || decl.schema.type_name == "aws:rds:GlobalCluster";
        let here = if global { None } else { region_of(stack, decl) };
        for (field, key, what) in unique_keys(decl) {
            match first.entry((here, key)) {
                std::collections::hash_map::Entry::Occupied(e) => out.push(Diagnostic::field(
                    decl.address.clone(),
                    &field,
                    format!("{} already declares {what}; AWS allows one", e.get()),
                )),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(&decl.address);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_known_by_name_with_the_closest_suggested() {
        assert_eq!(unknown_region("eu-west-1"), None);
        let problem = unknown_region("us-esat-1").unwrap_or_default();
        assert!(problem.contains("did you mean us-east-1?"), "{problem}");
        let problem = unknown_region("mars-north-9").unwrap_or_default();
        assert!(problem.contains("is not an AWS region"), "{problem}");
    }
}
