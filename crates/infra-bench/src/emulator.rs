//! `infra-bench emulator [--json] [STACK...]`: apply, no-op plan, no-op
//! plan without refresh and destroy of real stacks through the AWS provider
//! against the emulator (moto) on loopback, median of 3 runs. A proxy in
//! front of the emulator counts the calls and the time at least one of them
//! was waiting on it (`endpoint_wait_s`); the rest of the wall time is
//! infra's own. Budgets start unbounded, as against any endpoint override.
//! Then, once per stack, the same apply with team state (S3 + DynamoDB on
//! the emulator) and an apply changing one resource, with the bytes each
//! wrote to S3 (`apply_s3_state`, `change_one_s3_state`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use infra_aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Subnet, Vpc};
use infra_aws::sdk::AwsProvider;
use infra_core::plan::PlanOptions;
use infra_core::{Options, ProviderConfig, Stack};
use infra_engine::{
    Budget, BudgetConfig, Events, Executor, ExecutorConfig, Interrupt, Mode, PreviewMode, Registry,
    RunOptions, preview, run,
};
use infra_state::{Backend, MemoryBackend};
use infra_testkit::Moto;
use infra_testkit::faults::FaultProxy;
use serde::Serialize;

const RUNS: usize = 3;

/// `INFRA_BENCH_RUNS=1` measures once (the 3,000-resource stack takes the
/// emulator minutes per run).
fn runs_per_stack() -> usize {
    std::env::var("INFRA_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(RUNS)
}

#[derive(Debug, Clone, Serialize)]
struct Row {
    stack: String,
    op: &'static str,
    resources: usize,
    wall_s: f64,
    calls: u64,
    throttled: u64,
    endpoint_wait_s: f64,
    /// wall_s - endpoint_wait_s: infra's own share.
    own_s: f64,
    /// For the S3 state rows: bytes put to S3 (state objects and journal
    /// entries) during the operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    state_bytes_written: Option<u64>,
    /// For the S3 state rows: the size of the state at the operation's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    state_bytes: Option<u64>,
}

/// 1 VPC and `n` security groups (one ingress rule, AWS's default egress);
/// `changed`: the first group carries one more tag (a one-resource change).
fn groups(n: usize, changed: bool) -> Stack {
    let mut stack = Stack::new(&format!("sg-{n}"));
    let us = stack.provider(ProviderConfig::aws("us-east-1"));
    let vpc = stack.add_with(
        "vpc",
        Vpc { cidr_block: "10.0.0.0/16".into(), ..Default::default() },
        Options::new().provider(&us),
    );
    for i in 0..n {
        stack.add_with(
            &format!("sg-{i:04}"),
            SecurityGroup {
                name: format!("group-{i:04}"),
                description: "benchmark".into(),
                vpc_id: vpc.id().into(),
                ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])],
                egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                tags: change_tag(changed && i == 0),
            },
            Options::new().provider(&us),
        );
    }
    stack
}

/// The tag a one-resource change adds.
fn change_tag(on: bool) -> BTreeMap<String, String> {
    if on { BTreeMap::from([("changed".to_owned(), "yes".to_owned())]) } else { BTreeMap::new() }
}

/// Two regions, each 5 VPCs with 250 subnets and 50 groups each: 3,010
/// resources; `changed`: the first subnet carries one more tag.
fn two_region(changed: bool) -> Stack {
    let mut stack = Stack::new("two-region-3000");
    for (region, first) in [("us-east-1", 10u32), ("eu-west-1", 20)] {
        let key = stack.provider(ProviderConfig::aws(region));
        let mut s = stack.scope(&region.replace('-', "")).with_provider(&key);
        for v in 0..5u32 {
            let vpc = s.add(
                &format!("vpc-{v}"),
                Vpc { cidr_block: format!("10.{}.0.0/16", first + v), ..Default::default() },
            );
            for i in 0..250u32 {
                s.add(
                    &format!("subnet-{v}-{i:03}"),
                    Subnet {
                        vpc_id: vpc.id().into(),
                        cidr_block: format!("10.{}.{}.{}/28", first + v, i / 16, (i % 16) * 16),
                        availability_zone: format!("{region}{}", ["a", "b", "c"][(i % 3) as usize]),
                        tags: change_tag(changed && first == 10 && v == 0 && i == 0),
                        ..Default::default()
                    },
                );
            }
            for i in 0..50u32 {
                s.add(
                    &format!("sg-{v}-{i:02}"),
                    SecurityGroup {
                        name: format!("group-{v}-{i:02}"),
                        description: "benchmark".into(),
                        vpc_id: vpc.id().into(),
                        ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])],
                        egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                        ..Default::default()
                    },
                );
            }
        }
    }
    stack
}

