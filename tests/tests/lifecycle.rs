//! The engine's specification: lifecycle tests on the simulated cloud.
//!
//! Every test runs in tokio's paused virtual time, so realistic latencies
//! (minutes) cost nothing, and timing assertions are exact. State goes
//! through the in-memory backend, which passes the same conformance suite
//! as the file and S3 backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use infra_core::plan::{PlanOptions, StepKind};
use infra_core::{Address, Options, ProviderConfig, Stack, State};
use infra_engine::{
    Budget, BudgetConfig, ErrorKind, Event, Events, Executor, ExecutorConfig, Interrupt, Mode, Operation,
    Outcome, ProviderError, RunOptions, run,
};
use infra_sim::{
    CallOutcome, FailureRule, Profile, RateLimit, RateLimits, SimCloud, SimConfig, sim_registry,
};
use infra_state::{Backend, MemoryBackend};
use infra_tests::dags::{apply_edits, build, dag, edits, name};
use infra_tests::sim::assert_state_matches_cloud;
use infra_tests::{Node, UniqueNode, addr};
use proptest::prelude::*;

const TYPES: [&str; 2] = ["test:fake:Node", "test:fake:UniqueNode"];

struct World {
    cloud: SimCloud,
    executor: Executor,
    backend: Arc<MemoryBackend>,
}

fn world(config: SimConfig) -> World {
    world_with(config, BudgetConfig::default())
}

fn world_with(config: SimConfig, budget: BudgetConfig) -> World {
    let cloud = SimCloud::new(config);
    let registry = sim_registry(&cloud, &[ProviderConfig::aws("us-east-1")], &TYPES);
    let executor = Executor::new(Arc::new(registry), Budget::new(budget), ExecutorConfig::default());
    World { cloud, executor, backend: Arc::new(MemoryBackend::new()) }
}

/// Seconds-scale latencies: create 2 s, ready 10 s after.
fn timed() -> SimConfig {
    SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(2), Duration::from_secs(10)))
}

async fn go(
    w: &World,
    stack: &Stack,
    mode: Mode,
    interrupt: &Interrupt,
) -> (Result<Outcome, infra_engine::Error>, Vec<Event>) {
    let (events, mut rx) = Events::channel();
    let options = RunOptions { mode, lock_timeout: Duration::from_secs(1), refresh: true };
    let backend: Arc<dyn Backend> = w.backend.clone();
    let outcome = run(&w.executor, backend, stack, &options, &events, interrupt).await;
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    (outcome, seen)
}

async fn apply(w: &World, stack: &Stack) -> (Outcome, Vec<Event>) {
    let (o, e) = go(w, stack, Mode::Apply(PlanOptions::default()), &Interrupt::new()).await;
    (o.unwrap(), e)
}

async fn destroy(w: &World, stack: &Stack) -> Outcome {
    go(w, stack, Mode::Destroy { targets: vec![] }, &Interrupt::new()).await.0.unwrap()
}

async fn stored(w: &World, stack: &str) -> State {
    w.backend.read(stack).await.unwrap().unwrap().0
}

async fn plan_is_empty(w: &World, stack: &Stack) -> bool {
    let state = stored(w, stack.name()).await;
    infra_core::plan::plan(stack, &state, &PlanOptions::default()).unwrap().is_empty()
}

/// The sim's call log: when each address's create/delete started and when
/// it finished.
fn windows(cloud: &SimCloud, op: Operation) -> BTreeMap<Address, (Duration, Duration)> {
    cloud
        .call_log()
        .into_iter()
        .filter(|c| c.operation == op && !c.find && c.outcome == CallOutcome::Ok)
        .filter_map(|c| Some((c.address?, (c.at, c.finished_at?))))
        .collect()
}

