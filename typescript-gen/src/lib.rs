#![doc = include_str!("../README.md")]

mod cli;
mod files;
mod module;
mod names;
mod pretty;
mod property_keys;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hubs::describe::{DescribeHub, HubDescription, describe};

pub use files::Differences;
pub use hubs::describe::TypeScriptFlavor;

/// Writes the TypeScript modules of the hubs it lists: one `<HubName>.ts` per hub.
///
/// ```
/// # use hubs::prelude::*;
/// # struct ChatHub;
/// # #[hub] impl ChatHub { pub async fn send(&self, text: String) { let _ = text; } }
/// let modules = typescript_gen::Generator::new().hub::<ChatHub>().render()?;
/// assert_eq!(modules[0].file_name, "ChatHub.ts");
/// assert!(modules[0].contents.contains("send(text: string): Promise<void>;"));
/// # Ok::<(), typescript_gen::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Generator {
    hubs: Vec<&'static HubDescription>,
    flavor: TypeScriptFlavor,
    command: Option<String>,
}

impl Default for Generator {
    fn default() -> Self {
        Self::new()
    }
}

impl Generator {
    /// A generator of no hubs, for the JSON hub protocol.
    pub fn new() -> Self {
        Generator {
            hubs: Vec::new(),
            flavor: TypeScriptFlavor::Json,
            command: None,
        }
    }

    /// Adds the module of hub `H` (a type with `#[hub]`).
    pub fn hub<H: DescribeHub>(mut self) -> Self {
        self.hubs.push(describe::<H>());
        self
    }

    /// The values of which hub protocol the types describe: [`TypeScriptFlavor::Json`] (the
    /// default: timestamps are strings, binary is a base64 `string`) or
    /// [`TypeScriptFlavor::MessagePack`] (`Date`, `Uint8Array`). [`main`](Self::main) sets it
    /// from `--messagepack`.
    pub fn flavor(mut self, flavor: TypeScriptFlavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// The command that runs this generator, named in each module's header ("Do not edit:
    /// run `...` again"): `cargo run -p app --bin typescript --`. [`main`](Self::main) adds
    /// the arguments that choose the folder and the protocol.
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// The modules, in the order the hubs were added.
    ///
    /// Fails when two hubs have the same name, or when a name in a module would clash: a DTO
    /// named like the hub, its client trait, `Disposable`, an imported `@microsoft/signalr`
    /// type or a global the module uses (`Promise`, `Array`, ...), or two methods or two
    /// parameters of one method with the same camelCase name.
    pub fn render(&self) -> Result<Vec<Module>, Error> {
        let mut modules: Vec<Module> = Vec::with_capacity(self.hubs.len());
        for hub in &self.hubs {
            if modules.iter().any(|m| m.hub == hub.name) {
                return Err(Error::DuplicateHub(hub.name.to_string()));
            }
            modules.push(Module {
                hub: hub.name,
                file_name: format!("{}.ts", hub.name),
                contents: module::render(hub, self.flavor, self.command.as_deref())?,
            });
        }
        Ok(modules)
    }

    /// Makes `dir` (created if missing) hold the modules: writes those whose file is stale or
    /// missing and removes generated modules of hubs no longer listed (files without the
    /// generator's header are left alone). Returns what it changed.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<Differences, Error> {
        files::write(&self.render()?, dir.as_ref())
    }

    /// How `dir` differs from what [`write`](Self::write) would make of it; writes nothing.
    pub fn check(&self, dir: impl AsRef<Path>) -> Result<Differences, Error> {
        files::compare(&self.render()?, dir.as_ref())
    }

    /// The command line of a generator binary: `<dir>` writes the modules into `dir`,
    /// `--check <dir>` writes nothing and fails (exit code 1, naming the files) when `dir`
    /// is out of date, `--messagepack` writes the MessagePack forms. Errors exit with 2.
    ///
    /// ```no_run
    /// # use hubs::prelude::*;
    /// # struct ChatHub;
    /// # #[hub] impl ChatHub {}
    /// fn main() -> std::process::ExitCode {
    ///     typescript_gen::Generator::new()
    ///         .command("cargo run --bin typescript --")
    ///         .hub::<ChatHub>()
    ///         .main()
    /// }
    /// ```
    pub fn main(self) -> ExitCode {
        let code = cli::run(
            self,
            std::env::args_os().skip(1),
            &mut io::stdout(),
            &mut io::stderr(),
        );
        ExitCode::from(code)
    }
}

/// One generated module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The hub's name (`ChatHub`).
    pub hub: &'static str,
    /// `ChatHub.ts`.
    pub file_name: String,
    /// The module's text.
    pub contents: String,
}

/// Why no modules were rendered or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Two listed hubs have this name, and so the same file.
    DuplicateHub(String),
    /// A name in a hub's module would mean two things.
    NameClash {
        /// The hub whose module it is.
        hub: String,
        /// The name.
        name: String,
        /// What it clashes with.
        reason: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DuplicateHub(name) => write!(
                f,
                "two hubs are named `{name}`: each hub's module is `<HubName>.ts`; rename one"
            ),
            Error::NameClash { hub, name, reason } => write!(
                f,
                "the module of `{hub}` cannot use the name `{name}`: {reason}; rename it in Rust \
                 (or with #[ts(rename = \"...\")])"
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
