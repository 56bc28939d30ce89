//! Mistakes rustc must reject, each with one clear message on the offending token.

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
