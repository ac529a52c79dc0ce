//! The benchmark graphs, as stacks of raw resources of the seed
//! architecture's types (so the simulated cloud gives them realistic
//! latencies and rate limits).

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use infra_core::{
    Address, Fields, Options, ProviderConfig, ProviderKey, Readiness, Reference, ReplaceOrder, Schema, Stack,
    Value,
};
use infra_sim::Profile;

/// A schema per type name, made once and kept for the process's life.
fn schema(type_name: &str, profile: &Profile) -> &'static Schema {
    static SCHEMAS: OnceLock<Mutex<BTreeMap<String, &'static Schema>>> = OnceLock::new();
    let map = SCHEMAS.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(s) = map.get(type_name) {
        return s;
    }
    let ready = profile.get(type_name).ready_after_create;
    let name: &'static str = Box::leak(type_name.to_owned().into_boxed_str());
    let s: &'static Schema = Box::leak(Box::new(Schema {
        type_name: name,
        fields: &[],
        outputs: &[infra_core::OutputSpec { name: "id", type_name: "String" }],
        replace_order: ReplaceOrder::CreateBeforeDestroy,
        readiness: if ready.is_zero() { Readiness::OnId } else { Readiness::OnAvailable },
        stack_validate: None,
        type_validate: None,
        check_id: None,
        needs: None,
        lookup: false,
        keeps_data: None,
    }));
    map.insert(type_name.to_owned(), s);
    s
}

/// Builds a stack resource by resource.
pub struct Builder<'p> {
    stack: Stack,
    profile: &'p Profile,
}

impl<'p> Builder<'p> {
    /// A stack named `name` with the given provider instances.
    pub fn new(name: &str, regions: &[&str], profile: &'p Profile) -> Self {
        let mut stack = Stack::new(name);
        for r in regions {
            stack.provider(ProviderConfig::aws(r));
        }
        Builder { stack, profile }
    }

    /// Adds `name` of `type_name` in `region`, depending on `deps`.
    pub fn add(&mut self, region: &str, name: &str, type_name: &str, deps: &[&Address]) -> Address {
        let refs: Vec<Value> = deps
            .iter()
            .map(|d| Value::Ref(Reference { address: (*d).clone(), output: "id".into() }))
            .collect();
        let mut inputs = Fields::new();
        inputs.insert("name".into(), Value::from(name));
        if !refs.is_empty() {
            inputs.insert("deps".into(), Value::List(refs));
        }
        let options = Options::new().provider(&ProviderKey(format!("aws.{region}")));
        let schema = schema(type_name, self.profile);
        self.stack.root().add_raw(name, schema, inputs, options)
    }

    /// The finished stack.
    pub fn finish(self) -> Stack {
        self.stack
    }
}

