//! The local-file backend: the shared conformance suite, plus what only a
//! local directory can show (atomic files, OS locks across processes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use infra_core::{Address, ProviderKey, ResourceState, State, Value};
use infra_state::conformance::{Fixture, sample_state};
use infra_state::{Backend, Error, LocalBackend, LockInfo, decode, new_state};

infra_state::backend_conformance_tests!(async {
    let dir = tempfile::tempdir().unwrap();
    Fixture::with_guard(LocalBackend::new(dir.path()), dir)
});

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

const WAIT: Duration = Duration::from_millis(300);

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn large_state(base: &State, serial: u64, resources: usize) -> State {
    let mut state = base.clone();
    state.serial = serial;
    for i in 0..resources {
        let address = Address::parse(&format!("fleet.instance-{i}")).unwrap();
        let r = ResourceState {
            type_name: "aws:ec2:Instance".into(),
            provider: ProviderKey("aws.us-east-1".into()),
            region: "us-east-1".into(),
            id: format!("i-{i:017x}"),
            inputs: BTreeMap::from([
                ("user_data".into(), Value::from("x".repeat(400))),
                ("serial".into(), Value::from(serial as i64)),
            ]),
            outputs: BTreeMap::from([("id".into(), Value::from(format!("i-{i:017x}")))]),
            dependencies: BTreeSet::new(),
            protect: false,
            retain_on_delete: false,
            keeps_data: None,
            waiting: false,
        };
        state.resources.insert(address, r);
    }
    state
}

#[test]
fn state_file_is_never_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    let path = backend.state_path("big").unwrap();
    let base = new_state().unwrap();

    // A reader thread decodes the file continuously while large states are
    // written over it: every read must see a complete state.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let path = path.clone();
        std::thread::spawn(move || {
            let mut complete_reads = 0u32;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(bytes) = std::fs::read(&path) {
                    let state = decode(&bytes)
                        .unwrap_or_else(|e| panic!("reader saw a partial file ({} bytes): {e}", bytes.len()));
                    assert!(state.resources.len() == 2000);
                    complete_reads += 1;
                }
            }
            complete_reads
        })
    };

    runtime().block_on(async {
        let lock = backend.lock("big", "apply", WAIT).await.unwrap();
        let mut version = None;
        for serial in 1..=6 {
            let state = large_state(&base, serial, 2000);
            version = Some(backend.write(&*lock, &state, version.as_ref()).await.unwrap());
        }
        lock.release().await.unwrap();
    });
    stop.store(true, Ordering::Relaxed);
    let complete_reads = reader.join().unwrap();
    assert!(complete_reads > 0, "the reader never saw the file");
    assert!(std::fs::metadata(&path).unwrap().len() > 1_000_000);

    let names = files_in(dir.path());
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "temporary file left behind: {names:?}");
    assert_eq!(decode(&std::fs::read(&path).unwrap()).unwrap().serial, 6);
}

#[test]
fn failed_write_leaves_file_and_directory_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", WAIT).await.unwrap();
        let base = new_state().unwrap();
        let good = sample_state(&base, 1, "good");
        let v1 = backend.write(&*lock, &good, None).await.unwrap();
        let before = std::fs::read(backend.state_path("prod").unwrap()).unwrap();

        let mut leaky = sample_state(&base, 2, "leaky");
        leaky.outputs.insert("db_password".into(), Value::Secret(Box::new(Value::from("hunter2"))));
        let err = backend.write(&*lock, &leaky, Some(&v1)).await.unwrap_err();
        assert!(matches!(err, Error::PlaintextSecret { .. }), "{err}");
        assert!(err.to_string().contains("db_password"), "{err}");

        let after = std::fs::read(backend.state_path("prod").unwrap()).unwrap();
        assert_eq!(before, after);
        assert!(!String::from_utf8_lossy(&after).contains("hunter2"));
        assert!(files_in(dir.path()).iter().all(|n| !n.ends_with(".tmp")));
        lock.release().await.unwrap();
    });
}

