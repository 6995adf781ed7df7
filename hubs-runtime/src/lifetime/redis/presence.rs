//! Presence across nodes: each node keeps one expiring key per user it has connections for
//! (`P:presence:<user>:<server>` = that user's connection count here), sets it as the count
//! changes and refreshes every key each third of the expiry. A node that dies stops refreshing,
//! so its users stop counting within the expiry. Counts are read by scanning the keys.
//!
//! This is not part of ASP.NET Core's backplane (it has no presence); .NET nodes neither write
//! nor read these keys.

use std::sync::{Arc, Weak};

use super::state::Shared;
use crate::lifetime::SendError;

fn unreachable(error: impl std::fmt::Display) -> SendError {
    SendError::Backplane(format!("could not read presence from Redis ({error})"))
}

impl Shared {
    /// Writes this node's count for `user` (deleting the key at zero).
    pub(super) async fn update_presence(&self, user: &str) {
        let Some(node) = self.node() else { return };
        let key = node.channels.presence_key(user, &self.server_name);
        let count = self.local.user_connection_count(user);
        let written = if count == 0 {
            node.driver.delete(&key).await
        } else {
            let expiry = self.options.presence_expiry;
            node.driver
                .set_expiring(&key, &count.to_string(), expiry)
                .await
        };
        if let Err(error) = written {
            tracing::debug!(%error, user, "presence not written; the next refresh retries");
        }
    }

    /// How many connections `user` has on every node.
    pub(super) async fn presence_count(&self, user: &str) -> Result<usize, SendError> {
        let Some(node) = self.node() else {
            return Ok(self.local.user_connection_count(user));
        };
        let prefix = node.channels.user_presence_prefix(user);
        let entries = node
            .driver
            .entries_under(&prefix)
            .await
            .map_err(unreachable)?;
        Ok(entries
            .iter()
            .filter_map(|(_, count)| count.parse::<usize>().ok())
            .sum())
    }

    /// The users with a connection on some node.
    pub(super) async fn presence_users(&self) -> Result<Vec<String>, SendError> {
        let Some(node) = self.node() else {
            return Ok(self.local.users());
        };
        let prefix = node.channels.presence_prefix();
        let entries = node
            .driver
            .entries_under(&prefix)
            .await
            .map_err(unreachable)?;
        let mut users: Vec<String> = entries
            .iter()
            .filter_map(|(key, _)| node.channels.presence_user(key))
            .collect();
        users.sort();
        users.dedup();
        Ok(users)
    }
}

/// Refreshes this node's presence keys every third of the expiry until the manager is gone
/// (and rewrites them after Redis was down).
pub(super) async fn refresh(shared: Weak<Shared>) {
    let Some(period) = shared.upgrade().map(|s| s.options.presence_expiry / 3) else {
        return;
    };
    loop {
        tokio::time::sleep(period).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        for user in shared.local.users() {
            shared.update_presence(&user).await;
        }
        drop::<Arc<Shared>>(shared);
    }
}
