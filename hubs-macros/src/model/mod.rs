//! The hub and the client as plain data.
//!
//! `HubModel::from_item` and `ClientModel::from_item` read the user's item and take the helper
//! attributes (`#[method]`, `#[authorize]`, `#[allow_anonymous]`, doc comments on parameters)
//! off it. The only errors they report are the attributes' grammar: every rule is checked on the
//! model by `check.rs`, and `expand/` generates code from the model alone. No `syn::Attribute`
//! goes past this point; syntax is kept only where errors are placed.

pub(crate) mod client;
pub(crate) mod hub;
pub(crate) mod types;

use proc_macro2::{Span, TokenStream};
use syn::{LitStr, Type};

use crate::attr::{self, AuthAttrs};
use crate::case::pascal_case;
use crate::ctxt::Ctxt;

/// A function of a `#[hub]` impl or a `#[hub_client]` trait.
pub(crate) struct Function {
    pub(crate) ident: syn::Ident,
    pub(crate) role: Role,
    /// The function's doc comment lines, as written (for generated TypeScript).
    pub(crate) docs: Vec<String>,
    /// The signature as written (without parameter doc comments), for placing errors.
    pub(crate) sig: syn::Signature,
    /// A body the user wrote on a client method (the macro writes those itself).
    pub(crate) client_body: Option<syn::Block>,
    pub(crate) wire: WireName,
    /// The parameters after the receiver.
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
    pub(crate) auth: Auth,
}

/// What a function is to the macro.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A `pub` function of a hub that takes `self` or is `async`: clients call it.
    Method,
    /// `on_connected` or `on_disconnected` of a hub.
    Hook(Hook),
    /// Any other function of a hub impl (constructors, private helpers): plain Rust.
    Helper,
    /// A function marked `#[hub(skip)]`: plain Rust, even when `async`.
    Skipped,
    /// A method of a `#[hub_client]` trait: the server calls it on clients.
    ClientMethod,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Connected,
    Disconnected,
}

impl Hook {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hook::Connected => "on_connected",
            Hook::Disconnected => "on_disconnected",
        }
    }
}

/// The name a method has on the wire.
pub(crate) struct WireName {
    pub(crate) name: String,
    /// Where the name comes from: the rename literal or the Rust name.
    pub(crate) span: Span,
    /// `#[method(name = "...")]`, when given.
    pub(crate) rename: Option<LitStr>,
}

impl WireName {
    fn new(ident: &syn::Ident, rename: Option<LitStr>) -> Self {
        match rename {
            Some(lit) => WireName {
                name: lit.value(),
                span: lit.span(),
                rename: Some(lit),
            },
            None => WireName {
                name: pascal_case(&ident.to_string()),
                span: ident.span(),
                rename: None,
            },
        }
    }
}

/// One parameter after the receiver.
pub(crate) struct Param {
    /// The parameter as written (without doc comments), for its name and for placing errors.
    pub(crate) arg: syn::PatType,
    pub(crate) kind: ParamKind,
    /// The parameter's doc comment lines (taken off the item: the compiler rejects them there).
    pub(crate) docs: Vec<String>,
}

impl Param {
    pub(crate) fn ty(&self) -> &Type {
        &self.arg.ty
    }

    /// The parameter's name, when it is a plain name (`name: Type` or `mut name: Type`).
    pub(crate) fn name(&self) -> Option<&syn::Ident> {
        match &*self.arg.pat {
            syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(&p.ident),
            _ => None,
        }
    }
}

pub(crate) enum ParamKind {
    /// `&Context`: the calling connection, not sent by the client.
    Context,
    /// A value the client sends (or, on a client method, the server sends).
    Argument,
    /// `UploadStream<T>`: a stream the client sends, bound in order to the invocation's streams.
    Upload {
        /// `T`, the type each item deserializes into.
        item: Box<Type>,
    },
}

/// What a function returns.
pub(crate) enum Output {
    /// No return type or `()`: the Completion carries `null` (on a client method: a send).
    Unit,
    /// Any other type: serialized as the result (on a client method: a client result).
    Value(Box<Type>),
    /// `Result<T, E>`: `Err` becomes an error Completion.
    Result(Box<ResultType>),
    /// `impl Stream<Item = T>`, or a `Result` of one: a streaming method.
    Stream(Box<StreamOutput>),
}

