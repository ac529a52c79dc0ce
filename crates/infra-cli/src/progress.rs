//! Showing an apply as it happens.
//!
//! - On a terminal: finished steps scroll by as lines, and below them a live
//!   block is redrawn several times a second: one line per step in flight
//!   with its action, elapsed time and, while the cloud is still getting it
//!   ready, what AWS reports ("waiting on AWS: pending"), then a bar with
//!   done / total, then each API rate budget in use: calls in the last
//!   second, its current limit and how many steps wait for it.
//! - Otherwise: one plain line per event (`Creating...`, `Still creating...
//!   [40s elapsed]`, `Creation complete after 41s`), and the budgets every
//!   10 s while steps wait for them.
//! - A step that waited for rate budget says so apart from its time on
//!   AWS: `Creation complete after 1.0s (and 1m29s queued for the API rate
//!   budget)`.
//! - With `--json`: one JSON object per event and line, for CI.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use infra_core::Address;
use infra_core::plan::StepKind;
use infra_engine::{Event, RateSample};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::ui::{Ui, style};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Live,
    Plain,
    Json,
    /// Nothing (`-q`).
    Silent,
}

impl Style {
    /// The style for `ui` and `--json`.
    pub fn choose(ui: &Ui, json: bool) -> Style {
        if json {
            Style::Json
        } else if ui.quiet {
            Style::Silent
        } else if ui.stdout_tty {
            Style::Live
        } else {
            Style::Plain
        }
    }
}

/// The number of steps the run will execute, set once the plan is known.
#[derive(Debug, Clone, Default)]
pub struct Total(Arc<AtomicUsize>);

impl Total {
    pub fn set(&self, n: usize) {
        self.0.store(n, Ordering::SeqCst);
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Verbs for a step kind: (doing, done, noun for "Still …").
fn verbs(kind: StepKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        StepKind::Create | StepKind::CreateReplacement => ("Creating", "Creation complete", "creating"),
        StepKind::Update => ("Modifying", "Modifications complete", "modifying"),
        StepKind::Delete | StepKind::DeleteReplaced => ("Destroying", "Destruction complete", "destroying"),
        StepKind::Forget => ("Forgetting", "Removed from the state", "forgetting"),
        StepKind::Read => ("Reading", "Read complete", "reading"),
    }
}

/// A duration as Terraform shows it: `41s`, `2m5s`.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else if s >= 10 {
        format!("{s}s")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

struct InFlight {
    kind: StepKind,
    since: Instant,
    waiting: Option<String>,
    last_still: Instant,
}

/// Consumes events until the run ends (the channel closes).
pub async fn show(mut rx: UnboundedReceiver<Event>, style: Style, ui: Ui, total: Total) {
    let mut flying: BTreeMap<Address, InFlight> = BTreeMap::new();
    let mut done = 0usize;
    let mut failed = 0usize;
    let mut drawn = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(125));
    // The clock starts with the first step (not while a prompt waits).
    let mut started: Option<Instant> = None;
    let mut frame = 0usize;
    // The API rate budgets as last reported, and when Plain last printed them.
    let mut rates: Vec<RateSample> = Vec::new();
    let mut last_rates = Instant::now();
    loop {
        let event = tokio::select! {
            e = rx.recv() => match e { Some(e) => Some(e), None => break },
            _ = tick.tick() => None,
        };
        let mut lines = String::new();
        if let Some(event) = &event {
            match style {
                Style::Json => {
                    if let Ok(line) = serde_json::to_string(event) {
                        ui.out(&format!("{line}\n"));
                    }
                    continue;
                }
                Style::Silent => continue,
                Style::Live | Style::Plain => {}
            }
            match event {
                Event::Recovered { address, outcome } => {
                    let _ = writeln!(lines, "{address}: resolved an interrupted operation: {outcome}");
                }
                Event::Started { address, kind, .. } => {
                    let now = Instant::now();
                    started.get_or_insert(now);
                    flying.insert(
                        address.clone(),
                        InFlight { kind: *kind, since: now, waiting: None, last_still: now },
                    );
                    if style == Style::Plain {
                        let _ = writeln!(lines, "{address}: {}...", verbs(*kind).0);
                    }
                }
                Event::Waiting { address, status, .. } => {
                    if let Some(f) = flying.get_mut(address) {
                        f.waiting = Some(status.clone());
                    }
                }
                Event::Retrying { address, attempt, error, delay_ms, .. } => {
                    if style == Style::Plain || attempt % 3 == 0 {
                        let _ = writeln!(
                            lines,
                            "{address}: retrying in {} (attempt {attempt}): {error}",
                            short(Duration::from_millis(*delay_ms))
                        );
                    }
                }
                Event::Done { address, kind, elapsed_ms, queued_ms } => {
                    flying.remove(address);
                    done += 1;
                    let _ = writeln!(
                        lines,
                        "{}: {} after {}{}",
                        address,
                        ui.paint(style::GREEN, verbs(*kind).1),
                        short(Duration::from_millis(elapsed_ms.saturating_sub(*queued_ms))),
                        queued_note(*queued_ms)
                    );
                }
                Event::Rates { budgets } => {
                    rates = budgets.clone();
                    let queued = budgets.iter().any(|b| b.queued > 0);
                    if style == Style::Plain && queued && last_rates.elapsed() >= Duration::from_secs(10) {
                        last_rates = Instant::now();
                        let _ = writeln!(lines, "{}", rates_line(budgets));
                    }
                }
                Event::Failed { address, kind, error } => {
                    flying.remove(address);
                    failed += 1;
                    let _ = writeln!(
                        lines,
                        "{address}: {} {}: {error}",
                        ui.paint(style::RED, verbs(*kind).2),
                        ui.paint(style::RED, "failed")
                    );
                }
                Event::Skipped { address, kind, because } => {
                    failed += 1;
                    let _ = writeln!(lines, "{address}: not {} ({because})", verbs(*kind).2);
                }
            }
        }
        if style == Style::Plain {
            // "Still creating..." every 10 s, as Terraform does, so a long
            // wait on AWS never looks like a hang.
            let now = Instant::now();
            for (address, f) in &mut flying {
                if now.duration_since(f.last_still) >= Duration::from_secs(10) {
                    f.last_still = now;
                    let _ = write!(
                        lines,
                        "{address}: Still {}... [{} elapsed]",
                        verbs(f.kind).2,
                        short(now - f.since)
                    );
                    match &f.waiting {
                        Some(s) => {
                            let _ = writeln!(lines, " (waiting on AWS: {s})");
                        }
                        None => lines.push('\n'),
                    }
                }
            }
            if !lines.is_empty() {
                ui.out(&lines);
            }
            continue;
        }
        if style != Style::Live {
            continue;
        }
        frame += 1;
        let mut block = String::new();
        if drawn > 0 {
            let _ = write!(block, "\x1b[{drawn}A\x1b[J");
        }
        block.push_str(&lines);
        let total_steps = total.get();
        let live = match started {
            Some(started) => {
                let mut live = live_block(&flying, done + failed, total_steps, started, frame, &ui);
                if !rates.is_empty() && !flying.is_empty() {
                    let _ = writeln!(live, "  {}", ui.paint(style::DIM, &rates_line(&rates)));
                }
                live
            }
            None => String::new(),
        };
        drawn = live.lines().count();
        block.push_str(&live);
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(block.as_bytes());
        let _ = o.flush();
    }
    if style == Style::Live && drawn > 0 {
        let mut o = std::io::stdout().lock();
        let _ = write!(o, "\x1b[{drawn}A\x1b[J");
        let _ = o.flush();
    }
}

