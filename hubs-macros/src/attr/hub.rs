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
    /// `json_property_names = "as_declared"`: the `JsonPropertyNames` variant it names.
    pub(crate) json_property_names: Option<syn::Ident>,
}

/// The values of `json_property_names`, with the `JsonPropertyNames` variant each names.
const JSON_PROPERTY_NAMES: &[(&str, &str)] =
    &[("camel_case", "CamelCase"), ("as_declared", "AsDeclared")];

const JSON_PROPERTY_NAMES_HELP: &str = "write `json_property_names = \"camel_case\"` (the default: `user_name` is sent as `userName`, as ASP.NET Core sends it) or `json_property_names = \"as_declared\"` (field names exactly as serde declares them, ASP.NET Core's `PropertyNamingPolicy = null`)";

/// Reads the value of `json_property_names = "..."`.
fn json_property_names(cx: &Ctxt, value: &Expr) -> Option<syn::Ident> {
    let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = value
    else {
        cx.error_spanned_by(
            value,
            format!("expected a string; {JSON_PROPERTY_NAMES_HELP}"),
        );
        return None;
    };
    match JSON_PROPERTY_NAMES
        .iter()
        .find(|(name, _)| *name == text.value())
    {
        Some((_, variant)) => Some(syn::Ident::new(variant, text.span())),
        None => {
            cx.error_spanned_by(
                text,
                format!(
                    "unknown value {:?} for `json_property_names`; {JSON_PROPERTY_NAMES_HELP}",
                    text.value()
                ),
            );
            None
        }
    }
}

/// Reads `#[hub(client = Path)]`, reporting unknown or repeated keys.
pub(crate) fn hub_args(cx: &Ctxt, tokens: TokenStream) -> HubAttr {
    let mut attr = HubAttr::default();
    if tokens.is_empty() {
        return attr;
    }
    const EXPECTED: &str = "#[hub] takes `client = MyClientTrait` (the hub's #[hub_client] trait), `json_property_names = \"as_declared\"` (or \"camel_case\", the default), or nothing; a method's wire name is set on the method with #[method(name = \"...\")]";
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
            Meta::NameValue(MetaNameValue { path, value, .. })
                if path.is_ident("json_property_names") =>
            {
                if attr.json_property_names.is_some() {
                    cx.error_spanned_by(
                        path,
                        "`json_property_names` is given twice in #[hub]; keep one",
                    );
                }
                attr.json_property_names = json_property_names(cx, value);
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
