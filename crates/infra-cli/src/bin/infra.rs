//! The `infra` command: runs the project's stack program (from `infra.toml`)
//! with the same arguments, and handles the commands that need only the
//! state itself, without building the program.

use std::process::ExitCode;

use clap::Parser;
use infra_cli::project::Project;
use infra_cli::{Cli, Error, execute, report};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let ui = infra_cli::ui::Ui::new(&cli.global);
    let project = match Project::current() {
        Ok(p) => p,
        Err(e) => {
            report(&ui, &e);
            return ExitCode::from(1);
        }
    };
    let program = project.config.program.clone();
    // Commands that need only the state run here, without building the
    // program; the rest run the program with the same arguments.
    match program {
        Some(command) if cli.command.needs_program() => forward(&project, &command, &args[1..]),
        _ => execute(cli, None),
    }
}

fn forward(project: &Project, command: &[String], args: &[std::ffi::OsString]) -> ExitCode {
    let ui = infra_cli::ui::Ui { color: false, stdout_tty: false, stdin_tty: false, quiet: false };
    let Some((exe, rest)) = command.split_first() else {
        report(&ui, &Error::Usage("`program` is empty".into()));
        return ExitCode::from(1);
    };
    let status = std::process::Command::new(exe).args(rest).args(args).current_dir(&project.root).status();
    match status {
        Ok(s) => match s.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::from(1),
        },
        Err(e) => {
            report(&ui, &Error::Program { program: command.join(" "), reason: e.to_string() });
            ExitCode::from(1)
        }
    }
}
