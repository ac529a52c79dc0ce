//! `infra-sim`: an in-memory simulated AWS-like cloud.
//!
//! A [`SimCloud`] holds resources by generated ID and implements the
//! engine's provider contract through [`SimProvider`] (one per provider
//! instance and resource type; [`sim_registry`] builds a whole
//! [`Registry`](infra_engine::Registry)). It simulates what makes applying a
//! plan against a real cloud hard:
//!
//! - **latency**: an API round trip per call, per-type create, update and
//!   delete latencies, and a time to ready after create and update
//!   ([`Profile::seed`] has realistic figures for the seed architecture);
//! - **rate limits**: a token bucket per (provider instance, [`ApiClass`]),
//!   answering `Throttled` (`RequestLimitExceeded`) when empty, as AWS does;
//! - **eventual consistency**: a new ID is unknown to creates and updates
//!   that mention it for a configurable window (`InvalidID.NotFound`);
//! - **failures**: [`FailureRule`]s fail the next N matching calls;
//! - **crashes**: a create inserts its resource before it returns, and a
//!   [`SimCloud::persisted`] cloud is written to disk atomically after every
//!   change, so a process killed at any instant leaves a cloud the next run
//!   must reconcile with (and can [`find`](infra_engine::ResourceProvider::find)
//!   by idempotency token);
//! - **drift**: [`SimCloud::delete_outside`], [`SimCloud::set_input_outside`].
//!
//! All timing uses `tokio::time`, so tests and benchmarks can run under
//! paused virtual time (`#[tokio::test(start_paused = true)]`) and the
//! [`SimConfig::time_scale`] compresses realistic timings when they run on
//! the real clock. The [`SimCloud::call_log`] records every call in order
//! for assertions. See `docs/simulated-provider.md`.
//!
//! This crate is for tests and benchmarks only; nothing a stack author
//! builds depends on it.
//!
//! [`ApiClass`]: infra_engine::ApiClass

mod bucket;
mod cloud;
mod config;
mod error;
mod profile;
mod provider;

pub use cloud::{CallOutcome, CallRecord, SimCloud, SimResource, SimStatus};
pub use config::{FailureRule, RateLimit, RateLimits, SimConfig};
pub use error::Error;
pub use profile::{Profile, TypeProfile, service_of};
pub use provider::{SimProvider, sim_instance, sim_registry};
