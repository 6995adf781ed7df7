//! Hub dispatch layer: hub messages <-> calls of the hub's methods.

mod authorize;
mod context;
mod dispatcher;
mod filter;
#[doc(hidden)]
pub mod generated;
mod streams;
pub(crate) mod texts;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::protocol::{ArgumentError, Arguments, Encoded, JsonPropertyNames};

pub use crate::error::HubError;
pub use authorize::AuthorizationContext;
pub(crate) use authorize::{Decision, Policies};
pub use context::{Context, Items};
pub(crate) use dispatcher::{CloseAll, HubDispatcher};
pub(crate) use filter::FilterChain;
pub use filter::{
    HubFilter, HubFilters, HubInvocation, HubLifetimeContext, InvocationResult, Next,
};
pub use streams::{UploadChannel, UploadStream, forward_fallible_stream, forward_stream};

/// A hub's method table and lifecycle hooks. Implemented by `#[hub]`; not written by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a hub",
    note = "put `#[hubs::hub]` on an `impl {Self}` block to make it one"
)]
pub trait Hub: Send + Sync + Sized + 'static {
    /// The invocable methods; an index into this table names a method in [`Hub::invoke`].
    #[doc(hidden)]
    const METHODS: &'static [MethodDescriptor];

    /// The hub's own `#[authorize]` attributes: every one must pass to connect, and to call
    /// any method not marked `#[allow_anonymous]`.
    #[doc(hidden)]
    const AUTHORIZE: &'static [AuthorizeRule] = &[];

    /// How the JSON protocol names struct fields for this hub
    /// (`#[hub(json_property_names = "...")]`); camelCase unless the hub says otherwise.
    #[doc(hidden)]
    const JSON_PROPERTY_NAMES: JsonPropertyNames = JsonPropertyNames::CamelCase;

    /// Binds the invocation's arguments and upload streams to method `method` and returns the
    /// running call, or the argument that did not bind.
    #[doc(hidden)]
    fn invoke(
        hub: &Arc<Self>,
        method: usize,
        context: Context,
        bindings: &mut Bindings<'_>,
    ) -> Result<MethodFuture, ArgumentError>;

    /// Runs after a connection finished its handshake; an error closes it.
    #[doc(hidden)]
    fn on_connected(
        _hub: &Arc<Self>,
        _context: Context,
    ) -> BoxFuture<'static, Result<(), HubError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Runs when a connection ends, with the error that ended it, if any.
    #[doc(hidden)]
    fn on_disconnected(
        _hub: &Arc<Self>,
        _context: Context,
        _error: Option<HubError>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// What the dispatcher needs to know of a hub method before calling it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct MethodDescriptor {
    /// The wire name (matched without regard to case).
    pub name: &'static str,
    /// How many arguments the client must send in `arguments`.
    pub arguments: usize,
    /// How many upload streams the client must send (`streamIds`).
    pub uploads: usize,
    /// Whether the method streams its result (invoked with StreamInvocation).
    pub streaming: bool,
    /// The method's own `#[authorize]` attributes; every one must pass, as well as the hub's.
    pub authorize: &'static [AuthorizeRule],
    /// `#[allow_anonymous]`: anyone connected may call it, whatever the hub requires.
    pub allow_anonymous: bool,
}

/// One `#[authorize]` attribute: the caller must be authenticated, hold one of `roles` when
/// any are named, and satisfy `policy` when one is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizeRule {
    /// Roles of which the caller needs any one (`roles = "Admin,Manager"`); empty for none.
    pub roles: &'static [&'static str],
    /// The name of a policy registered on the endpoint.
    pub policy: Option<&'static str>,
}

/// A running hub method call: the result encoded in the caller's protocol, or its error. A
/// streaming method's call sends its items itself and ends with an empty result.
#[doc(hidden)]
pub type MethodFuture = BoxFuture<'static, Result<Encoded, HubError>>;

/// The values an invocation binds to a method's parameters.
#[doc(hidden)]
pub struct Bindings<'a> {
    arguments: &'a Arguments<'a>,
    uploads: std::vec::IntoIter<UploadChannel>,
}

impl<'a> Bindings<'a> {
    pub(crate) fn new(arguments: &'a Arguments<'a>, uploads: Vec<UploadChannel>) -> Self {
        Self {
            arguments,
            uploads: uploads.into_iter(),
        }
    }

    /// Deserializes argument `index`.
    pub fn argument<T: serde::de::DeserializeOwned>(
        &self,
        index: usize,
    ) -> Result<T, ArgumentError> {
        self.arguments.decode(index)
    }

    /// The next upload stream, in parameter order.
    pub fn upload<T: serde::de::DeserializeOwned>(
        &mut self,
    ) -> Result<UploadStream<T>, ArgumentError> {
        self.uploads
            .next()
            .map(UploadStream::new)
            .ok_or_else(|| ArgumentError {
                index: 0,
                message: "missing upload stream".into(),
            })
    }
}
