//! Choosing and opening the state backend: `--backend` (or
//! `INFRA_BACKEND`), else the project's `[backend]`, else a local directory
//! `.infra/state` under the project root.

use std::path::PathBuf;
use std::sync::Arc;

use infra_state::{Backend, LocalBackend};

use crate::error::{Error, Result};
use crate::project::{DEFAULT_STATE_DIR, Project};

/// Where state lives.
#[derive(Debug, Clone)]
pub enum BackendChoice {
    /// A local directory.
    Local(PathBuf),
    /// The team backend.
    #[cfg(feature = "s3")]
    S3(Box<infra_state_s3::S3BackendConfig>),
}

impl BackendChoice {
    /// Chooses from the `--backend` value and the project.
    pub fn choose(flag: Option<&str>, project: &Project) -> Result<BackendChoice> {
        let section = project.config.backend.as_ref();
        let local_default = || match section.and_then(|b| b.local.as_ref()) {
            Some(dir) => project.root.join(dir),
            None => project.root.join(DEFAULT_STATE_DIR),
        };
        match flag {
            None => match section.and_then(|b| b.s3.as_ref()) {
                #[cfg(feature = "s3")]
                Some(s3) => Ok(BackendChoice::S3(Box::new(s3.clone()))),
                #[cfg(not(feature = "s3"))]
                Some(_) => Err(no_s3()),
                None => Ok(BackendChoice::Local(local_default())),
            },
            Some("local") => Ok(BackendChoice::Local(local_default())),
            Some(v) if v.starts_with("local:") => {
                let dir = PathBuf::from(&v["local:".len()..]);
                if dir.as_os_str().is_empty() {
                    return Err(Error::Usage("--backend local:DIR needs a directory".into()));
                }
                Ok(BackendChoice::Local(dir))
            }
            #[cfg(feature = "s3")]
            Some("s3") => match section.and_then(|b| b.s3.as_ref()) {
                Some(s3) => Ok(BackendChoice::S3(Box::new(s3.clone()))),
                None => Ok(BackendChoice::S3(Box::new(infra_state_s3::S3BackendConfig::from_env()?))),
            },
            #[cfg(not(feature = "s3"))]
            Some("s3") => Err(no_s3()),
            Some(other) => {
                Err(Error::Usage(format!("--backend {other:?}: expected `local`, `local:DIR` or `s3`")))
            }
        }
    }

    /// Opens the backend (for S3: validates the settings and builds the
    /// clients; no API call yet).
    pub async fn open(&self) -> Result<Arc<dyn Backend>> {
        match self {
            BackendChoice::Local(dir) => Ok(Arc::new(LocalBackend::new(dir.clone()))),
            #[cfg(feature = "s3")]
            BackendChoice::S3(config) => {
                Ok(Arc::new(infra_state_s3::S3Backend::new((**config).clone()).await?))
            }
        }
    }

    /// Creates what the backend needs; returns what was done, for display.
    pub async fn init(&self) -> Result<String> {
        match self {
            BackendChoice::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::File { path: dir.clone(), reason: e.to_string() })?;
                Ok(format!("local state directory {} is ready", dir.display()))
            }
            #[cfg(feature = "s3")]
            BackendChoice::S3(config) => {
                let backend = infra_state_s3::S3Backend::new((**config).clone()).await?;
                let done = backend.bootstrap().await?;
                let said = |created: bool| if created { "created" } else { "already there" };
                Ok(format!(
                    "bucket {} ({}, versioned, encrypted, public access blocked) and lock table {} ({}) are ready",
                    config.bucket,
                    said(done.bucket_created),
                    config.dynamodb_table,
                    said(done.table_created)
                ))
            }
        }
    }
}

#[cfg(not(feature = "s3"))]
fn no_s3() -> Error {
    Error::Usage("this build has no S3 backend (enable the `s3` feature)".into())
}
