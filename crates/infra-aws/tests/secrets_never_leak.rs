//! Acceptance test: no secret value appears in any plan, state file, event
//! stream or log line.
//!
//! One stack in us-east-1 on the emulator: a `Secret` with a declared
//! `SecretVersion`, a `Secret` with a `GeneratedPassword` (made by the
//! cloud: read back with `GetSecretValue` after each apply), an execution
//! role and a `TaskDefinition` whose container takes both secrets as
//! `secrets` (by ARN) and one environment variable declared `Sensitive`.
//! v1 changes the declared value, the password's rules (a new password)
//! and the sensitive variable, so every replacement is swept with both the
//! old and the new value. The canaries are those values: the two declared
//! values, the two generated passwords and the two variable values.
//!
//! What is swept (each canary plain, JSON-escaped, and base64 at each of
//! the three alignments, standard and URL-safe alphabets), through one
//! reusable helper, [`assert_never_leaks`]:
//!
//! 1. every plan: a refreshed preview (what `plan` shows) before each
//!    apply and destroy, and the plan each run executed, rendered for a
//!    person and as JSON (the saved-plan format), plus the `Debug` of the
//!    previews and outcomes (they hold the stored and refreshed states);
//! 2. every state file written: the local backend's state file read back
//!    after each write, and at the end every file of its directory (the
//!    history, lock and fence files, leftover temporary files);
//! 3. the engine's event stream of every run, `Debug`- and JSON-formatted;
//! 4. log lines: a `tracing` subscriber at TRACE for every target (the
//!    AWS SDK's `aws_smithy_*` / `aws_sdk_*` included), for the whole
//!    plan/apply/refresh/destroy, every event and span with its fields;
//! 5. the command line: the same stack run as a stack program
//!    (`infra::cli::Program`, this test binary run again as the program)
//!    with `-vv` and `RUST_LOG=trace`: stdout and stderr of `plan`,
//!    `plan --json`, `validate`, `graph`, `apply --yes`,
//!    `apply --yes --json`, `plan --detailed-exitcode`, `refresh`,
//!    `drift`, `drift --json`, `output`, `output --json`, `state list`,
//!    `state show` of every address, `state pull`, `state history`,
//!    `plan --destroy` and `destroy --yes --json`, and its state directory.
//!
//! The AWS SDK's own TRACE logs (aws-smithy-runtime 1.16): under
//! `aws_smithy_runtime::client::orchestrator` it logs each decoded output
//! (`output_or_error=…`, the output's `Debug`) and, under
//! `…::orchestrator::http`, each response body ("read HTTP response
//! body"), redacting only what the service's model marks sensitive. Secrets
//! Manager's values are (`GetRandomPassword`, `GetSecretValue`; request
//! bodies show as a streamed `BoxBody`), but an ECS container's
//! environment is not: `RegisterTaskDefinition`'s and
//! `DescribeTaskDefinition`'s answers carry the `Sensitive` variable in
//! plaintext. So a subscriber that enables TRACE for that target sees it:
//! the library test allows hits there and nowhere else (no other target,
//! third-party or infra's, may show a canary), and prints what it found;
//! the command line, which owns its subscriber, drops that target's TRACE
//! records whatever `RUST_LOG` says (unless `LOG_SENSITIVE_BODIES=true`,
//! the SDK's own opt-in), and its sweep allows nothing.
//!
//! What it found: a refresh stored the `Sensitive` environment variable in
//! plaintext (the provider reports `container_definitions` as plain data,
//! and only fields secret as a whole were sealed), and the next plan's JSON
//! showed it as the value before. Reported inputs are now marked secret
//! wherever the recorded or declared value holds one
//! (`Value::mark_secrets_like`, in refresh, recovery, import and adoption).
//!
//! The data tier adds its secrets to the same stack and the same sweep:
//! an Aurora cluster whose master password is declared as a value
//! (`SecretSource::Value`), a second one whose password is the generated
//! secret's (`SecretSource::Secret`, read by infra just before the call),
//! and a Redis replication group with an auth token (with transit
//! encryption, as AWS requires). v1 changes the declared password
//! (`ModifyDBCluster`) and rotates the token (`ModifyReplicationGroup`),
//! both in place; the four values are canaries too, and the generated
//! passwords were already. The emulator never finishes deleting a
//! replication group (it stays `deleting`), so the group is declared
//! `retain_on_delete`: destroy forgets it (its delete call would carry no
//! secret anyway), and every plan, state and log before that holds it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use infra_aws::ec2::{SecurityGroup, Vpc};
use infra_aws::ecs::{ContainerDefinition, ContainerSecret, EnvironmentVariable, TaskDefinition};
use infra_aws::elasticache::ReplicationGroup;
use infra_aws::iam::{PolicyDocument, Role};
use infra_aws::rds::AuroraCluster;
use infra_aws::secretsmanager::{GeneratedPassword, Secret, SecretSource, SecretVersion};
use infra_core::plan::{Plan, PlanOptions};
use infra_core::{Action, OnDelete, Options, ProviderConfig, Sensitive, Stack, State};
use infra_engine::{Event, Events, Interrupt, Mode, PreviewMode, RunOptions};
use infra_state::{Backend, HistoryEntry, LocalBackend, Lock, StateVersion};
use tracing_subscriber::Layer as _;

