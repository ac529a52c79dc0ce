//! The seed architecture's production stack, in two regions.
//!
//! What exists so far: the network layer of both regions (three tiers over
//! three availability zones, internet gateway, one NAT gateway per zone,
//! route tables and security groups per tier, a transit gateway per region
//! joined by a cross-region peering). Run it to see the plan against an
//! empty state and the dependency graph:
//!
//! ```sh
//! cargo run --example prod_multi_region            # the plan
//! cargo run --example prod_multi_region -- graph   # Graphviz DOT
//! ```

use anyhow::Result;
use infra::aws::components::{ThreeTierVpcConfig, two_region_network};
use infra::core::State;
use infra::core::plan::render::{RenderOptions, render};
use infra::core::plan::{PlanOptions, plan};
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
    stack
}

fn main() -> Result<()> {
    let stack = stack();
    let graph = stack.validate()?;
    if std::env::args().nth(1).as_deref() == Some("graph") {
        print!("{}", graph.to_dot());
        return Ok(());
    }
    let state = State::new("(none yet)", "");
    let p = plan(&stack, &state, &PlanOptions::default())?;
    print!("{}", render(&p, RenderOptions::default()));
    Ok(())
}