#[test]
fn lock_file_names_the_holder_while_held_and_is_cleared_on_release() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    let lock_path = backend.lock_path("prod").unwrap();
    runtime().block_on(async {
        let lock = backend.lock("prod", "destroy", WAIT).await.unwrap();
        let recorded: LockInfo = serde_json::from_slice(&std::fs::read(&lock_path).unwrap()).unwrap();
        assert_eq!(&recorded, lock.info());
        assert_eq!(recorded.pid, std::process::id());
        assert_eq!(recorded.operation, "destroy");
        humantime::parse_rfc3339(&recorded.created).unwrap();
        lock.release().await.unwrap();
    });
    assert_eq!(std::fs::read(&lock_path).unwrap(), b"");
}

#[test]
fn fencing_counter_survives_a_new_backend_instance() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let first = LocalBackend::new(dir.path());
        let a = first.lock("prod", "apply", WAIT).await.unwrap();
        let token = a.fencing_token();
        a.release().await.unwrap();
        let second = LocalBackend::new(dir.path());
        let b = second.lock("prod", "apply", WAIT).await.unwrap();
        assert!(b.fencing_token() > token);
        b.release().await.unwrap();
    });
}

#[test]
fn history_is_pruned_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path()).with_history_limit(3);
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", WAIT).await.unwrap();
        let base = new_state().unwrap();
        let mut version = None;
        for serial in 1..=8 {
            let s = sample_state(&base, serial, &format!("v{serial}"));
            version = Some(backend.write(&*lock, &s, version.as_ref()).await.unwrap());
        }
        lock.release().await.unwrap();
        let history = backend.history("prod").await.unwrap();
        let serials: Vec<u64> = history.iter().map(|h| h.serial).collect();
        assert_eq!(serials, vec![7, 6, 5]);
        let oldest = backend.read_version("prod", &history[2].version_id).await.unwrap();
        assert_eq!(oldest, sample_state(&base, 5, "v5"));
    });
    let kept = files_in(&dir.path().join("history").join("prod"));
    assert_eq!(kept.len(), 3, "{kept:?}");
}

#[test]
fn rewriting_identical_state_adds_no_history() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", WAIT).await.unwrap();
        let state = sample_state(&new_state().unwrap(), 1, "same");
        let v1 = backend.write(&*lock, &state, None).await.unwrap();
        let again = backend.write(&*lock, &state, Some(&v1)).await.unwrap();
        assert_eq!(again, v1);
        assert!(backend.history("prod").await.unwrap().is_empty());
        lock.release().await.unwrap();
    });
}

#[test]
fn version_ids_cannot_escape_the_history_directory() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path().join("state"));
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", WAIT).await.unwrap();
        backend.write(&*lock, &sample_state(&new_state().unwrap(), 1, "x"), None).await.unwrap();
        lock.release().await.unwrap();
        for id in ["../../prod", "../../prod.infra-state.json", "/etc/passwd"] {
            let err = backend.read_version("prod", id).await.unwrap_err();
            assert!(matches!(err, Error::VersionNotFound { .. }), "{id}: {err}");
        }
    });
}

#[test]
fn state_in_the_older_format_is_read_and_rewritten_in_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../state");
    let path = backend.state_path("legacy").unwrap();
    std::fs::copy(samples.join("samples/v1-basic.json"), &path).unwrap();
    runtime().block_on(async {
        let (state, version) = backend.read("legacy").await.unwrap().unwrap();
        let lock = backend.lock("legacy", "apply", WAIT).await.unwrap();
        backend.write(&*lock, &state, Some(&version)).await.unwrap();
        lock.release().await.unwrap();
    });
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(samples.join("upgrade/v1-basic.v2.json")).unwrap()
    );
}

