//! Compile-fail tests: wiring mistakes and derive misuse must not compile,
//! and the errors must say why. Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p infra-tests --test compile_fail`.

#[test]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
