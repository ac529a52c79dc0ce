//! The production example applied through the fault-injecting proxy
//! (docs/fault-injection.md): 30% of calls throttled, 5% answered with a
//! server error, 2% of answers lost after the emulator acted, 1% of
//! connections reset and 1% of answers a second late. The apply
//! must converge with no error shown to the user, the emulator must hold
//! exactly the declared resources (count per type and region), and the
//! next plan — through the same faults — must be empty. The calls made,
//! retried and throttled are printed.
//!
//! The network and application tiers only (`PROD_DATA_TIER=false`): the
//! data tier through faults is not covered here yet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

mod common;

use std::time::Instant;

use common::{declared_without_data, held, program_without_data};
use infra_testkit::faults::Shares;

fn run(endpoint: &str, state: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = program_without_data(endpoint, state).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_production_example_converges_through_throttling_server_errors_and_lost_answers() {
    let (moto, proxy, rt) = common::emulator();
    let endpoint = proxy.endpoint();
    let expected = declared_without_data();

    // Fault-free, for comparison.
    moto.reset().unwrap();
    let calm = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (code, err) = run(&endpoint, calm.path(), &["apply", "--yes"]);
    assert_eq!(code, Some(0), "the fault-free apply: {err}");
    let calm_time = started.elapsed();
    let calm_calls = proxy.counts().requests;

    // Two seeds by default; `INFRA_FAULT_TRIALS=20` runs more.
    let trials: u64 = std::env::var("INFRA_FAULT_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    for (trial, seed) in (0..trials).map(|t| 0x5EED_0001_u64 + t).enumerate() {
        moto.reset().unwrap();
        proxy.reset_counts();
        let shares = Shares { seed, throttle: 0.30, server_error: 0.05, lost: 0.02, reset: 0.01, slow: 0.01 };
        proxy.set_shares(Some(shares));
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let (code, err) = run(&endpoint, dir.path(), &["apply", "--yes"]);
        let took = started.elapsed();
        assert_eq!(code, Some(0), "trial {trial}: the apply through faults failed:\n{err}");
        assert!(!err.to_lowercase().contains("error"), "trial {trial}: the user saw an error:\n{err}");
        let applied = proxy.counts();
        assert_eq!(rt.block_on(held(&moto.endpoint())), expected, "trial {trial}: what the emulator holds");

        proxy.reset_counts();
        let (code, err) = run(&endpoint, dir.path(), &["plan", "--detailed-exitcode"]);
        assert_eq!(
            code,
            Some(0),
            "trial {trial}: the plan after the apply, through faults, is not empty:\n{err}"
        );
        let planned = proxy.counts();
        proxy.set_shares(None);
        let (code, err) = run(&endpoint, dir.path(), &["plan", "--detailed-exitcode"]);
        assert_eq!(code, Some(0), "trial {trial}: the plan after the apply is not empty:\n{err}");

        eprintln!(
            "trial {trial}: apply {took:.1?} ({:.1}x the fault-free {calm_time:.1?}); {} calls ({calm_calls} without faults): \
             {} throttled, {} server errors, {} answers lost, {} resets, {} slow, {} sent again; plan: {} calls, {} throttled",
            took.as_secs_f64() / calm_time.as_secs_f64(),
            applied.requests,
            applied.throttled,
            applied.server_errors,
            applied.lost,
            applied.resets,
            applied.slow,
            applied.requests.saturating_sub(calm_calls),
            planned.requests,
            planned.throttled,
        );
    }
}
