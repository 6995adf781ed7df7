//! Code generation for `#[hub_client]`: default bodies that send each call, and a blanket
//! impl so every client target (all, caller, group, ...) has the typed methods.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemTrait, TraitItem};

use super::model::ClientModel;

pub(crate) fn expand(model: &ClientModel, mut item: ItemTrait) -> TokenStream {
    item.supertraits
        .push(syn::parse_quote!(::hubs::ClientTarget));
    let mut methods = model.methods.iter();
    for trait_item in &mut item.items {
        let TraitItem::Fn(function) = trait_item else {
            continue;
        };
        let Some(method) = methods.next() else { break };
        let wire_name = &method.wire_name;
        let names: Vec<_> = method.params.iter().map(|(name, _)| name).collect();
        // A parameter that does not serialize is reported on its own type.
        let checks = method.params.iter().map(|(name, ty)| {
            quote_spanned! {ty.span()=> ::hubs::__private::assert_argument(&#name);}
        });
        function.sig.asyncness = None;
        // An async block, so the future's type names each borrowed input on its own.
        match &method.output {
            None => {
                function.sig.output = syn::parse_quote! {
                    -> impl ::core::future::Future<Output = ::core::result::Result<(), ::hubs::SendError>> + ::core::marker::Send
                };
                function.default = Some(syn::parse_quote!({
                    #(#checks)*
                    async move {
                        ::hubs::ClientTarget::send_arguments(self, #wire_name, (#(#names,)*)).await
                    }
                }));
            }
            Some(output) => {
                // A client result: only single-connection targets can answer, so the method
                // exists only where `Self: ClientResultTarget`.
                function.sig.output = syn::parse_quote! {
                    -> impl ::core::future::Future<Output = ::core::result::Result<#output, ::hubs::HubError>> + ::core::marker::Send
                };
                let where_clause = function.sig.generics.make_where_clause();
                where_clause
                    .predicates
                    .push(syn::parse_quote!(Self: ::hubs::ClientResultTarget));
                let result_check = quote_spanned! {output.span()=>
                    ::hubs::__private::assert_client_result::<#output>();
                };
                function.default = Some(syn::parse_quote!({
                    #(#checks)*
                    #result_check
                    async move {
                        ::hubs::ClientResultTarget::invoke_arguments::<#output, _>(self, #wire_name, (#(#names,)*)).await
                    }
                }));
            }
        }
        function.semi_token = None;
    }
    let ident = &item.ident;
    quote! {
        #item

        impl<__T: ::hubs::ClientTarget + ?::core::marker::Sized> #ident for __T {}
    }
}
