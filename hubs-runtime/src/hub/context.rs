use std::sync::Arc;

use axum::http::HeaderMap;
use tokio_util::sync::CancellationToken;

use crate::clients::{CallerClients, Groups};
use crate::connection::RequestInfo;
use crate::lifetime::{HubConnection, HubLifetimeManager};
use crate::protocol::Protocol;

/// The calling connection, as hub methods and hooks see it: who is calling, the request that
/// opened the connection, and the ways to reach other clients.
///
/// Cheap to clone. A hub method receives it by declaring a `&Context` parameter:
///
/// ```
/// use hubs::prelude::*;
///
/// struct Rooms;
///
/// #[hub]
/// impl Rooms {
///     pub async fn join(&self, ctx: &Context, group: String) -> Result<(), HubError> {
///         ctx.groups().add(ctx.connection_id(), &group).await?;
///         ctx.clients().group(&group).send("Joined", (ctx.connection_id(),)).await?;
///         Ok(())
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Arc<HubConnection>,
    request: Arc<RequestInfo>,
    lifetime: Arc<dyn HubLifetimeManager>,
    close_requested: CancellationToken,
}

impl Context {
    pub(crate) fn new(
        connection: Arc<HubConnection>,
        request: Arc<RequestInfo>,
        lifetime: Arc<dyn HubLifetimeManager>,
        close_requested: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connection,
                request,
                lifetime,
                close_requested,
            }),
        }
    }

    /// The caller's public connection id (what `Clients.Client(id)` and groups use).
    pub fn connection_id(&self) -> &str {
        self.inner.connection.id()
    }

    /// The user the connection belongs to, if the application identified one.
    pub fn user_identifier(&self) -> Option<&str> {
        self.inner.connection.user().map(|u| &**u)
    }

    /// Headers of the HTTP request that opened the connection's transport.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.request.headers
    }

    /// A query parameter of the request that opened the connection's transport.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.inner.request.query_value(key)
    }

    /// The hub protocol the connection negotiated.
    pub fn protocol(&self) -> Protocol {
        self.inner.connection.protocol()
    }

    /// Who to send to: the caller, others, all, groups, users, ...
    pub fn clients(&self) -> CallerClients<'_> {
        CallerClients::new(&*self.inner.lifetime, self.connection_id())
    }

    /// Group membership of any connection.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(&*self.inner.lifetime)
    }

    /// Closes the calling connection after the current messages (like `Context.Abort()`).
    pub fn abort(&self) {
        self.inner.close_requested.cancel();
    }

    pub(crate) fn connection(&self) -> &Arc<HubConnection> {
        &self.inner.connection
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("connection_id", &self.connection_id())
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}
