//! Hub dispatch layer: hub messages <-> calls of the hub's methods.

mod context;
mod dispatcher;
mod error;
#[doc(hidden)]
pub mod generated;
pub(crate) mod texts;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::protocol::{ArgumentError, Arguments};

pub use context::Context;
pub(crate) use dispatcher::HubDispatcher;
pub use error::HubError;

/// A hub's method table and lifecycle hooks. Implemented by `#[hub]`; not written by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a hub",
    note = "put `#[hubs::hub]` on an `impl {Self}` block to make it one"
)]
pub trait Hub: Send + Sync + Sized + 'static {
    /// The invocable methods; an index into this table names a method in [`Hub::invoke`].
    #[doc(hidden)]
    const METHODS: &'static [MethodDescriptor];

    /// Binds `arguments` to method `method` and returns the running call, or the argument
    /// that did not bind.
    #[doc(hidden)]
    fn invoke(
        hub: &Arc<Self>,
        method: usize,
        context: Context,
        arguments: &Arguments<'_>,
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
    /// How many arguments the client must send.
    pub arguments: usize,
}

/// A running hub method call: the result encoded in the caller's protocol, or its error.
#[doc(hidden)]
pub type MethodFuture = BoxFuture<'static, Result<Vec<u8>, HubError>>;
