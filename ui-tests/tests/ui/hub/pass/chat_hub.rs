// A chat hub: `&Context` parameters, groups, sends to all/others/a group, and both lifecycle hooks.
use hubs::prelude::*;

struct ChatHub;

#[hub]
impl ChatHub {
    /// `SendMessage(user, message)`: everyone gets `ReceiveMessage(user, message)`.
    pub async fn send_message(
        &self,
        ctx: &Context,
        user: String,
        message: String,
    ) -> Result<(), HubError> {
        ctx.clients().all().send("ReceiveMessage", (user, message)).await?;
        Ok(())
    }

    /// `Typing(user)`: everyone but the caller gets `Typing(user)`.
    pub async fn typing(&self, ctx: &Context, user: String) -> Result<(), HubError> {
        ctx.clients().others().send("Typing", (user,)).await?;
        Ok(())
    }

    /// `JoinGroup(group)`: the caller joins, then the group hears of it.
    pub async fn join_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        ctx.groups().add(ctx.connection_id(), &group).await?;
        ctx.clients()
            .group(&group)
            .send("UserJoined", (ctx.connection_id(), &group))
            .await?;
        Ok(())
    }

    /// `LeaveGroup(group)`: the caller leaves.
    pub async fn leave_group(&self, ctx: &Context, group: String) -> Result<(), HubError> {
        ctx.groups().remove(ctx.connection_id(), &group).await?;
        Ok(())
    }

    /// `SendMessageToGroup(group, user, message)`: the group gets `ReceiveMessage(user, message)`.
    pub async fn send_message_to_group(
        &self,
        ctx: &Context,
        group: String,
        user: String,
        message: String,
    ) -> Result<(), HubError> {
        ctx.clients()
            .group(&group)
            .send("ReceiveMessage", (user, message))
            .await?;
        Ok(())
    }

    /// Not invocable: runs after a connection's handshake; an `Err` closes the connection.
    async fn on_connected(&self, ctx: &Context) -> Result<(), HubError> {
        ctx.clients()
            .others()
            .send("UserConnected", (ctx.connection_id(),))
            .await?;
        Ok(())
    }

    /// Not invocable: runs when a connection ends, with the error that ended it, if any.
    async fn on_disconnected(&self, ctx: &Context, error: Option<HubError>) {
        let reason = error.map(|e| e.to_string());
        let _ = ctx
            .clients()
            .others()
            .send("UserDisconnected", (ctx.connection_id(), reason))
            .await;
    }
}

fn main() {
    // Mount it with `axum::Router::new().hub("/hubs/chat", ChatHub)`.
    let _endpoint = HubEndpoint::new(ChatHub);
}
