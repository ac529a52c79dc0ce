//! Events of a run, streamed to the CLI (live progress, `--json` lines) and
//! to tests.

use infra_core::Address;
use infra_core::plan::StepKind;
use serde::Serialize;
use tokio::sync::mpsc;

/// Something that happened during a run. Times are milliseconds since the
/// run started.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A pending operation left by an earlier run was resolved.
    Recovered { address: Address, outcome: String },
    /// A step started.
    Started { address: Address, kind: StepKind, at_ms: u64 },
    /// A step is waiting on the cloud (readiness), with the cloud's status.
    Waiting { address: Address, kind: StepKind, status: String, waited_ms: u64 },
    /// A call failed with a retryable error and will be retried.
    Retrying { address: Address, kind: StepKind, attempt: u32, error: String, delay_ms: u64 },
    /// A step finished. `elapsed_ms` is its whole time; `queued_ms` the
    /// part it spent waiting for API rate budget (not on AWS).
    Done { address: Address, kind: StepKind, elapsed_ms: u64, queued_ms: u64 },
    /// A step failed.
    Failed { address: Address, kind: StepKind, error: String },
    /// A step did not run, because a step it depends on failed or the run
    /// was interrupted.
    Skipped { address: Address, kind: StepKind, because: String },
    /// Once a second while steps run: each API rate budget in use.
    Rates { budgets: Vec<RateSample> },
}

/// One API rate budget's traffic over the last whole second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateSample {
    /// The provider instance (`aws.us-east-1`).
    pub provider: String,
    /// The API class (`ec2/mutating`).
    pub class: String,
    /// Calls granted in the last whole second.
    pub calls_per_s: u64,
    /// The budget's current rate; `None` while unbounded.
    pub limit_per_s: Option<f64>,
    /// Steps waiting for it now.
    pub queued: usize,
}

/// Where events go. Cheap to clone; sending never blocks and never fails
/// the run (a dropped receiver just stops listening).
#[derive(Debug, Clone)]
pub struct Events {
    tx: Option<mpsc::UnboundedSender<Event>>,
}

impl Events {
    /// A sink and the receiver that reads it.
    pub fn channel() -> (Events, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Events { tx: Some(tx) }, rx)
    }

    /// A sink that drops everything.
    pub fn none() -> Events {
        Events { tx: None }
    }

    /// Whether anyone listens (events worth computing only for a listener).
    pub fn listening(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Sends an event.
    pub fn emit(&self, e: Event) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(e);
        }
    }
}

/// Ctrl-C handling: the first interrupt stops new steps from starting (in-
/// flight steps finish and state is saved); the second also aborts
/// readiness waits.
#[derive(Debug, Clone)]
pub struct Interrupt {
    tx: std::sync::Arc<tokio::sync::watch::Sender<u8>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::new()
    }
}

impl Interrupt {
    /// Not interrupted.
    pub fn new() -> Self {
        Interrupt { tx: std::sync::Arc::new(tokio::sync::watch::channel(0).0) }
    }

    /// Records one more interrupt (the first stops new work, the second
    /// aborts waits).
    pub fn trigger(&self) {
        self.tx.send_modify(|l| *l = l.saturating_add(1));
    }

    /// How many interrupts were received.
    pub fn level(&self) -> u8 {
        *self.tx.borrow()
    }

    /// Resolves once at least `level` interrupts were received.
    pub async fn reached(&self, level: u8) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|l| *l >= level).await;
    }
}
