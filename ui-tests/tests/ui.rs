//! Compile-pass and compile-fail cases of the hubs macros; `README.md` indexes them.
//!
//! - all cases: `cargo test -p ui-tests`
//! - one case, by file stem: `UI_CASE=method_is_not_async cargo test -p ui-tests`
//! - bless new output: `TRYBUILD=overwrite cargo test -p ui-tests`, then read every `.stderr` diff

use std::path::Path;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    match std::env::var("UI_CASE") {
        Ok(case) if !case.is_empty() => {
            assert!(
                case_exists(&case),
                "UI_CASE={case}: no tests/ui/*/{{pass,fail}}/{case}.rs"
            );
            t.pass(format!("tests/ui/*/pass/{case}.rs"));
            t.compile_fail(format!("tests/ui/*/fail/{case}.rs"));
        }
        _ => {
            t.pass("tests/ui/*/pass/*.rs");
            t.compile_fail("tests/ui/*/fail/*.rs");
        }
    }
}

/// Whether some `tests/ui/<macro>/{pass,fail}/<case>.rs` exists, so a typo in `UI_CASE` fails
/// loudly instead of running nothing.
fn case_exists(case: &str) -> bool {
    let Ok(macros) = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui"))
    else {
        return false;
    };
    macros.flatten().any(|dir| {
        ["pass", "fail"]
            .iter()
            .any(|kind| dir.path().join(kind).join(format!("{case}.rs")).is_file())
    })
}
