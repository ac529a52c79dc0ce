//! The subcommands.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use infra_core::plan::render::{RenderOptions, render, value as show_value};
use infra_core::plan::{PlanOptions, steps};
use infra_core::{Address, Plan, ProviderConfig, Stack, State, Value};
use infra_engine::{
    Approve, Events, Executor, ExecutorConfig, Interrupt, Mode, Outcome, PreviewMode, Registry, RunOptions,
    preview, refresh_stored, run_approved,
};
use infra_state::Backend;

use crate::Program;
use crate::args::{BackendCommand, Cli, Command, GraphFormat};
use crate::backend::BackendChoice;
use crate::error::{Error, Result};
use crate::progress::{self, Style, Total};
use crate::project::Project;
use crate::providers::{Providers, configs_from_state, default_providers};
use crate::ui::{Ui, style};

/// Exit codes.
pub const OK: u8 = 0;
/// `--detailed-exitcode` and `drift`: there are changes.
pub const CHANGES: u8 = 2;

/// Everything a command needs.
pub(crate) struct Ctx<'a> {
    pub cli: &'a Cli,
    pub ui: Ui,
    pub project: Project,
    pub backend_choice: BackendChoice,
    pub program: Option<Program>,
}

impl Ctx<'_> {
    pub async fn backend(&self) -> Result<Arc<dyn Backend>> {
        // First use without any backend setting: say where state will live.
        if let crate::backend::BackendChoice::Local(dir) = &self.backend_choice
            && self.cli.global.backend.is_none()
            && self.project.config.backend.is_none()
            && !dir.exists()
            && !self.cli.global.quiet
        {
            self.ui.note(&format!(
                "Note: no backend is configured, so state is kept locally in {} (choose another with                  `--backend` or a [backend] section in {}; docs/state-and-locking.md).",
                dir.display(),
                crate::project::FILE_NAME
            ));
        }
        let b = self.backend_choice.open().await?;
        tracing::info!(backend = %b.describe(), "state backend");
        Ok(b)
    }

    /// The stack name: `--stack`, else the project's `stack`, else the
    /// program's only stack, else (without a program) the backend's only
    /// stack.
    pub async fn stack_name(&self) -> Result<String> {
        let chosen = self.cli.global.stack.clone().or_else(|| self.project.config.stack.clone());
        if let Some(program) = &self.program {
            let known = program.stack_names();
            return match chosen {
                Some(name) if known.contains(&name) => Ok(name),
                Some(name) => Err(Error::UnknownStack { name, known: known.to_vec() }),
                None if known.len() == 1 => Ok(known[0].clone()),
                None => Err(Error::NoStack(format!(
                    "this program defines several stacks ({}); choose one with --stack",
                    known.join(", ")
                ))),
            };
        }
        if let Some(name) = chosen {
            return Ok(name);
        }
        let stacks = self.backend().await?.list_stacks().await?;
        match stacks.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::NoStack("no stack has state yet; name one with --stack".into())),
            many => Err(Error::NoStack(format!(
                "the backend holds several stacks ({}); choose one with --stack",
                many.join(", ")
            ))),
        }
    }

    /// The declared stack (with a program), or an empty stack of that name
    /// (state-only commands without one).
    pub async fn stack(&self) -> Result<Stack> {
        let name = self.stack_name().await?;
        Ok(match &self.program {
            Some(p) => p.build(&name),
            None => Stack::new(&name),
        })
    }

    /// Providers for `stack`'s declared instances plus those `state`
    /// records (a destroy without the program uses the recorded ones), and
    /// the API budget to pace them with.
    async fn registry(
        &self,
        stack: &Stack,
        state: Option<&State>,
    ) -> Result<(Registry, infra_engine::Budget)> {
        let default;
        let chosen: &dyn Providers = match self.program.as_ref().and_then(|p| p.providers.as_deref()) {
            Some(p) => p,
            None => {
                default = default_providers()?;
                default.as_ref()
            }
        };
        let mut configs: BTreeMap<_, ProviderConfig> =
            stack.providers().iter().map(|(k, c)| (k.clone(), c.clone())).collect();
        if let Some(state) = state {
            for c in configs_from_state(state) {
                configs.entry(c.key.clone()).or_insert(c);
            }
        }
        let configs: Vec<ProviderConfig> = configs.into_values().collect();
        let mut types: Vec<String> =
            stack.resources().iter().map(|r| r.schema.type_name.to_owned()).collect();
        if let Some(state) = state {
            types.extend(state.resources.values().map(|r| r.type_name.clone()));
        }
        tracing::info!(providers = %chosen.describe(), instances = configs.len(), "providers");
        // The user's fixed limits: infra.toml's [rates], then --rate.
        let mut budget_config = chosen.budget_config();
        let rates = self.project.config.rates.iter().map(|(k, v)| (k.clone(), *v));
        for (service, per_second) in rates.chain(self.cli.global.rates.iter().cloned()) {
            budget_config.services.insert(service, infra_engine::Rate::new(per_second, per_second.max(1.0)));
        }
        let budget = infra_engine::Budget::new(budget_config);
        let registry = chosen.registry_metered(&configs, &types, &budget).await?;
        Ok((registry, budget))
    }
}

