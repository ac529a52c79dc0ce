//! `infra`: typed infrastructure as code for AWS, in Rust.
//!
//! A stack program declares typed resources, wires them with typed outputs
//! and hands the stack to the engine, which plans the difference against the
//! recorded state and applies it.
//!
//! ```
//! use infra::prelude::*;
//! use infra::aws::ec2::{Subnet, Vpc};
//!
//! let mut stack = Stack::new("dev");
//! stack.provider(ProviderConfig::aws("us-east-1"));
//! let vpc = stack.add("vpc", Vpc {
//!     cidr_block: "10.1.0.0/16".into(),
//!     enable_dns_support: true,
//!     enable_dns_hostnames: true,
//!     ..Default::default()
//! });
//! let subnet = stack.add("public-a", Subnet {
//!     vpc_id: vpc.id().into(),
//!     cidr_block: "10.1.1.0/24".into(),
//!     availability_zone: "us-east-1a".into(),
//!     map_public_ip_on_launch: true,
//!     tags: Default::default(),
//! });
//! stack.export("subnet_id", subnet.id());
//! assert!(stack.validate().is_ok());
//! ```

/// The pure core: resource model, values, graph, state model, planner.
pub use infra_core as core;

/// Typed AWS resources.
pub use infra_aws as aws;

/// The command line every stack program gets: `infra::cli::run(stack)`.
pub use infra_cli as cli;

/// The engine: previews, runs, the executor, refresh and import.
pub use infra_engine as engine;

/// State persistence: formats, backends and locks.
pub use infra_state as state;

/// The team state backend: S3 objects with a leased, fenced DynamoDB lock
/// (feature `state-s3`).
#[cfg(feature = "state-s3")]
pub use infra_state_s3 as state_s3;

pub use infra_core::{identifier, interpolate};
pub use infra_derive::Resource;

/// What a stack author needs: `use infra::prelude::*;`.
pub mod prelude {
    pub use infra_core::{
        Address, Handle, Identifier, Input, JsonEncoded, OnDelete, Options, Output, ProviderConfig,
        ProviderKey, Resource, Scope, Sensitive, Stack, Template, Value,
    };
    pub use infra_core::{identifier, interpolate};
    pub use infra_derive::Resource;
}

/// The README's examples are compiled and run as doctests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
