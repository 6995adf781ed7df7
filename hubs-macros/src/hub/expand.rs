//! Code generation for `#[hub]`, from the model only: the `Hub` impl with the method table,
//! argument binding and the lifecycle hooks.
//!
//! Every path is absolute (`::core::..`, `::hubs::..`), so the code compiles under
//! `#![no_implicit_prelude]`. Checks the compiler makes for us are spanned on the user's
//! tokens (`quote_spanned!`), so a trait error lands on the offending type or method.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::{Hook, HubModel, Method, Output, Param, span_of};

pub(crate) fn expand(model: &HubModel) -> TokenStream {
    let self_ty = &model.self_ty;
    let descriptors = model.methods.iter().map(|m| {
        let name = &m.wire_name;
        let arguments = m.argument_count();
        let uploads = m.upload_count();
        let streaming = matches!(m.output, Output::Stream(_));
        quote!(::hubs::__private::MethodDescriptor {
            name: #name,
            arguments: #arguments,
            uploads: #uploads,
            streaming: #streaming,
            authorize: &[],
            allow_anonymous: false,
        })
    });
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
        .methods
        .iter()
        .enumerate()
        .map(|(index, m)| invoke_arm(index, m));
    let on_connected = model.on_connected.as_ref().map(connected_hook);
    let on_disconnected = model.on_disconnected.as_ref().map(disconnected_hook);
    quote! {
        const _: () = {
            #client_check

            impl ::hubs::__private::Hub for #self_ty {
                const METHODS: &'static [::hubs::__private::MethodDescriptor] = &[#(#descriptors),*];

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
        };
    }
}

/// The call's arguments: `&__ctx` for context parameters, bound values otherwise.
fn call_arguments(params: &[Param]) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut bindings = Vec::new();
    let mut call = Vec::new();
    let mut index = 0usize;
    for param in params {
        match param {
            Param::Context => call.push(quote!(&__ctx)),
            Param::Upload(ty) => {
                let var = format_ident!("__upload{}", call.len());
                bindings.push(quote_spanned! {span_of(ty)=>
                    let #var: #ty = __bindings.upload()?;
                });
                call.push(quote!(#var));
            }
            Param::Argument(ty) => {
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

fn invoke_arm(index: usize, method: &Method) -> TokenStream {
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
        Output::Result(ty) => quote_spanned! {span_of(ty)=>
            ::hubs::__private::method_result(&__ctx, __value)
        },
        Output::Stream(stream) => {
            // The whole call, its argument included, is spanned on the item type, so an item
            // (or an item's error) that does not convert is reported there.
            let span = span_of(&stream.item);
            let forward = |value: &str| {
                let value = syn::Ident::new(value, span);
                if stream.fallible_items {
                    quote_spanned!(span=> ::hubs::__private::forward_fallible_stream(&__ctx, #value).await)
                } else {
                    quote_spanned!(span=> ::hubs::__private::forward_stream(&__ctx, #value).await)
                }
            };
            match &stream.method_error {
                Some(error) => {
                    let forward = forward("__stream");
                    // Spanned on `E` of `Result<impl Stream, E>`, where a missing conversion
                    // is reported.
                    let convert = quote_spanned! {span_of(error)=>
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

/// Calls a hook; `with_error` passes `__error` to its argument (`on_disconnected`).
fn hook_call(hook: &Hook, with_error: bool) -> TokenStream {
    let ident = &hook.ident;
    let args = hook.params.iter().map(|p| match p {
        Param::Context => quote!(&__ctx),
        // Spanned on the parameter's type, so a wrong type is reported there.
        Param::Argument(ty) if with_error => {
            syn::Ident::new("__error", span_of(ty)).into_token_stream()
        }
        Param::Argument(_) | Param::Upload(_) => TokenStream::new(),
    });
    quote_spanned!(ident.span()=> __hub.#ident(#(#args),*).await)
}

fn connected_hook(hook: &Hook) -> TokenStream {
    let call = hook_call(hook, false);
    let result = match &hook.output {
        Output::Unit => quote!({
            let () = __value;
            ::core::result::Result::Ok(())
        }),
        Output::Result(ty) | Output::Value(ty) => quote_spanned! {span_of(ty)=>
            ::hubs::__private::hook_result(__value)
        },
        Output::Stream(stream) => quote_spanned! {span_of(&stream.item)=>
            ::hubs::__private::hook_result(__value)
        },
    };
    let future = quote_spanned! {hook.ident.span()=>
        ::hubs::__private::boxed(async move {
            let __value = #call;
            #result
        })
    };
    quote! {
        fn on_connected(
            __hub: &::hubs::__private::Arc<Self>,
            __ctx: ::hubs::Context,
        ) -> ::hubs::__private::BoxFuture<'static, ::core::result::Result<(), ::hubs::HubError>> {
            let __hub = <::hubs::__private::Arc<Self> as ::core::clone::Clone>::clone(__hub);
            #future
        }
    }
}

fn disconnected_hook(hook: &Hook) -> TokenStream {
    let call = hook_call(hook, true);
    // Nothing can be sent any more, so an error is only logged.
    let result = match &hook.output {
        Output::Unit => quote!(let () = __value;),
        Output::Result(ty) | Output::Value(ty) => quote_spanned! {span_of(ty)=>
            ::hubs::__private::log_hook_error("on_disconnected", ::hubs::__private::hook_result(__value));
        },
        Output::Stream(stream) => quote_spanned! {span_of(&stream.item)=>
            ::hubs::__private::log_hook_error("on_disconnected", ::hubs::__private::hook_result(__value));
        },
    };
    let future = quote_spanned! {hook.ident.span()=>
        ::hubs::__private::boxed(async move {
            let __value = #call;
            #result
        })
    };
    quote! {
        fn on_disconnected(
            __hub: &::hubs::__private::Arc<Self>,
            __ctx: ::hubs::Context,
            __error: ::core::option::Option<::hubs::HubError>,
        ) -> ::hubs::__private::BoxFuture<'static, ()> {
            let __hub = <::hubs::__private::Arc<Self> as ::core::clone::Clone>::clone(__hub);
            #future
        }
    }
}
