//! A `#[hub]` impl block as plain data.

use syn::{ImplItem, ImplItemFn, ItemImpl, ReturnType, Type, Visibility};

use super::types::{result_types, stream_item};
use super::{Auth, Function, Hook, Output, ResultType, Role, StreamOutput, WireName, read_params};
use crate::attr::{self, HubAttr};
use crate::ctxt::Ctxt;

pub(crate) struct HubModel {
    pub(crate) self_ty: Type,
    /// `impl Trait for Hub`: not a hub (a rule in `check.rs`).
    pub(crate) trait_impl: Option<syn::Path>,
    pub(crate) generics: syn::Generics,
    /// The `#[hub_client]` trait named by `#[hub(client = ...)]`.
    pub(crate) client: Option<syn::Path>,
    /// `#[hub(json_property_names = "...")]`: the `JsonPropertyNames` variant, if given.
    pub(crate) json_property_names: Option<syn::Ident>,
    /// `#[authorize]` on the impl: required to connect and to call any method.
    pub(crate) auth: Auth,
    /// Every function of the impl, in source order.
    pub(crate) functions: Vec<Function>,
    /// The impl block's doc comment lines.
    pub(crate) docs: Vec<String>,
}

impl HubModel {
    /// Reads `item`, taking the helper attributes off it.
    pub(crate) fn from_item(cx: &Ctxt, item: &mut ItemImpl, hub_attr: HubAttr) -> HubModel {
        let auth = Auth::take(cx, &mut item.attrs);
        let mut functions = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(function) = impl_item {
                functions.push(read_function(cx, function));
            }
        }
        HubModel {
            self_ty: (*item.self_ty).clone(),
            trait_impl: item.trait_.as_ref().map(|(_, path, _)| path.clone()),
            generics: item.generics.clone(),
            client: hub_attr.client,
            json_property_names: hub_attr.json_property_names,
            auth,
            functions,
            docs: attr::doc_lines(&item.attrs),
        }
    }

    /// The hub methods, in source order: their index is their index in `Hub::METHODS`.
    pub(crate) fn methods(&self) -> impl Iterator<Item = &Function> {
        self.functions.iter().filter(|f| f.role == Role::Method)
    }

    pub(crate) fn hook(&self, hook: Hook) -> Option<&Function> {
        self.functions.iter().find(|f| f.role == Role::Hook(hook))
    }
}

fn read_function(cx: &Ctxt, function: &mut ImplItemFn) -> Function {
    let skipped = attr::take_skip(cx, &mut function.attrs);
    let rename = attr::take_method_attr(cx, &mut function.attrs).name;
    let auth = Auth::take(cx, &mut function.attrs);
    let docs = attr::doc_lines(&function.attrs);
    let params = read_params(&mut function.sig, true);
    let ident = function.sig.ident.clone();
    let role = match ident.to_string().as_str() {
        _ if skipped => Role::Skipped,
        "on_connected" => Role::Hook(Hook::Connected),
        "on_disconnected" => Role::Hook(Hook::Disconnected),
        _ if is_hub_method(function) => Role::Method,
        _ => Role::Helper,
    };
    Function {
        wire: WireName::new(&ident, rename),
        ident,
        role,
        docs,
        sig: function.sig.clone(),
        client_body: None,
        params,
        output: read_output(&function.sig.output),
        auth,
    }
}

/// `pub` functions that take `self` or are `async` are hub methods; other functions
/// (constructors, private helpers) stay ordinary Rust.
fn is_hub_method(function: &ImplItemFn) -> bool {
    matches!(function.vis, Visibility::Public(_))
        && (function.sig.receiver().is_some() || function.sig.asyncness.is_some())
}

fn stream_output(ty: &Type, method_result: Option<ResultType>) -> Option<Output> {
    let item = stream_item(ty)?;
    Some(Output::Stream(Box::new(StreamOutput {
        item: item.clone(),
        item_result: ResultType::read(item),
        method_result,
    })))
}

fn read_output(output: &ReturnType) -> Output {
    let ReturnType::Type(_, ty) = output else {
        return Output::Unit;
    };
    if let Some(stream) = stream_output(ty, None) {
        return stream;
    }
    if let Some((ok, _)) = result_types(ty)
        && let Some(stream) = stream_output(ok, ResultType::read(ty))
    {
        return stream;
    }
    match &**ty {
        Type::Tuple(t) if t.elems.is_empty() => Output::Unit,
        other => match ResultType::read(other) {
            Some(result) => Output::Result(Box::new(result)),
            None => Output::Value(Box::new(other.clone())),
        },
    }
}
