//! The hub as plain data, read from the `impl` block. Each rule a method must follow is a
//! named function below; every violation becomes a spanned error that says how to fix it.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, Pat, ReturnType, Type, Visibility};

use crate::attr;
use crate::case::{WireName, check_unique_wire_names, pascal_case};
use crate::ctxt::Ctxt;

pub(crate) struct HubModel {
    pub(crate) self_ty: Type,
    /// The `#[hub_client]` trait named by `#[hub(client = ...)]`.
    pub(crate) client: Option<syn::Path>,
    pub(crate) methods: Vec<Method>,
    pub(crate) on_connected: Option<Hook>,
    pub(crate) on_disconnected: Option<Hook>,
}

pub(crate) struct Method {
    pub(crate) ident: syn::Ident,
    pub(crate) wire_name: String,
    /// Where the wire name comes from: the rename literal or the Rust name.
    pub(crate) wire_span: Span,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
}

pub(crate) struct Hook {
    pub(crate) ident: syn::Ident,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
}

pub(crate) enum Param {
    /// `&Context`: the calling connection, not sent by the client.
    Context,
    /// A value the client sends, deserialized into `ty`.
    Argument(Box<Type>),
    /// `UploadStream<T>`: a stream the client sends, bound in order to the invocation's streams.
    Upload(Box<Type>),
}

pub(crate) enum Output {
    /// No return type: the Completion carries `null`.
    Unit,
    /// `Result<T, E>`: `Err` becomes an error Completion.
    Result(Type),
    /// Any other type: serialized as the result.
    Value(Type),
    /// `impl Stream<Item = T>`, or a `Result` of one: a streaming method.
    Stream(StreamOutput),
}

pub(crate) struct StreamOutput {
    /// The item type, for placing errors on it.
    pub(crate) item: Type,
    /// Items are `Result<T, E>`: an `Err` ends the stream with an error.
    pub(crate) fallible_items: bool,
    /// The `E` of a method returning `Result<impl Stream, E>`.
    pub(crate) method_error: Option<Box<Type>>,
}

/// What a checked function is, for wording its errors.
#[derive(Clone, Copy)]
enum Kind {
    Method,
    Hook,
}

impl Kind {
    fn describe(self, ident: &syn::Ident) -> String {
        match self {
            Kind::Method => format!("hub method `{ident}`"),
            Kind::Hook => format!("lifecycle hook `{ident}`"),
        }
    }

    /// The signature to write, and for hub methods the way to keep a helper instead.
    fn suggestion(self, ident: &syn::Ident) -> String {
        match self {
            Kind::Method => format!(
                "write `pub async fn {ident}(&self, ...)`, or drop `pub` to keep it a helper that clients cannot call"
            ),
            Kind::Hook => format!("write `async fn {ident}(&self, ...)`"),
        }
    }
}

const CONNECTED: &str = "on_connected";
const DISCONNECTED: &str = "on_disconnected";

impl HubModel {
    /// Reads `item`, strips the helper attributes, and reports every rule broken.
    pub(crate) fn from_item(
        cx: &Ctxt,
        item: &mut ItemImpl,
        client: Option<syn::Path>,
    ) -> Option<HubModel> {
        if let Some((_, path, _)) = &item.trait_ {
            cx.error_spanned_by(
                path,
                "#[hub] goes on an inherent `impl MyHub { ... }` block, not on a trait impl",
            );
            return None;
        }
        if !item.generics.params.is_empty() {
            cx.error_spanned_by(
                &item.generics,
                "a #[hub] impl cannot be generic: one hub type serves one endpoint; put type parameters in the hub's fields instead",
            );
            return None;
        }
        let mut model = HubModel {
            self_ty: (*item.self_ty).clone(),
            client,
            methods: Vec::new(),
            on_connected: None,
            on_disconnected: None,
        };
        for impl_item in &mut item.items {
            let ImplItem::Fn(function) = impl_item else {
                continue;
            };
            let name = function.sig.ident.to_string();
            let method_attr = attr::take_method_attr(cx, &mut function.attrs);
            if name == CONNECTED || name == DISCONNECTED {
                if let Some(rename) = &method_attr.name {
                    cx.error_spanned_by(
                        rename,
                        format!(
                            "`{name}` is a lifecycle hook, not a hub method: it has no wire name"
                        ),
                    );
                }
                let hook = read_hook(cx, function);
                if name == CONNECTED {
                    model.on_connected = hook;
                } else {
                    model.on_disconnected = hook;
                }
                continue;
            }
            if !is_hub_method(function) {
                continue;
            }
            if let Some(method) = read_method(cx, function, method_attr) {
                model.methods.push(method);
            }
        }
        check_wire_names_unique(cx, &model.methods);
        Some(model)
    }
}

