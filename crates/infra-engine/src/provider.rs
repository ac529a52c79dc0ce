//! The provider interface: how the engine talks to a cloud.
//!
//! A provider *instance* is bound to one account and region (a
//! [`ProviderConfig`]); it holds one [`ResourceProvider`] per resource type
//! it implements. Every operation has its own request and response types
//! and returns a [`ProviderError`] whose [`ErrorKind`] tells the executor
//! whether to retry (throttling, eventual consistency, 5xx), give up, or
//! treat the outcome specially (not found, conflict).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use infra_core::{Address, Fields, ProviderConfig, ProviderKey};
use serde::{Deserialize, Serialize};

/// What went wrong, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The API's rate limit was hit (`Throttling`, `RequestLimitExceeded`).
    Throttled,
    /// Something just created is not visible yet (`InvalidVpcID.NotFound`
    /// right after CreateVpc), or a dependency is still being torn down
    /// (`DependencyViolation` while a NAT gateway finishes deleting).
    EventualConsistency,
    /// A server-side or network failure (5xx, timeout, connection reset).
    Transient,
    /// The call carried a version of the resource that is no longer
    /// current (a stale ETag: `PreconditionFailed`; a stale lock token:
    /// `WAFOptimisticLockException`). Retried: the provider reads the
    /// current version again on the next attempt.
    Stale,
    /// The resource does not exist.
    NotFound,
    /// The request conflicts with the resource's current state or another
    /// resource (a name already taken, an invalid state transition).
    Conflict,
    /// Anything else: invalid input, access denied, quota exceeded.
    Final,
}

impl ErrorKind {
    /// True for the kinds worth retrying with backoff.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::EventualConsistency | ErrorKind::Transient | ErrorKind::Stale
        )
    }
}

/// A failed provider call, with what the user needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The cloud's error code, e.g. `InvalidParameterValue`.
    pub code: Option<String>,
    /// The cloud's message.
    pub message: String,
    /// The cloud's request ID, for support cases.
    pub request_id: Option<String>,
}

impl ProviderError {
    /// An error of `kind` with a message and no code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError { kind, code: None, message: message.into(), request_id: None }
    }

    /// Sets the cloud's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the cloud's request ID.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request ID {id})")?;
        }
        Ok(())
    }
}

/// The operations a resource type implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
    /// A readiness poll.
    Poll,
}

impl Operation {
    /// True for calls that change the cloud.
    pub fn is_mutating(self) -> bool {
        matches!(self, Operation::Create | Operation::Update | Operation::Delete)
    }
}

/// Which API rate budget a call draws from: `(service, category)`, e.g.
/// `("ec2", "mutating")` or `("ec2", "CreateNatGateway")`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApiClass {
    pub service: String,
    pub category: String,
    /// AWS meters the service per account, not per region (IAM,
    /// CloudFront, Route 53, WAF's CLOUDFRONT scope): every provider
    /// instance of one account shares the bucket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_account: bool,
}

impl ApiClass {
    /// A class from its service and category, metered per region.
    pub fn new(service: &str, category: &str) -> Self {
        ApiClass { service: service.to_owned(), category: category.to_owned(), per_account: false }
    }

    /// The same class, metered per account.
    pub fn per_account(mut self) -> Self {
        self.per_account = true;
        self
    }

    /// The service's generic mutating or non-mutating class.
    pub fn generic(service: &str, op: Operation) -> Self {
        ApiClass::new(service, if op.is_mutating() { "mutating" } else { "non-mutating" })
    }
}

impl fmt::Display for ApiClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.category)
    }
}

/// Tags the engine puts on every taggable resource it creates.
pub const TAG_STACK: &str = "infra:stack";
/// See [`TAG_STACK`].
pub const TAG_ADDRESS: &str = "infra:address";
/// See [`TAG_STACK`]: the idempotency token of the create that made it.
pub const TAG_TOKEN: &str = "infra:token";

/// Create a resource.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub address: Address,
    /// Inputs with every reference resolved. Secrets are still wrapped in
    /// `Value::Secret`; reveal them only at the API boundary.
    pub inputs: Fields,
    /// Deterministic idempotency token of this operation (`ClientToken`).
    pub token: String,
    /// Tags to put on the resource: the user's plus [`TAG_STACK`],
    /// [`TAG_ADDRESS`] and [`TAG_TOKEN`].
    pub tags: BTreeMap<String, String>,
}

/// A resource as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The cloud's ID.
    pub id: String,
    /// The inputs as they are now (for drift detection and adoption).
    pub inputs: Fields,
    /// The outputs.
    pub outputs: Fields,
}