fn paused() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// plan -> apply -> plan is empty; no create starts before its
    /// dependencies are available; an edit converges; destroy empties both
    /// the state and the cloud.
    #[test]
    fn random_graphs_apply_converge_and_destroy((specs, edit) in dag().prop_flat_map(|s| { let n = s.len(); (Just(s), edits(n)) })) {
        paused().block_on(async {
            let w = world(timed());
            let stack = build(&specs);
            let (outcome, _) = apply(&w, &stack).await;
            assert!(outcome.report.success(), "{:?}", outcome.report);
            assert!(plan_is_empty(&w, &stack).await);
            assert_state_matches_cloud(&stored(&w, "prop").await, &w.cloud);

            let creates = windows(&w.cloud, Operation::Create);
            let ready: BTreeMap<String, Duration> =
                w.cloud.resources().into_iter().map(|r| (r.id, r.ready_at)).collect();
            let state = stored(&w, "prop").await;
            for (i, s) in specs.iter().enumerate() {
                let (start, _) = creates[&addr(&name(i))];
                for d in &s.deps {
                    let dep = &state.resources[&addr(&name(*d))];
                    let (_, dep_done) = creates[&addr(&name(*d))];
                    assert!(dep_done <= start, "{} created before {} returned", name(i), name(*d));
                    assert!(ready[&dep.id] <= start, "{} created before {} was available", name(i), name(*d));
                }
            }

            let edited = build(&apply_edits(&specs, &edit));
            let (outcome, _) = apply(&w, &edited).await;
            assert!(outcome.report.success(), "{:?}", outcome.report);
            assert!(plan_is_empty(&w, &edited).await);
            assert_state_matches_cloud(&stored(&w, "prop").await, &w.cloud);

            let outcome = destroy(&w, &edited).await;
            assert!(outcome.report.success());
            assert!(outcome.state.resources.is_empty() && outcome.state.deposed.is_empty());
            assert!(w.cloud.resources().is_empty(), "left in the cloud: {:?}", w.cloud.resources());
        });
    }
}

