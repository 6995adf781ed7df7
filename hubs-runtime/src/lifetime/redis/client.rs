//! The [`Driver`] on redis-rs (Tokio): the only file that names a type of the Redis client.
//!
//! Two connections, as ASP.NET Core's backplane has: a multiplexed one for commands (PUBLISH,
//! PUBSUB NUMSUB, presence keys) and a dedicated one for pub/sub. A task keeps each open:
//! when one fails it is dropped at once (calls then fail with `NotConnected` instead of
//! waiting) and opened again with exponential backoff (50 ms doubling to 2 s); the pub/sub
//! connection then subscribes to every channel the manager wants at that moment ([`Wanted`]).

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use redis::AsyncConnectionConfig;
use redis::aio::{MultiplexedConnection, PubSubSink};
use tokio::sync::{Notify, mpsc};

use super::driver::{Driver, DriverError, Inbound, Wanted};

/// How long connecting, and each command, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Backoff between reconnect attempts.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often the pub/sub connection is pinged. A connection that is half open (the network
/// dropped it without a reset) delivers nothing and fails nothing; an unanswered ping is how
/// it is found, dropped and replaced, with its subscriptions restored.
const PING_EVERY: Duration = Duration::from_secs(5);
/// Channels per SUBSCRIBE when restoring subscriptions.
const SUBSCRIBE_BATCH: usize = 512;

/// Checks a Redis URL (`redis://[user:password@]host[:port][/db]`, `rediss://` with TLS
/// support compiled in, `redis+unix:///path`).
pub(super) fn check_url(url: &str) -> Result<(), String> {
    redis::Client::open(url)
        .map(drop)
        .map_err(|e| format!("invalid Redis URL '{url}': {e}"))
}

/// A redis-rs client with its two connections kept open.
pub(super) struct RedisDriver {
    client: redis::Client,
    commands: Mutex<Option<MultiplexedConnection>>,
    /// Wakes the command keeper when the connection failed (or the driver is dropped).
    commands_failed: Arc<Notify>,
    sink: Mutex<Option<PubSubSink>>,
    /// What a new pub/sub connection subscribes to.
    wanted: Wanted,
    /// Orders subscription changes (and their restoring) on the pub/sub connection.
    subscription_order: tokio::sync::Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failed(error: impl std::fmt::Display) -> DriverError {
    DriverError::Failed(error.to_string())
}

async fn within<T>(future: impl Future<Output = redis::RedisResult<T>>) -> Result<T, DriverError> {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(failed(error)),
        Err(_) => Err(DriverError::Failed("Redis did not answer in time".into())),
    }
}

/// Escapes the glob characters of a SCAN pattern.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl RedisDriver {
    /// A driver for `url` (checked with [`check_url`]) whose tasks deliver to `inbound`. Must
    /// be called inside a Tokio runtime; the tasks end when the driver is dropped.
    pub(super) fn start(
        url: &str,
        inbound: mpsc::UnboundedSender<Inbound>,
        wanted: Wanted,
    ) -> Result<Arc<Self>, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
        let driver = Arc::new(Self {
            client,
            commands: Mutex::new(None),
            commands_failed: Arc::new(Notify::new()),
            sink: Mutex::new(None),
            wanted,
            subscription_order: tokio::sync::Mutex::new(()),
        });
        tokio::spawn(keep_commands(Arc::downgrade(&driver)));
        tokio::spawn(keep_subscriptions(Arc::downgrade(&driver), inbound));
        Ok(driver)
    }

    fn commands(&self) -> Result<MultiplexedConnection, DriverError> {
        lock(&self.commands)
            .clone()
            .ok_or(DriverError::NotConnected)
    }

    /// Runs a command or a pipeline; a failed connection is dropped for the keeper to replace.
    async fn command<T: redis::FromRedisValue>(&self, cmd: &impl Query) -> Result<T, DriverError> {
        let mut connection = self.commands()?;
        match tokio::time::timeout(TIMEOUT, cmd.query::<T>(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if !(error.is_io_error() || error.is_connection_dropped()) => {
                Err(failed(error))
            }
            outcome => {
                lock(&self.commands).take();
                self.commands_failed.notify_one();
                Err(match outcome {
                    Ok(Err(error)) => failed(error),
                    _ => DriverError::Failed("Redis did not answer in time".into()),
                })
            }
        }
    }
}

