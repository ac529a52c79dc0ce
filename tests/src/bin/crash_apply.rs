//! One apply on the persisted simulated cloud with the local backend, for
//! the crash test, which kills it with SIGKILL at random instants.
//!
//! Usage: `crash_apply <state-dir> <cloud-file> <variant>`; exits 0 when
//! the apply succeeded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use infra_core::ProviderConfig;
use infra_core::plan::PlanOptions;
use infra_engine::{Events, Executor, ExecutorConfig, Interrupt, Mode, RunOptions, run};
use infra_sim::SimCloud;
use infra_state::LocalBackend;
use infra_tests::crash;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, state_dir, cloud_file, variant] = args.as_slice() else {
        bail!("usage: crash_apply <state-dir> <cloud-file> <variant>");
    };
    let variant: u32 = variant.parse().context("variant")?;
    let stack = crash::stack(variant);
    let cloud = SimCloud::persisted(cloud_file, crash::sim_config())?;
    let registry = cloud.registry_for_all_profile_types(&[ProviderConfig::aws("us-east-1")]);
    let executor = Executor::new(Arc::new(registry), crash::budget(), ExecutorConfig::default());
    let backend = Arc::new(LocalBackend::new(state_dir));
    let options = RunOptions {
        mode: Mode::Apply(PlanOptions::default()),
        lock_timeout: Duration::from_secs(30),
        refresh: true,
    };
    let outcome = run(&executor, backend, &stack, &options, &Events::none(), &Interrupt::new()).await?;
    if !outcome.report.success() {
        bail!("apply did not succeed: {:?}", outcome.report);
    }
    Ok(())
}
