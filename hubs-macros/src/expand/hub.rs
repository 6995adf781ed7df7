//! Code generation for `#[hub]`, from the model only: the `Hub` impl with the method table
//! and argument binding (the hooks are in `hooks.rs`, the authorization data in `auth.rs`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::auth::{rules, uses};
use super::hooks::{connected_hook, disconnected_hook};
use super::span_of;
use crate::model::hub::HubModel;
use crate::model::{Function, Hook, Output, Param, ParamKind};

pub(crate) fn expand(model: &HubModel) -> TokenStream {
    let self_ty = &model.self_ty;
    let descriptors = model.methods().map(|m| {
        let name = &m.wire.name;
        let count =
            |kind: fn(&ParamKind) -> bool| m.params.iter().filter(|p| kind(&p.kind)).count();
        let arguments = count(|k| matches!(k, ParamKind::Argument));
        let uploads = count(|k| matches!(k, ParamKind::Upload { .. }));
        let streaming = matches!(m.output, Output::Stream(_));
        let authorize = rules(&m.auth);
        let allow_anonymous = !m.auth.allow_anonymous.is_empty();
        quote!(::hubs::__private::MethodDescriptor {
            name: #name,
            arguments: #arguments,
            uploads: #uploads,
            streaming: #streaming,
            authorize: #authorize,
            allow_anonymous: #allow_anonymous,
        })
    });
    let hub_rules = rules(&model.auth);
    let uses = attribute_uses(model);
    let client_check = model.client.as_ref().map(|client| {
        // Fails to compile, on the path the user wrote, unless it names a #[hub_client] trait.
        quote_spanned! {client.span()=>
            #[allow(dead_code)]
            fn hub_client_attribute_must_be_on_the_client_trait<__C: ?::core::marker::Sized + #client>() {}
            #[allow(dead_code)]
            fn check_client() {
                hub_client_attribute_must_be_on_the_client_trait::<::hubs::ClientProxy<'static>>();
            }
        }
    });
    let arms = model
        .methods()
        .enumerate()
        .map(|(index, m)| invoke_arm(index, m));
    let on_connected = model.hook(Hook::Connected).map(connected_hook);
    let on_disconnected = model.hook(Hook::Disconnected).map(disconnected_hook);
    let description = super::describe::hub(model);
    let json_property_names = model.json_property_names.as_ref().map(|variant| {
        quote! {
            const JSON_PROPERTY_NAMES: ::hubs::JsonPropertyNames = ::hubs::JsonPropertyNames::#variant;
        }
    });
    quote! {
        const _: () = {
            #uses
            #client_check

            impl ::hubs::__private::Hub for #self_ty {
                const METHODS: &'static [::hubs::__private::MethodDescriptor] = &[#(#descriptors),*];
                const AUTHORIZE: &'static [::hubs::__private::AuthorizeRule] = #hub_rules;
                #json_property_names

                #[allow(unused_variables, unreachable_code)]
                fn invoke(
                    __hub: &::hubs::__private::Arc<Self>,
                    __method: usize,
                    __ctx: ::hubs::Context,
                    __bindings: &mut ::hubs::__private::Bindings<'_>,
                ) -> ::core::result::Result<::hubs::__private::MethodFuture, ::hubs::__private::ArgumentError> {
                    match __method {
                        #(#arms)*
                        _ => ::core::unreachable!("the dispatcher only passes indexes of METHODS"),
                    }
                }

                #on_connected
                #on_disconnected
            }

            #description
        };
    }
}

/// Names the authorization attributes' paths, so imports of them count as used.
pub(crate) fn attribute_uses(model: &HubModel) -> TokenStream {
    uses(std::iter::once(&model.auth).chain(model.functions.iter().map(|f| &f.auth)))
}

/// The call's arguments: `&__ctx` for context parameters, bound values otherwise.
fn call_arguments(params: &[Param]) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut bindings = Vec::new();
    let mut call = Vec::new();
    let mut index = 0usize;
    for param in params {
        let ty = param.ty();
        match param.kind {
            ParamKind::Context => call.push(quote!(&__ctx)),
            ParamKind::Upload { .. } => {
                let var = format_ident!("__upload{}", call.len());
                bindings.push(quote_spanned! {span_of(ty)=>
                    let #var: #ty = __bindings.upload()?;
                });
                call.push(quote!(#var));
            }
            ParamKind::Argument => {
                let var = format_ident!("__arg{}", index);
                // Spanned on the type so a missing Deserialize impl points at the parameter.
                bindings.push(quote_spanned! {span_of(ty)=>
                    let #var: #ty = __bindings.argument::<#ty>(#index)?;
                });
                call.push(quote!(#var));
                index += 1;
            }
        }
    }
    (bindings, call)
}

fn invoke_arm(index: usize, method: &Function) -> TokenStream {
    let ident = &method.ident;
    let (bindings, call) = call_arguments(&method.params);
    let result = match &method.output {
        Output::Unit => quote!({
            let () = __value;
            ::hubs::__private::encode_result(&__ctx, &())
        }),
        Output::Value(ty) => quote_spanned! {span_of(ty)=>
            ::hubs::__private::encode_result(&__ctx, &__value)
        },
        Output::Result(result) => quote_spanned! {span_of(&result.ty)=>
            ::hubs::__private::method_result(&__ctx, __value)
        },
        Output::Stream(stream) => {
            // The whole call, its argument included, is spanned on the item type, so an item
            // (or an item's error) that does not convert is reported there.
            let span = span_of(&stream.item);
            let forward = |value: &str| {
                let value = syn::Ident::new(value, span);
                if stream.item_result.is_some() {
                    quote_spanned!(span=> ::hubs::__private::forward_fallible_stream(&__ctx, #value).await)
                } else {
                    quote_spanned!(span=> ::hubs::__private::forward_stream(&__ctx, #value).await)
                }
            };
            match &stream.method_result {
                Some(result) => {
                    let forward = forward("__stream");
                    // Spanned on `E` of `Result<impl Stream, E>`, where a missing conversion
                    // is reported.
                    let convert = quote_spanned! {span_of(result.error_or_whole())=>
                        ::core::convert::Into::<::hubs::HubError>::into(__error)
                    };
                    quote! {
                        match __value {
                            ::core::result::Result::Ok(__stream) => #forward,
                            ::core::result::Result::Err(__error) => ::core::result::Result::Err(#convert),
                        }
                    }
                }
                None => forward("__value"),
            }
        }
    };
    // Spanned on the method's name, so a future that is not `Send` is reported there.
    let future = quote_spanned! {ident.span()=>
        ::hubs::__private::boxed(async move {
            let __value = __hub.#ident(#(#call),*).await;
            #result
        })
    };
    quote! {
        #index => {
            #(#bindings)*
            let __hub = <::hubs::__private::Arc<Self> as ::core::clone::Clone>::clone(__hub);
            ::core::result::Result::Ok(#future)
        }
    }
}
