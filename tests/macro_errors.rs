//! `#[lambda_kit::handler]` rejects every signature the runtime cannot drive, at the
//! offending token. The expected messages are the `.stderr` files beside each case.

#[test]
fn wrong_signatures_are_compile_errors_at_the_offending_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
