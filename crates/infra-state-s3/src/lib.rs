//! `infra-state-s3`: the team state backend. Each stack's state is an
//! object in a versioned S3 bucket; each stack's lock and commit record is
//! an item in a DynamoDB table.
//!
//! - [`S3BackendConfig`]: bucket, key template, region, table, KMS key,
//!   endpoint, lease; from code, a config file (serde) or `INFRA_S3_*`
//!   environment variables.
//! - [`S3Backend`]: implements [`infra_state::Backend`] and passes its
//!   conformance suite. [`S3Backend::bootstrap`] creates the bucket and the
//!   table.
//! - Feature `kms`: optional client-side encryption of the state with a
//!   KMS data key (AES-256-GCM), on top of S3's server-side encryption.
//! - [`S3Lock`]: a leased lock with a fencing token, renewed in the
//!   background; a holder that dies is taken over after its lease, and a
//!   holder that was taken over can no longer write.
//!
//! The guarantees, and what each error means, are in
//! `docs/state-and-locking.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use infra_state::Backend;
//! use infra_state_s3::{S3Backend, S3BackendConfig};
//!
//! let config = S3BackendConfig::new("acme-infra-state", "eu-west-1", "infra-locks");
//! let backend = S3Backend::new(config).await?;
//! backend.bootstrap().await?; // once per account: bucket and table
//! let state = backend.read("prod").await?;
//! # Ok(()) }
//! ```

mod backend;
mod bootstrap;
mod config;
#[cfg(feature = "kms")]
mod envelope;
mod error;
mod lock;
mod record;

pub use backend::S3Backend;
pub use bootstrap::Bootstrapped;
pub use config::{
    DEFAULT_HISTORY_LIMIT, DEFAULT_KEY, DEFAULT_LOCK_LEASE, MIN_LOCK_LEASE, S3BackendConfig,
    STACK_PLACEHOLDER,
};
pub use error::Error;
pub use lock::S3Lock;
