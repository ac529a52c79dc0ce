//! The conformance suite every [`Backend`] must pass (feature
//! `conformance`).
//!
//! The cases are written against `&dyn Backend` only and assume nothing
//! about how a backend stores data, so the local backend and remote ones
//! (S3 + DynamoDB) run the very same suite. Each case expects a fresh,
//! empty backend and panics (like an assertion) when the backend misbehaves.
//!
//! Use [`backend_conformance_tests!`](crate::backend_conformance_tests) in a
//! test file to get one `#[tokio::test]` per case (the test crate needs
//! `tokio` with the `macros` and `rt` features as a dev-dependency):
//!
//! ```no_run
//! use infra_state::{LocalBackend, conformance::Fixture};
//!
//! infra_state::backend_conformance_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     Fixture::with_guard(LocalBackend::new(dir.path()), dir)
//! });
//! ```

// This module is test support: its assertions panic by design.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use infra_core::{Address, ProviderKey, ResourceState, State, Value};

use crate::Error;
use crate::backend::{Backend, Lock, LockInfo, StateVersion, new_state};

/// How long cases wait for a lock that is expected to stay taken.
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

/// A fresh backend for one case, plus anything that must outlive it (a
/// temporary directory, a guard that deletes a test bucket prefix). The
/// backend is dropped before the guard.
pub struct Fixture {
    backend: Box<dyn Backend>,
    _guard: Option<Box<dyn Any + Send>>,
}

impl Fixture {
    /// A fixture that needs nothing kept alive.
    pub fn new(backend: impl Backend + 'static) -> Self {
        Fixture { backend: Box::new(backend), _guard: None }
    }

    /// A fixture that keeps `guard` alive as long as the backend.
    pub fn with_guard(backend: impl Backend + 'static, guard: impl Any + Send) -> Self {
        Fixture { backend: Box::new(backend), _guard: Some(Box::new(guard)) }
    }

    /// The backend under test.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// Expands to one `#[tokio::test]` per conformance case. The argument is
/// an expression evaluating to a future of a fresh
/// [`Fixture`](crate::conformance::Fixture); it is evaluated once per case.
#[macro_export]
macro_rules! backend_conformance_tests {
    ($make:expr) => {
        $crate::backend_conformance_tests!(@cases ($make)
            reading_a_missing_stack_gives_none,
            first_write_round_trips_exactly,
            stale_expected_version_is_refused_and_nothing_written,
            other_lineage_is_refused,
            serial_may_repeat_but_never_go_backwards,
            write_with_released_or_superseded_lock_is_refused,
            second_lock_times_out_naming_holder_while_other_stacks_lock,
            release_allows_relocking,
            fencing_tokens_strictly_increase,
            force_unlock_with_wrong_id_is_refused,
            history_lists_earlier_versions_and_read_version_returns_them,
            many_writes_of_one_operation_read_back_exactly_and_settle_keeps_them,
            list_stacks_lists_written_stacks,
            stacks_are_isolated,
            invalid_stack_names_are_refused,
        );
    };
    (@cases ($make:expr) $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let fixture: $crate::conformance::Fixture = $make.await;
                $crate::conformance::$case(fixture.backend()).await;
            }
        )+
    };
}

