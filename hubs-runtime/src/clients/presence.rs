//! Presence: who is online, answered by the lifetime manager (cluster-wide with the Redis
//! backplane, for this process with the in-memory manager).

use crate::lifetime::{HubLifetimeManager, SendError};

/// Who is online: `ctx.presence()` in hub code, [`HubContext::presence`](crate::HubContext::presence)
/// elsewhere. A user is online while one of its connections is (its id is the user id target
/// sends use: `sub`, or what `user_id_provider` says). With the Redis backplane the answer
/// covers every node, and a node that crashed stops counting within
/// `RedisOptions::presence_expiry`.
///
/// ```
/// use hubs::prelude::*;
///
/// struct Office;
///
/// #[hub]
/// impl Office {
///     /// Whether `user` can be reached right now, and on how many connections.
///     pub async fn reachable(&self, ctx: &Context, user: String) -> Result<(bool, usize), HubError> {
///         let presence = ctx.presence();
///         let online = presence.is_online(&user).await?;
///         Ok((online, presence.connection_count(&user).await?))
///     }
///
///     /// Everyone online.
///     pub async fn who(&self, ctx: &Context) -> Result<Vec<String>, HubError> {
///         Ok(ctx.presence().online_users().await?)
///     }
/// }
/// ```
#[derive(Clone, Copy)]
pub struct Presence<'a> {
    lifetime: &'a dyn HubLifetimeManager,
}

impl<'a> Presence<'a> {
    /// Presence as `lifetime` knows it.
    pub fn new(lifetime: &'a dyn HubLifetimeManager) -> Self {
        Self { lifetime }
    }

    /// Whether user `user` has at least one connection.
    pub async fn is_online(&self, user: impl AsRef<str>) -> Result<bool, SendError> {
        Ok(self.connection_count(user).await? > 0)
    }

    /// How many connections user `user` has.
    pub async fn connection_count(&self, user: impl AsRef<str>) -> Result<usize, SendError> {
        self.lifetime.user_connection_count(user.as_ref()).await
    }

    /// The users with at least one connection, in no particular order.
    pub async fn online_users(&self) -> Result<Vec<String>, SendError> {
        self.lifetime.online_users().await
    }
}
