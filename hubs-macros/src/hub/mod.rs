//! `#[hub]`: attribute grammar -> model (with checks) -> generated `Hub` impl.

mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::attr;
use crate::ctxt::Ctxt;

pub(crate) fn hub(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: syn::ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &input,
                "#[hub] goes on an `impl MyHub { ... }` block whose `pub async fn`s are the hub methods",
            );
            // The item goes out unchanged, so code using it reports nothing else.
            let mut out = input;
            out.extend(error.to_compile_error());
            return out;
        }
    };
    let cx = Ctxt::new();
    let hub_attr = attr::hub_args(&cx, args);
    let model = model::HubModel::from_item(&cx, &mut item, hub_attr.client);
    let generated = match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::expand(&model),
        (Err(errors), _) => errors.to_compile_error(),
        (Ok(()), None) => TokenStream::new(),
    };
    // The user's code goes out unchanged (minus helper attributes) so calls into it still
    // type-check and the real mistake is the one reported.
    let mut out = item.into_token_stream();
    out.extend(generated);
    out
}
