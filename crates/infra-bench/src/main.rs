//! Benchmarks. `cargo run --release -p infra-bench -- scheduler [--json] [GRAPH...]`
//! `… -- emulator [--json] [STACK...]` (see `emulator.rs`) and `… -- state
//! [--json]` (see `state.rs`).
//!
//! For each graph: the lower bound (the larger of the critical path and the
//! time the API rate limits need for its calls), infra's wall time, and the
//! wall time of a walker limited to 10 operations at once (Terraform's
//! default parallelism) on the same simulated cloud. Everything runs in
//! tokio's virtual time, so minutes of simulated AWS latency take seconds
//! and the figures are exact and repeatable.

mod emulator;
mod graphs;
mod state;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use infra_core::plan::PlanOptions;
use infra_core::{ProviderConfig, Readiness, Stack};
use infra_engine::{
    Budget, BudgetConfig, Events, Executor, ExecutorConfig, Interrupt, Mode, Operation, RunOptions, run,
};
use infra_sim::{CallOutcome, Profile, RateLimits, SimCloud, SimConfig};
use infra_state::MemoryBackend;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Row {
    graph: String,
    resources: usize,
    /// The lower bound: max(critical path, rate-limit time).
    critical_path_s: f64,
    /// The longest dependency path alone.
    path_s: f64,
    /// The time the busiest API budget needs alone.
    rate_s: f64,
    wall_s: f64,
    baseline_wall_s: f64,
    /// wall_s / critical_path_s.
    ratio: f64,
    /// The ratio to stay under (1.2 where the account's limits are raised
    /// and the budgets must probe to find them).
    target: f64,
    /// Calls the cloud throttled (all retried).
    throttled_calls: usize,
    /// Steps that failed (throttling or otherwise): must be 0.
    failed_steps: usize,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let words: Vec<&str> = args.iter().filter(|a| !a.starts_with("--")).map(String::as_str).collect();
    match words.split_first() {
        Some((&"scheduler", only)) => scheduler(json, only),
        Some((&"emulator", only)) => emulator::emulator(json, only),
        Some((&"state", _)) => state::state(json),
        _ => bail!(
            "usage: infra-bench scheduler [--json] [GRAPH...] | emulator [--json] [STACK...] | state [--json]"
        ),
    }
}