/// `pub` functions that take `self` are hub methods; other functions (constructors, private
/// helpers) stay ordinary Rust.
fn is_hub_method(function: &ImplItemFn) -> bool {
    matches!(function.vis, Visibility::Public(_))
        && (function.sig.receiver().is_some() || function.sig.asyncness.is_some())
}

fn read_method(cx: &Ctxt, function: &ImplItemFn, method_attr: attr::MethodAttr) -> Option<Method> {
    let sig = &function.sig;
    let ok = check_async(cx, function, Kind::Method)
        & check_receiver(cx, function, Kind::Method)
        & check_not_generic(cx, function, Kind::Method);
    let params = read_params(cx, function)?;
    let (wire_name, wire_span) = match method_attr.name {
        Some(name) => (name.value(), name.span()),
        None => (pascal_case(&sig.ident.to_string()), sig.ident.span()),
    };
    ok.then(|| Method {
        ident: sig.ident.clone(),
        wire_name,
        wire_span,
        params,
        output: read_output(&sig.output),
    })
}

fn read_hook(cx: &Ctxt, function: &ImplItemFn) -> Option<Hook> {
    let ok = check_async(cx, function, Kind::Hook)
        & check_receiver(cx, function, Kind::Hook)
        & check_not_generic(cx, function, Kind::Hook);
    let params = read_params(cx, function)?;
    let name = function.sig.ident.to_string();
    let mut ok = ok;
    for (param, input) in params.iter().zip(function.sig.inputs.iter().skip(1)) {
        if let Param::Argument(_) = param {
            if name == CONNECTED {
                cx.error_spanned_by(
                    input,
                    "`on_connected` takes only `&self` and optionally `ctx: &Context`",
                );
                ok = false;
            }
        }
    }
    if name == DISCONNECTED
        && params
            .iter()
            .filter(|p| matches!(p, Param::Argument(_)))
            .count()
            > 1
    {
        cx.error_spanned_by(
            &function.sig.inputs,
            "`on_disconnected` takes `&self`, optionally `ctx: &Context`, and optionally `error: Option<HubError>`",
        );
        ok = false;
    }
    for (param, input) in params.iter().zip(function.sig.inputs.iter().skip(1)) {
        if let Param::Upload(_) = param {
            cx.error_spanned_by(
                input,
                format!(
                    "lifecycle hook `{name}` takes no upload streams: only hub methods receive them"
                ),
            );
            ok = false;
        }
    }
    let output = read_output(&function.sig.output);
    if let Output::Stream(_) = output {
        let returns = if name == CONNECTED {
            "nothing or `Result<(), E>`"
        } else {
            "nothing"
        };
        cx.error_spanned_by(
            &function.sig.output,
            format!("lifecycle hook `{name}` cannot stream: it returns {returns}"),
        );
        ok = false;
    }
    ok.then(|| Hook {
        ident: function.sig.ident.clone(),
        params,
        output,
    })
}

/// Rule: hub methods and hooks are `async fn`, because they run as tasks of the connection.
fn check_async(cx: &Ctxt, function: &ImplItemFn, kind: Kind) -> bool {
    if function.sig.asyncness.is_some() {
        return true;
    }
    let ident = &function.sig.ident;
    cx.error_spanned_by(
        function.sig.fn_token,
        format!(
            "{} must be an `async fn`: {}",
            kind.describe(ident),
            kind.suggestion(ident)
        ),
    );
    false
}

