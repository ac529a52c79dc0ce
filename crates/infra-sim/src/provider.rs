//! [`SimProvider`]: the engine's provider contract over a [`SimCloud`].

use async_trait::async_trait;
use infra_core::{Address, Fields, ProviderConfig};
use infra_engine::{
    ApiClass, CreateRequest, DeleteRequest, Deletion, ErrorKind, FindRequest, Observed, Operation,
    PollRequest, ProviderError, ProviderInstance, ReadRequest, ReadResponse, Readiness, Registry,
    ResourceProvider, Timings, UpdateRequest,
};
use std::sync::Arc;
use std::time::Duration;

use crate::cloud::{CallGuard, CallStart, SimCloud, pause};

/// One resource type in one provider instance of a [`SimCloud`].
///
/// Every call is logged, then subject to the failure rules, then takes a
/// token from the rate bucket of its [`ApiClass`] in its provider instance
/// (failing with `Throttled`/`RequestLimitExceeded` when there is none: it
/// does not wait), then takes the API round trip before the cloud acts.
/// Rejected calls (injected failures, throttling) answer at once.
#[derive(Debug, Clone)]
pub struct SimProvider {
    cloud: SimCloud,
    config: ProviderConfig,
    type_name: String,
}

impl SimProvider {
    /// The provider of `type_name` in the instance `config` of `cloud`.
    pub fn new(cloud: &SimCloud, config: ProviderConfig, type_name: &str) -> Self {
        SimProvider { cloud: cloud.clone(), config, type_name: type_name.to_owned() }
    }

    /// The type it implements.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The provider instance it belongs to.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The cloud it talks to.
    pub fn cloud(&self) -> &SimCloud {
        &self.cloud
    }

    fn begin(
        &self,
        operation: Operation,
        address: Option<&Address>,
        id: Option<&str>,
        ids: Vec<String>,
        find: bool,
    ) -> Result<CallGuard, ProviderError> {
        self.cloud.begin(CallStart {
            operation,
            find,
            type_name: self.type_name.clone(),
            provider: self.config.key.clone(),
            api_class: self.api_class(operation),
            address: address.cloned(),
            id: id.map(str::to_owned),
            ids,
        })
    }

    /// How long a staged delete's disabling takes to deploy.
    fn deploy_time(&self) -> Duration {
        let config = self.cloud.config();
        config.scaled(config.profile.get(&self.type_name).ready_after_update)
    }

    /// A staged delete's status while the disabling deploys.
    fn disabling(&self, since: Duration) -> String {
        let deploy = self.deploy_time();
        if since >= deploy {
            "disabled: Deployed".to_owned()
        } else {
            format!("disabling: InProgress ({}s of about {}s)", since.as_secs(), deploy.as_secs())
        }
    }

    /// The delete call proper: marks the resource deleting as soon as the
    /// request arrives; it is removed after the delete latency, even when
    /// the caller is dropped meanwhile (the cloud finishes what it
    /// accepted).
    async fn finish_delete(&self, address: Option<&Address>, id: &str) -> Result<Deletion, ProviderError> {
        let call = self.begin(Operation::Delete, address, Some(id), Vec::new(), false)?;
        self.cloud.round_trip().await;
        if let Err(e) = self.cloud.mark_deleting(&self.config.key, &self.type_name, id) {
            return call.complete(Err(e));
        }
        let config = self.cloud.config();
        let latency = config.scaled(config.profile.get(&self.type_name).delete);
        let cloud = self.cloud.clone();
        let id = id.to_owned();
        let finish = async move {
            pause(latency).await;
            cloud.remove(&id)
        };
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn(finish).await {
                Ok(result) => result,
                Err(e) => {
                    Err(ProviderError::new(ErrorKind::Transient, format!("simulated delete failed: {e}")))
                }
            },
            Err(_) => finish.await,
        };
        call.complete(result.map(|()| Deletion::Gone))
    }
}

#[async_trait]
impl ResourceProvider for SimProvider {
    fn api_class(&self, op: Operation) -> ApiClass {
        self.cloud.config().profile.api_class(&self.type_name, op)
    }

    fn timings(&self) -> Timings {
        let config = self.cloud.config();
        let p = config.profile.get(&self.type_name);
        Timings {
            create: config.scaled(p.create).saturating_add(config.scaled(p.ready_after_create)),
            update: config.scaled(p.update).saturating_add(config.scaled(p.ready_after_update)),
            delete: config.scaled(p.delete),
            poll_interval: config.scaled(p.poll_interval),
            timeout: config.scaled(p.timeout),
        }
    }