pub(crate) async fn dispatch(cli: &Cli, program: Option<Program>, ui: Ui) -> Result<u8> {
    let project = Project::current()?;
    let backend_choice = BackendChoice::choose(cli.global.backend.as_deref(), &project)?;
    let ctx = Ctx { cli, ui, project, backend_choice, program };
    if ctx.program.is_none() && cli.command.needs_program() {
        return Err(Error::Usage(format!(
            "`{}` needs the stack program: set `program` in {} (or run the program itself)",
            command_name(&cli.command),
            crate::project::FILE_NAME
        )));
    }
    match &cli.command {
        Command::Plan { out, json, detailed_exitcode, targets, refresh, destroy } => {
            plan_cmd(&ctx, out.as_deref(), *json, *detailed_exitcode, targets, *refresh, *destroy).await
        }
        Command::Apply { plan, yes, json, targets, refresh } => {
            apply_cmd(&ctx, plan.as_deref(), *yes, *json, targets, *refresh).await
        }
        Command::Destroy { yes, json, targets } => destroy_cmd(&ctx, *yes, *json, targets).await,
        Command::Refresh => refresh_cmd(&ctx).await,
        Command::Drift { json } => drift_cmd(&ctx, *json).await,
        Command::Import { address, id } => import_cmd(&ctx, address, id).await,
        Command::State(sub) => crate::state_cmd::run(&ctx, sub).await,
        Command::ForceUnlock { lock_id } => {
            let name = ctx.stack_name().await?;
            match ctx.backend().await?.force_unlock(&name, lock_id).await {
                Err(infra_state::Error::NotLocked { .. }) => {
                    return Err(Error::Usage(format!(
                        "stack {name:?} is not locked: there is nothing to unlock"
                    )));
                }
                other => other?,
            }
            ctx.ui.info(&format!("Stack {name:?} is unlocked (lock {lock_id} cleared)."));
            Ok(OK)
        }
        Command::Output { name, json } => output_cmd(&ctx, name.as_deref(), *json).await,
        Command::Graph { format } => graph_cmd(&ctx, *format).await,
        Command::Validate => validate_cmd(&ctx).await,
        Command::Backend(BackendCommand::Init) => {
            let done = ctx.backend_choice.init().await?;
            ctx.ui.info(&format!("Backend initialised: {done}."));
            Ok(OK)
        }
        Command::Backend(BackendCommand::Migrate { from }) => {
            let source = BackendChoice::choose(Some(from), &ctx.project)?.open().await?;
            let name = match &ctx.cli.global.stack {
                Some(s) => s.clone(),
                None => ctx.stack_name().await?,
            };
            let dest = ctx.backend().await?;
            let done =
                infra_state::migrate(source.as_ref(), dest.as_ref(), &name, ctx.cli.global.lock_timeout)
                    .await?;
            let what = match done {
                infra_state::Migrated::Copied(v) => format!("copied ({v})"),
                infra_state::Migrated::AlreadyThere(v) => format!("already there ({v})"),
            };
            ctx.ui.info(&format!(
                "State of stack {name:?}: {what}, from {} to {}.",
                source.describe(),
                dest.describe()
            ));
            Ok(OK)
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Plan { .. } => "plan",
        Command::Apply { .. } => "apply",
        Command::Drift { .. } => "drift",
        Command::Import { .. } => "import",
        Command::Graph { .. } => "graph",
        Command::Validate => "validate",
        _ => "this command",
    }
}

fn parse_targets(targets: &[String]) -> Result<Vec<Address>> {
    targets
        .iter()
        .map(|t| {
            Address::parse(t)
                .map_err(|e| Error::Address { argument: format!("--target {t}"), reason: e.to_string() })
        })
        .collect()
}

/// Validates the stack and checks that every target is declared.
fn checked(stack: &Stack, targets: &[Address]) -> Result<()> {
    stack.validate()?;
    for t in targets {
        let declared = stack
            .resources()
            .iter()
            .any(|r| &r.address == t || r.address.as_str().starts_with(&format!("{t}.")));
        if !declared {
            return Err(Error::Address {
                argument: format!("--target {t}"),
                reason: "no resource is declared at or under this address".into(),
            });
        }
    }
    Ok(())
}

fn has_changes(plan: &Plan) -> bool {
    !plan.is_empty()
}

async fn plan_cmd(
    ctx: &Ctx<'_>,
    out: Option<&Path>,
    json: bool,
    detailed: bool,
    targets: &[String],
    refresh: bool,
    destroy: bool,
) -> Result<u8> {
    let targets = parse_targets(targets)?;
    let stack = ctx.stack().await?;
    checked(&stack, &targets)?;
    let backend = ctx.backend().await?;
    let stored = infra_engine::read_state(backend.as_ref(), stack.name()).await?.0;
    let (registry, budget) = ctx.registry(&stack, Some(&stored)).await?;
    let mode = if destroy {
        PreviewMode::Destroy { targets }
    } else {
        PreviewMode::Apply(PlanOptions { targets, ..PlanOptions::default() })
    };
    let p = preview(&registry, backend.as_ref(), &stack, &mode, refresh, &Events::none()).await?;
    let (calls, throttled) = budget.totals();
    if json {
        ctx.ui.out(&format!("{}\n", p.plan.to_json()?));
    } else {
        if p.pending > 0 {
            ctx.ui.info(&format!(
                "Note: an interrupted run left {} pending operation(s); they were resolved for this plan, and apply resolves them first.\n",
                p.pending
            ));
        }
        let (drifted, gone) = drift_of(&stack, &p.stored, &p.current);
        if p.refreshed.is_some() && (!drifted.is_empty() || !gone.is_empty()) {
            ctx.ui.info(&format!(
                "Note: {} resource(s) changed and {} were deleted outside infra since the last apply (`drift` shows how).\n",
                drifted.len(),
                gone.len()
            ));
        }
        if !p.orphans.is_empty() {
            ctx.ui.info(&format!(
                "Warning: {} resource(s) in the cloud carry this stack's tags but are not in its state (`drift` lists them, with how to adopt or delete them).\n",
                p.orphans.len()
            ));
        }
        ctx.ui.out(&render(&p.plan, RenderOptions { color: ctx.ui.color }));
        if calls > 0 {
            ctx.ui.info(&format!("\nAPI calls: {calls} ({throttled} throttled and sent again)."));
        }
    }
    if let Some(path) = out {
        write_file(path, p.plan.to_json()?.as_bytes())?;
        if !json {
            ctx.ui.info(&format!(
                "\nSaved the plan to {}. Apply exactly this plan with:\n    apply {}",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(if detailed && has_changes(&p.plan) { CHANGES } else { OK })
}

/// Writes a file atomically (a temporary file renamed over it).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |e: std::io::Error| Error::File { path: path.to_path_buf(), reason: e.to_string() };
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// Shows the plan and asks, on a terminal, whether to apply it.
struct Confirm {
    ui: Ui,
    yes: bool,
    json: bool,
    total: Total,
    verb: &'static str,
}

#[async_trait::async_trait]
impl Approve for Confirm {
    async fn approve(&self, plan: &Plan) -> bool {
        self.total.set(steps(plan).map(|s| s.len()).unwrap_or_default());
        if self.json {
            let line = serde_json::json!({ "event": "plan", "summary": plan.summary() });
            self.ui.out(&format!("{line}\n"));
        } else if !self.ui.quiet || !self.yes {
            self.ui.out(&render(plan, RenderOptions { color: self.ui.color }));
            self.ui.out("\n");
        }
        if self.yes {
            return true;
        }
        if !self.ui.stdin_tty {
            return false;
        }
        let question = format!(
            "{} Only 'yes' will be accepted.\n  Enter a value: ",
            self.ui.paint(
                style::BOLD,
                &format!("Do you want to {} these changes to stack {:?}?", self.verb, plan.stack)
            )
        );
        self.ui.out(&question);
        let answer = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await;
        let ok = matches!(answer, Ok(Ok(ref a)) if a.trim() == "yes");
        self.ui.out("\n");
        ok
    }
}

/// Runs an operation with live progress and Ctrl-C handling.
async fn execute(
    ctx: &Ctx<'_>,
    stack: &Stack,
    registry: Registry,
    budget: infra_engine::Budget,
    options: RunOptions,
    confirm: Confirm,
) -> Result<Ran> {
    let backend = ctx.backend().await?;
    let config = ExecutorConfig {
        max_in_flight: ctx.cli.global.parallelism.map(|n| n as usize),
        ..ExecutorConfig::default()
    };
    let meter = budget.clone();
    let executor = Executor::new(Arc::new(registry), budget, config);
    let (events, rx) = Events::channel();
    let style = Style::choose(&ctx.ui, confirm.json);
    let shown = tokio::spawn(progress::show(rx, style, ctx.ui, confirm.total.clone()));
    let interrupt = Interrupt::new();
    let on_signal = {
        let interrupt = interrupt.clone();
        let ui = ctx.ui;
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                interrupt.trigger();
                let msg = if interrupt.level() == 1 {
                    "Interrupt received: no new steps start; steps in flight finish and the state is saved. Press Ctrl-C again to stop waiting on the cloud."
                } else {
                    "Second interrupt: waits on the cloud are abandoned (the resources are recorded as pending and resolved next run)."
                };
                ui.warn(msg);
            }
        })
    };
    let result = run_approved(&executor, backend, stack, &options, &events, &interrupt, &confirm).await;
    drop(events);
    drop(executor);
    let _ = shown.await;
    on_signal.abort();
    let (calls, throttled) = meter.totals();
    Ok(Ran { outcome: result?, calls, throttled })
}

/// What a run did, and the API calls it made.
struct Ran {
    outcome: Outcome,
    /// Calls made (as the providers counted them), and of them throttled
    /// answers infra absorbed.
    calls: u64,
    throttled: u64,
}

fn report_outcome(ctx: &Ctx<'_>, ran: &Ran, json: bool, destroy: bool) -> Result<u8> {
    let outcome = &ran.outcome;
    if let Some(holder) = &outcome.lock_taken_over_from {
        ctx.ui.warn(&format!("took the stack's lock over from a holder whose lease had run out: {holder}"));
    }
    if outcome.recovered > 0 && !json {
        ctx.ui.info(&format!("Resolved {} operation(s) an interrupted run left pending.", outcome.recovered));
    }
    let r = &outcome.report;
    let s = outcome.plan.summary();
    if json {
        let line = serde_json::json!({
            "event": "summary",
            "success": r.success(),
            "applied": r.applied.len(),
            "failed": r.failed.len(),
            "skipped": r.skipped.len(),
            "interrupted": r.interrupted,
            "serial": outcome.state.serial,
            "calls": ran.calls,
            "throttled": ran.throttled,
        });
        ctx.ui.out(&format!("{line}\n"));
    }
    if r.interrupted {
        return Err(Error::Interrupted);
    }
    if !r.failed.is_empty() || !r.skipped.is_empty() {
        if !json {
            let mut text = String::from("\n");
            for (address, kind, error) in &r.failed {
                text.push_str(&format!(
                    "{} {address} ({kind:?}): {error}\n",
                    ctx.ui.paint(style::RED, "Failed:")
                ));
            }
            if !r.skipped.is_empty() {
                text.push_str(&format!("Not attempted because of those failures: {}\n", r.skipped.len()));
            }
            eprint!("{text}");
        }
        return Err(Error::StepsFailed {
            failed: r.failed.len(),
            total: r.failed.len() + r.skipped.len() + r.applied.len(),
        });
    }
    if !json {
        let head = if destroy { "Destroy complete!" } else { "Apply complete!" };
        // A run that only completed what an interrupted one started says so.
        let recovered = match outcome.recovered {
            0 => String::new(),
            n => format!(" Before that, {n} operation(s) an interrupted run left pending were resolved."),
        };
        ctx.ui.info(&format!(
            "\n{} Resources: {} added, {} changed, {} destroyed.{recovered}",
            ctx.ui.paint(&format!("{}{}", style::BOLD, style::GREEN), head),
            s.add,
            s.change,
            s.destroy
        ));
        if ran.calls > 0 {
            ctx.ui.info(&format!("API calls: {} ({} throttled and sent again).", ran.calls, ran.throttled));
        }
        if !destroy && !outcome.state.outputs.is_empty() {
            ctx.ui.info("\nOutputs:\n");
            ctx.ui.info(&outputs_text(&outcome.state.outputs));
        }
    }
    Ok(OK)
}

pub(crate) fn outputs_text(outputs: &BTreeMap<String, Value>) -> String {
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    outputs.iter().map(|(k, v)| format!("{k:<width$} = {}", show_value(v))).collect::<Vec<_>>().join("\n")
}

async fn apply_cmd(
    ctx: &Ctx<'_>,
    saved: Option<&Path>,
    yes: bool,
    json: bool,
    targets: &[String],
    refresh: bool,
) -> Result<u8> {
    let targets = parse_targets(targets)?;
    let stack = ctx.stack().await?;
    checked(&stack, &targets)?;
    let mode = match saved {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::File { path: path.to_path_buf(), reason: e.to_string() })?;
            let plan = Plan::from_json(&text)?;
            if plan.stack != stack.name() {
                return Err(Error::PlanForOtherStack {
                    path: path.to_path_buf(),
                    plan_stack: plan.stack,
                    stack: stack.name().to_owned(),
                });
            }
            if !targets.is_empty() {
                return Err(Error::Usage(
                    "--target cannot be combined with a saved plan (the plan fixes what is applied)".into(),
                ));
            }
            // Refused before the lock is taken, so nothing is written; the
            // executor checks again under the lock.
            let backend = ctx.backend().await?;
            let (current, _) = infra_engine::read_state(backend.as_ref(), stack.name()).await?;
            if let Err(e) = plan.check_fresh(&current) {
                return Err(Error::File { path: path.to_path_buf(), reason: e.to_string() });
            }
            Mode::Saved(Box::new(plan))
        }
        None => {
            if !yes && !ctx.ui.stdin_tty {
                return Err(Error::NeedsConfirmation { command: "apply", plan_flag: "" });
            }
            Mode::Apply(PlanOptions { targets, ..PlanOptions::default() })
        }
    };
    // A saved plan was reviewed when it was made: applied without asking.
    let yes = yes || saved.is_some();
    let backend = ctx.backend().await?;
    let stored = infra_engine::read_state(backend.as_ref(), stack.name()).await?.0;
    let (registry, budget) = ctx.registry(&stack, Some(&stored)).await?;
    let options = RunOptions { mode, lock_timeout: ctx.cli.global.lock_timeout, refresh };
    let confirm = Confirm { ui: ctx.ui, yes, json, total: Total::default(), verb: "apply" };
    let ran = execute(ctx, &stack, registry, budget, options, confirm).await?;
    let outcome = &ran.outcome;
    if outcome.plan.is_empty() && !json {
        ctx.ui.info("No changes. The cloud matches the stack.");
    }
    report_outcome(ctx, &ran, json, false)
}