/// The seed's two-region production architecture (resource types and
/// dependencies of the reference architecture and its building blocks).
pub fn seed(profile: &Profile) -> Stack {
    let mut b = Builder::new("seed", &["us-east-1", "eu-west-1"], profile);
    let mut tgws = Vec::new();
    let mut global_cluster = Vec::new();
    let mut primary_clusters: Vec<Address> = Vec::new();
    let mut albs = Vec::new();
    // Global pieces, in us-east-1: IAM, the static site, WAF, the
    // CloudFront certificate.
    let g = "us-east-1";
    let exec_role = b.add(g, "iam-ecs-execution", "aws:iam:Role", &[]);
    let exec_attach = b.add(g, "iam-ecs-execution-policy", "aws:iam:RolePolicyAttachment", &[&exec_role]);
    let task_role = b.add(g, "iam-ecs-task", "aws:iam:Role", &[]);
    let static_bucket = b.add(g, "s3-static", "aws:s3:Bucket", &[]);
    b.add(g, "s3-static-versioning", "aws:s3:BucketVersioning", &[&static_bucket]);
    b.add(g, "s3-static-pab", "aws:s3:BucketPublicAccessBlock", &[&static_bucket]);
    let oai = b.add(g, "cf-oai", "aws:cloudfront:OriginAccessIdentity", &[]);
    b.add(g, "s3-static-policy", "aws:s3:BucketPolicy", &[&static_bucket, &oai]);
    b.add(g, "iam-ecs-task-s3", "aws:iam:RolePolicy", &[&task_role, &static_bucket]);
    let cf_logs = b.add(g, "s3-cf-logs", "aws:s3:Bucket", &[]);
    let waf = b.add(g, "waf", "aws:wafv2:WebAcl", &[]);
    let cf_cert = b.add(g, "cf-cert", "aws:acm:Certificate", &[]);
    let cf_cert_rec = b.add(g, "cf-cert-record", "aws:route53:Record", &[&cf_cert]);
    let cf_cert_ok =
        b.add(g, "cf-cert-validation", "aws:acm:CertificateValidation", &[&cf_cert, &cf_cert_rec]);
    let gc = b.add(g, "aurora-global", "aws:rds:GlobalCluster", &[]);
    global_cluster.push(gc);

    for (i, region) in ["us-east-1", "eu-west-1"].into_iter().enumerate() {
        let p = |s: &str| format!("{}-{s}", &region[..2]);
        let primary = i == 0;
        let vpc = b.add(region, &p("vpc"), "aws:ec2:Vpc", &[]);
        let igw = b.add(region, &p("igw"), "aws:ec2:InternetGateway", &[&vpc]);
        let logs = b.add(region, &p("flow-logs"), "aws:logs:LogGroup", &[]);
        let flow_role = b.add(region, &p("flow-role"), "aws:iam:Role", &[]);
        b.add(region, &p("flow-log"), "aws:ec2:FlowLog", &[&vpc, &logs, &flow_role]);
        let public_rt = b.add(region, &p("public-rt"), "aws:ec2:RouteTable", &[&vpc]);
        b.add(region, &p("public-route"), "aws:ec2:Route", &[&public_rt, &igw]);
        let data_rt = b.add(region, &p("data-rt"), "aws:ec2:RouteTable", &[&vpc]);
        let (mut public, mut app, mut data, mut app_rts) = (vec![], vec![], vec![], vec![]);
        for z in ["a", "b", "c"] {
            let pub_s = b.add(region, &p(&format!("public-{z}")), "aws:ec2:Subnet", &[&vpc]);
            let app_s = b.add(region, &p(&format!("app-{z}")), "aws:ec2:Subnet", &[&vpc]);
            let data_s = b.add(region, &p(&format!("data-{z}")), "aws:ec2:Subnet", &[&vpc]);
            b.add(
                region,
                &p(&format!("public-{z}-assoc")),
                "aws:ec2:RouteTableAssociation",
                &[&public_rt, &pub_s],
            );
            b.add(
                region,
                &p(&format!("data-{z}-assoc")),
                "aws:ec2:RouteTableAssociation",
                &[&data_rt, &data_s],
            );
            let eip = b.add(region, &p(&format!("nat-eip-{z}")), "aws:ec2:ElasticIp", &[]);
            let nat = b.add(region, &p(&format!("nat-{z}")), "aws:ec2:NatGateway", &[&pub_s, &eip]);
            let rt = b.add(region, &p(&format!("app-rt-{z}")), "aws:ec2:RouteTable", &[&vpc]);
            b.add(region, &p(&format!("app-route-{z}")), "aws:ec2:Route", &[&rt, &nat]);
            b.add(region, &p(&format!("app-{z}-assoc")), "aws:ec2:RouteTableAssociation", &[&rt, &app_s]);
            public.push(pub_s);
            app.push(app_s);
            data.push(data_s);
            app_rts.push(rt);
        }
        let nacl = b.add(region, &p("data-nacl"), "aws:ec2:NetworkAcl", &[&vpc]);
        let _ = nacl;
        let alb_sg = b.add(region, &p("alb-sg"), "aws:ec2:SecurityGroup", &[&vpc]);
        let app_sg = b.add(region, &p("app-sg"), "aws:ec2:SecurityGroup", &[&vpc]);
        let data_sg = b.add(region, &p("data-sg"), "aws:ec2:SecurityGroup", &[&vpc]);
        let redis_sg = b.add(region, &p("redis-sg"), "aws:ec2:SecurityGroup", &[&vpc]);
        b.add(region, &p("app-from-alb"), "aws:ec2:SecurityGroupRule", &[&app_sg, &alb_sg]);
        b.add(region, &p("data-from-app"), "aws:ec2:SecurityGroupRule", &[&data_sg, &app_sg]);
        b.add(region, &p("redis-from-app"), "aws:ec2:SecurityGroupRule", &[&redis_sg, &app_sg]);

        // Transit gateway per region, attached to the app subnets.
        let tgw = b.add(region, &p("tgw"), "aws:ec2:TransitGateway", &[]);
        let att_deps: Vec<&Address> = [&tgw, &vpc].into_iter().chain(app.iter()).collect();
        let att = b.add(region, &p("tgw-attachment"), "aws:ec2:TransitGatewayVpcAttachment", &att_deps);
        for (z, rt) in ["a", "b", "c"].iter().zip(&app_rts) {
            b.add(region, &p(&format!("tgw-route-{z}")), "aws:ec2:Route", &[rt, &att]);
        }
        tgws.push((region, tgw, att));

        // Shared services.
        let kms = b.add(region, &p("kms"), "aws:kms:Key", &[]);
        let topic = b.add(region, &p("alerts"), "aws:sns:Topic", &[]);
        let db_secret = b.add(region, &p("db-secret"), "aws:secretsmanager:Secret", &[&kms]);
        b.add(region, &p("db-secret-version"), "aws:secretsmanager:SecretVersion", &[&db_secret]);
        let api_secret = b.add(region, &p("api-secret"), "aws:secretsmanager:Secret", &[&kms]);
        b.add(region, &p("api-secret-version"), "aws:secretsmanager:SecretVersion", &[&api_secret]);
        let secrets_policy = b.add(
            region,
            &p("ecs-secrets-policy"),
            "aws:iam:RolePolicy",
            &[&exec_role, &db_secret, &api_secret],
        );

        // Data tier.
        let db_subnets: Vec<&Address> = data.iter().collect();
        let db_sng = b.add(region, &p("db-subnets"), "aws:rds:SubnetGroup", &db_subnets);
        let cache_sng = b.add(region, &p("cache-subnets"), "aws:elasticache:SubnetGroup", &db_subnets);
        let cache_pg = b.add(region, &p("cache-params"), "aws:elasticache:ParameterGroup", &[]);
        let redis = b.add(
            region,
            &p("redis"),
            "aws:elasticache:ReplicationGroup",
            &[&cache_sng, &cache_pg, &redis_sg, &topic, &kms],
        );
        let mut clusters = Vec::new();
        for (k, svc) in ["product", "order", "user"].into_iter().enumerate() {
            let mut deps: Vec<&Address> = vec![&db_sng, &data_sg, &kms, &global_cluster[0]];
            if !primary {
                deps.push(&primary_clusters[k]);
            }
            let cluster = b.add(region, &p(&format!("{svc}-db")), "aws:rds:Cluster", &deps);
            for n in 0..2 {
                b.add(region, &p(&format!("{svc}-db-{n}")), "aws:rds:ClusterInstance", &[&cluster]);
            }
            clusters.push(cluster);
        }
        if primary {
            primary_clusters = clusters.clone();
        }

        // Application tier.
        let alb_logs = b.add(region, &p("alb-logs"), "aws:s3:Bucket", &[]);
        let cert = b.add(region, &p("cert"), "aws:acm:Certificate", &[]);
        let rec = b.add(region, &p("cert-record"), "aws:route53:Record", &[&cert]);
        let cert_ok = b.add(region, &p("cert-validation"), "aws:acm:CertificateValidation", &[&cert, &rec]);
        let alb_deps: Vec<&Address> = [&alb_sg, &alb_logs].into_iter().chain(public.iter()).collect();
        let alb = b.add(region, &p("alb"), "aws:elbv2:LoadBalancer", &alb_deps);
        let tg_web = b.add(region, &p("tg-web"), "aws:elbv2:TargetGroup", &[&vpc]);
        let tg_api = b.add(region, &p("tg-api"), "aws:elbv2:TargetGroup", &[&vpc]);
        b.add(region, &p("http"), "aws:elbv2:Listener", &[&alb]);
        let https = b.add(region, &p("https"), "aws:elbv2:Listener", &[&alb, &cert_ok, &tg_web]);
        b.add(region, &p("api-rule"), "aws:elbv2:ListenerRule", &[&https, &tg_api]);
        let cluster = b.add(region, &p("ecs"), "aws:ecs:Cluster", &[]);
        for (k, svc) in ["product", "order", "user"].into_iter().enumerate() {
            let repo = b.add(region, &p(&format!("{svc}-repo")), "aws:ecr:Repository", &[]);
            let lg = b.add(region, &p(&format!("{svc}-logs")), "aws:logs:LogGroup", &[]);
            let td = b.add(
                region,
                &p(&format!("{svc}-task")),
                "aws:ecs:TaskDefinition",
                &[&exec_role, &task_role, &lg, &repo, &clusters[k], &redis, &db_secret],
            );
            let mut deps: Vec<&Address> =
                vec![&cluster, &td, &tg_api, &https, &app_sg, &exec_attach, &secrets_policy];
            deps.extend(app.iter());
            let service = b.add(region, &p(&format!("{svc}-service")), "aws:ecs:Service", &deps);
            let target =
                b.add(region, &p(&format!("{svc}-scaling")), "aws:appautoscaling:Target", &[&service]);
            b.add(region, &p(&format!("{svc}-cpu")), "aws:appautoscaling:Policy", &[&target]);
        }
        // Web tier on EC2 (the building blocks' launch template and ASG).
        let web_sg = b.add(region, &p("web-sg"), "aws:ec2:SecurityGroup", &[&vpc]);
        let lt = b.add(region, &p("web-lt"), "aws:ec2:LaunchTemplate", &[&web_sg]);
        let asg_deps: Vec<&Address> = [&lt, &tg_web].into_iter().chain(app.iter()).collect();
        let asg = b.add(region, &p("web-asg"), "aws:autoscaling:Group", &asg_deps);
        for dir in ["up", "down"] {
            let pol = b.add(region, &p(&format!("web-scale-{dir}")), "aws:appautoscaling:Policy", &[&asg]);
            b.add(region, &p(&format!("web-cpu-{dir}")), "aws:cloudwatch:MetricAlarm", &[&pol, &topic]);
        }
        b.add(region, &p("dashboard"), "aws:cloudwatch:Dashboard", &[&alb]);
        b.add(region, &p("alb-5xx"), "aws:cloudwatch:MetricAlarm", &[&alb, &topic]);
        albs.push((region, alb));
    }

    // Cross-region: transit gateway peering, and the edge.
    let (r0, tgw0, _) = &tgws[0];
    let (_, tgw1, _) = &tgws[1];
    b.add(r0, "tgw-peering", "aws:ec2:TransitGatewayPeeringAttachment", &[tgw0, tgw1]);
    let alb_refs: Vec<&Address> = albs.iter().map(|(_, a)| a).collect();
    let mut cf_deps: Vec<&Address> = vec![&static_bucket, &oai, &waf, &cf_cert_ok, &cf_logs];
    cf_deps.extend(alb_refs.iter().copied());
    let cf = b.add(g, "cloudfront", "aws:cloudfront:Distribution", &cf_deps);
    b.add(g, "dns-apex", "aws:route53:Record", &[&cf]);
    for (region, alb) in &albs {
        let hc = b.add(g, &format!("{}-health", &region[..2]), "aws:route53:HealthCheck", &[alb]);
        b.add(g, &format!("{}-latency-record", &region[..2]), "aws:route53:Record", &[alb, &hc]);
    }
    b.finish()
}

