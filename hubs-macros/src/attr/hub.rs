//! The arguments of `#[hub(...)]` itself.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Meta, MetaNameValue, Token};

use crate::ctxt::Ctxt;

/// What `#[hub(...)]` said.
#[derive(Default)]
pub(crate) struct HubAttr {
    /// `client = ChatClient`: the hub's `#[hub_client]` trait.
    pub(crate) client: Option<syn::Path>,
}

/// Reads `#[hub(client = Path)]`, reporting unknown or repeated keys.
pub(crate) fn hub_args(cx: &Ctxt, tokens: TokenStream) -> HubAttr {
    let mut attr = HubAttr::default();
    if tokens.is_empty() {
        return attr;
    }
    const EXPECTED: &str = "#[hub] takes `client = MyClientTrait` (the hub's #[hub_client] trait), or nothing; a method's wire name is set on the method with #[method(name = \"...\")]";
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens.clone()) {
        Ok(metas) => metas,
        Err(_) => {
            cx.error_spanned_by(tokens, EXPECTED);
            return attr;
        }
    };
    for meta in metas {
        match &meta {
            Meta::NameValue(MetaNameValue {
                path,
                value: Expr::Path(value),
                ..
            }) if path.is_ident("client") => {
                if attr.client.is_some() {
                    cx.error_spanned_by(path, "`client` is given twice in #[hub]; keep one");
                }
                attr.client = Some(value.path.clone());
            }
            Meta::Path(path)
            | Meta::NameValue(MetaNameValue { path, .. })
            | Meta::List(syn::MetaList { path, .. })
                if path.is_ident("client") =>
            {
                cx.error_spanned_by(&meta, "expected `client = MyClientTrait` in #[hub]");
            }
            _ => {
                let key = quote::ToTokens::to_token_stream(meta.path())
                    .to_string()
                    .replace(' ', "");
                cx.error_spanned_by(
                    meta.path(),
                    format!("unknown key `{key}` in #[hub]; {EXPECTED}"),
                );
            }
        }
    }
    attr
}

/// Takes `#[hub(skip)]` off a function of a hub impl: a private helper, not a hub method.
/// Reports any other argument.
pub(crate) fn take_skip(cx: &Ctxt, attrs: &mut Vec<syn::Attribute>) -> bool {
    let mut skip = false;
    attrs.retain(|attr| {
        if !attr.path().is_ident("hub") {
            return true;
        }
        match attr.parse_args::<syn::Ident>() {
            Ok(ident) if ident == "skip" => skip = true,
            _ => {
                cx.error_spanned_by(
                    attr,
                    "on a function of a hub impl, #[hub] only takes `skip`: `#[hub(skip)]` keeps an `async fn` a private helper rather than a hub method",
                );
                // Meant as some kind of marker: no second error about the function itself.
                skip = true;
            }
        }
        false
    });
    skip
}
