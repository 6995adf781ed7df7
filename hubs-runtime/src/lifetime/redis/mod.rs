//! The Redis backplane (cargo feature `redis`): several nodes behave as one hub, speaking
//! ASP.NET Core's own Redis backplane format (`Microsoft.AspNetCore.SignalR.StackExchangeRedis`),
//! so Rust and .NET nodes can share one Redis.
//!
//! ```no_run
//! use hubs::prelude::*;
//! use hubs_runtime::lifetime::redis::{RedisLifetimeManager, RedisOptions};
//!
//! struct Chat;
//!
//! #[hub]
//! impl Chat {}
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisLifetimeManager::new(RedisOptions::new("redis://127.0.0.1:6379"))?;
//! let endpoint = HubEndpoint::builder(Chat).lifetime_manager(redis).build();
//! # let _ = endpoint; Ok(()) }
//! ```
//!
//! How it is built, after socketioxide-redis and ASP.NET Core's backplane:
//! - this node's connections are always served directly, never through Redis; the
//!   [`InMemoryLifetimeManager`] it keeps does that, and this module only adds what crosses
//!   nodes: a send is delivered here and published once (serialized once per protocol the hub
//!   supports), and a node ignores its own publications when they come back (it names itself
//!   among the excluded connection ids, which ASP.NET Core nodes read as no connection of
//!   theirs);
//! - `channels.rs` names every channel, `envelope.rs` reads and writes every message (tested
//!   against ASP.NET Core's byte vectors), `acks.rs` holds the group commands awaiting an ack,
//!   `results.rs` the client results crossing nodes, `inbound.rs` handles what arrives;
//! - the Redis client sits behind the narrow `driver.rs` trait; `client.rs` implements it on
//!   redis-rs with one connection for commands and one for pub/sub, each reopened with
//!   backoff, the subscriptions restored.
//!
//! Presence (`ctx.presence()`) is answered cluster-wide from expiring keys each node refreshes
//! (`presence.rs`; not part of ASP.NET Core's format).
//!
//! A node subscribes to `all`, its own internal channels, a channel per local connection, and
//! the group and user channels with members here (unsubscribing when the last one leaves).
//! Publications leave through one ordered queue, pipelined (`publisher.rs`): a send waits for
//! its place there, not for Redis's answer. While Redis is unreachable (or its pub/sub
//! connection stops answering pings), local delivery goes on, sends that must reach other
//! nodes fail at once with [`SendError::Backplane`] (logged), and group changes are kept: the
//! subscriptions are restored when Redis is back.

mod acks;
mod channels;
mod client;
mod driver;
mod envelope;
mod inbound;
mod node;
mod options;
mod presence;
mod publisher;
mod results;
mod state;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use self::channels::Channels;
use self::driver::{Driver, Inbound, Wanted};
use self::envelope::GroupAction;
use self::state::{Interest, Node, Shared};
use super::{
    ClientResult, ClientResultError, EncodeInvocation, HubConnection, HubInfo, HubLifetimeManager,
    InMemoryLifetimeManager, ProtocolSet, SendError, SerializedMessage, Target,
};

pub use options::{RedisOptions, RedisOptionsError};

/// A [`HubLifetimeManager`] that spans every node connected to one Redis (ASP.NET Core's
/// `RedisHubLifetimeManager`): every target reaches connections on every node, group changes
/// and client results work for connections on other nodes. See the [module](self) docs.
pub struct RedisLifetimeManager {
    shared: Arc<Shared>,
}

impl RedisLifetimeManager {
    /// A manager with `options`, or what is wrong with them. It connects when the endpoint is
    /// built (inside a Tokio runtime), and keeps retrying while Redis is unreachable.
    pub fn new(options: RedisOptions) -> Result<Self, RedisOptionsError> {
        options.validate()?;
        Ok(Self {
            shared: Arc::new(Shared {
                local: InMemoryLifetimeManager::new(),
                options,
                server_name: state::server_name(),
                node: OnceLock::new(),
            }),
        })
    }

