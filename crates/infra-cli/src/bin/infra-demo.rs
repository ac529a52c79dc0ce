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
use std::time::Duration;

use infra_cli::providers::Sim;
use infra_sim::{Profile, SimConfig, TypeProfile};

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
    // The database takes as long as a real one: the create call returns
    // after a minute, and it becomes available eight minutes later (scaled
    // by INFRA_SIM_TIME_SCALE).
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let profile = Profile::seed().with_type(
        "demo:db:Database",
        TypeProfile::new("db").create(minutes(1)).ready(minutes(8)).update(minutes(1)).delete(minutes(4)),
    );
    let providers = match Sim::from_env_with(SimConfig::default().with_profile(profile)) {
        Ok(Some(sim)) => sim,
        Ok(None) => {
            eprintln!("Error: set INFRA_SIM_CLOUD to the file the simulated cloud is kept in");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(1);
        }
    };
    infra_cli::Program::stacks(["dev", "prod"], build).providers(providers).run()
}
