//! The executor: walks a plan's steps through providers.
//!
//! Every step starts as soon as the steps it depends on have released it
//! (for a create: when the ID is known, or when the resource is available,
//! as its type's readiness says). There is no fixed number of slots; calls
//! draw from API rate budgets, and the step with the longest remaining path
//! gets the next token. Before each mutating call a pending operation is
//! committed durably; after it, the result. A failed step skips everything
//! that depends on it; independent branches go on.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use infra_core::plan::{Step, StepKind, steps};
use infra_core::{
    Action, Address, Deposed, Fields, OperationKind, PendingOperation, Plan, Readiness as TypeReadiness,
    ResourceDecl, Stack, State,
};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::budget::{Budget, BudgetKey};
use crate::error::Error;
use crate::events::{Event, Events, Interrupt, RateSample};
use crate::provider::{
    CreateRequest, DeleteRequest, Deletion, ErrorKind, FindRequest, Observed, Operation, PollRequest,
    ProviderError, Readiness, Registry, ResourceProvider, TAG_ADDRESS, TAG_STACK, TAG_TOKEN, UpdateRequest,
};
use crate::store::StateStore;

/// Retry policy for retryable provider errors: jittered exponential
/// backoff, bounded.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Largest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 10, base: Duration::from_millis(500), max_delay: Duration::from_secs(20) }
    }
}

/// Settings of the executor.
#[derive(Debug, Clone, Default)]
pub struct ExecutorConfig {
    pub retry: RetryPolicy,
    /// An optional cap on steps in flight (`--parallelism`); none by default.
    pub max_in_flight: Option<usize>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Steps that completed, in completion order.
    pub applied: Vec<(Address, StepKind)>,
    /// Steps that failed, with the error.
    pub failed: Vec<(Address, StepKind, String)>,
    /// Steps that did not run, with why.
    pub skipped: Vec<(Address, StepKind, String)>,
    /// The run was interrupted.
    pub interrupted: bool,
}

impl Report {
    /// True when every step was applied.
    pub fn success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

/// Applies plans.
#[derive(Debug, Clone)]
pub struct Executor {
    registry: Arc<Registry>,
    budget: Budget,
    config: ExecutorConfig,
}

/// A deterministic idempotency token for one operation of one run.
pub fn operation_token(lineage: &str, serial: u64, address: &Address, kind: StepKind) -> String {
    let mut h = Sha256::new();
    h.update(lineage.as_bytes());
    h.update(serial.to_le_bytes());
    h.update(address.as_str().as_bytes());
    h.update(format!("{kind:?}").as_bytes());
    format!("infra-{}", &hex::encode(h.finalize())[..32])
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

enum Msg {
    /// Dependents of the step may start.
    Release(usize),
}

struct Run<'a> {
    exec: &'a Executor,
    stack: &'a Stack,
    plan: &'a Plan,
    steps: Vec<Step>,
    priority: Vec<u64>,
    store: StateStore,
    events: Events,
    interrupt: Interrupt,
    start: Instant,
    lineage: String,
    serial: u64,
    release: mpsc::UnboundedSender<Msg>,
    limit: Option<Arc<Semaphore>>,
    /// Per step: milliseconds spent waiting for rate budget.
    queued: Vec<std::sync::atomic::AtomicU64>,
}

impl Executor {
    /// An executor over `registry` with `budget`.
    pub fn new(registry: Arc<Registry>, budget: Budget, config: ExecutorConfig) -> Self {
        Executor { registry, budget, config }
    }

