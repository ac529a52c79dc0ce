//! Crash test on the emulator: the production example's apply (the real
//! stack program, talking to moto through the fault proxy) killed with
//! SIGKILL at pseudo-random instants, 30 trials, each on a fresh emulator
//! and a fresh local state. Five trials kill it while the tagging call that
//! follows CreateTransitGatewayVpcAttachment is held by the proxy (the
//! emulator drops that call's tags, so they go in a second call): between
//! a create and its tagging. After each kill, `apply --yes` and
//! `plan --detailed-exitcode` must exit 0, the emulator must hold exactly
//! the declared resources (count per type and region, every type that
//! carries tags; routes and associations cannot be duplicated, AWS refuses
//! a second one for the same key) and no temporary file may remain in the
//! state directory. The instants come from a fixed seed.
//!
//! The network and application tiers only (`PROD_DATA_TIER=false`): the
//! data tier's kills are not covered here yet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, Instant};

use infra_testkit::faults::{Effect, Fault};
use infra_tests::crash::Rng;

const TRIALS: u32 = 30;
const BETWEEN_CREATE_AND_TAGS: u32 = 5;

mod common;

use common::{declared_without_data, held, must, program_without_data};

fn temporary_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_production_example_killed_at_random_instants_converges_on_the_emulator() {
    let (moto, proxy, rt) = common::emulator();
    let endpoint = proxy.endpoint();
    let expected = declared_without_data();

    // Calibrate: how long a whole apply takes here.
    moto.reset().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    must(&endpoint, dir.path(), &["apply", "--yes"], "the calibration apply", 0);
    let whole = started.elapsed();
    assert_eq!(rt.block_on(held(&moto.endpoint())), expected, "the calibration apply");
    eprintln!("a whole apply of the production example takes {whole:?} here");

    let mut rng = Rng(0xC0FF_EE15_DEAD_BEEF);
    let mut mid_run = 0;
    for trial in 1..=TRIALS {
        moto.reset().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let between = trial <= BETWEEN_CREATE_AND_TAGS;
        proxy.set(if between { vec![Fault::new("CreateTags", 1, Effect::Stall)] } else { Vec::new() });
        let mut child = program_without_data(&endpoint, dir.path()).args(["apply", "--yes"]).spawn().unwrap();
        if between {
            let deadline = Instant::now() + whole * 3;
            while proxy.injected().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(!proxy.injected().is_empty(), "trial {trial}: the apply never reached the tagging call");
        } else {
            std::thread::sleep(whole.mul_f64(rng.next_unit()));
        }
        if child.try_wait().unwrap().is_none() {
            mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        proxy.set(Vec::new());

        must(&endpoint, dir.path(), &["apply", "--yes"], "the apply after the kill", trial);
        must(&endpoint, dir.path(), &["plan", "--detailed-exitcode"], "plan --detailed-exitcode", trial);
        assert_eq!(rt.block_on(held(&moto.endpoint())), expected, "trial {trial}: what the emulator holds");
        let left = temporary_files(dir.path());
        assert!(left.is_empty(), "trial {trial}: temporary files remain: {left:?}");
    }
    assert!(mid_run >= 20, "only {mid_run} of {TRIALS} kills hit a running apply");
    eprintln!("{mid_run} of {TRIALS} kills hit a running apply; every next apply converged");
}
