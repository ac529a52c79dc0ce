//! One apply with the S3 state backend (settings from `INFRA_S3_*`, on
//! the emulator) on the persisted simulated cloud, for the team-state
//! tests. Prints a `WorkerReport` as JSON on success.
//!
//! Usage: `team_apply <cloud-file> writer:<n> | crash:<variant> <lock-timeout-ms>`

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use infra_core::ProviderConfig;
use infra_core::plan::PlanOptions;
use infra_engine::{Events, Executor, ExecutorConfig, Interrupt, Mode, RunOptions, run};
use infra_sim::SimCloud;
use infra_tests::crash;
use infra_tests::team::{Observed, WorkerReport, s3_backend_from_env, writer_stack};

// Two workers: the lease renewal keeps running while the apply does
// synchronous file IO (the simulated cloud persists every change).
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, cloud_file, what, timeout_ms] = args.as_slice() else {
        bail!("usage: team_apply <cloud-file> writer:<n>|crash:<variant> <lock-timeout-ms>");
    };
    let stack = match what.split_once(':') {
        Some(("writer", n)) => writer_stack(n.parse().context("worker number")?),
        Some(("crash", v)) => crash::stack(v.parse().context("variant")?),
        _ => bail!("unknown stack {what:?}"),
    };
    let lock_timeout = Duration::from_millis(timeout_ms.parse().context("lock timeout")?);
    // Read only once the lock is held (see `Observed`).
    let cloud = SimCloud::attached(cloud_file, crash::sim_config());
    let registry = cloud.registry_for_all_profile_types(&[ProviderConfig::aws("us-east-1")]);
    let executor = Executor::new(Arc::new(registry), crash::budget(), ExecutorConfig::default());
    let backend = Arc::new(Observed::new(Arc::new(s3_backend_from_env()?), cloud));
    let options = RunOptions { mode: Mode::Apply(PlanOptions::default()), lock_timeout, refresh: true };
    let outcome =
        run(&executor, backend.clone(), &stack, &options, &Events::none(), &Interrupt::new()).await?;
    if !outcome.report.success() {
        bail!("apply did not succeed: {:?}", outcome.report);
    }
    let held = backend.held();
    let report = WorkerReport {
        acquired_us: held.acquired_us.context("lock time")?,
        released_us: held.released_us.context("release time")?,
        read_serial: outcome.plan.serial,
        final_serial: outcome.state.serial,
        taken_over_from: outcome.lock_taken_over_from,
        recovered: outcome.recovered,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
