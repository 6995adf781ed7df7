//! The modules on disk: writing them, and telling whether a folder holds what would be
//! written.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use crate::module::HEADER_PREFIX;
use crate::{Error, Module};

/// How a folder differs from the modules a [`Generator`](crate::Generator) renders, by file
/// name. Empty when the folder is up to date.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Differences {
    /// Modules whose file holds other text.
    pub stale: Vec<String>,
    /// Modules without a file.
    pub missing: Vec<String>,
    /// Generated modules (`.ts` files that start with the generator's header) of hubs the
    /// generator does not list. Other files are left alone.
    pub extra: Vec<String>,
}

impl Differences {
    /// True when the folder holds exactly the generated modules.
    pub fn is_empty(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

impl fmt::Display for Differences {
    /// `stale: A.ts; missing: B.ts; extra: C.ts` (the non-empty groups), or `up to date`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("up to date");
        }
        let groups = [
            ("stale", &self.stale),
            ("missing", &self.missing),
            ("extra", &self.extra),
        ];
        let mut first = true;
        for (what, files) in groups.into_iter().filter(|(_, files)| !files.is_empty()) {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{what}: {}", files.join(", "))?;
        }
        Ok(())
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Compares `modules` with the files in `dir` (a missing folder holds nothing).
pub(crate) fn compare(modules: &[Module], dir: &Path) -> Result<Differences, Error> {
    let mut differences = Differences::default();
    for module in modules {
        let path = dir.join(&module.file_name);
        match fs::read(&path) {
            Ok(bytes) if bytes == module.contents.as_bytes() => {}
            Ok(_) => differences.stale.push(module.file_name.clone()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                differences.missing.push(module.file_name.clone())
            }
            Err(error) => return Err(io_error(&path)(error)),
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(differences),
        Err(error) => return Err(io_error(dir)(error)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let listed = modules.iter().any(|m| m.file_name == file_name);
        if listed || !file_name.ends_with(".ts") || !entry.path().is_file() {
            continue;
        }
        if is_generated(&entry.path())? {
            differences.extra.push(file_name);
        }
    }
    differences.extra.sort();
    Ok(differences)
}

/// Whether the file at `path` starts with the generator's header.
fn is_generated(path: &Path) -> Result<bool, Error> {
    let text = fs::read(path).map_err(io_error(path))?;
    Ok(text.starts_with(HEADER_PREFIX.as_bytes()))
}

/// Makes `dir` hold `modules`: writes stale and missing files (others keep their time
/// stamps) and removes extra generated modules. Returns what it changed.
pub(crate) fn write(modules: &[Module], dir: &Path) -> Result<Differences, Error> {
    let differences = compare(modules, dir)?;
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    for module in modules {
        let changed = differences.stale.contains(&module.file_name)
            || differences.missing.contains(&module.file_name);
        if changed {
            let path = dir.join(&module.file_name);
            fs::write(&path, &module.contents).map_err(io_error(&path))?;
        }
    }
    for file_name in &differences.extra {
        let path = dir.join(file_name);
        fs::remove_file(&path).map_err(io_error(&path))?;
    }
    Ok(differences)
}
