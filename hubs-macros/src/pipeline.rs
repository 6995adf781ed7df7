//! Each macro's stages, in order: parse the item, read the attributes (`attr/`), build the model
//! (`model/`), check every rule (`check.rs`), generate code (`expand/`). On an error the user's
//! item goes out unchanged (minus the helper attributes the model took off) beside the
//! `compile_error!`s, so code using it still type-checks and the real mistake is the one shown.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

use crate::attr::{self, ALLOW_ANONYMOUS, AUTHORIZE};
use crate::check;
use crate::ctxt::Ctxt;
use crate::expand;
use crate::model::client::ClientModel;
use crate::model::hub::HubModel;

/// `#[hub]`.
pub(crate) fn hub(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: syn::ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &input,
                "#[hub] goes on an `impl MyHub { ... }` block whose `pub async fn`s are the hub methods",
            );
            return unchanged(input, error);
        }
    };
    let cx = Ctxt::new();
    let hub_attr = attr::hub_args(&cx, args);
    let model = HubModel::from_item(&cx, &mut item, hub_attr);
    check::hub(&cx, &model);
    let generated = match cx.check() {
        Ok(()) => expand::hub(&model),
        Err(errors) => {
            // Without the `Hub` impl, but still naming the attributes `#[hub]` took off, so
            // their imports do not add "unused" warnings to the errors.
            let uses = expand::attribute_uses(&model);
            let mut out = errors.to_compile_error();
            out.extend(quote!(const _: () = { #uses };));
            out
        }
    };
    let mut out = item.into_token_stream();
    out.extend(generated);
    out
}

/// `#[hub_client]`.
pub(crate) fn hub_client(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: syn::ItemTrait = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &input,
                "#[hub_client] goes on a trait whose `async fn`s are the methods clients handle",
            );
            return unchanged(input, error);
        }
    };
    let cx = Ctxt::new();
    if !args.is_empty() {
        cx.error_spanned_by(
            &args,
            "#[hub_client] takes no arguments; rename methods with #[method(name = \"...\")]",
        );
    }
    let model = ClientModel::from_item(&cx, &mut item);
    check::client(&cx, &model);
    match cx.check() {
        Ok(()) => expand::client(&model, item),
        Err(errors) => unchanged(item.into_token_stream(), errors),
    }
}

/// `#[authorize]` or `#[allow_anonymous]` (`name`) where `#[hub]` did not take it off: above
/// `#[hub]` it moves below it, so `#[hub]` reads it with the rest; anywhere else it is an error.
pub(crate) fn helper_outside_hub(name: &str, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => return unchanged(input, outside_hub(name, None)),
    };
    if let syn::Item::Impl(imp) = &mut item
        && let Some(at) = imp.attrs.iter().position(|a| attr::is_named(a, "hub"))
    {
        let ident = syn::Ident::new(name, Span::call_site());
        let args = (!args.is_empty()).then(|| quote!((#args)));
        imp.attrs
            .insert(at + 1, syn::parse_quote!(#[::hubs::#ident #args]));
        return imp.into_token_stream();
    }
    let error = outside_hub(name, Some(&item));
    unchanged(item.into_token_stream(), error)
}

/// The error for a helper attribute outside a `#[hub]` impl, with a fix for the item it is on.
fn outside_hub(name: &str, item: Option<&syn::Item>) -> syn::Error {
    let fix = match (name, item) {
        (AUTHORIZE, Some(syn::Item::Impl(_))) => {
            "add #[hub] to this impl block: only a hub's connections and calls are authorized"
                .to_string()
        }
        (_, Some(syn::Item::Fn(f))) if f.sig.receiver().is_some() => format!(
            "put #[hub] on the impl block that holds `{}`{}",
            f.sig.ident,
            if name == ALLOW_ANONYMOUS {
                ", and #[authorize] on that impl"
            } else {
                ""
            }
        ),
        (_, Some(syn::Item::Fn(f))) => format!(
            "a free function is not a hub method: move `{}` into a #[hub] impl block as `pub async fn {}(&self, ...)`",
            f.sig.ident, f.sig.ident
        ),
        (ALLOW_ANONYMOUS, Some(syn::Item::Impl(_))) => {
            "it opens one method of an #[authorize] hub: put it on that method".to_string()
        }
        _ => "move it there".to_string(),
    };
    let place = if name == AUTHORIZE {
        "a #[hub] impl block or a method inside one"
    } else {
        "a method inside a #[hub] impl block"
    };
    syn::Error::new(
        Span::call_site(),
        format!("#[{name}] only works on {place}, where #[hub] reads it; {fix}"),
    )
}

/// The user's item as it is, followed by the errors.
fn unchanged(mut item: TokenStream, errors: syn::Error) -> TokenStream {
    item.extend(errors.to_compile_error());
    item
}