/// Change a resource in place.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub address: Address,
    pub id: String,
    /// Inputs as recorded (secrets as digests).
    pub before: Fields,
    /// Inputs wanted, resolved (secrets wrapped).
    pub after: Fields,
    /// The top-level fields that differ.
    pub changed: Vec<String>,
    pub token: String,
}

/// Delete a resource.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub address: Address,
    pub id: String,
    /// Inputs as recorded.
    pub inputs: Fields,
    pub token: String,
}

/// Run a lookup's query (a data source): nothing in the cloud changes.
#[derive(Debug, Clone)]
pub struct LookupRequest {
    pub address: Address,
    /// The query: the lookup's inputs, every reference resolved.
    pub inputs: Fields,
}

/// Read many resources of one type at once (a refresh batches per type).
#[derive(Debug, Clone, Default)]
pub struct ReadRequest {
    pub ids: Vec<String>,
    /// The stack whose resources these are (every one it created carries
    /// `infra:stack`), when the caller knows: a provider may read many IDs
    /// by that tag in fewer calls than by ID.
    pub stack: Option<String>,
}

impl ReadRequest {
    /// A read of `ids`.
    pub fn new(ids: Vec<String>) -> Self {
        ReadRequest { ids, stack: None }
    }

    /// A read of `ids`, resources of `stack`.
    pub fn of_stack(ids: Vec<String>, stack: &str) -> Self {
        ReadRequest { ids, stack: Some(stack.to_owned()) }
    }
}

/// What a batched read found. IDs that are absent no longer exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadResponse {
    pub found: BTreeMap<String, Observed>,
}

/// Find what a create whose outcome is unknown (the process died, the
/// answer was lost, a follow-up call failed) made.
#[derive(Debug, Clone)]
pub struct FindRequest {
    pub address: Address,
    /// The idempotency token the create was given.
    pub token: String,
    /// The tags the create put on it.
    pub tags: BTreeMap<String, String>,
    /// The create's inputs, resolved (secrets wrapped), so that types that
    /// carry no tags are found by their natural key (a route by its table
    /// and destination, an attachment by its gateway and VPC). Empty when
    /// the resource is no longer declared.
    pub inputs: Fields,
}

/// A readiness or deletion poll of one resource, with what is known of it,
/// so a status check can use a change ID, a scope or an ETag.
#[derive(Debug, Clone, Default)]
pub struct PollRequest {
    pub id: String,
    /// Inputs (resolved for a create or update; as recorded for a delete).
    pub inputs: Fields,
    /// Outputs as recorded.
    pub outputs: Fields,
}

impl PollRequest {
    /// A poll knowing only the ID.
    pub fn id(id: impl Into<String>) -> Self {
        PollRequest { id: id.into(), ..PollRequest::default() }
    }
}

/// Where a delete stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// The resource is gone.
    Gone,
    /// Deleting; the executor polls [`ResourceProvider::poll_deleted`]
    /// until gone, with the step's delete timeout. The cloud's status, for
    /// display (`deleting`, `disabling`).
    Pending { status: String },
}

/// A cloud resource carrying a stack's tags, found by an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    /// The resource type, when the inventory can tell.
    pub type_name: Option<String>,
    /// The cloud's ID.
    pub id: String,
    /// The `infra:address` tag, when present.
    pub address: Option<String>,
}

/// Lists what carries a stack's tags in one provider instance, through a
/// service's tagging API (one per service, not one per type), so that
/// orphans (resources made by a create whose outcome was lost) are
/// visible.
#[async_trait]
pub trait Inventory: Send + Sync + fmt::Debug {
    /// Every live resource tagged `infra:stack = stack` whose ID is not in
    /// `known` (what the state already holds: a refresh reads those, so
    /// the inventory neither confirms nor describes them again).
    async fn owned(
        &self,
        stack: &str,
        known: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<Owned>, ProviderError>;
}

/// Answer of a readiness poll.
#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    /// Available; its outputs (some, like endpoints, appear only now).
    Ready { outputs: Fields },
    /// Not yet; the cloud's status, for display (`pending`, `creating`).
    Pending { status: String },
    /// It will never be ready (`failed`): the step fails with this message.
    Failed { message: String },
}

/// How long things usually take, for scheduling priority and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// Typical time from the create call to available.
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
    /// Interval between readiness polls.
    pub poll_interval: Duration,
    /// Default timeout of a readiness wait (custom timeouts override it).
    pub timeout: Duration,
}

impl Timings {
    /// Timings from whole seconds: typical create, update and delete,
    /// the poll interval and the readiness timeout.
    pub const fn secs(create: u64, update: u64, delete: u64, poll: u64, timeout: u64) -> Self {
        Timings {
            create: Duration::from_secs(create),
            update: Duration::from_secs(update),
            delete: Duration::from_secs(delete),
            poll_interval: Duration::from_secs(poll),
            timeout: Duration::from_secs(timeout),
        }
    }
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            create: Duration::from_secs(2),
            update: Duration::from_secs(2),
            delete: Duration::from_secs(2),
            poll_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// One resource type's implementation in one provider instance.
#[async_trait]
pub trait ResourceProvider: Send + Sync + fmt::Debug {
    /// The budget a call of `op` draws from.
    fn api_class(&self, op: Operation) -> ApiClass;

