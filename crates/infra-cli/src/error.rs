//! The error type of `infra-cli`, and how each error is shown: what went
//! wrong (naming the address, the AWS error code and message) and what the
//! user can do. No backtraces or debug dumps.

use std::path::PathBuf;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad command-line usage the parser could not catch.
    #[error("{0}")]
    Usage(String),

    /// The project's config file is unreadable or invalid.
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },

    /// `--stack` names a stack the program does not define.
    #[error("no stack {name:?} in this program (it defines: {})", known.join(", "))]
    UnknownStack { name: String, known: Vec<String> },

    /// The stack could not be chosen.
    #[error("{0}")]
    NoStack(String),

    /// An address argument does not parse.
    #[error("{argument}: {reason}")]
    Address { argument: String, reason: String },

    /// The address is not in the state.
    #[error("{address}: not in the state of stack {stack:?} (`state list` shows what is)")]
    NotInState { address: String, stack: String },

    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },

    /// Apply or destroy needs a confirmation that cannot be asked for.
    #[error(
        "{command} needs confirmation, and there is no terminal to ask on: review `plan{plan_flag}` and run with --yes, or save a plan with `plan{plan_flag} --out FILE` and apply that file"
    )]
    NeedsConfirmation { command: &'static str, plan_flag: &'static str },

    /// A saved plan belongs to another stack.
    #[error("{path}: the plan is for stack {plan_stack:?}, not {stack:?}")]
    PlanForOtherStack { path: PathBuf, plan_stack: String, stack: String },

    /// The stack program is invalid.
    #[error("{0}")]
    Invalid(#[from] infra_core::Error),

    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] infra_engine::Error),

    /// A backend failed.
    #[error(transparent)]
    State(#[from] infra_state::Error),

    /// The team backend's settings or setup failed.
    #[cfg(feature = "s3")]
    #[error(transparent)]
    S3(#[from] infra_state_s3::Error),

    /// A provider could not be set up.
    #[error("provider: {0}")]
    Provider(String),

    /// Some steps failed; the rest were applied and recorded.
    #[error(
        "{failed} of {total} steps failed (see above); what succeeded is recorded, and running apply again retries the rest"
    )]
    StepsFailed { failed: usize, total: usize },

    /// The run was interrupted.
    #[error("interrupted: steps in flight finished and the state is saved; run apply again to continue")]
    Interrupted,

    /// Running the stack program failed (the `infra` binary).
    #[error("running the stack program `{program}`: {reason}")]
    Program { program: String, reason: String },

    /// An external tool failed.
    #[error("{tool}: {reason}")]
    Tool { tool: String, reason: String },
}

impl Error {
    /// What the user can do, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        use infra_state::Error as S;
        let state = match self {
            Error::State(e) | Error::Engine(infra_engine::Error::State(e)) => e,
            Error::Engine(infra_engine::Error::Plan(infra_core::Error::StalePlan { .. })) => {
                return Some("the state changed since the plan was made: run `plan --out FILE` again".into());
            }
            _ => return None,
        };
        match state {
            S::Locked { .. } => Some(
                "wait for the holder to finish (`--lock-timeout 5m` waits), or, if it is gone, `force-unlock LOCK_ID`"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// A shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;