/// A `Result<T, E>` with its ok and error types apart.
pub(crate) struct ResultType {
    /// The whole type as written.
    pub(crate) ty: Type,
    pub(crate) ok: Type,
    /// `E`; `None` when an alias implies it (`io::Result<T>`).
    pub(crate) error: Option<Type>,
}

impl ResultType {
    fn read(ty: &Type) -> Option<ResultType> {
        let (ok, error) = types::result_types(ty)?;
        Some(ResultType {
            ty: ty.clone(),
            ok: ok.clone(),
            error: error.cloned(),
        })
    }

    /// `E`, or the whole type when an alias implies `E`: where a failed conversion is reported.
    pub(crate) fn error_or_whole(&self) -> &Type {
        self.error.as_ref().unwrap_or(&self.ty)
    }
}

pub(crate) struct StreamOutput {
    /// The item type as written.
    pub(crate) item: Type,
    /// Items are `Result<T, E>`: an `Err` ends the stream with an error.
    pub(crate) item_result: Option<ResultType>,
    /// The method returns `Result<impl Stream, E>`.
    pub(crate) method_result: Option<ResultType>,
}

/// The `#[authorize]` and `#[allow_anonymous]` attributes of a hub or a function.
#[derive(Default)]
pub(crate) struct Auth {
    /// One entry per `#[authorize]`; every one must pass.
    pub(crate) rules: Vec<AuthorizeRule>,
    /// Where each `#[allow_anonymous]` is (the rules allow at most one).
    pub(crate) allow_anonymous: Vec<TokenStream>,
    /// The attributes' paths as written: the generated code names them, so the user's
    /// `use hubs::authorize;` counts as used although `#[hub]` took the attributes off.
    pub(crate) paths: Vec<syn::Path>,
}

/// One `#[authorize(...)]`.
pub(crate) struct AuthorizeRule {
    /// The attribute as written, for placing errors.
    pub(crate) site: TokenStream,
    /// `roles = "..."`: the caller needs any one of them.
    pub(crate) roles: Option<Roles>,
    /// `policy = "..."`: a policy registered on the endpoint.
    pub(crate) policy: Option<LitStr>,
}

pub(crate) struct Roles {
    pub(crate) literal: LitStr,
    /// The literal split on commas, each entry trimmed (empty entries kept for `check.rs`).
    pub(crate) names: Vec<String>,
}

impl Auth {
    fn take(cx: &Ctxt, attrs: &mut Vec<syn::Attribute>) -> Auth {
        let AuthAttrs {
            authorize,
            allow_anonymous,
        } = attr::take_auth_attrs(cx, attrs);
        let paths = authorize
            .iter()
            .map(|a| a.path.clone())
            .chain(allow_anonymous.iter().map(|a| a.path.clone()))
            .collect();
        Auth {
            paths,
            rules: authorize
                .into_iter()
                .map(|a| AuthorizeRule {
                    site: a.tokens,
                    roles: a.roles.map(|literal| Roles {
                        names: literal
                            .value()
                            .split(',')
                            .map(|r| r.trim().to_string())
                            .collect(),
                        literal,
                    }),
                    policy: a.policy,
                })
                .collect(),
            allow_anonymous: allow_anonymous.into_iter().map(|a| a.tokens).collect(),
        }
    }
}

/// Reads a parameter, taking its doc comments off. `hub` classifies `&Context` and
/// `UploadStream<T>`; on a client method every parameter is an argument.
fn read_param(arg: &mut syn::PatType, hub: bool) -> Param {
    let docs = attr::take_param_docs(&mut arg.attrs);
    let ty = &*arg.ty;
    let kind = if !hub {
        ParamKind::Argument
    } else if types::is_context(ty) {
        ParamKind::Context
    } else if let Some(item) = types::upload_item(ty) {
        ParamKind::Upload {
            item: Box::new(item.clone()),
        }
    } else {
        ParamKind::Argument
    };
    Param {
        arg: arg.clone(),
        kind,
        docs,
    }
}

/// Reads the parameters after the receiver.
fn read_params(sig: &mut syn::Signature, hub: bool) -> Vec<Param> {
    sig.inputs
        .iter_mut()
        .filter_map(|input| match input {
            syn::FnArg::Typed(arg) => Some(read_param(arg, hub)),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}
