//! The simulated cloud: its resources, rate buckets, injected failures, call
//! log and (optionally) the file it is persisted to.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use infra_core::{Address, Fields, ProviderConfig, ProviderKey, Value};
use infra_engine::provider::{TAG_ADDRESS, TAG_STACK, TAG_TOKEN};
use infra_engine::{
    ApiClass, CreateRequest, ErrorKind, FindRequest, Observed, Operation, ProviderError, Readiness, Registry,
    UpdateRequest,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::bucket::Bucket;
use crate::config::{FailureRule, SimConfig};
use crate::error::Error;
use crate::profile::{TypeProfile, service_of};
use crate::provider::sim_registry;

/// The version of the cloud file format.
const FORMAT: u32 = 1;

/// The account ID in generated ARNs.
const ACCOUNT: &str = "000000000000";

/// Where a resource is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimStatus {
    /// Created, not ready yet.
    Creating,
    /// Updated, not ready again yet.
    Modifying,
    /// Ready.
    Available,
    /// A delete call is in progress.
    Deleting,
}

impl SimStatus {
    /// The status as the cloud reports it (`creating`, `available`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SimStatus::Creating => "creating",
            SimStatus::Modifying => "modifying",
            SimStatus::Available => "available",
            SimStatus::Deleting => "deleting",
        }
    }
}

impl fmt::Display for SimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource as tests see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResource {
    /// The cloud's ID, `{prefix}-{counter:08x}`.
    pub id: String,
    /// The type name, e.g. `aws:ec2:Vpc`.
    pub type_name: String,
    /// The provider instance it was created through.
    pub provider: ProviderKey,
    /// That instance's region.
    pub region: String,
    /// The `infra:address` tag, when it holds a valid address.
    pub address: Option<Address>,
    /// The inputs, secrets revealed (it is a fake cloud).
    pub inputs: Fields,
    /// The generated outputs.
    pub outputs: Fields,
    /// The tags the create put on it.
    pub tags: BTreeMap<String, String>,
    /// The idempotency token of the create that made it.
    pub token: String,
    /// Where it is in its lifecycle.
    pub status: SimStatus,
    /// When the create inserted it, since the cloud was created (virtual
    /// time; the load instant for a resource loaded from a file).
    pub created_at: Duration,
    /// When it is (or was) ready after its last create or update.
    pub ready_at: Duration,
}

/// How a logged call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Still running.
    InFlight,
    /// Succeeded.
    Ok,
    /// Failed with an error of this kind and code.
    Failed {
        /// The error's kind.
        kind: ErrorKind,
        /// The error's code, e.g. `RequestLimitExceeded`.
        code: Option<String>,
    },
    /// The caller dropped the call before it returned (a killed process, a
    /// timeout). What the cloud had done by then stays done.
    Cancelled,
}

impl CallOutcome {
    /// True for [`CallOutcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, CallOutcome::Ok)
    }

    /// The error kind of a failed call.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match self {
            CallOutcome::Failed { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// One API call, as the cloud saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// 1, 2, 3, … in the order calls arrived.
    pub seq: u64,
    /// When it arrived, since the cloud was created (virtual time).
    pub at: Duration,
    /// When it ended, if it has.
    pub finished_at: Option<Duration>,
    /// The operation. A `find` is a read, with [`CallRecord::find`] set.
    pub operation: Operation,
    /// True for a `find` call.
    pub find: bool,
    /// The type name.
    pub type_name: String,
    /// The provider instance.
    pub provider: ProviderKey,
    /// The budget it drew from.
    pub api_class: ApiClass,
    /// The resource's address, when known (from the request, or from the
    /// resource's `infra:address` tag for polls and single reads).
    pub address: Option<Address>,
    /// The resource's ID, when the call is about one resource (a create's
    /// once the cloud assigned it).
    pub id: Option<String>,
    /// The IDs a read asked for.
    pub ids: Vec<String>,
    /// How it ended.
    pub outcome: CallOutcome,
}