async fn destroy_cmd(ctx: &Ctx<'_>, yes: bool, json: bool, targets: &[String]) -> Result<u8> {
    let targets = parse_targets(targets)?;
    if !yes && !ctx.ui.stdin_tty {
        return Err(Error::NeedsConfirmation { command: "destroy", plan_flag: " --destroy" });
    }
    let stack = ctx.stack().await?;
    // With the program, an invalid stack is refused as for apply (as
    // Terraform refuses an invalid configuration); without it, destroy
    // works from the state alone.
    if ctx.program.is_some() {
        stack.validate()?;
    }
    let backend = ctx.backend().await?;
    let stored = infra_engine::read_state(backend.as_ref(), stack.name()).await?.0;
    for t in &targets {
        let recorded = stored.resources.keys().any(|a| a == t || a.as_str().starts_with(&format!("{t}.")));
        if !recorded {
            return Err(Error::NotInState { address: t.to_string(), stack: stack.name().to_owned() });
        }
    }
    let (registry, budget) = ctx.registry(&stack, Some(&stored)).await?;
    let options = RunOptions {
        mode: Mode::Destroy { targets },
        lock_timeout: ctx.cli.global.lock_timeout,
        refresh: false,
    };
    let confirm = Confirm { ui: ctx.ui, yes, json, total: Total::default(), verb: "destroy" };
    let ran = execute(ctx, &stack, registry, budget, options, confirm).await?;
    report_outcome(ctx, &ran, json, true)
}

