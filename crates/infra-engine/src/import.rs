//! Import: bring a resource that already exists in the cloud under
//! management, at a declared address, by its cloud ID. The resource is read
//! through the provider of the declared type and recorded as the cloud
//! reports it, so the next plan shows exactly what differs from the
//! declaration (nothing, when they agree).

use std::sync::Arc;
use std::time::Duration;

use infra_core::{Address, ResourceState, Stack, State};
use infra_state::Backend;

use crate::error::Error;
use crate::provider::{ReadRequest, Registry};
use crate::store::StateStore;

/// Reads `id` through the provider of `address`'s declared type and records
/// it in the store's state.
pub async fn import_into(
    registry: &Registry,
    stack: &Stack,
    store: &StateStore,
    address: &Address,
    id: &str,
) -> Result<(), Error> {
    let decl = stack.resource(address).ok_or_else(|| Error::NotDeclared { address: address.clone() })?;
    if store.read(|s| s.resources.contains_key(address)) {
        return Err(Error::AlreadyManaged { address: address.clone() });
    }
    if let Some(problem) = decl.schema.check_id.and_then(|check| check(id)) {
        return Err(Error::ImportWrongId { address: address.clone(), id: id.to_owned(), problem });
    }
    let provider_key = decl.provider.clone().unwrap_or_else(|| infra_core::ProviderKey(String::new()));
    if let Some(other) = store.read(|s| s.address_of(&provider_key, decl.schema.type_name, id)) {
        return Err(Error::ManagedElsewhere { address: address.clone(), id: id.to_owned(), other });
    }
    let provider =
        registry.resource(&provider_key, decl.schema.type_name).ok_or_else(|| Error::NoProvider {
            address: address.clone(),
            provider: provider_key.to_string(),
            type_name: decl.schema.type_name.to_owned(),
        })?;
    let response = provider
        .read(ReadRequest::new(vec![id.to_owned()]))
        .await
        .map_err(|error| Error::Read { address: address.clone(), error })?;
    let observed = response.found.get(id).cloned().ok_or_else(|| Error::ImportNotFound {
        address: address.clone(),
        id: id.to_owned(),
        type_name: decl.schema.type_name.to_owned(),
    })?;
    let region = registry.instance(&provider_key).map(|i| i.config.region.clone()).unwrap_or_default();
    let key = store.read(State::secret_key_bytes);
    let inputs = decl
        .schema
        .mark_secrets_like(&observed.inputs, &decl.inputs)
        .into_iter()
        .map(|(k, v)| (k, v.seal(&key)))
        .collect();
    let resource = ResourceState {
        type_name: decl.schema.type_name.to_owned(),
        provider: provider_key,
        region,
        id: observed.id.clone(),
        inputs,
        outputs: observed.outputs.clone(),
        dependencies: decl.dependencies(),
        protect: decl.options.protect,
        retain_on_delete: decl.options.retain_on_delete,
        keeps_data: decl.schema.keeps_data.map(Into::into),
        waiting: false,
    };
    let address = address.clone();
    store
        .commit(|s| {
            s.resources.insert(address, resource);
        })
        .await
}

/// Imports under the stack's lock, as one operation (the serial advances
/// once).
pub async fn import(
    registry: &Registry,
    backend: Arc<dyn Backend>,
    stack: &Stack,
    address: &Address,
    id: &str,
    lock_timeout: Duration,
) -> Result<State, Error> {
    StateStore::locked(backend, stack.name(), "import", lock_timeout, async |store| {
        import_into(registry, stack, store, address, id).await
    })
    .await
    .map(|((), state)| state)
}
