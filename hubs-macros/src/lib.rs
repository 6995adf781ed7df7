//! Procedural macros of `hubs`. Use them through the `hubs` crate, which documents them.

mod attr;
mod case;
mod client;
mod ctxt;
mod hub;

use proc_macro::TokenStream;

/// Turns an `impl` block into a hub. See the `hubs` crate documentation.
#[proc_macro_attribute]
pub fn hub(args: TokenStream, input: TokenStream) -> TokenStream {
    hub::hub(args.into(), input.into()).into()
}

/// Turns a trait into typed client proxies. See the `hubs` crate documentation.
#[proc_macro_attribute]
pub fn hub_client(args: TokenStream, input: TokenStream) -> TokenStream {
    client::hub_client(args.into(), input.into()).into()
}
