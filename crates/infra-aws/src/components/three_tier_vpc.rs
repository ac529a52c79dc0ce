//! A VPC with public, private-app and private-data subnets over several
//! availability zones, an internet gateway, one NAT gateway per zone, route
//! tables per tier and a security group per tier (the seeds' `vpc` module).

use std::collections::BTreeMap;

use infra_core::{Handle, Input, Scope};

use crate::ec2::{
    ElasticIp, InternetGateway, NatGateway, Route, RouteTable, RouteTableAssociation, SecurityGroup,
    SecurityGroupRuleSpec, Subnet, Vpc,
};
use crate::ids::SubnetId;

/// Inputs of [`three_tier_vpc`].
#[derive(Debug, Clone)]
pub struct ThreeTierVpcConfig {
    /// Name prefix for names and `Name` tags, e.g. `prod-us`.
    pub name: String,
    /// The VPC's CIDR block.
    pub cidr_block: String,
    /// Availability zones, one subnet per tier in each.
    pub availability_zones: Vec<String>,
    /// Public subnets' CIDR blocks, one per zone.
    pub public_cidrs: Vec<String>,
    /// Private application subnets' CIDR blocks, one per zone.
    pub app_cidrs: Vec<String>,
    /// Private data subnets' CIDR blocks, one per zone.
    pub data_cidrs: Vec<String>,
    /// The port the application tier listens on.
    pub app_port: i32,
    /// Ports the data tier accepts from the application tier.
    pub data_ports: Vec<i32>,
    /// Tags for every resource.
    pub tags: BTreeMap<String, String>,
}

impl ThreeTierVpcConfig {
    /// The seeds' allocation for `10.<octet>.0.0/16` in `region`: public
    /// `10.<octet>.1-3.0/24`, app `10.<octet>.10-12.0/24`, data
    /// `10.<octet>.20-22.0/24`, over zones a, b and c.
    pub fn seed(name: &str, region: &str, octet: u8) -> Self {
        let block = |start: u8| (0..3).map(|i| format!("10.{octet}.{}.0/24", start + i)).collect();
        ThreeTierVpcConfig {
            name: name.to_owned(),
            cidr_block: format!("10.{octet}.0.0/16"),
            availability_zones: ["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect(),
            public_cidrs: block(1),
            app_cidrs: block(10),
            data_cidrs: block(20),
            app_port: 8080,
            data_ports: vec![5432, 6379],
            tags: BTreeMap::new(),
        }
    }
}

/// The handles a three-tier VPC exposes.
#[derive(Debug, Clone)]
pub struct ThreeTierVpc {
    pub vpc: Handle<Vpc>,
    pub internet_gateway: Handle<InternetGateway>,
    pub public_subnets: Vec<Handle<Subnet>>,
    pub app_subnets: Vec<Handle<Subnet>>,
    pub data_subnets: Vec<Handle<Subnet>>,
    pub nat_gateways: Vec<Handle<NatGateway>>,
    /// The application tier's route tables, one per zone.
    pub app_route_tables: Vec<Handle<RouteTable>>,
    pub alb_security_group: Handle<SecurityGroup>,
    pub app_security_group: Handle<SecurityGroup>,
    pub data_security_group: Handle<SecurityGroup>,
}

impl ThreeTierVpc {
    /// IDs of the public subnets (for a load balancer).
    pub fn public_subnet_ids(&self) -> Vec<Input<SubnetId>> {
        self.public_subnets.iter().map(|s| s.id().into()).collect()
    }

    /// IDs of the application subnets (for ECS services).
    pub fn app_subnet_ids(&self) -> Vec<Input<SubnetId>> {
        self.app_subnets.iter().map(|s| s.id().into()).collect()
    }

