//! Every rule of `#[hub]` and `#[hub_client]`, once, checked on the model. Each rule is a small
//! named function with a comment stating it; every violation becomes a spanned error that says
//! how to fix it. Rules about signatures (async, `&self`, not generic, plain parameter names,
//! unique wire names) are shared by hub methods, lifecycle hooks and client methods; only the
//! reason they give differs, by [`Kind`]. The rules of `#[authorize]` and `#[allow_anonymous]`
//! are in `check/auth.rs`.

use syn::{Pat, Type};

use crate::ctxt::Ctxt;
use crate::model::client::ClientModel;
use crate::model::hub::HubModel;
use crate::model::types::{mentions_upload, stream_item, type_to_string};
use crate::model::{Auth, Function, Hook, Output, Param, ParamKind, Role};

mod auth;

use auth::{authorization, hub_authorization};

/// What a checked function is, for wording its errors.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Method,
    Hook,
    Client,
}

impl Kind {
    fn describe(self, ident: &syn::Ident) -> String {
        match self {
            Kind::Method => format!("hub method `{ident}`"),
            Kind::Hook => format!("lifecycle hook `{ident}`"),
            Kind::Client => format!("client method `{ident}`"),
        }
    }

    /// The signature to write, and for hub methods the way to keep a helper instead.
    fn suggestion(self, ident: &syn::Ident) -> String {
        match self {
            Kind::Method => format!(
                "write `pub async fn {ident}(&self, ...)`, or drop `pub` to keep it a helper that clients cannot call"
            ),
            Kind::Hook => format!("write `async fn {ident}(&self, ...)`"),
            Kind::Client => format!(
                "write `async fn {ident}(&self, ...);`, then call it on a client target such as `ctx.clients().all()`"
            ),
        }
    }
}

/// All rules of a `#[hub]` impl.
pub(crate) fn hub(cx: &Ctxt, model: &HubModel) {
    if !hub_impl_is_inherent(cx, model) || !hub_impl_is_not_generic(cx, model) {
        return;
    }
    for function in &model.functions {
        match function.role {
            Role::Method => {
                wire_name_is_not_empty(cx, function);
                signature(cx, function, Kind::Method);
                hub_params(cx, function);
            }
            Role::Hook(hook) => {
                hook_has_no_wire_name(cx, function, hook);
                signature(cx, function, Kind::Hook);
                if hub_params(cx, function) {
                    hook_params(cx, function, hook);
                    hook_does_not_stream(cx, function, hook);
                }
            }
            // Helpers keep no wire name, but a `#[method]` on one was read and is checked.
            Role::Helper => {
                wire_name_is_not_empty(cx, function);
                async_helper_is_marked(cx, function);
            }
            Role::Skipped => wire_name_is_not_empty(cx, function),
            Role::ClientMethod => {}
        }
        authorization(cx, function, &model.auth);
    }
    hub_authorization(cx, &model.auth);
    wire_names_are_unique(cx, model.methods(), Kind::Method);
}

/// All rules of a `#[hub_client]` trait.
pub(crate) fn client(cx: &Ctxt, model: &ClientModel) {
    // Rule: the trait is not generic; its methods describe fixed client signatures.
    if !model.generics.params.is_empty() || model.generics.where_clause.is_some() {
        cx.error_spanned_by(&model.generics, "a #[hub_client] trait cannot be generic: its methods describe fixed client method signatures");
    }
    // Rule: no supertraits; the macro adds `ClientTarget`, the one it needs.
    if !model.supertraits.is_empty() {
        cx.error_spanned_by(
            &model.supertraits,
            "a #[hub_client] trait cannot have supertraits: #[hub_client] adds the one it needs",
        );
    }
    // Rule: only methods; a type or const would have no meaning on the wire.
    for item in &model.other_items {
        cx.error_spanned_by(
            item,
            "a #[hub_client] trait holds only `async fn` client methods",
        );
    }
    for method in &model.methods {
        wire_name_is_not_empty(cx, method);
        client_method_has_no_body(cx, method);
        signature(cx, method, Kind::Client);
        client_params(cx, method);
        authorization(cx, method, &Auth::default());
    }
    wire_names_are_unique(cx, model.methods.iter(), Kind::Client);
}

