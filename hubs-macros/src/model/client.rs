//! A `#[hub_client]` trait as plain data.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{ItemTrait, ReturnType, TraitItem, TraitItemFn, Type};

use super::{Auth, Function, Output, Role, WireName, read_params};
use crate::attr;
use crate::ctxt::Ctxt;

pub(crate) struct ClientModel {
    pub(crate) ident: syn::Ident,
    /// The trait's doc comment lines.
    pub(crate) docs: Vec<String>,
    pub(crate) generics: syn::Generics,
    pub(crate) supertraits: syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    /// Items other than functions (not allowed; kept for placing errors).
    pub(crate) other_items: Vec<TokenStream>,
    /// The client methods, in source order.
    pub(crate) methods: Vec<Function>,
}

impl ClientModel {
    /// Reads `item`, taking the helper attributes off it.
    pub(crate) fn from_item(cx: &Ctxt, item: &mut ItemTrait) -> ClientModel {
        let mut other_items = Vec::new();
        let mut methods = Vec::new();
        for trait_item in &mut item.items {
            match trait_item {
                TraitItem::Fn(function) => methods.push(read_method(cx, function)),
                other => other_items.push(other.to_token_stream()),
            }
        }
        ClientModel {
            ident: item.ident.clone(),
            docs: attr::doc_lines(&item.attrs),
            generics: item.generics.clone(),
            supertraits: item.supertraits.clone(),
            other_items,
            methods,
        }
    }
}

fn read_method(cx: &Ctxt, function: &mut TraitItemFn) -> Function {
    let rename = attr::take_method_attr(cx, &mut function.attrs).name;
    // Taken off so the check can say they do not belong here.
    let auth = Auth::take(cx, &mut function.attrs);
    let docs = attr::doc_lines(&function.attrs);
    let params = read_params(&mut function.sig, false);
    // A return type makes a client result: the server awaits the value the client returns.
    let output = match &function.sig.output {
        ReturnType::Type(_, ty) if !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) => {
            Output::Value(ty.clone())
        }
        _ => Output::Unit,
    };
    let ident = function.sig.ident.clone();
    Function {
        wire: WireName::new(&ident, rename),
        ident,
        role: Role::ClientMethod,
        docs,
        sig: function.sig.clone(),
        client_body: function.default.clone(),
        params,
        output,
        auth,
    }
}
