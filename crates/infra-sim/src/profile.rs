//! Per-type behaviour of the simulated cloud: latencies, time to ready, ID
//! prefixes, API classes and generated outputs.

use std::collections::BTreeMap;
use std::time::Duration;

use infra_engine::{ApiClass, Operation};

/// How one resource type behaves. Durations are before scaling by
/// [`SimConfig::time_scale`](crate::SimConfig::time_scale).
#[derive(Debug, Clone, PartialEq)]
pub struct TypeProfile {
    /// How long the create call takes (after the API round trip).
    pub create: Duration,
    /// From the create call's return until the resource is available.
    pub ready_after_create: Duration,
    /// How long the update call takes.
    pub update: Duration,
    /// From the update call's return until the resource is available again.
    pub ready_after_update: Duration,
    /// How long the delete call takes (it returns once the resource is gone).
    pub delete: Duration,
    /// The ID prefix: IDs are `{prefix}-{counter:08x}`.
    pub id_prefix: String,
    /// API categories other than the generic `mutating`/`non-mutating`, per
    /// operation, e.g. `(Create, "CreateNatGateway")`.
    pub categories: Vec<(Operation, String)>,
    /// Outputs generated besides `id`, `arn` and `name`; each is
    /// `"{id}.{output}"`.
    pub outputs: Vec<String>,
    /// Interval between readiness polls.
    pub poll_interval: Duration,
    /// Default timeout of a readiness wait.
    pub timeout: Duration,
    /// What a readiness poll reports while the resource is not ready, as
    /// it grows: see [`Progress`]. `None`: `creating` / `modifying`.
    pub progress: Option<Progress>,
    /// A delete first disables the object, a change that deploys for
    /// `ready_after_update`, and deletes it only then (a CloudFront
    /// distribution: disabled, `Deployed`, then deleted). The wait shows
    /// as a pending delete (`disabling: InProgress`).
    pub disable_before_delete: bool,
}

/// A pending status that counts up, the way a service reports a rollout
/// (`deployment IN_PROGRESS: 2/3 tasks running`): `template`'s `{done}`
/// and `{total}` are filled in, `total` from the resource's integer input
/// `count_field` (1 when unset), `done` in proportion to the time since the
/// call that made it pending.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub template: String,
    pub count_field: String,
}

impl Progress {
    /// The status `fraction` (0 to 1) of the way to ready, for `total`.
    pub fn status(&self, fraction: f64, total: i64) -> String {
        let done = ((total as f64) * fraction.clamp(0.0, 1.0)).floor() as i64;
        self.template.replace("{done}", &done.min(total).to_string()).replace("{total}", &total.to_string())
    }
}

impl Default for TypeProfile {
    /// The profile of a type the profile does not know: 2 s per call, ready
    /// at once, prefix `sim`, polled every 2 s, 30-minute timeout.
    fn default() -> Self {
        TypeProfile {
            create: Duration::from_secs(2),
            ready_after_create: Duration::ZERO,
            update: Duration::from_secs(2),
            ready_after_update: Duration::ZERO,
            delete: Duration::from_secs(2),
            id_prefix: "sim".to_owned(),
            categories: Vec::new(),
            outputs: Vec::new(),
            poll_interval: Duration::from_secs(2),
            timeout: Duration::from_secs(30 * 60),
            progress: None,
            disable_before_delete: false,
        }
    }
}

impl TypeProfile {
    /// The default profile with another ID prefix.
    pub fn new(id_prefix: &str) -> Self {
        TypeProfile { id_prefix: id_prefix.to_owned(), ..TypeProfile::default() }
    }

    /// Sets the create call's latency.
    pub fn create(mut self, d: Duration) -> Self {
        self.create = d;
        self
    }

    /// Sets the time from the create call's return to available.
    pub fn ready(mut self, d: Duration) -> Self {
        self.ready_after_create = d;
        self
    }

    /// Sets the update call's latency.
    pub fn update(mut self, d: Duration) -> Self {
        self.update = d;
        self
    }

    /// Sets the time from the update call's return to available.
    pub fn ready_after_update(mut self, d: Duration) -> Self {
        self.ready_after_update = d;
        self
    }

    /// Sets the delete call's latency.
    pub fn delete(mut self, d: Duration) -> Self {
        self.delete = d;
        self
    }

    /// Gives `op` its own API category (and so its own rate bucket).
    pub fn category(mut self, op: Operation, category: &str) -> Self {
        self.categories.retain(|(o, _)| *o != op);
        self.categories.push((op, category.to_owned()));
        self
    }