/// `n` independent security groups.
pub fn independent(n: usize, profile: &Profile) -> Stack {
    let mut b = Builder::new("independent", &["us-east-1"], profile);
    for i in 0..n {
        b.add("us-east-1", &format!("sg-{i:04}"), "aws:ec2:SecurityGroup", &[]);
    }
    b.finish()
}

/// A chain of `n` resources, each depending on the one before.
pub fn chain(n: usize, profile: &Profile) -> Stack {
    const TYPES: [&str; 4] =
        ["aws:ec2:SecurityGroup", "aws:iam:Role", "aws:logs:LogGroup", "aws:ec2:RouteTable"];
    let mut b = Builder::new("chain", &["us-east-1"], profile);
    let mut prev: Option<Address> = None;
    for i in 0..n {
        let deps: Vec<&Address> = prev.iter().collect();
        let a = b.add("us-east-1", &format!("link-{i:03}"), TYPES[i % TYPES.len()], &deps);
        prev = Some(a);
    }
    b.finish()
}

/// `layers` layers of `width` resources of mixed types; each depends on one
/// to three resources of the layer before, chosen by a fixed-seed generator.
pub fn layered(layers: usize, width: usize, profile: &Profile) -> Stack {
    const TYPES: [&str; 8] = [
        "aws:ec2:Subnet",
        "aws:ec2:SecurityGroup",
        "aws:ec2:RouteTable",
        "aws:iam:Role",
        "aws:logs:LogGroup",
        "aws:s3:Bucket",
        "aws:elbv2:TargetGroup",
        "aws:sns:Topic",
    ];
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        usize::try_from(rng % n as u64).unwrap_or(0)
    };
    let mut b = Builder::new("layered", &["us-east-1"], profile);
    let mut prev: Vec<Address> = Vec::new();
    for l in 0..layers {
        let mut this = Vec::with_capacity(width);
        for i in 0..width {
            let ty = TYPES[next(TYPES.len())];
            let deps: Vec<&Address> = if prev.is_empty() {
                Vec::new()
            } else {
                (0..1 + next(3)).map(|_| &prev[next(prev.len())]).collect()
            };
            this.push(b.add("us-east-1", &format!("l{l:02}-{i:03}"), ty, &deps));
        }
        prev = this;
    }
    b.finish()
}
