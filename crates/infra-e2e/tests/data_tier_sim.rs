//! The production example with its data tier on the simulated provider,
//! with AWS-like latencies in virtual time (an Aurora instance takes ten
//! minutes to become available, a Redis replication group ten, a cluster
//! five): the emulator makes every Aurora and Redis resource available at
//! once, so it cannot show a wait, an interrupted one or its resumption.
//! Substitution: `infra-sim` with `Profile::seed()` stands in for RDS and
//! ElastiCache here.
//!
//! A double Ctrl-C eight minutes in stops the waits for the Aurora
//! instances; the state records them as `waiting`; the next apply waits for
//! them again without a call that changes them, creates nothing twice and
//! finishes; the apply after that has nothing to do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use infra::core::plan::PlanOptions;
use infra::core::{Address, Stack};
use infra::engine::{
    Budget, BudgetConfig, Event, Events, Executor, ExecutorConfig, Interrupt, Mode, Operation, Outcome,
    RunOptions, run,
};
use infra::state::{Backend, MemoryBackend};
use infra_sim::{SimCloud, SimConfig, sim_registry};

struct World {
    cloud: SimCloud,
    executor: Executor,
    backend: Arc<dyn Backend>,
}

fn world(stack: &Stack) -> World {
    let cloud = SimCloud::new(SimConfig::default());
    let configs: Vec<_> = stack.providers().values().cloned().collect();
    let types: BTreeSet<&str> = stack.resources().iter().map(|r| r.schema.type_name).collect();
    let registry = sim_registry(&cloud, &configs, &types.into_iter().collect::<Vec<_>>());
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    World { cloud, executor, backend: Arc::new(MemoryBackend::new()) }
}

async fn go(w: &World, stack: &Stack, mode: Mode, interrupt: &Interrupt) -> (Outcome, Vec<Event>) {
    let (events, mut rx) = Events::channel();
    let options = RunOptions { mode, lock_timeout: Duration::from_secs(1), refresh: true };
    let outcome = run(&w.executor, w.backend.clone(), stack, &options, &events, interrupt).await.unwrap();
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    (outcome, seen)
}

fn apply() -> Mode {
    Mode::Apply(PlanOptions::default())
}

fn is_instance(a: &Address) -> bool {
    a.to_string().contains("-db.instance-")
}

/// Every output the example wires is one the simulated provider makes
/// (`id`, `arn`, `name` and its profile's outputs for the type).
#[test]
fn the_simulated_provider_makes_every_output_the_example_wires() {
    let stack = common::example::stack();
    let profile = infra_sim::Profile::seed();
    let mut missing = BTreeSet::new();
    for decl in stack.resources() {
        for value in decl.inputs.values() {
            for r in value.references() {
                let Some(target) = stack.resource(&r.address) else { continue };
                let t = target.schema.type_name;
                let name = r.output.split(['.', '[']).next().unwrap_or_default().to_owned();
                let made =
                    ["id", "arn", "name"].contains(&name.as_str()) || profile.get(t).outputs.contains(&name);
                if !made {
                    missing.insert(format!("{t}.{name}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "outputs the seed profile does not make: {missing:?}");
}

#[tokio::test(start_paused = true)]
async fn a_ctrl_c_during_the_aurora_waits_is_resumed_and_creates_nothing_twice() {
    let stack = common::example::stack();
    let instances =
        stack.resources().iter().filter(|r| r.schema.type_name == "aws:rds:ClusterInstance").count();
    assert_eq!(instances, 9, "two per primary, one per replica");
    let w = world(&stack);

    // Ctrl-C twice, eight minutes in: the instances are still coming up.
    let interrupt = Interrupt::new();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(8 * 60)).await;
        trigger.trigger();
        trigger.trigger();
    });
    let (first, _) = go(&w, &stack, apply(), &interrupt).await;
    assert!(first.report.interrupted);
    let stopped: Vec<&Address> = first
        .report
        .failed
        .iter()
        .filter(|(_, _, e)| e.contains("interrupted while waiting"))
        .map(|(a, _, _)| a)
        .collect();
    assert!(
        stopped.iter().any(|a| is_instance(a)),
        "no Aurora wait was interrupted: {:?}",
        first.report.failed
    );
    for a in &stopped {
        assert!(first.state.resources[*a].waiting, "{a} is not recorded as waiting");
    }
    let made_first: BTreeSet<Address> = first.state.resources.keys().cloned().collect();

    // Apply again: the waits resume, nothing is made twice.
    let calls = w.cloud.call_log().len();
    let (second, events) = go(&w, &stack, apply(), &Interrupt::new()).await;
    assert!(second.report.success(), "{:?}", second.report);
    for a in &stopped {
        let waited = events.iter().any(|e| matches!(e, Event::Waiting { address, .. } if address == *a));
        assert!(waited, "{a}: its wait did not resume");
        assert!(!second.state.resources[*a].waiting);
    }
    let remade: Vec<_> = w.cloud.call_log()[calls..]
        .iter()
        .filter(|c| {
            c.operation == Operation::Create && c.address.as_ref().is_some_and(|a| made_first.contains(a))
        })
        .map(|c| c.address.clone())
        .collect();
    assert!(remade.is_empty(), "created again: {remade:?}");
    assert_eq!(w.cloud.count_by_address().values().max(), Some(&1), "a duplicate in the cloud");
    assert_eq!(second.state.resources.len(), stack.resources().len());

    let (third, _) = go(&w, &stack, apply(), &Interrupt::new()).await;
    let pending: Vec<_> = third.plan.actionable().map(|c| c.address.to_string()).collect();
    assert!(pending.is_empty(), "the plan after the resumed apply is not empty: {pending:?}");
}
