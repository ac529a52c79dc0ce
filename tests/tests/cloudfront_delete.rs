//! Deleting a CloudFront distribution, on the simulated provider with
//! CloudFront's real deploy times in virtual time: the emulator deletes an
//! enabled distribution at once and reports `Deployed` after one read, so
//! it cannot show the disable, the minutes of waiting or a wait resumed.
//! Substitution: `infra-sim` with `Profile::seed()` (a distribution's
//! change deploys in 10 minutes; its delete is staged: disabled, deployed,
//! deleted) stands in for CloudFront here; the real provider's staged
//! delete runs against the emulator in crates/infra-aws/tests/cloudfront.rs.
//!
//! The delete disables the distribution, waits with progress events while
//! the disabling deploys, then deletes it. A double Ctrl-C during that wait
//! stops the run with the distribution still in the state; the next
//! destroy resumes the wait where it was (no second disable, the deploy
//! not restarted) and deletes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use infra_aws::cloudfront::{CacheBehavior, CustomOriginConfig, Distribution, ForwardedValues, Origin};
use infra_aws::ids::DnsName;
use infra_core::plan::{PlanOptions, StepKind};
use infra_core::{ProviderConfig, Stack};
use infra_engine::{
    Budget, BudgetConfig, Event, Events, Executor, ExecutorConfig, Interrupt, Mode, Operation, Outcome,
    RunOptions, run,
};
use infra_sim::{Profile, SimCloud, SimConfig, sim_registry};
use infra_state::{Backend, MemoryBackend};
use infra_tests::addr;
use tokio::time::Instant;

const TYPE: &str = "aws:cloudfront:Distribution";

fn stack() -> Stack {
    let mut s = Stack::new("edge");
    s.provider(ProviderConfig::aws("us-east-1"));
    s.add(
        "cdn",
        Distribution {
            origins: vec![Origin {
                origin_id: "alb".into(),
                domain_name: DnsName::unchecked("prod-alb-1.us-east-1.elb.amazonaws.com").into(),
                custom_origin_config: Some(CustomOriginConfig {
                    origin_ssl_protocols: vec!["TLSv1.2".into()],
                    ..Default::default()
                }),
                ..Default::default()
            }],
            default_cache_behavior: CacheBehavior {
                target_origin_id: "alb".into(),
                forwarded_values: Some(ForwardedValues { query_string: true, ..Default::default() }),
                ..Default::default()
            },
            enabled: true,
            comment: Some("edge".into()),
            ..Default::default()
        },
    );
    s
}

struct World {
    cloud: SimCloud,
    executor: Executor,
    backend: Arc<dyn Backend>,
}

fn world() -> World {
    let cloud = SimCloud::new(SimConfig::default());
    let registry = sim_registry(&cloud, &[ProviderConfig::aws("us-east-1")], &[TYPE]);
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    World { cloud, executor, backend: Arc::new(MemoryBackend::new()) }
}

async fn go(w: &World, mode: Mode, interrupt: &Interrupt) -> (Outcome, Vec<Event>) {
    let (events, mut rx) = Events::channel();
    let options = RunOptions { mode, lock_timeout: Duration::from_secs(1), refresh: true };
    let outcome = run(&w.executor, w.backend.clone(), &stack(), &options, &events, interrupt).await.unwrap();
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    (outcome, seen)
}

fn destroy() -> Mode {
    Mode::Destroy { targets: vec![] }
}

/// The cloud's calls on the distribution since `from`, by operation, but
/// the refresh's reads.
fn calls(w: &World, from: usize) -> Vec<Operation> {
    w.cloud.call_log()[from..]
        .iter()
        .filter(|c| c.type_name == TYPE && c.operation != Operation::Read)
        .map(|c| c.operation)
        .collect()
}

/// The statuses of the delete's `Waiting` events.
fn delete_waits(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Waiting { address, kind: StepKind::Delete, status, .. } if *address == addr("cdn") => {
                Some(status.clone())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_delete_disables_waits_with_progress_then_deletes() {
    let deploy = Profile::seed().get(TYPE).ready_after_update;
    let w = world();
    let (applied, _) = go(&w, Mode::Apply(PlanOptions::default()), &Interrupt::new()).await;
    assert!(applied.report.success(), "{:?}", applied.report);
    let before = w.cloud.call_log().len();

    let began = Instant::now();
    let (gone, events) = go(&w, destroy(), &Interrupt::new()).await;
    assert!(gone.report.success(), "{:?}", gone.report);
    assert!(gone.state.resources.is_empty());
    assert!(w.cloud.resources().is_empty(), "the distribution is deleted");
    assert!(began.elapsed() >= deploy, "the delete lasted the deploy: {:?}", began.elapsed());

    let ops = calls(&w, before);
    let disable = ops.iter().position(|o| *o == Operation::Update).expect("no disable");
    let delete = ops.iter().position(|o| *o == Operation::Delete).expect("no delete");
    assert!(disable < delete, "disabled before deleted: {ops:?}");
    assert_eq!(ops.iter().filter(|o| **o == Operation::Update).count(), 1, "{ops:?}");
    assert!(ops[disable..delete].iter().filter(|o| **o == Operation::Poll).count() >= 2, "{ops:?}");

    let waits = delete_waits(&events);
    assert!(waits.len() >= 2, "progress while the disabling deploys: {waits:?}");
    assert!(waits.iter().all(|s| s.starts_with("disabling")), "{waits:?}");
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_delete_wait_resumes_without_disabling_again() {
    let deploy = Profile::seed().get(TYPE).ready_after_update;
    let w = world();
    let (applied, _) = go(&w, Mode::Apply(PlanOptions::default()), &Interrupt::new()).await;
    assert!(applied.report.success(), "{:?}", applied.report);
    let before = w.cloud.call_log().len();

    // Ctrl-C twice, three minutes into the destroy: the disabling deploys.
    let interrupt = Interrupt::new();
    let trigger = interrupt.clone();
    let began = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(180)).await;
        trigger.trigger();
        trigger.trigger();
    });
    let (first, events) = go(&w, destroy(), &interrupt).await;
    assert!(first.report.interrupted, "{:?}", first.report);
    assert!(first.state.resources.contains_key(&addr("cdn")), "still in the state");
    assert_eq!(w.cloud.resources().len(), 1, "disabled, not deleted");
    assert!(!delete_waits(&events).is_empty(), "the wait had begun");
    let ops = calls(&w, before);
    assert_eq!(ops.iter().filter(|o| **o == Operation::Update).count(), 1, "one disable: {ops:?}");
    assert!(!ops.contains(&Operation::Delete), "{ops:?}");

    // Destroy again: the wait resumes where it was.
    let resumed_at = w.cloud.call_log().len();
    let (second, events) = go(&w, destroy(), &Interrupt::new()).await;
    assert!(second.report.success(), "{:?}", second.report);
    assert!(second.state.resources.is_empty());
    assert!(w.cloud.resources().is_empty());
    let ops = calls(&w, resumed_at);
    assert!(!ops.contains(&Operation::Update), "disabled again: {ops:?}");
    assert_eq!(ops.last(), Some(&Operation::Delete), "{ops:?}");
    assert!(!delete_waits(&events).is_empty(), "the resumed wait shows progress");
    // The deploy was not restarted: both runs together took about one
    // deploy, not one and a bit more.
    let total = began.elapsed();
    assert!(total >= deploy, "{total:?}");
    assert!(total < deploy + Duration::from_secs(120), "the deploy restarted: {total:?}");
}