    /// The budget (for statistics).
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Applies `plan` (made from `stack` against the store's state) and
    /// returns what happened. Errors that stop the whole run (the state
    /// cannot be saved, the plan cannot be ordered) are returned as `Err`;
    /// step failures are in the report.
    pub async fn apply(
        &self,
        stack: &Stack,
        plan: &Plan,
        store: &StateStore,
        events: &Events,
        interrupt: &Interrupt,
    ) -> Result<Report, Error> {
        let steps = steps(plan)?;
        let n_steps = steps.len();
        let (lineage, serial) = store.read(|s| (s.lineage.clone(), s.serial));
        let priority = self.priorities(stack, plan, &steps, store);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let run = Run {
            exec: self,
            stack,
            plan,
            steps,
            priority,
            store: store.clone(),
            events: events.clone(),
            interrupt: interrupt.clone(),
            start: Instant::now(),
            lineage,
            serial,
            release: tx,
            limit: self.config.max_in_flight.map(|n| Arc::new(Semaphore::new(n.max(1)))),
            queued: std::iter::repeat_with(|| std::sync::atomic::AtomicU64::new(0)).take(n_steps).collect(),
        };
        let run = &run;
        let n = run.steps.len();
        let mut waiting: Vec<usize> = run.steps.iter().map(|s| s.depends_on.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, s) in run.steps.iter().enumerate() {
            for &d in &s.depends_on {
                dependents[d].push(i);
            }
        }
        let mut released = vec![false; n];
        let mut started = vec![false; n];
        let mut dead = vec![false; n];
        let mut report = Report::default();
        let mut running = FuturesUnordered::new();
        let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let listening = events.listening();
        let mut rates = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );

        loop {
            // Start everything that may start.
            ready.sort_by_key(|&i| std::cmp::Reverse(run.priority[i]));
            for i in ready.drain(..) {
                if dead[i] || started[i] {
                    continue;
                }
                if interrupt.level() > 0 {
                    dead[i] = true;
                    report.interrupted = true;
                    let s = &run.steps[i];
                    report.skipped.push((s.address.clone(), s.kind, "interrupted".into()));
                    events.emit(Event::Skipped {
                        address: s.address.clone(),
                        kind: s.kind,
                        because: "the run was interrupted".into(),
                    });
                    continue;
                }
                started[i] = true;
                running.push(async move { (i, run.step(i).await) });
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some((i, result)) = running.next() => {
                    let s = &run.steps[i];
                    match result {
                        Ok(()) => {
                            report.applied.push((s.address.clone(), s.kind));
                            if !released[i] {
                                released[i] = true;
                                for &d in &dependents[i] {
                                    waiting[d] -= 1;
                                    if waiting[d] == 0 { ready.push(d); }
                                }
                            }
                        }
                        Err(e) => {
                            if matches!(e, Error::State(_)) {
                                // Nothing more may be done without durable state.
                                return Err(e);
                            }
                            let msg = e.to_string();
                            events.emit(Event::Failed { address: s.address.clone(), kind: s.kind, error: msg.clone() });
                            report.failed.push((s.address.clone(), s.kind, msg));
                            if !released[i] {
                                skip_dependents(run, i, &dependents, &mut dead, &started, &mut report);
                            }
                        }
                    }
                }
                _ = rates.tick(), if listening => {
                    let budgets: Vec<RateSample> = self
                        .budget
                        .stats()
                        .into_iter()
                        .filter(|b| b.last_second > 0 || b.queued > 0)
                        .map(|b| RateSample {
                            provider: b.key.provider.to_string(),
                            class: format!("{}/{}", b.key.class.service, b.key.class.category),
                            calls_per_s: b.last_second,
                            limit_per_s: (!b.unbounded).then_some(b.rate),
                            queued: b.queued,
                        })
                        .collect();
                    if !budgets.is_empty() {
                        events.emit(Event::Rates { budgets });
                    }
                }
                Some(Msg::Release(i)) = rx.recv() => {
                    if !released[i] {
                        released[i] = true;
                        for &d in &dependents[i] {
                            waiting[d] -= 1;
                            if waiting[d] == 0 { ready.push(d); }
                        }
                    }
                }
            }
        }
        report.interrupted |= interrupt.level() > 0;
        if report.failed.is_empty() && !report.interrupted {
            self.update_outputs(stack, plan, store).await?;
        }
        Ok(report)
    }

    /// Longest remaining path (in expected milliseconds) from each step.
    fn priorities(&self, stack: &Stack, plan: &Plan, steps: &[Step], store: &StateStore) -> Vec<u64> {
        let own: Vec<u64> = steps
            .iter()
            .map(|s| {
                let provider = stack
                    .resource(&s.address)
                    .and_then(|d| d.provider.clone())
                    .or_else(|| plan.change(&s.address).map(|c| c.provider.clone()))
                    .or_else(|| store.read(|st| st.resources.get(&s.address).map(|r| r.provider.clone())));
                let type_name = plan.change(&s.address).map(|c| c.type_name.clone()).unwrap_or_default();
                let timings = provider
                    .and_then(|p| self.registry.resource(&p, &type_name).map(|r| r.timings()))
                    .unwrap_or_default();
                millis(match s.kind {
                    StepKind::Create | StepKind::CreateReplacement => timings.create,
                    StepKind::Update => timings.update,
                    StepKind::Delete | StepKind::DeleteReplaced => timings.delete,
                    StepKind::Forget => Duration::ZERO,
                    StepKind::Read => Duration::from_millis(200),
                })
            })
            .collect();
        let mut longest = own.clone();
        for i in (0..steps.len()).rev() {
            for &d in &steps[i].depends_on {
                longest[d] = longest[d].max(own[d] + longest[i]);
            }
        }
        longest
    }

