//! Deletion is a step with a wait: a delete the provider answers `Pending`
//! is polled until gone (with `waiting` events), what depends on the
//! resource is deleted only after, and `Options::delete_timeout` bounds
//! the wait. A fake provider stands in for types whose deletes take
//! minutes on AWS (NAT gateways, attachments, Aurora, CloudFront): the
//! emulator deletes them at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use infra_core::plan::{PlanOptions, StepKind};
use infra_core::{Fields, Options, ProviderConfig, Stack, Value};
use infra_engine::{
    ApiClass, Budget, BudgetConfig, CreateRequest, DeleteRequest, Deletion, Event, Events, Executor,
    ExecutorConfig, FindRequest, Interrupt, Mode, Observed, Operation, PollRequest, ProviderError,
    ProviderInstance, ReadRequest, ReadResponse, Readiness, Registry, ResourceProvider, RunOptions, Timings,
    UpdateRequest, run,
};
use infra_state::MemoryBackend;
use infra_tests::{Node, addr};

/// Objects that take `polls` deletion polls to go (`None`: never).
#[derive(Debug, Default)]
struct Slow {
    objects: Mutex<BTreeMap<String, Option<u32>>>,
    polls: Option<u32>,
}

#[async_trait]
impl ResourceProvider for Slow {
    fn api_class(&self, op: Operation) -> ApiClass {
        ApiClass::generic("fake", op)
    }

    fn timings(&self) -> Timings {
        Timings::secs(1, 1, 30, 5, 600)
    }

    async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
        let id = format!("n-{}", req.address);
        self.objects.lock().unwrap().insert(id.clone(), None);
        let outputs = Fields::from([("id".to_owned(), Value::from(id.as_str()))]);
        Ok(Observed { id, inputs: req.inputs, outputs })
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let objects = self.objects.lock().unwrap();
        let found = req
            .ids
            .into_iter()
            .filter(|id| objects.get(id).is_some_and(Option::is_none))
            .map(|id| (id.clone(), Observed { id, inputs: Fields::new(), outputs: Fields::new() }))
            .collect();
        Ok(ReadResponse { found })
    }

    async fn update(&self, _: UpdateRequest) -> Result<Fields, ProviderError> {
        Ok(Fields::new())
    }

    async fn delete(&self, req: DeleteRequest) -> Result<Deletion, ProviderError> {
        self.objects.lock().unwrap().insert(req.id, Some(self.polls.unwrap_or(u32::MAX)));
        Ok(Deletion::Pending { status: "deleting".into() })
    }

    async fn poll_deleted(&self, req: PollRequest) -> Result<Deletion, ProviderError> {
        let mut objects = self.objects.lock().unwrap();
        match objects.get_mut(&req.id) {
            Some(Some(0)) | None => {
                objects.remove(&req.id);
                Ok(Deletion::Gone)
            }
            Some(Some(n)) => {
                *n -= 1;
                Ok(Deletion::Pending { status: "deleting".into() })
            }
            Some(None) => Ok(Deletion::Pending { status: "available".into() }),
        }
    }

    async fn poll(&self, _: PollRequest) -> Result<Readiness, ProviderError> {
        Ok(Readiness::Ready { outputs: Fields::new() })
    }

    async fn find(&self, _: FindRequest) -> Result<Option<Observed>, ProviderError> {
        Ok(None)
    }
}

fn executor(polls: Option<u32>) -> Executor {
    let config = ProviderConfig::aws("us-east-1");
    let mut instance = ProviderInstance::new(config);
    instance.register("test:fake:Node", Arc::new(Slow { polls, ..Slow::default() }));
    let mut registry = Registry::new();
    registry.insert(instance);
    Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default())
}

/// `b` depends on `a`; `b`'s delete may have a timeout.
fn stack(b_timeout: Option<Duration>) -> Stack {
    let mut s = Stack::new("slow");
    let p = s.provider(ProviderConfig::aws("us-east-1"));
    let a = s.add_with("a", Node { zone: "z".into(), ..Node::default() }, Options::new().provider(&p));
    let mut options = Options::new().provider(&p);
    if let Some(t) = b_timeout {
        options = options.delete_timeout(t);
    }
    s.add_with("b", Node { zone: "z".into(), deps: vec![a.id().into()], ..Node::default() }, options);
    s
}

async fn go(
    executor: &Executor,
    backend: &Arc<MemoryBackend>,
    s: &Stack,
    mode: Mode,
) -> (infra_engine::Outcome, Vec<Event>) {
    let (events, mut rx) = Events::channel();
    let options = RunOptions { mode, lock_timeout: Duration::from_secs(1), refresh: false };
    let outcome = run(executor, backend.clone(), s, &options, &events, &Interrupt::new()).await.unwrap();
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    (outcome, seen)
}

#[tokio::test(start_paused = true)]
async fn a_pending_delete_is_waited_for_before_what_it_depends_on_is_deleted() {
    let exec = executor(Some(3));
    let backend = Arc::new(MemoryBackend::new());
    let s = stack(None);
    assert!(go(&exec, &backend, &s, Mode::Apply(PlanOptions::default())).await.0.report.success());
    let (o, events) = go(&exec, &backend, &s, Mode::Destroy { targets: vec![] }).await;
    assert!(o.report.success(), "{:?}", o.report);
    assert!(o.state.resources.is_empty());
    let at = |want: &dyn Fn(&Event) -> bool| events.iter().position(want).unwrap();
    let b_waits = events
        .iter()
        .filter(|e| matches!(e, Event::Waiting { address, status, .. } if *address == addr("b") && status == "deleting"))
        .count();
    assert!(b_waits >= 3, "b's delete was not waited for: {events:?}");
    let b_done =
        at(&|e| matches!(e, Event::Done { address, kind: StepKind::Delete, .. } if *address == addr("b")));
    let a_started =
        at(&|e| matches!(e, Event::Started { address, kind: StepKind::Delete, .. } if *address == addr("a")));
    assert!(a_started > b_done, "a's delete started before b was gone: {events:?}");
}

#[tokio::test(start_paused = true)]
async fn a_delete_that_never_finishes_times_out_at_the_delete_timeout() {
    let exec = executor(None);
    let backend = Arc::new(MemoryBackend::new());
    let s = stack(Some(Duration::from_secs(90)));
    assert!(go(&exec, &backend, &s, Mode::Apply(PlanOptions::default())).await.0.report.success());
    let started = tokio::time::Instant::now();
    let (o, _) = go(&exec, &backend, &s, Mode::Destroy { targets: vec![] }).await;
    let waited = started.elapsed();
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let (address, kind, error) = &o.report.failed[0];
    assert_eq!((address, *kind), (&addr("b"), StepKind::Delete));
    assert!(error.contains("deleting"), "{error}");
    assert!(o.report.skipped.iter().any(|(a, ..)| *a == addr("a")), "{:?}", o.report);
    // The delete timeout (90 s), not the type's readiness timeout (600 s).
    assert!(waited >= Duration::from_secs(90) && waited < Duration::from_secs(200), "{waited:?}");
    // It still exists: it stays in the state for the next run.
    assert!(o.state.resources.contains_key(&addr("b")));
}
