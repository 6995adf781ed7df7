//! [`Generator::main`]: the command line of a generator binary.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use hubs::describe::TypeScriptFlavor;

use crate::Generator;

const USAGE: &str = "\
usage: <generator> [--messagepack] [--check] <dir>

Writes one TypeScript module per hub into <dir>.
  --check        write nothing; exit with 1 when <dir> differs (stale, missing or extra modules)
  --messagepack  the values of the MessagePack hub protocol (Date, Uint8Array) instead of JSON's";

/// What the arguments ask for.
#[derive(Debug, PartialEq, Eq)]
struct Arguments {
    dir: PathBuf,
    check: bool,
    messagepack: bool,
}

/// Reads `[--messagepack] [--check] <dir>`; `Err` holds the text to print and the exit code.
fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Arguments, (String, u8)> {
    let mut dir = None;
    let mut check = false;
    let mut messagepack = false;
    let mut options = true;
    for arg in args {
        match arg.to_str() {
            Some("--check") if options => check = true,
            Some("--messagepack") if options => messagepack = true,
            Some("-h" | "--help") if options => return Err((USAGE.to_string(), 0)),
            Some("--") if options => options = false,
            Some(flag) if options && flag.starts_with('-') => {
                return Err((format!("unknown option `{flag}`\n{USAGE}"), 2));
            }
            _ if dir.is_some() => return Err((format!("one folder only\n{USAGE}"), 2)),
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    match dir {
        Some(dir) => Ok(Arguments {
            dir,
            check,
            messagepack,
        }),
        None => Err((format!("which folder?\n{USAGE}"), 2)),
    }
}

/// Runs the command line `args` (without the program name); returns the exit code.
pub(crate) fn run(
    generator: Generator,
    args: impl IntoIterator<Item = OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let arguments = match parse(args) {
        Ok(arguments) => arguments,
        Err((text, 0)) => {
            let _ = writeln!(out, "{text}");
            return 0;
        }
        Err((text, code)) => {
            let _ = writeln!(err, "typescript-gen: {text}");
            return code;
        }
    };
    let dir = arguments.dir.display().to_string();
    let flavor = if arguments.messagepack {
        TypeScriptFlavor::MessagePack
    } else {
        TypeScriptFlavor::Json
    };
    // The header of each module names the command that writes it again.
    let command = generator.command.as_ref().map(|command| {
        let messagepack = if arguments.messagepack {
            " --messagepack"
        } else {
            ""
        };
        format!("{command}{messagepack} {dir}")
    });
    let generator = Generator {
        flavor,
        command: command.clone(),
        ..generator
    };
    let count = generator.hubs.len();
    if arguments.check {
        match generator.check(&arguments.dir) {
            Ok(differences) if differences.is_empty() => {
                let _ = writeln!(out, "typescript-gen: {dir}: {count} modules up to date");
                0
            }
            Ok(differences) => {
                let again = command.map_or_else(
                    || "run the generator without --check".to_string(),
                    |command| format!("run `{command}`"),
                );
                let _ = writeln!(
                    err,
                    "typescript-gen: {dir} is out of date ({differences}): {again} to write it again"
                );
                1
            }
            Err(error) => {
                let _ = writeln!(err, "typescript-gen: {error}");
                2
            }
        }
    } else {
        match generator.write(&arguments.dir) {
            Ok(differences) => {
                let _ = writeln!(out, "typescript-gen: {dir}: {count} modules, {differences}");
                0
            }
            Err(error) => {
                let _ = writeln!(err, "typescript-gen: {error}");
                2
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn reads_flags_in_any_order() {
        assert_eq!(
            parse(args(&["--check", "out", "--messagepack"])),
            Ok(Arguments {
                dir: "out".into(),
                check: true,
                messagepack: true,
            })
        );
        assert_eq!(
            parse(args(&["--", "--odd"])).unwrap().dir,
            PathBuf::from("--odd")
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert_eq!(parse(args(&[])).unwrap_err().1, 2);
        assert_eq!(parse(args(&["a", "b"])).unwrap_err().1, 2);
        assert_eq!(parse(args(&["--json", "a"])).unwrap_err().1, 2);
        assert_eq!(parse(args(&["--help"])).unwrap_err().1, 0);
    }
}
