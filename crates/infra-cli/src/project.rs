//! The project config file, `infra.toml`, found in the working directory or
//! the nearest directory above it that has one (the project root):
//!
//! ```toml
//! # How the `infra` binary runs the stack program (the arguments follow).
//! program = ["cargo", "run", "--quiet", "--example", "prod_multi_region", "--"]
//! # The stack used when --stack is not given.
//! stack = "prod"
//!
//! [backend]
//! local = ".infra/state"      # the default; relative to the project root
//!
//! # or, for a team:
//! [backend.s3]
//! bucket = "acme-infra-state"
//! region = "eu-west-1"
//! dynamodb_table = "infra-locks"
//! ```
//!
//! Stack programs read the same file, so `cargo run --example …` and
//! `infra …` use the same backend and default stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file name looked for.
pub const FILE_NAME: &str = "infra.toml";

/// The default local state directory, under the project root.
pub const DEFAULT_STATE_DIR: &str = ".infra/state";

/// The parsed config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// The stack program's command (the subcommand and its arguments are
    /// appended).
    #[serde(default)]
    pub program: Option<Vec<String>>,
    /// The default stack.
    #[serde(default)]
    pub stack: Option<String>,
    /// Where state lives.
    #[serde(default)]
    pub backend: Option<BackendSection>,
    /// Fixed API rate limits per service, calls per second
    /// (`[rates] ec2 = 20`); `--rate` overrides them.
    #[serde(default)]
    pub rates: BTreeMap<String, f64>,
}

/// `[backend]`: exactly one of `local` or `[backend.s3]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// A local state directory (relative to the project root).
    #[serde(default)]
    pub local: Option<PathBuf>,
    /// The team backend's settings.
    #[cfg(feature = "s3")]
    #[serde(default)]
    pub s3: Option<infra_state_s3::S3BackendConfig>,
    /// Kept to report a clear error from builds without the s3 feature.
    #[cfg(not(feature = "s3"))]
    #[serde(default)]
    pub s3: Option<toml::Value>,
}

/// A project: its root and config (an empty config when there is no file;
/// the root is then the working directory).
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub file: Option<PathBuf>,
    pub config: ProjectConfig,
}

impl Project {
    /// Finds the project of `dir`: the nearest `infra.toml` at or above it.
    pub fn discover(dir: &Path) -> Result<Project> {
        let mut at = Some(dir);
        while let Some(d) = at {
            let file = d.join(FILE_NAME);
            if file.is_file() {
                return Project::load(&file);
            }
            at = d.parent();
        }
        Ok(Project { root: dir.to_path_buf(), file: None, config: ProjectConfig::default() })
    }

    /// Reads a config file.
    pub fn load(file: &Path) -> Result<Project> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Config { path: file.to_path_buf(), reason: e.to_string() })?;
        let config = parse(&text).map_err(|reason| Error::Config { path: file.to_path_buf(), reason })?;
        let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Project { root, file: Some(file.to_path_buf()), config })
    }

    /// The project discovered from the working directory.
    pub fn current() -> Result<Project> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::Config { path: PathBuf::from("."), reason: e.to_string() })?;
        Project::discover(&cwd)
    }
}

/// Parses and checks a config file's text.
pub fn parse(text: &str) -> std::result::Result<ProjectConfig, String> {
    let config: ProjectConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    if let Some(b) = &config.backend
        && b.local.is_some()
        && b.s3.is_some()
    {
        return Err("[backend]: set either `local` or `[backend.s3]`, not both".into());
    }
    if let Some(p) = &config.program
        && p.is_empty()
    {
        return Err(
            "`program`: give the command to run, e.g. [\"cargo\", \"run\", \"--quiet\", \"--\"]".into()
        );
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(text: &str, expected: std::result::Result<(), &str>) {
        let got = parse(text).map(|_| ());
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(want)) => assert!(e.contains(want), "{e:?} does not contain {want:?}"),
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn config_files() {
        check("", Ok(()));
        check("stack = \"prod\"\nprogram = [\"./deploy\"]\n[backend]\nlocal = \"st\"\n", Ok(()));
        check("stak = \"prod\"", Err("unknown field `stak`"));
        check("program = []", Err("`program`"));
        #[cfg(feature = "s3")]
        {
            check(
                "[backend]\nlocal = \"a\"\n[backend.s3]\nbucket = \"b\"\nregion = \"eu-west-1\"\ndynamodb_table = \"t\"\n",
                Err("not both"),
            );
            check(
                "[backend.s3]\nbucket = \"b\"\nregion = \"eu-west-1\"\ndynamodb_table = \"t\"\nlock_lease = \"5s\"\n",
                Ok(()),
            );
            check("[backend.s3]\nbucket = \"b\"\nregion = \"eu-west-1\"\n", Err("dynamodb_table"));
        }
    }
}