// ---- helpers -------------------------------------------------------------

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// A realistic state derived from `base` (same lineage and secret key) at
/// `serial`: a VPC in `us-east-1`, a subnet in `eu-west-1` depending on it,
/// a sealed secret and a stack output. `marker` varies the content, so two
/// calls with different markers give different states.
pub fn sample_state(base: &State, serial: u64, marker: &str) -> State {
    let mut state = base.clone();
    state.serial = serial;
    let vpc = ResourceState {
        type_name: "aws:ec2:Vpc".into(),
        provider: ProviderKey("aws.us-east-1".into()),
        region: "us-east-1".into(),
        id: "vpc-0a1b2c3d4e5f60718".into(),
        inputs: BTreeMap::from([
            ("cidr_block".into(), Value::from("10.1.0.0/16")),
            ("enable_dns_support".into(), Value::from(true)),
            ("tags".into(), Value::Map(BTreeMap::from([("Name".into(), Value::from(marker))]))),
        ]),
        outputs: BTreeMap::from([
            ("id".into(), Value::from("vpc-0a1b2c3d4e5f60718")),
            ("owner_id".into(), Value::from("123456789012")),
        ]),
        dependencies: BTreeSet::new(),
        protect: true,
        retain_on_delete: false,
        keeps_data: None,
        waiting: false,
    };
    let subnet = ResourceState {
        type_name: "aws:ec2:Subnet".into(),
        provider: ProviderKey("aws.eu-west-1".into()),
        region: "eu-west-1".into(),
        id: "subnet-0123456789abcdef0".into(),
        inputs: BTreeMap::from([
            ("vpc_id".into(), Value::from("vpc-0a1b2c3d4e5f60718")),
            ("cidr_block".into(), Value::from("10.1.1.0/24")),
            ("password".into(), Value::SecretHash(format!("hmac-sha256:{:064x}", serial))),
            ("count".into(), Value::from(3)),
        ]),
        outputs: BTreeMap::from([("id".into(), Value::from("subnet-0123456789abcdef0"))]),
        dependencies: BTreeSet::from([addr("net.vpc")]),
        protect: false,
        retain_on_delete: true,
        keeps_data: Some(infra_core::DataGuard {
            field: "on_delete".into(),
            when: Some("holds_objects".into()),
        }),
        waiting: true,
    };
    state.resources = BTreeMap::from([(addr("net.vpc"), vpc), (addr("net.subnet-a"), subnet)]);
    state.outputs = BTreeMap::from([("vpc_id".into(), Value::from("vpc-0a1b2c3d4e5f60718"))]);
    state
}

fn fresh() -> State {
    new_state().expect("random lineage")
}

async fn lock(backend: &dyn Backend, stack: &str) -> Box<dyn Lock> {
    backend
        .lock(stack, "apply", SHORT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{}: locking {stack:?} failed: {e}", backend.describe()))
}

async fn write(
    backend: &dyn Backend,
    lock: &dyn Lock,
    state: &State,
    expected: Option<&StateVersion>,
) -> StateVersion {
    backend
        .write(lock, state, expected)
        .await
        .unwrap_or_else(|e| panic!("{}: write failed: {e}", backend.describe()))
}

async fn read(backend: &dyn Backend, stack: &str) -> Option<(State, StateVersion)> {
    backend
        .read(stack)
        .await
        .unwrap_or_else(|e| panic!("{}: reading {stack:?} failed: {e}", backend.describe()))
}

async fn release(lock: Box<dyn Lock>) {
    lock.release().await.expect("release");
}

/// A copy of a lock handle, kept after the real one is released: what a
/// holder that lost its lock would still present.
#[derive(Debug)]
struct StaleLock {
    info: LockInfo,
    token: u64,
}

impl StaleLock {
    fn copy(lock: &dyn Lock) -> Self {
        StaleLock { info: lock.info().clone(), token: lock.fencing_token() }
    }
}

#[async_trait]
impl Lock for StaleLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn fencing_token(&self) -> u64 {
        self.token
    }
    async fn release(self: Box<Self>) -> Result<(), Error> {
        Ok(())
    }
}

// ---- cases ---------------------------------------------------------------

/// Reading a stack that was never written gives `None`.
pub async fn reading_a_missing_stack_gives_none(backend: &dyn Backend) {
    assert!(read(backend, "never-written").await.is_none());
}

/// The first write (expected `None`) stores the state; reading it back
/// gives the same state and the version the write returned.
pub async fn first_write_round_trips_exactly(backend: &dyn Backend) {
    let l = lock(backend, "prod").await;
    let state = sample_state(&fresh(), 1, "first");
    let version = write(backend, &*l, &state, None).await;
    assert_eq!(version.serial, 1);
    let (back, read_version) = read(backend, "prod").await.expect("state was written");
    assert_eq!(back, state);
    assert_eq!(read_version, version);
    release(l).await;
}

/// A write whose expected version is not the stored one is refused with
/// `Conflict` naming both, and the stored state stays as it was.
pub async fn stale_expected_version_is_refused_and_nothing_written(backend: &dyn Backend) {
    let l = lock(backend, "prod").await;
    let base = fresh();
    let v1 = write(backend, &*l, &sample_state(&base, 1, "one"), None).await;
    let two = sample_state(&base, 2, "two");
    let v2 = write(backend, &*l, &two, Some(&v1)).await;
    assert_ne!(v1, v2);

    let three = sample_state(&base, 3, "three");
    match backend.write(&*l, &three, Some(&v1)).await {
        Err(Error::Conflict { stack, expected, found }) => {
            assert_eq!(stack, "prod");
            assert_eq!(expected, Some(v1.clone()));
            assert_eq!(found, Some(v2.clone()));
        }
        other => panic!("stale expected version: wanted Conflict, got {other:?}"),
    }
    match backend.write(&*l, &three, None).await {
        Err(Error::Conflict { expected, found, .. }) => {
            assert_eq!(expected, None);
            assert_eq!(found, Some(v2.clone()));
        }
        other => panic!("expected None over stored state: wanted Conflict, got {other:?}"),
    }
    let (stored, version) = read(backend, "prod").await.expect("state");
    assert_eq!(stored, two);
    assert_eq!(version, v2);
    release(l).await;
}

