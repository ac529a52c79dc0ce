//! State format version 1, the first one (read only; upgraded on load).
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "lineage": "…", "serial": 3, "secret_key": "<hex>",
//!   "resources": [ { "address", "type", "region", "id", "inputs", "outputs", "dependencies" } ],
//!   "outputs": { … }
//! }
//! ```
//!
//! Compared with version 2: resources are a list, the provider is recorded
//! only as a region, there are no pending operations and no
//! `protect`/`retain_on_delete` flags. [`StateFileV1::upgrade`] turns it
//! into version 2.

use std::collections::BTreeMap;

use infra_core::{Address, Fields, Value};
use serde::{Deserialize, Serialize};

use super::v2::{ResourceV2, StateFileV2};
use crate::Error;

/// A whole state file in format version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFileV1 {
    /// Always [`StateFileV1::VERSION`].
    pub format_version: u32,
    /// Random ID given to the state when it was created.
    pub lineage: String,
    /// Incremented once per committed operation.
    pub serial: u64,
    /// Hex key of the HMAC that digests secret inputs.
    pub secret_key: String,
    /// Managed resources, each naming its own address.
    pub resources: Vec<ResourceV1>,
    /// Exported stack outputs.
    pub outputs: BTreeMap<String, Value>,
}

/// One managed resource in format version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceV1 {
    /// The resource's address in the stack.
    pub address: Address,
    /// The resource type, e.g. `aws:ec2:Vpc`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The AWS region it was created in (the only provider information v1
    /// kept).
    pub region: String,
    /// The cloud's ID for the resource.
    pub id: String,
    /// Inputs as last applied or read.
    pub inputs: Fields,
    /// Outputs as last applied or read.
    pub outputs: Fields,
    /// Addresses of the resources it depended on.
    pub dependencies: Vec<Address>,
}

impl StateFileV1 {
    /// The `format_version` of this format.
    pub const VERSION: u32 = 1;

    /// Upgrades to version 2: resources keyed by address, provider
    /// `aws.<region>`, no pending operations, `protect` and
    /// `retain_on_delete` false. Two resources with the same address make
    /// the file [`Error::Corrupt`] (`location` names it) rather than
    /// silently dropping one.
    pub fn upgrade(self, location: &str) -> Result<StateFileV2, Error> {
        let mut resources = BTreeMap::new();
        for r in self.resources {
            let ResourceV1 { address, type_name, region, id, inputs, outputs, dependencies } = r;
            let problem = if region.is_empty() {
                Some(format!("resource {:?} has an empty region", address.as_str()))
            } else if resources.contains_key(&address) {
                Some(format!("resource address {:?} appears more than once", address.as_str()))
            } else {
                None
            };
            if let Some(reason) = problem {
                return Err(Error::Corrupt { location: location.to_owned(), reason });
            }
            let upgraded = ResourceV2 {
                type_name,
                provider: format!("aws.{region}"),
                region,
                id,
                inputs,
                outputs,
                dependencies: dependencies.into_iter().collect(),
                protect: false,
                retain_on_delete: false,
                // Format 1 held network resources only: none holds data.
                keeps_data: None,
                waiting: false,
            };
            resources.insert(address, upgraded);
        }
        Ok(StateFileV2 {
            format_version: StateFileV2::VERSION,
            lineage: self.lineage,
            serial: self.serial,
            secret_key: self.secret_key,
            resources,
            outputs: self.outputs,
            pending: Vec::new(),
            deposed: Vec::new(),
        })
    }
}