    /// Records the stack's outputs, resolved against the final state, and
    /// the declared options every resource's state keeps.
    async fn update_outputs(&self, stack: &Stack, plan: &Plan, store: &StateStore) -> Result<(), Error> {
        let destroy = plan.mode == infra_core::plan::PlanMode::Destroy;
        let outputs = store.read(|s| {
            if destroy {
                return BTreeMap::new();
            }
            let key = s.secret_key_bytes();
            let lookup = |r: &infra_core::Reference| {
                s.resources
                    .get(&r.address)
                    .and_then(|res| infra_core::value::output_at(&res.outputs, &r.output))
            };
            stack.outputs().iter().map(|(k, v)| (k.clone(), v.resolve(&lookup).seal(&key))).collect()
        });
        if store.read(|s| s.outputs != outputs) {
            store.commit(|s| s.outputs = outputs).await?;
        }
        // `protect` and `retain_on_delete` as declared now, also for
        // resources the plan left alone: a later destroy, or a plan
        // without them, goes by what the state records.
        let options =
            |d: &infra_core::ResourceDecl| (d.options.protect, d.options.retain_on_delete || d.schema.lookup);
        let stale = store.read(|s| {
            stack.resources().iter().any(|d| {
                s.resources.get(&d.address).is_some_and(|r| (r.protect, r.retain_on_delete) != options(d))
            })
        });
        if !destroy && stale {
            store
                .commit(|s| {
                    for d in stack.resources() {
                        if let Some(r) = s.resources.get_mut(&d.address) {
                            (r.protect, r.retain_on_delete) = options(d);
                        }
                    }
                })
                .await?;
        }
        Ok(())
    }
}

fn skip_dependents(
    run: &Run<'_>,
    failed: usize,
    dependents: &[Vec<usize>],
    dead: &mut [bool],
    started: &[bool],
    report: &mut Report,
) {
    let because = format!("{} failed", run.steps[failed].address);
    let mut stack = dependents[failed].clone();
    while let Some(j) = stack.pop() {
        if dead[j] || started[j] {
            continue;
        }
        dead[j] = true;
        let s = &run.steps[j];
        report.skipped.push((s.address.clone(), s.kind, because.clone()));
        run.events.emit(Event::Skipped {
            address: s.address.clone(),
            kind: s.kind,
            because: because.clone(),
        });
        stack.extend(dependents[j].iter().copied());
    }
}

/// The pieces a step needs about its resource.
struct Target<'p> {
    provider: &'p Arc<dyn ResourceProvider>,
    provider_key: infra_core::ProviderKey,
    type_name: String,
}