/// A command or a pipeline of them.
trait Query {
    fn query<T: redis::FromRedisValue>(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send;
}

impl Query for redis::Cmd {
    fn query<T: redis::FromRedisValue>(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send {
        self.query_async(connection)
    }
}

impl Query for redis::Pipeline {
    fn query<T: redis::FromRedisValue>(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send {
        self.query_async(connection)
    }
}

impl Drop for RedisDriver {
    fn drop(&mut self) {
        // Lets the command keeper see that it has nothing left to keep.
        self.commands_failed.notify_one();
    }
}

/// Keeps the command connection open.
async fn keep_commands(driver: Weak<RedisDriver>) {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    let mut backoff = MIN_BACKOFF;
    let mut down_logged = false;
    loop {
        let Some(this) = driver.upgrade() else { return };
        match this
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(connection) => {
                if down_logged {
                    tracing::info!("Redis command connection restored");
                }
                (backoff, down_logged) = (MIN_BACKOFF, false);
                *lock(&this.commands) = Some(connection);
                let failed = Arc::clone(&this.commands_failed);
                drop(this);
                failed.notified().await;
                if !down_logged {
                    tracing::warn!("Redis command connection lost; reconnecting");
                    down_logged = true;
                }
            }
            Err(error) => {
                drop(this);
                if !down_logged {
                    tracing::error!(%error, "cannot connect to Redis; retrying");
                    down_logged = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Keeps the pub/sub connection open and forwards what it receives.
async fn keep_subscriptions(driver: Weak<RedisDriver>, inbound: mpsc::UnboundedSender<Inbound>) {
    let mut backoff = MIN_BACKOFF;
    let mut down_logged = false;
    loop {
        let Some(this) = driver.upgrade() else { return };
        let stream = match within(this.client.get_async_pubsub()).await {
            Ok(pubsub) => {
                let (sink, stream) = pubsub.split();
                match this.restore(sink).await {
                    Ok(()) => Some(stream),
                    Err(error) => {
                        tracing::debug!(%error, "restoring Redis subscriptions failed");
                        None
                    }
                }
            }
            Err(error) => {
                if !down_logged {
                    tracing::error!(%error, "cannot open the Redis subscription connection; retrying");
                }
                None
            }
        };
        drop(this);
        let Some(mut stream) = stream else {
            down_logged = true;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        };
        if down_logged {
            tracing::info!("Redis subscription connection restored");
        }
        backoff = MIN_BACKOFF;
        if inbound.send(Inbound::Connected).is_err() {
            return;
        }
        let unanswered = Arc::new(Notify::new());
        let pinging = tokio::spawn(ping(driver.clone(), Arc::clone(&unanswered)));
        loop {
            let message = tokio::select! {
                message = stream.next() => message,
                () = unanswered.notified() => None,
            };
            let Some(message) = message else { break };
            let channel = message.get_channel_name().to_owned();
            let payload = Bytes::copy_from_slice(message.get_payload_bytes());
            if inbound.send(Inbound::Message { channel, payload }).is_err() {
                pinging.abort();
                return;
            }
        }
        pinging.abort();
        if let Some(this) = driver.upgrade() {
            lock(&this.sink).take();
            // The command connection went with the server: replace it now rather than fail
            // the next command on it.
            lock(&this.commands).take();
            this.commands_failed.notify_one();
        }
        tracing::warn!("Redis subscription connection lost; reconnecting");
        down_logged = true;
        if inbound.send(Inbound::Disconnected).is_err() {
            return;
        }
    }
}

/// Pings the current pub/sub connection every [`PING_EVERY`]; says so on `unanswered` when
/// a ping fails or gets no answer in time.
async fn ping(driver: Weak<RedisDriver>, unanswered: Arc<Notify>) {
    loop {
        tokio::time::sleep(PING_EVERY).await;
        let Some(sink) = driver.upgrade().and_then(|this| lock(&this.sink).clone()) else {
            return;
        };
        let mut sink = sink;
        if let Err(error) = within(sink.ping::<redis::Value>()).await {
            tracing::warn!(%error, "Redis did not answer a ping on the subscription connection");
            unanswered.notify_one();
            return;
        }
    }
}

impl RedisDriver {
    /// Subscribes a new pub/sub connection to everything wanted, then makes it the current one.
    async fn restore(&self, mut sink: PubSubSink) -> Result<(), DriverError> {
        let _order = self.subscription_order.lock().await;
        let channels = (self.wanted)();
        for batch in channels.chunks(SUBSCRIBE_BATCH) {
            within(sink.subscribe(batch)).await?;
        }
        *lock(&self.sink) = Some(sink);
        Ok(())
    }

    async fn change_subscription(&self, channel: &str, subscribe: bool) -> Result<(), DriverError> {
        let _order = self.subscription_order.lock().await;
        let sink = lock(&self.sink).clone();
        let mut sink = sink.ok_or(DriverError::NotConnected)?;
        if subscribe {
            within(sink.subscribe(channel)).await
        } else {
            within(sink.unsubscribe(channel)).await
        }
    }
}

impl Driver for RedisDriver {
    fn publish_all<'a>(
        &'a self,
        messages: &'a [(&'a str, &'a Bytes)],
    ) -> BoxFuture<'a, Result<Vec<u64>, DriverError>> {
        Box::pin(async move {
            let mut pipeline = redis::pipe();
            for (channel, payload) in messages {
                pipeline.cmd("PUBLISH").arg(*channel).arg(&payload[..]);
            }
            self.command(&pipeline).await
        })
    }

    fn connected(&self) -> bool {
        lock(&self.commands).is_some()
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(self.change_subscription(channel, true))
    }

    fn unsubscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(self.change_subscription(channel, false))
    }

    fn subscribers<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<u64, DriverError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("PUBSUB");
            cmd.arg("NUMSUB").arg(channel);
            let (_, count): (String, u64) = self.command(&cmd).await?;
            Ok(count)
        })
    }

    fn set_expiring<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64);
            self.command::<()>(&cmd).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(key);
            self.command::<u64>(&cmd).await.map(drop)
        })
    }

    fn entries_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, DriverError>> {
        Box::pin(async move {
            let pattern = format!("{}*", glob_escape(prefix));
            let mut keys = Vec::new();
            let mut cursor = 0u64;
            loop {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000);
                let (next, batch): (u64, Vec<String>) = self.command(&cmd).await?;
                keys.extend(batch);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            keys.sort();
            keys.dedup();
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut cmd = redis::cmd("MGET");
            cmd.arg(&keys);
            let values: Vec<Option<String>> = self.command(&cmd).await?;
            Ok(keys
                .into_iter()
                .zip(values)
                .filter_map(|(key, value)| Some((key, value?)))
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_patterns_escaped() {
        assert!(check_url("redis://127.0.0.1:6379").is_ok());
        assert!(check_url("redis://127.0.0.1:6379/2").is_ok());
        assert!(check_url("http://127.0.0.1").is_err());
        assert!(check_url("not a url").is_err());
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