async fn refresh_cmd(ctx: &Ctx<'_>) -> Result<u8> {
    let stack = ctx.stack().await?;
    let backend = ctx.backend().await?;
    let stored = infra_engine::read_state(backend.as_ref(), stack.name()).await?.0;
    let (registry, _) = ctx.registry(&stack, Some(&stored)).await?;
    let (found, state) = refresh_stored(&registry, backend, &stack, ctx.cli.global.lock_timeout).await?;
    for a in &found.drifted {
        ctx.ui.info(&format!("{a}: updated from the cloud (it changed outside infra)"));
    }
    for a in &found.gone {
        ctx.ui.info(&format!("{a}: removed from the state (deleted outside infra)"));
    }
    ctx.ui.info(&format!(
        "Refreshed {} resource(s) with {} read call(s): {} changed, {} gone. State serial {}.",
        stored.resources.len(),
        found.reads,
        found.drifted.len(),
        found.gone.len(),
        state.serial
    ));
    Ok(OK)
}

/// A field recorded one way and reported another: (recorded, cloud).
type FieldDrift = BTreeMap<String, (Option<Value>, Option<Value>)>;

/// The inputs that differ between the stored state and the refreshed one
/// (lists that are sets compared as sets), and the resources gone.
fn drift_of(stack: &Stack, stored: &State, current: &State) -> (Vec<(Address, FieldDrift)>, Vec<Address>) {
    let mut drifted = Vec::new();
    let mut gone = Vec::new();
    for (address, before) in &stored.resources {
        let Some(after) = current.resources.get(address) else {
            gone.push(address.clone());
            continue;
        };
        let schema = stack.resource(address).map(|d| d.schema);
        let is_set = |k: &str| schema.and_then(|s| s.field(k)).is_some_and(|f| f.set);
        let mut fields = BTreeMap::new();
        let keys: std::collections::BTreeSet<&String> =
            before.inputs.keys().chain(after.inputs.keys()).collect();
        for k in keys {
            let (b, a) = (before.inputs.get(k), after.inputs.get(k));
            let same = match (b, a) {
                (Some(b), Some(a)) if is_set(k) => b.sorted() == a.sorted(),
                _ => b == a,
            };
            if !same {
                fields.insert(k.clone(), (b.cloned(), a.cloned()));
            }
        }
        if !fields.is_empty() {
            drifted.push((address.clone(), fields));
        }
    }
    (drifted, gone)
}