fn scheduler(json: bool, only: &[&str]) -> Result<()> {
    let profile = Profile::seed();
    // (name, stack, the account's limits as a multiple of AWS's published
    // ones: budgets start at the published limits and must find the rest).
    let graphs: Vec<(&str, Stack, f64)> = vec![
        ("seed-two-region", graphs::seed(&profile), 1.0),
        ("independent-1000", graphs::independent(1000, &profile), 1.0),
        ("chain-200", graphs::chain(200, &profile), 1.0),
        ("layered-2000", graphs::layered(20, 100, &profile), 1.0),
        ("raised-4x-1000", graphs::independent(1000, &profile), 4.0),
    ];
    let mut rows = Vec::new();
    for (name, stack, raised) in graphs.iter().filter(|(n, _, _)| only.is_empty() || only.contains(n)) {
        stack.validate()?;
        let limits = RateLimits::aws().scaled(*raised);
        let (path_s, rate_s) = lower_bound(stack, &profile, &limits);
        let (wall, throttled, failed) = apply(stack, None, &limits)?;
        let (baseline, _, _) = apply(stack, Some(10), &limits)?;
        let bound = path_s.max(rate_s);
        let row = Row {
            graph: (*name).to_owned(),
            resources: stack.resources().len(),
            critical_path_s: round(bound),
            path_s: round(path_s),
            rate_s: round(rate_s),
            wall_s: round(wall),
            baseline_wall_s: round(baseline),
            ratio: round(wall / bound),
            target: if *raised > 1.0 { 1.2 } else { 1.05 },
            throttled_calls: throttled,
            failed_steps: failed,
        };
        if json {
            println!("{}", serde_json::to_string(&row)?);
        }
        rows.push(row);
    }
    if !json {
        println!(
            "{:<18} {:>9} {:>12} {:>10} {:>10} {:>7} {:>16} {:>9} {:>7}",
            "graph", "resources", "lower bound", "infra", "ratio", "", "10-at-a-time", "speedup", "failed"
        );
        for r in &rows {
            println!(
                "{:<18} {:>9} {:>11.1}s {:>9.1}s {:>9.3}x {:>7} {:>15.1}s {:>8.2}x {:>7}",
                r.graph,
                r.resources,
                r.critical_path_s,
                r.wall_s,
                r.ratio,
                if r.ratio <= r.target { "ok" } else { "SLOW" },
                r.baseline_wall_s,
                r.baseline_wall_s / r.wall_s,
                r.failed_steps
            );
        }
        println!(
            "\nlower bound = max(critical path, time the account's API rate limits need); target: infra <= 1.05 x lower bound \
             (1.2 x where the account's limits are 4x AWS's published ones, which the budgets start from), 0 failed steps"
        );
    }
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Critical path and rate-limit time of a create-everything apply.
fn lower_bound(stack: &Stack, profile: &Profile, limits: &RateLimits) -> (f64, f64) {
    let api = SimConfig::default().api_latency;
    let graph = match stack.validate() {
        Ok(g) => g,
        Err(_) => return (0.0, 0.0),
    };
    let mut release: BTreeMap<&infra_core::Address, Duration> = BTreeMap::new();
    let mut path = Duration::ZERO;
    let order = graph.topo_order();
    for address in &order {
        let Some(decl) = stack.resource(address) else { continue };
        let p = profile.get(decl.schema.type_name);
        let start = graph
            .dependencies(address)
            .iter()
            .filter_map(|d| release.get(d))
            .max()
            .copied()
            .unwrap_or_default();
        let mut done = start + api + p.create;
        if decl.schema.readiness == Readiness::OnAvailable {
            done += p.ready_after_create;
        }
        path = path.max(done);
        if let Some(d) = stack.resource(address).map(|d| &d.address) {
            release.insert(d, done);
        }
    }
    let mut per_bucket: BTreeMap<(String, infra_engine::ApiClass), usize> = BTreeMap::new();
    for decl in stack.resources() {
        let class = profile.api_class(decl.schema.type_name, Operation::Create);
        let key = decl.provider.clone().map(|k| k.0).unwrap_or_default();
        *per_bucket.entry((key, class)).or_default() += 1;
    }
    let mut rate = 0.0f64;
    for ((key, class), n) in per_bucket {
        if let Some(limit) = limits.limit_for(&infra_core::ProviderKey(key), &class) {
            let extra = n.saturating_sub(limit.burst as usize) as f64;
            rate = rate.max(extra / limit.rate);
        }
    }
    (path.as_secs_f64(), rate)
}

/// Applies `stack` from scratch on a fresh simulated cloud in virtual
/// time; returns the wall time, the calls the cloud throttled and the
/// steps that failed.
fn apply(stack: &Stack, max_in_flight: Option<usize>, limits: &RateLimits) -> Result<(f64, usize, usize)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?;
    rt.block_on(async {
        let cloud = SimCloud::new(SimConfig { rate_limits: limits.clone(), ..SimConfig::default() });
        let configs: Vec<ProviderConfig> = stack.providers().values().cloned().collect();
        let registry = cloud.registry_for_all_profile_types(&configs);
        let executor = Executor::new(
            Arc::new(registry),
            Budget::new(BudgetConfig::default()),
            ExecutorConfig { max_in_flight, ..ExecutorConfig::default() },
        );
        let backend = Arc::new(MemoryBackend::new());
        let options = RunOptions { mode: Mode::Apply(PlanOptions::default()), lock_timeout: Duration::from_secs(1), refresh: true };
        let start = tokio::time::Instant::now();
        let outcome = run(&executor, backend, stack, &options, &Events::none(), &Interrupt::new()).await?;
        let wall = start.elapsed().as_secs_f64();
        let throttled = cloud
            .call_log()
            .iter()
            .filter(|c| matches!(&c.outcome, CallOutcome::Failed { kind, .. } if *kind == infra_engine::ErrorKind::Throttled))
            .count();
        Ok((wall, throttled, outcome.report.failed.len() + outcome.report.skipped.len()))
    })
}
