//! Team state on the emulator: the S3 backend with its DynamoDB lock
//! shared by several real processes (`team_apply`), each applying a stack
//! on the simulated cloud (persisted to a file the processes take turns
//! on, under the same lock).
//!
//! - Eight processes apply at once: one holds the lock at any instant, the
//!   others wait or fail naming the holder, and the serial advances once
//!   per successful apply, each apply reading what the previous one wrote.
//! - A holder killed with SIGKILL mid-apply: the next run takes the lock
//!   over once the lease runs out (no force-unlock), resolves the pending
//!   operations and converges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use infra_core::State;
use infra_sim::SimCloud;
use infra_state::Backend;
use infra_state_s3::{S3Backend, S3BackendConfig};
use infra_testkit::Moto;
use infra_tests::crash;
use infra_tests::crash::Rng;
use infra_tests::sim;
use infra_tests::team::{WorkerReport, writer_stack};

const BUCKET: &str = "infra-team-state";
const TABLE: &str = "infra-locks";
/// The state's region; the resources are in us-east-1.
const REGION: &str = "eu-west-1";

fn moto() -> &'static Moto {
    Moto::shared()
}

/// The cases run one at a time: they start many processes on two cores.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// One test's backend settings: its own key prefix in the shared bucket.
struct Team {
    config: S3BackendConfig,
    backend: S3Backend,
}

impl Team {
    fn new(prefix: &str, lease: Duration) -> Team {
        let config = S3BackendConfig::new(BUCKET, REGION, TABLE)
            .with_key(format!("{prefix}/{{stack}}.infra-state.json"))
            .with_lock_lease(lease);
        let backend =
            S3Backend::with_sdk_config(config.clone(), &moto().sdk_config(REGION).unwrap()).unwrap();
        rt().block_on(backend.bootstrap()).unwrap();
        Team { config, backend }
    }

