//! Compile-fail tests: misuses of `#[derive(Trace)]` and of the std impls that must not compile.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p tricolor --test
//! compile_fail`, then review every `.stderr` file: it must show the intended error.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