/// The simulated cloud. Cheap to clone: clones share the same cloud.
///
/// Every provider created from it ([`SimCloud::provider`], [`sim_registry`])
/// reads and changes the same resources, rate buckets and call log.
#[derive(Clone)]
pub struct SimCloud {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: SimConfig,
    path: Option<PathBuf>,
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    resources: BTreeMap<String, Record>,
    buckets: HashMap<(ProviderKey, ApiClass), Bucket>,
    failures: Vec<FailureRule>,
    log: Vec<CallRecord>,
}

#[derive(Debug, Clone)]
struct Record {
    seq: u64,
    id: String,
    type_name: String,
    provider: ProviderKey,
    region: String,
    inputs: Fields,
    outputs: Fields,
    tags: BTreeMap<String, String>,
    token: String,
    created_at: Instant,
    ready_at: Instant,
    /// When the create or update that made it pending returned.
    pending_since: Instant,
    /// Until then, creates and updates that mention the ID fail.
    visible_at: Instant,
    /// The status until `ready_at`: creating or modifying.
    pending: SimStatus,
    deleting: bool,
    /// When a staged delete disabled it (see
    /// `TypeProfile::disable_before_delete`).
    disabled_at: Option<Instant>,
}

impl Record {
    fn status(&self, now: Instant) -> SimStatus {
        if self.deleting {
            SimStatus::Deleting
        } else if now >= self.ready_at {
            SimStatus::Available
        } else {
            self.pending
        }
    }

    /// The type's counting status while pending (see
    /// [`crate::profile::Progress`]), if it has one.
    fn progress(&self, config: &SimConfig, now: Instant) -> Option<String> {
        let progress = config.profile.get(&self.type_name).progress.as_ref()?;
        let total = match self.inputs.get(&progress.count_field) {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(1),
            _ => 1,
        };
        let span = self.ready_at.saturating_duration_since(self.pending_since).as_secs_f64();
        let fraction = if span > 0.0 {
            now.saturating_duration_since(self.pending_since).as_secs_f64() / span
        } else {
            1.0
        };
        Some(progress.status(fraction, total))
    }

    fn address(&self) -> Option<Address> {
        self.tags.get(TAG_ADDRESS).and_then(|a| Address::parse(a).ok())
    }

    fn observed(&self) -> Observed {
        Observed { id: self.id.clone(), inputs: self.inputs.clone(), outputs: self.outputs.clone() }
    }

    fn is(&self, provider: &ProviderKey, type_name: &str) -> bool {
        self.provider == *provider && self.type_name == type_name
    }

    fn view(&self, now: Instant, epoch: Instant) -> SimResource {
        SimResource {
            id: self.id.clone(),
            type_name: self.type_name.clone(),
            provider: self.provider.clone(),
            region: self.region.clone(),
            address: self.address(),
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            tags: self.tags.clone(),
            token: self.token.clone(),
            status: self.status(now),
            created_at: self.created_at.saturating_duration_since(epoch),
            ready_at: self.ready_at.saturating_duration_since(epoch),
        }
    }
}

/// The cloud file.
#[derive(Debug, Serialize, Deserialize)]
struct CloudFile {
    format: u32,
    next_id: u64,
    resources: Vec<PersistedResource>,
}

/// A resource in the cloud file. Instants are not kept: after a load every
/// resource is ready and visible, and interrupted deletes have completed.
#[derive(Debug, Serialize, Deserialize)]
struct PersistedResource {
    seq: u64,
    id: String,
    type_name: String,
    provider: ProviderKey,
    region: String,
    inputs: Fields,
    outputs: Fields,
    tags: BTreeMap<String, String>,
    token: String,
    #[serde(default)]
    deleting: bool,
    /// Disabled by a staged delete (deployed after a load).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    disabled: bool,
}

impl PersistedResource {
    fn from_record(r: &Record) -> Self {
        PersistedResource {
            seq: r.seq,
            id: r.id.clone(),
            type_name: r.type_name.clone(),
            provider: r.provider.clone(),
            region: r.region.clone(),
            inputs: r.inputs.clone(),
            outputs: r.outputs.clone(),
            tags: r.tags.clone(),
            token: r.token.clone(),
            deleting: r.deleting,
            disabled: r.disabled_at.is_some(),
        }
    }

