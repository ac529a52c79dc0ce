//! The seed architecture's production stack, in two regions.
//!
//! What exists so far: the network layer of both regions (three tiers over
//! three availability zones, internet gateway, one NAT gateway per zone,
//! route tables and security groups per tier, a transit gateway per region
//! joined by a cross-region peering). It is an ordinary stack program, so
//! it has every subcommand:
//!
//! ```sh
//! cargo run --example prod_multi_region -- plan
//! cargo run --example prod_multi_region -- apply --yes
//! cargo run --example prod_multi_region -- output
//! cargo run --example prod_multi_region -- graph      # Graphviz DOT
//! ```
//!
//! Credentials, region endpoints and profiles come from the standard AWS
//! chain (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, …); `scripts/demo` runs it
//! against the emulator on loopback.

use std::process::ExitCode;

use infra::aws::components::{ThreeTierVpcConfig, two_region_network};
use infra::prelude::*;

/// Builds the production stack.
pub fn stack() -> Stack {
    let mut stack = Stack::new("prod");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
    let net = two_region_network(
        &mut stack,
        ("us", &us, &ThreeTierVpcConfig::seed("prod-us", "us-east-1", 1)),
        ("eu", &eu, &ThreeTierVpcConfig::seed("prod-eu", "eu-west-1", 2)),
    );
    stack.export("us_vpc_id", net.primary.vpc.vpc.id());
    stack.export("eu_vpc_id", net.secondary.vpc.vpc.id());
    stack.export("us_transit_gateway_id", net.primary.transit_gateway.id());
    stack.export("eu_transit_gateway_id", net.secondary.transit_gateway.id());
    stack.export("tgw_peering_attachment_id", net.peering.id());
    stack
}

fn main() -> ExitCode {
    infra::cli::run(stack())
}