fn registry(stack: &Stack, endpoint: &str, budget: &Budget) -> Result<Registry> {
    let mut registry = Registry::new();
    for config in stack.providers().values() {
        let sdk = infra_testkit::loopback_sdk_config(endpoint, &config.region)?;
        registry.insert(AwsProvider::with_sdk_config_metered(config, sdk, Some(budget)).instance);
    }
    Ok(registry)
}

/// One run of the four operations on a fresh emulator.
async fn once(stack: &Stack, moto: &Moto, proxy: &FaultProxy) -> Result<Vec<Row>> {
    moto.reset()?;
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let mut rows = Vec::new();
    for op in ["apply", "plan", "plan_no_refresh", "destroy"] {
        let budget = Budget::new(BudgetConfig { unbounded: true, ..BudgetConfig::default() });
        let started = Instant::now();
        proxy.reset_counts();
        // INFRA_BENCH_DIRECT=1 skips the proxy (no endpoint-wait figure):
        // what the proxy's own connection handling costs.
        let endpoint =
            if std::env::var_os("INFRA_BENCH_DIRECT").is_some() { moto.endpoint() } else { proxy.endpoint() };
        let registry = registry(stack, &endpoint, &budget)?;
        match op {
            "apply" | "destroy" => {
                let mode = if op == "apply" {
                    Mode::Apply(PlanOptions::default())
                } else {
                    Mode::Destroy { targets: Vec::new() }
                };
                let executor = Executor::new(Arc::new(registry), budget.clone(), ExecutorConfig::default());
                let options =
                    RunOptions { mode, lock_timeout: Duration::from_secs(1), refresh: op == "apply" };
                let outcome =
                    run(&executor, backend.clone(), stack, &options, &Events::none(), &Interrupt::new())
                        .await?;
                anyhow::ensure!(
                    outcome.report.success(),
                    "{op} of {} failed: {:?}",
                    stack.name(),
                    outcome.report.failed
                );
            }
            _ => {
                let mode = PreviewMode::Apply(PlanOptions::default());
                let p =
                    preview(&registry, backend.as_ref(), stack, &mode, op == "plan", &Events::none()).await?;
                anyhow::ensure!(p.plan.is_empty(), "the no-op plan of {} is not empty", stack.name());
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let counts = proxy.counts();
        let wait = counts.endpoint_busy.as_secs_f64();
        rows.push(Row {
            stack: stack.name().to_owned(),
            op,
            resources: stack.resources().len(),
            wall_s: wall,
            calls: counts.requests,
            throttled: budget.totals().1 + counts.throttled,
            endpoint_wait_s: wait,
            own_s: (wall - wait).max(0.0),
            state_bytes_written: None,
            state_bytes: None,
        });
    }
    Ok(rows)
}

/// Team state (S3 and DynamoDB, on the emulator behind a second proxy that
/// counts the bytes put): an apply creating `stack`, then an apply of
/// `changed` (one resource's tags differ), each with the bytes it wrote to
/// S3 and the state's size at its end. Once, not a median: the bytes do
/// not vary with timing beyond how writes group.
async fn state_bytes(stack: &Stack, changed: &Stack, moto: &Moto, proxy: &FaultProxy) -> Result<Vec<Row>> {
    moto.reset()?;
    let state_proxy = FaultProxy::start(&moto.endpoint())?;
    let sdk = infra_testkit::loopback_sdk_config(&state_proxy.endpoint(), "us-east-1")?;
    let config = infra_state_s3::S3BackendConfig::new("infra-bench-state", "us-east-1", "infra-bench-locks");
    let s3 = infra_state_s3::S3Backend::with_sdk_config(config, &sdk)?;
    s3.bootstrap().await?;
    let backend: Arc<dyn Backend> = Arc::new(s3);
    let mut rows = Vec::new();
    for (op, target) in [("apply_s3_state", stack), ("change_one_s3_state", changed)] {
        let budget = Budget::new(BudgetConfig { unbounded: true, ..BudgetConfig::default() });
        let registry = registry(target, &proxy.endpoint(), &budget)?;
        let executor = Executor::new(Arc::new(registry), budget.clone(), ExecutorConfig::default());
        let options = RunOptions {
            mode: Mode::Apply(PlanOptions::default()),
            lock_timeout: Duration::from_secs(5),
            refresh: false,
        };
        proxy.reset_counts();
        state_proxy.reset_counts();
        let started = Instant::now();
        let outcome =
            run(&executor, backend.clone(), target, &options, &Events::none(), &Interrupt::new()).await?;
        anyhow::ensure!(
            outcome.report.success(),
            "{op} of {} failed: {:?}",
            stack.name(),
            outcome.report.failed
        );
        let wall = started.elapsed().as_secs_f64();
        let (state, _) = backend.read(target.name()).await?.context("no state after the apply")?;
        let wait = proxy.counts().endpoint_busy.as_secs_f64();
        rows.push(Row {
            stack: stack.name().to_owned(),
            op,
            resources: target.resources().len(),
            wall_s: wall,
            calls: proxy.counts().requests,
            throttled: budget.totals().1 + proxy.counts().throttled,
            endpoint_wait_s: wait,
            own_s: (wall - wait).max(0.0),
            state_bytes_written: Some(state_proxy.counts().put_bytes),
            state_bytes: Some(infra_state::encode(&state)?.len() as u64),
        });
    }
    Ok(rows)
}

/// The median row (by wall time) of each (stack, op).
fn medians(runs: Vec<Vec<Row>>) -> Vec<Row> {
    let mut by: BTreeMap<(String, usize), Vec<Row>> = BTreeMap::new();
    for run in runs {
        for (i, row) in run.into_iter().enumerate() {
            by.entry((row.stack.clone(), i)).or_default().push(row);
        }
    }
    by.into_values()
        .filter_map(|mut rows| {
            rows.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
            rows.get(rows.len() / 2).cloned()
        })
        .collect()
}

pub fn emulator(json: bool, only: &[&str]) -> Result<()> {
    let moto = Moto::start().context(
        "starting the emulator (run scripts/test or `source scripts/emulator` once to install it)",
    )?;
    let proxy = FaultProxy::start(&moto.endpoint())?;
    let stacks: Vec<(Stack, Stack)> = vec![
        (groups(100, false), groups(100, true)),
        (groups(500, false), groups(500, true)),
        (two_region(false), two_region(true)),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut header = false;
    for (stack, changed) in stacks.iter().filter(|(s, _)| only.is_empty() || only.contains(&s.name())) {
        stack.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut runs = Vec::new();
        for _ in 0..runs_per_stack() {
            runs.push(rt.block_on(once(stack, &moto, &proxy))?);
        }
        let mut median = medians(runs);
        median.extend(rt.block_on(state_bytes(stack, changed, &moto, &proxy))?);
        let order = ["apply", "plan", "plan_no_refresh", "destroy", "apply_s3_state", "change_one_s3_state"];
        median.sort_by_key(|r| order.iter().position(|o| *o == r.op));
        // Each stack's rows as soon as they are measured.
        for r in &median {
            if json {
                println!("{}", serde_json::to_string(&Rounded(r))?);
            } else {
                if !header {
                    header = true;
                    println!(
                        "{:<16} {:<20} {:>9} {:>9} {:>7} {:>9} {:>14} {:>9}",
                        "stack", "op", "resources", "wall", "calls", "throttled", "endpoint wait", "own"
                    );
                }
                let state = match (r.state_bytes_written, r.state_bytes) {
                    (Some(w), Some(size)) => {
                        format!(
                            "  state: {w} bytes written, {size} at the end ({:.1}×)",
                            w as f64 / size as f64
                        )
                    }
                    _ => String::new(),
                };
                println!(
                    "{:<16} {:<20} {:>9} {:>8.2}s {:>7} {:>9} {:>13.2}s {:>8.2}s{state}",
                    r.stack, r.op, r.resources, r.wall_s, r.calls, r.throttled, r.endpoint_wait_s, r.own_s
                );
            }
        }
    }
    if !json {
        println!(
            "\nmedian of {} runs against moto on loopback; own = wall - endpoint wait",
            runs_per_stack()
        );
    }
    Ok(())
}

/// A row with its seconds rounded to milliseconds.
struct Rounded<'a>(&'a Row);

impl Serialize for Rounded<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        Row {
            wall_s: r(self.0.wall_s),
            endpoint_wait_s: r(self.0.endpoint_wait_s),
            own_s: r(self.0.own_s),
            ..self.0.clone()
        }
        .serialize(s)
    }
}