    /// This node's name on the backplane: `<host>_<32 hex digits>`, new on every start.
    pub fn server_name(&self) -> &str {
        &self.shared.server_name
    }

    fn node(&self) -> Option<&Node> {
        self.shared.node.get()
    }

    /// Starts the backplane for `hub` on the driver `connect` makes, with its tasks.
    fn start(
        &self,
        hub: &HubInfo,
        connect: impl FnOnce(mpsc::UnboundedSender<Inbound>, Wanted) -> Result<Arc<dyn Driver>, String>,
    ) -> Result<(), String> {
        let started = self.shared.start(hub, connect)?;
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(inbound::run(shared.clone(), started.received));
        tokio::spawn(state::keep_interests(shared.clone(), started.requested));
        tokio::spawn(presence::refresh(shared));
        Ok(())
    }
}

impl RedisLifetimeManager {
    /// `except` and this node's name: what a publication this node receives too excludes.
    fn excluded_with_self(&self, except: &[String]) -> Vec<String> {
        let mut excluded = Vec::with_capacity(except.len() + 1);
        excluded.extend_from_slice(except);
        excluded.push(self.shared.server_name.clone());
        excluded
    }

    /// The channels `target` must be published on to reach connections beyond this node,
    /// and the connections excluded there (this node among them where it subscribes).
    fn publications(&self, channels: &Channels, target: &Target) -> (Vec<String>, Vec<String>) {
        let remote = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .filter(|id| self.shared.local.connection(id).is_none())
                .map(|id| channels.connection(id))
                .collect()
        };
        let own = |except: &[String]| self.excluded_with_self(except);
        match target {
            Target::All => (vec![channels.all().to_owned()], own(&[])),
            Target::AllExcept(except) => (vec![channels.all().to_owned()], own(except)),
            Target::Connection(id) => (remote(std::slice::from_ref(id)), Vec::new()),
            Target::Connections(ids) => (remote(ids), Vec::new()),
            Target::Group(group) => (vec![channels.group(group)], own(&[])),
            Target::Groups(groups) => {
                (groups.iter().map(|g| channels.group(g)).collect(), own(&[]))
            }
            Target::GroupExcept(group, except) => (vec![channels.group(group)], own(except)),
            Target::User(user) => (vec![channels.user(user)], own(&[])),
            Target::Users(users) => (users.iter().map(|u| channels.user(u)).collect(), own(&[])),
        }
    }

    async fn change_group(
        &self,
        action: GroupAction,
        connection_id: &str,
        group: &str,
    ) -> Result<(), SendError> {
        let local = &self.shared.local;
        let Some(node) = self.node() else {
            match action {
                GroupAction::Add => local.add(connection_id, group),
                GroupAction::Remove => local.remove(connection_id, group),
            };
            return Ok(());
        };
        if local.connection(connection_id).is_none() {
            return node
                .group_command(&self.shared.server_name, action, connection_id, group)
                .await;
        }
        let changed = match action {
            GroupAction::Add => local.add(connection_id, group),
            GroupAction::Remove => local.remove(connection_id, group),
        };
        if changed {
            node.interest(Interest::Group(Arc::from(group))).await;
        }
        Ok(())
    }
}

impl HubLifetimeManager for RedisLifetimeManager {
    fn local(&self) -> &InMemoryLifetimeManager {
        &self.shared.local
    }

    fn attach(&self, hub: &HubInfo) -> Result<(), String> {
        let url = self.shared.options.url.clone();
        self.start(hub, move |inbound, wanted| {
            let driver: Arc<dyn Driver> = client::RedisDriver::start(&url, inbound, wanted)?;
            Ok(driver)
        })
    }

