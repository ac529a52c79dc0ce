//! Crash test: a real apply process on the simulated cloud (persisted to a
//! file, so it outlives the process) with the local state backend, killed
//! with SIGKILL at 45 pseudo-random instants (at least 25 of them while it
//! is working). After each kill the next apply
//! must converge: the cloud holds exactly the declared resources, each
//! once, the state matches it, nothing is pending and a plan is empty.
//!
//! The stack alternates between three variants, so kills land in creates,
//! create-before-destroy and delete-before-create replacements, deletes and
//! recoveries. The instants come from a fixed seed, so a failure reproduces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use infra_sim::SimCloud;
use infra_state::{Backend, LocalBackend};
use infra_tests::crash;
use infra_tests::crash::Rng;
use infra_tests::sim::assert_converged;

const KILLS: u32 = 45;
/// Kills that must land while the apply is running.
const MID_RUN: u32 = 25;

fn apply(state: &Path, cloud: &Path, variant: u32) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crash_apply"));
    c.arg(state).arg(cloud).arg(variant.to_string()).env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

fn verify(state_dir: &Path, cloud_file: &Path, variant: u32, round: u32) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let state = rt
        .block_on(LocalBackend::new(state_dir).read("crash"))
        .unwrap_or_else(|e| panic!("round {round}: the state is unreadable: {e}"))
        .expect("state exists")
        .0;
    let cloud = SimCloud::persisted(cloud_file, crash::sim_config()).unwrap();
    assert_converged(&crash::stack(variant), &state, &cloud, &format!("round {round}"));
}

#[test]
fn killed_at_random_instants_the_next_apply_converges() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let cloud_file = dir.path().join("cloud.json");

    // Calibrate: how long each transition takes here (into variant 0 from
    // nothing, then 1, 2 and 0 again, the order the rounds use).
    let mut window = [std::time::Duration::ZERO; 3];
    for variant in [0, 1, 2, 0] {
        let started = Instant::now();
        assert!(apply(&state_dir, &cloud_file, variant).status().unwrap().success());
        window[variant as usize] = started.elapsed().mul_f64(1.1);
        verify(&state_dir, &cloud_file, variant, 0);
    }

    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let mut killed_mid_run = 0;
    for round in 1..=KILLS {
        let variant = round % 3;
        let mut child = apply(&state_dir, &cloud_file, variant).spawn().unwrap();
        std::thread::sleep(window[variant as usize].mul_f64(rng.next_unit()));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let status = apply(&state_dir, &cloud_file, variant).status().unwrap();
        assert!(status.success(), "round {round}: the apply after the kill failed");
        verify(&state_dir, &cloud_file, variant, round);
    }
    // Most kills must land while the process was working, or the test
    // proves little.
    assert!(killed_mid_run >= MID_RUN, "only {killed_mid_run} of {KILLS} kills hit a running apply");
    eprintln!("{killed_mid_run} of {KILLS} kills hit a running apply; every next apply converged");
}