/// ` (and 1m29s queued for the API rate budget)` when a step waited a
/// second or more for budget, else nothing.
fn queued_note(queued_ms: u64) -> String {
    if queued_ms < 1000 {
        return String::new();
    }
    format!(" (and {} queued for the API rate budget)", short(Duration::from_millis(queued_ms)))
}

/// `API: aws.us-east-1 ec2/mutating 48 calls/s (limit 55/s, 120 queued)`.
fn rates_line(budgets: &[RateSample]) -> String {
    let parts: Vec<String> = budgets
        .iter()
        .map(|b| {
            let limit = match b.limit_per_s {
                Some(l) => format!("limit {l:.0}/s"),
                None => "no limit".to_owned(),
            };
            let queued = if b.queued > 0 { format!(", {} queued", b.queued) } else { String::new() };
            format!("{} {} {} calls/s ({limit}{queued})", b.provider, b.class, b.calls_per_s)
        })
        .collect();
    format!("API: {}", parts.join("; "))
}

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

fn live_block(
    flying: &BTreeMap<Address, InFlight>,
    finished: usize,
    total: usize,
    started: Instant,
    frame: usize,
    ui: &Ui,
) -> String {
    if flying.is_empty() && finished == 0 {
        return String::new();
    }
    let now = Instant::now();
    let mut out = String::new();
    let mut by_age: Vec<(&Address, &InFlight)> = flying.iter().collect();
    by_age.sort_by_key(|(_, f)| f.since);
    const SHOWN: usize = 12;
    for (address, f) in by_age.iter().take(SHOWN) {
        let _ = write!(
            out,
            "  {} {:<11} {address}  {}",
            SPINNER[frame % SPINNER.len()],
            verbs(f.kind).2,
            ui.paint(style::DIM, &short(now - f.since))
        );
        match &f.waiting {
            Some(s) => {
                let _ = writeln!(out, "  {}", ui.paint(style::YELLOW, &format!("waiting on AWS: {s}")));
            }
            None => out.push('\n'),
        }
    }
    if by_age.len() > SHOWN {
        let _ = writeln!(out, "  … and {} more in flight", by_age.len() - SHOWN);
    }
    let total = total.max(finished);
    let width = 30;
    let filled = (finished * width).checked_div(total).unwrap_or(0);
    let _ = writeln!(
        out,
        "  [{}{}] {finished}/{total} done, {} in flight, {}",
        ui.paint(style::GREEN, &"#".repeat(filled)),
        ".".repeat(width - filled),
        flying.len(),
        short(now - started)
    );
    out
}
