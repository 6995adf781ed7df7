//! The narrow interface between the Redis manager and a pub/sub client (socketioxide-redis's
//! `Driver`): publish, subscribe, unsubscribe, count a channel's subscribers, plus the expiring keys presence uses. Received messages and connection changes arrive as [`Inbound`] items
//! on the channel the driver was started with.
//!
//! A driver keeps what it was asked to subscribe to and subscribes to all of it again after a
//! lost connection comes back, so the manager never replays subscriptions itself. While the
//! server is unreachable every call fails at once with [`DriverError::NotConnected`]: nothing
//! waits for the server to come back.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;

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

    /// Subscribes to `channel` (kept across reconnects). An error means the subscription is
    /// not in place yet; it is made when the connection comes back.
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
