//! The crate's error type: loading and persisting a simulated cloud, and
//! changing it from outside.

use std::io;
use std::path::PathBuf;

/// A failure to load, persist or change a [`SimCloud`](crate::SimCloud).
///
/// Failures of simulated API calls are not this type: they are
/// [`ProviderError`](infra_engine::ProviderError)s, as a real cloud's are.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cloud file exists but could not be read.
    #[error("cannot read the simulated cloud file {path}: {source}")]
    Read {
        /// The cloud file.
        path: PathBuf,
        /// The IO error.
        source: io::Error,
    },
    /// The cloud file is not a valid simulated cloud.
    #[error("the simulated cloud file {path} is not valid: {source}")]
    Parse {
        /// The cloud file.
        path: PathBuf,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// The cloud file was written in a format this build does not read.
    #[error("the simulated cloud file {path} has format {found}; this build reads format {expected}")]
    Format {
        /// The cloud file.
        path: PathBuf,
        /// The format version in the file.
        found: u32,
        /// The format version this build reads and writes.
        expected: u32,
    },
    /// The cloud could not be encoded (a value that cannot be serialized).
    #[error("cannot encode the simulated cloud for {path}: {source}")]
    Encode {
        /// The cloud file.
        path: PathBuf,
        /// The encoding error.
        source: serde_json::Error,
    },
    /// The cloud file could not be written, synced or renamed into place.
    #[error("cannot write the simulated cloud file {path}: {source}")]
    Write {
        /// The cloud file.
        path: PathBuf,
        /// The IO error.
        source: io::Error,
    },
    /// An outside change named a resource the cloud does not have.
    #[error("the simulated cloud has no resource {id}")]
    NoSuchResource {
        /// The ID that was asked for.
        id: String,
    },
}