    /// IDs of the data subnets (for database and cache subnet groups).
    pub fn data_subnet_ids(&self) -> Vec<Input<SubnetId>> {
        self.data_subnets.iter().map(|s| s.id().into()).collect()
    }
}

/// Adds a three-tier VPC under `scope.<name>`. Mismatched list lengths and
/// invalid CIDRs or zones are reported by stack validation with addresses.
pub fn three_tier_vpc(scope: &mut Scope<'_>, name: &str, cfg: &ThreeTierVpcConfig) -> ThreeTierVpc {
    let mut s = scope.scope(name);
    let zones = cfg.availability_zones.len();
    for (field, list) in
        [("public_cidrs", &cfg.public_cidrs), ("app_cidrs", &cfg.app_cidrs), ("data_cidrs", &cfg.data_cidrs)]
    {
        if list.len() != zones {
            s.error(format!("{field} has {} blocks for {zones} availability zones", list.len()));
        }
    }
    let tags = |suffix: &str| {
        let mut t = cfg.tags.clone();
        t.insert("Name".into(), format!("{}-{suffix}", cfg.name));
        t
    };
    let vpc = s.add(
        "vpc",
        Vpc {
            cidr_block: cfg.cidr_block.clone(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: tags("vpc"),
            ..Default::default()
        },
    );
    let igw = s.add("igw", InternetGateway { vpc_id: Some(vpc.id().into()), tags: tags("igw") });

    let zone_letter = |az: &str| az.chars().last().map(String::from).unwrap_or_default();
    let subnets = |tier: &str, cidrs: &[String], public: bool, s: &mut Scope<'_>| -> Vec<Handle<Subnet>> {
        cfg.availability_zones
            .iter()
            .zip(cidrs)
            .map(|(az, cidr)| {
                let suffix = format!("{tier}-{}", zone_letter(az));
                s.add(
                    &suffix,
                    Subnet {
                        vpc_id: vpc.id().into(),
                        cidr_block: cidr.clone(),
                        availability_zone: az.clone(),
                        map_public_ip_on_launch: public,
                        tags: tags(&suffix),
                    },
                )
            })
            .collect()
    };
    let public_subnets = subnets("public", &cfg.public_cidrs, true, &mut s);
    let app_subnets = subnets("app", &cfg.app_cidrs, false, &mut s);
    let data_subnets = subnets("data", &cfg.data_cidrs, false, &mut s);

    // Public tier: one route table with a default route to the internet gateway.
    let public_rt = s.add("public-rt", RouteTable { vpc_id: vpc.id().into(), tags: tags("public-rt") });
    s.add(
        "public-default-route",
        Route {
            route_table_id: public_rt.id().into(),
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: Some(igw.id().into()),
            nat_gateway_id: None,
            transit_gateway_id: None,
            vpc_peering_connection_id: None,
        },
    );
    for subnet in &public_subnets {
        s.add(
            &format!("{}-assoc", subnet.address().name()),
            RouteTableAssociation { route_table_id: public_rt.id().into(), subnet_id: subnet.id().into() },
        );
    }

    // App tier: a NAT gateway per zone, and a route table per zone through it.
    let mut nat_gateways = Vec::new();
    let mut app_route_tables = Vec::new();
    for (public, app) in public_subnets.iter().zip(&app_subnets) {
        let letter = zone_letter(public.address().name());
        let eip = s.add(&format!("nat-eip-{letter}"), ElasticIp { tags: tags(&format!("nat-eip-{letter}")) });
        let nat = s.add(
            &format!("nat-{letter}"),
            NatGateway {
                subnet_id: public.id().into(),
                allocation_id: Some(eip.id().into()),
                connectivity_type: None,
                tags: tags(&format!("nat-{letter}")),
            },
        );
        let rt = s.add(
            &format!("app-rt-{letter}"),
            RouteTable { vpc_id: vpc.id().into(), tags: tags(&format!("app-rt-{letter}")) },
        );
        s.add(
            &format!("app-default-route-{letter}"),
            Route {
                route_table_id: rt.id().into(),
                destination_cidr_block: "0.0.0.0/0".into(),
                gateway_id: None,
                nat_gateway_id: Some(nat.id().into()),
                transit_gateway_id: None,
                vpc_peering_connection_id: None,
            },
        );
        s.add(
            &format!("{}-assoc", app.address().name()),
            RouteTableAssociation { route_table_id: rt.id().into(), subnet_id: app.id().into() },
        );
        nat_gateways.push(nat);
        app_route_tables.push(rt);
    }

    // Data tier: no route to the internet.
    let data_rt = s.add("data-rt", RouteTable { vpc_id: vpc.id().into(), tags: tags("data-rt") });
    for subnet in &data_subnets {
        s.add(
            &format!("{}-assoc", subnet.address().name()),
            RouteTableAssociation { route_table_id: data_rt.id().into(), subnet_id: subnet.id().into() },
        );
    }

    // Security groups per tier.
    let sg = |s: &mut Scope<'_>, tier: &str, ingress: Vec<SecurityGroupRuleSpec>| {
        s.add(
            &format!("{tier}-sg"),
            SecurityGroup {
                name: format!("{}-{tier}", cfg.name),
                description: format!("{tier} tier of {}", cfg.name),
                vpc_id: vpc.id().into(),
                ingress,
                egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                tags: tags(&format!("{tier}-sg")),
            },
        )
    };
    let alb_sg = sg(
        &mut s,
        "alb",
        vec![
            SecurityGroupRuleSpec::tcp_from_cidrs(80, &["0.0.0.0/0"]),
            SecurityGroupRuleSpec::tcp_from_cidrs(443, &["0.0.0.0/0"]),
        ],
    );
    let app_sg =
        sg(&mut s, "app", vec![SecurityGroupRuleSpec::tcp_from_groups(cfg.app_port, &[alb_sg.id()])]);
    let data_ingress =
        cfg.data_ports.iter().map(|p| SecurityGroupRuleSpec::tcp_from_groups(*p, &[app_sg.id()])).collect();
    let data_sg = sg(&mut s, "data", data_ingress);

    ThreeTierVpc {
        vpc,
        internet_gateway: igw,
        public_subnets,
        app_subnets,
        data_subnets,
        nat_gateways,
        app_route_tables,
        alb_security_group: alb_sg,
        app_security_group: app_sg,
        data_security_group: data_sg,
    }
}
