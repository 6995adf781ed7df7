//! Code generation for the lifecycle hooks `on_connected` and `on_disconnected`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use super::span_of;
use crate::model::{Function, Output, ParamKind};

/// Calls a hook; `with_error` passes `__error` to its argument (`on_disconnected`).
fn hook_call(hook: &Function, with_error: bool) -> TokenStream {
    let ident = &hook.ident;
    let args = hook.params.iter().map(|p| match p.kind {
        ParamKind::Context => quote!(&__ctx),
        // Spanned on the parameter's type, so a wrong type is reported there.
        ParamKind::Argument if with_error => {
            syn::Ident::new("__error", span_of(p.ty())).into_token_stream()
        }
        ParamKind::Argument | ParamKind::Upload { .. } => TokenStream::new(),
    });
    quote_spanned!(ident.span()=> __hub.#ident(#(#args),*).await)
}

/// Where a hook's returned type is written (`None` for nothing), so a type that is not
/// `Result<(), E>` is reported there.
fn returned_span(output: &Output) -> Option<Span> {
    match output {
        Output::Unit => None,
        Output::Value(ty) => Some(span_of(ty)),
        Output::Result(result) => Some(span_of(&result.ty)),
        Output::Stream(stream) => Some(span_of(&stream.item)),
    }
}

pub(super) fn connected_hook(hook: &Function) -> TokenStream {
    let call = hook_call(hook, false);
    let result = match returned_span(&hook.output) {
        None => quote!({
            let () = __value;
            ::core::result::Result::Ok(())
        }),
        Some(span) => quote_spanned! {span=>
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

pub(super) fn disconnected_hook(hook: &Function) -> TokenStream {
    let call = hook_call(hook, true);
    // Nothing can be sent any more, so an error is only logged.
    let result = match returned_span(&hook.output) {
        None => quote!(let () = __value;),
        Some(span) => quote_spanned! {span=>
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
