//! Shared harness of the emulator tests: one moto server per test binary
//! (reset between cases), AWS provider instances for us-east-1 and
//! eu-west-1 wired to it with loopback endpoints and dummy credentials,
//! an executor and in-memory state.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use infra_aws::sdk::{AwsProvider, CallStats};
use infra_core::plan::{PlanOptions, StepKind};
use infra_core::{Address, ProviderConfig, ProviderKey, Stack, State};
use infra_engine::{
    Budget, BudgetConfig, Event, Events, Executor, ExecutorConfig, Interrupt, Mode, Outcome, Registry,
    RunOptions, run,
};
use infra_state::{Backend, MemoryBackend};
use infra_testkit::Moto;

pub const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn moto() -> &'static Moto {
    Moto::shared()
}

/// Cases share one emulator: they take turns.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub struct World {
    pub executor: Executor,
    pub backend: Arc<MemoryBackend>,
    pub stats: Vec<(ProviderKey, CallStats)>,
    pub endpoint: String,
    _turn: MutexGuard<'static, ()>,
}

/// A fresh world: the emulator reset, provider instances for both regions.
pub fn world() -> World {
    world_at(None)
}

/// The fault-injecting proxy in front of this binary's emulator.
pub fn proxy() -> &'static infra_testkit::faults::FaultProxy {
    static PROXY: std::sync::OnceLock<infra_testkit::faults::FaultProxy> = std::sync::OnceLock::new();
    PROXY.get_or_init(|| infra_testkit::faults::FaultProxy::start(&moto().endpoint()).unwrap())
}

/// A fresh world whose providers talk to the emulator through the
/// fault-injecting proxy (no faults until its rules are set); `endpoint`
/// stays the emulator's, for checking what the cloud holds.
pub fn world_through_proxy() -> World {
    let p = proxy();
    p.set(Vec::new());
    world_at(Some(p.endpoint()))
}

fn world_at(via: Option<String>) -> World {
    let guard = turn();
    let m = moto();
    m.reset().unwrap();
    let mut registry = Registry::new();
    let mut stats = Vec::new();
    for r in REGIONS {
        let config = ProviderConfig::aws(r);
        let sdk = match &via {
            Some(endpoint) => infra_testkit::loopback_sdk_config(endpoint, r).unwrap(),
            None => m.sdk_config(r).unwrap(),
        };
        let inst = AwsProvider::with_sdk_config(&config, sdk);
        stats.push((config.key.clone(), inst.stats.clone()));
        registry.insert(inst.instance);
    }
    World {
        executor: Executor::new(
            Arc::new(registry),
            Budget::new(BudgetConfig::default()),
            ExecutorConfig::default(),
        ),
        backend: Arc::new(MemoryBackend::new()),
        stats,
        endpoint: m.endpoint(),
        _turn: guard,
    }
}

/// A stack with providers for both regions.
pub fn stack(name: &str) -> (Stack, ProviderKey, ProviderKey) {
    let mut s = Stack::new(name);
    let us = s.provider(ProviderConfig::aws(REGIONS[0]));
    let eu = s.provider(ProviderConfig::aws(REGIONS[1]));
    (s, us, eu)
}

impl World {
    pub async fn run(&self, stack: &Stack, mode: Mode) -> (Outcome, Vec<Event>) {
        self.run_with(stack, mode, true).await
    }

    /// [`World::run`], with or without the refresh first.
    pub async fn run_with(&self, stack: &Stack, mode: Mode, refresh: bool) -> (Outcome, Vec<Event>) {
        let (events, mut rx) = Events::channel();
        let options = RunOptions { mode, lock_timeout: Duration::from_secs(5), refresh };
        let backend: Arc<dyn Backend> = self.backend.clone();
        let outcome = run(&self.executor, backend, stack, &options, &events, &Interrupt::new())
            .await
            .unwrap_or_else(|e| panic!("run failed: {e}"));
        drop(events);
        let mut seen = Vec::new();
        while let Some(e) = rx.recv().await {
            seen.push(e);
        }
        (outcome, seen)
    }

    /// Applies and requires success.
    pub async fn apply(&self, stack: &Stack) -> (Outcome, Vec<Event>) {
        let (o, e) = self.run(stack, Mode::Apply(PlanOptions::default())).await;
        assert!(o.report.success(), "apply failed: {:?}", o.report);
        (o, e)
    }

    /// Refreshes and plans: true when nothing would change.
    pub async fn converged(&self, stack: &Stack) -> bool {
        let (o, _) = self.run(stack, Mode::Apply(PlanOptions::default())).await;
        if !o.plan.is_empty() {
            eprintln!("{}", infra_core::plan::render::render(&o.plan, Default::default()));
        }
        o.plan.is_empty() && o.report.applied.is_empty()
    }

    pub async fn destroy(&self, stack: &Stack) -> Outcome {
        let (o, _) = self.run(stack, Mode::Destroy { targets: vec![] }).await;
        assert!(o.report.success(), "destroy failed: {:?}", o.report);
        o
    }