/// A state of another lineage never overwrites the stored one.
pub async fn other_lineage_is_refused(backend: &dyn Backend) {
    let l = lock(backend, "prod").await;
    let ours = sample_state(&fresh(), 1, "ours");
    let v1 = write(backend, &*l, &ours, None).await;
    let theirs = sample_state(&fresh(), 2, "theirs");
    match backend.write(&*l, &theirs, Some(&v1)).await {
        Err(Error::LineageMismatch { stack, stored, given }) => {
            assert_eq!(stack, "prod");
            assert_eq!(stored, ours.lineage);
            assert_eq!(given, theirs.lineage);
        }
        other => panic!("wanted LineageMismatch, got {other:?}"),
    }
    assert_eq!(read(backend, "prod").await.expect("state").0, ours);
    release(l).await;
}

/// The holder may rewrite the same serial (an apply writes many times at
/// N+1) but a lower serial is refused with `SerialRegression`.
pub async fn serial_may_repeat_but_never_go_backwards(backend: &dyn Backend) {
    let l = lock(backend, "prod").await;
    let base = fresh();
    let v5 = write(backend, &*l, &sample_state(&base, 5, "a"), None).await;
    let again = sample_state(&base, 5, "b");
    let v5b = write(backend, &*l, &again, Some(&v5)).await;
    assert_eq!(v5b.serial, 5);
    assert_ne!(v5b, v5, "different content must give a different version");

    match backend.write(&*l, &sample_state(&base, 4, "c"), Some(&v5b)).await {
        Err(Error::SerialRegression { stack, stored, attempted }) => {
            assert_eq!(stack, "prod");
            assert_eq!((stored, attempted), (5, 4));
        }
        other => panic!("wanted SerialRegression, got {other:?}"),
    }
    assert_eq!(read(backend, "prod").await.expect("state").0, again);
    release(l).await;
}

/// A handle whose lock was released, or superseded by a newer lock, can
/// no longer write.
pub async fn write_with_released_or_superseded_lock_is_refused(backend: &dyn Backend) {
    let first = lock(backend, "prod").await;
    let base = fresh();
    let v1 = write(backend, &*first, &sample_state(&base, 1, "one"), None).await;
    let stale = StaleLock::copy(&*first);
    release(first).await;

    let attempt = sample_state(&base, 2, "late");
    match backend.write(&stale, &attempt, Some(&v1)).await {
        Err(Error::NotLocked { stack } | Error::LockLost { stack, .. }) => {
            assert_eq!(stack, "prod")
        }
        other => panic!("write after release: wanted NotLocked or LockLost, got {other:?}"),
    }

    let second = lock(backend, "prod").await;
    match backend.write(&stale, &attempt, Some(&v1)).await {
        Err(Error::LockLost { stack, lock_id, .. }) => {
            assert_eq!(stack, "prod");
            assert_eq!(lock_id, stale.info.id);
        }
        other => panic!("write with a superseded lock: wanted LockLost, got {other:?}"),
    }
    let (stored, version) = read(backend, "prod").await.expect("state");
    assert_eq!(version, v1);
    assert_eq!(stored.serial, 1);
    // The current holder can still write.
    write(backend, &*second, &attempt, Some(&v1)).await;
    release(second).await;
}

