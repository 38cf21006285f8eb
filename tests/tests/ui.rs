//! Compile-time checks: every misuse in `ui/fail` fails with the message in its
//! `.stderr`; every accepted form in `ui/pass` compiles and runs.
//!
//! The snapshots are for the toolchain of the project's machines (rustc 1.95);
//! regenerate them with `TRYBUILD=overwrite` and review them like code.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
