//! Compile-pass and compile-fail cases of the hubs macros; `README.md` indexes them.
//!
//! - all cases: `cargo test -p ui-tests`
//! - one case, by file stem: `UI_CASE=method_is_not_async cargo test -p ui-tests`
//! - bless new output: `TRYBUILD=overwrite cargo test -p ui-tests`, then read every `.stderr` diff
//!
//! The `.stderr` files hold the compiler's own wording too (trait errors), which changes between
//! Rust releases. They are blessed with the release in [`BLESSED_WITH`]; with another release
//! the fail cases are skipped (say so loudly) unless `UI_ANY_RUSTC=1`, and the pass cases run.

use std::path::Path;
use std::process::Command;

/// The Rust release (`major.minor`) the `.stderr` files were written with; CI uses it.
const BLESSED_WITH: &str = "1.95";

/// The flags trybuild 1.0 gives rustc. It builds the dependencies and runs the pass cases
/// with these, but compiles each case with `--diagnostic-width=140` added; Cargo takes other
/// flags for another build, so every dependency was compiled twice (73 s of CI's 4 min here).
/// The whole list in `CARGO_ENCODED_RUSTFLAGS`, which Cargo prefers to trybuild's `--config`,
/// gives every step the same flags and one build. Check it when trybuild is updated (its
/// `src/rustflags.rs`).
const TRYBUILD_RUSTFLAGS: [&str; 6] = [
    "--cfg",
    "trybuild",
    "--verbose",
    "-A",
    "dead_code",
    "--diagnostic-width=140",
];

#[test]
fn ui() {
    if std::env::var_os("CARGO_ENCODED_RUSTFLAGS").is_none() {
        // SAFETY: set before trybuild starts, while this test's thread is the only one
        // reading the environment (the harness runs this file's single test alone).
        unsafe { std::env::set_var("CARGO_ENCODED_RUSTFLAGS", TRYBUILD_RUSTFLAGS.join("\x1f")) };
    }
    let t = trybuild::TestCases::new();
    let check_errors = compare_error_texts();
    match std::env::var("UI_CASE") {
        Ok(case) if !case.is_empty() => {
            assert!(
                case_exists(&case),
                "UI_CASE={case}: no tests/ui/*/{{pass,fail}}/{case}.rs"
            );
            t.pass(format!("tests/ui/*/pass/{case}.rs"));
            if check_errors {
                t.compile_fail(format!("tests/ui/*/fail/{case}.rs"));
            }
        }
        _ => {
            t.pass("tests/ui/*/pass/*.rs");
            if check_errors {
                t.compile_fail("tests/ui/*/fail/*.rs");
            }
        }
    }
}

/// Whether the compiler is the release the `.stderr` files were blessed with (or the user
/// asked for the comparison anyway).
fn compare_error_texts() -> bool {
    if std::env::var("UI_ANY_RUSTC").is_ok_and(|v| v == "1") {
        return true;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    // `rustc 1.95.0 (59807616e 2026-04-14)`
    let release = version.split_whitespace().nth(1).unwrap_or_default();
    if release.starts_with(&format!("{BLESSED_WITH}.")) {
        return true;
    }
    eprintln!(
        "ui-tests: the compile-fail cases' .stderr files are written for Rust {BLESSED_WITH}; \
         this is `{}`, so only the pass cases run (UI_ANY_RUSTC=1 compares anyway)",
        version.trim()
    );
    false
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