/// Rule: `#[hub]` goes on an inherent impl; the hub's methods are its own, not a trait's.
fn hub_impl_is_inherent(cx: &Ctxt, model: &HubModel) -> bool {
    let Some(path) = &model.trait_impl else {
        return true;
    };
    cx.error_spanned_by(
        path,
        "#[hub] goes on an inherent `impl MyHub { ... }` block, not on a trait impl",
    );
    false
}

/// Rule: the impl is not generic; one hub type serves one endpoint.
fn hub_impl_is_not_generic(cx: &Ctxt, model: &HubModel) -> bool {
    if model.generics.params.is_empty() {
        return true;
    }
    cx.error_spanned_by(
        &model.generics,
        "a #[hub] impl cannot be generic: one hub type serves one endpoint; put type parameters in the hub's fields instead",
    );
    false
}

/// The signature rules every function the macros handle follows.
fn signature(cx: &Ctxt, function: &Function, kind: Kind) {
    is_async(cx, function, kind);
    receiver_is_shared_reference(cx, function, kind);
    is_not_generic(cx, function, kind);
}

/// Rule: `async fn`. Hub methods and hooks run as tasks of the connection; client methods are
/// awaited, since a send may go through a backplane.
fn is_async(cx: &Ctxt, function: &Function, kind: Kind) {
    if function.sig.asyncness.is_some() {
        return;
    }
    let ident = &function.ident;
    let message = match kind {
        Kind::Client => format!(
            "client method `{ident}` must be declared `async fn`: callers write `.{ident}(...).await`"
        ),
        _ => format!(
            "{} must be an `async fn`: {}",
            kind.describe(ident),
            kind.suggestion(ident)
        ),
    };
    cx.error_spanned_by(function.sig.fn_token, message);
}

/// Rule: the receiver is `&self`. One hub value is shared by every connection; a client method
/// is called on a borrowed client target.
fn receiver_is_shared_reference(cx: &Ctxt, function: &Function, kind: Kind) {
    let ident = &function.ident;
    match function.sig.receiver() {
        Some(r) if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
        Some(r) => {
            let why = match kind {
                Kind::Client => {
                    "it is called on a borrowed client target such as `ctx.clients().all()`"
                }
                _ => {
                    "one hub value is shared by every connection, so it cannot be moved or borrowed mutably (keep mutable state in a Mutex or an atomic)"
                }
            };
            cx.error_spanned_by(
                r,
                format!("{} must take `&self`: {why}", kind.describe(ident)),
            );
        }
        None => cx.error_spanned_by(
            ident,
            format!(
                "{} needs a `&self` receiver: {}",
                kind.describe(ident),
                kind.suggestion(ident)
            ),
        ),
    }
}

/// Rule: no type or const parameters; arguments cross the wire as concrete types.
fn is_not_generic(cx: &Ctxt, function: &Function, kind: Kind) {
    let generics = &function.sig.generics;
    let has_type_params = generics
        .params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
    if !has_type_params && generics.where_clause.is_none() {
        return;
    }
    let ident = &function.ident;
    let why = match kind {
        Kind::Method => {
            "its arguments are deserialized from the wire, so each needs a concrete type"
        }
        Kind::Hook => "the runtime calls it with concrete types",
        Kind::Client => "give each parameter a concrete type",
    };
    cx.error_spanned_by(
        generics,
        format!("{} cannot be generic: {why}", kind.describe(ident)),
    );
}

/// Rule: an `async fn` that is not `pub` is no hub method, which is easy to miss; it says so,
/// and `#[hub(skip)]` keeps it as a private helper on purpose.
///
/// ```text
/// async fn send(&self, text: String)        // error: make it `pub`, or mark it #[hub(skip)]
/// ```
fn async_helper_is_marked(cx: &Ctxt, function: &Function) {
    if function.sig.asyncness.is_none() {
        return;
    }
    let ident = &function.ident;
    cx.error_spanned_by(
        &function.sig.ident,
        format!(
            "`async fn {ident}` is not `pub`, so it is no hub method and clients cannot call it: write `pub async fn {ident}` to make it one, or put `#[hub(skip)]` on it to keep a private helper"
        ),
    );
}

