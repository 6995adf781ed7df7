//! Attribute grammar only: tokens -> typed attribute values. Each reader reports malformed,
//! unknown and repeated keys (listing the allowed ones); rules about the item they sit on live
//! in `check.rs`.

mod auth;
mod hub;
mod method;

pub(crate) use auth::{AuthAttrs, take_auth_attrs};
pub(crate) use hub::{HubAttr, hub_args, take_skip};
pub(crate) use method::take_method_attr;

use syn::Attribute;

/// The exported helper attributes, recognized by the last segment of their path, so
/// `#[authorize]` and `#[hubs::authorize]` both count.
pub(crate) const AUTHORIZE: &str = "authorize";
pub(crate) const ALLOW_ANONYMOUS: &str = "allow_anonymous";

/// Whether `attr` is `#[name]`, `#[path::to::name]` or one of those with arguments.
pub(crate) fn is_named(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// The lines of the doc comments among `attrs` (`///` and `#[doc = "..."]`), as written.
pub(crate) fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }),
                ..
            }) => Some(s.value()),
            _ => None,
        })
        .collect()
}

/// Takes the doc comments off a parameter (the compiler rejects them there once the macro is
/// done) and returns their lines.
pub(crate) fn take_param_docs(attrs: &mut Vec<Attribute>) -> Vec<String> {
    let lines = doc_lines(attrs);
    attrs.retain(|attr| !attr.path().is_ident("doc"));
    lines
}
