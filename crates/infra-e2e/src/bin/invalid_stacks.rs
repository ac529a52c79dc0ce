//! The stack program of the invalid-stack catalogue: the base stack plus
//! the invalid part of the case named by `INFRA_CASE`.

fn main() -> std::process::ExitCode {
    let case = std::env::var("INFRA_CASE").unwrap_or_default();
    infra::cli::run(infra_e2e::invalid::stack(&case))
}
