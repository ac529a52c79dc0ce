//! Emulator lifecycle tests (see ec2_lifecycle.rs for the pattern).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
