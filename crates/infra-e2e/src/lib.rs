//! End-to-end tests of the production example on the AWS emulator
//! (`tests/`), driving the real stack program (`src/bin`). They live in a
//! crate of their own so that the workspace tests' compile-fail harness
//! does not build the EC2 SDK.

pub mod invalid;