/// While one lock is held, a second lock on the same stack waits for the
/// timeout and fails with `Locked` naming the holder; other stacks lock
/// freely.
pub async fn second_lock_times_out_naming_holder_while_other_stacks_lock(backend: &dyn Backend) {
    let held = backend.lock("prod", "apply", SHORT_TIMEOUT).await.expect("first lock");
    assert_eq!(held.info().stack, "prod");
    assert_eq!(held.info().operation, "apply");
    assert_eq!(held.info().pid, std::process::id());

    let started = Instant::now();
    match backend.lock("prod", "destroy", SHORT_TIMEOUT).await {
        Err(Error::Locked { stack, holder }) => {
            assert_eq!(stack, "prod");
            assert_eq!(holder.id, held.info().id);
            assert_eq!(holder.operation, "apply");
            assert_eq!(holder.pid, std::process::id());
            let message = Error::Locked { stack: stack.clone(), holder: holder.clone() }.to_string();
            assert!(message.contains("apply"), "{message}");
            assert!(message.contains(&holder.pid.to_string()), "{message}");
        }
        other => panic!("wanted Locked, got {other:?}"),
    }
    let waited = started.elapsed();
    assert!(
        waited >= SHORT_TIMEOUT.mul_f32(0.8),
        "gave up after {waited:?}, before the {SHORT_TIMEOUT:?} timeout"
    );

    let other = backend
        .lock("staging", "apply", Duration::ZERO)
        .await
        .expect("a lock on another stack is independent");
    release(other).await;
    release(held).await;
}

/// After release, the stack can be locked again at once.
pub async fn release_allows_relocking(backend: &dyn Backend) {
    let first = lock(backend, "prod").await;
    release(first).await;
    let second = backend.lock("prod", "refresh", Duration::ZERO).await.expect("relock after release");
    assert_eq!(second.info().operation, "refresh");
    release(second).await;
}

/// Every acquisition of a stack's lock gets a larger fencing token.
pub async fn fencing_tokens_strictly_increase(backend: &dyn Backend) {
    let mut previous = None;
    for _ in 0..4 {
        let l = lock(backend, "prod").await;
        let token = l.fencing_token();
        if let Some(p) = previous {
            assert!(token > p, "fencing token went from {p} to {token}");
        }
        previous = Some(token);
        release(l).await;
    }
}

/// `force_unlock` with an ID other than the holder's is refused and the
/// lock stays held; on an unlocked stack it reports `NotLocked`.
pub async fn force_unlock_with_wrong_id_is_refused(backend: &dyn Backend) {
    match backend.force_unlock("prod", "no-such-lock").await {
        Err(Error::NotLocked { stack }) => assert_eq!(stack, "prod"),
        other => panic!("force_unlock of an unlocked stack: wanted NotLocked, got {other:?}"),
    }
    let held = lock(backend, "prod").await;
    match backend.force_unlock("prod", "no-such-lock").await {
        Err(Error::WrongLockId { stack, given, holder }) => {
            assert_eq!(stack, "prod");
            assert_eq!(given, "no-such-lock");
            assert_eq!(holder.id, held.info().id);
        }
        other => panic!("wanted WrongLockId, got {other:?}"),
    }
    assert!(
        matches!(backend.lock("prod", "apply", Duration::ZERO).await, Err(Error::Locked { .. })),
        "the lock must still be held"
    );
    release(held).await;
}

/// Each write that starts a new serial keeps the version it replaces:
/// `history` lists them newest first (without the current one) and
/// `read_version` returns each.
pub async fn history_lists_earlier_versions_and_read_version_returns_them(backend: &dyn Backend) {
    assert!(backend.history("prod").await.expect("history").is_empty());
    let l = lock(backend, "prod").await;
    let base = fresh();
    let states: Vec<State> =
        (1..=3).map(|serial| sample_state(&base, serial, &format!("v{serial}"))).collect();
    let mut version = None;
    for s in &states {
        version = Some(write(backend, &*l, s, version.as_ref()).await);
    }
    release(l).await;

    let history = backend.history("prod").await.expect("history");
    let serials: Vec<u64> = history.iter().map(|h| h.serial).collect();
    assert_eq!(serials, vec![2, 1], "history: {history:?}");
    for (entry, expected) in history.iter().zip([&states[1], &states[0]]) {
        assert!(entry.size > 0);
        assert!(!entry.written_at.is_empty());
        let old = backend.read_version("prod", &entry.version_id).await.expect("read_version");
        assert_eq!(&old, expected);
    }
    match backend.read_version("prod", "no-such-version").await {
        Err(Error::VersionNotFound { stack, version_id }) => {
            assert_eq!(stack, "prod");
            assert_eq!(version_id, "no-such-version");
        }
        other => panic!("wanted VersionNotFound, got {other:?}"),
    }
}