    /// Typical timings.
    fn timings(&self) -> Timings {
        Timings::default()
    }

    /// Creates the resource. Returns once the cloud has given it an ID; the
    /// executor polls [`ResourceProvider::poll`] for availability when the
    /// type's readiness requires it.
    async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError>;

    /// Reads many resources in one call.
    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError>;

    /// Updates the changed fields in place; returns the new outputs.
    async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError>;

    /// Starts deleting the resource. Returns [`Deletion::Gone`] when it is
    /// gone, or [`Deletion::Pending`] when the cloud is still tearing it
    /// down: the executor then waits through
    /// [`ResourceProvider::poll_deleted`] (budgeted, interruptible, bounded
    /// by the delete timeout). Deleting a resource that does not exist is
    /// an error of kind `NotFound`, which the executor treats as success.
    async fn delete(&self, req: DeleteRequest) -> Result<Deletion, ProviderError>;

    /// Polls a pending delete. By default, a batched read of the one ID:
    /// absent is gone.
    async fn poll_deleted(&self, req: PollRequest) -> Result<Deletion, ProviderError> {
        let found = self.read(ReadRequest::new(vec![req.id.clone()])).await;
        match found {
            Ok(r) if !r.found.contains_key(&req.id) => Ok(Deletion::Gone),
            Ok(_) => Ok(Deletion::Pending { status: "deleting".into() }),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Deletion::Gone),
            Err(e) => Err(e),
        }
    }

    /// Polls readiness after create or update.
    async fn poll(&self, req: PollRequest) -> Result<Readiness, ProviderError>;

    /// Finds the resource a create with this token (or these tags, or,
    /// for types without tags, this natural key) made, if any: used to
    /// resolve a create whose outcome is unknown (a crash, a lost answer, a
    /// failed follow-up call) and a create answered `Conflict`.
    async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError>;

    /// Runs a lookup's query (types declared `#[resource(lookup)]`): what
    /// it found, exactly one object (nothing, or more than one for a
    /// single-result lookup, is an error naming the query). Makes no
    /// mutating call. Types that are not lookups refuse.
    async fn lookup(&self, req: LookupRequest) -> Result<Observed, ProviderError> {
        Err(ProviderError::new(ErrorKind::Final, format!("{}: this type is not a lookup", req.address))
            .with_code("NotALookup"))
    }
}

/// A provider instance: one account and region, one implementation per
/// resource type.
#[derive(Debug, Clone)]
pub struct ProviderInstance {
    pub config: ProviderConfig,
    types: BTreeMap<String, Arc<dyn ResourceProvider>>,
    inventories: Vec<Arc<dyn Inventory>>,
}

impl ProviderInstance {
    /// An instance with no types yet.
    pub fn new(config: ProviderConfig) -> Self {
        ProviderInstance { config, types: BTreeMap::new(), inventories: Vec::new() }
    }

    /// Registers a service's inventory (see [`Inventory`]).
    pub fn register_inventory(&mut self, inventory: Arc<dyn Inventory>) {
        self.inventories.push(inventory);
    }

    /// The registered inventories.
    pub fn inventories(&self) -> &[Arc<dyn Inventory>] {
        &self.inventories
    }

    /// Registers the implementation of `type_name`.
    pub fn register(&mut self, type_name: &str, provider: Arc<dyn ResourceProvider>) {
        self.types.insert(type_name.to_owned(), provider);
    }

    /// The implementation of `type_name`.
    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn ResourceProvider>> {
        self.types.get(type_name)
    }

    /// The types this instance implements.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }
}

/// Every provider instance a run may use, by key.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    instances: BTreeMap<ProviderKey, ProviderInstance>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an instance under its config's key.
    pub fn insert(&mut self, instance: ProviderInstance) {
        self.instances.insert(instance.config.key.clone(), instance);
    }

    /// The instance for `key`.
    pub fn instance(&self, key: &ProviderKey) -> Option<&ProviderInstance> {
        self.instances.get(key)
    }

    /// The implementation of `type_name` in instance `key`.
    pub fn resource(&self, key: &ProviderKey, type_name: &str) -> Option<&Arc<dyn ResourceProvider>> {
        self.instances.get(key).and_then(|i| i.get(type_name))
    }

    /// All instances.
    pub fn instances(&self) -> impl Iterator<Item = &ProviderInstance> {
        self.instances.values()
    }
}
