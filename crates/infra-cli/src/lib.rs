//! `infra-cli`: the command line every stack program gets, and the `infra`
//! project driver.
//!
//! A stack program is an ordinary binary whose `main` builds its stack and
//! hands it over:
//!
//! ```no_run
//! # use infra_core::{ProviderConfig, Stack};
//! fn main() -> std::process::ExitCode {
//!     let mut stack = Stack::new("prod");
//!     stack.provider(ProviderConfig::aws("us-east-1"));
//!     // … declare resources …
//!     infra_cli::run(stack)
//! }
//! ```
//!
//! It then has every subcommand (`plan`, `apply`, `destroy`, `refresh`,
//! `drift`, `import`, `state …`, `output`, `graph`, `validate`,
//! `force-unlock`, `backend …`), the same in every program. A program that
//! deploys several stacks (dev, staging, prod) names them and builds the
//! one chosen with `--stack`:
//!
//! ```no_run
//! # use infra_core::{ProviderConfig, Stack};
//! # fn build(name: &str) -> Stack { Stack::new(name) }
//! fn main() -> std::process::ExitCode {
//!     infra_cli::Program::stacks(["dev", "staging", "prod"], build).run()
//! }
//! ```
//!
//! The `infra` binary finds the project's `infra.toml`, runs its stack
//! program with the same arguments, and handles the commands that need only
//! the state (`state …`, `output`, `force-unlock`, `destroy`, `refresh`,
//! `backend …`) itself, without building the program. See `docs/cli.md`.

pub mod args;
pub mod backend;
mod commands;
pub mod error;
pub mod progress;
pub mod project;
pub mod providers;
mod state_cmd;
pub mod ui;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use infra_core::Stack;

pub use args::{Cli, Command, Global, StateCommand};
pub use error::Error;
pub use providers::{Aws, Providers, configs_from_state, default_providers};

type Builder = Arc<dyn Fn(&str) -> Stack + Send + Sync>;

/// A stack program: the stacks it can build, and the providers to run them
/// with.
pub struct Program {
    names: Vec<String>,
    build: Builder,
    providers: Option<Box<dyn Providers>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("stacks", &self.names).finish_non_exhaustive()
    }
}

/// Runs a one-stack program's command line (`std::env::args`) and returns
/// the exit code.
pub fn run(stack: Stack) -> ExitCode {
    Program::new(stack).run()
}

impl Program {
    /// A program with one stack.
    pub fn new(stack: Stack) -> Program {
        let names = vec![stack.name().to_owned()];
        Program { names, build: Arc::new(move |_| stack.clone()), providers: None }
    }

    /// A program with several stacks, built on demand by name (only the one
    /// chosen with `--stack` is built).
    pub fn stacks<I, S, F>(names: I, build: F) -> Program
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        F: Fn(&str) -> Stack + Send + Sync + 'static,
    {
        Program {
            names: names.into_iter().map(Into::into).collect(),
            build: Arc::new(build),
            providers: None,
        }
    }

    /// Uses other providers than this build's default (AWS).
    pub fn providers(mut self, providers: impl Providers + 'static) -> Program {
        self.providers = Some(Box::new(providers));
        self
    }

    /// The names of the stacks the program builds.
    pub fn stack_names(&self) -> &[String] {
        &self.names
    }

    /// Runs the command line of the process.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Runs the command line `args` (the first is the program name).
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
            }
        };
        execute(cli, Some(self))
    }

    pub(crate) fn build(&self, name: &str) -> Stack {
        (self.build)(name)
    }
}

/// Runs a parsed command line, with the stack program when there is one
/// (the `infra` binary runs state-only commands without it).
pub fn execute(cli: Cli, program: Option<Program>) -> ExitCode {
    init_logging(&cli.global);
    let ui = ui::Ui::new(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::dispatch(&cli, program, ui)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report(&ui, &e);
            ExitCode::from(1)
        }
    }
}

/// Prints an error for a person: the message (each problem of an invalid
/// stack on its own line) and what to do.
pub fn report(ui: &ui::Ui, e: &Error) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let head = if ui.color { "\x1b[1;31mError:\x1b[0m" } else { "Error:" };
    let diagnostics = match e {
        Error::Invalid(infra_core::Error::Invalid(d) | infra_core::Error::Refused(d))
        | Error::Engine(infra_engine::Error::Plan(
            infra_core::Error::Invalid(d) | infra_core::Error::Refused(d),
        )) => Some(d),
        _ => None,
    };
    match diagnostics {
        Some(d) => {
            let what = if matches!(
                e,
                Error::Invalid(infra_core::Error::Refused(_))
                    | Error::Engine(infra_engine::Error::Plan(infra_core::Error::Refused(_)))
            ) {
                "the plan is refused"
            } else {
                "the stack is invalid"
            };
            let _ =
                writeln!(err, "{head} {what}: {} problem{}", d.len(), if d.len() == 1 { "" } else { "s" });
            for p in d.iter() {
                let _ = writeln!(err, "  - {p}");
            }
        }
        None => {
            let _ = writeln!(err, "{head} {e}");
        }
    }
    if let Some(hint) = e.hint() {
        let _ = writeln!(err, "  {hint}");
    }
}

/// The AWS SDK's target that logs response bodies and decoded outputs at
/// TRACE (and only there).
const SDK_BODY_LOGGING: &str = "aws_smithy_runtime::client::orchestrator";

fn init_logging(global: &Global) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let default = match global.verbose {
        0 => "warn",
        1 => "infra=info,infra_cli=info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // At TRACE the AWS SDK logs response bodies and decoded outputs
    // (redacting only what its service models as sensitive): values a
    // stack declares `Sensitive`, such as a container's environment
    // variable, would be in the log. Those TRACE records are dropped
    // whatever RUST_LOG says, unless the SDK's own opt-in says otherwise.
    let bodies_wanted = std::env::var("LOG_SENSITIVE_BODIES").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let no_bodies = tracing_subscriber::filter::filter_fn(move |meta| {
        bodies_wanted
            || *meta.level() != tracing::Level::TRACE
            || !meta.target().starts_with(SDK_BODY_LOGGING)
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .finish()
        .with(no_bodies)
        .try_init();
}