async fn drift_cmd(ctx: &Ctx<'_>, json: bool) -> Result<u8> {
    let stack = ctx.stack().await?;
    let backend = ctx.backend().await?;
    let stored = infra_engine::read_state(backend.as_ref(), stack.name()).await?.0;
    let (registry, _) = ctx.registry(&stack, Some(&stored)).await?;
    let p = preview(
        &registry,
        backend.as_ref(),
        &stack,
        &PreviewMode::Apply(PlanOptions::default()),
        true,
        &Events::none(),
    )
    .await?;
    let (drifted, gone) = drift_of(&stack, &p.stored, &p.current);
    let orphans = &p.orphans;
    let any = !drifted.is_empty() || !gone.is_empty() || !orphans.is_empty();
    if json {
        let show = |v: &Option<Value>| v.as_ref().map(|v| serde_json::Value::String(show_value(v)));
        let body = serde_json::json!({
            "stack": stack.name(),
            "drifted": drifted.iter().map(|(a, f)| serde_json::json!({
                "address": a,
                "fields": f.iter().map(|(k, (b, a))| (k.clone(), serde_json::json!({"recorded": show(b), "cloud": show(a)}))).collect::<serde_json::Map<_, _>>(),
            })).collect::<Vec<_>>(),
            "deleted": gone,
            "orphans": orphans,
        });
        ctx.ui.out(&format!("{}\n", serde_json::to_string_pretty(&body).unwrap_or_default()));
    } else if !any {
        ctx.ui.info(&format!("No drift: the cloud matches the state of stack {:?}.", stack.name()));
    } else {
        let mut text = String::new();
        for (address, fields) in &drifted {
            text.push_str(&format!(
                "{} {address} changed outside infra:\n",
                ctx.ui.paint(style::YELLOW, "~")
            ));
            for (k, (b, a)) in fields {
                let s = |v: &Option<Value>| v.as_ref().map(show_value).unwrap_or_else(|| "(unset)".into());
                text.push_str(&format!("      {k}: {} -> {}\n", s(b), s(a)));
            }
        }
        for address in &gone {
            text.push_str(&format!(
                "{} {address} was deleted outside infra\n",
                ctx.ui.paint(style::RED, "-")
            ));
        }
        for o in orphans {
            let kind = o.type_name.as_deref().unwrap_or("resource");
            let hint = match o.address.as_deref() {
                Some(a) if Address::parse(a).ok().and_then(|x| stack.resource(&x)).is_some() => {
                    format!("adopt it with `import {a} {}`", o.id)
                }
                Some(a) => format!("it was made for {a}, which is no longer declared: delete it"),
                None => "import it into its address, or delete it".to_owned(),
            };
            text.push_str(&format!(
                "{} {} {kind} {} ({}) carries this stack's tags but is not in its state: {hint}\n",
                ctx.ui.paint(style::YELLOW, "?"),
                o.address.as_deref().unwrap_or("(no address)"),
                o.id,
                o.provider,
            ));
        }
        text.push_str(&format!(
            "\n{} changed, {} deleted, {} not in the state. `apply` puts changed and deleted ones back as declared; `refresh` records them as they are.\n",
            drifted.len(),
            gone.len(),
            orphans.len()
        ));
        ctx.ui.out(&text);
    }
    Ok(if any { CHANGES } else { OK })
}