    fn into_record(self, now: Instant) -> Record {
        Record {
            seq: self.seq,
            id: self.id,
            type_name: self.type_name,
            provider: self.provider,
            region: self.region,
            inputs: self.inputs,
            outputs: self.outputs,
            tags: self.tags,
            token: self.token,
            created_at: now,
            ready_at: now,
            pending_since: now,
            visible_at: now,
            pending: SimStatus::Creating,
            deleting: false,
            disabled_at: self
                .disabled
                .then(|| now.checked_sub(Duration::from_secs(24 * 3600)).unwrap_or(now)),
        }
    }
}

/// Reads a persisted cloud file into `state` (nothing when it is missing).
fn load(path: &Path, state: &mut State) -> Result<(), Error> {
    match fs::read(path) {
        Ok(bytes) => {
            let file: CloudFile = serde_json::from_slice(&bytes)
                .map_err(|source| Error::Parse { path: path.to_path_buf(), source })?;
            if file.format != FORMAT {
                return Err(Error::Format { path: path.to_path_buf(), found: file.format, expected: FORMAT });
            }
            let now = Instant::now();
            let mut next_id = file.next_id.max(1);
            for r in file.resources {
                next_id = next_id.max(r.seq.saturating_add(1));
                if !r.deleting {
                    state.resources.insert(r.id.clone(), r.into_record(now));
                }
            }
            state.next_id = next_id;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Read { path: path.to_path_buf(), source }),
    }
}

impl fmt::Debug for SimCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SimCloud")
            .field("path", &self.shared.path)
            .field("resources", &state.resources.len())
            .field("calls", &state.log.len())
            .finish_non_exhaustive()
    }
}

impl SimCloud {
    /// An empty in-memory cloud.
    pub fn new(config: SimConfig) -> Self {
        let state = State { next_id: 1, failures: config.failures.clone(), ..State::default() };
        SimCloud::from_parts(config, None, state)
    }

    /// A cloud persisted to `path`: loaded from it when the file exists, and
    /// written to it (a temporary file, fsynced, renamed over it) after every
    /// change, so that a process killed at any instant leaves the cloud as
    /// it was after the last change. A missing file is written on opening;
    /// an existing one is only read until the first change, so a process
    /// that opens the cloud while another one changes it (a command waiting
    /// on the stack's lock) never writes back the copy it read.
    ///
    /// Virtual instants do not survive a process: after a load every
    /// resource is ready and visible, and deletes that were in progress
    /// have completed (the cloud finishes what it accepted).
    pub fn persisted(path: impl Into<PathBuf>, config: SimConfig) -> Result<Self, Error> {
        let path = path.into();
        let mut state = State { next_id: 1, failures: config.failures.clone(), ..State::default() };
        let existed = path.exists();
        load(&path, &mut state)?;
        let cloud = SimCloud::from_parts(config, Some(path), state);
        if !existed {
            cloud.persist(&cloud.lock())?;
        }
        Ok(cloud)
    }

    /// A cloud persisted to `path` that reads nothing and writes nothing
    /// until [`SimCloud::reload`]: for processes that share one file and
    /// take turns on it under a lock (opening with
    /// [`SimCloud::persisted`] writes the file at once, which would race
    /// with the process that holds the lock).
    pub fn attached(path: impl Into<PathBuf>, config: SimConfig) -> Self {
        let state = State { next_id: 1, failures: config.failures.clone(), ..State::default() };
        SimCloud::from_parts(config, Some(path.into()), state)
    }

    /// Loads the persisted cloud's file again, replacing the resources held
    /// in memory (the call log and failure rules stay). For processes that
    /// share one cloud file and take turns under a lock: each reloads once
    /// it holds the lock. A cloud that is not persisted is left as it is.
    pub fn reload(&self) -> Result<(), Error> {
        let Some(path) = self.shared.path.clone() else { return Ok(()) };
        let mut state = self.lock();
        state.resources.clear();
        load(&path, &mut state)
    }