// ---------------------------------------------------------------- canaries

const VALUE_V0: &str = "leak-canary-SV0-7f3a91c2e54b";
const VALUE_V1: &str = "leak-canary-SV1-0d6e28b7a13f";
const ENV_V0: &str = "leak-canary-ENV0-c49e0a7d2f61";
const ENV_V1: &str = "leak-canary-ENV1-5b17f3e8c90a";
/// A database master password: printable, without `/`, `@`, `"` or space.
const DB_V0: &str = "leak-canary-DB0-3e9a0c71b25d";
const DB_V1: &str = "leak-canary-DB1-a84f16d0c3e7";
/// A Redis auth token: letters, digits and `-` are among those AWS takes.
const TOKEN_V0: &str = "leak-canary-TOK0-6d02b9f4e1a8";
const TOKEN_V1: &str = "leak-canary-TOK1-f1c73a5e08b2";

/// The generated passwords are alphanumeric (punctuation excluded), so the
/// plain form is also what any escaping (JSON, Rust `Debug`, percent
/// encoding) leaves of them; so are the declared canaries.
const PASSWORD_LENGTHS: [u32; 2] = [32, 40];

/// The stack `name`, version `v` (0 or 1), in us-east-1 only.
fn declare(name: &str, v: u8) -> Stack {
    let mut s = Stack::new(name);
    let us = s.provider(ProviderConfig::aws("us-east-1"));
    let o = || Options::new().provider(&us);
    let secret = |s: &mut Stack, address: &str, secret_name: &str| {
        s.add_with(
            address,
            Secret {
                name: format!("{name}/{secret_name}"),
                description: Some("leak test".into()),
                // Deleted at once: the test runs twice on one emulator.
                recovery_window_in_days: Some(0),
                ..Default::default()
            },
            o(),
        )
    };
    let declared = secret(&mut s, "declared", "declared");
    s.add_with(
        "declared-value",
        SecretVersion {
            secret_id: declared.arn().into(),
            secret_string: Sensitive(if v == 0 { VALUE_V0 } else { VALUE_V1 }.to_owned()),
        },
        o(),
    );
    let generated = secret(&mut s, "generated", "generated");
    let generated_value = s.add_with(
        "generated-value",
        GeneratedPassword {
            secret_id: generated.arn().into(),
            length: PASSWORD_LENGTHS[usize::from(v)],
            exclude_punctuation: Some(true),
            ..Default::default()
        },
        o(),
    );
    let role = s.add_with(
        "exec",
        Role {
            name: format!("{name}-exec"),
            assume_role_policy: PolicyDocument::assume_role("ecs-tasks.amazonaws.com"),
            ..Default::default()
        },
        o(),
    );
    s.add_with(
        "td",
        TaskDefinition {
            family: format!("{name}-app"),
            cpu: 256,
            memory: 512,
            execution_role_arn: Some(role.arn().into()),
            container_definitions: vec![ContainerDefinition {
                name: "app".into(),
                image: "public.ecr.aws/nginx/nginx:latest".into(),
                environment: vec![
                    EnvironmentVariable { name: "PORT".into(), value: "8080".into() },
                    EnvironmentVariable {
                        name: "API_TOKEN".into(),
                        value: Sensitive(if v == 0 { ENV_V0 } else { ENV_V1 }.to_owned()).into(),
                    },
                ],
                secrets: vec![
                    ContainerSecret { name: "DB_PASSWORD".into(), value_from: declared.arn().into() },
                    ContainerSecret { name: "ADMIN_PASSWORD".into(), value_from: generated.arn().into() },
                ],
                ..Default::default()
            }],
            ..TaskDefinition::fargate()
        },
        o(),
    );
    // The data tier: the master passwords and the auth token.
    let vpc = s.add_with("vpc", Vpc { cidr_block: "10.42.0.0/16".into(), ..Default::default() }, o());
    let data_sg = s.add_with(
        "data-sg",
        SecurityGroup {
            name: format!("{name}-data"),
            description: "leak test data tier".into(),
            vpc_id: vpc.id().into(),
            ..Default::default()
        },
        o(),
    );
    let cluster = |id: String, password: SecretSource| AuroraCluster {
        vpc_security_group_ids: vec![data_sg.id().into()],
        cluster_identifier: id,
        engine: "aurora-postgresql".into(),
        master_username: Some("dbadmin".into()),
        master_password: Some(password),
        apply_immediately: Some(true),
        on_delete: Some(OnDelete::DeleteData),
        ..Default::default()
    };
    let db_password = if v == 0 { DB_V0 } else { DB_V1 };
    s.add_with("db", cluster(format!("{name}-db"), SecretSource::Value(Sensitive(db_password.into()))), o());
    s.add_with(
        "db-generated",
        cluster(format!("{name}-db-generated"), SecretSource::Secret(generated_value.secret_arn().into())),
        o(),
    );
    s.add_with(
        "redis",
        ReplicationGroup {
            replication_group_id: format!("{name}-redis"),
            description: "leak test".into(),
            node_type: "cache.t4g.small".into(),
            transit_encryption_enabled: true,
            auth_token: Some(SecretSource::Value(Sensitive(if v == 0 { TOKEN_V0 } else { TOKEN_V1 }.into()))),
            on_delete: Some(OnDelete::DeleteData),
            ..Default::default()
        },
        // The emulator never finishes a replication group's delete.
        o().retain_on_delete(),
    );
    s.export("declared_arn", declared.arn());
    s.export("generated_arn", generated.arn());
    s
}