    fn on_connected(&self, connection: Arc<HubConnection>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let first_of_user = self.shared.local.connect(Arc::clone(&connection));
            let Some(node) = self.node() else { return };
            node.interest(Interest::Connection(Arc::clone(connection.id_arc())))
                .await;
            if let Some(user) = connection.user() {
                if first_of_user {
                    node.interest(Interest::User(Arc::clone(user))).await;
                }
                self.shared.update_presence(user).await;
            }
        })
    }

    fn on_disconnected<'a>(&'a self, connection: &'a Arc<HubConnection>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let departure = self.shared.local.disconnect(connection);
            let Some(node) = self.node() else { return };
            // Other nodes awaiting this connection's answers learn it is gone.
            for (invocation_id, channel) in node.results.take_all_forwarded(connection.id()) {
                let gone = Err(ClientResultError::Client("Connection disconnected.".into()));
                let payload = node.answer_completion(connection, &invocation_id, &gone);
                let _ = node.publisher.publish(channel, payload).await;
            }
            node.interest(Interest::Connection(Arc::clone(connection.id_arc())))
                .await;
            for group in departure.emptied_groups {
                node.interest(Interest::Group(group)).await;
            }
            if let Some(user) = departure.emptied_user {
                node.interest(Interest::User(user)).await;
            }
            if let Some(user) = connection.user() {
                self.shared.update_presence(user).await;
            }
        })
    }

    fn protocols(&self) -> ProtocolSet {
        match self.node() {
            Some(node) => node.protocols,
            None => self.shared.local.local_protocols(),
        }
    }

    fn protocols_for(&self, target: &Target) -> ProtocolSet {
        if let Target::Connection(id) = target
            && let Some(connection) = self.shared.local.connection(id)
        {
            return ProtocolSet::of([connection.protocol()]);
        }
        self.protocols()
    }

    fn send<'a>(
        &'a self,
        target: &'a Target,
        message: &'a SerializedMessage,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.shared.local.deliver(target, message);
        let node = match (self.node(), target) {
            (None, _) => return Box::pin(std::future::ready(Ok(()))),
            // A local connection needs nothing more.
            (Some(_), Target::Connection(id)) if self.shared.local.connection(id).is_some() => {
                return Box::pin(std::future::ready(Ok(())));
            }
            (Some(node), _) => node,
        };
        let (channels, excluded) = self.publications(&node.channels, target);
        Box::pin(async move { node.publish_invocation(channels, &excluded, message).await })
    }

    fn invoke_client<'a>(
        &'a self,
        connection_id: &'a str,
        encode: &'a EncodeInvocation<'a>,
    ) -> BoxFuture<'a, Result<ClientResult, ClientResultError>> {
        match self.node() {
            Some(node) if self.shared.local.connection(connection_id).is_none() => {
                Box::pin(node.invoke_remote(connection_id, encode))
            }
            _ => self.shared.local.invoke(connection_id, encode),
        }
    }

    fn complete_client_result(
        &self,
        connection: &Arc<HubConnection>,
        invocation_id: &str,
        result: Result<ClientResult, ClientResultError>,
    ) -> bool {
        let Some(node) = self.node() else {
            return connection.complete_invocation(invocation_id, result);
        };
        let Some(channel) = node.results.take_forwarded(connection.id(), invocation_id) else {
            return connection.complete_invocation(invocation_id, result);
        };
        let payload = node.answer_completion(connection, invocation_id, &result);
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            if let Some(node) = shared.node() {
                let _ = node.publisher.publish(channel, payload).await;
            }
        });
        true
    }

    fn user_connection_count<'a>(
        &'a self,
        user: &'a str,
    ) -> BoxFuture<'a, Result<usize, SendError>> {
        Box::pin(self.shared.presence_count(user))
    }

    fn online_users(&self) -> BoxFuture<'_, Result<Vec<String>, SendError>> {
        Box::pin(self.shared.presence_users())
    }

    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.change_group(GroupAction::Add, connection_id, group))
    }

    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.change_group(GroupAction::Remove, connection_id, group))
    }
}
