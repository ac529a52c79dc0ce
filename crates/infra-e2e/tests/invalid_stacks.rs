//! The invalid-stack catalogue (`src/invalid.rs`): each case runs the real
//! stack program against an endpoint on loopback that counts every
//! connection and answers none. Each must exit 1, name what is wrong (the
//! address and the field, or the file), make no API call, and leave the
//! state directory byte-for-byte as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use infra::state::Backend;
use infra_e2e::invalid::{Case, Setup, cases};

/// An endpoint that counts connections and closes each one unanswered.
struct Counter {
    url: String,
    calls: Arc<AtomicUsize>,
}

impl Counter {
    fn start() -> Counter {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut conn = conn;
                let _ = conn.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Counter { url, calls }
    }
}

fn program(endpoint: &str, dir: &Path, case: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_invalid_stacks"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent/infra-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/infra-test-credentials")
        .env("INFRA_BACKEND", format!("local:{}", dir.join("state").display()))
        .env("INFRA_CASE", case)
        .env("NO_COLOR", "1");
    c
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("state").join("prod.infra-state.json")
}

fn write_state(dir: &Path, lineage: &str) {
    let state = infra::core::State::new(lineage, "0123456789abcdef0123456789abcdef");
    std::fs::write(state_file(dir), infra::state::encode(&state).unwrap()).unwrap();
}

/// Prepares the state directory; returns a lock to hold while the case runs.
fn setup(
    case: &Case,
    counter: &Counter,
    dir: &Path,
    rt: &tokio::runtime::Runtime,
) -> Option<Box<dyn infra::state::Lock>> {
    std::fs::create_dir_all(dir.join("state")).unwrap();
    match case.setup {
        Setup::Empty => None,
        Setup::EmptyState => {
            write_state(dir, "catalogue-lineage");
            None
        }
        Setup::CorruptState => {
            std::fs::write(state_file(dir), b"{ this is not a state").unwrap();
            None
        }
        Setup::ForeignPlan => {
            // A plan saved against another state directory (another lineage).
            let elsewhere = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(elsewhere.path().join("state")).unwrap();
            write_state(elsewhere.path(), "another-lineage");
            let out = program(&counter.url, elsewhere.path(), "")
                .args(["plan", "--refresh=false", "--out"])
                .arg(dir.join("plan.json"))
                .output()
                .unwrap();
            assert!(
                out.status.code() == Some(0),
                "saving the plan: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            write_state(dir, "catalogue-lineage");
            None
        }
        Setup::ManagedVpc => {
            let mut state = infra::core::State::new("catalogue-lineage", "0123456789abcdef0123456789abcdef");
            let vpc = infra::core::ResourceState {
                type_name: "aws:ec2:Vpc".into(),
                provider: infra::core::ProviderKey("aws.us-east-1".into()),
                region: "us-east-1".into(),
                id: "vpc-0abc123".into(),
                inputs: Default::default(),
                outputs: Default::default(),
                dependencies: Default::default(),
                protect: false,
                retain_on_delete: false,
                keeps_data: None,
                waiting: false,
            };
            state.resources.insert(infra::core::Address::parse("us.vpc").unwrap(), vpc);
            std::fs::write(state_file(dir), infra::state::encode(&state).unwrap()).unwrap();
            None
        }
        Setup::Locked => {
            write_state(dir, "catalogue-lineage");
            let backend = infra::state::LocalBackend::new(dir.join("state"));
            Some(rt.block_on(backend.lock("prod", "apply", Duration::from_secs(5))).unwrap())
        }
    }
}

#[test]
fn every_invalid_stack_and_misuse_is_refused_before_any_call_with_nothing_written() {
    let counter = Counter::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let all = cases();
    assert!(all.len() >= 60, "the catalogue has {} cases", all.len());
    let mut failures = Vec::new();
    for case in &all {
        let dir = tempfile::tempdir().unwrap();
        let lock = setup(case, &counter, dir.path(), &rt);
        let before = snapshot(dir.path());
        counter.calls.store(0, Ordering::SeqCst);
        let out = program(&counter.url, dir.path(), case.name).args(case.args).output().unwrap();
        let calls = counter.calls.load(Ordering::SeqCst);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let mut wrong = Vec::new();
        if out.status.code() != Some(1) {
            wrong.push(format!("exit code {:?}, not 1", out.status.code()));
        }
        for e in case.expect {
            if !text.contains(e) {
                wrong.push(format!("the message does not name {e:?}"));
            }
        }
        if calls != 0 {
            wrong.push(format!("{calls} API call(s) were made"));
        }
        let after = snapshot(dir.path());
        if after != before {
            let changed: Vec<_> = after
                .keys()
                .chain(before.keys())
                .filter(|k| after.get(*k) != before.get(*k))
                .map(|k| k.strip_prefix(dir.path()).unwrap_or(k).display().to_string())
                .collect();
            wrong.push(format!("the state directory changed: {changed:?}"));
        }
        drop(lock);
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n    output: {}",
                case.name,
                wrong.join("; "),
                text.trim().replace('\n', "\n    ")
            ));
        }
    }
    eprintln!("{} of {} cases refused as they must", all.len() - failures.len(), all.len());
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