    fn apply(&self, cloud: &Path, what: &str, lock_timeout: Duration) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_team_apply"));
        c.arg(cloud)
            .arg(what)
            .arg(lock_timeout.as_millis().to_string())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("INFRA_S3_BUCKET", &self.config.bucket)
            .env("INFRA_S3_KEY", &self.config.key)
            .env("INFRA_S3_REGION", &self.config.region)
            .env("INFRA_S3_DYNAMODB_TABLE", &self.config.dynamodb_table)
            .env("INFRA_S3_ENDPOINT", moto().endpoint())
            .env("INFRA_S3_LOCK_LEASE", format!("{}ms", self.config.lock_lease.as_millis()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn state(&self, stack: &str) -> State {
        rt().block_on(self.backend.read(stack)).unwrap().expect("state exists").0
    }
}

fn open(cloud_file: &Path) -> SimCloud {
    SimCloud::persisted(cloud_file, crash::sim_config()).unwrap()
}

fn report(out: &Output) -> WorkerReport {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad report {e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn eight_processes_apply_at_once_and_no_update_is_lost() {
    let _turn = turn();
    // A lease far longer than any stall of a busy machine: this case is
    // about waiting, not takeover (the next case is).
    let team = Team::new("concurrency", Duration::from_secs(15));
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud.json");

    // Even workers wait for the lock; odd ones give up at once.
    let waits = |worker: u32| worker.is_multiple_of(2);
    let children: Vec<_> = (0..8u32)
        .map(|w| {
            let timeout = if waits(w) { Duration::from_secs(300) } else { Duration::ZERO };
            (w, team.apply(&cloud, &format!("writer:{w}"), timeout).spawn().unwrap())
        })
        .collect();
    let mut applied = Vec::new();
    let mut refused = 0;
    for (worker, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            applied.push((worker, report(&out)));
        } else {
            assert!(!waits(worker), "worker {worker} waited for the lock and still failed:\n{stderr}");
            // Refused with the holder named: who, where, for what.
            assert!(stderr.contains("is locked: held by"), "worker {worker}:\n{stderr}");
            assert!(
                stderr.contains("for apply since") && stderr.contains("(pid "),
                "worker {worker}:\n{stderr}"
            );
            refused += 1;
        }
    }
    assert!(applied.len() >= 4, "every waiting worker applies");

    // One holder at any instant: the hold windows never overlap.
    applied.sort_by_key(|(_, r)| r.acquired_us);
    for pair in applied.windows(2) {
        let ((a, ra), (b, rb)) = (&pair[0], &pair[1]);
        assert!(ra.released_us <= rb.acquired_us, "workers {a} and {b} held the lock at the same time");
    }
    // No lost update: each apply read exactly what the previous one wrote
    // and advanced the serial by one.
    let mut serial = 0;
    for (worker, r) in &applied {
        assert_eq!(r.read_serial, serial, "worker {worker} read a stale state");
        assert_eq!(r.final_serial, serial + 1, "worker {worker}");
        serial = r.final_serial;
    }
    let state = team.state("team");
    assert_eq!(state.serial, applied.len() as u64, "serial advanced once per successful apply");
    let (last, _) = applied.last().unwrap();
    sim::assert_converged(&writer_stack(*last), &state, &open(&cloud), "after the concurrent applies");
    let history: Vec<u64> =
        rt().block_on(team.backend.history("team")).unwrap().iter().map(|h| h.serial).collect();
    let expected: Vec<u64> = (1..state.serial).rev().collect();
    assert_eq!(history, expected, "one history entry per apply");
    eprintln!("{} applies in turn, {refused} refused naming the holder", applied.len());
}

#[test]
fn a_killed_holder_is_taken_over_after_its_lease_and_the_next_apply_converges() {
    const ROUNDS: u32 = 6;
    let _turn = turn();
    let lease = Duration::from_secs(2);
    let team = Team::new("crash", lease);
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud.json");
    let wait = Duration::from_secs(120);

    // Calibrate how long each transition takes here.
    let mut window = [Duration::ZERO; 3];
    for variant in [0u32, 1, 2, 0] {
        let started = Instant::now();
        let out = team.apply(&cloud, &format!("crash:{variant}"), wait).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        window[variant as usize] = started.elapsed();
    }

    let mut rng = Rng(0x7EA5_0000_C0DE_0001);
    let (mut taken_over, mut recovered) = (0, 0);
    for round in 1..=ROUNDS {
        let variant = round % 3;
        let what = format!("crash:{variant}");
        let mut child = team.apply(&cloud, &what, wait).spawn().unwrap();
        std::thread::sleep(window[variant as usize].mul_f64(0.3 + 0.5 * rng.next_unit()));
        child.kill().unwrap(); // SIGKILL: no release, no final save
        child.wait().unwrap();
        let holder = rt().block_on(team.backend.lock_holder("crash")).unwrap();

        let started = Instant::now();
        let out = team.apply(&cloud, &what, wait).output().unwrap();
        assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        let r = report(&out);
        match &holder {
            Some(dead) => {
                let from = r
                    .taken_over_from
                    .as_ref()
                    .unwrap_or_else(|| panic!("round {round}: no takeover reported"));
                assert_eq!(from.id, dead.id, "round {round}: took over from someone else");
                assert!(
                    started.elapsed() >= lease.mul_f64(0.5),
                    "round {round}: taken over before the lease ran out"
                );
                taken_over += 1;
            }
            None => assert!(r.taken_over_from.is_none(), "round {round}"),
        }
        recovered += r.recovered;
        let state = team.state("crash");
        assert_eq!(state.serial, r.final_serial);
        sim::assert_converged(&crash::stack(variant), &state, &open(&cloud), &format!("round {round}"));
    }
    assert!(taken_over >= ROUNDS / 2, "only {taken_over} of {ROUNDS} kills hit a lock holder");
    assert!(recovered > 0, "no kill left a pending operation to resolve");
    eprintln!("{taken_over} of {ROUNDS} killed holders taken over; {recovered} pending operations resolved");
}
