//! The backend conformance suite of `infra-state`, unchanged, against the
//! S3 backend on the emulator (S3 and DynamoDB both emulated by moto).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use infra_state::conformance::Fixture;

infra_state::backend_conformance_tests!(async {
    Fixture::new(common::backend(Duration::from_secs(5)).await)
});
