//! One emulator per test binary (moto on 127.0.0.1, dummy credentials set
//! explicitly), and backends on it: one bucket and table shared by every
//! case, a fresh key prefix per backend so cases never see each other.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use infra_state_s3::{S3Backend, S3BackendConfig};
use infra_testkit::Moto;

pub const BUCKET: &str = "infra-state-tests";
pub const TABLE: &str = "infra-locks";
/// The backend's region: not the resources' (they are in us-east-1).
pub const REGION: &str = "eu-west-1";

pub fn moto() -> &'static Moto {
    Moto::shared()
}

/// Settings for a fresh key prefix in the shared bucket.
pub fn config(lease: Duration) -> S3BackendConfig {
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    S3BackendConfig::new(BUCKET, REGION, TABLE)
        .with_key(format!("cases/{prefix}/{{stack}}.infra-state.json"))
        .with_lock_lease(lease)
}

/// A backend on the emulator (bucket and table bootstrapped).
pub async fn backend_with(config: S3BackendConfig) -> S3Backend {
    let sdk = moto().sdk_config(REGION).unwrap();
    let backend = S3Backend::with_sdk_config(config, &sdk).unwrap();
    backend.bootstrap().await.unwrap();
    backend
}

pub async fn backend(lease: Duration) -> S3Backend {
    backend_with(config(lease)).await
}