async fn import_cmd(ctx: &Ctx<'_>, address: &str, id: &str) -> Result<u8> {
    let address = Address::parse(address)
        .map_err(|e| Error::Address { argument: address.to_owned(), reason: e.to_string() })?;
    let stack = ctx.stack().await?;
    stack.validate()?;
    if stack.resource(&address).is_none() {
        return Err(Error::Engine(infra_engine::Error::NotDeclared { address }));
    }
    // An ID of the wrong type is refused before any call or lock.
    if let Some(decl) = stack.resource(&address)
        && let Some(problem) = decl.schema.check_id.and_then(|check| check(id))
    {
        let found = match infra_aws::ids::kind_of(id) {
            Some((path, what)) => format!("; it is {what} ({path})"),
            None => String::new(),
        };
        return Err(Error::Usage(format!(
            "cannot import {id:?} into {address} ({}): {problem}{found}",
            decl.schema.type_name
        )));
    }
    let backend = ctx.backend().await?;
    // One cloud object per address: refused before the lock (the engine
    // checks again under it).
    let (current, _) = infra_engine::read_state(backend.as_ref(), stack.name()).await?;
    if let Some(decl) = stack.resource(&address)
        && let Some(other) = current.address_of(
            &decl.provider.clone().unwrap_or_else(|| infra_core::ProviderKey(String::new())),
            decl.schema.type_name,
            id,
        )
    {
        return Err(Error::Engine(infra_engine::Error::ManagedElsewhere {
            address,
            id: id.to_owned(),
            other,
        }));
    }
    let (registry, _) = ctx.registry(&stack, None).await?;
    infra_engine::import(&registry, backend, &stack, &address, id, ctx.cli.global.lock_timeout).await?;
    ctx.ui.info(&format!(
        "Imported {address} (ID {id}). Run `plan` to see how it differs from its declaration."
    ));
    Ok(OK)
}