fn chain_stack(zone: &str, unique_name: &str) -> Stack {
    let mut s = Stack::new("t");
    s.provider(ProviderConfig::aws("us-east-1"));
    let a = s.add("a", Node { zone: zone.into(), size: 1, ..Default::default() });
    s.add("b", Node { zone: "z".into(), size: 1, deps: vec![a.id().into()], ..Default::default() });
    s.add("u", UniqueNode { name: unique_name.into(), deps: vec![] });
    s
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_creates_moves_dependents_then_deletes() {
    let w = world(timed());
    apply(&w, &chain_stack("z1", "u1")).await;
    let old_a = stored(&w, "t").await.resources[&addr("a")].id.clone();
    let (outcome, _) = apply(&w, &chain_stack("z2", "u1")).await;
    assert!(outcome.report.success());
    let log = w.cloud.call_log();
    let pos = |op: Operation, a: &str| {
        log.iter().position(|c| {
            c.operation == op
                && !c.find
                && c.address.as_ref() == Some(&addr(a))
                && c.at > Duration::ZERO
                && c.outcome.is_ok()
                && (op != Operation::Create || c.id.as_deref() != Some(&old_a))
        })
    };
    let created =
        log.iter().rposition(|c| c.operation == Operation::Create && c.address == Some(addr("a"))).unwrap();
    let updated_b = pos(Operation::Update, "b").unwrap();
    let deleted =
        log.iter().position(|c| c.operation == Operation::Delete && c.id.as_deref() == Some(&old_a)).unwrap();
    assert!(
        created < updated_b && updated_b < deleted,
        "create {created}, move b {updated_b}, delete old {deleted}"
    );
    assert_state_matches_cloud(&stored(&w, "t").await, &w.cloud);
}

#[tokio::test(start_paused = true)]
async fn delete_before_create_deletes_first() {
    let w = world(timed());
    apply(&w, &chain_stack("z1", "u1")).await;
    let old = stored(&w, "t").await.resources[&addr("u")].id.clone();
    let (outcome, _) = apply(&w, &chain_stack("z1", "u2")).await;
    assert!(outcome.report.success());
    let log = w.cloud.call_log();
    let deleted =
        log.iter().position(|c| c.operation == Operation::Delete && c.id.as_deref() == Some(&old)).unwrap();
    let created =
        log.iter().rposition(|c| c.operation == Operation::Create && c.address == Some(addr("u"))).unwrap();
    assert!(
        log[deleted].finished_at.unwrap() <= log[created].at,
        "the old object must be gone before the new one is made"
    );
    assert_state_matches_cloud(&stored(&w, "t").await, &w.cloud);
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_skips_its_dependents_and_independent_branches_go_on() {
    let failing = FailureRule::new(
        Operation::Create,
        1,
        ProviderError::new(ErrorKind::Final, "The subnet ID 'x' is malformed")
            .with_code("InvalidSubnetID.Malformed")
            .with_request_id("req-1"),
    )
    .at_address("a");
    let w = world(timed().with_failure(failing));
    let stack = chain_stack("z1", "u1");
    let (outcome, events) = apply(&w, &stack).await;
    let r = &outcome.report;
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].0, addr("a"));
    assert!(
        r.failed[0].2.contains("InvalidSubnetID.Malformed") && r.failed[0].2.contains("req-1"),
        "{}",
        r.failed[0].2
    );
    assert_eq!(r.skipped, [(addr("b"), StepKind::Create, "a failed".to_string())]);
    assert_eq!(r.applied, [(addr("u"), StepKind::Create)]);
    assert!(events.iter().any(|e| matches!(e, Event::Skipped { address, .. } if address == &addr("b"))));
    let state = stored(&w, "t").await;
    assert_state_matches_cloud(&state, &w.cloud);
    assert_eq!(state.resources.keys().collect::<Vec<_>>(), [&addr("u")]);
    // The next apply finishes the job.
    let (outcome, _) = apply(&w, &stack).await;
    assert!(outcome.report.success());
    assert!(plan_is_empty(&w, &stack).await);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_throttles_slows_only_its_budget_and_fails_no_step() {
    // us-east-1's account allows 1 mutating call a second (burst 2);
    // eu-west-1's is unlimited. The engine's budgets start at 5/s in both.
    let us_key = infra_core::ProviderKey("aws.us-east-1".into());
    let mut limits = RateLimits::unlimited();
    for class in ["mutating", "non-mutating"] {
        limits = limits.with_provider_class(
            us_key.clone(),
            infra_engine::ApiClass::new("fake", class),
            RateLimit::new(1.0, 2),
        );
    }
    let limits = limits.with_fallbacks(None, None);
    let cloud = SimCloud::new(timed().with_rate_limits(limits));
    let configs = [ProviderConfig::aws("us-east-1"), ProviderConfig::aws("eu-west-1")];
    let registry = sim_registry(&cloud, &configs, &TYPES);
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    let w = World { cloud, executor, backend: Arc::new(MemoryBackend::new()) };
    let mut stack = Stack::new("t");
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let eu = stack.provider(ProviderConfig::aws("eu-west-1"));
    for i in 0..12 {
        for key in [&us, &eu] {
            stack.add_with(
                &format!("n{i}-{}", key.0.replace('.', "-")),
                Node { zone: "z".into(), size: 1, ..Default::default() },
                infra_core::Options::new().provider(key),
            );
        }
    }
    let (outcome, _) = apply(&w, &stack).await;
    assert!(outcome.report.success(), "no step fails: {:?}", outcome.report);
    let stats = w.executor.budget().stats();
    let of =
        |key: &infra_core::ProviderKey| stats.iter().filter(|s| &s.key.provider == key).collect::<Vec<_>>();
    assert!(of(&us_key).iter().any(|s| s.throttled > 0), "{stats:?}");
    assert!(
        of(&us_key).iter().all(|s| s.throttled == 0 || s.rate < 5.0),
        "the throttled budget slowed: {stats:?}"
    );
    assert!(
        of(&eu).iter().all(|s| s.throttled == 0 && s.rate >= 5.0),
        "the other region's budget is untouched: {stats:?}"
    );
    assert_state_matches_cloud(&stored(&w, "t").await, &w.cloud);
}

/// A step's time queued for rate budget is reported apart from its time
/// on the cloud, and while steps run the budgets report their calls per
/// second, limit and queue.
#[tokio::test(start_paused = true)]
async fn progress_reports_time_queued_for_budget_apart_and_each_budgets_rate() {
    let mut budget = BudgetConfig::default();
    budget.services.insert("fake".into(), infra_engine::Rate::new(1.0, 1.0));
    // Created in 2 s and ready at once: no readiness polls share the budget.
    let quick = SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(2), Duration::ZERO));
    let w = world_with(quick, budget);
    let mut stack = Stack::new("t");
    stack.provider(ProviderConfig::aws("us-east-1"));
    for i in 0..6 {
        stack.add(&format!("n{i}"), Node { zone: "z".into(), size: 1, ..Default::default() });
    }
    let (outcome, events) = apply(&w, &stack).await;
    assert!(outcome.report.success(), "{:?}", outcome.report);
    let done: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Done { elapsed_ms, queued_ms, .. } => Some((*elapsed_ms, *queued_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 6);
    // One create a second: the last of six waited about five seconds.
    let longest = done.iter().map(|(_, q)| *q).max().unwrap();
    assert!((4_500..=5_500).contains(&longest), "longest queue {longest} ms: {done:?}");
    assert!(done.iter().all(|(e, q)| q <= e), "{done:?}");
    // Time on the cloud is the same for all, however long they queued.
    let on_cloud: Vec<u64> = done.iter().map(|(e, q)| e - q).collect();
    let (lo, hi) = (on_cloud.iter().min().unwrap(), on_cloud.iter().max().unwrap());
    assert!(hi - lo <= 1_000, "time on the cloud {on_cloud:?}");
    let samples: Vec<&infra_engine::RateSample> = events
        .iter()
        .filter_map(|e| match e {
            Event::Rates { budgets } => Some(budgets),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(samples.iter().any(|s| s.queued > 0 && s.limit_per_s == Some(1.0)), "{samples:?}");
    assert!(samples.iter().all(|s| s.calls_per_s <= 2), "{samples:?}");
}

#[tokio::test(start_paused = true)]
async fn throttling_and_eventual_consistency_are_retried() {
    // The cloud allows 1 mutating call a second with a burst of 2, the
    // engine's budget thinks 5/s: the cloud throttles, the engine retries
    // and slows down. New IDs are invisible to dependents for 3 s.
    let limits = RateLimits::unlimited().with_fallbacks(Some(RateLimit::new(1.0, 2)), None);
    let w = world(timed().with_rate_limits(limits).with_consistency_window(Duration::from_secs(3)));
    let mut stack = Stack::new("t");
    stack.provider(ProviderConfig::aws("us-east-1"));
    let root = stack.add("root", Node { zone: "z".into(), size: 1, ..Default::default() });
    for i in 0..8 {
        stack.add(
            &format!("n{i}"),
            Node { zone: "z".into(), size: 1, deps: vec![root.id().into()], ..Default::default() },
        );
    }
    let (outcome, events) = apply(&w, &stack).await;
    assert!(outcome.report.success(), "{:?}", outcome.report);
    let retried: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { error, .. } => Some(error.as_str()),
            _ => None,
        })
        .collect();
    assert!(retried.iter().any(|e| e.starts_with("RequestLimitExceeded")), "{retried:?}");
    let failed: Vec<ErrorKind> = w.cloud.call_log().iter().filter_map(|c| c.outcome.error_kind()).collect();
    assert!(failed.contains(&ErrorKind::Throttled));
    assert!(w.executor.budget().stats().iter().any(|s| s.throttled > 0));
    assert_state_matches_cloud(&stored(&w, "t").await, &w.cloud);

    // Eventual consistency alone: a dependent's create right after its
    // dependency is retried until the new ID is visible.
    let w = world(
        timed()
            .with_profile(Profile::uniform(Duration::from_secs(1), Duration::ZERO))
            .with_consistency_window(Duration::from_secs(5)),
    );
    let (outcome, events) = apply(&w, &chain_stack("z1", "u1")).await;
    assert!(outcome.report.success());
    assert!(events.iter().any(|e| matches!(e, Event::Retrying { error, .. } if error.contains("NotFound"))));
}

