//! A `#[hub_client]` trait as plain data, with the rules its methods follow.

use proc_macro2::Span;
use syn::{FnArg, ItemTrait, Pat, ReturnType, TraitItem, TraitItemFn, Type};

use crate::attr;
use crate::case::{WireName, check_unique_wire_names, pascal_case};
use crate::ctxt::Ctxt;

pub(crate) struct ClientModel {
    pub(crate) methods: Vec<ClientMethod>,
}

pub(crate) struct ClientMethod {
    pub(crate) ident: syn::Ident,
    pub(crate) wire_name: String,
    pub(crate) wire_span: Span,
    /// Parameter names and types, after `&self`.
    pub(crate) params: Vec<(syn::Ident, Type)>,
    /// The value the client returns (a client result), if any.
    pub(crate) output: Option<Type>,
}

impl ClientModel {
    /// Reads `item`, strips helper attributes, and reports every rule broken.
    pub(crate) fn from_item(cx: &Ctxt, item: &mut ItemTrait) -> Option<ClientModel> {
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            cx.error_spanned_by(&item.generics, "a #[hub_client] trait cannot be generic: its methods describe fixed client method signatures");
        }
        if !item.supertraits.is_empty() {
            cx.error_spanned_by(&item.supertraits, "a #[hub_client] trait cannot have supertraits: #[hub_client] adds the one it needs");
        }
        let mut methods = Vec::new();
        for trait_item in &mut item.items {
            let TraitItem::Fn(function) = trait_item else {
                cx.error_spanned_by(
                    &*trait_item,
                    "a #[hub_client] trait holds only `async fn` client methods",
                );
                continue;
            };
            let method_attr = attr::take_method_attr(cx, &mut function.attrs);
            if let Some(method) = read_method(cx, function, method_attr) {
                methods.push(method);
            }
        }
        check_wire_names_unique(cx, &methods);
        Some(ClientModel { methods })
    }
}

fn read_method(
    cx: &Ctxt,
    function: &TraitItemFn,
    method_attr: attr::MethodAttr,
) -> Option<ClientMethod> {
    let sig = &function.sig;
    let ident = &sig.ident;
    let mut ok = true;
    // Rule: the macro writes the body (it sends the call); a body of the user's would be ignored.
    if let Some(body) = &function.default {
        cx.error_spanned_by(
            body,
            format!("client method `{ident}` must not have a body: #[hub_client] generates the call; end the declaration with `;`"),
        );
        ok = false;
    }
    // Rule: client methods are awaited, since sending may go through a backplane.
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("client method `{ident}` must be declared `async fn`: callers write `.{ident}(...).await`"),
        );
        ok = false;
    }
    // Rule: the receiver is `&self`, the proxy the call goes through.
    match sig.receiver() {
        Some(r) if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
        Some(r) => {
            cx.error_spanned_by(
                r,
                format!("client method `{ident}` must take `&self`: it is called on a borrowed client target such as `ctx.clients().all()`"),
            );
            ok = false;
        }
        None => {
            cx.error_spanned_by(
                ident,
                format!("client method `{ident}` needs a `&self` receiver: write `async fn {ident}(&self, ...);`, then call it on a client target such as `ctx.clients().all()`"),
            );
            ok = false;
        }
    }
    let type_params = sig
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
    if type_params || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            format!(
                "client method `{ident}` cannot be generic: give each parameter a concrete type"
            ),
        );
        ok = false;
    }
    // A return type makes a client result: the server awaits the value the client returns.
    let output = match &sig.output {
        ReturnType::Type(_, ty) if !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) => {
            Some((**ty).clone())
        }
        _ => None,
    };
    let mut params = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        match &*typed.pat {
            // `impl Trait` would make the method generic in disguise.
            Pat::Ident(_) if matches!(&*typed.ty, Type::ImplTrait(_)) => {
                cx.error_spanned_by(
                    &typed.ty,
                    "client method parameters need a concrete type, not `impl Trait`",
                );
                ok = false;
            }
            Pat::Ident(name) if name.by_ref.is_none() && name.subpat.is_none() => {
                params.push((name.ident.clone(), (*typed.ty).clone()));
            }
            other => {
                cx.error_spanned_by(
                    other,
                    "client method parameters must be plain names (`name: Type`)",
                );
                ok = false;
            }
        }
    }
    let (wire_name, wire_span) = match method_attr.name {
        Some(name) => (name.value(), name.span()),
        None => (pascal_case(&ident.to_string()), ident.span()),
    };
    ok.then(|| ClientMethod {
        ident: ident.clone(),
        wire_name,
        wire_span,
        params,
        output,
    })
}

fn check_wire_names_unique(cx: &Ctxt, methods: &[ClientMethod]) {
    let names: Vec<_> = methods
        .iter()
        .map(|m| WireName {
            ident: &m.ident,
            name: &m.wire_name,
            span: m.wire_span,
        })
        .collect();
    check_unique_wire_names(
        cx,
        &names,
        "client method",
        "JavaScript clients match handler names without regard to case",
    );
}