    /// What a refreshing plan shows without writing anything: the plan,
    /// and the orphans (resources with the stack's tags not in its state).
    pub async fn preview(&self, stack: &Stack) -> infra_engine::Preview {
        infra_engine::preview(
            self.executor.registry(),
            self.backend.as_ref(),
            stack,
            &infra_engine::PreviewMode::Apply(PlanOptions::default()),
            true,
            &Events::none(),
        )
        .await
        .unwrap_or_else(|e| panic!("preview failed: {e}"))
    }

    pub async fn state(&self, stack: &str) -> State {
        self.backend.read(stack).await.unwrap().unwrap().0
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let sdk = infra_testkit::loopback_sdk_config(&self.endpoint, region).unwrap();
        aws_sdk_ec2::Client::from_conf(aws_sdk_ec2::config::Builder::from(&sdk).build())
    }

    /// An IAM client for the emulator (IAM is global: any region).
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let sdk = infra_testkit::loopback_sdk_config(&self.endpoint, REGIONS[0]).unwrap();
        aws_sdk_iam::Client::from_conf(aws_sdk_iam::config::Builder::from(&sdk).build())
    }

    /// An S3 client for the emulator (path-style addressing, as moto needs).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let sdk = infra_testkit::loopback_sdk_config(&self.endpoint, region).unwrap();
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
    }

    /// Creates a bucket (a fixture for resources that log to S3).
    pub async fn bucket(&self, region: &str, name: &str) {
        let mut call = self.s3(region).create_bucket().bucket(name);
        if region != "us-east-1" {
            call = call.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        call.send().await.unwrap();
    }

    /// Calls of one instance so far.
    pub fn stats(&self, key: &ProviderKey) -> &CallStats {
        &self.stats.iter().find(|(k, _)| k == key).unwrap().1
    }
}

/// The order in which steps of `address` started, e.g. for replacement
/// order checks: `[(kind, index in the event stream)]`.
pub fn starts(events: &[Event], address: &Address) -> Vec<StepKind> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Started { address: a, kind, .. } if a == address => Some(*kind),
            _ => None,
        })
        .collect()
}

/// The address `s`.
pub fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// Creates `v0`, updates it to `v1` in place, replaces it with `v2`
/// (checking the replacement order) and destroys it, requiring a converged
/// (empty, refreshed) plan after every step. The stacks are built per
/// region so both regions are exercised.
pub async fn lifecycle(
    name: &str,
    build: impl Fn(&mut Stack, &ProviderKey, &ProviderKey, u8),
    replaced: &[&str],
    order: infra_core::ReplaceOrder,
) {
    lifecycle_with(name, async |_: &World| {}, build, replaced, order).await;
}

/// [`lifecycle`] with fixtures made outside infra first (e.g. a bucket).
pub async fn lifecycle_with(
    name: &str,
    setup: impl AsyncFnOnce(&World),
    build: impl Fn(&mut Stack, &ProviderKey, &ProviderKey, u8),
    replaced: &[&str],
    order: infra_core::ReplaceOrder,
) {
    let w = world();
    setup(&w).await;
    let version = |v: u8| {
        let (mut s, us, eu) = stack(name);
        build(&mut s, &us, &eu, v);
        s
    };
    w.apply(&version(0)).await;
    assert!(w.converged(&version(0)).await, "{name}: plan after create is not empty");
    let (o, _) = w.apply(&version(1)).await;
    assert!(
        o.plan.actionable().all(|c| c.action == infra_core::Action::Update),
        "{name}: v1 must update in place: {:?}",
        o.plan.actionable().map(|c| (&c.address, &c.action)).collect::<Vec<_>>()
    );
    assert!(w.converged(&version(1)).await, "{name}: plan after update is not empty");
    let (o, events) = w.apply(&version(2)).await;
    for r in replaced {
        let a = addr(r);
        let change = o.plan.change(&a).unwrap_or_else(|| panic!("{name}: {r} not in plan"));
        assert!(
            matches!(change.action, infra_core::Action::Replace { order: o2, .. } if o2 == order),
            "{name}: {r}: {:?}",
            change.action
        );
        let expected = match order {
            infra_core::ReplaceOrder::CreateBeforeDestroy => {
                vec![StepKind::CreateReplacement, StepKind::DeleteReplaced]
            }
            infra_core::ReplaceOrder::DeleteBeforeCreate => {
                vec![StepKind::DeleteReplaced, StepKind::CreateReplacement]
            }
        };
        assert_eq!(starts(&events, &a), expected, "{name}: {r}: replacement order");
    }
    assert!(w.converged(&version(2)).await, "{name}: plan after replace is not empty");
    let o = w.destroy(&version(2)).await;
    assert!(o.state.resources.is_empty());
}

/// A run that must be refused at plan (a guard on data, a protected
/// resource): the refusal's text.
pub async fn refused(w: &World, stack: &Stack, mode: Mode) -> String {
    let backend: Arc<dyn Backend> = w.backend.clone();
    let options = RunOptions { mode, lock_timeout: Duration::from_secs(5), refresh: true };
    match run(&w.executor, backend, stack, &options, &Events::none(), &Interrupt::new()).await {
        Ok(o) => panic!("the run was not refused: {:?}", o.report),
        Err(e) => e.to_string(),
    }
}
