//! The options of the Redis backplane, checked when the manager is made.

use std::time::Duration;

/// How a [`RedisLifetimeManager`](super::RedisLifetimeManager) reaches Redis and names its
/// channels.
///
/// ```
/// use std::time::Duration;
///
/// use hubs_runtime::lifetime::redis::RedisOptions;
///
/// // Share Redis with ASP.NET Core nodes serving `MyApp.Hubs.ChatHub` under prefix `myapp`.
/// let options = RedisOptions::new("redis://127.0.0.1:6379")
///     .channel_prefix("myapp")
///     .hub_name("MyApp.Hubs.ChatHub")
///     .ack_timeout(Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct RedisOptions {
    pub(super) url: String,
    pub(super) channel_prefix: String,
    pub(super) hub_name: Option<String>,
    pub(super) ack_timeout: Duration,
    pub(super) client_result_timeout: Option<Duration>,
    pub(super) presence_expiry: Duration,
}

/// Options a [`RedisLifetimeManager`](super::RedisLifetimeManager) cannot work with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptionsError(String);

impl std::fmt::Display for RedisOptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedisOptionsError {}

impl RedisOptions {
    /// Redis at `url` (`redis://[user:password@]host[:port][/db]`, or `redis+unix:///path`),
    /// no channel prefix, the hub's Rust type name as its name, and ASP.NET Core's 30 s ack
    /// timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            channel_prefix: String::new(),
            hub_name: None,
            ack_timeout: Duration::from_secs(30),
            client_result_timeout: None,
            presence_expiry: Duration::from_secs(15),
        }
    }

    /// Written directly in front of every channel name (StackExchange.Redis's
    /// `ChannelPrefix`): lets several applications share one Redis.
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }

    /// The hub's name in channel names, instead of its Rust type name
    /// (`std::any::type_name`, e.g. `my_app::hubs::Chat`). Nodes of one hub must agree on
    /// it; to share Redis with ASP.NET Core nodes, use the hub's .NET full type name
    /// (`MyApp.Hubs.ChatHub`).
    pub fn hub_name(mut self, name: impl Into<String>) -> Self {
        self.hub_name = Some(name.into());
        self
    }

    /// How long a group change for a connection on another node waits for that node's ack
    /// before it fails (30 s, as in ASP.NET Core).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// How long a client result from a connection on another node may take at most (none by
    /// default, as in ASP.NET Core; [`SingleClientProxy::with_timeout`] sets one per call).
    /// Whatever this says, the wait ends within about a second once no node holds the
    /// connection any more.
    ///
    /// [`SingleClientProxy::with_timeout`]: crate::SingleClientProxy::with_timeout
    pub fn client_result_timeout(mut self, timeout: Duration) -> Self {
        self.client_result_timeout = Some(timeout);
        self
    }

    /// How long a node's presence entries outlive it when it stops without cleaning up (a
    /// crash): others see its users go offline within this time (15 s). Entries are refreshed
    /// every third of it.
    pub fn presence_expiry(mut self, expiry: Duration) -> Self {
        self.presence_expiry = expiry;
        self
    }

    /// Says what cannot work.
    pub(super) fn validate(&self) -> Result<(), RedisOptionsError> {
        let error = |text: String| Err(RedisOptionsError(text));
        super::client::check_url(&self.url).or_else(error)?;
        if let Some(name) = &self.hub_name
            && (name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return error(format!(
                "the Redis hub name '{name}' must be non-empty, without spaces or control characters"
            ));
        }
        if self.channel_prefix.chars().any(char::is_control) {
            return error("the Redis channel prefix must not contain control characters".into());
        }
        if self.ack_timeout.is_zero() {
            return error("the Redis ack timeout must be longer than zero".into());
        }
        if self.client_result_timeout.is_some_and(|t| t.is_zero()) {
            return error("the Redis client result timeout must be longer than zero".into());
        }
        if self.presence_expiry < Duration::from_millis(300) {
            return error("the Redis presence expiry must be at least 300 ms".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let ok = RedisOptions::new("redis://127.0.0.1:6379");
        assert!(ok.validate().is_ok());
        let bad = |options: RedisOptions| options.validate().unwrap_err().to_string();
        assert!(bad(RedisOptions::new("localhost:6379")).starts_with("invalid Redis URL"));
        assert!(bad(ok.clone().hub_name("")).contains("hub name"));
        assert!(bad(ok.clone().hub_name("My Hub")).contains("hub name"));
        assert!(bad(ok.clone().channel_prefix("a\nb")).contains("prefix"));
        assert!(bad(ok.clone().ack_timeout(Duration::ZERO)).contains("ack timeout"));
        assert!(bad(ok.clone().client_result_timeout(Duration::ZERO)).contains("client result"));
        assert!(bad(ok.presence_expiry(Duration::from_millis(10))).contains("presence"));
    }
}