    fn from_parts(config: SimConfig, path: Option<PathBuf>, state: State) -> Self {
        SimCloud {
            shared: Arc::new(Shared { config, path, epoch: Instant::now(), state: Mutex::new(state) }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The file the cloud is persisted to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// Virtual time since the cloud was created (or loaded).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.shared.epoch)
    }

    /// Every resource, in creation order.
    pub fn resources(&self) -> Vec<SimResource> {
        let now = Instant::now();
        let state = self.lock();
        let mut records: Vec<&Record> = state.resources.values().collect();
        records.sort_by_key(|r| r.seq);
        records.into_iter().map(|r| r.view(now, self.shared.epoch)).collect()
    }

    /// The resource with this ID.
    pub fn resource(&self, id: &str) -> Option<SimResource> {
        let now = Instant::now();
        self.lock().resources.get(id).map(|r| r.view(now, self.shared.epoch))
    }

    /// How many resources carry each `infra:address` tag (more than one
    /// means a duplicate: the thing crash recovery must prevent).
    pub fn count_by_address(&self) -> BTreeMap<Address, usize> {
        let mut counts = BTreeMap::new();
        for r in self.lock().resources.values() {
            if let Some(a) = r.address() {
                *counts.entry(a).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Every call so far, in arrival order.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.lock().log.clone()
    }

    /// Deletes a resource behind the engine's back (drift). Not a call: it
    /// is not logged, throttled or subject to failure rules.
    pub fn delete_outside(&self, id: &str) -> Result<(), Error> {
        let mut state = self.lock();
        if state.resources.remove(id).is_none() {
            return Err(Error::NoSuchResource { id: id.to_owned() });
        }
        self.persist(&state)
    }

    /// Sets one input of a resource behind the engine's back (drift).
    /// Secrets in `value` are stored revealed.
    pub fn set_input_outside(&self, id: &str, field: &str, value: Value) -> Result<(), Error> {
        let mut state = self.lock();
        let record =
            state.resources.get_mut(id).ok_or_else(|| Error::NoSuchResource { id: id.to_owned() })?;
        record.inputs.insert(field.to_owned(), plain(&value));
        self.persist(&state)
    }

    /// Adds a failure rule now (rules from the config are added at creation).
    pub fn add_failure(&self, rule: FailureRule) {
        self.lock().failures.push(rule);
    }

    /// A provider for one type in one provider instance of this cloud.
    pub fn provider(&self, config: ProviderConfig, type_name: &str) -> crate::SimProvider {
        crate::SimProvider::new(self, config, type_name)
    }

    /// A registry with an instance per config, each implementing every type
    /// that has a profile of its own (with [`Profile::uniform`] that is none:
    /// use [`sim_registry`] and name the types).
    ///
    /// [`Profile::uniform`]: crate::Profile::uniform
    pub fn registry_for_all_profile_types(&self, configs: &[ProviderConfig]) -> Registry {
        let types: Vec<&str> = self.shared.config.profile.type_names().collect();
        sim_registry(self, configs, &types)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn since_epoch(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.shared.epoch)
    }

    /// Writes the whole cloud to its file, if it has one.
    fn persist(&self, state: &State) -> Result<(), Error> {
        let Some(path) = &self.shared.path else { return Ok(()) };
        let mut records: Vec<&Record> = state.resources.values().collect();
        records.sort_by_key(|r| r.seq);
        let file = CloudFile {
            format: FORMAT,
            next_id: state.next_id,
            resources: records.into_iter().map(PersistedResource::from_record).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|source| Error::Encode { path: path.clone(), source })?;
        write_atomically(path, &bytes)
    }

    /// [`SimCloud::persist`] for a provider call.
    fn persist_call(&self, state: &State) -> Result<(), ProviderError> {
        self.persist(state).map_err(|e| {
            ProviderError::new(ErrorKind::Final, format!("simulated cloud: {e}"))
                .with_code("SimPersistFailed")
        })
    }

    /// Sleeps the scaled API round trip.
    pub(crate) async fn round_trip(&self) {
        pause(self.shared.config.scaled(self.shared.config.api_latency)).await;
    }

    /// Logs a call, applies failure rules and takes a rate token.
    pub(crate) fn begin(&self, start: CallStart) -> Result<CallGuard, ProviderError> {
        let now = Instant::now();
        let at = self.since_epoch(now);
        let mut guard = self.lock();
        let state = &mut *guard;
        let address = start
            .address
            .or_else(|| start.id.as_ref().and_then(|id| state.resources.get(id)).and_then(Record::address));
        let seq = state.log.len() as u64 + 1;
        let injected = state
            .failures
            .iter_mut()
            .find(|r| r.matches(start.operation, &start.type_name, &start.provider, address.as_ref()))
            .map(|rule| {
                rule.times -= 1;
                rule.error.clone()
            });
        let throttled = injected.is_none()
            && match self.shared.config.rate_limits.limit_for(&start.provider, &start.api_class) {
                Some(limit) => !state
                    .buckets
                    .entry((start.provider.clone(), start.api_class.clone()))
                    .or_insert_with(|| Bucket::new(limit, self.shared.config.time_scale, now))
                    .try_take(now),
                None => false,
            };
        let error = injected.or_else(|| {
            throttled.then(|| {
                ProviderError::new(ErrorKind::Throttled, "Request limit exceeded.")
                    .with_code("RequestLimitExceeded")
            })
        });
        let error = error.map(|e| with_request_id(e, seq));
        let (outcome, finished_at) = match &error {
            Some(e) => (CallOutcome::Failed { kind: e.kind, code: e.code.clone() }, Some(at)),
            None => (CallOutcome::InFlight, None),
        };
        state.log.push(CallRecord {
            seq,
            at,
            finished_at,
            operation: start.operation,
            find: start.find,
            type_name: start.type_name,
            provider: start.provider,
            api_class: start.api_class,
            address,
            id: start.id,
            ids: start.ids,
            outcome,
        });
        match error {
            Some(e) => Err(e),
            None => Ok(CallGuard { cloud: self.clone(), seq, done: false }),
        }
    }

    fn settle(&self, seq: u64, outcome: CallOutcome) {
        let at = self.since_epoch(Instant::now());
        let mut state = self.lock();
        let Some(record) = usize::try_from(seq).ok().and_then(|s| state.log.get_mut(s.wrapping_sub(1)))
        else {
            return;
        };
        record.outcome = outcome;
        record.finished_at = Some(at);
    }

    fn set_call_id(&self, seq: u64, id: &str) {
        let mut state = self.lock();
        if let Some(record) = usize::try_from(seq).ok().and_then(|s| state.log.get_mut(s.wrapping_sub(1))) {
            record.id = Some(id.to_owned());
        }
    }

    /// The create itself: idempotency by token, the consistency check, the
    /// insert and its persistence. Returns the resource and whether it is
    /// new.
    pub(crate) fn create_record(
        &self,
        provider: &ProviderConfig,
        type_name: &str,
        req: &CreateRequest,
    ) -> Result<(Observed, bool), ProviderError> {
        let now = Instant::now();
        let config = &self.shared.config;
        let profile = config.profile.get(type_name);
        let inputs = plain_fields(&req.inputs);
        let mut state = self.lock();
        if let Some(existing) =
            state.resources.values().find(|r| r.is(&provider.key, type_name) && r.token == req.token)
        {
            return Ok((existing.observed(), false));
        }
        check_visible(&state, now, &inputs)?;
        let seq = state.next_id;
        state.next_id += 1;
        let id = format!("{}-{seq:08x}", profile.id_prefix);
        let name = match req.tags.get(TAG_ADDRESS) {
            Some(address) => address.rsplit('.').next().unwrap_or(address).to_owned(),
            None => id.clone(),
        };
        let outputs = generate_outputs(profile, service_of(type_name), &provider.region, &id, &name);
        let ready_in =
            config.scaled(profile.create).saturating_add(config.scaled(profile.ready_after_create));
        let record = Record {
            seq,
            id: id.clone(),
            type_name: type_name.to_owned(),
            provider: provider.key.clone(),
            region: provider.region.clone(),
            inputs,
            outputs,
            tags: req.tags.clone(),
            token: req.token.clone(),
            created_at: now,
            ready_at: later(now, ready_in),
            pending_since: later(now, config.scaled(profile.create)),
            visible_at: later(now, config.scaled(config.consistency_window)),
            pending: SimStatus::Creating,
            deleting: false,
            disabled_at: None,
        };
        let observed = record.observed();
        state.resources.insert(id, record);
        self.persist_call(&state)?;
        Ok((observed, true))
    }

    /// The update itself, applied at once: new inputs, modifying until ready.
    pub(crate) fn update_record(
        &self,
        provider: &ProviderKey,
        type_name: &str,
        req: &UpdateRequest,
    ) -> Result<Fields, ProviderError> {
        let now = Instant::now();
        let config = &self.shared.config;
        let profile = config.profile.get(type_name);
        let inputs = plain_fields(&req.after);
        let mut state = self.lock();
        if !state.resources.get(&req.id).is_some_and(|r| r.is(provider, type_name)) {
            return Err(not_found(&req.id));
        }
        check_visible(&state, now, &inputs)?;
        let ready_in =
            config.scaled(profile.update).saturating_add(config.scaled(profile.ready_after_update));
        let outputs = match state.resources.get_mut(&req.id) {
            Some(record) => {
                record.inputs = inputs;
                record.pending = SimStatus::Modifying;
                record.ready_at = later(now, ready_in);
                record.pending_since = later(now, config.scaled(profile.update));
                record.outputs.clone()
            }
            None => return Err(not_found(&req.id)),
        };
        self.persist_call(&state)?;
        Ok(outputs)
    }

    /// Marks a resource as being deleted.
    pub(crate) fn mark_deleting(
        &self,
        provider: &ProviderKey,
        type_name: &str,
        id: &str,
    ) -> Result<(), ProviderError> {
        let mut state = self.lock();
        match state.resources.get_mut(id) {
            Some(record) if record.is(provider, type_name) => record.deleting = true,
            _ => return Err(not_found(id)),
        }
        self.persist_call(&state)
    }

    /// The first step of a staged delete: disables the resource (once; a
    /// later call keeps the first time) and says how long ago it was
    /// disabled and whether this call disabled it.
    pub(crate) fn disable(
        &self,
        provider: &ProviderKey,
        type_name: &str,
        id: &str,
    ) -> Result<(Duration, bool), ProviderError> {
        let now = Instant::now();
        let mut state = self.lock();
        let record = match state.resources.get_mut(id) {
            Some(record) if record.is(provider, type_name) && !record.deleting => record,
            _ => return Err(not_found(id)),
        };
        let first = record.disabled_at.is_none();
        let since = *record.disabled_at.get_or_insert(now);
        if first {
            self.persist_call(&state)?;
        }
        Ok((now.saturating_duration_since(since), first))
    }

    /// Whether a staged delete has disabled the resource.
    pub(crate) fn disabled(&self, id: &str) -> bool {
        self.lock().resources.get(id).is_some_and(|r| r.disabled_at.is_some())
    }

    /// The address a resource was made for (its address tag).
    pub(crate) fn address_of(&self, id: &str) -> Option<Address> {
        self.lock().resources.get(id).and_then(Record::address)
    }

    /// Removes a resource whose delete has completed.
    pub(crate) fn remove(&self, id: &str) -> Result<(), ProviderError> {
        let mut state = self.lock();
        if state.resources.remove(id).is_some() {
            self.persist_call(&state)?;
        }
        Ok(())
    }

    /// Readiness of one resource now.
    pub(crate) fn readiness(
        &self,
        provider: &ProviderKey,
        type_name: &str,
        id: &str,
    ) -> Result<Readiness, ProviderError> {
        let now = Instant::now();
        let state = self.lock();
        let record =
            state.resources.get(id).filter(|r| r.is(provider, type_name)).ok_or_else(|| not_found(id))?;
        let config = &self.shared.config;
        let failed = record.address().and_then(|a| {
            config.failed_readiness.iter().find(|(at, _)| *at == a.as_str()).map(|(_, message)| message)
        });
        Ok(match (record.status(now), failed) {
            (SimStatus::Available, Some(message)) => Readiness::Failed { message: message.clone() },
            (SimStatus::Available, None) => Readiness::Ready { outputs: record.outputs.clone() },
            (status, _) => Readiness::Pending {
                status: record.progress(config, now).unwrap_or_else(|| status.as_str().to_owned()),
            },
        })
    }

    /// The resources among `ids` that exist.
    pub(crate) fn read_records(
        &self,
        provider: &ProviderKey,
        type_name: &str,
        ids: &[String],
    ) -> BTreeMap<String, Observed> {
        let state = self.lock();
        ids.iter()
            .filter_map(|id| state.resources.get(id))
            .filter(|r| r.is(provider, type_name))
            .map(|r| (r.id.clone(), r.observed()))
            .collect()
    }

    /// What a create with this token (or these tags) made.
    pub(crate) fn find_record(
        &self,
        provider: &ProviderKey,
        type_name: &str,
        req: &FindRequest,
    ) -> Option<Observed> {
        let state = self.lock();
        let candidates = || state.resources.values().filter(|r| r.is(provider, type_name) && !r.deleting);
        if let Some(r) = candidates().find(|r| r.token == req.token) {
            return Some(r.observed());
        }
        let stack = req.tags.get(TAG_STACK)?;
        let address = req.tags.get(TAG_ADDRESS)?;
        candidates()
            .find(|r| {
                r.tags.get(TAG_STACK) == Some(stack)
                    && r.tags.get(TAG_ADDRESS) == Some(address)
                    && r.tags.get(TAG_TOKEN) == Some(&req.token)
            })
            .map(Record::observed)
    }
}

/// What [`SimCloud::begin`] needs to know about a call.
#[derive(Debug)]
pub(crate) struct CallStart {
    pub(crate) operation: Operation,
    pub(crate) find: bool,
    pub(crate) type_name: String,
    pub(crate) provider: ProviderKey,
    pub(crate) api_class: ApiClass,
    pub(crate) address: Option<Address>,
    pub(crate) id: Option<String>,
    pub(crate) ids: Vec<String>,
}

/// A call in flight: settles its log record when completed, or as
/// cancelled when dropped first.
#[derive(Debug)]
pub(crate) struct CallGuard {
    cloud: SimCloud,
    seq: u64,
    done: bool,
}

impl CallGuard {
    /// Records the ID a create was given.
    pub(crate) fn set_id(&self, id: &str) {
        self.cloud.set_call_id(self.seq, id);
    }

    /// Records the outcome and hands the result back, errors tagged with the
    /// call's request ID.
    pub(crate) fn complete<T>(mut self, result: Result<T, ProviderError>) -> Result<T, ProviderError> {
        let result = result.map_err(|e| with_request_id(e, self.seq));
        let outcome = match &result {
            Ok(_) => CallOutcome::Ok,
            Err(e) => CallOutcome::Failed { kind: e.kind, code: e.code.clone() },
        };
        self.cloud.settle(self.seq, outcome);
        self.done = true;
        result
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.done {
            self.cloud.settle(self.seq, CallOutcome::Cancelled);
        }
    }
}

/// Sleeps `d` of tokio time; nothing at all for zero.
pub(crate) async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

fn with_request_id(e: ProviderError, seq: u64) -> ProviderError {
    if e.request_id.is_some() { e } else { e.with_request_id(format!("sim-{seq:08}")) }
}

fn not_found(id: &str) -> ProviderError {
    ProviderError::new(ErrorKind::NotFound, format!("The resource '{id}' does not exist"))
        .with_code("NotFound")
}

/// `now + d`, saturating far in the future instead of overflowing.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 86_400))).unwrap_or(now)
}

/// Fails when `inputs` mention a resource still inside its consistency
/// window, as EC2 answers `InvalidVpcID.NotFound` right after `CreateVpc`.
fn check_visible(state: &State, now: Instant, inputs: &Fields) -> Result<(), ProviderError> {
    if !state.resources.values().any(|r| r.visible_at > now) {
        return Ok(());
    }
    let mut strings = BTreeSet::new();
    for v in inputs.values() {
        collect_strings(v, &mut strings);
    }
    match state.resources.values().find(|r| r.visible_at > now && strings.contains(r.id.as_str())) {
        Some(r) => Err(ProviderError::new(
            ErrorKind::EventualConsistency,
            format!("The ID '{}' does not exist", r.id),
        )
        .with_code("InvalidID.NotFound")),
        None => Ok(()),
    }
}

fn collect_strings<'a>(v: &'a Value, out: &mut BTreeSet<&'a str>) {
    match v {
        Value::String(s) => {
            out.insert(s);
        }
        Value::List(l) | Value::Template(l) => l.iter().for_each(|x| collect_strings(x, out)),
        Value::Map(m) => m.values().for_each(|x| collect_strings(x, out)),
        Value::Secret(x) | Value::Json(x) => collect_strings(x, out),
        _ => {}
    }
}

/// `v` with every secret revealed, at any depth.
fn plain(v: &Value) -> Value {
    match v {
        Value::Secret(x) => plain(x),
        Value::List(l) => Value::List(l.iter().map(plain).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), plain(x))).collect()),
        Value::Template(l) => Value::Template(l.iter().map(plain).collect()),
        Value::Json(x) => Value::Json(Box::new(plain(x))),
        other => other.clone(),
    }
}