#[tokio::test(start_paused = true)]
async fn dependents_wait_for_readiness_and_waits_time_out_naming_the_resource() {
    let slow =
        SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(5), Duration::from_secs(300)));
    let w = world(slow);
    let (outcome, events) = apply(&w, &chain_stack("z1", "u1")).await;
    assert!(outcome.report.success());
    assert!(events.iter().any(|e| matches!(e, Event::Waiting { address, status, .. } if address == &addr("a") && status == "creating")));
    let creates = windows(&w.cloud, Operation::Create);
    let a_ready = w.cloud.resources().into_iter().find(|r| r.address == Some(addr("a"))).unwrap().ready_at;
    assert!(creates[&addr("b")].0 >= a_ready);
    // Noticed within 2% of the wait (polling), not a whole poll interval late.
    assert!(
        creates[&addr("b")].0 <= a_ready + Duration::from_secs(7),
        "{:?} vs {a_ready:?}",
        creates[&addr("b")].0
    );

    let w = world(
        SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(5), Duration::from_secs(300))),
    );
    let mut stack = Stack::new("t");
    stack.provider(ProviderConfig::aws("us-east-1"));
    let a = stack.add_with(
        "a",
        Node { zone: "z".into(), size: 1, ..Default::default() },
        Options::new().create_timeout(Duration::from_secs(60)),
    );
    stack.add("b", Node { zone: "z".into(), size: 1, deps: vec![a.id().into()], ..Default::default() });
    let (outcome, _) = apply(&w, &stack).await;
    let (address, _, error) = &outcome.report.failed[0];
    assert_eq!(address, &addr("a"));
    assert!(error.contains("a: still \"creating\" after waiting 1m"), "{error}");
    assert_eq!(outcome.report.skipped[0].0, addr("b"));
    // The resource exists, so it is in the state: nothing is orphaned.
    assert_state_matches_cloud(&stored(&w, "t").await, &w.cloud);
}

