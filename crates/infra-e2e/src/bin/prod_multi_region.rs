//! The production example (`examples/prod_multi_region.rs`), compiled as a
//! binary of the test crate so the emulator crash test can run and kill it.

#[allow(dead_code)]
#[path = "../../../../examples/prod_multi_region.rs"]
mod example;

fn main() -> std::process::ExitCode {
    infra::cli::run(example::stack())
}