fn plain_fields(fields: &Fields) -> Fields {
    fields.iter().map(|(k, v)| (k.clone(), plain(v))).collect()
}

/// `id`, `arn`, `name` and the profile's other outputs (`"{id}.{output}"`).
fn generate_outputs(profile: &TypeProfile, service: &str, region: &str, id: &str, name: &str) -> Fields {
    let mut out = Fields::new();
    out.insert("id".to_owned(), Value::string(id));
    out.insert("arn".to_owned(), Value::String(format!("arn:aws:{service}:{region}:{ACCOUNT}:{id}")));
    out.insert("name".to_owned(), Value::string(name));
    for o in &profile.outputs {
        out.entry(o.clone()).or_insert_with(|| match o.as_str() {
            // A certificate's one DNS validation record, shaped as ACM's.
            "domain_validation_options" => Value::List(vec![Value::Map(
                ["domain_name", "resource_record_name", "resource_record_type", "resource_record_value"]
                    .into_iter()
                    .map(|f| (f.to_owned(), Value::String(format!("{id}.{o}.{f}"))))
                    .collect(),
            )]),
            _ => Value::String(format!("{id}.{o}")),
        });
    }
    out
}

/// Writes `bytes` to a temporary file next to `path`, fsyncs it, renames it
/// over `path` and fsyncs the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |source: io::Error| Error::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "cloud".into());
    // One temporary name per process, so processes sharing the file never
    // rename each other's half-written temporaries.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut file = fs::File::create(&tmp).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    fs::rename(&tmp, path).map_err(fail)?;
    #[cfg(unix)]
    fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_reveals_secrets_at_any_depth() {
        let secret = |s: &str| Value::Secret(Box::new(Value::string(s)));
        let v = Value::Map(BTreeMap::from([
            ("pw".to_owned(), secret("a")),
            ("list".to_owned(), Value::List(vec![secret("b")])),
            ("tpl".to_owned(), Value::Template(vec![secret("c")])),
        ]));
        let p = plain(&v);
        assert!(!p.is_sensitive());
        assert!(serde_json::to_string(&p).is_ok());
        let mut strings = BTreeSet::new();
        collect_strings(&v, &mut strings);
        assert_eq!(strings, BTreeSet::from(["a", "b", "c"]));
    }

    #[test]
    fn outputs_are_id_arn_name_and_the_profile_s_extras() {
        let p = TypeProfile::new("lb").outputs(&["dns_name", "id"]);
        let out = generate_outputs(&p, "elbv2", "eu-west-1", "lb-00000001", "web");
        assert_eq!(out.get("id"), Some(&Value::string("lb-00000001")));
        assert_eq!(out.get("arn"), Some(&Value::string("arn:aws:elbv2:eu-west-1:000000000000:lb-00000001")));
        assert_eq!(out.get("name"), Some(&Value::string("web")));
        assert_eq!(out.get("dns_name"), Some(&Value::string("lb-00000001.dns_name")));
        assert_eq!(out.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn an_untagged_resource_is_named_by_its_id() {
        let cloud = SimCloud::new(SimConfig::instant());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let req = CreateRequest {
            address: Address::parse("a").unwrap(),
            inputs: Fields::new(),
            token: "t".into(),
            tags: BTreeMap::new(),
        };
        let (obs, fresh) = cloud.create_record(&ProviderConfig::aws("us-east-1"), "x:y:Z", &req).unwrap();
        assert!(fresh);
        assert_eq!(obs.id, "sim-00000001");
        assert_eq!(obs.outputs.get("name"), Some(&Value::string("sim-00000001")));
        let r = cloud.resource(&obs.id).unwrap();
        assert_eq!((r.created_at, r.ready_at), (Duration::from_secs(3), Duration::from_secs(3)));
        assert_eq!(r.address, None);
    }
}
