//! Code generation for the hub's description (`DescribeHub`) and the client trait's, read by
//! `typescript-gen`. Wrapped in `hubs::__private::describe!`, which keeps it only when the
//! `typescript` feature of `hubs` is on, so a hub without TypeScript needs no `ts_rs::TS`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;

use super::auth::rules;
use crate::model::client::ClientModel;
use crate::model::hub::HubModel;
use crate::model::{Function, Output, ParamKind};

/// `impl DescribeHub for Hub`, inside `describe!`.
pub(crate) fn hub(model: &HubModel) -> TokenStream {
    let self_ty = &model.self_ty;
    let name = type_name(self_ty);
    let docs = docs(&model.docs);
    let methods = model.methods().map(|m| method(m, true));
    let authorize = rules(&model.auth);
    let client = match &model.client {
        Some(client) => quote_spanned! {client.span()=>
            ::core::option::Option::Some(&<::hubs::ClientProxy<'static> as #client>::__HUBS_DESCRIPTION)
        },
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::hubs::__private::describe! {
            impl ::hubs::__private::DescribeHub for #self_ty {
                const DESCRIPTION: ::hubs::__private::HubDescription = ::hubs::__private::HubDescription {
                    name: #name,
                    docs: #docs,
                    methods: &[#(#methods),*],
                    client: #client,
                    authorize: #authorize,
                    json_property_names: <#self_ty as ::hubs::__private::Hub>::JSON_PROPERTY_NAMES,
                };
            }
        }
    }
}

/// The client trait's `__HUBS_DESCRIPTION` constant (a trait item), inside `describe!`.
pub(crate) fn client(model: &ClientModel) -> syn::TraitItem {
    let name = model.ident.to_string();
    let docs = docs(&model.docs);
    let methods = model.methods.iter().map(|m| method(m, false));
    syn::parse_quote! {
        ::hubs::__private::describe! {
            #[doc(hidden)]
            const __HUBS_DESCRIPTION: ::hubs::__private::ClientDescription = ::hubs::__private::ClientDescription {
                name: #name,
                docs: #docs,
                methods: &[#(#methods),*],
            };
        }
    }
}

fn method(function: &Function, hub: bool) -> TokenStream {
    let name = function.ident.to_string();
    let wire_name = &function.wire.name;
    let method_docs = docs(&function.docs);
    let (kind, result) = match &function.output {
        Output::Unit => (if hub { "Invoke" } else { "FireAndForget" }, None),
        Output::Value(ty) => (if hub { "Invoke" } else { "ClientResult" }, Some(&**ty)),
        Output::Result(result) => ("Invoke", Some(&result.ok)),
        Output::Stream(stream) => (
            "ServerStream",
            Some(stream.item_result.as_ref().map_or(&stream.item, |r| &r.ok)),
        ),
    };
    let kind = syn::Ident::new(kind, proc_macro2::Span::call_site());
    let result = match result.filter(|ty| !is_unit(ty)) {
        Some(ty) => {
            let form = type_form(ty);
            quote!(::core::option::Option::Some(#form))
        }
        None => quote!(::core::option::Option::None),
    };
    let params = function
        .params
        .iter()
        .enumerate()
        .filter_map(|(index, param)| {
            let (ty, upload) = match &param.kind {
                ParamKind::Context => return None,
                ParamKind::Argument => (param.ty(), false),
                ParamKind::Upload { item } => (&**item, true),
            };
            let name = param
                .name()
                .map_or_else(|| format!("arg{index}"), |ident| ident.to_string());
            let name = name.trim_start_matches("r#").to_string();
            let param_docs = docs(&param.docs);
            let form = type_form(ty);
            Some(quote!(::hubs::__private::ParamDescription {
                name: #name,
                docs: #param_docs,
                ty: #form,
                upload: #upload,
            }))
        });
    let authorize = rules(&function.auth);
    let allow_anonymous = !function.auth.allow_anonymous.is_empty();
    quote!(::hubs::__private::MethodDescription {
        name: #name,
        wire_name: #wire_name,
        docs: #method_docs,
        kind: ::hubs::__private::MethodKind::#kind,
        params: &[#(#params),*],
        result: #result,
        authorize: #authorize,
        allow_anonymous: #allow_anonymous,
    })
}

/// `type_form::<T>()`, spanned on the type so a type without a TypeScript form is reported
/// there. Lifetimes left become `'static`: the description is a constant.
fn type_form(mut ty: &syn::Type) -> TokenStream {
    // `&T` reaches clients as `T`, and an error then names `T`.
    while let syn::Type::Reference(reference) = ty {
        ty = &reference.elem;
    }
    let mut ty = ty.clone();
    StaticLifetimes.visit_type_mut(&mut ty);
    quote_spanned!(ty.span()=> ::hubs::__private::type_form::<#ty>())
}

struct StaticLifetimes;

impl VisitMut for StaticLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        *lifetime = syn::Lifetime::new("'static", lifetime.span());
    }

    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(syn::Lifetime::new("'static", reference.and_token.span));
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }
}

fn is_unit(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Tuple(t) if t.elems.is_empty())
}

/// The last segment of the hub's type path (`ChatHub` for `crate::chat::ChatHub`).
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(String::new, |s| s.ident.to_string()),
        other => quote!(#other).to_string(),
    }
}

/// Doc comment lines as one string, each line as written (`/// text` gives ` text`).
fn docs(lines: &[String]) -> String {
    lines.join("\n")
}
