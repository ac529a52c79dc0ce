//! The seed network on the emulator (filled in below).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