/// Rule: a client method is a declaration; the macro writes the body that sends the call.
fn client_method_has_no_body(cx: &Ctxt, method: &Function) {
    if let Some(body) = &method.client_body {
        cx.error_spanned_by(
            body,
            format!("client method `{}` must not have a body: #[hub_client] generates the call; end the declaration with `;`", method.ident),
        );
    }
}

/// The parameter rules of hub methods and hooks; whether all held.
fn hub_params(cx: &Ctxt, function: &Function) -> bool {
    let mut ok = true;
    for param in &function.params {
        ok &= hub_param(cx, param);
    }
    ok
}

fn hub_param(cx: &Ctxt, param: &Param) -> bool {
    // Rule: parameters are plain names (`name: Type` or `_: Type`).
    if !matches!(&*param.arg.pat, Pat::Ident(_) | Pat::Wild(_)) {
        cx.error_spanned_by(
            &param.arg.pat,
            "hub method parameters must be plain names (`name: Type`)",
        );
        return false;
    }
    let ty = param.ty();
    match &param.kind {
        ParamKind::Context => true,
        ParamKind::Upload { item } => upload_has_an_item_type(cx, ty, item),
        ParamKind::Argument => {
            context_is_borrowed(cx, ty)
                && upload_is_a_parameter_of_its_own(cx, ty)
                && argument_is_owned(cx, ty)
                && argument_is_concrete(cx, param, Kind::Method)
        }
    }
}

/// Rule: an upload names the concrete type each item deserializes into.
fn upload_has_an_item_type(cx: &Ctxt, ty: &Type, item: &Type) -> bool {
    if !matches!(item, Type::Infer(_)) && !mentions_upload(item) {
        return true;
    }
    cx.error_spanned_by(
        ty,
        "an upload stream needs a concrete item type: write `UploadStream<T>` with the type each item deserializes into, such as `UploadStream<String>`",
    );
    false
}

/// Rule: uploads bind one stream per parameter, by value.
fn upload_is_a_parameter_of_its_own(cx: &Ctxt, ty: &Type) -> bool {
    if !mentions_upload(ty) {
        return true;
    }
    let message = match ty {
        Type::Reference(_) => {
            "upload streams are taken by value: write `name: UploadStream<T>` (bind it `mut name` to read it with `.next().await`)"
        }
        _ => {
            "an upload stream is a parameter of its own, `name: UploadStream<T>`, not part of another type: declare one such parameter per stream the client sends"
        }
    };
    cx.error_spanned_by(ty, message);
    false
}

/// Rule: the calling connection is borrowed (`ctx: &Context`); by value it would be taken for
/// an argument the client sends.
fn context_is_borrowed(cx: &Ctxt, ty: &Type) -> bool {
    let Type::Path(path) = ty else { return true };
    let names_context = path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none());
    if names_context {
        cx.error_spanned_by(
            ty,
            "the calling connection is borrowed: write `ctx: &Context` (a `Context` by value would be an argument the client sends)",
        );
    }
    !names_context
}

/// Rule: hub method arguments are deserialized into owned values; only `&Context` is borrowed.
fn argument_is_owned(cx: &Ctxt, ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return true;
    };
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
    false
}

/// Rule: arguments have a concrete type, not `impl Trait` (a generic in disguise); a stream the
/// client sends is an upload.
fn argument_is_concrete(cx: &Ctxt, param: &Param, kind: Kind) -> bool {
    let ty = param.ty();
    if !matches!(ty, Type::ImplTrait(_)) {
        return true;
    }
    let message = match (kind, stream_item(ty)) {
        (Kind::Client, _) => {
            "client method parameters need a concrete type, not `impl Trait`".to_string()
        }
        (_, Some(item)) => format!(
            "a stream the client sends is an `UploadStream<T>` parameter, not `impl Stream`: write `{}: UploadStream<{}>` (it yields `Result<{}, HubError>`)",
            param
                .name()
                .map_or_else(|| "name".to_string(), ToString::to_string),
            type_to_string(item),
            type_to_string(item),
        ),
        (_, None) => "hub method arguments need a concrete type, not `impl Trait`".to_string(),
    };
    cx.error_spanned_by(ty, message);
    false
}