#[test]
fn state_from_a_newer_infra_is_refused_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    let path = backend.state_path("future").unwrap();
    let future = br#"{"format_version": 3, "lineage": "x", "resources": "who knows"}"#;
    std::fs::write(&path, future).unwrap();
    runtime().block_on(async {
        let err = backend.read("future").await.unwrap_err();
        assert!(matches!(err, Error::UnsupportedFormat { found: 3, .. }), "{err}");
        let lock = backend.lock("future", "apply", WAIT).await.unwrap();
        let err = backend.write(&*lock, &new_state().unwrap(), None).await.unwrap_err();
        assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err}");
        lock.release().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), future);
}

#[test]
fn force_unlock_cannot_break_a_live_lock_but_clears_a_leftover_record() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    let lock_path = backend.lock_path("prod").unwrap();
    runtime().block_on(async {
        let held = backend.lock("prod", "apply", WAIT).await.unwrap();
        let err = backend.force_unlock("prod", &held.info().id).await.unwrap_err();
        match &err {
            Error::LockHeldByLiveProcess { stack, holder } => {
                assert_eq!(stack, "prod");
                assert_eq!(holder.pid, std::process::id());
            }
            other => panic!("wanted LockHeldByLiveProcess, got {other:?}"),
        }
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
        held.release().await.unwrap();

        // A record left by a holder that died without cleaning up (the OS
        // lock itself is gone): force_unlock clears it with the right ID.
        let mut leftover = LockInfo::new("prod", "apply").unwrap();
        leftover.pid = 999_999;
        std::fs::write(&lock_path, serde_json::to_vec(&leftover).unwrap()).unwrap();
        let err = backend.force_unlock("prod", "wrong").await.unwrap_err();
        assert!(matches!(err, Error::WrongLockId { .. }), "{err}");
        backend.force_unlock("prod", &leftover.id).await.unwrap();
        assert_eq!(std::fs::read(&lock_path).unwrap(), b"");
    });
}

#[test]
fn leftover_record_does_not_block_locking() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    let mut leftover = LockInfo::new("prod", "apply").unwrap();
    leftover.pid = 999_999;
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(backend.lock_path("prod").unwrap(), serde_json::to_vec(&leftover).unwrap()).unwrap();
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
        assert_ne!(lock.info().id, leftover.id);
        lock.release().await.unwrap();
    });
}

#[test]
fn dropping_a_lock_without_release_frees_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", WAIT).await.unwrap();
        drop(lock);
        let again = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
        again.release().await.unwrap();
    });
}

// ---- several processes ---------------------------------------------------

/// Environment variable that turns a run of this binary into a child.
const CHILD_DIR: &str = "INFRA_STATE_TEST_CHILD_DIR";
const STACK: &str = "shared";

fn spawn_child(test: &str, dir: &Path) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd.spawn().unwrap()
}

/// What the child reported (`RESULT …`, possibly after the test harness's
/// own text on the same line), once it has exited.
fn results(child: Child) -> (u32, Vec<String>) {
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "child {pid} failed: {output:?}");
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned()))
        .collect();
    (pid, lines)
}

fn wait_for_file(path: &Path, limit: Duration) {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_DIR).map(PathBuf::from)
}

