//! Rust types in TypeScript: one small trait of ours over `ts-rs`, so the choice of library
//! stays here, and the two types whose form depends on the hub protocol.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use ts_rs::{Config, TS, TypeVisitor};

use crate::{Binary, Guid, Timestamp};

/// A type with a TypeScript form. Derive `ts_rs::TS` (ts-rs 12) on your own types; the types
/// of the standard library, `hubs::Timestamp`, `hubs::Binary` and `hubs::Guid` have one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no TypeScript form",
    label = "no TypeScript form for this type",
    note = "add `#[derive(ts_rs::TS)]` to `{Self}` (and `ts-rs = \"12\"` to Cargo.toml), or turn off the `typescript` feature of `hubs`"
)]
pub trait TypeScript: 'static {
    /// The type's name in TypeScript; declarations it needs are added to `types`.
    fn typescript(types: &mut TypeScriptTypes) -> String;
}

impl<T: TS + ?Sized + 'static> TypeScript for T {
    fn typescript(types: &mut TypeScriptTypes) -> String {
        types.visit::<T>();
        T::name(&types.config)
    }
}

/// How a type reaches TypeScript: a function that names it and collects its declarations.
#[derive(Clone, Copy)]
pub struct TypeForm(fn(&mut TypeScriptTypes) -> String);

impl TypeForm {
    /// The form of `T`.
    pub const fn of<T: TypeScript + ?Sized>() -> TypeForm {
        TypeForm(T::typescript)
    }

    /// The type's name in TypeScript; the declarations it needs are added to `types`.
    pub fn typescript(self, types: &mut TypeScriptTypes) -> String {
        (self.0)(types)
    }
}

impl fmt::Debug for TypeForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types = TypeScriptTypes::new(TypeScriptFlavor::Json);
        f.write_str(&self.typescript(&mut types))
    }
}

/// Which hub protocol's values the TypeScript types describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeScriptFlavor {
    /// What the JSON protocol delivers: timestamps are ISO-8601 strings, binary is base64.
    Json,
    /// What the MessagePack protocol delivers: timestamps are `Date`s, binary is `Uint8Array`.
    MessagePack,
}

/// One declared type (a struct, an enum, an alias).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The name declared (`ChatMessage`).
    pub name: String,
    /// TSDoc from the type's doc comment (`/** ... */`), or empty.
    pub docs: String,
    /// `type ChatMessage = { ... };`, without `export`.
    pub declaration: String,
}

/// The declarations the named types need, collected while naming them.
pub struct TypeScriptTypes {
    flavor: TypeScriptFlavor,
    config: Config,
    seen: HashSet<TypeId>,
    declarations: BTreeMap<String, Declaration>,
}

impl TypeScriptTypes {
    /// An empty collection for `flavor`.
    pub fn new(flavor: TypeScriptFlavor) -> Self {
        Self {
            flavor,
            // 64-bit integers are JSON numbers and MessagePack integers: `number` in JavaScript.
            config: Config::new().with_large_int("number"),
            seen: HashSet::new(),
            declarations: BTreeMap::new(),
        }
    }

    /// The flavor the types are written for.
    pub fn flavor(&self) -> TypeScriptFlavor {
        self.flavor
    }

    /// The declarations collected, ordered by name.
    pub fn declarations(&self) -> impl Iterator<Item = &Declaration> {
        self.declarations.values()
    }

    fn declare(&mut self, name: String, docs: Option<String>, declaration: String) {
        let docs = docs.unwrap_or_default().trim_end().to_string();
        self.declarations.insert(
            name.clone(),
            Declaration {
                name,
                docs,
                declaration,
            },
        );
    }

    /// The declaration of a type whose form depends on the protocol.
    fn protocol_form<T: 'static + ?Sized>(&self) -> Option<(&'static str, &'static str)> {
        let messagepack = self.flavor == TypeScriptFlavor::MessagePack;
        let id = TypeId::of::<T>();
        if id == TypeId::of::<Timestamp>() {
            Some(if messagepack {
                ("Date", TIMESTAMP_MSGPACK)
            } else {
                ("string", TIMESTAMP_JSON)
            })
        } else if id == TypeId::of::<Binary>() {
            Some(if messagepack {
                ("Uint8Array", BINARY_MSGPACK)
            } else {
                ("string", BINARY_JSON)
            })
        } else if id == TypeId::of::<Guid>() {
            Some(("string", GUID))
        } else {
            None
        }
    }
}

const TIMESTAMP_JSON: &str = "A point in time: an ISO-8601 string in the JSON protocol.";
const TIMESTAMP_MSGPACK: &str = "A point in time: a `Date` in the MessagePack protocol.";
const BINARY_JSON: &str = "Binary data: a base64 string in the JSON protocol.";
const BINARY_MSGPACK: &str = "Binary data: a `Uint8Array` in the MessagePack protocol.";
const GUID: &str = "A GUID: its 36-character string in both protocols.";

impl TypeVisitor for TypeScriptTypes {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if let Some((form, docs)) = self.protocol_form::<T>() {
            if self.seen.insert(TypeId::of::<T>()) {
                let name = T::ident(&self.config);
                let declaration = format!("type {name} = {form};");
                self.declare(name, Some(format!("/** {docs} */")), declaration);
            }
            return;
        }
        // Declared types (derived `TS`) have an output path; wrappers such as `Vec<T>` and
        // `Option<T>` only lead to the types inside them.
        if T::output_path().is_some() {
            if !self.seen.insert(TypeId::of::<T::WithoutGenerics>()) {
                return;
            }
            self.declare(T::ident(&self.config), T::docs(), T::decl(&self.config));
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

macro_rules! protocol_dependent {
    ($ty:ty, $name:literal) => {
        impl TS for $ty {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;

            fn name(_: &Config) -> String {
                $name.to_string()
            }
            fn inline(_: &Config) -> String {
                $name.to_string()
            }
            fn decl(_: &Config) -> String {
                // Declared by `TypeScriptTypes`, which knows the protocol.
                format!("type {} = unknown;", $name)
            }
            fn decl_concrete(cfg: &Config) -> String {
                Self::decl(cfg)
            }
            fn output_path() -> Option<std::path::PathBuf> {
                Some(concat!($name, ".ts").into())
            }
        }
    };
}

protocol_dependent!(Timestamp, "Timestamp");
protocol_dependent!(Binary, "Binary");
protocol_dependent!(Guid, "Guid");