#[tokio::test(start_paused = true)]
async fn first_interrupt_finishes_in_flight_steps_and_starts_nothing_new() {
    let w = world(
        SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(5), Duration::from_secs(60))),
    );
    let stack = chain_stack("z1", "u1");
    let interrupt = Interrupt::new();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        trigger.trigger();
    });
    let (outcome, _) = go(&w, &stack, Mode::Apply(PlanOptions::default()), &interrupt).await;
    let outcome = outcome.unwrap();
    let r = &outcome.report;
    assert!(r.interrupted);
    // `a` and `u` were in flight and finished (their readiness waits too);
    // `b` never started.
    assert_eq!(
        r.applied.iter().map(|(a, _)| a.clone()).collect::<BTreeSet<_>>(),
        BTreeSet::from([addr("a"), addr("u")])
    );
    assert_eq!(r.skipped[0].0, addr("b"));
    assert!(r.failed.is_empty());
    assert_state_matches_cloud(&stored(&w, "t").await, &w.cloud);
    assert!(w.backend.lock("t", "check", Duration::ZERO).await.is_ok(), "the lock was released");
}

#[tokio::test(start_paused = true)]
async fn second_interrupt_aborts_waits_and_keeps_what_exists() {
    let w = world(
        SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(5), Duration::from_secs(600))),
    );
    let stack = chain_stack("z1", "u1");
    let interrupt = Interrupt::new();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        trigger.trigger();
        trigger.trigger();
    });
    let (outcome, _) = go(&w, &stack, Mode::Apply(PlanOptions::default()), &interrupt).await;
    let r = outcome.unwrap().report;
    assert!(r.interrupted);
    assert!(r.failed.iter().all(|(_, _, e)| e.contains("interrupted while waiting")), "{:?}", r.failed);
    assert_eq!(r.failed.len(), 2);
    let state = stored(&w, "t").await;
    assert_state_matches_cloud(&state, &w.cloud);
    // The state says their waits did not finish.
    assert!(state.resources[&addr("a")].waiting && state.resources[&addr("u")].waiting);
    // The next run waits for them again — no call changes them — before
    // what depends on them, and finishes.
    let calls_before = w.cloud.call_log().len();
    let (outcome, events) = apply(&w, &stack).await;
    assert!(outcome.report.success(), "{:?}", outcome.report);
    let log = w.cloud.call_log();
    let again: Vec<_> = log[calls_before..]
        .iter()
        .filter(|c| c.operation != Operation::Read && c.operation != Operation::Poll)
        .map(|c| (c.operation, c.address.clone()))
        .collect();
    assert_eq!(again, [(Operation::Create, Some(addr("b")))], "only b is created");
    let waited =
        |a: &str| events.iter().any(|e| matches!(e, Event::Waiting { address, .. } if *address == addr(a)));
    assert!(waited("a") && waited("u"), "{events:?}");
    assert!(!stored(&w, "t").await.resources[&addr("a")].waiting);
    assert_eq!(w.cloud.count_by_address().values().max(), Some(&1));
}

#[tokio::test(start_paused = true)]
async fn serial_advances_once_per_apply() {
    let w = world(timed());
    let stack = chain_stack("z1", "u1");
    apply(&w, &stack).await;
    assert_eq!(stored(&w, "t").await.serial, 1);
    // A no-op apply writes nothing.
    apply(&w, &stack).await;
    assert_eq!(stored(&w, "t").await.serial, 1);
    apply(&w, &chain_stack("z2", "u1")).await;
    assert_eq!(stored(&w, "t").await.serial, 2);
    assert_eq!(w.backend.history("t").await.unwrap().len(), 1);
}

