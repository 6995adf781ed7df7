//! Lifetime layer: who receives what. Owns the registry of connections, groups and users and
//! delivers already-serialized messages to them.
//!
//! Shaped like socketioxide's adapter: [`HubLifetimeManager`] speaks only in connection ids,
//! [`Target`]s and bytes encoded once per protocol ([`SerializedMessage`], `message.rs`), and
//! every method has a default that serves this node's own connections through
//! [`local`](HubLifetimeManager::local), the [`InMemoryLifetimeManager`]. The in-memory manager
//! is nothing but those defaults; a backplane that spans several nodes keeps an in-memory
//! manager for its own connections and overrides only what crosses nodes.

mod connection;
mod memory;
mod message;
#[cfg(feature = "redis")]
pub mod redis;

use std::future::ready;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::protocol::{EncodeError, Protocol};

pub use connection::HubConnection;
pub use memory::{Departure, InMemoryLifetimeManager};
pub use message::{ClientResult, ClientResultError, ProtocolSet, SerializedMessage, Target};

/// A send that could not be carried out.
#[derive(Debug, Clone)]
pub enum SendError {
    /// The arguments did not serialize.
    Encode(EncodeError),
    /// A backplane failed to pass the message on (to other nodes; this node's own connections
    /// were served).
    Backplane(String),
}

impl From<EncodeError> for SendError {
    fn from(e: EncodeError) -> Self {
        SendError::Encode(e)
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Encode(e) => write!(f, "{e}"),
            SendError::Backplane(e) => write!(f, "backplane error: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

/// The hub a lifetime manager serves, as [`HubLifetimeManager::attach`] is told when the
/// endpoint is built.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HubInfo {
    /// The hub's Rust type name (`std::any::type_name`), e.g. `my_app::hubs::Chat`.
    pub type_name: &'static str,
    /// The protocols clients may choose (`HubOptions::supported_protocols`).
    pub protocols: ProtocolSet,
}

impl HubInfo {
    /// The hub `type_name` whose clients may use `protocols`.
    pub fn new(type_name: &'static str, protocols: ProtocolSet) -> Self {
        Self {
            type_name,
            protocols,
        }
    }
}

/// Writes a server-to-client Invocation with the given invocation id for a protocol: how
/// [`HubLifetimeManager::invoke_client`] is given the call to make.
pub type EncodeInvocation<'a> = dyn Fn(&str, Protocol) -> Result<Bytes, EncodeError> + Sync + 'a;

/// Owns connections, groups and users, and delivers messages to them (ASP.NET Core's
/// `HubLifetimeManager<THub>`).
///
/// Only [`local`](Self::local) is required: every other method defaults to serving this
/// node's connections through it. A manager that spans nodes overrides what must cross them
/// (sends to targets with members elsewhere, group changes and client results for connections
/// elsewhere, subscriptions as connections come and go) and calls the defaults' local
/// counterparts for its own connections: a local connection is always served directly.
pub trait HubLifetimeManager: Send + Sync + 'static {
    /// The connections, groups and users of this node.
    fn local(&self) -> &InMemoryLifetimeManager;

    /// Called once when the endpoint is built with this manager; an error (a bad option, a
    /// hub the manager cannot serve) fails the build. The default accepts every hub.
    fn attach(&self, hub: &HubInfo) -> Result<(), String> {
        let _ = hub;
        Ok(())
    }

    /// Registers a connection that finished its handshake on this node.
    fn on_connected(&self, connection: Arc<HubConnection>) -> BoxFuture<'_, ()> {
        self.local().connect(connection);
        Box::pin(ready(()))
    }

    /// Forgets a connection and its group and user memberships.
    fn on_disconnected<'a>(&'a self, connection: &'a Arc<HubConnection>) -> BoxFuture<'a, ()> {
        self.local().disconnect(connection);
        Box::pin(ready(()))
    }

    /// The protocols a message must be encoded in before [`send`](Self::send): by default
    /// those of this node's connections.
    fn protocols(&self) -> ProtocolSet {
        self.local().local_protocols()
    }

    /// The protocols a message for `target` must be encoded in: by default
    /// [`protocols`](Self::protocols). A manager that knows a target needs fewer (one local
    /// connection needs only its own) says so here.
    fn protocols_for(&self, target: &Target) -> ProtocolSet {
        let _ = target;
        self.protocols()
    }

    /// Delivers `message` to every connection `target` names.
    fn send<'a>(
        &'a self,
        target: &'a Target,
        message: &'a SerializedMessage,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.local().deliver(target, message);
        Box::pin(ready(Ok(())))
    }

    /// Sends an Invocation with an id to one connection and waits for its Completion (a
    /// client result). `encode` writes the Invocation for a protocol with the id it is given;
    /// the id is the manager's to choose (locally `s1`, `s2`, ... per connection).
    fn invoke_client<'a>(
        &'a self,
        connection_id: &'a str,
        encode: &'a EncodeInvocation<'a>,
    ) -> BoxFuture<'a, Result<ClientResult, ClientResultError>> {
        self.local().invoke(connection_id, encode)
    }

    /// Hands a Completion that `connection` (of this node) sent to whoever awaits it: by
    /// default a client result awaited on this node. Returns whether anyone did.
    fn complete_client_result(
        &self,
        connection: &Arc<HubConnection>,
        invocation_id: &str,
        result: Result<ClientResult, ClientResultError>,
    ) -> bool {
        connection.complete_invocation(invocation_id, result)
    }

    /// Adds a connection to a group; unknown connections are ignored.
    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.local().add(connection_id, group);
        Box::pin(ready(Ok(())))
    }

    /// Removes a connection from a group; unknown connections and groups are ignored.
    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.local().remove(connection_id, group);
        Box::pin(ready(Ok(())))
    }

    /// How many connections user `user` has: on every node, for a manager that spans nodes
    /// (presence; by default this node's count).
    fn user_connection_count<'a>(
        &'a self,
        user: &'a str,
    ) -> BoxFuture<'a, Result<usize, SendError>> {
        Box::pin(ready(Ok(self.local().user_connection_count(user))))
    }

    /// The users with at least one connection: on every node, for a manager that spans nodes
    /// (presence; by default this node's users).
    fn online_users(&self) -> BoxFuture<'_, Result<Vec<String>, SendError>> {
        Box::pin(ready(Ok(self.local().users())))
    }

    /// A connection of this node, by id; `None` when it is not here.
    fn local_connection(&self, connection_id: &str) -> Option<Arc<HubConnection>> {
        self.local().connection(connection_id)
    }
}
