//! `#[method(name = "WireName")]` on a hub or client method.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, MetaNameValue, Token};

use crate::ctxt::Ctxt;

/// What a `#[method(...)]` helper said.
#[derive(Default)]
pub(crate) struct MethodAttr {
    /// `name = "WireName"`.
    pub(crate) name: Option<LitStr>,
}

/// Takes the `#[method(...)]` helpers off a method, returning what they said.
pub(crate) fn take_method_attr(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> MethodAttr {
    let mut result = MethodAttr::default();
    let mut found = false;
    attrs.retain(|attr| {
        if !attr.path().is_ident("method") {
            return true;
        }
        if found {
            cx.error_spanned_by(attr, "only one #[method(...)] per hub method; merge them");
        }
        found = true;
        let tokens = match &attr.meta {
            Meta::List(list) => list.tokens.clone(),
            other => {
                cx.error_spanned_by(other, "expected #[method(name = \"WireName\")]");
                return false;
            }
        };
        for (key, value) in name_values(cx, "#[method(...)]", &["name"], tokens) {
            if key == "name" {
                result.name = Some(value);
            }
        }
        false
    });
    result
}

/// Reads `key = "value"` pairs, reporting unknown or repeated keys.
fn name_values(
    cx: &Ctxt,
    what: &str,
    allowed: &[&str],
    tokens: TokenStream,
) -> Vec<(syn::Ident, LitStr)> {
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(e) => {
            cx.syn_error(e);
            return Vec::new();
        }
    };
    let expected = allowed
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut seen: Vec<(syn::Ident, LitStr)> = Vec::new();
    for meta in metas {
        let Some(key) = meta.path().get_ident().cloned() else {
            cx.error_spanned_by(
                meta.path(),
                format!("unknown key in {what}; expected one of: {expected}"),
            );
            continue;
        };
        if !allowed.iter().any(|a| key == a) {
            cx.error_spanned_by(
                &key,
                format!("unknown key `{key}` in {what}; expected one of: {expected}"),
            );
            continue;
        }
        let value = match &meta {
            Meta::NameValue(MetaNameValue {
                value:
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }),
                ..
            }) => s.clone(),
            _ => {
                cx.error_spanned_by(&meta, format!("expected `{key} = \"...\"` in {what}"));
                continue;
            }
        };
        if seen.iter().any(|(k, _)| *k == key) {
            cx.error_spanned_by(&key, format!("`{key}` is given twice in {what}; keep one"));
            continue;
        }
        seen.push((key, value));
    }
    seen
}