/// A create whose outcome was lost (the process died after recording the
/// intent): if the cloud made it, the next run adopts it; if not, the next
/// run creates it with the same idempotency token.
#[tokio::test(start_paused = true)]
async fn lost_creates_are_adopted_or_redone_with_the_same_token() {
    use infra_engine::{CreateRequest, FindRequest, ResourceProvider};
    let w = world(timed());
    let stack = chain_stack("z1", "u1");
    apply(&w, &stack).await;
    let mut state = stored(&w, "t").await;
    // Pretend `a` and `u` were being created when the process died: the
    // intents are recorded, the results are not. The cloud made `a` (with
    // the recorded token) but never got the call for `u`.
    let a = state.resources.remove(&addr("a")).unwrap();
    let u = state.resources.remove(&addr("u")).unwrap();
    let a_token = w.cloud.resource(&a.id).unwrap().token;
    w.cloud.delete_outside(&u.id).unwrap();
    for (address, token) in [("a", a_token.clone()), ("u", "infra-lost-token".to_string())] {
        state.pending.push(infra_core::PendingOperation {
            id: token,
            address: addr(address),
            kind: infra_core::OperationKind::Create,
            type_name: if address == "u" { "test:fake:UniqueNode" } else { "test:fake:Node" }.into(),
            provider: infra_core::ProviderKey("aws.us-east-1".into()),
            physical_id: None,
            started_at: "2026-01-01T00:00:00Z".into(),
        });
    }
    let lock = w.backend.lock("t", "test", Duration::ZERO).await.unwrap();
    let version = w.backend.read("t").await.unwrap().map(|(_, v)| v);
    state.serial += 1;
    w.backend.write(&*lock, &state, version.as_ref()).await.unwrap();
    lock.release().await.unwrap();

    let (outcome, events) = apply(&w, &stack).await;
    assert!(outcome.report.success(), "{:?}", outcome.report);
    assert_eq!(outcome.recovered, 1, "only `a` is found; `u`'s intent is kept");
    assert!(events.iter().any(|e| matches!(e, Event::Recovered { address, outcome } if address == &addr("a") && outcome.contains("adopted"))));
    let state = stored(&w, "t").await;
    assert_eq!(state.resources[&addr("a")].id, a.id, "adopted, not created again");
    let u_new = w.cloud.resource(&state.resources[&addr("u")].id).unwrap();
    assert_eq!(u_new.token, "infra-lost-token", "the redone create reused the recorded token");
    assert_state_matches_cloud(&state, &w.cloud);
    assert!(plan_is_empty(&w, &stack).await);

    // The token really is what prevents a duplicate: a late completion of
    // the lost call returns the same resource.
    let provider =
        infra_sim::SimProvider::new(&w.cloud, ProviderConfig::aws("us-east-1"), "test:fake:UniqueNode");
    let again = provider
        .create(CreateRequest {
            address: addr("u"),
            inputs: Default::default(),
            token: "infra-lost-token".into(),
            tags: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(again.id, u_new.id);
    let found = provider
        .find(FindRequest {
            address: addr("u"),
            token: "infra-lost-token".into(),
            tags: Default::default(),
            inputs: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(found.map(|o| o.id), Some(u_new.id));
}

/// The old object of a create-before-destroy replacement that an
/// interrupted run did not delete is deleted by the next run.
#[tokio::test(start_paused = true)]
async fn deposed_objects_left_by_an_interrupted_replacement_are_deleted() {
    let w = world(
        SimConfig::default().with_profile(Profile::uniform(Duration::from_secs(5), Duration::from_secs(60))),
    );
    apply(&w, &chain_stack("z1", "u1")).await;
    // Replace `a` (create before destroy) and interrupt twice while its new
    // object is still becoming available: the old one is deposed.
    let interrupt = Interrupt::new();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        trigger.trigger();
        trigger.trigger();
    });
    let replaced = chain_stack("z2", "u1");
    let (outcome, _) = go(&w, &replaced, Mode::Apply(PlanOptions::default()), &interrupt).await;
    assert!(outcome.unwrap().report.interrupted);
    let state = stored(&w, "t").await;
    assert_eq!(state.deposed.len(), 1, "{:?}", state.deposed);
    assert_state_matches_cloud(&state, &w.cloud);
    let p = infra_core::plan::plan(&replaced, &state, &PlanOptions::default()).unwrap();
    assert!(p.changes.iter().any(|c| c.deposed.is_some()), "the plan deletes the deposed object");

    let (outcome, _) = apply(&w, &replaced).await;
    assert!(outcome.report.success(), "{:?}", outcome.report);
    let state = stored(&w, "t").await;
    assert!(state.deposed.is_empty());
    assert_state_matches_cloud(&state, &w.cloud);
    assert!(plan_is_empty(&w, &replaced).await);
}
