//! The narrow interface between the Redis manager and a pub/sub client (socketioxide-redis's
//! `Driver`): publish, subscribe, unsubscribe, count a channel's subscribers, plus the expiring keys presence uses. Received messages and connection changes arrive as [`Inbound`] items
//! on the channel the driver was started with.
//!
//! A driver subscribes a new connection (the first, and each after a lost one) to every channel
//! the manager wants at that moment ([`Wanted`]), so the manager never replays subscriptions
//! itself, and nobody keeps a second list of them (a channel per connection). While the
//! server is unreachable every call fails at once with [`DriverError::NotConnected`]: nothing
//! waits for the server to come back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;

/// Every channel the manager wants subscribed now, computed from its own state (its
/// connections, groups and users here): what a driver subscribes a new connection to.
pub(super) type Wanted = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// What a driver hands the manager.
#[derive(Debug)]
pub(super) enum Inbound {
    /// A message published on a subscribed channel.
    Message { channel: String, payload: Bytes },
    /// The subscription connection is up (again) and every subscription is in place; messages
    /// published while it was down are lost.
    Connected,
    /// The subscription connection was lost.
    Disconnected,
}

/// Why a driver call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DriverError {
    /// There is no connection to the server right now (a reconnect is under way).
    NotConnected,
    /// The server or the connection failed the call.
    Failed(String),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::NotConnected => f.write_str("not connected to Redis"),
            DriverError::Failed(error) => f.write_str(error),
        }
    }
}

/// A pub/sub client the Redis manager publishes and subscribes through.
pub(super) trait Driver: Send + Sync + 'static {
    /// Publishes each `(channel, payload)` of `messages` in order, in one round trip where
    /// the client allows; returns how many subscribers received each.
    fn publish_all<'a>(
        &'a self,
        messages: &'a [(&'a str, &'a Bytes)],
    ) -> BoxFuture<'a, Result<Vec<u64>, DriverError>>;

    /// Whether the driver has a connection for commands right now (a publication made while
    /// it has none fails at once).
    fn connected(&self) -> bool;

    /// Subscribes to `channel`. An error means the subscription is not in place yet; it is
    /// made when the connection comes back, if the manager still wants it then.
    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Unsubscribes from `channel`.
    fn unsubscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;

    /// How many clients (nodes) subscribe to `channel`.
    fn subscribers<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<u64, DriverError>>;

    /// Sets `key` to `value`, expiring after `ttl` unless set again.
    fn set_expiring<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Deletes `key`.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Every key that starts with `prefix`, with its value.
    fn entries_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, DriverError>>;
}