    /// Sets the generated outputs besides `id`, `arn` and `name`.
    pub fn outputs(mut self, names: &[&str]) -> Self {
        self.outputs = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Sets the poll interval.
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }

    /// Sets the readiness timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Sets the pending status's progress (see [`Progress`]).
    pub fn progress(mut self, template: &str, count_field: &str) -> Self {
        self.progress = Some(Progress { template: template.to_owned(), count_field: count_field.to_owned() });
        self
    }

    /// Makes a delete disable first (see [`TypeProfile::disable_before_delete`]).
    pub fn disable_before_delete(mut self) -> Self {
        self.disable_before_delete = true;
        self
    }

    /// The category of `op`: its own, or the generic one.
    pub fn category_of(&self, op: Operation) -> Option<&str> {
        self.categories.iter().find(|(o, _)| *o == op).map(|(_, c)| c.as_str())
    }
}

/// How every resource type behaves: a profile per type name and a default
/// for the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    types: BTreeMap<String, TypeProfile>,
    default: TypeProfile,
}

impl Default for Profile {
    /// [`Profile::seed`].
    fn default() -> Self {
        Profile::seed()
    }
}

/// `(type, prefix, create, ready, update, ready after update, delete,
/// timeout in minutes, outputs)`, seconds unless noted. Sources per row are
/// in `docs/simulated-provider.md`, whose table a test keeps equal to this.
type SeedRow = (&'static str, &'static str, u64, u64, u64, u64, u64, u64, &'static [&'static str]);

