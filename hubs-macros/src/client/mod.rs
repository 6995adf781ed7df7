//! `#[hub_client]`: a trait of client methods -> typed proxies for every client target.

mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::ctxt::Ctxt;

pub(crate) fn hub_client(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: syn::ItemTrait = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            return syn::Error::new_spanned(
                &input,
                "#[hub_client] goes on a trait whose `async fn`s are the methods clients handle",
            )
            .to_compile_error();
        }
    };
    let cx = Ctxt::new();
    if !args.is_empty() {
        cx.error_spanned_by(
            &args,
            "#[hub_client] takes no arguments; rename methods with #[method(name = \"...\")]",
        );
    }
    let model = model::ClientModel::from_item(&cx, &mut item);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::expand(&model, item),
        (Err(errors), _) => {
            let mut out = item.into_token_stream();
            out.extend(errors.to_compile_error());
            out
        }
        (Ok(()), None) => item.into_token_stream(),
    }
}
