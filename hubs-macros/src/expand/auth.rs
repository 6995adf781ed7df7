//! Code generation for the authorization data: one `AuthorizeRule` per `#[authorize]`, for
//! `Hub::AUTHORIZE` and each `MethodDescriptor`. The runtime enforces them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Auth;

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
