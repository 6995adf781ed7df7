//! Procedural macros of `hubs`. Use them through the `hubs` crate, which documents them.

mod attr;
mod case;
mod ctxt;
mod hub;

use proc_macro::TokenStream;

/// Turns an `impl` block into a hub. See the `hubs` crate documentation.
#[proc_macro_attribute]
pub fn hub(args: TokenStream, input: TokenStream) -> TokenStream {
    hub::hub(args.into(), input.into()).into()
}
