//! The hub of the multi-node tests (`src/bin/cluster.rs`, `interop/test/redis.test.mjs`):
//! every target, group changes and client results for any connection id, so a test can aim
//! from a connection on one node at connections on others. Each client receives `Receive(text)`.

use hubs::prelude::*;

/// Sends to every target by connection ids, groups and users given by the caller.
pub struct ClusterHub {
    /// This node's name (`NODE_NAME`, else its port), for tests to see where a call ran.
    pub node: String,
}

/// Turns a send error into the hub error the caller sees.
fn sent(result: Result<(), hubs::SendError>) -> Result<(), HubError> {
    result.map_err(|e| HubError::new(e.to_string()))
}

#[hub]
impl ClusterHub {
    /// The caller's connection id and this node's name.
    pub async fn whoami(&self, ctx: &Context) -> Vec<String> {
        vec![ctx.connection_id().to_string(), self.node.clone()]
    }

    /// `Receive(text)` to every connection.
    pub async fn send_all(&self, ctx: &Context, text: String) -> Result<(), HubError> {
        sent(ctx.clients().all().send("Receive", (text,)).await)
    }

    /// To every connection but `ids`.
    pub async fn send_all_except(
        &self,
        ctx: &Context,
        ids: Vec<String>,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().all_except(ids).send("Receive", (text,)).await)
    }

    /// To every connection but the caller.
    pub async fn send_others(&self, ctx: &Context, text: String) -> Result<(), HubError> {
        sent(ctx.clients().others().send("Receive", (text,)).await)
    }

    /// To one connection.
    pub async fn send_client(
        &self,
        ctx: &Context,
        id: String,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().client(id).send("Receive", (text,)).await)
    }

    /// To several connections.
    pub async fn send_clients(
        &self,
        ctx: &Context,
        ids: Vec<String>,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().clients(ids).send("Receive", (text,)).await)
    }

    /// To a group.
    pub async fn send_group(
        &self,
        ctx: &Context,
        group: String,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().group(group).send("Receive", (text,)).await)
    }

    /// To several groups.
    pub async fn send_groups(
        &self,
        ctx: &Context,
        groups: Vec<String>,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().groups(groups).send("Receive", (text,)).await)
    }

    /// To a group but `ids`.
    pub async fn send_group_except(
        &self,
        ctx: &Context,
        group: String,
        ids: Vec<String>,
        text: String,
    ) -> Result<(), HubError> {
        sent(
            ctx.clients()
                .group_except(group, ids)
                .send("Receive", (text,))
                .await,
        )
    }

    /// To a group but the caller.
    pub async fn send_others_in_group(
        &self,
        ctx: &Context,
        group: String,
        text: String,
    ) -> Result<(), HubError> {
        sent(
            ctx.clients()
                .others_in_group(group)
                .send("Receive", (text,))
                .await,
        )
    }

    /// To every connection of a user.
    pub async fn send_user(
        &self,
        ctx: &Context,
        user: String,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().user(user).send("Receive", (text,)).await)
    }

    /// To every connection of several users.
    pub async fn send_users(
        &self,
        ctx: &Context,
        users: Vec<String>,
        text: String,
    ) -> Result<(), HubError> {
        sent(ctx.clients().users(users).send("Receive", (text,)).await)
    }

    /// Adds connection `id` (on any node) to `group`.
    pub async fn add_to_group(
        &self,
        ctx: &Context,
        id: String,
        group: String,
    ) -> Result<(), HubError> {
        sent(ctx.groups().add(id, group).await)
    }

    /// Removes connection `id` (on any node) from `group`.
    pub async fn remove_from_group(
        &self,
        ctx: &Context,
        id: String,
        group: String,
    ) -> Result<(), HubError> {
        sent(ctx.groups().remove(id, group).await)
    }

    /// How many connections `user` has on every node (presence).
    pub async fn user_connections(&self, ctx: &Context, user: String) -> Result<usize, HubError> {
        ctx.presence()
            .connection_count(user)
            .await
            .map_err(|e| HubError::new(e.to_string()))
    }

    /// Whether `user` is online on some node.
    pub async fn is_online(&self, ctx: &Context, user: String) -> Result<bool, HubError> {
        ctx.presence()
            .is_online(user)
            .await
            .map_err(|e| HubError::new(e.to_string()))
    }

    /// Asks connection `id` (on any node) `Ask(question)` and returns its answer.
    pub async fn ask(
        &self,
        ctx: &Context,
        id: String,
        question: String,
    ) -> Result<String, HubError> {
        ctx.clients().client(id).invoke("Ask", (question,)).await
    }
}