const SEED: &[SeedRow] = &[
    (
        "aws:ec2:Vpc",
        "vpc",
        1,
        2,
        1,
        0,
        1,
        10,
        &["default_security_group_id", "main_route_table_id", "owner_id"],
    ),
    ("aws:ec2:Subnet", "subnet", 1, 1, 1, 0, 1, 10, &["availability_zone_id"]),
    ("aws:ec2:InternetGateway", "igw", 1, 0, 1, 0, 2, 10, &[]),
    ("aws:ec2:ElasticIp", "eipalloc", 1, 0, 1, 0, 1, 10, &["public_ip"]),
    ("aws:ec2:NatGateway", "nat", 1, 120, 1, 0, 60, 10, &["public_ip", "private_ip"]),
    ("aws:ec2:RouteTable", "rtb", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:ec2:Route", "r", 1, 0, 1, 0, 1, 5, &[]),
    ("aws:ec2:RouteTableAssociation", "rtbassoc", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:ec2:SecurityGroup", "sg", 1, 0, 1, 0, 2, 10, &[]),
    ("aws:ec2:SecurityGroupRule", "sgr", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:ec2:NetworkAcl", "acl", 1, 0, 1, 0, 1, 10, &[]),
    (
        "aws:ec2:TransitGateway",
        "tgw",
        1,
        180,
        1,
        0,
        120,
        10,
        &["owner_id", "association_default_route_table_id"],
    ),
    ("aws:ec2:TransitGatewayVpcAttachment", "tgw-attach", 1, 60, 1, 0, 60, 10, &[]),
    ("aws:ec2:TransitGatewayPeeringAttachment", "tgw-attach", 1, 120, 1, 0, 60, 10, &[]),
    ("aws:ec2:TransitGatewayRoute", "tgw-route", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:ec2:VpcPeeringConnection", "pcx", 1, 5, 1, 0, 2, 10, &[]),
    ("aws:ec2:FlowLog", "fl", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:ec2:LaunchTemplate", "lt", 1, 0, 1, 0, 1, 10, &["latest_version"]),
    ("aws:elbv2:LoadBalancer", "lb", 2, 180, 1, 0, 30, 10, &["dns_name", "zone_id", "arn_suffix"]),
    ("aws:elbv2:TargetGroup", "tg", 1, 0, 1, 0, 1, 10, &["arn_suffix"]),
    ("aws:elbv2:Listener", "listener", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:elbv2:ListenerRule", "listener-rule", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:acm:Certificate", "cert", 1, 0, 1, 0, 1, 10, &["domain_validation_options"]),
    ("aws:acm:CertificateValidation", "certval", 1, 180, 1, 0, 0, 75, &["certificate_arn"]),
    ("aws:ecs:Cluster", "ecs-cluster", 1, 0, 1, 0, 2, 10, &[]),
    ("aws:ecs:TaskDefinition", "td", 1, 0, 1, 0, 1, 10, &["revision"]),
    ("aws:ecs:Service", "svc", 2, 120, 2, 120, 60, 20, &[]),
    ("aws:iam:Role", "role", 1, 10, 1, 0, 1, 10, &["unique_id"]),
    ("aws:iam:RolePolicy", "rolepol", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:iam:RolePolicyAttachment", "rpa", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:iam:InstanceProfile", "profile", 1, 5, 1, 0, 1, 10, &["unique_id"]),
    ("aws:logs:LogGroup", "lg", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:secretsmanager:Secret", "secret", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:secretsmanager:SecretVersion", "secretver", 1, 0, 1, 0, 1, 10, &["version_id"]),
    ("aws:secretsmanager:GeneratedPassword", "genpw", 1, 0, 1, 0, 0, 10, &["secret_arn", "version_id"]),
    ("aws:kms:Key", "key", 1, 0, 1, 0, 1, 10, &["key_id"]),
    ("aws:kms:Alias", "alias", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:rds:GlobalCluster", "global", 2, 60, 2, 60, 60, 30, &[]),
    ("aws:rds:Cluster", "cluster", 2, 300, 2, 60, 120, 120, &["endpoint", "reader_endpoint"]),
    ("aws:rds:ClusterInstance", "db", 2, 600, 2, 300, 300, 90, &["endpoint"]),
    ("aws:rds:SubnetGroup", "dbsubnet", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:rds:ClusterParameterGroup", "cluster-pg", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:rds:ParameterGroup", "pg", 1, 0, 1, 0, 1, 10, &[]),
    (
        "aws:elasticache:ReplicationGroup",
        "rg",
        2,
        600,
        2,
        300,
        300,
        60,
        &["primary_endpoint_address", "reader_endpoint_address"],
    ),
    ("aws:elasticache:SubnetGroup", "cachesubnet", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:elasticache:ParameterGroup", "cachepg", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:s3:Bucket", "bucket", 1, 0, 1, 0, 1, 10, &["bucket_domain_name", "bucket_regional_domain_name"]),
    ("aws:s3:BucketVersioning", "bucketver", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:s3:BucketPublicAccessBlock", "bpab", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:s3:BucketPolicy", "bpol", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:dynamodb:Table", "table", 1, 10, 1, 5, 5, 10, &["stream_arn"]),
    ("aws:cloudfront:Distribution", "dist", 2, 300, 2, 600, 2, 90, &["domain_name", "hosted_zone_id"]),
    (
        "aws:cloudfront:OriginAccessIdentity",
        "oai",
        1,
        0,
        1,
        0,
        1,
        10,
        &["iam_arn", "cloudfront_access_identity_path", "s3_canonical_user_id"],
    ),
    ("aws:cloudfront:OriginAccessControl", "oac", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:cloudfront:CachePolicy", "cachepol", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:cloudfront:OriginRequestPolicy", "orpol", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:cloudfront:ResponseHeadersPolicy", "rhpol", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:wafv2:WebAcl", "webacl", 1, 0, 1, 0, 1, 10, &["capacity"]),
    ("aws:wafv2:IpSet", "ipset", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:wafv2:WebAclAssociation", "webaclassoc", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:route53:HostedZone", "Z", 1, 60, 1, 0, 60, 10, &["zone_id", "name_servers"]),
    ("aws:route53:Record", "rrset", 1, 60, 1, 60, 60, 10, &["fqdn"]),
    ("aws:route53:HealthCheck", "hc", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:shield:Protection", "protection", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:sns:Topic", "topic", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:sns:Subscription", "sub", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:cloudwatch:MetricAlarm", "alarm", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:cloudwatch:Dashboard", "dashboard", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:appautoscaling:Target", "scalable-target", 1, 0, 1, 0, 1, 10, &["resource_id"]),
    ("aws:appautoscaling:Policy", "scaling-policy", 1, 0, 1, 0, 1, 10, &[]),
    ("aws:ecr:Repository", "repo", 1, 0, 1, 0, 1, 10, &["repository_url"]),
    ("aws:autoscaling:Group", "asg", 2, 120, 2, 0, 120, 10, &[]),
    ("aws:autoscaling:Policy", "asg-policy", 1, 0, 1, 0, 1, 10, &[]),
];

/// Types whose readiness takes at least this long are polled every 15 s,
/// the rest every 2 s.
const SLOW: Duration = Duration::from_secs(60);

impl Profile {
    /// Realistic timings for every type of the seed architecture (see
    /// `docs/simulated-provider.md` for each figure's source); other types
    /// get [`TypeProfile::default`].
    pub fn seed() -> Self {
        let secs = Duration::from_secs;
        let mut types = BTreeMap::new();
        for &(name, prefix, create, ready, update, ready_update, delete, timeout_min, outputs) in SEED {
            let slow = ready.max(ready_update) >= SLOW.as_secs();
            let mut p = TypeProfile::new(prefix)
                .create(secs(create))
                .ready(secs(ready))
                .update(secs(update))
                .ready_after_update(secs(ready_update))
                .delete(secs(delete))
                .outputs(outputs)
                .poll_interval(secs(if slow { 15 } else { 2 }))
                .timeout(secs(timeout_min * 60));
            p = match name {
                "aws:ec2:NatGateway" => p
                    .category(Operation::Create, "CreateNatGateway")
                    .category(Operation::Delete, "DeleteNatGateway"),
                // ECS reports a deployment's rollout by its running tasks.
                "aws:ecs:Service" => {
                    p.progress("deployment IN_PROGRESS: {done}/{total} tasks running", "desired_count")
                }
                // Disabled, deployed, then deleted.
                "aws:cloudfront:Distribution" => p.disable_before_delete(),
                "aws:ec2:SecurityGroupRule" | "aws:ec2:VpcPeeringConnection" => p
                    .category(Operation::Create, "resource-intensive")
                    .category(Operation::Delete, "resource-intensive"),
                _ => p,
            };
            types.insert(name.to_owned(), p);
        }
        Profile { types, default: TypeProfile::default() }
    }

    /// Every type alike: calls take `create` (create, update and delete),
    /// resources are ready `ready` after create and after update. For tests.
    pub fn uniform(create: Duration, ready: Duration) -> Self {
        let poll = if ready >= SLOW { Duration::from_secs(15) } else { Duration::from_secs(2) };
        Profile {
            types: BTreeMap::new(),
            default: TypeProfile::default()
                .create(create)
                .ready(ready)
                .update(create)
                .ready_after_update(ready)
                .delete(create)
                .poll_interval(poll),
        }
    }

    /// Sets the profile of one type.
    pub fn with_type(mut self, type_name: &str, profile: TypeProfile) -> Self {
        self.types.insert(type_name.to_owned(), profile);
        self
    }

    /// Sets the profile of types not named.
    pub fn with_default(mut self, profile: TypeProfile) -> Self {
        self.default = profile;
        self
    }

    /// The profile of `type_name` (the default when it has none).
    pub fn get(&self, type_name: &str) -> &TypeProfile {
        self.types.get(type_name).unwrap_or(&self.default)
    }

    /// The profile of types not named.
    pub fn default_profile(&self) -> &TypeProfile {
        &self.default
    }

    /// The types with a profile of their own, sorted.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    /// The API class a call of `op` on `type_name` draws from: the type's
    /// service (see [`service_of`]) and its own category for `op`, or the
    /// generic mutating/non-mutating one.
    pub fn api_class(&self, type_name: &str, op: Operation) -> ApiClass {
        let service = service_of(type_name);
        match self.get(type_name).category_of(op) {
            Some(category) => ApiClass::new(service, category),
            None => ApiClass::generic(service, op),
        }
    }
}

/// The service of a type name: its middle part (`aws:ec2:NatGateway` →
/// `ec2`); the first part of a two-part name; `sim` otherwise.
pub fn service_of(type_name: &str) -> &str {
    let parts: Vec<&str> = type_name.split(':').collect();
    match parts.as_slice() {
        [_, service, _, ..] if !service.is_empty() => service,
        [service, _] if !service.is_empty() => service,
        _ => "sim",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_is_the_middle_part() {
        assert_eq!(service_of("aws:ec2:NatGateway"), "ec2");
        assert_eq!(service_of("aws:cloudfront:Distribution"), "cloudfront");
        assert_eq!(service_of("test:Thing"), "test");
        assert_eq!(service_of("Thing"), "sim");
    }

    #[test]
    fn nat_gateway_creates_draw_from_their_own_bucket() {
        let p = Profile::seed();
        assert_eq!(
            p.api_class("aws:ec2:NatGateway", Operation::Create),
            ApiClass::new("ec2", "CreateNatGateway")
        );
        assert_eq!(p.api_class("aws:ec2:NatGateway", Operation::Update), ApiClass::new("ec2", "mutating"));
        assert_eq!(p.api_class("aws:ec2:NatGateway", Operation::Poll), ApiClass::new("ec2", "non-mutating"));
        assert_eq!(p.api_class("aws:rds:Cluster", Operation::Create), ApiClass::new("rds", "mutating"));
        assert_eq!(
            p.api_class("aws:unknown:Thing", Operation::Read),
            ApiClass::new("unknown", "non-mutating")
        );
    }
}
