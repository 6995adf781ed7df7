//! Procedural macros of `hubs`. Use them through the `hubs` crate, which re-exports them.
//!
//! Layout: `attr/` reads attribute grammar; `model/` holds the hub and client as plain data;
//! `check.rs` holds every rule once; `expand/` generates code, one file per output;
//! `pipeline.rs` runs those stages for each macro.

mod attr;
mod case;
mod check;
mod ctxt;
mod expand;
mod model;
mod pipeline;

use proc_macro::TokenStream;

/// Turns an `impl` block into a hub. See the `hubs` crate documentation.
#[proc_macro_attribute]
pub fn hub(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::hub(args.into(), input.into()).into()
}

/// Turns a trait into typed client proxies. See the `hubs` crate documentation.
#[proc_macro_attribute]
pub fn hub_client(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::hub_client(args.into(), input.into()).into()
}

/// Requires an authorized caller.
#[proc_macro_attribute]
pub fn authorize(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::helper_outside_hub(attr::AUTHORIZE, args.into(), input.into()).into()
}

/// Lets anyone connected call one method of an `#[authorize]` hub.
#[proc_macro_attribute]
pub fn allow_anonymous(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::helper_outside_hub(attr::ALLOW_ANONYMOUS, args.into(), input.into()).into()
}
