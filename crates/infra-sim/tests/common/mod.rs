//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use infra_core::{Address, Fields, ProviderConfig, Value};
use infra_engine::provider::{TAG_ADDRESS, TAG_STACK, TAG_TOKEN};
use infra_engine::{CreateRequest, DeleteRequest, FindRequest, UpdateRequest};
use infra_sim::{Profile, RateLimits, SimConfig};

pub const STACK: &str = "prod";

pub fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

pub fn us() -> ProviderConfig {
    ProviderConfig::aws("us-east-1")
}

pub fn eu() -> ProviderConfig {
    ProviderConfig::aws("eu-west-1")
}

/// Scale 1, no API latency, no rate limits, every type `profile`.
pub fn config(profile: Profile) -> SimConfig {
    SimConfig::default()
        .with_profile(profile)
        .with_api_latency(Duration::ZERO)
        .with_rate_limits(RateLimits::unlimited())
}

pub fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

pub fn tags(address: &str, token: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_STACK.to_owned(), STACK.to_owned()),
        (TAG_ADDRESS.to_owned(), address.to_owned()),
        (TAG_TOKEN.to_owned(), token.to_owned()),
    ])
}

pub fn create(address: &str, token: &str, inputs: Fields) -> CreateRequest {
    CreateRequest { address: addr(address), inputs, token: token.to_owned(), tags: tags(address, token) }
}

pub fn update(address: &str, id: &str, before: Fields, after: Fields) -> UpdateRequest {
    let changed = after.keys().filter(|k| before.get(*k) != after.get(*k)).cloned().collect();
    UpdateRequest {
        address: addr(address),
        id: id.to_owned(),
        before,
        after,
        changed,
        token: format!("u-{id}"),
    }
}

pub fn delete(address: &str, id: &str) -> DeleteRequest {
    DeleteRequest {
        address: addr(address),
        id: id.to_owned(),
        inputs: Fields::new(),
        token: format!("d-{id}"),
    }
}

pub fn find(address: &str, token: &str) -> FindRequest {
    FindRequest {
        address: addr(address),
        token: token.to_owned(),
        tags: tags(address, token),
        inputs: Default::default(),
    }
}
