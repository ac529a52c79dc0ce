//! Support for the team-state tests (`tests/team_state.rs`): the stacks the
//! worker processes apply (`src/bin/team_apply.rs`), and a backend wrapper
//! that reloads the shared simulated cloud once the lock is held and
//! records when the lock was held.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use infra_aws::ec2::{Subnet, Vpc};
use infra_core::{ProviderConfig, Stack, State};
use infra_sim::SimCloud;
use infra_state::{Backend, Error, HistoryEntry, Lock, LockInfo, StateVersion};
use serde::{Deserialize, Serialize};

/// The stack of the concurrency test: a VPC and two subnets whose tags
/// name the worker that applied last, so every worker's apply changes the
/// stack.
pub fn writer_stack(worker: u32) -> Stack {
    let mut stack = Stack::new("team");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let mut s = stack.scope("net").with_provider(&us);
    let tags = BTreeMap::from([("Writer".to_owned(), format!("worker-{worker}"))]);
    let vpc = s.add(
        "vpc",
        Vpc {
            cidr_block: "10.9.0.0/16".into(),
            enable_dns_support: true,
            tags: tags.clone(),
            ..Default::default()
        },
    );
    for (i, zone) in ["a", "b"].iter().enumerate() {
        s.add(
            &format!("subnet-{zone}"),
            Subnet {
                vpc_id: vpc.id().into(),
                cidr_block: format!("10.9.{i}.0/24"),
                availability_zone: format!("us-east-1{zone}"),
                map_public_ip_on_launch: false,
                tags: tags.clone(),
            },
        );
    }
    stack
}

/// What a worker reports on stdout (one JSON object) after a successful
/// apply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReport {
    /// When the lock was obtained, µs since the epoch.
    pub acquired_us: u64,
    /// When its release started, µs since the epoch.
    pub released_us: u64,
    /// The serial of the state the apply read.
    pub read_serial: u64,
    /// The serial it saved.
    pub final_serial: u64,
    /// The holder whose expired lease the run took over, if any.
    pub taken_over_from: Option<LockInfo>,
    /// Pending operations of a killed run that were resolved first.
    pub recovered: usize,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// When the lock was held.
#[derive(Debug, Default, Clone, Copy)]
pub struct Held {
    pub acquired_us: Option<u64>,
    pub released_us: Option<u64>,
}

/// A backend that reloads the shared simulated cloud as soon as the lock
/// is taken (the processes take turns on the cloud file as they do on the
/// state), and records when the lock was held.
pub struct Observed {
    inner: Arc<dyn Backend>,
    cloud: SimCloud,
    held: Arc<Mutex<Held>>,
}

impl Observed {
    pub fn new(inner: Arc<dyn Backend>, cloud: SimCloud) -> Self {
        Observed { inner, cloud, held: Arc::default() }
    }

    pub fn held(&self) -> Held {
        *self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observed").field("inner", &self.inner).finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct ObservedLock {
    inner: Box<dyn Lock>,
    held: Arc<Mutex<Held>>,
}

#[async_trait]
impl Lock for ObservedLock {
    fn info(&self) -> &LockInfo {
        self.inner.info()
    }
    fn fencing_token(&self) -> u64 {
        self.inner.fencing_token()
    }
    fn taken_over_from(&self) -> Option<&LockInfo> {
        self.inner.taken_over_from()
    }
    async fn release(self: Box<Self>) -> Result<(), Error> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).released_us = Some(now_us());
        self.inner.release().await
    }
}

#[async_trait]
impl Backend for Observed {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn lock(&self, stack: &str, operation: &str, timeout: Duration) -> Result<Box<dyn Lock>, Error> {
        let inner = self.inner.lock(stack, operation, timeout).await?;
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).acquired_us = Some(now_us());
        if let Err(e) = self.cloud.reload() {
            let _ = inner.release().await;
            return Err(Error::Corrupt { location: "the simulated cloud".into(), reason: e.to_string() });
        }
        Ok(Box::new(ObservedLock { inner, held: Arc::clone(&self.held) }))
    }
    async fn read(&self, stack: &str) -> Result<Option<(State, StateVersion)>, Error> {
        self.inner.read(stack).await
    }
    async fn write(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        self.inner.write(lock, state, expected).await
    }
    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<(), Error> {
        self.inner.force_unlock(stack, lock_id).await
    }
    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, Error> {
        self.inner.history(stack).await
    }
    async fn read_version(&self, stack: &str, version_id: &str) -> Result<State, Error> {
        self.inner.read_version(stack, version_id).await
    }
    async fn list_stacks(&self) -> Result<Vec<String>, Error> {
        self.inner.list_stacks().await
    }
}

/// Builds the S3 backend from `INFRA_S3_*` variables, refusing any endpoint
/// but a loopback one and using dummy credentials (tests only).
pub fn s3_backend_from_env() -> anyhow::Result<infra_state_s3::S3Backend> {
    let config = infra_state_s3::S3BackendConfig::from_env()?;
    let endpoint = config.endpoint.clone().ok_or_else(|| anyhow::anyhow!("tests need INFRA_S3_ENDPOINT"))?;
    let sdk = infra_testkit::loopback_sdk_config(&endpoint, &config.region)?;
    Ok(infra_state_s3::S3Backend::with_sdk_config(config, &sdk)?)
}