/// Rule: the receiver is `&self`; one hub value serves every connection at once.
fn check_receiver(cx: &Ctxt, function: &ImplItemFn, kind: Kind) -> bool {
    let ident = &function.sig.ident;
    let what = kind.describe(ident);
    match function.sig.receiver() {
        Some(r) if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {
            true
        }
        Some(r) => {
            cx.error_spanned_by(
                r,
                format!(
                    "{what} must take `&self`: one hub value is shared by every connection, so it cannot be moved or borrowed mutably (keep mutable state in a Mutex or an atomic)"
                ),
            );
            false
        }
        None => {
            cx.error_spanned_by(
                ident,
                format!(
                    "{what} needs a `&self` receiver: {}",
                    kind.suggestion(ident)
                ),
            );
            false
        }
    }
}

/// Rule: no type or const parameters; arguments come off the wire into concrete types.
fn check_not_generic(cx: &Ctxt, function: &ImplItemFn, kind: Kind) -> bool {
    let generics = &function.sig.generics;
    let has_type_params = generics
        .params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
    if has_type_params || generics.where_clause.is_some() {
        cx.error_spanned_by(
            generics,
            match kind {
                Kind::Method => format!(
                    "hub method `{}` cannot be generic: its arguments are deserialized from the wire, so each needs a concrete type",
                    function.sig.ident
                ),
                Kind::Hook => format!(
                    "lifecycle hook `{}` cannot be generic: the runtime calls it with concrete types",
                    function.sig.ident
                ),
            },
        );
        return false;
    }
    true
}

/// `UploadStream<T>` (any path ending so): its item type.
fn upload_item(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "UploadStream" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(item) => Some(item),
            _ => None,
        },
        _ => None,
    }
}

/// A parameter's name, for suggestions.
fn param_name(pat: &Pat) -> String {
    match pat {
        Pat::Ident(name) => name.ident.to_string(),
        _ => "name".to_string(),
    }
}

/// `ty` as the user would write it (`Vec<String>`, not `Vec < String >`), for suggestions.
fn type_to_string(ty: &Type) -> String {
    let spaced = quote::quote!(#ty).to_string();
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let prev = out.chars().last();
        // Drop a space next to `<`, `>`, `::`, `&` and before `,`; keep the one after `,`.
        let tight = |c: Option<char>| matches!(c, Some('<' | '>' | ':' | '&'));
        if c == ' ' && (tight(prev) || tight(next) || next == Some(',')) && prev != Some(',') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Whether `ty` names `UploadStream` in any shape.
fn mentions_upload(ty: &Type) -> bool {
    quote::quote!(#ty)
        .into_iter()
        .any(|token| mentions_upload_token(&token))
}

fn mentions_upload_token(token: &proc_macro2::TokenTree) -> bool {
    match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "UploadStream",
        proc_macro2::TokenTree::Group(group) => group
            .stream()
            .into_iter()
            .any(|t| mentions_upload_token(&t)),
        _ => false,
    }
}

fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none())
}

/// Parameters after the receiver: `&Context` or an owned, deserializable argument.
fn read_params(cx: &Ctxt, function: &ImplItemFn) -> Option<Vec<Param>> {
    let mut params = Vec::new();
    let mut ok = true;
    for input in &function.sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        if !matches!(&*typed.pat, Pat::Ident(_) | Pat::Wild(_)) {
            cx.error_spanned_by(
                &typed.pat,
                "hub method parameters must be plain names (`name: Type`)",
            );
            ok = false;
            continue;
        }
        let ty = &*typed.ty;
        if is_context(ty) {
            params.push(Param::Context);
            continue;
        }
        if let Some(item) = upload_item(ty) {
            if matches!(item, Type::Infer(_)) || mentions_upload(item) {
                cx.error_spanned_by(
                    ty,
                    "an upload stream needs a concrete item type: write `UploadStream<T>` with the type each item deserializes into, such as `UploadStream<String>`",
                );
                ok = false;
            } else {
                params.push(Param::Upload(Box::new(ty.clone())));
            }
            continue;
        }
        if mentions_upload(ty) {
            // Rule: uploads bind one stream per parameter, by value.
            let message = match ty {
                Type::Reference(_) => {
                    "upload streams are taken by value: write `name: UploadStream<T>` (bind it `mut name` to read it with `.next().await`)"
                }
                _ => {
                    "an upload stream is a parameter of its own, `name: UploadStream<T>`, not part of another type: declare one such parameter per stream the client sends"
                }
            };
            cx.error_spanned_by(ty, message);
            ok = false;
            continue;
        }
        match ty {
            Type::Reference(reference) => {
                let owned = match &*reference.elem {
                    Type::Path(p) if p.path.is_ident("str") => "`String`".to_string(),
                    Type::Slice(slice) => format!("`Vec<{}>`", type_to_string(&slice.elem)),
                    _ => "an owned type".to_string(),
                };
                cx.error_spanned_by(
                    ty,
                    format!(
                        "hub method arguments are deserialized into owned values: use {owned} instead of a reference (only `&Context` may be borrowed)"
                    ),
                );
                ok = false;
            }
            Type::ImplTrait(_) => {
                let message = match stream_item(ty) {
                    // Rule: a stream the client sends is an upload.
                    Some(item) => format!(
                        "a stream the client sends is an `UploadStream<T>` parameter, not `impl Stream`: write `{}: UploadStream<{}>` (it yields `Result<{}, HubError>`)",
                        param_name(&typed.pat),
                        type_to_string(item),
                        type_to_string(item),
                    ),
                    None => {
                        "hub method arguments need a concrete type, not `impl Trait`".to_string()
                    }
                };
                cx.error_spanned_by(ty, message);
                ok = false;
            }
            _ => params.push(Param::Argument(Box::new(ty.clone()))),
        }
    }
    ok.then_some(params)
}

