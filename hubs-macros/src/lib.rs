//! Procedural macros of `hubs`: `#[hub]`, `#[hub_client]`, `#[authorize]`,
//! `#[allow_anonymous]`. Use them through the `hubs` crate, which re-exports them.
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

#[doc = include_str!("../docs/hub.md")]
#[proc_macro_attribute]
pub fn hub(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::hub(args.into(), input.into()).into()
}

#[doc = include_str!("../docs/hub_client.md")]
#[proc_macro_attribute]
pub fn hub_client(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::hub_client(args.into(), input.into()).into()
}

#[doc = include_str!("../docs/authorize.md")]
#[proc_macro_attribute]
pub fn authorize(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::helper_outside_hub(attr::AUTHORIZE, args.into(), input.into()).into()
}

#[doc = include_str!("../docs/allow_anonymous.md")]
#[proc_macro_attribute]
pub fn allow_anonymous(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::helper_outside_hub(attr::ALLOW_ANONYMOUS, args.into(), input.into()).into()
}
