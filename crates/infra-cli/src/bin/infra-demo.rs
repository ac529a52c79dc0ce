//! A demo stack program on the simulated cloud (feature `sim`): two stacks
//! (dev, prod) of a small network and a database with a password, run
//! against the simulated cloud persisted in `INFRA_SIM_CLOUD`. It shows the
//! command line without an AWS account, and the CLI's tests drive it.
//!
//! ```sh
//! export INFRA_SIM_CLOUD=/tmp/cloud.json
//! cargo run -p infra-cli --features sim --bin infra-demo -- --stack dev apply --yes
//! ```
//!
//! Knobs (environment): `DEMO_SUBNETS` (default 2) changes the number
//! of subnets; `DEMO_DB_SIZE` (default 1) changes the database's size (an
//! update in place); `DEMO_BROKEN=1` declares invalid inputs
//! on three resources.

use std::process::ExitCode;

use infra_aws::ec2::{Subnet, Vpc};
use infra_core::{Options, ProviderConfig, Sensitive, Stack, identifier};
use infra_derive::Resource;
use serde::Serialize;

identifier!(
    /// ID of a demo database.
    DatabaseId
);

/// A database-like resource: `engine` forces replacement, `size` updates in
/// place, `password` is a secret.
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(type = "demo:db:Database", outputs(id: DatabaseId, endpoint: String))]
struct Database {
    #[resource(force_new)]
    engine: String,
    size: i64,
    #[resource(secret)]
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

fn env_num(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn build(name: &str) -> Stack {
    let mut stack = Stack::new(name);
    stack.provider(ProviderConfig::aws("us-east-1"));
    let second = if name == "prod" { 2 } else { 1 };
    let broken = std::env::var_os("DEMO_BROKEN").is_some();
    let vpc = stack.add(
        "vpc",
        Vpc {
            cidr_block: format!("10.{second}.0.0/16"),
            secondary_cidr_blocks: if broken { vec!["10.200.0.0/33".into()] } else { Vec::new() },
            enable_dns_support: true,
            enable_dns_hostnames: true,
            ..Default::default()
        },
    );
    let mut subnets = Vec::new();
    for (i, az) in ["a", "b", "c"].iter().enumerate().take(env_num("DEMO_SUBNETS", 2) as usize) {
        let s = stack.add(
            &format!("subnet-{az}"),
            Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: if broken { "192.168.0.0/24".into() } else { format!("10.{second}.{i}.0/24") },
                availability_zone: format!("us-east-1{az}"),
                map_public_ip_on_launch: false,
                tags: Default::default(),
            },
        );
        subnets.push(s.id());
    }
    stack.add_with(
        "db",
        Database {
            engine: "postgres".into(),
            size: env_num("DEMO_DB_SIZE", 1),
            password: Some("hunter2-not-shown".into()),
        },
        Options::default(),
    );
    stack.export("vpc_id", vpc.id());
    stack.export("subnet_ids", subnets);
    stack.export("db_password", Sensitive("hunter2-not-shown".to_owned()));
    stack
}

fn main() -> ExitCode {
    infra_cli::Program::stacks(["dev", "prod"], build).run()
}