#[test]
#[ignore = "run as a child process by two_processes_race_for_one_lock"]
fn child_race_for_lock() {
    let Some(dir) = child_dir() else { return };
    let me = std::process::id();
    let rt = runtime();
    let backend = LocalBackend::new(dir.join("state"));
    // Announce readiness, then start together with the other child.
    std::fs::write(dir.join(format!("ready-{me}")), b"").unwrap();
    wait_for_file(&dir.join("go"), Duration::from_secs(10));
    rt.block_on(async {
        match backend.lock(STACK, "race", Duration::from_millis(300)).await {
            Ok(lock) => {
                println!("RESULT won {me}");
                // Hold it well past the loser's timeout.
                tokio::time::sleep(Duration::from_millis(1500)).await;
                lock.release().await.unwrap();
            }
            Err(Error::Locked { holder, .. }) => {
                println!("RESULT lost {me} holder {} {}", holder.pid, holder.operation);
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    });
}

#[test]
fn two_processes_race_for_one_lock() {
    let dir = tempfile::tempdir().unwrap();
    let children =
        [spawn_child("child_race_for_lock", dir.path()), spawn_child("child_race_for_lock", dir.path())];
    let started = Instant::now();
    while files_in(dir.path()).iter().filter(|n| n.starts_with("ready-")).count() < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "children never got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();

    let outcomes: Vec<(u32, Vec<String>)> = children.into_iter().map(results).collect();
    let lines: Vec<Vec<&str>> = outcomes
        .iter()
        .map(|(_, l)| {
            assert_eq!(l.len(), 1, "{outcomes:?}");
            l[0].split(' ').collect()
        })
        .collect();
    let winners: Vec<&Vec<&str>> = lines.iter().filter(|l| l[0] == "won").collect();
    let losers: Vec<&Vec<&str>> = lines.iter().filter(|l| l[0] == "lost").collect();
    assert_eq!((winners.len(), losers.len()), (1, 1), "{outcomes:?}");
    let winner_pid = winners[0][1];
    assert!(
        outcomes.iter().any(|(pid, _)| pid.to_string() == winner_pid),
        "winner pid {winner_pid} is not one of the children: {outcomes:?}"
    );
    assert_eq!(losers[0][3], winner_pid, "the loser must name the winner");
    assert_eq!(losers[0][4], "race");
}

#[test]
#[ignore = "run as a child process by killed_holder_frees_the_lock_at_once"]
fn child_hold_lock_until_killed() {
    let Some(dir) = child_dir() else { return };
    runtime().block_on(async {
        let backend = LocalBackend::new(dir.join("state"));
        let _lock = backend.lock(STACK, "apply", WAIT).await.unwrap();
        std::fs::write(dir.join("holding"), b"").unwrap();
        // Bounded: the parent kills us long before this ends.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
}

#[test]
fn killed_holder_frees_the_lock_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("child_hold_lock_until_killed", dir.path());
    wait_for_file(&dir.path().join("holding"), Duration::from_secs(20));
    let backend = LocalBackend::new(dir.path().join("state"));
    runtime().block_on(async {
        match backend.lock(STACK, "apply", Duration::from_millis(100)).await {
            Err(Error::Locked { holder, .. }) => assert_eq!(holder.pid, child.id()),
            other => panic!("the child should hold the lock: {other:?}"),
        }
    });
    child.kill().unwrap(); // SIGKILL on Unix: no cleanup runs in the child.
    child.wait().unwrap();

    let started = Instant::now();
    runtime().block_on(async {
        let lock = backend
            .lock(STACK, "apply", Duration::from_secs(2))
            .await
            .expect("the OS released the dead holder's lock");
        assert!(started.elapsed() < Duration::from_millis(500), "took {:?}", started.elapsed());
        // The dead holder's record was left behind, but the new holder
        // replaced it.
        assert_eq!(lock.info().pid, std::process::id());
        lock.release().await.unwrap();
    });
}

#[test]
fn temporary_files_a_killed_writer_left_are_removed_by_the_next_lock_holder() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path());
    std::fs::create_dir_all(dir.path()).unwrap();
    // What a process killed between writing and renaming leaves behind, for
    // this stack and for another one.
    let leftovers = [".prod.infra-state.json.4242-7.tmp", ".prod.fence.4242-8.tmp"];
    for name in leftovers {
        std::fs::write(dir.path().join(name), b"{").unwrap();
    }
    std::fs::write(dir.path().join(".staging.fence.4242-9.tmp"), b"1").unwrap();
    runtime().block_on(async {
        let lock = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
        let names = files_in(dir.path());
        for name in leftovers {
            assert!(!names.iter().any(|n| n == name), "{name} is still there: {names:?}");
        }
        assert!(names.iter().any(|n| n == ".staging.fence.4242-9.tmp"), "another stack's file was touched");
        lock.release().await.unwrap();
    });
}
