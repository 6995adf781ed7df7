//! Code generation only, from the model, one file per output: the `Hub` impl (`hub.rs`), its
//! lifecycle hooks (`hooks.rs`), its authorization data (`auth.rs`), and the typed client
//! proxies (`client.rs`), the descriptions `typescript-gen` reads (`describe.rs`).
//!
//! Every path is absolute (`::core::..`, `::hubs::..`), so the code compiles under
//! `#![no_implicit_prelude]`. Checks the compiler makes for us are spanned on the user's tokens
//! (`quote_spanned!`), so a trait error lands on the offending type or method.

mod auth;
mod client;
mod describe;
mod hooks;
mod hub;

pub(crate) use client::expand as client;
pub(crate) use hub::{attribute_uses, expand as hub};

/// The span of a type, for placing trait errors on it (the `Hub` impl's bindings and
/// outputs, and the hooks').
fn span_of(ty: &syn::Type) -> proc_macro2::Span {
    syn::spanned::Spanned::span(ty)
}