/// `impl Stream<Item = T>` (any bound path ending in `Stream`): the item type.
fn stream_item(ty: &Type) -> Option<&Type> {
    let Type::ImplTrait(bounds) = ty else {
        return None;
    };
    bounds.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Stream" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// The type arguments of a `Result<T, E>`-shaped type: `T`, and `E` unless it is implied (an
/// alias such as `io::Result<T>`).
fn result_types(ty: &Type) -> Option<(&Type, Option<&Type>)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if p.qself.is_some() || last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let ok = types.next()?;
    Some((ok, types.next()))
}

fn stream_output(ty: &Type, method_error: Option<&Type>) -> Option<Output> {
    let item = stream_item(ty)?;
    Some(Output::Stream(StreamOutput {
        item: item.clone(),
        fallible_items: result_types(item).is_some(),
        method_error: method_error.cloned().map(Box::new),
    }))
}

fn read_output(output: &ReturnType) -> Output {
    let ReturnType::Type(_, ty) = output else {
        return Output::Unit;
    };
    if let Some(stream) = stream_output(ty, None) {
        return stream;
    }
    if let Some(stream) =
        result_types(ty).and_then(|(ok, error)| stream_output(ok, Some(error.unwrap_or(ty))))
    {
        return stream;
    }
    match &**ty {
        Type::Tuple(t) if t.elems.is_empty() => Output::Unit,
        Type::Path(p)
            if p.qself.is_none()
                && p.path.segments.last().is_some_and(|s| {
                    s.ident == "Result"
                        && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
                }) =>
        {
            Output::Result((**ty).clone())
        }
        other => Output::Value(other.clone()),
    }
}

fn check_wire_names_unique(cx: &Ctxt, methods: &[Method]) {
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
        "hub method",
        "clients call hub methods without regard to case",
    );
}

impl Method {
    pub(crate) fn argument_count(&self) -> usize {
        self.params
            .iter()
            .filter(|p| matches!(p, Param::Argument(_)))
            .count()
    }

    pub(crate) fn upload_count(&self) -> usize {
        self.params
            .iter()
            .filter(|p| matches!(p, Param::Upload(_)))
            .count()
    }
}

/// The span of a type, for placing trait errors on it.
pub(crate) fn span_of(ty: &Type) -> Span {
    ty.span()
}

#[cfg(test)]
mod tests {
    use super::type_to_string;

    #[test]
    fn writes_types_as_users_do() {
        for written in [
            "i32",
            "Vec<String>",
            "std::collections::HashMap<String, Vec<u8>>",
            "&'a str",
            "&mut [u8]",
            "(i32, String)",
            "Option<Box<dyn Send>>",
        ] {
            let ty: syn::Type = syn::parse_str(written).unwrap();
            assert_eq!(type_to_string(&ty), written);
        }
    }
}