/// The parameter rules of client methods.
fn client_params(cx: &Ctxt, method: &Function) {
    for param in &method.params {
        if matches!(&*param.arg.pat, Pat::Ident(_))
            && !argument_is_concrete(cx, param, Kind::Client)
        {
            continue;
        }
        // Rule: parameters are plain names; the generated body passes them on by name.
        if param.name().is_none() {
            cx.error_spanned_by(
                &param.arg.pat,
                "client method parameters must be plain names (`name: Type`)",
            );
        }
    }
}

/// Rule: lifecycle hooks take `&self`, optionally `ctx: &Context`, and (`on_disconnected` only)
/// `error: Option<HubError>`; never an upload.
fn hook_params(cx: &Ctxt, function: &Function, hook: Hook) {
    let arguments = || {
        function
            .params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::Argument))
    };
    if hook == Hook::Connected {
        for param in arguments() {
            cx.error_spanned_by(
                &param.arg,
                "`on_connected` takes only `&self` and optionally `ctx: &Context`",
            );
        }
    }
    if hook == Hook::Disconnected && arguments().count() > 1 {
        cx.error_spanned_by(
            &function.sig.inputs,
            "`on_disconnected` takes `&self`, optionally `ctx: &Context`, and optionally `error: Option<HubError>`",
        );
    }
    for param in &function.params {
        if let ParamKind::Upload { .. } = param.kind {
            cx.error_spanned_by(
                &param.arg,
                format!(
                    "lifecycle hook `{}` takes no upload streams: only hub methods receive them",
                    hook.name()
                ),
            );
        }
    }
}

/// Rule: hooks do not stream; `on_connected` returns nothing or `Result<(), E>`.
fn hook_does_not_stream(cx: &Ctxt, function: &Function, hook: Hook) {
    if !matches!(function.output, Output::Stream(_)) {
        return;
    }
    let returns = match hook {
        Hook::Connected => "nothing or `Result<(), E>`",
        Hook::Disconnected => "nothing",
    };
    cx.error_spanned_by(
        &function.sig.output,
        format!(
            "lifecycle hook `{}` cannot stream: it returns {returns}",
            hook.name()
        ),
    );
}

/// Rule: lifecycle hooks are not called by clients, so they have no wire name.
fn hook_has_no_wire_name(cx: &Ctxt, function: &Function, hook: Hook) {
    if let Some(rename) = &function.wire.rename {
        cx.error_spanned_by(
            rename,
            format!(
                "`{}` is a lifecycle hook, not a hub method: it has no wire name",
                hook.name()
            ),
        );
    }
}

/// Rule: a wire name set with `#[method(name = "...")]` is not empty.
fn wire_name_is_not_empty(cx: &Ctxt, function: &Function) {
    if let Some(rename) = &function.wire.rename
        && rename.value().is_empty()
    {
        cx.error_spanned_by(rename, "the wire name must not be empty");
    }
}

/// Rule: wire names are unique without regard to case, since clients match them so. Reports
/// each later name that clashes with an earlier one.
fn wire_names_are_unique<'a>(cx: &Ctxt, functions: impl Iterator<Item = &'a Function>, kind: Kind) {
    let (what, why) = match kind {
        Kind::Client => (
            "client method",
            "JavaScript clients match handler names without regard to case",
        ),
        _ => (
            "hub method",
            "clients call hub methods without regard to case",
        ),
    };
    let functions: Vec<_> = functions.collect();
    for (i, later) in functions.iter().enumerate() {
        if let Some(earlier) = functions[..i]
            .iter()
            .find(|f| f.wire.name.eq_ignore_ascii_case(&later.wire.name))
        {
            cx.syn_error(syn::Error::new(
                later.wire.span,
                format!(
                    "{what} `{}` has the wire name `{}`, which clashes with `{}` of `{}`: {why}, so rename one with #[method(name = \"...\")]",
                    later.ident, later.wire.name, earlier.wire.name, earlier.ident
                ),
            ));
        }
    }
}