const ADDRESSES: [&str; 11] = [
    "declared",
    "declared-value",
    "generated",
    "generated-value",
    "exec",
    "td",
    "vpc",
    "data-sg",
    "db",
    "db-generated",
    "redis",
];

/// The current value of secret `name`, asked of the emulator directly
/// (outside the captured logs: this is the test's own call, not infra's).
async fn current_value(w: &World, name: &str) -> String {
    use tracing::instrument::WithSubscriber as _;
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, "us-east-1").unwrap();
    let client = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk).build(),
    );
    let out = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .with_subscriber(tracing::subscriber::NoSubscriber::default())
        .await
        .unwrap();
    out.secret_string().unwrap().to_owned()
}

// ---------------------------------------------------------------- the sweep

/// Everything a user or an operator could see, by name.
#[derive(Debug, Default)]
struct Artifacts {
    items: Vec<(String, Vec<u8>)>,
}

impl Artifacts {
    fn add(&mut self, name: impl Into<String>, bytes: impl AsRef<[u8]>) {
        self.items.push((name.into(), bytes.as_ref().to_vec()));
    }

    /// A plan rendered for a person and as JSON.
    fn plan(&mut self, name: &str, plan: &Plan) {
        self.add(
            format!("{name}: rendered plan"),
            infra_core::plan::render::render(plan, Default::default()),
        );
        let colored = infra_core::plan::render::RenderOptions { color: true };
        self.add(format!("{name}: rendered plan (colour)"), infra_core::plan::render::render(plan, colored));
        self.add(format!("{name}: JSON plan"), plan.to_json().unwrap());
    }

    /// Events, `Debug`- and JSON-formatted.
    fn events(&mut self, name: &str, events: &[Event]) {
        for (i, e) in events.iter().enumerate() {
            self.add(format!("{name}: event {i} (Debug)"), format!("{e:?}"));
            self.add(format!("{name}: event {i} (JSON)"), serde_json::to_string(e).unwrap());
        }
    }

    /// Every file under `dir`.
    fn files(&mut self, name: &str, dir: &Path) {
        for path in files_under(dir) {
            self.add(format!("{name}: {}", path.display()), std::fs::read(&path).unwrap());
        }
    }

