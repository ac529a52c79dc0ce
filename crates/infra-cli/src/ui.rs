//! Where output goes and how it looks: colour only on a terminal (or when
//! asked), `-q` keeps only errors and what was asked for.

use std::io::{IsTerminal, Write};

use crate::args::{ColorChoice, Global};

/// Output settings of one command.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// ANSI colours on stdout.
    pub color: bool,
    /// Stdout is a terminal (live progress).
    pub stdout_tty: bool,
    /// Stdin is a terminal (confirmation can be asked).
    pub stdin_tty: bool,
    /// Only errors and what was asked for.
    pub quiet: bool,
}

impl Ui {
    /// From the global options and the environment.
    pub fn new(global: &Global) -> Ui {
        let stdout_tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && !no_color,
        };
        Ui { color, stdout_tty, stdin_tty: std::io::stdin().is_terminal(), quiet: global.quiet }
    }

    /// Prints what the user asked for (always).
    pub fn out(&self, text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        let _ = o.flush();
    }

    /// Prints a line of information (not with `-q`).
    pub fn info(&self, line: &str) {
        if !self.quiet {
            self.out(&format!("{line}\n"));
        }
    }

    /// Prints a note to stderr (kept off stdout, which `--json` owns).
    pub fn note(&self, line: &str) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{line}");
    }

    /// Prints a line to stderr.
    pub fn warn(&self, line: &str) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{}{line}", if self.color { "\x1b[33mWarning:\x1b[0m " } else { "Warning: " });
    }

    /// Wraps `text` in an ANSI style when colours are on.
    pub fn paint(&self, style: &str, text: &str) -> String {
        if self.color { format!("{style}{text}\x1b[0m") } else { text.to_owned() }
    }
}

/// ANSI styles.
pub mod style {
    pub const BOLD: &str = "\x1b[1m";
    pub const GREEN: &str = "\x1b[32m";
    pub const RED: &str = "\x1b[31m";
    pub const YELLOW: &str = "\x1b[33m";
    pub const DIM: &str = "\x1b[2m";
}
