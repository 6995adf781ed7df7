//! Scale-out for the examples: with `REDIS_URL` set, a hub joins the Redis backplane, so several
//! copies of an example (on other ports, `PORT`) behave as one hub.
//!
//! `REDIS_CHANNEL_PREFIX` and `REDIS_HUB_NAME` set the channel prefix and the hub's name on the
//! backplane (its .NET full type name, to share Redis with ASP.NET Core nodes);
//! `REDIS_ACK_TIMEOUT_MS` shortens the 30 s wait for group changes on other nodes,
//! `REDIS_PRESENCE_EXPIRY_MS` the 15 s after which a crashed node's users are offline.

use std::time::Duration;

use hubs::redis::{RedisLifetimeManager, RedisOptions};
use hubs::{Hub, HubEndpointBuilder};

/// The Redis options `REDIS_URL` and its companions ask for, if it is set.
pub fn options_from_env() -> Option<RedisOptions> {
    let url = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let mut options = RedisOptions::new(url);
    if let Ok(prefix) = std::env::var("REDIS_CHANNEL_PREFIX") {
        options = options.channel_prefix(prefix);
    }
    if let Ok(name) = std::env::var("REDIS_HUB_NAME") {
        options = options.hub_name(name);
    }
    if let Some(ms) = std::env::var("REDIS_ACK_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        options = options.ack_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = std::env::var("REDIS_PRESENCE_EXPIRY_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        options = options.presence_expiry(Duration::from_millis(ms));
    }
    Some(options)
}

/// `builder` on the Redis backplane when `REDIS_URL` is set, unchanged otherwise.
///
/// # Panics
/// When the Redis options are invalid (a bad URL, an empty hub name): the example cannot start.
pub fn join<H: Hub>(builder: HubEndpointBuilder<H>) -> HubEndpointBuilder<H> {
    match options_from_env() {
        Some(options) => {
            let manager = RedisLifetimeManager::new(options)
                .unwrap_or_else(|error| panic!("REDIS_URL: {error}"));
            tracing::info!(server = manager.server_name(), "scaling out through Redis");
            builder.lifetime_manager(manager)
        }
        None => builder,
    }
}
