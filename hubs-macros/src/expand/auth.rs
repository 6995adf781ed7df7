//! Code generation for the authorization data: one `AuthorizeRule` per `#[authorize]`, for
//! `Hub::AUTHORIZE` and each `MethodDescriptor`. The runtime enforces them.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::Auth;

/// `use authorize as _;` for each attribute path the hub's impl and methods were written with,
/// so their imports count as used (`#[hub]` took the attributes off before the compiler saw
/// them).
pub(super) fn uses<'a>(auths: impl Iterator<Item = &'a Auth>) -> TokenStream {
    let mut seen = Vec::new();
    for path in auths.flat_map(|auth| &auth.paths) {
        let written = quote!(#path).to_string();
        if !seen.iter().any(|(w, _)| *w == written) {
            seen.push((written, path));
        }
    }
    // Spanned on the path, so an attribute that was never imported is reported where it is
    // written.
    let uses = seen
        .into_iter()
        .map(|(_, path)| quote_spanned!(path.span()=> #[allow(unused_imports)] use #path as _;));
    quote!(#(#uses)*)
}

/// `&[AuthorizeRule { roles: &["Admin", "Manager"], policy: Some("Name") }, ...]`.
pub(super) fn rules(auth: &Auth) -> TokenStream {
    let rules = auth.rules.iter().map(|rule| {
        let roles = rule.roles.iter().flat_map(|roles| &roles.names);
        let policy = match &rule.policy {
            Some(policy) => quote!(::core::option::Option::Some(#policy)),
            None => quote!(::core::option::Option::None),
        };
        quote!(::hubs::__private::AuthorizeRule {
            roles: &[#(#roles),*],
            policy: #policy,
        })
    });
    quote!(&[#(#rules),*])
}