    /// Inserts the resource (and persists the cloud) as soon as the request
    /// arrives, then takes the create latency: a caller dropped meanwhile
    /// leaves the resource in the cloud. A token seen before in this
    /// instance returns the resource it made.
    async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
        let call = self.begin(Operation::Create, Some(&req.address), None, Vec::new(), false)?;
        self.cloud.round_trip().await;
        let result = self.cloud.create_record(&self.config, &self.type_name, &req);
        let result = match result {
            Ok((observed, fresh)) => {
                call.set_id(&observed.id);
                if fresh {
                    let config = self.cloud.config();
                    pause(config.scaled(config.profile.get(&self.type_name).create)).await;
                }
                Ok(observed)
            }
            Err(e) => Err(e),
        };
        call.complete(result)
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let single = match req.ids.as_slice() {
            [id] => Some(id.as_str()),
            _ => None,
        };
        let call = self.begin(Operation::Read, None, single, req.ids.clone(), false)?;
        self.cloud.round_trip().await;
        let found = self.cloud.read_records(&self.config.key, &self.type_name, &req.ids);
        call.complete(Ok(ReadResponse { found }))
    }

    /// Applies the new inputs as soon as the request arrives, then takes the
    /// update latency.
    async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
        let call = self.begin(Operation::Update, Some(&req.address), Some(&req.id), Vec::new(), false)?;
        self.cloud.round_trip().await;
        let result = self.cloud.update_record(&self.config.key, &self.type_name, &req);
        if result.is_ok() {
            let config = self.cloud.config();
            pause(config.scaled(config.profile.get(&self.type_name).update)).await;
        }
        call.complete(result)
    }

    /// Marks the resource deleting as soon as the request arrives; it is
    /// removed after the delete latency, even when the caller is dropped
    /// meanwhile (the cloud finishes what it accepted).
    async fn delete(&self, req: DeleteRequest) -> Result<Deletion, ProviderError> {
        let staged = self.cloud.config().profile.get(&self.type_name).disable_before_delete;
        if !staged {
            return self.finish_delete(Some(&req.address), &req.id).await;
        }
        // Disable (an update call), unless an earlier run did (then a
        // read); the wait for the change to deploy is the executor's delete
        // wait.
        let op = if self.cloud.disabled(&req.id) { Operation::Poll } else { Operation::Update };
        let call = self.begin(op, Some(&req.address), Some(&req.id), Vec::new(), false)?;
        self.cloud.round_trip().await;
        let since = self.cloud.disable(&self.config.key, &self.type_name, &req.id).map(|(since, _)| since);
        let status = since.map(|since| self.disabling(since));
        let status = call.complete(status)?;
        Ok(Deletion::Pending { status })
    }

    /// A staged delete's wait: pending while the disabling deploys, then
    /// the delete proper. Other types: a read of the one ID.
    async fn poll_deleted(&self, req: PollRequest) -> Result<Deletion, ProviderError> {
        let staged = self.cloud.config().profile.get(&self.type_name).disable_before_delete;
        let call = self.begin(Operation::Poll, None, Some(&req.id), Vec::new(), false)?;
        self.cloud.round_trip().await;
        if !staged {
            let found =
                self.cloud.read_records(&self.config.key, &self.type_name, std::slice::from_ref(&req.id));
            let answer = if found.is_empty() {
                Deletion::Gone
            } else {
                Deletion::Pending { status: "deleting".into() }
            };
            return call.complete(Ok(answer));
        }
        let since = match self.cloud.disable(&self.config.key, &self.type_name, &req.id) {
            Err(e) if e.kind == ErrorKind::NotFound => return call.complete(Ok(Deletion::Gone)),
            other => call.complete(other)?.0,
        };
        if since < self.deploy_time() {
            return Ok(Deletion::Pending { status: self.disabling(since) });
        }
        let address = self.cloud.address_of(&req.id);
        self.finish_delete(address.as_ref(), &req.id).await
    }

    async fn poll(&self, req: PollRequest) -> Result<Readiness, ProviderError> {
        let id = req.id.as_str();
        let call = self.begin(Operation::Poll, None, Some(id), Vec::new(), false)?;
        self.cloud.round_trip().await;
        let result = self.cloud.readiness(&self.config.key, &self.type_name, id);
        call.complete(result)
    }

    /// Logged as a read (`find` set in the call log).
    async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
        let call = self.begin(Operation::Read, Some(&req.address), None, Vec::new(), true)?;
        self.cloud.round_trip().await;
        let found = self.cloud.find_record(&self.config.key, &self.type_name, &req);
        if let Some(observed) = &found {
            call.set_id(&observed.id);
        }
        call.complete(Ok(found))
    }
}

/// A provider instance for `config` implementing `types` over `cloud`.
pub fn sim_instance(cloud: &SimCloud, config: ProviderConfig, types: &[&str]) -> ProviderInstance {
    let mut instance = ProviderInstance::new(config.clone());
    for type_name in types {
        instance.register(type_name, Arc::new(SimProvider::new(cloud, config.clone(), type_name)));
    }
    instance
}

/// A registry with one instance per config, each implementing `types` over
/// `cloud`.
pub fn sim_registry(cloud: &SimCloud, configs: &[ProviderConfig], types: &[&str]) -> Registry {
    let mut registry = Registry::new();
    for config in configs {
        registry.insert(sim_instance(cloud, config.clone(), types));
    }
    registry
}