impl Run<'_> {
    async fn step(&self, i: usize) -> Result<(), Error> {
        let _permit = match &self.limit {
            Some(sem) => sem.clone().acquire_owned().await.ok(),
            None => None,
        };
        let step = &self.steps[i];
        let began = Instant::now();
        self.events.emit(Event::Started {
            address: step.address.clone(),
            kind: step.kind,
            at_ms: millis(began - self.start),
        });
        let result = match step.kind {
            StepKind::Create | StepKind::CreateReplacement => self.create(i).await,
            StepKind::Update => self.update(i).await,
            StepKind::Delete | StepKind::DeleteReplaced | StepKind::Forget => self.delete(i).await,
            StepKind::Read => self.read(i).await,
        };
        if result.is_ok() {
            self.events.emit(Event::Done {
                address: step.address.clone(),
                kind: step.kind,
                elapsed_ms: millis(began.elapsed()),
                queued_ms: self.queued[i].load(std::sync::atomic::Ordering::Relaxed),
            });
        }
        result
    }

    fn decl(&self, address: &Address) -> Result<&ResourceDecl, Error> {
        self.stack.resource(address).ok_or_else(|| Error::NotDeclared { address: address.clone() })
    }

    fn target(
        &self,
        address: &Address,
        provider: &infra_core::ProviderKey,
        type_name: &str,
    ) -> Result<Target<'_>, Error> {
        let p = self.exec.registry.resource(provider, type_name).ok_or_else(|| Error::NoProvider {
            address: address.clone(),
            provider: provider.to_string(),
            type_name: type_name.to_owned(),
        })?;
        Ok(Target { provider: p, provider_key: provider.clone(), type_name: type_name.to_owned() })
    }

    fn key(&self, t: &Target<'_>, op: Operation) -> BudgetKey {
        let class = t.provider.api_class(op);
        // A service metered per account shares one bucket across the
        // account's regions (instances with the same profile).
        let provider = if class.per_account {
            let config = self.exec.registry.instance(&t.provider_key).map(|i| &i.config);
            let profile = config.and_then(|c| c.settings.get("profile")).map_or("default", String::as_str);
            infra_core::ProviderKey(format!("account:{profile}"))
        } else {
            t.provider_key.clone()
        };
        BudgetKey { provider, class }
    }

    fn pending(
        &self,
        i: usize,
        t: &Target<'_>,
        kind: OperationKind,
        physical_id: Option<String>,
    ) -> PendingOperation {
        let step = &self.steps[i];
        PendingOperation {
            id: operation_token(&self.lineage, self.serial, &step.address, step.kind),
            address: step.address.clone(),
            kind,
            type_name: t.type_name.clone(),
            provider: t.provider_key.clone(),
            physical_id,
            started_at: now_rfc3339(),
        }
    }

    /// Takes a token for step `i`, counting the time it waited.
    async fn acquire(&self, i: usize, key: &BudgetKey) {
        let asked = Instant::now();
        self.exec.budget.acquire(key, self.priority[i]).await;
        let waited = millis(asked.elapsed());
        if waited > 0 {
            self.queued[i].fetch_add(waited, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Calls the provider with budget and retries.
    async fn call<T, F, Fut>(&self, i: usize, key: &BudgetKey, f: F) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let policy = self.exec.config.retry;
        let mut attempt: u32 = 0;
        loop {
            self.acquire(i, key).await;
            match f().await {
                Ok(v) => {
                    self.exec.budget.succeeded(key);
                    return Ok(v);
                }
                Err(e) if e.kind.is_retryable() && attempt + 1 < policy.max_attempts => {
                    if e.kind == ErrorKind::Throttled {
                        self.exec.budget.throttled(key);
                    }
                    self.pause_before_retry(i, attempt, &e).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reports a retry of step `i` after `error` and waits the backoff.
    async fn pause_before_retry(&self, i: usize, attempt: u32, error: &ProviderError) {
        let step = &self.steps[i];
        let delay = backoff(self.exec.config.retry, attempt, &step.address);
        self.events.emit(Event::Retrying {
            address: step.address.clone(),
            kind: step.kind,
            attempt: attempt + 1,
            error: error.to_string(),
            delay_ms: millis(delay),
        });
        tokio::time::sleep(delay).await;
    }

    fn provider_error(&self, i: usize, error: ProviderError) -> Error {
        let s = &self.steps[i];
        Error::Provider { address: s.address.clone(), kind: s.kind, error }
    }

    fn release(&self, i: usize) {
        let _ = self.release.send(Msg::Release(i));
    }

    async fn create(&self, i: usize) -> Result<(), Error> {
        let step = &self.steps[i];
        let decl = self.decl(&step.address)?;
        let provider_key = decl.provider.clone().unwrap_or_else(|| infra_core::ProviderKey(String::new()));
        let t = self.target(&step.address, &provider_key, decl.schema.type_name)?;
        let region = self
            .exec
            .registry
            .instance(&provider_key)
            .map(|inst| inst.config.region.clone())
            .unwrap_or_default();
        let inputs = self.resolve(decl)?;
        let kind = if step.kind == StepKind::Create {
            OperationKind::Create
        } else {
            OperationKind::CreateReplacement
        };
        // A create an interrupted run started and recovery could not find:
        // reuse its token, so a late completion of that call cannot make a
        // second resource.
        let kept = self.store.read(|s| {
            s.pending
                .iter()
                .find(|p| {
                    p.address == step.address
                        && matches!(p.kind, OperationKind::Create | OperationKind::CreateReplacement)
                })
                .map(|p| p.id.clone())
        });
        let token = match kept {
            Some(token) => token,
            None => {
                let pending = self.pending(i, &t, kind, None);
                let token = pending.id.clone();
                self.store.commit(|s| s.pending.push(pending)).await?;
                token
            }
        };

        let mut tags = BTreeMap::new();
        tags.insert(TAG_STACK.to_owned(), self.stack.name().to_owned());
        tags.insert(TAG_ADDRESS.to_owned(), step.address.to_string());
        tags.insert(TAG_TOKEN.to_owned(), token.clone());
        let replacement = step.kind == StepKind::CreateReplacement;
        let req = CreateRequest {
            address: step.address.clone(),
            inputs: inputs.clone(),
            token: token.clone(),
            tags: tags.clone(),
        };
        let find =
            FindRequest { address: step.address.clone(), token: token.clone(), tags, inputs: inputs.clone() };
        let address = step.address.clone();
        let (observed, adopted) = match self.create_call(i, &t, &req, &find).await {
            Ok(made) => made,
            Err((e, settled)) => {
                // Nothing was made (the search said so): the intent is
                // resolved. When the search itself failed, the intent is
                // kept, so the next run's recovery looks again.
                if settled {
                    self.store.commit(|s| s.pending.retain(|p| p.id != token)).await?;
                }
                return Err(self.provider_error(i, e));
            }
        };
        // An adopted resource is recorded as the cloud reports it, then
        // brought to the declaration by an in-place update.
        let key = self.store.read(State::secret_key_bytes);
        let seal = |f: &Fields| -> Fields { f.iter().map(|(k, v)| (k.clone(), v.seal(&key))).collect() };
        let recorded =
            if adopted { decl.schema.mark_secrets_like(&observed.inputs, &inputs) } else { inputs.clone() };
        self.store
            .commit(|s| {
                s.pending.retain(|p| p.id != token);
                if replacement && let Some(old) = s.resources.remove(&address) {
                    s.deposed.push(Deposed { address: address.clone(), object: old });
                }
                s.record(decl, &region, observed.id.clone(), &recorded, observed.outputs.clone());
                s.mark_waiting(&address, decl.schema.readiness == TypeReadiness::OnAvailable);
            })
            .await?;
        if adopted {
            let changed: Vec<String> = decl
                .schema
                .changed_fields(&seal(&recorded), &seal(&inputs))
                .into_iter()
                .filter(|f| !decl.schema.is_force_new(f))
                .collect();
            if !changed.is_empty() {
                self.converge(i, &t, decl, &region, &observed, recorded, inputs.clone(), changed).await?;
            }
        }

        if decl.schema.readiness == TypeReadiness::OnId {
            self.release(i);
            return Ok(());
        }
        let timeout = decl.options.timeouts.create;
        let poll = PollRequest { id: observed.id.clone(), inputs, outputs: observed.outputs.clone() };
        self.await_ready(i, &t, poll, timeout).await
    }

    /// Calls create, never blindly twice. Whenever an attempt fails — its
    /// outcome unknown (timeout, lost answer, 5xx, a throttled or failed
    /// follow-up call), a `Conflict` (the name is taken), or a final error
    /// after the cloud may have acted — the provider is first asked to find
    /// what the attempt made (by token, token tag or natural key). Found:
    /// adopted (`true`). Not found: retried if retryable, else the error,
    /// with `true` when the search settled that nothing was made.
    async fn create_call(
        &self,
        i: usize,
        t: &Target<'_>,
        req: &CreateRequest,
        find: &FindRequest,
    ) -> Result<(Observed, bool), (ProviderError, bool)> {
        let step = &self.steps[i];
        let policy = self.exec.config.retry;
        let key = self.key(t, Operation::Create);
        let find_key = self.key(t, Operation::Poll);
        let mut attempt: u32 = 0;
        loop {
            self.acquire(i, &key).await;
            let e = match t.provider.create(req.clone()).await {
                Ok(o) => {
                    self.exec.budget.succeeded(&key);
                    return Ok((o, false));
                }
                Err(e) => e,
            };
            if e.kind == ErrorKind::Throttled {
                self.exec.budget.throttled(&key);
            }
            match self.call(i, &find_key, || t.provider.find(find.clone())).await {
                Ok(Some(made)) => {
                    // One cloud object belongs to one address: what another
                    // address manages is never adopted here.
                    let elsewhere =
                        self.store.read(|s| s.address_of(&t.provider_key, &t.type_name, &made.id));
                    if let Some(other) = elsewhere.filter(|o| o != &step.address) {
                        let message = format!(
                            "{} ({}) is already managed at {other}; one cloud object belongs to one address",
                            made.id, e.message
                        );
                        return Err((ProviderError { message, kind: ErrorKind::Final, ..e }, true));
                    }
                    return Ok((made, true));
                }
                Ok(None) => {}
                Err(_) => return Err((e, false)),
            }
            if !e.kind.is_retryable() || attempt + 1 >= policy.max_attempts {
                let e = if e.kind == ErrorKind::Conflict {
                    ProviderError {
                        message: format!(
                            "{} (it is not one this stack made: `import` it into {}, or change the name)",
                            e.message, step.address
                        ),
                        ..e
                    }
                } else {
                    e
                };
                return Err((e, true));
            }
            self.pause_before_retry(i, attempt, &e).await;
            attempt += 1;
        }
    }

    /// Brings an adopted resource to its declaration in place.
    #[allow(clippy::too_many_arguments)]
    async fn converge(
        &self,
        i: usize,
        t: &Target<'_>,
        decl: &ResourceDecl,
        region: &str,
        observed: &Observed,
        before: Fields,
        after: Fields,
        changed: Vec<String>,
    ) -> Result<(), Error> {
        let step = &self.steps[i];
        let mut pending = self.pending(i, t, OperationKind::Update, Some(observed.id.clone()));
        pending.id.push_str("-converge");
        let token = pending.id.clone();
        self.store.commit(|s| s.pending.push(pending)).await?;
        let req = UpdateRequest {
            address: step.address.clone(),
            id: observed.id.clone(),
            before,
            after: after.clone(),
            changed,
            token: token.clone(),
        };
        let key = self.key(t, Operation::Update);
        let result = self.call(i, &key, || t.provider.update(req.clone())).await;
        let outputs = match result {
            Ok(o) => o,
            Err(e) => {
                self.store.commit(|s| s.pending.retain(|p| p.id != token)).await?;
                return Err(self.provider_error(i, e));
            }
        };
        let mut merged = observed.outputs.clone();
        merged.extend(outputs);
        self.store
            .commit(|s| {
                s.pending.retain(|p| p.id != token);
                s.record(decl, region, observed.id.clone(), &after, merged);
                s.mark_waiting(&step.address, decl.schema.readiness == TypeReadiness::OnAvailable);
            })
            .await
    }

    async fn update(&self, i: usize) -> Result<(), Error> {
        let step = &self.steps[i];
        let decl = self.decl(&step.address)?;
        let prior = self
            .store
            .read(|s| s.resources.get(&step.address).cloned())
            .ok_or_else(|| Error::NotInState { address: step.address.clone() })?;
        let t = self.target(&step.address, &prior.provider, &prior.type_name)?;
        let inputs = self.resolve(decl)?;
        let changed: Vec<String> = self
            .plan
            .change(&step.address)
            .map(|c| c.fields.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        if changed.is_empty() && prior.waiting {
            // A wait an earlier run did not finish: wait again, change nothing.
            let poll = PollRequest { id: prior.id.clone(), inputs, outputs: prior.outputs.clone() };
            return self.await_ready(i, &t, poll, decl.options.timeouts.create).await;
        }
        let pending = self.pending(i, &t, OperationKind::Update, Some(prior.id.clone()));
        let token = pending.id.clone();
        self.store.commit(|s| s.pending.push(pending)).await?;
        let req = UpdateRequest {
            address: step.address.clone(),
            id: prior.id.clone(),
            before: prior.inputs.clone(),
            after: inputs.clone(),
            changed,
            token: token.clone(),
        };
        let key = self.key(&t, Operation::Update);
        let outputs = match self.call(i, &key, || t.provider.update(req.clone())).await {
            Ok(o) => o,
            Err(e) => {
                // The update may have half-applied; the next refresh reads
                // what is there. The intent is resolved: drop it.
                self.store.commit(|s| s.pending.retain(|p| p.id != token)).await?;
                return Err(self.provider_error(i, e));
            }
        };
        let region = prior.region.clone();
        self.store
            .commit(|s| {
                s.pending.retain(|p| p.id != token);
                let mut merged = prior.outputs.clone();
                merged.extend(outputs);
                s.record(decl, &region, prior.id.clone(), &inputs, merged);
                s.mark_waiting(&step.address, decl.schema.readiness == TypeReadiness::OnAvailable);
            })
            .await?;
        if decl.schema.readiness == TypeReadiness::OnId {
            self.release(i);
            return Ok(());
        }
        let poll = PollRequest {
            id: prior.id.clone(),
            inputs,
            outputs: self
                .store
                .read(|s| s.resources.get(&step.address).map(|r| r.outputs.clone()).unwrap_or_default()),
        };
        self.await_ready(i, &t, poll, decl.options.timeouts.update).await
    }

    async fn delete(&self, i: usize) -> Result<(), Error> {
        let step = &self.steps[i];
        let address = step.address.clone();
        // Which object: the deposed one of a create-before-destroy
        // replacement, else the current one.
        let cbd_old = step.kind == StepKind::DeleteReplaced
            && self.plan.change(&address).is_some_and(|c| {
                matches!(
                    c.action,
                    Action::Replace { order: infra_core::ReplaceOrder::CreateBeforeDestroy, .. }
                )
            });
        let deposed_id = step.deposed.clone();
        let cbd_old = cbd_old || deposed_id.is_some();
        let object = self.store.read(|s| {
            if let Some(id) = &deposed_id {
                s.deposed
                    .iter()
                    .find(|d| d.address == address && &d.object.id == id)
                    .map(|d| d.object.clone())
            } else if cbd_old {
                s.deposed.iter().rev().find(|d| d.address == address).map(|d| d.object.clone())
            } else {
                s.resources.get(&address).cloned()
            }
        });
        let Some(object) = object else {
            // Already gone (recorded by an earlier, interrupted run).
            return Ok(());
        };
        let forget = step.kind == StepKind::Forget || step.retain;
        let id = object.id.clone();
        let remove = move |s: &mut State| {
            if cbd_old {
                if let Some(pos) = s.deposed.iter().rposition(|d| d.address == address && d.object.id == id) {
                    s.deposed.remove(pos);
                }
            } else {
                s.resources.remove(&address);
            }
        };
        if forget {
            self.store.commit(remove).await?;
            return Ok(());
        }
        let t = self.target(&step.address, &object.provider, &object.type_name)?;
        let kind =
            if step.kind == StepKind::Delete { OperationKind::Delete } else { OperationKind::DeleteReplaced };
        let pending = self.pending(i, &t, kind, Some(object.id.clone()));
        let token = pending.id.clone();
        self.store.commit(|s| s.pending.push(pending)).await?;
        let req = DeleteRequest {
            address: step.address.clone(),
            id: object.id.clone(),
            inputs: object.inputs.clone(),
            token: token.clone(),
        };
        let key = self.key(&t, Operation::Delete);
        let waited = match self.call(i, &key, || t.provider.delete(req.clone())).await {
            Ok(Deletion::Gone) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            Ok(Deletion::Pending { status }) => {
                let poll = PollRequest {
                    id: object.id.clone(),
                    inputs: object.inputs.clone(),
                    outputs: object.outputs.clone(),
                };
                let timeout = self.stack.resource(&step.address).and_then(|d| d.options.timeouts.delete);
                self.await_gone(i, &t, poll, status, timeout).await
            }
            Err(e) => Err(self.provider_error(i, e)),
        };
        if let Err(e) = waited {
            // The next refresh reads where the delete got to.
            self.store.commit(|s| s.pending.retain(|p| p.id != token)).await?;
            return Err(e);
        }
        self.store
            .commit(|s| {
                s.pending.retain(|p| p.id != token);
                remove(s);
            })
            .await
    }

    /// Reads a lookup and records what it found. No pending operation: a
    /// read changes nothing in the cloud, so there is nothing to recover.
    async fn read(&self, i: usize) -> Result<(), Error> {
        let step = &self.steps[i];
        let decl = self.decl(&step.address)?;
        let provider_key = decl.provider.clone().unwrap_or_else(|| infra_core::ProviderKey(String::new()));
        let t = self.target(&step.address, &provider_key, decl.schema.type_name)?;
        let region = self
            .exec
            .registry
            .instance(&provider_key)
            .map(|inst| inst.config.region.clone())
            .unwrap_or_default();
        let inputs = self.resolve(decl)?;
        let key = self.key(&t, Operation::Read);
        let req = crate::provider::LookupRequest { address: step.address.clone(), inputs: inputs.clone() };
        let observed = self
            .call(i, &key, || t.provider.lookup(req.clone()))
            .await
            .map_err(|e| self.provider_error(i, e))?;
        self.store
            .commit(|s| s.record(decl, &region, observed.id.clone(), &inputs, observed.outputs.clone()))
            .await
    }

    fn resolve(&self, decl: &ResourceDecl) -> Result<Fields, Error> {
        self.store.read(|s| s.resolve_inputs(decl)).map_err(|missing| Error::Unresolved {
            address: decl.address.clone(),
            refs: missing.iter().map(ToString::to_string).collect(),
        })
    }

    /// Polls until the resource is available, then records its outputs and
    /// releases dependents. Polls draw non-mutating budget one at a time; no
    /// budget is held while sleeping between polls.
    async fn await_ready(
        &self,
        i: usize,
        t: &Target<'_>,
        req: PollRequest,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let step = &self.steps[i];
        let timings = t.provider.timings();
        let timeout = timeout.unwrap_or(timings.timeout);
        let expected = match step.kind {
            StepKind::Update => timings.update,
            _ => timings.create,
        };
        let interval = poll_interval(expected, timings.poll_interval);
        let began = Instant::now();
        let key = self.key(t, Operation::Poll);
        loop {
            let answer = self
                .call(i, &key, || t.provider.poll(req.clone()))
                .await
                .map_err(|e| self.provider_error(i, e))?;
            match answer {
                Readiness::Ready { outputs } => {
                    let address = step.address.clone();
                    let (changed, waiting) = self.store.read(|s| {
                        s.resources.get(&address).map_or((false, false), |r| {
                            (outputs.iter().any(|(k, v)| r.outputs.get(k) != Some(v)), r.waiting)
                        })
                    });
                    if !changed && waiting {
                        // Not worth a wait on the critical path: if lost,
                        // the next run only polls once more.
                        self.store.commit_later(|s| s.mark_waiting(&address, false));
                    } else if changed {
                        self.store
                            .commit(|s| {
                                if let Some(r) = s.resources.get_mut(&address) {
                                    r.outputs.extend(outputs);
                                    r.waiting = false;
                                }
                            })
                            .await?;
                    }
                    self.release(i);
                    return Ok(());
                }
                Readiness::Failed { message } => {
                    return Err(Error::ResourceFailed { address: step.address.clone(), message });
                }
                Readiness::Pending { status } => self.nap(i, began, timeout, interval, status).await?,
            }
        }
    }

    /// Polls a delete the provider answered `Pending` until the resource
    /// is gone, with the same budgeted polling, events, Ctrl-C handling and
    /// timeouts as readiness (`Options::delete_timeout`, else the type's).
    async fn await_gone(
        &self,
        i: usize,
        t: &Target<'_>,
        req: PollRequest,
        status: String,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let timings = t.provider.timings();
        let timeout = timeout.unwrap_or(timings.timeout);
        let interval = poll_interval(timings.delete, timings.poll_interval);
        let began = Instant::now();
        let key = self.key(t, Operation::Poll);
        self.nap(i, began, timeout, interval, status).await?;
        loop {
            let answer = self
                .call(i, &key, || t.provider.poll_deleted(req.clone()))
                .await
                .map_err(|e| self.provider_error(i, e))?;
            match answer {
                Deletion::Gone => return Ok(()),
                Deletion::Pending { status } => self.nap(i, began, timeout, interval, status).await?,
            }
        }
    }

    /// One wait between polls: reports the cloud's status, gives up at the
    /// timeout, stops on a second Ctrl-C.
    async fn nap(
        &self,
        i: usize,
        began: Instant,
        timeout: Duration,
        interval: Duration,
        status: String,
    ) -> Result<(), Error> {
        let step = &self.steps[i];
        let waited = began.elapsed();
        if waited >= timeout {
            return Err(Error::Timeout { address: step.address.clone(), waited, status });
        }
        self.events.emit(Event::Waiting {
            address: step.address.clone(),
            kind: step.kind,
            status,
            waited_ms: millis(waited),
        });
        let nap = interval.min(timeout - waited);
        tokio::select! {
            _ = tokio::time::sleep(nap) => Ok(()),
            _ = self.interrupt.reached(2) => Err(Error::Interrupted { address: step.address.clone() }),
        }
    }
}

/// Poll often enough to notice a change within ~2% of the expected wait,
/// never more often than the provider's interval / 15 and never less often
/// than its interval.
fn poll_interval(expected: Duration, provider: Duration) -> Duration {
    (expected / 50).max(provider / 15).min(provider)
}

/// Full-jitter exponential backoff, deterministic per address and attempt.
fn backoff(policy: RetryPolicy, attempt: u32, address: &Address) -> Duration {
    let exp = policy.base.saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
    let cap = exp.min(policy.max_delay);
    let mut h = Sha256::new();
    h.update(address.as_str().as_bytes());
    h.update(attempt.to_le_bytes());
    let bytes = h.finalize();
    let r = f64::from(u16::from_le_bytes([bytes[0], bytes[1]])) / f64::from(u16::MAX);
    cap.mul_f64(0.5 + 0.5 * r)
}
