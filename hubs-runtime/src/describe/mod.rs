//! What a hub and its client trait look like from outside: wire names, parameters, kinds,
//! TypeScript forms of every type, doc comments and authorization. `#[hub]` and `#[hub_client]`
//! write these as constants; `typescript-gen` reads them and knows no sockets.
//!
//! Compiled with the `typescript` feature (on by default in `hubs`).

mod types;

pub use types::{Declaration, TypeForm, TypeScript, TypeScriptFlavor, TypeScriptTypes};

use crate::hub::AuthorizeRule;
use crate::protocol::JsonPropertyNames;

pub use crate::protocol::{camel_case, json_property_name};

/// A hub as clients see it. Implemented by `#[hub]`; read it with [`describe`].
pub trait DescribeHub {
    /// The hub's methods, its client trait and its authorization.
    const DESCRIPTION: HubDescription;
}

/// The description of hub `H`.
pub fn describe<H: DescribeHub>() -> &'static HubDescription {
    const { &H::DESCRIPTION }
}

/// A `#[hub]`: what clients may call on it and what it calls on them.
#[derive(Debug)]
pub struct HubDescription {
    /// The Rust type's name (`ChatHub`).
    pub name: &'static str,
    /// The doc comment of the `#[hub]` impl block.
    pub docs: &'static str,
    /// Methods clients call, in source order.
    pub methods: &'static [MethodDescription],
    /// The `#[hub_client]` trait named by `#[hub(client = ...)]`, if any.
    pub client: Option<&'static ClientDescription>,
    /// `#[authorize]` on the impl block: required to connect and to call any method.
    pub authorize: &'static [AuthorizeRule],
    /// How the JSON protocol names struct fields for this hub: the hub's own setting
    /// (`Hub::JSON_PROPERTY_NAMES`), so generated types say what the wire carries.
    pub json_property_names: JsonPropertyNames,
}

/// A `#[hub_client]` trait: the methods the server calls on clients.
#[derive(Debug)]
pub struct ClientDescription {
    /// The trait's name (`ChatClient`).
    pub name: &'static str,
    /// The trait's doc comment.
    pub docs: &'static str,
    /// The client methods, in source order.
    pub methods: &'static [MethodDescription],
}

/// One method of a hub or of a client trait.
#[derive(Debug)]
pub struct MethodDescription {
    /// The Rust name (`send_message`).
    pub name: &'static str,
    /// The name on the wire (`SendMessage`, or `#[method(name = "...")]`).
    pub wire_name: &'static str,
    /// The doc comment.
    pub docs: &'static str,
    /// How the method is called.
    pub kind: MethodKind,
    /// The parameters a caller passes, in order (`&Context` left out).
    pub params: &'static [ParamDescription],
    /// The result type (the item type of a stream); `None` for `()`.
    pub result: Option<TypeForm>,
    /// `#[authorize]` on the method (hub methods only).
    pub authorize: &'static [AuthorizeRule],
    /// `#[allow_anonymous]` on the method.
    pub allow_anonymous: bool,
}

/// How a method is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// A hub method answered by one Completion (its value, or `null` for `()`).
    Invoke,
    /// A hub method whose result is a stream of items (`connection.stream`).
    ServerStream,
    /// A client method without a result: the server sends it and waits for nothing.
    FireAndForget,
    /// A client method with a result: the server awaits the value the client returns.
    ClientResult,
}

/// One parameter of a method.
#[derive(Debug)]
pub struct ParamDescription {
    /// The Rust name (`user_name`).
    pub name: &'static str,
    /// The parameter's doc comment.
    pub docs: &'static str,
    /// The type of the value, or of each item of an upload.
    pub ty: TypeForm,
    /// `UploadStream<T>`: the caller streams items of `ty` (a `Subject<T>` in TypeScript).
    pub upload: bool,
}

/// The TypeScript form of `T`, for generated descriptions (the compile error for a type
/// without one names the type).
#[doc(hidden)]
pub const fn type_form<T: TypeScript + ?Sized>() -> TypeForm {
    TypeForm::of::<T>()
}
