//! A connection handler ready to mount: ASP.NET Core's `MapConnectionHandler`.

use std::sync::Arc;

use super::{ConnectionDispatcher, ConnectionHandler, ConnectionOptions};

/// A [`ConnectionHandler`] with its transport options, ready to mount on a router with
/// [`HubRouterExt::connection_handler`](crate::HubRouterExt::connection_handler): negotiate
/// and every transport, without the hub protocol (ASP.NET Core's `MapConnectionHandler`).
///
/// `.connection_handler(path, handler)` with a bare handler uses the default options; make one
/// yourself to change them.
///
/// ```
/// use hubs::prelude::*;
/// use hubs::connection::{ConnectionHandler, TransportConnection};
/// use hubs::{ConnectionEndpoint, Transport};
///
/// struct Silent;
///
/// impl ConnectionHandler for Silent {
///     fn run(
///         self: std::sync::Arc<Self>,
///         connection: TransportConnection,
///     ) -> futures_util::future::BoxFuture<'static, ()> {
///         // Reads until the client leaves, answers nothing.
///         Box::pin(async move {
///             use futures_util::StreamExt;
///             let mut inbound = connection.inbound;
///             while inbound.next().await.is_some() {}
///         })
///     }
/// }
///
/// let endpoint = ConnectionEndpoint::new(Silent)
///     .configure(|o| o.transports = vec![Transport::WebSockets]);
/// let app: axum::Router = axum::Router::new().connection_handler("/silent", endpoint);
/// # let _ = app;
/// ```
pub struct ConnectionEndpoint {
    handler: Arc<dyn ConnectionHandler>,
    options: ConnectionOptions,
}

impl ConnectionEndpoint {
    /// `handler` with the default connection options (every transport).
    pub fn new(handler: impl ConnectionHandler) -> Self {
        Self {
            handler: Arc::new(handler),
            options: ConnectionOptions::default(),
        }
    }

    /// Replaces the connection options.
    pub fn options(mut self, options: ConnectionOptions) -> Self {
        self.options = options;
        self
    }

    /// Changes some connection options in place.
    pub fn configure(mut self, change: impl FnOnce(&mut ConnectionOptions)) -> Self {
        change(&mut self.options);
        self
    }

    /// The dispatcher serving this endpoint's requests, or which option cannot work.
    pub(crate) fn into_dispatcher(self) -> Result<ConnectionDispatcher, String> {
        self.options.validate()?;
        Ok(ConnectionDispatcher::new(self.handler, self.options))
    }
}

impl<C: ConnectionHandler> From<C> for ConnectionEndpoint {
    fn from(handler: C) -> Self {
        Self::new(handler)
    }
}
