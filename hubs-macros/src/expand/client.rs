//! Code generation for `#[hub_client]`: default bodies that send each call, and a blanket
//! impl so every client target (all, caller, group, ...) has the typed methods.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemTrait, TraitItem};

use crate::model::Output;
use crate::model::client::ClientModel;

pub(crate) fn expand(model: &ClientModel, mut item: ItemTrait) -> TokenStream {
    item.supertraits
        .push(syn::parse_quote!(::hubs::ClientTarget));
    let mut methods = model.methods.iter();
    for trait_item in &mut item.items {
        let TraitItem::Fn(function) = trait_item else {
            continue;
        };
        let Some(method) = methods.next() else { break };
        let wire_name = &method.wire.name;
        let ident_span = function.sig.ident.span();
        let names: Vec<_> = method.params.iter().filter_map(|p| p.name()).collect();
        // A parameter that does not serialize is reported on its own type.
        let checks = method.params.iter().filter_map(|p| {
            let name = p.name()?;
            Some(quote_spanned! {p.ty().span()=> ::hubs::__private::assert_argument(&#name);})
        });
        function.sig.asyncness = None;
        // An async block, so the future's type names each borrowed input on its own.
        match &method.output {
            // A send (a client model holds only `Unit` and `Value`).
            Output::Unit | Output::Result(_) | Output::Stream(_) => {
                function.sig.output = syn::parse_quote! {
                    -> impl ::core::future::Future<Output = ::core::result::Result<(), ::hubs::SendError>> + ::core::marker::Send
                };
                // Spanned, `.await` included (so the call and its future report once), on the
                // method's name: arguments that do not serialize are reported on the declaration
                // rather than on `#[hub_client]`.
                let send = quote_spanned! {ident_span=>
                    ::hubs::ClientTarget::send_arguments(self, #wire_name, (#(#names,)*)).await
                };
                function.default = Some(syn::parse_quote!({
                    #(#checks)*
                    async move { #send }
                }));
            }
            Output::Value(output) => {
                // A client result: only single-connection targets can answer, so the method
                // exists only where `Self: ClientResultTarget`.
                function.sig.output = syn::parse_quote! {
                    -> impl ::core::future::Future<Output = ::core::result::Result<#output, ::hubs::HubError>> + ::core::marker::Send
                };
                // Spanned on the return type, which is what makes the method a client result:
                // a call on a multi-connection target says so there.
                let where_clause = function.sig.generics.make_where_clause();
                where_clause
                    .predicates
                    .push(syn::parse_quote_spanned! {output.span()=>
                        Self: ::hubs::ClientResultTarget
                    });
                // The check is spanned on the return type, so a result that does not deserialize
                // is reported there; the call on the method's name, as for sends.
                let result_check = quote_spanned! {output.span()=>
                    ::hubs::__private::assert_client_result::<#output>();
                };
                let invoke = quote_spanned! {ident_span=>
                    ::hubs::ClientResultTarget::invoke_arguments::<#output, _>(self, #wire_name, (#(#names,)*)).await
                };
                function.default = Some(syn::parse_quote!({
                    #(#checks)*
                    #result_check
                    async move { #invoke }
                }));
            }
        }
        function.semi_token = None;
    }
    item.items.push(super::describe::client(model));
    let ident = &item.ident;
    quote! {
        #item

        impl<__T: ::hubs::ClientTarget + ?::core::marker::Sized> #ident for __T {}
    }
}