    fn total_bytes(&self) -> usize {
        self.items.iter().map(|(_, b)| b.len()).sum()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { todo.push(path) } else { out.push(path) }
        }
    }
    out.sort();
    out
}

const B64_STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The forms in which `canary` would show: plain, JSON-escaped, and base64
/// of it inside any larger text (at each of the three byte alignments, the
/// characters that depend only on the canary's bytes).
fn encodings(canary: &str) -> Vec<(String, String)> {
    let json = serde_json::to_string(canary).unwrap();
    let mut forms = vec![
        ("plain".to_owned(), canary.to_owned()),
        ("JSON-escaped".to_owned(), json[1..json.len() - 1].to_owned()),
    ];
    for (alphabet, label) in [(B64_STANDARD, "base64"), (B64_URL, "base64url")] {
        for shift in 0..3usize {
            let mut bytes = vec![0u8; shift];
            bytes.extend_from_slice(canary.as_bytes());
            let encoded = base64(&bytes, alphabet);
            // Leading characters mix in the bytes before the canary, the
            // last group the bytes after it.
            let skip = [0, 2, 3][shift];
            let keep = encoded.len().saturating_sub(4);
            forms.push((format!("{label} (offset {shift})"), encoded[skip..keep].to_owned()));
        }
    }
    forms
}

/// Where each canary shows: (artifact, canary index, encoding).
fn leaks(canaries: &[&str], artifacts: &Artifacts) -> Vec<(String, usize, String)> {
    let mut found = Vec::new();
    for (i, canary) in canaries.iter().enumerate() {
        assert!(canary.len() >= 16, "canary {i} is too short to search for");
        for (encoding, form) in encodings(canary) {
            for (name, bytes) in &artifacts.items {
                if bytes.windows(form.len()).any(|w| w == form.as_bytes()) {
                    found.push((name.clone(), i, encoding.clone()));
                }
            }
        }
    }
    found
}