pub(crate) fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::Value::Number(n.clone()),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::List(l) => serde_json::Value::Array(l.iter().map(value_json).collect()),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), value_json(v))).collect())
        }
        other => serde_json::Value::String(show_value(other)),
    }
}

async fn output_cmd(ctx: &Ctx<'_>, name: Option<&str>, json: bool) -> Result<u8> {
    let stack_name = ctx.stack_name().await?;
    let backend = ctx.backend().await?;
    let state = infra_engine::read_state(backend.as_ref(), &stack_name).await?.0;
    match name {
        Some(n) => {
            let v = state.outputs.get(n).ok_or_else(|| {
                Error::Usage(format!(
                    "stack {stack_name:?} has no output {n:?} (it has: {})",
                    if state.outputs.is_empty() {
                        "none yet; apply first".to_owned()
                    } else {
                        state.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ))
            })?;
            let text = match (json, v) {
                (true, v) => serde_json::to_string(&value_json(v)).unwrap_or_default(),
                (false, Value::String(s)) => s.clone(),
                (false, v) => show_value(v),
            };
            ctx.ui.out(&format!("{text}\n"));
        }
        None if json => {
            let all: serde_json::Map<String, serde_json::Value> =
                state.outputs.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
            ctx.ui.out(&format!("{}\n", serde_json::to_string_pretty(&all).unwrap_or_default()));
        }
        None if state.outputs.is_empty() => {
            ctx.ui.info(&format!("Stack {stack_name:?} has no outputs yet (they are recorded by apply)."));
        }
        None => ctx.ui.out(&format!("{}\n", outputs_text(&state.outputs))),
    }
    Ok(OK)
}

async fn graph_cmd(ctx: &Ctx<'_>, format: GraphFormat) -> Result<u8> {
    let stack = ctx.stack().await?;
    let dot = stack.validate()?.to_dot();
    match format {
        GraphFormat::Dot => ctx.ui.out(&dot),
        GraphFormat::Svg => {
            use std::io::Write as _;
            let tool = |reason: String| Error::Tool { tool: "dot (Graphviz)".into(), reason };
            let mut child = std::process::Command::new("dot")
                .arg("-Tsvg")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| tool(format!("{e}; install Graphviz, or use --format dot")))?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(dot.as_bytes()).map_err(|e| tool(e.to_string()))?;
            }
            let out = child.wait_with_output().map_err(|e| tool(e.to_string()))?;
            if !out.status.success() {
                return Err(tool(format!("exited with {}", out.status)));
            }
            ctx.ui.out(&String::from_utf8_lossy(&out.stdout));
        }
    }
    Ok(OK)
}

async fn validate_cmd(ctx: &Ctx<'_>) -> Result<u8> {
    let stack = ctx.stack().await?;
    let graph = stack.validate()?;
    ctx.ui.info(&format!(
        "The stack {:?} is valid: {} resources, {} provider instance(s).",
        stack.name(),
        graph.len(),
        stack.providers().len()
    ));
    Ok(OK)
}
