//! The argument surface, shared by every stack program and the `infra`
//! binary.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Options every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The stack to operate on (a program may deploy several; default: the
    /// project's `stack`, or the program's only stack).
    #[arg(long, global = true, env = "INFRA_STACK")]
    pub stack: Option<String>,
    /// Where state lives: `local` or `local:DIR` (default `local:.infra/state`
    /// under the project root), or `s3` (settings from the project's
    /// `[backend.s3]` or `INFRA_S3_*`).
    #[arg(long, global = true, env = "INFRA_BACKEND")]
    pub backend: Option<String>,
    /// An optional cap on steps in flight (the API rate budget paces calls
    /// either way).
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: Option<u32>,
    /// A fixed API rate limit for a service, calls per second
    /// (`--rate ec2=20`; repeatable). Without one, budgets start at AWS's
    /// published limits and adapt (unbounded against an endpoint override).
    #[arg(long = "rate", global = true, value_name = "SERVICE=PER_SECOND", value_parser = parse_rate)]
    pub rates: Vec<(String, f64)>,
    /// How long to wait for another holder's lock, e.g. `30s` or `5m`.
    #[arg(long, global = true, value_parser = parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
    /// More output: `-v` logs at info, `-vv` at debug (`RUST_LOG` also works).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and what was asked for.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colours: `auto` (on a terminal), `always` or `never` (also `NO_COLOR`).
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The command line of a stack program and of `infra`.
#[derive(Debug, Parser)]
#[command(name = "infra", version, about = "Plan and apply typed AWS stacks", max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Show what apply would do (nothing is changed).
    Plan {
        /// Save the plan, to apply exactly it later with `apply FILE`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the plan as JSON (the saved-plan format).
        #[arg(long)]
        json: bool,
        /// Exit 0 with no changes, 2 with changes, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Only this address and what it depends on (repeatable).
        #[arg(long = "target", value_name = "ADDRESS")]
        targets: Vec<String>,
        /// Read every resource from the cloud first (`--refresh=false` to skip).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        refresh: bool,
        /// Plan the destruction of everything the state holds.
        #[arg(long)]
        destroy: bool,
    },
    /// Apply a saved plan, or plan and apply after confirmation.
    Apply {
        /// A plan saved with `plan --out` (applied without asking; refused
        /// when the state moved on since).
        plan: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long, visible_alias = "auto-approve")]
        yes: bool,
        /// One JSON event per line (for CI).
        #[arg(long)]
        json: bool,
        /// Only this address and what it depends on (repeatable).
        #[arg(long = "target", value_name = "ADDRESS")]
        targets: Vec<String>,
        /// Read every resource from the cloud first (`--refresh=false` to skip).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        refresh: bool,
    },
    /// Delete everything the state holds (or the targets and what depends on them).
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long, visible_alias = "auto-approve")]
        yes: bool,
        /// One JSON event per line.
        #[arg(long)]
        json: bool,
        /// Only this address and what depends on it (repeatable).
        #[arg(long = "target", value_name = "ADDRESS")]
        targets: Vec<String>,
    },
    /// Update the state from the cloud without changing anything in it.
    Refresh,
    /// Report differences between the cloud and the state (exit 0 none, 2 some, 1 error).
    Drift {
        /// One JSON object with every difference.
        #[arg(long)]
        json: bool,
    },
    /// Bring an existing cloud resource under management at ADDRESS.
    Import {
        /// A declared address, e.g. `us.network.vpc`.
        address: String,
        /// The resource's cloud ID, e.g. `vpc-0abc…`.
        id: String,
    },
    /// Inspect and edit the state.
    #[command(subcommand)]
    State(StateCommand),
    /// Clear a lock left by a holder that went away (the ID is in the "is locked" error).
    ForceUnlock {
        /// The lock ID.
        lock_id: String,
    },
    /// Show the stack's outputs as of the last apply.
    Output {
        /// One output (printed raw, for scripts).
        name: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the dependency graph.
    Graph {
        /// `dot` or `svg` (runs Graphviz's `dot`).
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// Check every input, reporting every problem at once (no API call).
    Validate,
    /// Set up where state lives.
    #[command(subcommand)]
    Backend(BackendCommand),
}

/// Graph output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Svg,
}

/// `state …` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum StateCommand {
    /// The addresses the state manages.
    List,
    /// One resource as recorded (secrets print as `(sensitive)`).
    Show { address: String },
    /// Forget a resource (or every resource under a prefix) without deleting it.
    Rm { address: String },
    /// Rename a recorded address (or a prefix) after a refactor, without touching the cloud.
    Mv { from: String, to: String },
    /// Print the stored state (or an earlier version from `state history`).
    Pull {
        #[arg(long)]
        version: Option<String>,
    },
    /// Replace the stored state with FILE (same lineage; refused when the stored serial is newer).
    Push { file: PathBuf },
    /// Earlier versions of the state, newest first.
    History,
}

/// `backend …` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum BackendCommand {
    /// Create what the backend needs (for `s3`: the bucket and the lock table); safe to run again.
    Init,
    /// Copy the stack's state from another backend into the current one.
    Migrate {
        /// The backend to copy from, as `--backend` takes it.
        #[arg(long)]
        from: String,
    },
}

impl Command {
    /// Whether the command needs the stack program (its declarations), not
    /// only the state.
    pub fn needs_program(&self) -> bool {
        matches!(
            self,
            Command::Plan { .. }
                | Command::Apply { .. }
                | Command::Drift { .. }
                | Command::Import { .. }
                | Command::Graph { .. }
                | Command::Validate
        )
    }
}

/// `ec2=20`: a service and a positive rate.
fn parse_rate(s: &str) -> Result<(String, f64), String> {
    let bad = || format!("{s:?} is not a rate; write SERVICE=CALLS_PER_SECOND, e.g. ec2=20");
    let (service, rate) = s.split_once('=').ok_or_else(bad)?;
    let rate: f64 = rate.trim().parse().map_err(|_| bad())?;
    if service.trim().is_empty() || !(rate > 0.0 && rate.is_finite()) {
        return Err(bad());
    }
    Ok((service.trim().to_ascii_lowercase(), rate))
}

/// A duration as a user writes it (`30s`, `5m`, `1h 30m`), with an error
/// that shows what one looks like.
fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("{s:?} is not a duration; write a number and a unit, e.g. 30s, 5m or 1h"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cli = Cli::try_parse_from([
            "infra",
            "plan",
            "--detailed-exitcode",
            "--target",
            "us.vpc",
            "--refresh=false",
        ])
        .unwrap();
        match cli.command {
            Command::Plan { detailed_exitcode, targets, refresh, .. } => {
                assert!(detailed_exitcode);
                assert_eq!(targets, vec!["us.vpc"]);
                assert!(!refresh);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["infra", "--lock-timeout", "5m", "apply", "--yes"]).unwrap();
        assert_eq!(cli.global.lock_timeout, Duration::from_secs(300));
        assert!(Cli::try_parse_from(["infra", "state", "mv", "a.b", "c.d"]).is_ok());
        assert!(Cli::try_parse_from(["infra", "apply", "--auto-approve"]).is_ok());
        assert!(Cli::try_parse_from(["infra", "plan", "--parallelism", "0"]).is_err());
    }
}