/// Fails naming every artifact in which a canary shows, and how.
fn assert_never_leaks(canaries: &[&str], artifacts: &Artifacts) {
    let found = leaks(canaries, artifacts);
    assert!(
        found.is_empty(),
        "secret values leaked ({} hits, as (artifact, canary index, encoding)):\n{}",
        found.len(),
        found.iter().map(|f| format!("  {f:?}")).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_sweep_finds_a_canary_in_every_encoding_and_nothing_else() {
    let canary = "leak-canary-SELF-93b1d0e7c6a2";
    let mut clean = Artifacts::default();
    clean.add("clean", "nothing secret here: leak-canary-SELF-93b1d0e7c6a (one character short)");
    assert_never_leaks(&[canary], &clean);
    for (i, (encoding, _)) in encodings(canary).into_iter().enumerate() {
        let text = match encoding.as_str() {
            "plain" => format!("log line {canary} end"),
            "JSON-escaped" => serde_json::json!({ "v": canary }).to_string(),
            _ => {
                // A canary inside a larger blob, base64-encoded whole.
                let shift = i % 3;
                let blob = format!("{}{canary}{}", "x".repeat(shift + 5), "tail");
                let alphabet = if encoding.starts_with("base64url") { B64_URL } else { B64_STANDARD };
                base64(blob.as_bytes(), alphabet)
            }
        };
        let mut a = Artifacts::default();
        a.add("before", "clean");
        a.add(format!("planted {encoding}"), text);
        let found = leaks(&[canary], &a);
        assert!(
            found.iter().any(|(name, _, _)| name == &format!("planted {encoding}")),
            "{encoding}: not found: {found:?}"
        );
        assert!(found.iter().all(|(name, ..)| name != "before"), "{found:?}");
        let caught = std::panic::catch_unwind(|| assert_never_leaks(&[canary], &a));
        assert!(caught.is_err(), "{encoding}: assert_never_leaks passed with a canary present");
    }
    // Every base64 alignment, both alphabets, is found in a blob encoded
    // whole (the planted blobs above cover some; here all six).
    for shift in 0..3 {
        for alphabet in [B64_STANDARD, B64_URL] {
            let blob = format!("{}{canary}--", "y".repeat(shift));
            let mut a = Artifacts::default();
            a.add("blob", base64(blob.as_bytes(), alphabet));
            assert!(!leaks(&[canary], &a).is_empty(), "shift {shift}");
        }
    }
    // JSON escaping matters for a canary with quotes or backslashes.
    let quoted = "leak\"canary\\with-escapes-1234";
    let mut a = Artifacts::default();
    a.add("json", serde_json::to_string(&serde_json::json!({ "k": quoted })).unwrap());
    assert!(leaks(&[quoted], &a).iter().any(|(_, _, e)| e == "JSON-escaped"));
}

// ---------------------------------------------------------------- logs

/// One captured log record: its target and everything it carries.
#[derive(Debug, Clone)]
struct LogLine {
    target: String,
    text: String,
}

static LOGS: Mutex<Vec<LogLine>> = Mutex::new(Vec::new());

/// Records every event and span (with all fields) of every target at
/// every level.
struct Capture;

#[derive(Default)]
struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

fn push(meta: &tracing::Metadata<'_>, what: &str, fields: Fields) {
    let line = LogLine {
        target: meta.target().to_owned(),
        text: format!("{} {what} {}:{}", meta.level(), meta.target(), fields.0),
    };
    LOGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        push(attrs.metadata(), &format!("span {}", attrs.metadata().name()), f);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = Fields::default();
        values.record(&mut f);
        if let Some(meta) = ctx.metadata(id) {
            push(meta, "span record", f);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        push(event.metadata(), "event", f);
    }
}

/// Installs the capturing subscriber (once per process: the executor's
/// tasks run on the runtime's worker threads, so it is the global one) and
/// empties the buffer.
fn capture_logs() {
    use tracing_subscriber::layer::SubscriberExt as _;
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(Capture.with_filter(tracing_subscriber::filter::LevelFilter::TRACE));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    LOGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
}

fn captured_logs() -> Vec<LogLine> {
    LOGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// The SDK's TRACE logs of response bodies and decoded outputs (see the
/// module documentation): the only place a canary may show in the library
/// test's logs.
const BODY_LOGGING_TARGET: &str = "aws_smithy_runtime::client::orchestrator";

// ---------------------------------------------------------------- state

/// The local backend, recording the state file's bytes after every write.
#[derive(Debug)]
struct Recording {
    local: LocalBackend,
    written: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl Backend for Recording {
    fn describe(&self) -> String {
        self.local.describe()
    }

    async fn lock(
        &self,
        stack: &str,
        operation: &str,
        timeout: Duration,
    ) -> Result<Box<dyn Lock>, infra_state::Error> {
        self.local.lock(stack, operation, timeout).await
    }

    async fn read(&self, stack: &str) -> Result<Option<(State, StateVersion)>, infra_state::Error> {
        self.local.read(stack).await
    }

    async fn write(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, infra_state::Error> {
        let version = self.local.write(lock, state, expected).await?;
        let path = self.local.state_path(&lock.info().stack)?;
        self.written.lock().unwrap().push(std::fs::read(path).unwrap());
        Ok(version)
    }

    async fn settle(
        &self,
        lock: &dyn Lock,
        version: &StateVersion,
    ) -> Result<StateVersion, infra_state::Error> {
        self.local.settle(lock, version).await
    }

    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<(), infra_state::Error> {
        self.local.force_unlock(stack, lock_id).await
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, infra_state::Error> {
        self.local.history(stack).await
    }

    async fn read_version(&self, stack: &str, version_id: &str) -> Result<State, infra_state::Error> {
        self.local.read_version(stack, version_id).await
    }

    async fn list_stacks(&self) -> Result<Vec<String>, infra_state::Error> {
        self.local.list_stacks().await
    }
}

// ---------------------------------------------------------------- runs

/// One operation on `backend`, with its events.
async fn run(
    w: &World,
    backend: &Arc<Recording>,
    stack: &Stack,
    mode: Mode,
) -> (infra_engine::Outcome, Vec<Event>) {
    let (events, mut rx) = Events::channel();
    let options = RunOptions { mode, lock_timeout: Duration::from_secs(5), refresh: true };
    let b: Arc<dyn Backend> = backend.clone();
    let outcome = infra_engine::run(&w.executor, b, stack, &options, &events, &Interrupt::new())
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    assert!(outcome.report.success(), "{:?}", outcome.report);
    (outcome, seen)
}

/// What `plan` shows: a refreshed preview, nothing written.
async fn preview(
    w: &World,
    backend: &Arc<Recording>,
    stack: &Stack,
    mode: PreviewMode,
) -> (infra_engine::Preview, Vec<Event>) {
    let (events, mut rx) = Events::channel();
    let p = infra_engine::preview(w.executor.registry(), backend.as_ref(), stack, &mode, true, &events)
        .await
        .unwrap_or_else(|e| panic!("preview failed: {e}"));
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }
    (p, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_appears_in_any_plan_state_file_event_or_log_line() {
    let w = world();
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let backend =
        Arc::new(Recording { local: LocalBackend::new(dir.path()), written: Mutex::new(Vec::new()) });
    let mut a = Artifacts::default();
    let mut passwords = Vec::new();
    let mut event_count = 0;

    for v in [0u8, 1] {
        let stack = declare("leak", v);
        let (p, events) = preview(&w, &backend, &stack, PreviewMode::Apply(PlanOptions::default())).await;
        a.plan(&format!("v{v} plan"), &p.plan);
        a.add(format!("v{v} preview (Debug)"), format!("{p:?}"));
        a.events(&format!("v{v} plan"), &events);
        if v == 0 {
            let created = p.plan.actionable().filter(|c| c.action == Action::Create).count();
            assert_eq!(
                created,
                ADDRESSES.len(),
                "{}",
                infra_core::plan::render::render(&p.plan, Default::default())
            );
        } else {
            let replaced: Vec<String> = p
                .plan
                .actionable()
                .filter(|c| matches!(c.action, Action::Replace { .. }))
                .map(|c| c.address.to_string())
                .collect();
            assert_eq!(
                replaced,
                ["declared-value", "generated-value", "td"],
                "v1 replaces the values and the task definition"
            );
            let updated: Vec<(String, Vec<String>)> = p
                .plan
                .actionable()
                .filter(|c| c.action == Action::Update)
                .map(|c| (c.address.to_string(), c.fields.iter().map(|f| f.name.clone()).collect()))
                .collect();
            // db-generated: its password is the replaced generated value's.
            for (address, field) in
                [("db", "master_password"), ("db-generated", "master_password"), ("redis", "auth_token")]
            {
                assert!(
                    updated.iter().any(|(a, f)| a == address && f.iter().any(|f| f == field)),
                    "v1 changes {address}'s {field} in place: {updated:?}"
                );
            }
        }

        let (o, events) = run(&w, &backend, &stack, Mode::Apply(PlanOptions::default())).await;
        assert!(!o.plan.is_empty());
        event_count += events.len();
        a.plan(&format!("v{v} apply"), &o.plan);
        a.add(format!("v{v} apply outcome (Debug)"), format!("{o:?}"));
        a.events(&format!("v{v} apply"), &events);
        assert_eq!(o.state.resources.len(), ADDRESSES.len());
        passwords.push(current_value(&w, "leak/generated").await);
        assert_eq!(current_value(&w, "leak/declared").await, [VALUE_V0, VALUE_V1][usize::from(v)]);

        // A refreshed apply again: nothing to do, the state rewritten from
        // what the cloud reports.
        let (o, events) = run(&w, &backend, &stack, Mode::Apply(PlanOptions::default())).await;
        assert!(o.plan.is_empty(), "{}", infra_core::plan::render::render(&o.plan, Default::default()));
        a.plan(&format!("v{v} converged"), &o.plan);
        a.add(format!("v{v} converged outcome (Debug)"), format!("{o:?}"));
        a.events(&format!("v{v} converged"), &events);

        // A refresh of the stored state alone (what `refresh` does).
        let b: Arc<dyn Backend> = backend.clone();
        let (refreshed, state) =
            infra_engine::refresh_stored(w.executor.registry(), b, &stack, Duration::from_secs(5))
                .await
                .unwrap();
        assert!(refreshed.drifted.is_empty() && refreshed.gone.is_empty(), "{refreshed:?}");
        a.add(format!("v{v} refreshed state (Debug)"), format!("{state:?}"));
        a.add(format!("v{v} refreshed state (JSON)"), serde_json::to_string(&state).unwrap());
        a.files(&format!("v{v} state directory"), dir.path());
    }
    assert_eq!(passwords[0].len(), 32);
    assert_eq!(passwords[1].len(), 40);
    assert_ne!(passwords[0], passwords[1]);

    let stack = declare("leak", 1);
    let (p, events) = preview(&w, &backend, &stack, PreviewMode::Destroy { targets: vec![] }).await;
    a.plan("destroy plan", &p.plan);
    a.events("destroy plan", &events);
    let (o, events) = run(&w, &backend, &stack, Mode::Destroy { targets: vec![] }).await;
    event_count += events.len();
    assert!(o.state.resources.is_empty());
    a.plan("destroy", &o.plan);
    a.add("destroy outcome (Debug)", format!("{o:?}"));
    a.events("destroy", &events);
    a.files("state directory", dir.path());
    let written = backend.written.lock().unwrap().clone();
    for (i, bytes) in written.iter().enumerate() {
        a.add(format!("state file write {i}"), bytes);
    }
    let logs = captured_logs();

    // The artifacts are not empty: the search can fail.
    assert!(event_count > 0);
    assert!(written.len() >= 6, "{} state writes", written.len());
    let recorded = infra_state::decode(&written[written.len() / 2]).unwrap();
    assert_eq!(recorded.resources.len(), ADDRESSES.len(), "the state mid-test holds the stack");
    for address in ADDRESSES {
        let rendered =
            String::from_utf8_lossy(&a.items.iter().find(|(n, _)| n == "v0 plan: rendered plan").unwrap().1)
                .into_owned();
        assert!(rendered.contains(&format!("# {address} ")), "{address} not in the plan:\n{rendered}");
    }
    assert!(a.total_bytes() > 10_000, "{} bytes", a.total_bytes());
    assert!(logs.len() > 100, "{} log lines", logs.len());
    for op in [
        "PutSecretValue",
        "GetRandomPassword",
        "RegisterTaskDefinition",
        "DescribeTaskDefinition",
        "CreateDBCluster",
        "ModifyDBCluster",
        "CreateReplicationGroup",
        "ModifyReplicationGroup",
    ] {
        assert!(
            logs.iter().any(|l| l.text.contains(op)),
            "no log line names {op}: the SDK's logs were not captured"
        );
    }

    let canaries: Vec<&str> = [VALUE_V0, VALUE_V1, ENV_V0, ENV_V1, DB_V0, DB_V1, TOKEN_V0, TOKEN_V1]
        .into_iter()
        .chain(passwords.iter().map(String::as_str))
        .collect();
    assert_never_leaks(&canaries, &a);

    // Log lines: none anywhere but the SDK's body logging at TRACE.
    let mut own = Artifacts::default();
    let mut body_logging = Artifacts::default();
    for (i, l) in logs.iter().enumerate() {
        let (target, whose) = if l.target.starts_with(BODY_LOGGING_TARGET) {
            (&mut body_logging, "SDK body logging")
        } else {
            (&mut own, "log")
        };
        target.add(format!("{whose} line {i} [{}]", l.target), &l.text);
    }
    assert_never_leaks(&canaries, &own);
    let in_bodies = leaks(&canaries, &body_logging);
    let mut by_target = BTreeMap::<(String, usize), usize>::new();
    for (name, canary, _) in &in_bodies {
        let target = name.split('[').nth(1).unwrap_or_default().trim_end_matches(']').to_owned();
        *by_target.entry((target, *canary)).or_default() += 1;
    }
    eprintln!(
        "{} log lines swept; {} hits in the SDK's TRACE body logging (third-party; the CLI drops it), \
         per (target, canary index): {by_target:?}",
        logs.len(),
        in_bodies.len()
    );
}

// ---------------------------------------------------------------- the CLI

const CLI_ARGS: &str = "INFRA_LEAK_TEST_CLI_ARGS";
const CLI_VERSION: &str = "INFRA_LEAK_TEST_CLI_VERSION";

/// Not a test on its own: the stack program the command-line sweep runs
/// (this test binary, started again with this test's name and the
/// program's arguments in the environment). Without them it does nothing.
#[test]
fn stack_program() {
    let Ok(args) = std::env::var(CLI_ARGS) else { return };
    let v: u8 = std::env::var(CLI_VERSION).unwrap().parse().unwrap();
    let args: Vec<String> = serde_json::from_str(&args).unwrap();
    let program = infra::cli::Program::new(declare("leakcli", v));
    let code = program.run_from(std::iter::once("leak-program".to_owned()).chain(args));
    // `ExitCode` is opaque: found by comparison, exited with as is.
    let code = (0..=u8::MAX).find(|c| std::process::ExitCode::from(*c) == code).unwrap();
    std::process::exit(i32::from(code));
}

/// Runs the stack program `v` with `args` at TRACE (`-vv` and
/// `RUST_LOG=trace`), against the emulator, state in `state`; its
/// stdout and stderr, and the exit code.
fn program(w: &World, state: &Path, v: u8, args: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    let mut all = vec!["-vv"];
    all.extend_from_slice(args);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stack_program", "--nocapture", "--test-threads=1"])
        .current_dir(state.parent().unwrap())
        .env(CLI_ARGS, serde_json::to_string(&all).unwrap())
        .env(CLI_VERSION, v.to_string())
        .env("RUST_LOG", "trace")
        .env_remove("LOG_SENSITIVE_BODIES")
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", &w.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent/infra-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/infra-test-credentials")
        .env_remove("AWS_PROFILE")
        .env("INFRA_BACKEND", format!("local:{}", state.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_appears_in_the_command_lines_output_or_state() {
    let w = world();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let mut a = Artifacts::default();
    let mut passwords = Vec::new();
    let mut stderr_lines = 0;
    let mut run = |a: &mut Artifacts, v: u8, args: &[&str], expect: i32| {
        let (code, out, err) = program(&w, &state, v, args);
        let name = format!("v{v} `{}`", args.join(" "));
        assert_eq!(code, expect, "{name}: exit code\n{}", String::from_utf8_lossy(&err));
        stderr_lines += err.split(|b| *b == b'\n').count();
        a.add(format!("{name}: stdout"), &out);
        a.add(format!("{name}: stderr"), &err);
        String::from_utf8_lossy(&out).into_owned()
    };

    for v in [0u8, 1] {
        let plan = run(&mut a, v, &["plan"], 0);
        let json = run(&mut a, v, &["plan", "--json"], 0);
        if v == 0 {
            for address in ADDRESSES {
                assert!(plan.contains(&format!("# {address} ")), "{address} not in the plan:\n{plan}");
                assert!(json.contains(&format!("\"{address}\"")), "{address} not in the JSON plan:\n{json}");
            }
            run(&mut a, v, &["validate"], 0);
            run(&mut a, v, &["graph"], 0);
            run(&mut a, v, &["apply", "--yes"], 0);
        } else {
            assert!(plan.contains("# td "), "{plan}");
            run(&mut a, v, &["apply", "--yes", "--json"], 0);
        }
        passwords.push(current_value(&w, "leakcli/generated").await);
        run(&mut a, v, &["plan", "--detailed-exitcode"], 0);
        run(&mut a, v, &["refresh"], 0);
        run(&mut a, v, &["drift"], 0);
        run(&mut a, v, &["drift", "--json"], 0);
        run(&mut a, v, &["output"], 0);
        run(&mut a, v, &["output", "--json"], 0);
        let list = run(&mut a, v, &["state", "list"], 0);
        for address in ADDRESSES {
            assert!(list.contains(address), "{list}");
            run(&mut a, v, &["state", "show", address], 0);
        }
        let pulled = run(&mut a, v, &["state", "pull"], 0);
        assert!(pulled.contains("aws:ecs:TaskDefinition"), "{pulled}");
        run(&mut a, v, &["state", "history"], 0);
        a.files(&format!("v{v} state directory"), &state);
    }
    run(&mut a, 1, &["plan", "--destroy"], 0);
    run(&mut a, 1, &["destroy", "--yes", "--json"], 0);
    a.files("state directory", &state);
    assert_ne!(passwords[0], passwords[1]);
    assert!(stderr_lines > 1000, "{stderr_lines} lines on stderr: the TRACE logs are not there");
    assert!(
        a.items
            .iter()
            .any(|(n, b)| n.ends_with("stderr") && String::from_utf8_lossy(b).contains("PutSecretValue")),
        "the SDK's logs do not name its calls"
    );

    let canaries: Vec<&str> = [VALUE_V0, VALUE_V1, ENV_V0, ENV_V1, DB_V0, DB_V1, TOKEN_V0, TOKEN_V1]
        .into_iter()
        .chain(passwords.iter().map(String::as_str))
        .collect();
    assert_never_leaks(&canaries, &a);
}