/// An operation writes many times at one serial (an apply commits each
/// step): every write reads back exactly, however the backend stores it
/// (whole, or as a journal of changes); `settle` keeps the state and ends
/// the operation; the next operation's history names the settled state.
pub async fn many_writes_of_one_operation_read_back_exactly_and_settle_keeps_them(backend: &dyn Backend) {
    let l = lock(backend, "prod").await;
    let base = fresh();
    let mut state = sample_state(&base, 1, "first");
    let mut version = write(backend, &*l, &state, None).await;
    for i in 0..40u32 {
        let mut next = state.clone();
        let mut extra = next.resources[&addr("net.vpc")].clone();
        extra.id = format!("vpc-{i:017x}");
        next.resources.insert(addr(&format!("net.extra-{i:02}")), extra);
        if i % 7 == 3 {
            next.resources.remove(&addr(&format!("net.extra-{:02}", i - 1)));
        }
        if i % 5 == 0 {
            next.outputs.insert(format!("out-{i}"), Value::from(i64::from(i)));
        }
        version = write(backend, &*l, &next, Some(&version)).await;
        let (read_back, at) = read(backend, "prod").await.expect("state after a write");
        assert_eq!(read_back, next, "write {i}");
        assert_eq!(at, version, "write {i}");
        state = next;
    }
    let settled = backend.settle(&*l, &version).await.expect("settle");
    let (read_back, at) = read(backend, "prod").await.expect("state after settle");
    assert_eq!(read_back, state);
    assert_eq!(at, settled);
    // The next operation: its history names the settled state.
    let mut next = state.clone();
    next.serial = 2;
    next.resources.remove(&addr("net.subnet-a"));
    let v2 = write(backend, &*l, &next, Some(&settled)).await;
    backend.settle(&*l, &v2).await.expect("settle");
    release(l).await;
    assert_eq!(read(backend, "prod").await.expect("state").0, next);
    let history = backend.history("prod").await.expect("history");
    let first = history.iter().find(|h| h.serial == 1).expect("serial 1 in the history");
    assert_eq!(backend.read_version("prod", &first.version_id).await.expect("read_version"), state);
}

/// `list_stacks` names every stack with stored state (sorted), and not
/// stacks that were only locked.
pub async fn list_stacks_lists_written_stacks(backend: &dyn Backend) {
    assert!(backend.list_stacks().await.expect("list").is_empty());
    for stack in ["beta", "alpha"] {
        let l = lock(backend, stack).await;
        write(backend, &*l, &sample_state(&fresh(), 1, stack), None).await;
        release(l).await;
    }
    let only_locked = lock(backend, "gamma").await;
    assert_eq!(backend.list_stacks().await.expect("list"), vec!["alpha".to_owned(), "beta".to_owned()]);
    release(only_locked).await;
}

/// Writes, locks and history of one stack do not affect another.
pub async fn stacks_are_isolated(backend: &dyn Backend) {
    let a = lock(backend, "a").await;
    let b = lock(backend, "b").await;
    let state_a = sample_state(&fresh(), 7, "a");
    let va = write(backend, &*a, &state_a, None).await;
    assert!(read(backend, "b").await.is_none());

    // B's first write expects no state, whatever A holds; another lineage
    // and a lower serial are fine in another stack.
    let state_b = sample_state(&fresh(), 1, "b");
    write(backend, &*b, &state_b, None).await;
    write(backend, &*a, &sample_state(&state_a, 8, "a2"), Some(&va)).await;

    assert_eq!(read(backend, "b").await.expect("b").0, state_b);
    assert_eq!(read(backend, "a").await.expect("a").0.serial, 8);
    assert!(backend.history("b").await.expect("history").is_empty());
    release(a).await;
    release(b).await;
}

/// Stack names that could escape a directory or key prefix are refused
/// by every method.
pub async fn invalid_stack_names_are_refused(backend: &dyn Backend) {
    for bad in ["../escape", "a/b", "", "with space"] {
        let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidStackName { .. }));
        assert!(invalid(backend.lock(bad, "apply", Duration::ZERO).await.map(drop)), "lock {bad:?}");
        assert!(invalid(backend.read(bad).await.map(drop)), "read {bad:?}");
        assert!(invalid(backend.history(bad).await.map(drop)), "history {bad:?}");
        assert!(invalid(backend.force_unlock(bad, "x").await), "force_unlock {bad:?}");
    }
    assert!(backend.list_stacks().await.expect("list").is_empty());
}
